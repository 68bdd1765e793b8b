"""Who hears about what, and the message each of them gets.

`queue_for` runs inside the transaction of a workflow event (through `notifications.notify`)
and writes one outbox row per (event, recipient, kind); the outbox's unique key makes a second
call for the same event change nothing, and its delivery task sends each row once.

- The submitter of a public item (their account's address, or the private address given with
  the item) hears about every public state change, except their own (providing information,
  withdrawing), and every public reply.
- Followers (`Subscription`: of the item, of its clause or of its spec; accounts or addresses)
  hear about public changes and public replies of public items; never about internal items or
  internal notes. Marking an item as spam is not news for followers of a whole clause or spec.
- Staff hear about an assignment to them and an @mention of them.

Messages to anyone but staff carry public content only: the state, the public rationale, the
public reply. An anonymous address is unverified, so the submitter's own words are never
echoed to it (no relay for arbitrary text); items hidden by a moderator are named by their
tracking number only.

Every message carries an unsubscribe link that works without signing in (a signed token of the
address and a scope) and the RFC 8058 one-click headers. A recipient who unsubscribed from a
scope the message is about, or from "all", gets nothing; the submitter's own-item messages
respect "item:<id>" and "all" only."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template import Context
from django.template.loader import get_template
from django.urls import NoReverseMatch, get_urlconf, reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.timezone import now as timezone_now
from django.utils.translation import gettext as _

from modelspec_site.accounts.roles import is_staff_member
from modelspec_site.outbox.models import OutboxMessage
from modelspec_site.outbox.services import normalize_recipient, outbox_enqueue

from . import workflow
from .models import FeedbackItem, Note, Reanchoring, Subscription, Unsubscribe

DEFAULT_SITE_URL = "http://127.0.0.1:8000"
RECEIPT_KIND = "feedback.receipt"
# Automatic mail: no out-of-office replies back to us (RFC 3834; Exchange's own header).
AUTOMATIC_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
UNSUBSCRIBE_SALT = "feedback.notifications.unsubscribe"
ALL, DIGEST = "all", "digest"
SCOPE_PATTERN = re.compile(r"^(all|digest|(item|clause|spec):[1-9][0-9]{0,18})$")
# Actions of the submitter: they know already.
SUBMITTER_OWN_ACTIONS = frozenset({"provide_info", "withdraw"})
# Transitions item followers hear about but followers of a whole clause or spec do not.
NOT_FOR_WIDE_FOLLOWERS = frozenset({"mark_spam"})


# --- Addresses, links, rendering -------------------------------------------------------------


def site_url(path: str) -> str:
    return getattr(settings, "SITE_URL", DEFAULT_SITE_URL).rstrip("/") + path


def item_public_url(item: FeedbackItem) -> str:
    """The item's page as an absolute URL on this site."""
    try:
        path = item.get_absolute_url()
    except NoReverseMatch:  # the item page is not routed yet; this is its planned address
        path = f"/feedback/{item.tracking_number}/"
    return site_url(path)


def render_text(template_name: str, context: dict) -> str:
    """Plain text is not HTML: render it without HTML escaping (the HTML part is escaped)."""
    template = get_template(template_name).template
    return template.render(Context(context, autoescape=False))


def scope_valid(scope: str) -> bool:
    return bool(SCOPE_PATTERN.match(scope or ""))


def unsubscribe_token(*, address: str, scope: str) -> str:
    """A signed, URL-safe token naming an address and the stream it may stop. No expiry: the
    link in a years-old message must still work. Raises ValueError for a bad scope."""
    if not scope_valid(scope):
        raise ValueError(f"not an unsubscribe scope: {scope!r}")
    return signing.dumps({"a": address, "s": scope}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[str, str] | None:
    """(address, scope) from a token, or None when it is not one of ours or was altered."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    address, scope = data.get("a"), data.get("s")
    if not isinstance(address, str) or not isinstance(scope, str) or not scope_valid(scope):
        return None
    try:
        return normalize_recipient(address), scope
    except ValueError:
        return None


def unsubscribe_url(*, address: str, scope: str) -> str:
    token = unsubscribe_token(address=address, scope=scope)
    return site_url(reverse("notifications:unsubscribe", kwargs={"signed": token}))


def unsubscribed_scopes(addresses) -> dict[str, set[str]]:
    """{address: the scopes it unsubscribed from} for these addresses, in one query."""
    found: dict[str, set[str]] = {}
    rows = Unsubscribe.objects.filter(email__in=set(addresses)).values_list("email", "scope")
    for address, scope in rows:
        found.setdefault(address, set()).add(scope)
    return found


def languages_of(addresses) -> dict[str, str]:
    """The language each address last wrote to us in (its latest submission receipt was
    rendered in it), in one query; addresses not found are left out."""
    known = dict(settings.LANGUAGES)
    rows = (
        OutboxMessage.objects.filter(recipient__in=set(addresses), kind=RECEIPT_KIND)
        .order_by("recipient", "-id")
        .distinct("recipient")
        .values_list("recipient", "headers")
    )
    out = {}
    for address, headers in rows:
        language = (headers or {}).get("Content-Language", "")
        if language in known:
            out[address] = language
    return out


@dataclass
class Recipient:
    address: str
    scope: str  # what the unsubscribe link stops
    reason: str  # "submitter", "follower" or "staff" (chooses the wording)
    blocked_by: frozenset[str]  # unsubscribed from any of these: no message
    anonymous: bool = False  # an unverified address: never echo the submitter's words to it
    language: str = ""
    context: dict = field(default_factory=dict)


def _usable(address: str) -> str | None:
    try:
        return normalize_recipient(address)
    except ValueError:
        return None


def message_queue(*, event, recipient: Recipient, kind: str, template: str, context: dict):
    """Render `emails/<template>` (subject, text and HTML) in the recipient's language, with
    its unsubscribe link and headers, and write the outbox row (inside the event's
    transaction). Returns the row."""
    language = recipient.language or settings.LANGUAGE_CODE
    with translation.override(language):
        unsubscribe = unsubscribe_url(address=recipient.address, scope=recipient.scope)
        ctx = {
            **context,
            **recipient.context,
            "recipient": recipient,
            "reason": recipient.reason,
            "unsubscribe_url": unsubscribe,
            "scope_label": scope_label(recipient.scope),
            "language_code": language,
            "site_url": site_url("/"),
        }
        subject = " ".join(render_text(f"emails/{template}.subject.txt", ctx).split())
        ctx["subject"] = subject = subject[:255]
        body_text = render_text(f"emails/{template}.txt", ctx)
        body_html = get_template(f"emails/{template}.html").render(ctx)
    headers = {
        **AUTOMATIC_HEADERS,
        "Content-Language": language,
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs here.
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return outbox_enqueue(
        event=event,
        recipient=recipient.address,
        kind=kind,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        headers=headers,
    )


def scope_label(scope: str) -> str:
    """What a scope stops, in words (for the e-mail footer and the unsubscribe page)."""
    kind = scope.partition(":")[0]
    return {
        "item": _("messages about this feedback item"),
        "clause": _("messages about feedback on this clause"),
        "spec": _("messages about feedback on this specification"),
        DIGEST: _("daily digests and reminders"),
        ALL: _("all messages from this site"),
    }.get(kind, _("these messages"))


# --- The audience of a public event ----------------------------------------------------------


def _submitter_address(item: FeedbackItem) -> tuple[str, bool] | None:
    """(address, anonymous) of the item's submitter, if there is one to write to."""
    user = item.submitter if item.submitter_id else None
    if user is not None and user.is_active and user.email:
        address = _usable(user.email)
        return (address, False) if address else None
    address = _usable(item.submitter_email)
    return (address, user is None) if address else None


def _about(item: FeedbackItem) -> frozenset[str]:
    return frozenset({f"item:{item.pk}", f"clause:{item.clause_id}", f"spec:{item.spec_id}"})


def public_audience(
    item: FeedbackItem,
    event,
    *,
    submitter: bool = True,
    wide_followers: bool = True,
    also_item_followers_of: FeedbackItem | None = None,
) -> list[Recipient]:
    """Who hears about a public event on a public item: its submitter (unless `submitter` is
    False), its followers, and (`wide_followers`) followers of its clause and spec. Each
    address once, the most specific reason winning; the actor and unsubscribed addresses
    are left out. Two queries (followers, unsubscriptions) and one for languages."""
    if not item.is_public:
        return []
    actor_id = getattr(event, "actor_id", None)
    about = _about(item)
    found: dict[str, Recipient] = {}

    if submitter and not (actor_id and item.submitter_id == actor_id):
        who = _submitter_address(item)
        if who is not None:
            address, anonymous = who
            found[address] = Recipient(
                address=address,
                scope=f"item:{item.pk}",
                reason="submitter",
                blocked_by=frozenset({f"item:{item.pk}", ALL}),
                anonymous=anonymous,
            )

    targets = [("item", item)]
    if also_item_followers_of is not None:
        targets.append(("item", also_item_followers_of))
    query = Subscription.objects.filter(item__in=[t[1] for t in targets])
    if wide_followers:
        query = query | Subscription.objects.filter(clause_id=item.clause_id)
        query = query | Subscription.objects.filter(spec_id=item.spec_id)
    # Most specific first: the item's own followers, then clause, then spec.
    rank = {"item": 0, "clause": 1, "spec": 2}
    rows = []
    for sub in query.select_related("user"):
        if sub.item_id:
            kind, target = "item", sub.item_id
        elif sub.clause_id:
            kind, target = "clause", sub.clause_id
        else:
            kind, target = "spec", sub.spec_id
        rows.append((rank[kind], kind, target, sub))
    for _rank, kind, target, sub in sorted(rows, key=lambda r: (r[0], r[3].pk)):
        if sub.user_id is not None:
            if sub.user_id == actor_id or not sub.user.is_active or not sub.user.email:
                continue
            address = _usable(sub.user.email)
        else:
            address = _usable(sub.email)
        if not address or address in found:
            continue
        found[address] = Recipient(
            address=address,
            scope=f"{kind}:{target}",
            reason="follower",
            blocked_by=about | {f"{kind}:{target}", ALL},
            anonymous=sub.user_id is None,
        )

    stopped = unsubscribed_scopes(found)
    audience = [r for r in found.values() if not (stopped.get(r.address, set()) & r.blocked_by)]
    languages = languages_of(r.address for r in audience)
    for recipient in audience:
        recipient.language = languages.get(recipient.address, "")
    return audience


def _item_context(item: FeedbackItem) -> dict:
    return {
        "item": item,
        "tracking_number": item.tracking_number,
        "item_url": item_public_url(item),
        "state_label": item.get_state_display(),
        "hidden": item.hidden,
    }


def _public_summary(item: FeedbackItem, recipient: Recipient) -> str:
    """The item's summary when it may go to this recipient: not to an unverified address of
    the submitter (their own words), not for an item a moderator hid."""
    if item.hidden or (recipient.reason == "submitter" and recipient.anonymous):
        return ""
    return item.summary


# --- What each kind of event sends -----------------------------------------------------------


def _on_transition(*, item: FeedbackItem, event, action: str, note: Note | None = None, **_):
    spec = workflow.action_get(action)
    if spec is None or not spec.public or not item.is_public:
        return
    original = item.duplicate_of if action == "mark_duplicate" else None
    # Publishing told the submitter already, in one message with the diff of their clause
    # (carried_queue): an incorporation is news for followers only then.
    told = (
        action == "incorporate"
        and Reanchoring.objects.filter(item=item, version__state="published").exists()
    )
    audience = public_audience(
        item,
        event,
        submitter=action not in SUBMITTER_OWN_ACTIONS and not told,
        wide_followers=action not in NOT_FOR_WIDE_FOLLOWERS,
        # The duplicate's followers have just moved to the original: tell them there.
        also_item_followers_of=original,
    )
    data = event.data if isinstance(event.data, dict) else {}
    context = {
        **_item_context(item),
        "action": action,
        "rationale": data.get("rationale", ""),
        # Staff's message asking for information is public; the submitter's answer is their
        # own text and is not echoed.
        "message": note.body if note is not None and note.kind == Note.Kind.PUBLIC_REPLY else "",
        "original_number": original.tracking_number if original else "",
        "original_url": item_public_url(original) if original else "",
        "needs_reply": action == "request_info",
    }
    for recipient in audience:
        recipient.context["summary"] = _public_summary(item, recipient)
        message_queue(
            event=event,
            recipient=recipient,
            kind="feedback.transition",
            template="feedback_update",
            context=context,
        )


def _on_public_reply(*, item: FeedbackItem, event, note: Note, **_):
    if not item.is_public or not note.is_public or note.kind != Note.Kind.PUBLIC_REPLY:
        return
    context = {**_item_context(item), "action": "reply", "reply": note.body}
    for recipient in public_audience(item, event):
        recipient.context["summary"] = _public_summary(item, recipient)
        message_queue(
            event=event,
            recipient=recipient,
            kind="feedback.public_reply",
            template="feedback_update",
            context=context,
        )


def staff_recipient(user, *, scope: str) -> Recipient | None:
    """A staff member as a recipient of internal mail, unless they cannot get it (inactive,
    no address, no longer staff) or unsubscribed from `scope` or from all."""
    if user is None or not user.is_active or not is_staff_member(user):
        return None
    address = _usable(user.email)
    if not address:
        return None
    stopped = unsubscribed_scopes([address]).get(address, set())
    if stopped & {scope, ALL}:
        return None
    return Recipient(address=address, scope=scope, reason="staff", blocked_by=frozenset())


def _on_assigned(*, item: FeedbackItem, event, assignee, **_):
    recipient = staff_recipient(assignee, scope=f"item:{item.pk}")
    if recipient is None:
        return
    context = {
        **_item_context(item),
        "summary": item.summary,
        "actor": event.actor_label,
        "internal": not item.is_public,
    }
    message_queue(
        event=event,
        recipient=recipient,
        kind="feedback.assigned",
        template="staff_assigned",
        context=context,
    )


def _on_mentioned(*, item: FeedbackItem, event, note: Note, users=(), **_):
    context = {
        **_item_context(item),
        "summary": item.summary,
        "actor": event.actor_label,
        "note_body": note.body,
        "internal": not item.is_public,
    }
    for user in users:
        recipient = staff_recipient(user, scope=f"item:{item.pk}")
        if recipient is None:
            continue
        message_queue(
            event=event,
            recipient=recipient,
            kind="feedback.mentioned",
            template="staff_mentioned",
            context=context,
        )


HANDLERS = {
    "transition": _on_transition,
    "public_reply": _on_public_reply,
    "assigned": _on_assigned,
    "mentioned": _on_mentioned,
}


def queue_for(kind: str, *, item: FeedbackItem, event, **context) -> None:
    """Queue the messages event `event` on `item` causes; see the module's docstring."""
    handler = HANDLERS.get(kind)
    if handler is None:
        raise ValueError(f"no notification kind {kind!r}")
    handler(item=item, event=event, **context)


# --- Carried forward by a new version (feedback.carry) ---------------------------------------

CARRIED_KIND = "feedback.carried"
CARRIED_TEMPLATE = "feedback_carried"
ANSWER_SALT = "feedback.carried.answer"
# Messages queued for delivery at once when a version is published; the rest wait for the
# outbox sweep (every minute), so a publication carrying 100,000 items does not hold its
# worker for the broker round trips of every message.
CARRIED_DISPATCH_NOW = 2_000
# Per-recipient values go into messages rendered once per group, as these markers.
_SLOTS = {
    "tracking_number": "⟦tracking-number⟧",
    "item_url": "⟦item-url⟧",
    "answer_url": "⟦answer-url⟧",
    "unsubscribe_url": "⟦unsubscribe-url⟧",
}


def answer_token(*, item_id: int, version_id: int) -> str:
    """A signed token for the link in the carried message: it lets whoever holds the message
    answer "does the new text resolve your concern?" for this item and version, nothing else
    (the private follow token never goes into a message)."""
    return signing.Signer(salt=ANSWER_SALT).sign(f"{int(item_id)}.{int(version_id)}")


def answer_token_read(token: str) -> tuple[int, int] | None:
    """(item id, version id) of a valid answer token; None otherwise."""
    try:
        value = signing.Signer(salt=ANSWER_SALT).unsign(token or "")
    except signing.BadSignature:
        return None
    item_id, _, version_id = value.partition(".")
    if not (item_id.isdigit() and version_id.isdigit()):
        return None
    return int(item_id), int(version_id)


def answer_url(*, tracking_number: str, item_id: int, version_id: int) -> str:
    token = answer_token(item_id=item_id, version_id=version_id)
    return site_url(
        reverse(
            "feedback:carried-signed",
            kwargs={"tracking_number": tracking_number, "signed": token},
        )
    )


def diff_text(ops) -> str:
    """A word diff as plain text: [-removed-] and {+added+}."""
    out = []
    for op, text in ops:
        if op == "delete":
            out.append(f"[-{text}-]")
        elif op == "insert":
            out.append(f"{{+{text}+}}")
        else:
            out.append(text)
    return "".join(out)


def clause_diff(old_plain: str, new_plain: str):
    """(ops, inline HTML, text) of a clause's change; imported late (revisions.diffing)."""
    from revisions.diffing import render_inline_diff, word_diff

    ops = word_diff(old_plain, new_plain)
    return ops, render_inline_diff(ops), diff_text(ops)


def _route(name: str, *params: str):
    """An absolute-URL maker for one route: `reverse` once with sample values, then plain
    substitution for each message (a publication writes tens of thousands of them, and
    `reverse` costs about 100 µs). Values `reverse` would escape take the slow path."""
    # Samples that the routes' converters accept and no URL otherwise contains.
    samples = {
        param: "QZQZQZQZQ-9999-98765432" + str(index)
        if param == "tracking_number"
        else f"zq{index}samplezq"
        for index, param in enumerate(params)
    }
    pattern = site_url(reverse(name, kwargs=samples))
    safe = re.compile(r"[A-Za-z0-9._~:@-]+")

    def make(**values: str) -> str:
        if not all(safe.fullmatch(value) for value in values.values()):
            return site_url(reverse(name, kwargs=values))
        url = pattern
        for param, sample in samples.items():
            url = url.replace(sample, values[param])
        return url

    return make


def item_link(*, tracking_number: str) -> str:
    return _routes()["item"](tracking_number=tracking_number)


def answer_link(*, tracking_number: str, signed: str) -> str:
    return _routes()["answer"](tracking_number=tracking_number, signed=signed)


def unsubscribe_link(*, signed: str) -> str:
    return _routes()["unsubscribe"](signed=signed)


def _routes() -> dict:
    return _routes_for(site_url(""), get_urlconf())


@functools.cache
def _routes_for(base: str, urlconf) -> dict:
    """Keyed by the site's address and the URLconf, which tests may change."""
    return {
        "item": _route("feedback:item", "tracking_number"),
        "answer": _route("feedback:carried-signed", "tracking_number", "signed"),
        "unsubscribe": _route("notifications:unsubscribe", "signed"),
    }


def _carried_addresses(items) -> dict[int, tuple[str, bool]]:
    """{item id: (address, anonymous)} of the submitters of these items: two queries."""
    from django.contrib.auth import get_user_model

    user_ids = {i.submitter_id for i in items if i.submitter_id}
    users = {}
    if user_ids:
        users = dict(
            get_user_model()
            .objects.filter(pk__in=user_ids, is_active=True)
            .exclude(email="")
            .values_list("pk", "email")
        )
    found = {}
    for item in items:
        address = None
        anonymous = item.submitter_id is None
        if item.submitter_id and item.submitter_id in users:
            address, anonymous = _usable(users[item.submitter_id]), False
        elif item.submitter_email:
            address = _usable(item.submitter_email)
        if address:
            found[item.pk] = (address, anonymous)
    return found


def carried_queue(*, items, version, old: dict[int, str], new: dict[int, str],
                  incorporating: set[int]) -> int:  # fmt: skip
    """Tell the submitters of carried public items where their item now stands, with the diff
    of their clause, and ask whether the new text resolves their concern (a link to answer
    yes, partly or no). `items` are `carry.CarriedItem`s with their ledger events.

    Batched: addresses, unsubscriptions and languages in a few queries; each group of messages
    that differ only by recipient (same language, clause change, outcome) is rendered once and
    filled in per recipient; outbox rows are inserted in bulk. Returns how many were queued."""
    public = [i for i in items if i.visibility == "public" and i.event is not None]
    addresses = _carried_addresses(public)
    if not addresses:
        return 0
    stopped: dict[str, set[str]] = {}
    languages: dict[str, str] = {}
    unique = sorted({a for a, _anon in addresses.values()})
    for start in range(0, len(unique), 5_000):
        chunk = unique[start : start + 5_000]
        stopped.update(unsubscribed_scopes(chunk))
        languages.update(languages_of(chunk))
    diffs: dict[tuple[int, int | None], tuple] = {}
    rendered: dict[tuple, tuple[str, str, str]] = {}
    messages: list[OutboxMessage] = []
    now = timezone_now()
    for item in public:
        who = addresses.get(item.pk)
        if who is None:
            continue
        address, _anonymous = who
        if stopped.get(address, set()) & {f"item:{item.pk}", ALL}:
            continue
        language = languages.get(address, "") or settings.LANGUAGE_CODE
        result = item.result
        pair = (item.from_text, result.text_id)
        incorporated = item.pk in incorporating
        group = (language, pair, result.outcome, incorporated)
        if group not in rendered:
            if pair not in diffs:
                diffs[pair] = (
                    clause_diff(old[item.from_text], new[result.text_id])
                    if result.text_id is not None
                    else None
                )
            rendered[group] = _carried_render(
                language=language,
                version=version,
                diff=diffs[pair],
                result=result,
                incorporated=incorporated,
            )
        subject, body_text, body_html = rendered[group]
        number = item.tracking_number
        unsubscribe = unsubscribe_link(
            signed=unsubscribe_token(address=address, scope=f"item:{item.pk}")
        )
        values = {
            "tracking_number": number,
            "item_url": item_link(tracking_number=number),
            "answer_url": answer_link(
                tracking_number=number,
                signed=answer_token(item_id=item.pk, version_id=version.pk),
            ),
            "unsubscribe_url": unsubscribe,
        }
        messages.append(
            OutboxMessage(
                event_seq=item.event.pk,
                recipient=address,
                kind=CARRIED_KIND,
                subject=_fill(subject, values, html=False)[:255],
                body_text=_fill(body_text, values, html=False),
                body_html=_fill(body_html, values, html=True),
                headers={
                    **AUTOMATIC_HEADERS,
                    "Content-Language": language,
                    "List-Unsubscribe": f"<{unsubscribe}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
                next_attempt_at=now,
            )
        )
    from modelspec_site.outbox.services import outbox_enqueue_many

    ids = outbox_enqueue_many(messages)[:CARRIED_DISPATCH_NOW]
    if ids:
        from modelspec_site.outbox.services import outbox_dispatch

        def dispatch() -> None:
            for message_id in ids:
                outbox_dispatch(message_id=message_id)

        transaction.on_commit(dispatch)
    return len(messages)


def _fill(template: str, values: dict[str, str], *, html: bool) -> str:
    for name, marker in _SLOTS.items():
        value = values[name]
        template = template.replace(marker, str(escape(value)) if html else value)
    return template


def _carried_render(*, language, version, diff, result, incorporated) -> tuple[str, str, str]:
    """Subject, text and HTML of one group of carried messages, with markers where each
    recipient's values go."""
    with translation.override(language):
        context = {
            **_SLOTS,
            "version_label": version.label,
            "outcome": result.outcome,
            "outcome_label": outcome_words(result.outcome),
            "confidence": result.confidence,
            "quote": result.exact,
            "clause_removed": result.text_id is None,
            "diff_html": diff[1] if diff else "",
            "diff_text": diff[2] if diff else "",
            "unchanged": bool(diff) and all(op == "equal" for op, _t in diff[0]),
            "incorporated": incorporated,
            "reason": "submitter",
            "scope_label": scope_label("item:1"),
            "language_code": language,
            "site_url": site_url("/"),
        }
        subject = " ".join(render_text(f"emails/{CARRIED_TEMPLATE}.subject.txt", context).split())
        context["subject"] = subject
        body_text = render_text(f"emails/{CARRIED_TEMPLATE}.txt", context)
        body_html = get_template(f"emails/{CARRIED_TEMPLATE}.html").render(context)
    return subject, body_text, body_html


def outcome_words(outcome: str) -> str:
    """What re-anchoring found, in words for the submitter."""
    return {
        "anchored": _("Your passage is in the new text as it was."),
        "moved": _("Your passage is in the new text, in another clause."),
        "text_changed": _("Your passage was changed in the new text."),
        "orphaned": _("Your passage could not be found in the new text."),
    }.get(outcome, "")


REOPEN_KIND = "feedback.reopen_requested"


def reopen_request_queue(*, item: FeedbackItem, event, version, note) -> int:
    """Tell reviewers (and the assignee) that a submitter says the text published in `version`
    does not resolve their closed item: a request to reopen it. Staff mail, so it may quote
    the submitter's reply."""
    from modelspec_site.accounts.roles import REVIEWER

    from .notifications import users_with_role

    users = list(users_with_role(REVIEWER))
    if item.assignee_id and all(u.pk != item.assignee_id for u in users):
        users.append(item.assignee)
    queued = 0
    for user in users:
        recipient = staff_recipient(user, scope=f"item:{item.pk}")
        if recipient is None:
            continue
        message_queue(
            event=event,
            recipient=recipient,
            kind=REOPEN_KIND,
            template="staff_reopen_requested",
            context={
                **_item_context(item),
                "summary": item.summary,
                "version_label": version.label,
                "reply": note.body if note is not None else "",
                "internal": not item.is_public,
                "staff_url": site_url(
                    reverse("staff:item", kwargs={"tracking_number": item.tracking_number})
                ),
            },
        )
        queued += 1
    return queued
