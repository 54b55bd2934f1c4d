"""A small report document: headings, paragraphs, tables and figures, written as HTML and as PDF.

Reports are built once and written in two forms::

    doc = Document("PRIME patient report", subtitle="Case PRIME-DEMO-001")
    doc.paragraph("Research use only — not for clinical decisions.", style="warning")
    doc.heading("Predictions")
    doc.table([{"endpoint": "PRIME-R", "value": 0.62}], caption="Both endpoints")
    doc.figure("survival.png", caption="Predicted overall survival")
    doc.write_html("report.html")  # one self-contained file: images embedded as base64
    doc.write_pdf("report.pdf")  # reportlab platypus, A4

All text is treated as plain text (HTML-escaped, and escaped for reportlab's paragraph markup), so a
value such as ``<script>`` is shown, never run. Both files are written atomically.

Table cells are shown as text: ``None`` and NaN as "–", booleans as yes/no, other floats with four
significant digits; callers wanting another format pass strings.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from PRIMELib import __version__
from PRIMELib.errors import PRIMEInputError
from PRIMELib.io import write_atomically

__all__ = ["PARAGRAPH_STYLES", "Document", "format_cell"]

PARAGRAPH_STYLES = ("normal", "note", "warning")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EMPTY_TABLE = "No data."


def format_cell(value: object) -> str:
    """A table cell's text (see the module docstring)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if value.is_integer() and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


@dataclass(frozen=True)
class _Heading:
    text: str
    level: int


@dataclass(frozen=True)
class _Paragraph:
    text: str
    style: str


@dataclass(frozen=True)
class _Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str | None


@dataclass(frozen=True)
class _Figure:
    png: bytes
    caption: str | None


class Document:
    """An ordered list of blocks, written with :meth:`write_html` and :meth:`write_pdf`."""

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        self.title = str(title)
        self.subtitle = None if subtitle is None else str(subtitle)
        self.blocks: list[_Heading | _Paragraph | _Table | _Figure] = []

    # -- building ---------------------------------------------------------------------------------

    def heading(self, text: str, level: int = 2) -> Document:
        """A section heading; level 2 is a section, 3 a subsection (1 is the title's)."""
        if not isinstance(level, int) or not 1 <= level <= 4:
            raise PRIMEInputError(
                f"Heading level {level!r} is not supported.", field="level", value=level, expected="1 to 4"
            )
        self.blocks.append(_Heading(str(text), level))
        return self

    def paragraph(self, text: str, style: str = "normal") -> Document:
        """A paragraph of plain text; ``"note"`` is small print, ``"warning"`` a framed alert."""
        if style not in PARAGRAPH_STYLES:
            raise PRIMEInputError(
                f"Unknown paragraph style {style!r}.",
                field="style",
                value=style,
                expected=" or ".join(PARAGRAPH_STYLES),
            )
        self.blocks.append(_Paragraph(str(text), style))
        return self

    def table(self, rows: list[dict] | pd.DataFrame, caption: str | None = None) -> Document:
        """A table from a list of dicts (columns: keys in first-seen order) or a DataFrame.

        A DataFrame's index is shown as the first column unless it is the default 0..n-1 range; a table
        without columns is shown as "No data.".
        """
        if isinstance(rows, pd.DataFrame):
            frame = rows
            if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
                frame = frame.reset_index()
            columns = [str(c) for c in frame.columns]
            records = [list(r) for r in frame.itertuples(index=False, name=None)]
        elif isinstance(rows, list | tuple) and all(isinstance(r, dict) for r in rows):
            keys: dict[object, None] = {}
            for row in rows:
                keys.update(dict.fromkeys(row))
            columns = [str(k) for k in keys]
            records = [[row.get(k) for k in keys] for row in rows]
        else:
            raise PRIMEInputError(
                f"A report table cannot be made from a {type(rows).__name__}.",
                field="rows",
                expected="a list of dicts or a pandas DataFrame",
            )
        cells = [[format_cell(v) for v in record] for record in records]
        self.blocks.append(_Table(columns, cells, None if caption is None else str(caption)))
        return self

    def figure(self, png_path: str | Path, caption: str | None = None) -> Document:
        """A PNG image, read now (the file may be removed afterwards)."""
        path = Path(png_path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise PRIMEInputError(
                f"The figure '{path}' could not be read ({error.strerror or error}).",
                field="figure",
                value=str(path),
                expected="an existing PNG file",
            ) from error
        if not data.startswith(PNG_SIGNATURE):
            raise PRIMEInputError(
                f"The figure '{path.name}' is not a PNG image.",
                field="figure",
                value=str(path),
                expected="a PNG file (save matplotlib figures with format='png')",
            )
        self.blocks.append(_Figure(data, None if caption is None else str(caption)))
        return self

    # -- writing ----------------------------------------------------------------------------------

    def to_html(self) -> str:
        """The whole document as one HTML page (images embedded)."""
        e = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="PRIMELib {e(__version__)}">',
            f"<title>{e(self.title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            "<header>",
            f"<h1>{e(self.title)}</h1>",
        ]
        if self.subtitle:
            parts.append(f'<p class="subtitle">{e(self.subtitle)}</p>')
        parts.append("</header>")
        parts.append("<main>")
        for block in self.blocks:
            if isinstance(block, _Heading):
                parts.append(f"<h{block.level}>{e(block.text)}</h{block.level}>")
            elif isinstance(block, _Paragraph):
                parts.append(f'<p class="{block.style}">{_html_lines(block.text)}</p>')
            elif isinstance(block, _Table) and not block.columns:
                if block.caption:
                    parts.append(f'<p class="caption">{e(block.caption)}</p>')
                parts.append(f'<p class="note">{EMPTY_TABLE}</p>')
            elif isinstance(block, _Table):
                parts.append("<table>")
                if block.caption:
                    parts.append(f"<caption>{e(block.caption)}</caption>")
                parts.append(
                    "<thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in block.columns) + "</tr></thead>"
                )
                parts.append("<tbody>")
                for row in block.rows:
                    parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
                parts.append("</tbody></table>")
            else:
                encoded = base64.b64encode(block.png).decode("ascii")
                alt = e(block.caption or "figure")
                parts.append("<figure>")
                parts.append(f'<img src="data:image/png;base64,{encoded}" alt="{alt}">')
                if block.caption:
                    parts.append(f"<figcaption>{e(block.caption)}</figcaption>")
                parts.append("</figure>")
        parts += [
            "</main>",
            f"<footer>{e(_footer())}</footer>",
            "</body>",
            "</html>",
            "",
        ]
        return "\n".join(parts)

    def write_html(self, path: str | Path) -> Path:
        """Write the document as one self-contained HTML file (atomically); returns its path."""
        text = self.to_html()
        return write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    def write_pdf(self, path: str | Path) -> Path:
        """Write the document as an A4 PDF (atomically); returns its path."""
        from PRIMELib.reports._pdf import build_pdf

        return write_atomically(path, lambda tmp: build_pdf(self, tmp))


def _html_lines(text: str) -> str:
    """Escaped text with its line breaks kept."""
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def _footer() -> str:
    return f"Generated by PRIMELib {__version__} on {dt.date.today().isoformat()}."


def png_size(data: bytes) -> tuple[int, int, float | None]:
    """(width px, height px, dots per inch or None) of a PNG."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        dpi = image.info.get("dpi")
        return image.width, image.height, float(dpi[0]) if dpi else None


# Print-friendly: black on white, no web fonts, figures and table rows never split across pages.
_CSS = """
body { font-family: "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; color: #111; background: #fff;
  max-width: 60em; margin: 1.5em auto; padding: 0 1em; line-height: 1.4; font-size: 11pt; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #999; padding-bottom: 0.1em; margin-top: 1.4em; }
h3 { font-size: 1.05em; margin-top: 1.1em; }
.subtitle { color: #444; margin-top: 0; }
p.note { font-size: 0.9em; color: #444; }
p.warning { border: 2px solid #b00020; background: #fdecee; color: #6d0012; font-weight: bold;
  padding: 0.5em 0.8em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
caption, p.caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #333; }
footer { margin-top: 2em; font-size: 0.8em; color: #555; border-top: 1px solid #ccc; padding-top: 0.4em; }
@page { size: A4; margin: 15mm; }
@media print { body { max-width: none; margin: 0; font-size: 10pt; }
  figure, tr, p.warning { page-break-inside: avoid; } h2, h3 { page-break-after: avoid; } }
""".strip()
