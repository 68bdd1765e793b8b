"""Atom feed of ledger checkpoints (/audit/checkpoints/feed/)."""

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from modelspec_site.audit.models import Checkpoint


class CheckpointFeed(Feed):
    feed_type = Atom1Feed
    title = gettext_lazy("Model Spec tracker: ledger checkpoints")
    subtitle = gettext_lazy(
        "The governance ledger's event count and head hash, signed, once a day. Keep them: "
        "they let you prove later that history only grew."
    )

    def link(self) -> str:
        return reverse("audit_public:checkpoints")

    def items(self):
        return Checkpoint.objects.order_by("-day")[:60]

    def item_title(self, item: Checkpoint) -> str:
        return _("Checkpoint %(day)s: %(count)s events") % {"day": item.day, "count": item.count}

    def item_description(self, item: Checkpoint) -> str:
        return _(
            "Events: %(count)s. Head hash: %(hash)s. Time: %(time)s. Ed25519 signature "
            "(key %(key)s): %(signature)s"
        ) % {
            "count": item.count,
            "hash": item.head_hash,
            "time": item.created_at_text,
            "key": item.key_id,
            "signature": item.signature,
        }

    def item_link(self, item: Checkpoint) -> str:
        return reverse("audit_public:checkpoint-json", kwargs={"day": item.day.isoformat()})

    def item_guid(self, item: Checkpoint) -> str:
        return f"checkpoint:{item.day.isoformat()}:{item.count}:{item.head_hash}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Checkpoint):
        return item.created_at

    def item_updateddate(self, item: Checkpoint):
        return item.created_at
