"""One self-contained HTML file: inline CSS, charts as data-URI PNG images, no external reference."""

import base64
from html import escape

from weir.report._model import Report, Section, Table

CSS = """
body { font: 14px/1.4 sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1.2em; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } .ok { color: #176117; } .attention { color: #8a5a00; } .failed { color: #a11; }
td.status { font-weight: bold; } img { max-width: 100%; }
"""


def fmt(value: object) -> str:
    """One cell as text: the same in the HTML, the PDF and the tests."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(fmt(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    empty = "" if table.rows else "<p><em>none</em></p>"
    title = f"<h3>{escape(table.title)}</h3>" if table.title else ""
    return f"{title}{empty}<table><tr>{head}</tr>{body}</table>" if table.rows else f"{title}{empty}"


def _section(section: Section, images: dict[int, bytes]) -> str:
    parts = [
        f'<h2 id="{section.key}">{escape(section.title)} — <span class="{section.status}">{section.status}</span></h2>',
        f"<p>{escape(section.summary)}</p>",
    ]
    for chart in section.charts:
        data = base64.b64encode(images[id(chart)]).decode()
        parts.append(f'<img alt="{escape(chart.title)}" src="data:image/png;base64,{data}">')
    parts += [_table(t) for t in section.tables]
    return "\n".join(parts)


def html(report: Report, images: dict[int, bytes]) -> str:
    """`images`: each chart's PNG by id(chart) (drawn by `_charts.render`)."""
    summary = "".join(
        f'<tr><td><a href="#{s.key}">{escape(s.title)}</a></td><td class="status {s.status}">{s.status}</td>'
        f"<td>{escape(s.summary)}</td></tr>"
        for s in [report.chain, *report.sections]
    )
    identity = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in report.identity)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Weir audit report {report.period}</title>'
        f"<style>{CSS}</style></head><body><h1>Weir audit report</h1>"
        f"<p>Period {escape(str(report.period))} · generated {report.generated_at:%Y-%m-%d %H:%M} UTC · overall "
        f'<strong class="{report.status}">{report.status}</strong></p>'
        f"<table>{identity}</table><h2>Summary</h2><table><tr><th>section</th><th>status</th><th>finding</th></tr>"
        f"{summary}</table>{_section(report.chain, images)}"
        + "".join(_section(s, images) for s in report.sections)
        + "</body></html>"
    )
