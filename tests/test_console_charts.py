"""The console's server-drawn SVG charts: geometry, legend, escaping, empty data, ids."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest

from bot.webconsole.charts import Series, horizontal_bars, share_ring, stacked_bars

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>&\"'"  # short enough not to be shortened with "…"

DAYS = ["2024-12-01", "2024-12-02", "2024-12-03", "2024-12-04"]
ANSWERED = Series("已回答", "answered", "#59a14f", [5, 0, 7, 2])
DECLINED = Series("未回答", "declined", "#e15759", [1, 3, 0, -4])
CLARIFY = Series("追问", "clarify", "#f28e2b", [0, 0, 1, 0])


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def classes(el: ET.Element) -> list[str]:
    return (el.get("class") or "").split()


def bars(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter(f"{NS}rect") if "bar" in classes(el)]


def texts(root: ET.Element, css_class: str) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{NS}text") if css_class in classes(el)]


def tooltip(el: ET.Element) -> str:
    title = el.find(f"{NS}title")
    assert title is not None and title.text is not None
    return title.text


def y_axis(root: ET.Element) -> tuple[float, float]:
    """The plot's top and bottom, read from the y axis line."""
    (line,) = [el for el in root.iter(f"{NS}line") if "y-axis" in classes(el)]
    return float(line.get("y1", "nan")), float(line.get("y2", "nan"))


def f(el: ET.Element, attr: str) -> float:
    return float(el.get(attr, "nan"))


# --- stacked_bars --------------------------------------------------------------------------------


def test_stacked_draws_one_rect_per_positive_segment_with_the_series_class() -> None:
    root = parse(stacked_bars(DAYS, [ANSWERED, DECLINED, CLARIFY], title="每日问题"))
    found = bars(root)
    # 5,1 | 3 | 7,1 | 2  — zeros and the negative value draw nothing
    assert len(found) == 6
    assert sorted(c for el in found for c in classes(el) if c != "bar") == sorted(
        ["answered"] * 3 + ["declined"] * 2 + ["clarify"]
    )
    assert {el.get("fill") for el in found if "answered" in classes(el)} == {"#59a14f"}


def test_stacked_heights_are_proportional_and_the_tallest_column_fills_the_plot() -> None:
    root = parse(stacked_bars(DAYS, [ANSWERED, DECLINED, CLARIFY], title="每日问题"))
    top, bottom = y_axis(root)
    plot_height = bottom - top
    value_of = {}
    for el in bars(root):
        day, _label, value = tooltip(el).split()
        value_of[el] = (day, int(value))
    per_unit = {f(el, "height") / value for el, (_day, value) in value_of.items()}
    assert max(per_unit) - min(per_unit) < 0.01
    # the tallest column (12-03: 7 + 1 = 8) reaches the plot's top
    column = [el for el, (day, _v) in value_of.items() if day == "12-03"]
    assert abs(sum(f(el, "height") for el in column) - plot_height) <= 1
    assert abs(min(f(el, "y") for el in column) - top) <= 1
    # segments of a column sit on each other, the lowest on the x axis
    spans = sorted((f(el, "y"), f(el, "y") + f(el, "height")) for el in column)
    assert abs(spans[0][1] - spans[1][0]) < 0.02
    assert abs(spans[-1][1] - bottom) < 0.02
    # the 12-02 column (3) is 3/8 of the plot height
    (short,) = [el for el, (day, _v) in value_of.items() if day == "12-02"]
    assert abs(f(short, "height") - plot_height * 3 / 8) <= 1


def test_stacked_bar_tooltips_name_day_series_and_value() -> None:
    root = parse(stacked_bars(DAYS, [ANSWERED, DECLINED], title="每日问题"))
    assert sorted(tooltip(el) for el in bars(root)) == sorted(
        ["12-01 已回答 5", "12-01 未回答 1", "12-02 未回答 3", "12-03 已回答 7", "12-04 已回答 2"]
    )


def test_stacked_legend_shows_each_series_label_and_total() -> None:
    root = parse(stacked_bars(DAYS, [ANSWERED, DECLINED, CLARIFY], title="每日问题"))
    assert texts(root, "legend") == ["已回答 14", "未回答 4", "追问 1"]  # -4 counts as 0
    totals = [el.text for el in root.iter(f"{NS}tspan") if "legend-total" in classes(el)]
    assert totals == ["14", "4", "1"]
    swatches = [el for el in root.iter(f"{NS}rect") if "swatch" in classes(el)]
    assert [el.get("fill") for el in swatches] == ["#59a14f", "#e15759", "#f28e2b"]


@pytest.mark.parametrize("tallest", [2, 3, 4, 7, 11, 37, 100, 999, 12345])
def test_stacked_y_axis_has_three_to_five_round_ticks_within_the_data(tallest: int) -> None:
    two_days = ["2024-12-01", "2024-12-02"]
    root = parse(stacked_bars(two_days, [Series("x", "x", "#000", [tallest, 1])], title="t"))
    ticks = [int(t) for t in texts(root, "tick")]
    assert 3 <= len(ticks) <= 5
    assert ticks[0] == 0 and ticks[-1] <= tallest
    step = ticks[1]
    assert ticks == list(range(0, step * len(ticks), step))
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert mantissa in (1, 2, 5)


def test_stacked_tick_labels_sit_at_their_values() -> None:
    root = parse(stacked_bars(["2024-12-01"], [Series("x", "x", "#000", [40])], title="t"))
    top, bottom = y_axis(root)
    for el in root.iter(f"{NS}text"):
        if "tick" in classes(el):
            expected = bottom - int(el.text or "") / 40 * (bottom - top)
            assert abs(f(el, "y") - 4 - expected) < 0.02


def test_stacked_x_labels_are_month_day_every_few_days_and_do_not_overlap() -> None:
    days = [f"2024-11-{d:02d}" for d in range(1, 31)]
    root = parse(stacked_bars(days, [Series("x", "x", "#000", [1] * 30)], title="t"))
    labels = [el for el in root.iter(f"{NS}text") if "x-label" in classes(el)]
    assert 4 <= len(labels) <= 10
    assert all(re.fullmatch(r"11-\d\d", el.text or "") for el in labels)
    assert labels[-1].text == "11-30"  # the most recent day is always labelled
    xs = [f(el, "x") for el in labels]
    label_width = 5 * 0.6 * 11  # "11-30" at font-size 11
    assert all(b - a > label_width + 8 for a, b in itertools.pairwise(xs))


def test_stacked_a_week_labels_every_day() -> None:
    days = [f"2024-12-{d:02d}" for d in range(1, 8)]
    root = parse(stacked_bars(days, [Series("x", "x", "#000", [1] * 7)], title="t"))
    assert texts(root, "x-label") == [d[5:] for d in days]


@pytest.mark.parametrize(
    ("days", "values"),
    [([], []), (["2024-12-01", "2024-12-02"], [0, 0]), (["2024-12-01"], [-3])],
    ids=["no-days", "all-zero", "negative"],
)
def test_stacked_empty_data_draws_axes_and_says_no_data(days: list[str], values: list[int]) -> None:
    root = parse(stacked_bars(days, [Series("已回答", "answered", "#000", values)], title="每日问题"))
    assert texts(root, "empty") == ["暂无数据"]
    assert bars(root) == []
    assert {c for el in root.iter(f"{NS}line") for c in classes(el)} >= {"x-axis", "y-axis"}
    assert texts(root, "legend") == ["已回答 0"]


def test_stacked_with_data_does_not_say_no_data() -> None:
    root = parse(stacked_bars(DAYS, [ANSWERED], title="t"))
    assert texts(root, "empty") == []


@pytest.mark.parametrize("width", [240, 420, 800])
def test_stacked_bars_fit_in_the_view_box_for_any_width_and_many_days(width: int) -> None:
    days = [f"2024-{m:02d}-{d:02d}" for m in (9, 10, 11) for d in range(1, 31)]
    root = parse(stacked_bars(days, [Series("x", "x", "#000", [3] * 90)], title="t", width=width))
    assert (root.get("viewBox") or "").split()[2] == str(width)
    found = bars(root)
    assert len(found) == 90
    assert all(f(el, "x") > 0 and f(el, "x") + f(el, "width") <= width for el in found)
    assert all(f(a, "x") + f(a, "width") <= f(b, "x") for a, b in itertools.pairwise(found))


def test_narrower_than_240_is_refused() -> None:
    with pytest.raises(ValueError, match="width"):
        stacked_bars(DAYS, [ANSWERED], title="t", width=200)
    with pytest.raises(ValueError, match="width"):
        horizontal_bars(SUBJECTS, title="t", width=200)


def test_stacked_rejects_values_that_do_not_match_the_days() -> None:
    with pytest.raises(ValueError, match="已回答"):
        stacked_bars(DAYS, [Series("已回答", "answered", "#000", [1, 2])], title="t")


def test_stacked_hostile_labels_are_escaped_and_the_svg_parses() -> None:
    hostile = Series(HOSTILE + "\x00\x1b", 'x" onload="alert(1)', '" onmouseover="alert(2)', [3, 1])
    svg = stacked_bars(["2024-12-01", "<b>&day"], [hostile], title=HOSTILE)
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#x27;" in svg
    root = parse(svg)
    assert all(not el.get("onload") and not el.get("onmouseover") for el in root.iter())
    assert root.findtext(f"{NS}title") == HOSTILE
    assert texts(root, "legend") == [HOSTILE + " 4"]
    assert sorted(tooltip(el) for el in bars(root)) == sorted([f"12-01 {HOSTILE} 3", f"<b>&day {HOSTILE} 1"])


# --- horizontal_bars -----------------------------------------------------------------------------

SUBJECTS = [("异地就医备案", 40), ("生育津贴", 25), ("家庭共济", 10), ("医保卡挂失", 0)]


def test_horizontal_one_bar_per_row_in_the_given_order() -> None:
    root = parse(horizontal_bars(SUBJECTS, title="热门主题"))
    found = bars(root)
    assert [tooltip(el) for el in found] == ["异地就医备案 40", "生育津贴 25", "家庭共济 10", "医保卡挂失 0"]
    assert [f(el, "y") for el in found] == sorted(f(el, "y") for el in found)
    assert texts(root, "row-label") == [label for label, _ in SUBJECTS]
    assert texts(root, "value") == ["40", "25", "10", "0"]


def test_horizontal_widths_are_proportional_and_counts_sit_right_of_their_bars() -> None:
    root = parse(horizontal_bars(SUBJECTS, title="热门主题"))
    found = bars(root)
    widths = [f(el, "width") for el in found]
    assert abs(widths[1] - widths[0] * 25 / 40) <= 1
    assert abs(widths[2] - widths[0] * 10 / 40) <= 1
    assert widths[3] == 0
    # the longest bar uses the width left after the labels and its count
    view_width = float((root.get("viewBox") or "").split()[2])
    assert view_width == 420
    assert widths[0] > view_width / 2
    values = [el for el in root.iter(f"{NS}text") if "value" in classes(el)]
    labels = [el for el in root.iter(f"{NS}text") if "row-label" in classes(el)]
    for bar, value, label in zip(found, values, labels, strict=True):
        assert f(value, "x") >= f(bar, "x") + f(bar, "width")
        assert f(label, "x") <= f(bar, "x")
        assert f(bar, "y") <= f(value, "y") <= f(bar, "y") + f(bar, "height") + 4
    # the largest count's text ends just inside the right edge
    assert f(values[0], "x") + 2 * 0.6 * 11 <= view_width
    assert f(values[0], "x") + 2 * 0.6 * 11 >= view_width - 16


def test_horizontal_shows_at_most_max_rows() -> None:
    rows = [(f"主题{i}", 100 - i) for i in range(15)]
    assert len(bars(parse(horizontal_bars(rows, title="t")))) == 10
    assert [tooltip(el) for el in bars(parse(horizontal_bars(rows, title="t", max_rows=3)))] == [
        "主题0 100",
        "主题1 99",
        "主题2 98",
    ]


def test_horizontal_long_labels_are_shortened_but_the_tooltip_keeps_them_whole() -> None:
    long = "城乡居民基本医疗保险" * 5
    root = parse(horizontal_bars([(long, 3)], title="t"))
    (label,) = texts(root, "row-label")
    assert label.endswith("…") and len(label) < len(long)
    assert tooltip(bars(root)[0]) == f"{long} 3"


def test_horizontal_negative_counts_are_zero() -> None:
    root = parse(horizontal_bars([("a", 5), ("b", -7)], title="t"))
    assert [f(el, "width") >= 0 for el in bars(root)] == [True, True]
    assert texts(root, "value") == ["5", "0"]


@pytest.mark.parametrize("rows", [[], [("a", 0), ("b", -1)]], ids=["no-rows", "all-zero"])
def test_horizontal_empty_says_no_data(rows: list[tuple[str, int]]) -> None:
    root = parse(horizontal_bars(rows, title="热门主题"))
    assert texts(root, "empty") == ["暂无数据"]
    assert bars(root) == []


def test_horizontal_hostile_subjects_are_escaped_and_the_svg_parses() -> None:
    svg = horizontal_bars([(HOSTILE, 9), ("&amp;", 2)], title=HOSTILE, width=600, css_class='a"><script>')
    assert "<script" not in svg
    root = parse(svg)
    assert texts(root, "row-label") == [HOSTILE, "&amp;"]
    assert [tooltip(el) for el in bars(root)] == [f"{HOSTILE} 9", "&amp; 2"]
    assert bars(root)[0].get("class") == 'bar a"><script>'


# --- share_ring ----------------------------------------------------------------------------------


def ring_text(root: ET.Element) -> str:
    (text,) = texts(root, "ring-text")
    return text


def ring_value(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter(f"{NS}circle") if "ring-value" in classes(el)]


@pytest.mark.parametrize(
    ("share", "shown"),
    [(0.625, "63%"), (0.145, "15%"), (0.624, "62%"), (0.0, "0%"), (1.0, "100%"), (1.7, "100%"), (-0.2, "0%")],
)
def test_ring_shows_the_share_rounded_half_up_and_clamped(share: float, shown: str) -> None:
    assert ring_text(parse(share_ring(share, title="回答率", caption="已回答"))) == shown


@pytest.mark.parametrize("share", [0.25, 0.625, 1.0, 3.0])
def test_ring_arc_length_is_the_share_of_the_circumference(share: float) -> None:
    root = parse(share_ring(share, title="回答率", caption="已回答"))
    (arc,) = ring_value(root)
    filled, circumference = (float(x) for x in (arc.get("stroke-dasharray") or "").split())
    assert abs(circumference - 2 * math.pi * f(arc, "r")) < 0.01
    assert abs(filled - min(share, 1.0) * circumference) < 0.01


@pytest.mark.parametrize("share", [None, math.nan])
def test_ring_without_a_share_is_empty_and_shows_a_dash(share: float | None) -> None:
    root = parse(share_ring(share, title="回答率", caption="已回答"))
    assert ring_text(root) == "—"
    assert ring_value(root) == []
    assert [el for el in root.iter(f"{NS}circle") if "ring-track" in classes(el)]


def test_ring_zero_share_has_no_arc() -> None:
    assert ring_value(parse(share_ring(0.0, title="t", caption="c"))) == []


def test_ring_caption_and_title_are_escaped() -> None:
    svg = share_ring(0.5, title=HOSTILE, caption=HOSTILE)
    assert "<script" not in svg
    root = parse(svg)
    assert texts(root, "caption") == [HOSTILE]
    assert root.findtext(f"{NS}title") == HOSTILE


# --- common to all charts ------------------------------------------------------------------------

CHARTS = {
    "stacked": lambda title: stacked_bars(DAYS, [ANSWERED, DECLINED], title=title),
    "hbars": lambda title: horizontal_bars(SUBJECTS, title=title),
    "ring": lambda title: share_ring(0.5, title=title, caption="已回答"),
}


@pytest.mark.parametrize("kind", CHARTS)
def test_chart_is_a_scalable_labelled_svg_with_a_cjk_font(kind: str) -> None:
    svg = CHARTS[kind]("标题")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.endswith("</svg>")
    root = parse(svg)
    assert root.get("width") == "100%" and root.get("height") is None
    assert re.fullmatch(r"0 0 \d+(\.\d+)? \d+(\.\d+)?", root.get("viewBox") or "")
    assert root.get("preserveAspectRatio") == "xMidYMid meet"
    assert root.get("role") == "img"
    (title,) = root.findall(f"{NS}title")
    assert title.text == "标题"
    assert title.get("id") and root.get("aria-labelledby") == title.get("id")
    assert "Noto Sans CJK SC" in (root.get("font-family") or "")
    assert 11 <= int(root.get("font-size") or "0") <= 12


@pytest.mark.parametrize("kind", CHARTS)
def test_chart_ids_differ_by_title_and_repeat_for_the_same_input(kind: str) -> None:
    one, other = CHARTS[kind]("每日问题"), CHARTS[kind]("热门主题")
    ids = [{el.get("id") for el in parse(svg).iter() if el.get("id")} for svg in (one, other)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    assert CHARTS[kind]("每日问题") == one  # deterministic, ids included


def test_chart_ids_differ_by_data_under_the_same_title() -> None:
    one = parse(stacked_bars(DAYS, [ANSWERED], title="t")).get("id")
    other = parse(stacked_bars(DAYS, [DECLINED], title="t")).get("id")
    assert one and other and one != other
