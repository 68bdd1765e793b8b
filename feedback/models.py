"""Feedback items and their workflow arrive with the feedback issue; the app exists now so the
layout and import contract are fixed from the start."""
