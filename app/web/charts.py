"""Server-rendered SVG charts: the geometry is computed here, the markup in the templates
(`officers/_charts.html`). Each chart ships with an equivalent data table for screen readers."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    css: str  # a class of vigie.css (colour), the label says the meaning too
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class HorizontalBars:
    width: int
    height: int
    label_width: int
    bars: list[Bar]


def horizontal_bars(
    items: list[tuple[str, int, str]], *, width: int = 560, row: int = 34, label_width: int = 150
) -> HorizontalBars:
    """One bar per (label, value, css class), scaled on the largest value."""
    top = max((value for _, value, _ in items), default=0) or 1
    span = width - label_width - 50  # room for the value after the bar
    bars = [
        Bar(
            label,
            value,
            css,
            x=label_width,
            y=i * row + 6,
            width=round(span * value / top, 1),
            height=row - 12,
        )
        for i, (label, value, css) in enumerate(items)
    ]
    return HorizontalBars(width, row * len(items) + 4, label_width, bars)


@dataclass(frozen=True)
class Column:
    label: str
    values: list[tuple[int, str, float, float, float]]  # (value, css, x, y, height)
    label_x: float


@dataclass(frozen=True)
class GroupedColumns:
    width: int
    height: int
    baseline: float
    columns: list[Column]
    series: list[tuple[str, str]]  # (name, css)
    top: int


def grouped_columns(
    groups: list[tuple[str, list[int]]],
    series: list[tuple[str, str]],
    *,
    width: int = 640,
    height: int = 220,
    axis: int = 24,
) -> GroupedColumns:
    """Columns side by side per group (a month), one per series, scaled on the largest value."""
    top = max((v for _, values in groups for v in values), default=0) or 1
    plot = height - axis - 18  # room for the value above the tallest column
    step = width / max(len(groups), 1)
    bar = min(18.0, (step - 8) / max(len(series), 1))
    columns = []
    for i, (label, values) in enumerate(groups):
        start = i * step + (step - bar * len(values)) / 2
        placed = []
        for j, value in enumerate(values):
            h = round(plot * value / top, 1)
            placed.append((value, series[j][1], round(start + j * bar, 1), height - axis - h, h))
        columns.append(Column(label, placed, label_x=round(i * step + step / 2, 1)))
    return GroupedColumns(width, height, height - axis, columns, series, top)
