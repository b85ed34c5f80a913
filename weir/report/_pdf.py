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
ROW_MM = 3.6
CHAR_EM = 0.55  # DejaVu Sans: average glyph width in em, with room for wide digits and capitals
NEW_SECTION_MM = 90  # start a section on a new page unless this much room is left


def pdf(report: Report, images: dict[int, bytes]) -> bytes:
    """`images`: each chart's PNG by id(chart) (drawn by `_charts.render`), the same the HTML embeds."""
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
    """A data table. Clipped tables are a grid of one-line cells (fpdf2's wrapping table lays out
    each cell with multi_cell, ~15x slower); only the summary, whose findings must read whole, wraps."""
    if table.title:
        _heading(doc, table.title, 10)
    if not table.rows:
        _text(doc, "none")
        return
    doc.set_font("DejaVu", "", 6 if len(table.columns) > 5 else 7)
    if clip:
        _grid(doc, table)
    else:
        style = FontFace(emphasis="BOLD", fill_color=(242, 242, 242))
        with doc.table(headings_style=style, line_height=3.2, col_widths=widths, text_align="LEFT") as grid:
            grid.row([str(c) for c in table.columns])
            for row in table.rows[:MAX_ROWS]:
                grid.row([fmt(v) for v in row])
    if len(table.rows) > MAX_ROWS:
        _text(doc, f"… {len(table.rows) - MAX_ROWS} more rows in report.html")
    doc.ln(2)


def _grid(doc: FPDF, table: Table) -> None:
    """One-line cells, column widths by content length; a cell too long for its column is cut
    with "…" (the HTML holds it whole)."""
    cells = [[fmt(v)[:CELL_CHARS] for v in row] for row in table.rows[:MAX_ROWS]]
    longest = [min(CELL_CHARS, max(len(c), *(len(r[i]) for r in cells)) + 1) for i, c in enumerate(table.columns)]
    widths = [doc.epw * n / sum(longest) for n in longest]
    char_mm = doc.font_size * CHAR_EM  # font_size is in mm (user units)
    fits = [max(1, int(w / char_mm)) for w in widths]
    doc.set_fill_color(242, 242, 242)
    doc.set_font(style="B")
    for text, width, room in zip(table.columns, widths, fits, strict=True):
        doc.cell(width, ROW_MM, _cut(str(text), room), border=1, fill=True)
    doc.ln(ROW_MM)
    doc.set_font(style="")
    for row in cells:
        for text, width, room in zip(row, widths, fits, strict=True):
            doc.cell(width, ROW_MM, _cut(text, room), border=1)
        doc.ln(ROW_MM)


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"
