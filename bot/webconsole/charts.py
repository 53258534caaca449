"""Charts for the operator console, drawn on the server as inline SVG strings.

No JavaScript and nothing fetched: each function returns one complete ``<svg>`` element that
scales to the width of its container (``width="100%"`` and a viewBox, no fixed pixel size).
Shapes carry classes (``bar answered``, ``ring-value``, ...) so the page's CSS can colour them;
the ``fill``/``stroke`` attributes are only defaults. Text and axes follow the page's text colour
(``currentColor``), so a dark page needs no extra rules.

Everything that came from outside (titles, series labels, subject names, class names, colours) is
escaped, and characters XML cannot hold are dropped, so the output is well-formed XML as well as
safe HTML. The output is a function of the input only: the element ids come from a hash of the
chart's kind, title, data and options, so two different charts on one page get different ids and
the same chart drawn twice is the same string.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from html import escape

FONT_FAMILY = "system-ui, 'Noto Sans CJK SC', sans-serif"
FONT_SIZE = 11
TITLE_FONT_SIZE = 12

# User-facing words drawn inside the charts.
EMPTY_TEXT = "暂无数据"
NO_SHARE_TEXT = "—"

BAR_COLOR = "#4e79a7"
RING_COLOR = "#4e79a7"
RING_TRACK_COLOR = "#e5e7eb"

# viewBox width of the bar charts. The page scales the chart to its container, text included:
# 420 keeps 11-unit text about 10 px high on a 380 px phone screen.
VIEW_WIDTH = 420
MIN_WIDTH = 240
MIN_HEIGHT = 120  # below this the stacked chart's plot area has no room
MIN_LABEL_GAP = 50  # viewBox units between two x labels ("12-01" is about 33 wide)
MAX_TICKS = 5

# XML 1.0 allows only these characters; anything else (NUL, other C0 controls, lone
# surrogates, U+FFFE/FFFF) would make the SVG unparsable, so it is dropped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ISO_DAY = re.compile(r"\d{4}-(\d{2}-\d{2})")


@dataclass(frozen=True, slots=True)
class Series:
    """One kind of question in a stacked chart: its label, CSS class, default colour and counts."""

    label: str  # e.g. "已回答"
    css_class: str  # e.g. "answered": the bars get class="bar answered"
    color: str  # default fill, e.g. "#59a14f"; the page's CSS may override it through the class
    values: list[int]  # one per day


def stacked_bars(
    days: list[str],
    series: list[Series],
    *,
    title: str,
    height: int = 220,
    width: int = VIEW_WIDTH,
    show_title: bool = True,
) -> str:
    """Questions per day split into kinds: one stacked column per day.

    X labels are MM-DD (from ISO dates; other strings as given) on every ~5th day, counted back
    from the last day, so labels do not overlap. The y axis has 3–5 round tick values (only 0 and
    1 when the tallest column is 1); the tallest column fills the plot height. A legend shows each
    series' label and its total. Negative values count as 0. With no days or only zeros the axes
    are drawn with the text "暂无数据". ``width`` and ``height`` make the viewBox (at least 240 ×
    120); a legend that needs more than one line adds to the height.
    """
    if height < MIN_HEIGHT:
        raise ValueError(f"height must be at least {MIN_HEIGHT}, got {height}")
    _check_width(width)
    for s in series:
        if len(s.values) != len(days):
            raise ValueError(f"series {s.label!r} has {len(s.values)} values for {len(days)} days")
    values = [[max(v, 0) for v in s.values] for s in series]
    totals = [sum(vs) for vs in values]
    columns = [sum(vs[i] for vs in values) for i in range(len(days))]
    top = max(columns, default=0)
    chart_id = _chart_id("stacked", title, days, series, height, width, show_title)

    ticks = _ticks(top)
    margin_left = max(28.0, _text_width(str(ticks[-1]), FONT_SIZE) + 12)
    margin_right = 12.0
    plot_top = 30.0 if show_title else 12.0
    plot_bottom = float(height - 40)
    plot_left, plot_right = margin_left, width - margin_right
    plot_height = plot_bottom - plot_top

    legend, legend_rows = _legend(series, totals, left=plot_left, right=plot_right, y=plot_bottom + 32)
    view_height = height + 18 * (legend_rows - 1)

    body: list[str] = []
    if show_title:
        body.append(_title_text(title, x=plot_left, y=16, max_width=width - 16))
    body.append(
        f'<line class="axis y-axis" x1="{_num(plot_left)}" y1="{_num(plot_top)}" '
        f'x2="{_num(plot_left)}" y2="{_num(plot_bottom)}" stroke="currentColor" stroke-opacity="0.5"/>'
    )
    body.append(
        f'<line class="axis x-axis" x1="{_num(plot_left)}" y1="{_num(plot_bottom)}" '
        f'x2="{_num(plot_right)}" y2="{_num(plot_bottom)}" stroke="currentColor" stroke-opacity="0.5"/>'
    )

    if top == 0:
        body.append(
            f'<text class="tick" x="{_num(plot_left - 4)}" y="{_num(plot_bottom + 4)}" '
            f'text-anchor="end" fill="currentColor">0</text>'
        )
        body.append(_empty_text(x=(plot_left + plot_right) / 2, y=(plot_top + plot_bottom) / 2))
        desc = EMPTY_TEXT
    else:
        scale = plot_height / top
        for tick in ticks:
            y = round(plot_bottom - tick * scale, 2)
            if tick:
                body.append(
                    f'<line class="grid" x1="{_num(plot_left)}" y1="{_num(y)}" x2="{_num(plot_right)}" '
                    f'y2="{_num(y)}" stroke="currentColor" stroke-opacity="0.12"/>'
                )
            body.append(
                f'<text class="tick" x="{_num(plot_left - 4)}" y="{_num(y + 4)}" '
                f'text-anchor="end" fill="currentColor">{tick}</text>'
            )

        column_width = (plot_right - plot_left) / len(days)
        bar_width = min(column_width * 0.7, 48.0)
        label_step = max(1, math.ceil(MIN_LABEL_GAP / column_width))
        for i, day in enumerate(days):
            day_label = _day_label(day)
            x = plot_left + i * column_width + (column_width - bar_width) / 2
            below = 0
            for s, vs in zip(series, values, strict=True):
                value = vs[i]
                if value == 0:
                    continue
                y_bottom = round(plot_bottom - below * scale, 2)
                below += value
                y_top = round(plot_bottom - below * scale, 2)
                body.append(
                    f'<rect class="bar {_esc(s.css_class)}" x="{_num(x)}" y="{_num(y_top)}" '
                    f'width="{_num(bar_width)}" height="{_num(y_bottom - y_top)}" fill="{_esc(s.color)}">'
                    f"<title>{_esc(f'{day_label} {s.label} {value}')}</title></rect>"
                )
            if (len(days) - 1 - i) % label_step == 0:
                body.append(
                    f'<text class="x-label" x="{_num(x + bar_width / 2)}" y="{_num(plot_bottom + 14)}" '
                    f'text-anchor="middle" fill="currentColor">{_esc(day_label)}</text>'
                )
        span = days[0] if len(days) == 1 else f"{days[0]} 至 {days[-1]}"
        parts = "，".join(f"{s.label} {total}" for s, total in zip(series, totals, strict=True))
        desc = f"{span}，共 {len(days)} 天：{parts}" if parts else span

    body.extend(legend)
    return _svg("stacked", chart_id, width, view_height, title, desc, body)


def horizontal_bars(
    rows: list[tuple[str, int]],
    *,
    title: str,
    max_rows: int = 10,
    width: int = VIEW_WIDTH,
    css_class: str = "subject",
    color: str = BAR_COLOR,
    show_title: bool = True,
) -> str:
    """Top subjects: one labelled bar per row, in the order given, at most ``max_rows`` rows.

    The label is left of the bar (shortened with "…" when too long; the bar's tooltip keeps it
    whole), the count right of it; the largest count fills the available width. Negative counts
    are 0. No rows, or only zeros, draws the text "暂无数据". ``width`` is the viewBox width.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    _check_width(width)
    shown = [(label, max(count, 0)) for label, count in rows[:max_rows]]
    top = max((count for _, count in shown), default=0)
    chart_id = _chart_id("hbars", title, shown, width, css_class, color, show_title)

    row_height, bar_height = 26.0, 16.0
    plot_top = 30.0 if show_title else 8.0
    body: list[str] = []
    if show_title:
        body.append(_title_text(title, x=8, y=16, max_width=width - 16))

    if top == 0:
        view_height = plot_top + 60
        body.append(_empty_text(x=width / 2, y=plot_top + 30))
        return _svg("hbars", chart_id, width, view_height, title, EMPTY_TEXT, body)

    max_label_width = min(200.0, width * 0.4)
    label_width = min(max(_text_width(label, FONT_SIZE) for label, _ in shown), max_label_width)
    bar_left = 8 + max(label_width, 48.0) + 8
    count_width = _text_width(str(top), FONT_SIZE) + 8
    bar_max = width - 8 - count_width - bar_left
    scale = bar_max / top
    for i, (label, count) in enumerate(shown):
        row_top = plot_top + i * row_height
        bar_width = round(count * scale, 2)
        text_y = _num(row_top + (row_height + FONT_SIZE) / 2 - 1)
        body.append(
            f'<text class="row-label" x="{_num(bar_left - 8)}" y="{text_y}" text-anchor="end" '
            f'fill="currentColor">{_esc(_truncate(label, max_label_width, FONT_SIZE))}</text>'
        )
        body.append(
            f'<rect class="bar {_esc(css_class)}" x="{_num(bar_left)}" '
            f'y="{_num(row_top + (row_height - bar_height) / 2)}" width="{_num(bar_width)}" '
            f'height="{_num(bar_height)}" fill="{_esc(color)}">'
            f"<title>{_esc(f'{label} {count}')}</title></rect>"
        )
        body.append(
            f'<text class="value" x="{_num(bar_left + bar_width + 6)}" y="{text_y}" '
            f'fill="currentColor">{count}</text>'
        )
    view_height = plot_top + len(shown) * row_height + 8
    desc = "；".join(f"{label} {count}" for label, count in shown)
    return _svg("hbars", chart_id, width, view_height, title, desc, body)


def share_ring(
    share: float | None,
    *,
    title: str,
    caption: str,
    color: str = RING_COLOR,
    show_title: bool = True,
) -> str:
    """A ring (donut) showing a share 0..1, the percentage in the middle (e.g. "62%").

    The share is clamped to 0..1 and the percentage rounded half up (0.625 → "63%", 0.145 →
    "15%", decided on the decimal the float prints as). None (or NaN) draws an empty ring and "—".
    The caption goes under the ring.
    """
    if share is not None and math.isnan(share):
        share = None
    if share is not None:
        share = min(max(share, 0.0), 1.0)
    chart_id = _chart_id("ring", title, caption, share, color, show_title)

    radius, stroke = 48.0, 14.0
    caption_width = _text_width(caption, TITLE_FONT_SIZE)
    width = max(160.0, caption_width + 16)
    top = 26.0 if show_title else 4.0
    cx, cy = width / 2, top + stroke / 2 + radius + 4
    view_height = cy + radius + stroke / 2 + 26
    text = NO_SHARE_TEXT if share is None else f"{_percent(share)}%"

    body: list[str] = []
    if show_title:
        body.append(_title_text(title, x=width / 2, y=16, max_width=width - 16, anchor="middle"))
    circle = f'cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(radius)}" fill="none" stroke-width="{_num(stroke)}"'
    body.append(f'<circle class="ring-track" {circle} stroke="{RING_TRACK_COLOR}"/>')
    if share:
        circumference = 2 * math.pi * radius
        body.append(
            f'<circle class="ring-value" {circle} stroke="{_esc(color)}" '
            f'stroke-dasharray="{_num(share * circumference)} {_num(circumference)}" '
            f'transform="rotate(-90 {_num(cx)} {_num(cy)})">'
            f"<title>{_esc(f'{caption} {text}')}</title></circle>"
        )
    body.append(
        f'<text class="ring-text" x="{_num(cx)}" y="{_num(cy + 8)}" text-anchor="middle" font-size="22" '
        f'font-weight="600" fill="currentColor">{_esc(text)}</text>'
    )
    body.append(
        f'<text class="caption" x="{_num(cx)}" y="{_num(view_height - 10)}" text-anchor="middle" '
        f'font-size="{TITLE_FONT_SIZE}" fill="currentColor">{_esc(caption)}</text>'
    )
    return _svg("ring", chart_id, width, view_height, title, f"{caption}：{text}", body)


def _svg(
    kind: str, chart_id: str, width: float, height: float, title: str, desc: str, body: list[str]
) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" id="{chart_id}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'role="img" aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" '
        f'font-family="{_esc(FONT_FAMILY)}" font-size="{FONT_SIZE}">'
    )
    return "\n".join(
        [
            head,
            f'<title id="{chart_id}-title">{_esc(title)}</title>',
            f'<desc id="{chart_id}-desc">{_esc(desc)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _legend(
    series: list[Series], totals: list[int], *, left: float, right: float, y: float
) -> tuple[list[str], int]:
    """The legend items (swatch, label, total), wrapped onto more lines when they do not fit."""
    parts: list[str] = []
    x, rows = left, 1
    for s, total in zip(series, totals, strict=True):
        label = _truncate(s.label, 200, FONT_SIZE)
        item_width = 14 + _text_width(f"{label} {total}", FONT_SIZE) + 16
        if x > left and x + item_width > right:
            x, y, rows = left, y + 18, rows + 1
        parts.append(
            f'<rect class="swatch {_esc(s.css_class)}" x="{_num(x)}" y="{_num(y - 9)}" width="10" '
            f'height="10" fill="{_esc(s.color)}"/>'
        )
        parts.append(
            f'<text class="legend" x="{_num(x + 14)}" y="{_num(y)}" fill="currentColor">'
            f'{_esc(label)} <tspan class="legend-total" font-weight="600">{total}</tspan></text>'
        )
        x += item_width
    return parts, rows


def _check_width(width: int) -> None:
    if width < MIN_WIDTH:
        raise ValueError(f"width must be at least {MIN_WIDTH}, got {width}")


def _title_text(title: str, *, x: float, y: float, max_width: float, anchor: str = "start") -> str:
    return (
        f'<text class="chart-title" x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" '
        f'font-size="{TITLE_FONT_SIZE}" font-weight="600" fill="currentColor">'
        f"{_esc(_truncate(title, max_width, TITLE_FONT_SIZE))}</text>"
    )


def _empty_text(*, x: float, y: float) -> str:
    return (
        f'<text class="empty" x="{_num(x)}" y="{_num(y)}" text-anchor="middle" '
        f'font-size="{TITLE_FONT_SIZE}" fill="currentColor" fill-opacity="0.6">{EMPTY_TEXT}</text>'
    )


def _ticks(top: int) -> list[int]:
    """Round y-axis values from 0 up to ``top``: a step of 1, 2 or 5 × 10ⁿ giving 3–5 values.

    Only [0, 1] for a top of 1 and [0] for 0: counts are whole numbers.
    """
    if top <= 0:
        return [0]
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            step = multiple * magnitude
            if top // step + 1 <= MAX_TICKS:
                return list(range(0, top + 1, step))
        magnitude *= 10


def _percent(share: float) -> int:
    """The share as a whole percentage, rounded half up on the decimal the float prints as."""
    return int((Decimal(repr(share)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _day_label(day: str) -> str:
    """MM-DD for an ISO date ("2024-12-01" → "12-01"); any other string as given."""
    match = _ISO_DAY.match(day)
    return match.group(1) if match else day


def _chart_id(kind: str, *parts: object) -> str:
    digest = hashlib.sha256(repr((kind, *parts)).encode("utf-8")).hexdigest()
    return f"chart-{digest[:12]}"


def _esc(text: str) -> str:
    """Text for an SVG element or a double-quoted attribute: XML-invalid characters dropped, escaped."""
    return escape(_NOT_XML.sub("", text), quote=True)


def _text_width(text: str, size: float) -> float:
    """Rough rendered width: wide (CJK, full-width) characters 1 em, others 0.6 em."""
    return sum(size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.6 for ch in text)


def _truncate(text: str, max_width: float, size: float) -> str:
    """The text cut to fit ``max_width`` (by the rough width above), ending in "…" when cut."""
    if _text_width(text, size) <= max_width:
        return text
    budget = max_width - _text_width("…", size)
    kept: list[str] = []
    for ch in text:
        budget -= _text_width(ch, size)
        if budget < 0:
            break
        kept.append(ch)
    return "".join(kept) + "…"


def _num(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros ("12.5", "40")."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
