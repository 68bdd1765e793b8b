"""Response examples for the OpenAPI schema, trimmed from the bundled Model Spec."""

_HOST = "https://modelspec.example.org"
_API = f"{_HOST}/api/v1/specs/model-spec"
_HASH_2025_02 = "1c8201be0956a03b92fa466ddb2670d8bf4b98f5c208afb964f14b5577ff8577"
_HASH_2025_09 = "187dd4de5e8507b8e538012983e1ded851831587528ec11a66da3a6827660db2"
_FOLLOW = "follow_all_applicable_instructions"

SPEC = {
    "slug": "model-spec",
    "title": "OpenAI Model Spec",
    "description": "",
    "current_version": "2025-09-12",
    "url": f"{_API}/versions/",
    "html_url": f"{_HOST}/specs/model-spec/",
    "authority_vocabulary": [
        {
            "name": "platform",
            "rank": 0,
            "description": "Earlier name for the top level (now root and system).",
        },
        {
            "name": "root",
            "rank": 0,
            "description": "Cannot be overridden by system messages, developers or users.",
        },
        {"name": "system", "rank": 1, "description": "Can be overridden by system messages only."},
        {"name": "developer", "rank": 2, "description": "Can be overridden by developers."},
        {"name": "user", "rank": 3, "description": "Can be overridden by users or developers."},
        {
            "name": "guideline",
            "rank": 4,
            "description": "Defaults that can be overridden implicitly.",
        },
    ],
}

VERSION = {
    "spec": "model-spec",
    "label": "2025-09-12",
    "state": "published",
    "parent": "2025-04-11",
    "published_at": "2025-09-12T09:00:00.000000Z",
    "superseded_at": None,
    "clause_count": 77,
    "example_count": 173,
    "source_hash": "c7e1ec06764b9e899b7a5ce9b6f541c2d3fd41c635326ba4c5cd162f5be32175",
    "comment_period": {"opens_at": "2025-09-12T09:00:00Z", "closes_at": "2025-10-12T09:00:00Z"},
    "url": f"{_API}/versions/2025-09-12/",
    "html_url": f"{_HOST}/specs/model-spec/versions/2025-09-12/",
    "source_url": f"{_HOST}/specs/model-spec/versions/2025-09-12/source.md",
}


def _node(anchor: str, heading: str, number: str, **extra) -> dict:
    return {
        "id": anchor,
        "heading": heading,
        "number": number,
        "level": number.count(".") + 1,
        "authority": "",
        "authority_rank": None,
        "attributes": {},
        "content_hash": "9a4df84470f7539036fbf11d08c20cdab3ebedfdd60fdb470a51468dbf979798",
        "example_count": 0,
        "url": f"{_API}/versions/2025-09-12/clauses/{anchor}/",
        "children": [],
    } | extra


VERSION_DETAIL = VERSION | {
    "changelog": "",
    "clauses": [
        _node(
            "overview",
            "Overview",
            "1",
            children=[_node("structure", "Structure of the document", "1.1")],
        ),
        _node(
            "chain_of_command",
            "The chain of command",
            "3",
            children=[
                _node(
                    _FOLLOW,
                    "Follow all applicable instructions",
                    "3.1",
                    authority="root",
                    authority_rank=0,
                    content_hash=_HASH_2025_09,
                    example_count=4,
                )
            ],
        ),
    ],
}


def _turn(role: str, content: str, *, label: str | None = None) -> dict:
    return {
        "role": role,
        "attributes": {},
        "content": content,
        "content_html": f"<p>{content}</p>\n",
        "candidate": label is not None,
        "label": label,
        "label_note": "",
        "label_clause": None,
    }


def _appearance(label: str, state: str, *, same_text: bool) -> dict:
    return {
        "label": label,
        "state": state,
        "id": _FOLLOW,
        "same_text": same_text,
        "url": f"{_API}/versions/{label}/clauses/{_FOLLOW}/",
    }


CLAUSE_DETAIL = {
    "spec": "model-spec",
    "version": "2025-09-12",
    "id": _FOLLOW,
    "heading": "Follow all applicable instructions",
    "heading_html": "Follow all applicable instructions",
    "number": "3.1",
    "level": 2,
    "parent": "chain_of_command",
    "authority": "root",
    "authority_rank": 0,
    "attributes": {},
    "content_hash": _HASH_2025_09,
    "body_markdown": "The assistant must strive to follow all *applicable instructions* …",
    "body_html": "<p>The assistant must strive to follow all <em>applicable instructions</em> …</p>",
    "plain_text": "The assistant must strive to follow all applicable instructions …",
    "footnotes": ["m12p", "d32l"],
    "examples": [
        {
            "title": "user/developer conflict: tutoring",
            "title_html": "user/developer conflict: tutoring",
            "slug": "userdeveloper-conflict-tutoring",
            "turns": [
                _turn("developer", "You are playing the role of a math tutor …"),
                _turn("user", "Solve the equation for me: 8x + 7 = 39"),
                _turn("assistant", "Let's solve it step by step together …", label="GOOD"),
                _turn("assistant", "Subtract 7 from both sides; x = 4.", label="BAD"),
            ],
        }
    ],
    "versions": [
        _appearance("2025-09-12", "published", same_text=True),
        _appearance("2025-04-11", "superseded", same_text=False),
        _appearance("2025-02-12", "superseded", same_text=False),
    ],
    "url": f"{_API}/versions/2025-09-12/clauses/{_FOLLOW}/",
    "html_url": f"{_HOST}/specs/model-spec/versions/2025-09-12/clauses/{_FOLLOW}/",
    "history_url": f"{_API}/clauses/{_FOLLOW}/history/",
}


def _entry(label: str, state: str, authority: str, content_hash: str, change: str) -> dict:
    return {
        "label": label,
        "state": state,
        "id": _FOLLOW,
        "heading": "Follow all applicable instructions",
        "number": "3.1",
        "authority": authority,
        "authority_rank": 0,
        "content_hash": content_hash,
        "change": change,
        "same_text": change == "unchanged",
        "url": f"{_API}/versions/{label}/clauses/{_FOLLOW}/",
        "html_url": f"{_HOST}/specs/model-spec/versions/{label}/clauses/{_FOLLOW}/",
        "lineage": None if change == "added" else change,
        "compare_url": None,
        "compare_html_url": None,
        "feedback": [],
    }


def _history_entry(label, state, authority, content_hash, change, previous=None, feedback=()):
    entry = _entry(label, state, authority, content_hash, change)
    if previous:
        entry["compare_url"] = f"{_API}/compare/{previous}/{label}/"
        entry["compare_html_url"] = (
            f"{_HOST}/specs/model-spec/compare/{previous}/{label}/#clause-{_FOLLOW}"
        )
    entry["feedback"] = list(feedback)
    return entry


_FEEDBACK_BEHIND = {
    "tracking_number": "FB-2025-000042",
    "summary": "Say which instructions apply when a developer message conflicts with a tool",
    "state": "incorporated",
    "rationale": "Clarified in 3.1: tool output carries no authority of its own.",
    "url": f"{_HOST}/feedback/FB-2025-000042/",
}

CLAUSE_HISTORY = [
    _history_entry("2025-02-12", "superseded", "platform", _HASH_2025_02, "added"),
    _history_entry(
        "2025-04-11", "superseded", "platform", _HASH_2025_02, "unchanged", "2025-02-12"
    ),
    _history_entry(
        "2025-09-12", "published", "root", _HASH_2025_09, "edited", "2025-04-11", [_FEEDBACK_BEHIND]
    ),
]

COMPARISON = {
    "spec": "model-spec",
    "from": {"label": "2025-04-11", "state": "superseded"},
    "to": {"label": "2025-09-12", "state": "published"},
    "algorithm": 1,
    "lineage": "stored",
    "summary": {
        "unchanged": 41,
        "edited": 88,
        "renamed": 3,
        "moved": 6,
        "split": 4,
        "merged": 0,
        "added": 52,
        "removed": 2,
    },
    "authority_changes": 1,
    "examples": {"added": 40, "removed": 3, "relabelled": 1, "changed": 25},
    "clauses": [
        {
            "kind": "edited",
            "old": {
                "id": _FOLLOW,
                "number": "3.1",
                "heading": "Follow all applicable instructions",
                "level": 2,
                "parent": "chain_of_command",
                "authority": "platform",
                "authority_rank": 0,
            },
            "new": {
                "id": _FOLLOW,
                "number": "3.1",
                "heading": "Follow all applicable instructions",
                "level": 2,
                "parent": "chain_of_command",
                "authority": "root",
                "authority_rank": 0,
            },
            "similarity": 97,
            "text_changed": True,
            "moved": False,
            "authority_changed": False,
            "by_editor": False,
            "heading_diff": None,
            "body_diff": [
                ["equal", "The assistant must strive to follow all applicable instructions "],
                ["delete", "when generating "],
                ["insert", "when producing "],
                ["equal", "a response."],
            ],
            "markup_only": False,
            "words": {"removed": 1, "added": 1},
            "examples": {
                "added": [],
                "removed": [],
                "relabelled": [
                    {
                        "title": "Tool output asks for the user's password",
                        "labels": [{"answer": 2, "from": "OK", "to": "BAD"}],
                    }
                ],
                "changed": [],
            },
        }
    ],
}
