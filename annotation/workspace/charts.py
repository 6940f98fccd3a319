"""The dashboard's throughput as time-series charts: server-rendered SVG bar charts of submissions per hour
and per day, with a labelled y axis and dated x ticks (no charting library; every label escaped)."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


def _nice_max(peak: int) -> int:
    """A round axis maximum at or above peak (1, 2, 5, 10, 20, 50, ...)."""
    if peak <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= peak:
                return step * factor
        step *= 10


def bar_chart(
    buckets: Sequence[dict[str, Any]],
    *,
    title: str,
    tick_format: str,
    tick_every: int,
    empty_text: str = "",
    width: int = 480,
    height: int = 170,
) -> SafeString:
    """An SVG bar chart of `buckets` ({start: datetime, count: int}, oldest first): one bar a bucket, a
    y axis from 0 to a round maximum, an x tick every `tick_every` buckets labelled with strftime
    `tick_format`. Each bar carries its date and count as a tooltip."""
    pad_left, pad_right, pad_top, pad_bottom = 36, 8, 24, 22
    inner_w, inner_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    top = _nice_max(max((int(b["count"]) for b in buckets), default=0))
    n = max(len(buckets), 1)
    slot = inner_w / n
    bar = max(slot * 0.72, 1.0)
    base_y = pad_top + inner_h
    total = sum(int(b["count"]) for b in buckets)
    parts = [
        format_html(
            '<svg class="chart chart-wide" viewBox="0 0 {} {}" role="img" aria-label="{}: {}">'
            '<title>{}</title><text x="{}" y="14" class="chart-title">{}</text>',
            width,
            height,
            title,
            total,
            title,
            pad_left,
            title,
        ),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" class="chart-axis"/>',
            pad_left,
            base_y,
            width - pad_right,
            base_y,
        ),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" class="chart-grid-line"/>',
            pad_left,
            pad_top,
            width - pad_right,
            pad_top,
        ),
        format_html(
            '<text x="{}" y="{}" class="chart-tick" text-anchor="end">{}</text>',
            pad_left - 4,
            pad_top + 4,
            top,
        ),
        format_html(
            '<text x="{}" y="{}" class="chart-tick" text-anchor="end">0</text>', pad_left - 4, base_y
        ),
    ]
    for index, bucket in enumerate(buckets):
        count = int(bucket["count"])
        start: dt.datetime = bucket["start"]
        x = pad_left + slot * index + (slot - bar) / 2
        h = inner_h * count / top
        label = start.strftime("%Y-%m-%d %H:%M")
        parts.append(
            format_html(
                '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" data-count="{}">'
                "<title>{}: {}</title></rect>",
                f"{x:.1f}",
                f"{base_y - h:.1f}",
                f"{bar:.1f}",
                f"{h:.1f}",
                count,
                label,
                count,
            )
        )
        if index % tick_every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" class="chart-tick" text-anchor="middle">{}</text>',
                    f"{x + bar / 2:.1f}",
                    height - 6,
                    start.strftime(tick_format),
                )
            )
    if not total:
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="chart-empty" text-anchor="middle">{}</text>',
                pad_left + inner_w // 2,
                pad_top + inner_h // 2,
                empty_text,
            )
        )
    return mark_safe("".join(parts) + "</svg>")


def throughput_charts(
    *, stats: dict[str, Any], per_hour_title: str, per_day_title: str
) -> dict[str, SafeString]:
    """The stats' hourly (48) and daily (30) submission counts as the dashboard's two charts."""
    throughput = stats["throughput"]
    empty = _("no annotations in this period")
    return {
        "per_day": bar_chart(
            throughput["per_day"], title=per_day_title, tick_format="%m-%d", tick_every=5, empty_text=empty
        ),
        "per_hour": bar_chart(
            throughput["per_hour"], title=per_hour_title, tick_format="%H:00", tick_every=8, empty_text=empty
        ),
    }
