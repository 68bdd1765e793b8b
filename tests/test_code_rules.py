"""Rules the code must keep (RELIABILITY.md, "config" row): no ways around escaping, CSRF or
the ORM except in the few reviewed places listed here."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["modelspec_site", "revisions", "feedback", "templates"]

# path -> how many uses are reviewed and allowed there
ALLOWED = {
    ("mark_safe(", "revisions/templatetags/spec_text.py"): 2,
    ("mark_safe(", "revisions/views.py"): 1,
    # Word diffs: every piece of text goes through escape() first (_text_html, _del_html,
    # _ins_html); tests/revisions/test_diffing.py checks that markup in a clause comes out inert.
    ("mark_safe(", "revisions/diffing.py"): 4,
    # The editors' changelog, rendered by rendering.render_markdown (js-default, then nh3).
    ("mark_safe(", "revisions/views_changes.py"): 1,
    # RFC 8058 one-click unsubscribe: mail clients POST without a CSRF token (import + use).
    ("csrf_exempt", "feedback/views_notify.py"): 2,
}
PATTERNS = ["mark_safe(", "csrf_exempt", ".raw(", ".extra(", "|safe", "{% autoescape off"]


def test_escaping_csrf_and_raw_sql_are_used_only_where_reviewed():
    found: dict[tuple[str, str], int] = {}
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".html", ".txt"} or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            for pattern in PATTERNS:
                count = len(re.findall(re.escape(pattern), text))
                if count:
                    found[(pattern, str(path.relative_to(ROOT)))] = count
    unexpected = {key: n for key, n in found.items() if ALLOWED.get(key) != n}
    # Mentions in prose (docstrings saying "no mark_safe") are not calls.
    unexpected = {k: n for k, n in unexpected.items() if not (k[0] == "mark_safe(" and n == 0)}
    assert unexpected == {}
