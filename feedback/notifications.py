"""Receipts and other messages go through the outbox (modelspec_site.outbox): the row that says
"tell X about event E" is written in the same transaction as E."""


def receipt_queue(*, item, event) -> None:
    """Queue the submission receipt for an item's submitter (account or private e-mail)."""
    # Filled in with the outbox (same change set).
    return None
