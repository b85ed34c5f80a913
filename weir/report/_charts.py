"""Charts with matplotlib, each drawn once to a static PNG that both the HTML (as a data URI)
and the PDF embed; no network, no JavaScript."""

import io

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from weir.report._model import Chart

WIDTH, HEIGHT = 7.5, 3.2  # inches: fits an A4 page's text width
MAX_TICKS = 16


def render(chart: Chart) -> bytes:
    """The chart as PNG bytes; an empty chart says so instead of drawing nothing.

    A bare Figure (no pyplot): no global figure registry to close, and safe off the main thread.
    Fixed margins, not a layout engine: the constrained layout measured every label's box before
    drawing and cost as much as the drawing itself (1.2 of the charts' 2.9 s in a 10M-event report)."""
    figure = _draw(chart)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()


def _axes(width: float, height: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width, height))
    # Room for the title, the y label and x labels rotated 30 degrees (at most MAX_TICKS, 7 pt).
    figure.subplots_adjust(left=0.09, right=0.98, top=0.89, bottom=0.3)
    return figure, figure.add_subplot()


def _draw(chart: Chart) -> Figure:
    if chart.kind == "graph":
        return _graph(chart)
    figure, axes = _axes(WIDTH, HEIGHT)
    axes.set_title(chart.title, fontsize=10)
    if not chart.x:
        axes.text(0.5, 0.5, "no data in the period", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return figure
    positions = range(len(chart.x))
    width = 0.8 / max(len(chart.series), 1)
    for index, (name, values) in enumerate(chart.series.items()):
        if chart.kind == "line":
            axes.plot(list(positions), values, marker="o", label=name)
        else:
            axes.bar([p + index * width for p in positions], values, width=width, label=name)
    step = max(1, len(chart.x) // MAX_TICKS)  # label every step-th bar so labels never overlap
    shown = list(positions)[::step]
    axes.set_xticks(shown, [chart.x[i] for i in shown], rotation=30 if len(shown) > 4 else 0, ha="right", fontsize=7)
    axes.set_ylabel(chart.y_label, fontsize=8)
    axes.legend(fontsize=7, loc="best")
    return figure


def _graph(chart: Chart) -> Figure:
    """Layered left-to-right drawing: one column per layer, nodes spread evenly in it."""
    columns: dict[int, list[str]] = {}
    for name, layer in sorted(chart.layers.items(), key=lambda kv: (kv[1], kv[0])):
        columns.setdefault(layer, []).append(name)
    tallest = max((len(v) for v in columns.values()), default=1)
    figure, axes = _axes(WIDTH * 1.4, max(3.0, 0.22 * tallest))
    figure.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.01)  # no axes: names only
    place = {n: (layer, 1 - (i + 0.5) / len(names)) for layer, names in columns.items() for i, n in enumerate(names)}
    for start, end in chart.edges:
        if start in place and end in place:
            (x0, y0), (x1, y1) = place[start], place[end]
            axes.plot([x0, x1], [y0, y1], color="#9aa", linewidth=0.5, zorder=1)
    for name, (x, y) in place.items():
        axes.text(
            x,
            y,
            name,
            fontsize=5,
            ha="center",
            va="center",
            zorder=2,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "#eef", "edgecolor": "#669", "linewidth": 0.4},
        )
    axes.set_xlim(-0.6, max(columns, default=0) + 0.6)
    axes.set_ylim(0, 1)
    axes.set_axis_off()
    axes.set_title(chart.title, fontsize=10)
    return figure
