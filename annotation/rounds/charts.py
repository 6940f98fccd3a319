"""The rounds panel as the page draws it: the selector's data plus its curves as small server-rendered SVG
line charts (no charting library, nothing third-party). Values are numbers we format ourselves and every
label goes through Django's escaping."""

import math
from collections.abc import Sequence
from typing import Any

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from annotation.models import Project
from annotation.rounds.selectors import Series, rounds_dashboard


def _finite(values: Sequence[float | None]) -> list[tuple[int, float]]:
    return [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(float(v))]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100 or abs(value) < 0.01:
        return f"{value:.2g}"
    return f"{value:.3g}"


def line_chart(
    values: Sequence[float | None],
    *,
    title: str,
    x_label: str | None = None,
    width: int = 320,
    height: int = 140,
    color: str = "#2563eb",
) -> SafeString:
    """An SVG line chart of one series (None and non-finite values skipped); x_label defaults to "step"."""
    points = _finite(values)
    x_label = x_label if x_label is not None else _("step")
    pad_left, pad_right, pad_top, pad_bottom = 44, 10, 22, 22
    inner_w, inner_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    header = format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">'
        '<title>{}</title><text x="{}" y="14" class="chart-title">{}</text>',
        width, height, width, height, title, title, pad_left, title,
    )  # fmt: skip
    if not points:
        body = format_html(
            '<text x="{}" y="{}" class="chart-empty">{}</text>',
            pad_left + 8,
            pad_top + inner_h // 2,
            _("no data yet"),
        )
        return mark_safe(header + body + "</svg>")
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    span_x = max(len(values) - 1, 1)

    def x(i: int) -> float:
        return pad_left + inner_w * i / span_x

    def y(v: float) -> float:
        return pad_top + inner_h * (1 - (v - lo) / (hi - lo))

    path = " ".join(f"{'M' if n == 0 else 'L'}{x(i):.1f},{y(v):.1f}" for n, (i, v) in enumerate(points))
    last_i, last_v = points[-1]
    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" class="chart-axis"/>',
            pad_left, pad_top + inner_h, width - pad_right, pad_top + inner_h,
        ),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" class="chart-axis"/>',
            pad_left, pad_top, pad_left, pad_top + inner_h,
        ),
        format_html(
            '<text x="{}" y="{}" class="chart-tick" text-anchor="end">{}</text>',
            pad_left - 4, pad_top + 4, _fmt(hi),
        ),
        format_html(
            '<text x="{}" y="{}" class="chart-tick" text-anchor="end">{}</text>',
            pad_left - 4, pad_top + inner_h, _fmt(lo),
        ),
        format_html(
            '<text x="{}" y="{}" class="chart-tick" text-anchor="end">{} {}</text>',
            width - pad_right, height - 4, escape(x_label), len(values) - 1,
        ),
        format_html('<path d="{}" fill="none" stroke="{}" stroke-width="2"/>', path, color),
        format_html(
            '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}</title></circle>',
            f"{x(last_i):.1f}", f"{y(last_v):.1f}", color, _fmt(last_v),
        ),
    ]  # fmt: skip
    return mark_safe(header + "".join(parts) + "</svg>")


def series_chart(series: Series) -> SafeString:
    """A panel curve as a chart: x is the step, or the round for per-round curves."""
    return line_chart(
        series.values, title=str(series.title), x_label=_("round") if series.per_round else None
    )


def rounds_panel(*, project: Project) -> dict[str, Any]:
    """The rounds panel's template context: rounds_dashboard's data, with `step_charts` and `round_charts`."""
    panel = rounds_dashboard(project=project)
    return {
        **panel,
        "step_charts": [series_chart(series) for series in panel["step_series"]],
        "round_charts": [series_chart(series) for series in panel["round_series"]],
    }
