"""Server-rendered SVG bar charts for the transparency dashboard. Pure: plain data in, markup
out, no Django models.

Each chart is `role="img"` named by its `<title>` and described by its `<desc>` (which also
lists every value, for screen readers), draws one bar per row with the row's label on the left
and its value written at the end of the bar, so nothing depends on colour. Bars are a dark blue
(8.6:1 against white), text near-black; the page puts the same numbers in a table below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 640
LABEL_WIDTH = 210
VALUE_WIDTH = 90
ROW_HEIGHT = 28
BAR_HEIGHT = 18
TOP = 8
BOTTOM = 8
BAR_COLOUR = "#1d4f91"
TEXT_COLOUR = "#1a1a1a"
AXIS_COLOUR = "#595959"
LABEL_CHARS = 30


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as people read it: "12", "3.5 days", "40 %"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(
    *, chart_id: str, title: str, description: str, bars: Sequence[Bar], empty: str = "\u2013"
) -> SafeString:
    """A horizontal bar chart as inline SVG. `chart_id` must be unique on the page (it names
    the title and description elements). Every text is escaped."""
    safe_id = "".join(ch for ch in chart_id if ch.isalnum() or ch in "-_") or "chart"
    title_id, desc_id = f"{safe_id}-title", f"{safe_id}-desc"
    values_text = "; ".join(f"{bar.label}: {bar.text}" for bar in bars)
    full_description = f"{description} {values_text if bars else empty}".strip()
    height = TOP + BOTTOM + ROW_HEIGHT * max(len(bars), 1)
    peak = max((bar.value for bar in bars), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{}" role="img" '
            'aria-labelledby="{} {}" viewBox="0 0 {} {}" width="100%" '
            'preserveAspectRatio="xMinYMin meet" font-family="sans-serif" font-size="13">',
            safe_id, title_id, desc_id, WIDTH, height,
        ),
        format_html('<title id="{}">{}</title>', title_id, title),
        format_html('<desc id="{}">{}</desc>', desc_id, full_description),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>',
            LABEL_WIDTH, TOP, LABEL_WIDTH, height - BOTTOM, AXIS_COLOUR,
        ),
    ]  # fmt: skip
    for index, bar in enumerate(bars):
        y = TOP + index * ROW_HEIGHT
        width = max(round(span * max(bar.value, 0) / peak, 1), 0)
        if bar.value > 0:
            width = max(width, 2)  # a non-zero value is always visible
        middle = y + ROW_HEIGHT / 2
        parts.append(
            format_html(
                '<text x="{}" y="{}" dy="0.35em" text-anchor="end" fill="{}">{}</text>',
                LABEL_WIDTH - 8, middle, TEXT_COLOUR, _short(bar.label),
            )
        )  # fmt: skip
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                LABEL_WIDTH, y + (ROW_HEIGHT - BAR_HEIGHT) / 2, width, BAR_HEIGHT, BAR_COLOUR,
            )
        )  # fmt: skip
        parts.append(
            format_html(
                '<text x="{}" y="{}" dy="0.35em" fill="{}">{}</text>',
                LABEL_WIDTH + width + 6, middle, TEXT_COLOUR, bar.text,
            )
        )  # fmt: skip
    if not bars:
        parts.append(
            format_html(
                '<text x="{}" y="{}" dy="0.35em" fill="{}">{}</text>',
                LABEL_WIDTH + 8, TOP + ROW_HEIGHT / 2, TEXT_COLOUR, empty,
            )
        )  # fmt: skip
    parts.append(SafeString("</svg>"))  # a constant
    # format_html escapes every value; joining safe pieces stays safe.
    return format_html_join("", "{}", ((part,) for part in parts))
