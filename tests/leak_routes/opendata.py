"""Open data and Atom feeds in the canary crawl: every download (each data set as CSV and JSON
Lines) and every feed is fetched as the public; none may carry an internal item, its decision,
a hidden item's content, a draft, or anyone's e-mail address.

Planted here: decisions the downloads and the decisions feed would show if visibility broke:
an internal item declined with a marked rationale, an internal item marked as the duplicate of
another, and the hidden public item declined with a marked rationale. (Public decisions, which
the files must show, are checked in tests/feedback/test_opendata.py and test_feeds.py: public
items planted here would change what the crawl's other tests expect the public lists to hold.)"""

from __future__ import annotations

from feedback import transitions as work
from feedback.models import Visibility
from feedback.services import Submission, feedback_submit
from revisions.models import Version
from tests.leaks_support import Way

ROUTES: dict[str, Way] = {
    "data/": Way(),
    "data/<slug:dataset>.csv": Way(),
    "data/<slug:dataset>.jsonl": Way(),
    "feedback/decisions/feed/": Way(),
    "feedback/clauses/<slug:spec>/<str:clause_id>/feed/": Way(),
    "specs/<slug:spec>/versions/feed/": Way(),
}

DATASETS = ["feedback", "decisions", "versions", "clauses"]


def values(w) -> dict[str, list[str]]:
    return {"dataset": DATASETS}


def missing(w) -> dict[str, list[str]]:
    return {"dataset": ["no-such-data"]}


def plant(w, *, make_user) -> None:
    triager = w.staff[0]
    latest = Version.objects.get(spec__slug="model-spec", state=Version.State.PUBLISHED)

    def file(name: str):
        submission = Submission(
            version=latest,
            clause_id="letter_and_spirit",
            kind="disagree",
            summary=f"Open data canary {w.mark(f'{name}: summary')}",
            body=w.mark(f"{name}: body"),
            visibility=Visibility.INTERNAL,
        )
        item = feedback_submit(acting_user=triager, submission=submission).item
        w.items[name] = item
        w.secrets[item.tracking_number] = f"{name}: tracking number"
        return item

    # An internal item, declined with a rationale (internal: never in the decisions).
    internal = file("opendata-internal")
    work.feedback_transition(acting_user=triager, item=internal, action="triage")
    work.feedback_transition(acting_user=triager, item=internal, action="decline",
                             rationale=w.mark("opendata-internal: rationale"))  # fmt: skip
    # Another internal item marked as its duplicate.
    copy = file("opendata-internal-copy")
    work.feedback_transition(acting_user=triager, item=copy, action="mark_duplicate",
                             duplicate_of=internal,
                             rationale=w.mark("opendata-internal-copy: rationale"))  # fmt: skip
    # The hidden public item, declined: a hidden item's decision is withheld like its text.
    hidden = w.items["hidden"]
    w.items["hidden"] = work.feedback_transition(
        acting_user=triager, item=hidden, action="decline",
        rationale=w.mark("hidden: decision rationale"),
    )  # fmt: skip
