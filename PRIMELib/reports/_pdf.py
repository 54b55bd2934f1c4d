"""PDF rendering of a :class:`PRIMELib.reports.document.Document` with reportlab's platypus."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from PRIMELib.reports.document import Document

#: Fonts: reportlab's built-in Helvetica has no glyphs for ≤, ⁹, Δ or −, which units and feature
#: names use; DejaVu Sans (shipped with matplotlib, a dependency) has them all.
FONT, BOLD, ITALIC = "PRIME-DejaVuSans", "PRIME-DejaVuSans-Bold", "PRIME-DejaVuSans-Oblique"


@functools.cache
def _register_fonts() -> None:
    import matplotlib
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in (
        (FONT, "DejaVuSans.ttf"),
        (BOLD, "DejaVuSans-Bold.ttf"),
        (ITALIC, "DejaVuSans-Oblique.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, BOLD)
    addMapping(FONT, 0, 1, ITALIC)
    addMapping(FONT, 1, 1, BOLD)


def _styles() -> dict:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, spaceAfter=5)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=17, leading=21, spaceAfter=2),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=10.5, textColor=colors.HexColor("#444444")
        ),
        1: ParagraphStyle(
            "h1", parent=base, fontName=BOLD, fontSize=15, leading=19, spaceBefore=10, keepWithNext=1
        ),
        2: ParagraphStyle(
            "h2", parent=base, fontName=BOLD, fontSize=12.5, leading=16, spaceBefore=10, keepWithNext=1
        ),
        3: ParagraphStyle(
            "h3", parent=base, fontName=BOLD, fontSize=10.5, leading=14, spaceBefore=7, keepWithNext=1
        ),
        4: ParagraphStyle(
            "h4", parent=base, fontName=ITALIC, fontSize=10, leading=13, spaceBefore=5, keepWithNext=1
        ),
        "normal": base,
        "note": ParagraphStyle(
            "note", parent=base, fontSize=8.5, leading=11, textColor=colors.HexColor("#444444")
        ),
        "warning": ParagraphStyle(
            "warning",
            parent=base,
            fontName=BOLD,
            textColor=colors.HexColor("#6d0012"),
            backColor=colors.HexColor("#fdecee"),
            borderColor=colors.HexColor("#b00020"),
            borderWidth=1.5,
            borderPadding=5,
            spaceBefore=9,
            spaceAfter=13,
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10, spaceAfter=0),
        "header": ParagraphStyle("header", parent=base, fontName=BOLD, fontSize=8, leading=10, spaceAfter=0),
        "caption": ParagraphStyle(
            "caption", parent=base, fontName=BOLD, fontSize=9, spaceBefore=4, keepWithNext=1
        ),
        "figcaption": ParagraphStyle(
            "figcaption", parent=base, fontSize=8.5, textColor=colors.HexColor("#333333")
        ),
    }


def _text(text: str) -> str:
    """Plain text as reportlab paragraph markup: escaped, line breaks kept."""
    return "<br/>".join(escape(line) for line in text.split("\n"))


def _column_widths(columns: list[str], rows: list[list[str]], available: float) -> list[float]:
    """Widths in proportion to each column's longest text (capped), never narrower than its longest
    word, so short columns stay narrow and no word is broken."""
    weights = []
    for j, column in enumerate(columns):
        texts = [column, *(row[j] for row in rows)]
        longest = max(len(t) for t in texts)
        longest_word = max((len(w) for t in texts for w in t.split()), default=0)
        weights.append(max(min(longest, 45), longest_word + 1, 4) + 2)
    total = sum(weights)
    return [available * w / total for w in weights]


def build_pdf(document: Document, path: Path) -> None:
    """Render ``document`` into the PDF file ``path``."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    from PRIMELib.reports.document import EMPTY_TABLE, _Figure, _footer, _Heading, _Paragraph, png_size

    _register_fonts()
    styles = _styles()
    template = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=15 * mm,
        bottomMargin=17 * mm,
        title=document.title,
        subject=document.subtitle or "",
        author="PRIMELib",
        creator="PRIMELib",
    )
    width = template.width
    story: list = [Paragraph(_text(document.title), styles["title"])]
    if document.subtitle:
        story.append(Paragraph(_text(document.subtitle), styles["subtitle"]))
    story.append(Spacer(1, 4))
    for block in document.blocks:
        if isinstance(block, _Heading):
            story.append(Paragraph(_text(block.text), styles[block.level]))
        elif isinstance(block, _Paragraph):
            story.append(Paragraph(_text(block.text), styles[block.style]))
        elif isinstance(block, _Figure):
            pixels_w, pixels_h, dpi = png_size(block.png)
            # Natural size at the image's own resolution, shrunk to fit the page (never enlarged).
            natural_w = pixels_w * 72.0 / (dpi or 150.0)
            scale = min(1.0, width / natural_w, (template.height * 0.55) / (pixels_h * natural_w / pixels_w))
            image = Image(
                io.BytesIO(block.png), width=natural_w * scale, height=natural_w * scale * pixels_h / pixels_w
            )
            image.hAlign = "LEFT"
            story.append(image)
            if block.caption:
                # Flags, not a KeepTogether: reportlab chains keepWithNext (heading → image → caption)
                # only through plain flowables.
                image.keepWithNext = 1
                story.append(Paragraph(_text(block.caption), styles["figcaption"]))
        elif not block.columns:
            if block.caption:
                story.append(Paragraph(_text(block.caption), styles["caption"]))
            story.append(Paragraph(EMPTY_TABLE, styles["note"]))
        else:
            data = [[Paragraph(_text(c), styles["header"]) for c in block.columns]]
            data += [[Paragraph(_text(c), styles["cell"]) for c in row] for row in block.rows]
            table = Table(
                data, colWidths=_column_widths(block.columns, block.rows, width), repeatRows=1, hAlign="LEFT"
            )
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("TOPPADDING", (0, 0), (-1, -1), 2),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                    ]
                )
            )
            if block.caption:
                story.append(Paragraph(_text(block.caption), styles["caption"]))
            story.append(table)
            story.append(Spacer(1, 6))
    footer = _footer()

    def on_page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(doc.leftMargin, 9 * mm, footer)
        canvas.drawRightString(doc.leftMargin + doc.width, 9 * mm, f"page {doc.page}")
        canvas.restoreState()

    template.build(story, onFirstPage=on_page, onLaterPages=on_page)
