"""The report document builder: escaped text, exact tables, embedded images, HTML and PDF."""

from __future__ import annotations

import base64
import io
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image
from pypdf import PdfReader

from PRIMELib.errors import PRIMEInputError
from PRIMELib.reports import Document, format_cell

SCRIPT = "<script>alert('x')</script>"


class Page(HTMLParser):
    """Tags, text, tables (as lists of rows of cell texts) and image sources of an HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


@pytest.fixture
def png(tmp_path) -> Path:
    figure = Figure(figsize=(4, 2.5))
    figure.subplots().plot([0, 1, 2], [1.0, 0.6, 0.4])
    path = tmp_path / "curve.png"
    figure.savefig(path, format="png", dpi=100)
    return path


def test_cells_are_formatted_as_documented():
    assert [format_cell(v) for v in (None, math.nan, True, False, 3, 1250.0, 0.123456, -2.5e-7, "x")] == [
        "–",
        "–",
        "yes",
        "no",
        "3",
        "1250",
        "0.1235",
        "-2.5e-07",
        "x",
    ]
    assert format_cell(np.float64(0.5)) == "0.5" and format_cell(np.int64(7)) == "7"


def test_html_escapes_text_and_cells_and_keeps_tables_exact(tmp_path):
    doc = Document(f"Title {SCRIPT}", subtitle="A & B")
    doc.heading(f"Section {SCRIPT}")
    doc.paragraph(f"line one {SCRIPT}\nline two", style="warning")
    doc.table(
        [{"name": SCRIPT, "value": 1.5}, {"name": "b", "other": None}],
        caption=f"caption {SCRIPT}",
    )
    doc.table(pd.DataFrame({"x": [0.25, 2.0]}, index=pd.Index(["r1", "r2"], name="row")))
    doc.table(pd.DataFrame({"y": [1, 2]}))  # a default index is not shown
    page = Page(doc.write_html(tmp_path / "doc.html").read_text(encoding="utf-8"))
    assert "script" not in page.tags  # shown, never run
    assert page.all_text.count(SCRIPT) == 6  # <title>, h1, heading, paragraph, caption, cell
    assert page.all_text.count("A & B") == 1
    assert page.tables[0][0] == ["name", "value", "other"]  # keys in first-seen order
    assert page.tables[0][1:] == [[SCRIPT, "1.5", "–"], ["b", "–", "–"]]
    assert page.tables[1] == [["row", "x"], ["r1", "0.25"], ["r2", "2"]]
    assert page.tables[2] == [["y"], ["1"], ["2"]]
    assert page.tags.count("br") == 1  # the paragraph's line break is kept


def test_figures_are_embedded_byte_for_byte_and_decode_as_png(tmp_path, png):
    doc = Document("Figures").figure(png, caption="a curve")
    html_path = doc.write_html(tmp_path / "doc.html")
    png.unlink()  # read when added: the document no longer needs the file
    page = Page(html_path.read_text(encoding="utf-8"))
    assert len(page.images) == 1 and page.images[0].startswith("data:image/png;base64,")
    data = base64.b64decode(page.images[0].split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
        assert image.format == "PNG" and image.size == (400, 250)
    assert "a curve" in page.all_text
    # The PDF holds the same picture.
    doc.write_pdf(tmp_path / "doc.pdf")
    images = PdfReader(tmp_path / "doc.pdf").pages[0].images
    assert len(images) == 1 and images[0].image.size == (400, 250)


def test_pdf_holds_the_text_with_unicode_and_markup_characters_verbatim(tmp_path, png):
    doc = Document("Report ≤ Δ", subtitle="10⁹/L and −2.6")
    doc.paragraph(f"Beware {SCRIPT} & <b>not bold</b>", style="note")
    doc.table([{"feature": "ΔMON", "value": 0.4213}, {"feature": "albumin", "value": 38.5}], caption="Inputs")
    doc.figure(png)
    path = doc.write_pdf(tmp_path / "doc.pdf")
    assert path.read_bytes().startswith(b"%PDF-")
    text = pdf_text(path)
    for expected in ("Report ≤ Δ", "10⁹/L and −2.6", SCRIPT, "<b>not bold</b>", "ΔMON", "0.4213", "38.5"):
        assert expected in text, expected
    assert "Generated by PRIMELib" in text


def test_empty_tables_say_so(tmp_path):
    doc = Document("Empty").table([], caption="Subgroups").table(pd.DataFrame(columns=["a", "b"]))
    page = Page(doc.write_html(tmp_path / "e.html").read_text())
    assert "Subgroups No data." in page.all_text and page.tables == [[["a", "b"]]]
    assert "Subgroups No data. a b" in pdf_text(doc.write_pdf(tmp_path / "e.pdf"))


def test_long_tables_continue_on_the_next_page_with_their_header(tmp_path):
    rows = [{"feature": f"feature_{i:03d}", "value": i / 7} for i in range(120)]
    path = Document("Long").table(rows).write_pdf(tmp_path / "long.pdf")
    pages = [page.extract_text() for page in PdfReader(path).pages]
    assert len(pages) >= 2
    assert all("feature value" in " ".join(p.split()) for p in pages)  # the header repeats
    text = " ".join(pages)
    assert all(f"feature_{i:03d}" in text for i in range(120))
    assert f"{119 / 7:.4g}" in text


def test_bad_input_is_refused_naming_the_field(tmp_path):
    doc = Document("x")
    with pytest.raises(PRIMEInputError, match="Unknown paragraph style 'loud'") as error:
        doc.paragraph("text", style="loud")
    assert error.value.field == "style"
    with pytest.raises(PRIMEInputError, match="Heading level 7") as error:
        doc.heading("text", level=7)
    with pytest.raises(PRIMEInputError, match="cannot be made from a str"):
        doc.table("a,b\n1,2")
    not_png = tmp_path / "figure.png"
    not_png.write_bytes(b"GIF89a")
    with pytest.raises(PRIMEInputError, match=r"'figure\.png' is not a PNG image") as error:
        doc.figure(not_png)
    assert error.value.field == "figure"
    with pytest.raises(PRIMEInputError, match="could not be read"):
        doc.figure(tmp_path / "missing.png")
    assert doc.blocks == []


def test_a_failed_write_leaves_no_file_behind(tmp_path, monkeypatch):
    import PRIMELib.reports._pdf as pdf

    def half_then_fail(document, path):
        Path(path).write_bytes(b"%PDF-1.4 half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(pdf, "build_pdf", half_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        Document("x").write_pdf(tmp_path / "doc.pdf")
    assert list(tmp_path.iterdir()) == []
