"""The portal's SVG charts: well-formed, escaped, one line per unbroken run, gaps, empty data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from authorize_app.charts import PALETTE, small_multiples_svg

SVG = "{http://www.w3.org/2000/svg}"
DAY = date(2026, 3, 1)
HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"


def days(count: int) -> list[date]:
    return [DAY + timedelta(days=i) for i in range(count)]


def parse(svg: str) -> ET.Element:
    """The chart as XML: every test also proves it is well-formed."""
    return ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input


def polylines(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}polyline"))


def points_of(polyline: ET.Element) -> list[tuple[float, float]]:
    pairs = polyline.attrib["points"].split()
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in pairs)]


def texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def test_root_element_identifies_the_chart() -> None:
    svg = small_multiples_svg(
        "Cost per day", {"cost": [(DAY, 1.0), (DAY + timedelta(days=1), 2.0)]}
    )
    root = parse(svg)

    assert root.tag == f"{SVG}svg"
    assert root.attrib["class"] == "trend-chart"
    assert root.attrib["id"] == "trend-chart"
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-label"] == "Cost per day"
    assert "<script" not in svg and "style=" not in svg and "<style" not in svg


def test_one_polyline_per_series_with_one_point_per_day() -> None:
    series = {
        "cost": [(d, float(i)) for i, d in enumerate(days(30))],
        "clicks": [(d, float(i * 3)) for i, d in enumerate(days(30))],
        "roas": [(d, 2.5) for d in days(30)],
    }
    root = parse(small_multiples_svg("Trend", series))

    lines = polylines(root)
    assert len(lines) == 3
    assert [len(points_of(line)) for line in lines] == [30, 30, 30]
    assert {line.attrib["stroke"] for line in lines} == set(PALETTE[:3])  # distinct colours
    assert {"cost", "clicks", "roas"} <= set(texts(root))  # every series is named


def test_points_rise_left_to_right_and_up_the_page() -> None:
    root = parse(
        small_multiples_svg("Up", {"cost": [(d, float(i)) for i, d in enumerate(days(5))]})
    )

    points = points_of(polylines(root)[0])
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert xs == sorted(xs) and len(set(xs)) == 5
    assert ys == sorted(ys, reverse=True)  # larger values are higher up (smaller y)


def test_every_label_is_escaped() -> None:
    series = {HOSTILE: [(DAY, 1.0), (DAY + timedelta(days=1), 2.0)]}
    for svg in (
        small_multiples_svg(HOSTILE, series, y_labels={HOSTILE: HOSTILE}),
        small_multiples_svg(HOSTILE, {HOSTILE: []}),
    ):
        assert "<script>" not in svg
        assert '"x"' not in svg and "'quoted'" not in svg
        root = parse(svg)
        assert root.attrib["aria-label"] == HOSTILE  # escaped, so it reads back unchanged
        assert HOSTILE in texts(root)


def test_none_values_leave_gaps() -> None:
    values = [1.0, 2.0, None, 4.0, 5.0, 6.0, None, None, 9.0, 10.0]
    root = parse(small_multiples_svg("Gaps", {"cost": list(zip(days(10), values, strict=True))}))

    assert [len(points_of(line)) for line in polylines(root)] == [2, 3, 2]


def test_a_lone_value_between_gaps_is_a_dot() -> None:
    values = [1.0, 2.0, None, 4.0, None]
    root = parse(small_multiples_svg("Dot", {"cost": list(zip(days(5), values, strict=True))}))

    assert [len(points_of(line)) for line in polylines(root)] == [2]
    assert len(list(root.iter(f"{SVG}circle"))) == 1


def test_a_single_point_is_drawn() -> None:
    root = parse(small_multiples_svg("One day", {"cost": [(DAY, 12.5)]}))

    assert polylines(root) == []
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 1
    assert DAY.isoformat() in texts(root)  # the x axis names the only day


def test_nan_counts_as_a_gap() -> None:
    values = [1.0, float("nan"), 3.0, 4.0]
    root = parse(small_multiples_svg("NaN", {"cost": list(zip(days(4), values, strict=True))}))

    assert [len(points_of(line)) for line in polylines(root)] == [2]
    assert len(list(root.iter(f"{SVG}circle"))) == 1


def test_empty_data_says_no_data() -> None:
    empty: tuple[dict[str, list[tuple[date, float | None]]], ...] = (
        {},
        {"cost": []},
        {"cost": [(DAY, None), (DAY + timedelta(days=1), None)]},
    )
    for series in empty:
        root = parse(small_multiples_svg("Nothing", series))
        assert polylines(root) == []
        assert "no data" in texts(root)
        assert root.attrib["id"] == "trend-chart"


def test_unsorted_input_is_drawn_in_day_order() -> None:
    shuffled = [(DAY + timedelta(days=2), 3.0), (DAY, 1.0), (DAY + timedelta(days=1), 2.0)]
    root = parse(small_multiples_svg("Shuffled", {"cost": shuffled}))

    xs = [x for x, _ in points_of(polylines(root)[0])]
    assert xs == sorted(xs)


def test_value_ticks_cover_the_data() -> None:
    root = parse(
        small_multiples_svg("Big", {"views": [(DAY, 0.0), (DAY + timedelta(days=1), 1.2e6)]})
    )

    labels = texts(root)
    assert "0" in labels
    assert any(label.endswith("M") and float(label[:-1]) >= 1.2 for label in labels)


def test_negative_and_flat_values_render() -> None:
    for values in ([-5.0, 3.0, 1.0], [0.0, 0.0, 0.0], [7.0, 7.0, 7.0]):
        root = parse(small_multiples_svg("Flat", {"v": list(zip(days(3), values, strict=True))}))
        ys = [y for _, y in points_of(polylines(root)[0])]
        assert all(y == y for y in ys)  # no NaN coordinates


def test_small_multiples_have_a_panel_and_axis_per_series() -> None:
    series: dict[str, list[tuple[date, float | None]]] = {
        "Cost (PLN)": [(d, 100.0 + i) for i, d in enumerate(days(14))],
        "Clicks": [(d, 2000.0 * i) for i, d in enumerate(days(14))],
        "ROAS": [(d, None if i == 5 else 3.2) for i, d in enumerate(days(14))],
    }
    root = parse(small_multiples_svg("Trend", series))

    panels = [g for g in root.iter(f"{SVG}g") if g.attrib.get("class") == "panel"]
    assert [panel.attrib["data-series"] for panel in panels] == list(series)
    assert [len(polylines(panel)) for panel in panels] == [1, 1, 2]  # ROAS has a gap
    y_axes = [g for g in root.iter(f"{SVG}g") if g.attrib.get("class") == "y-axis"]
    assert len(y_axes) == 3  # each metric on its own scale
    clicks_labels = texts(panels[1])
    assert any(label.endswith("k") for label in clicks_labels)
    assert not any(label.endswith("k") for label in texts(panels[2]))
    # Days share one x axis: the same day sits at the same x in every panel.
    first_x = {points_of(polylines(panel)[0])[0][0] for panel in panels}
    assert len(first_x) == 1


def test_small_multiples_mark_an_empty_panel_and_empty_data() -> None:
    root = parse(small_multiples_svg("Trend", {"Cost": [(DAY, 1.0)], "ROAS": [(DAY, None)]}))
    panels = [g for g in root.iter(f"{SVG}g") if g.attrib.get("class") == "panel"]
    assert "no data" not in texts(panels[0])
    assert "no data" in texts(panels[1])

    empty = parse(small_multiples_svg("Trend", {}))
    assert "no data" in texts(empty)
    assert empty.attrib["class"] == "trend-chart"
