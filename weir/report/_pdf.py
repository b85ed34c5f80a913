"""The same report as PDF with fpdf2 (pure Python) and matplotlib's bundled DejaVu font (ρ, ε, →)."""

import io
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from weir.report._html import fmt
from weir.report._model import Report, Section, Table

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
COLOURS = {"ok": (23, 97, 23), "attention": (138, 90, 0), "failed": (170, 17, 17)}
MAX_ROWS = 150  # per table in the PDF; the HTML holds every row
CELL_CHARS = 90  # a longer cell (a record's free-text note) is cut in the PDF, whole in the HTML
NEW_SECTION_MM = 90  # start a section on a new page unless this much room is left


def pdf(report: Report, images: dict[int, bytes]) -> bytes:
    """`images`: each chart's PNG by id(chart) (`_charts.pictures`), the same the HTML embeds."""
    doc = FPDF(format="A4")
    doc.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    doc.set_auto_page_break(True, margin=12)
    doc.add_page()
    _heading(doc, "Weir audit report", 16)
    _text(doc, f"Period {report.period} · generated {report.generated_at:%Y-%m-%d %H:%M} UTC · overall {report.status}")
    _table(doc, Table("", ("identity", "value"), report.identity))
    summary = [(s.title, s.status, s.summary) for s in [report.chain, *report.sections]]
    _table(doc, Table("Summary", ("section", "status", "finding"), summary), widths=(3, 1, 6), clip=False)
    _section(doc, report.chain, images)
    for section in report.sections:
        if doc.will_page_break(NEW_SECTION_MM):
            doc.add_page()
        else:
            doc.ln(6)
        _section(doc, section, images)
    return bytes(doc.output())


def _heading(doc: FPDF, text: str, size: int) -> None:
    doc.set_font("DejaVu", "B", size)
    doc.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    doc.ln(1)


def _text(doc: FPDF, text: str, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
    doc.set_font("DejaVu", "", 9)
    doc.set_text_color(*colour)
    doc.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")
    doc.set_text_color(0, 0, 0)
    doc.ln(1)


def _section(doc: FPDF, section: Section, images: dict[int, bytes]) -> None:
    _heading(doc, f"{section.title} — {section.status}", 13)
    _text(doc, section.summary, COLOURS[section.status])
    for chart in section.charts:
        doc.image(io.BytesIO(images[id(chart)]), w=doc.epw)
        doc.ln(2)
    for table in section.tables:
        _table(doc, table)


def _table(doc: FPDF, table: Table, widths: tuple[int, ...] | None = None, clip: bool = True) -> None:
    if table.title:
        _heading(doc, table.title, 10)
    if not table.rows:
        _text(doc, "none")
        return
    doc.set_font("DejaVu", "", 6 if len(table.columns) > 5 else 7)
    style = FontFace(emphasis="BOLD", fill_color=(242, 242, 242))
    with doc.table(headings_style=style, line_height=3.2, col_widths=widths, text_align="LEFT") as grid:
        grid.row([str(c) for c in table.columns])
        for row in table.rows[:MAX_ROWS]:
            grid.row([fmt(v)[:CELL_CHARS] if clip else fmt(v) for v in row])
    if len(table.rows) > MAX_ROWS:
        _text(doc, f"… {len(table.rows) - MAX_ROWS} more rows in report.html")
    doc.ln(2)
