"""The one thing publishing tells the rest of the site. Sent inside the publish transaction
(wagtail's `published` works the same way), so a listener's writes commit with the version.
`revisions` never imports `feedback`: feedback connects to this signal.

kwargs:
- version: the newly published Version (its `lineage_links` to `previous` are stored already);
- previous: the Version it superseded, or None;
- acting_user: who published (None for the system);
- progress: a callable `progress(step: str, done: int, total: int)` a listener may call to
  report how far it got (the publish page polls it); it never raises.
"""

from django.dispatch import Signal

version_published = Signal()
