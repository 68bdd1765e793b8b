"""The one thing publishing tells the rest of the site. Sent inside the publish transaction
(wagtail's `published` works the same way), so a listener's writes commit with the version.
`revisions` never imports `feedback`: feedback connects to this signal."""

from django.dispatch import Signal

# kwargs: version (the newly published Version), previous (the Version it superseded, or None)
version_published = Signal()
