"""Benchmarks run against a real gunicorn; see bench/README.md. Not part of the site."""
