"""The outbox: messages that must be delivered, written in the transaction of the event they
are about, delivered by Celery and re-queued by a periodic sweep until they are sent."""
