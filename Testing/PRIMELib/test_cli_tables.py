"""The console's results tables fit any terminal width: no value is ever cut (``COLUMNS=60`` or 200)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from rich.console import Console
from rich.table import Table

from PRIMELib.cli import print_table

HEADERS = ("endpoint", "modality", "algorithm", "fusion", "metric", "selection-CV*", "nested CV", "test")
ROWS = [
    ("response", "clinical", "rotation_forest", "late", "AUC", "0.812 ± 0.034", "0.701 (0.61–0.79)", "0.654"),
    ("survival", "early", "gbsa", "bma", "C-index", "0.712 ± 0.041", "0.688 (0.60–0.77)", "0.631"),
]


def _printed(width: int) -> list[str]:
    table = Table(title="Training candidates", caption="selection-CV*: optimistic")
    for header in HEADERS:
        table.add_column(header)
    for row in ROWS:
        table.add_row(*row)
    out = io.StringIO()
    print_table(table, Console(file=out, width=width))
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [60, 200])
def test_every_value_is_printed_whole_on_one_line(width: int) -> None:
    lines = _printed(width)
    assert max(len(line) for line in lines) <= width
    for row in ROWS:
        for value in row:
            assert any(value in line for line in lines), (width, value)
    for header in HEADERS:
        assert any(header in line for line in lines), (width, header)


def test_a_wide_terminal_keeps_the_table_and_a_narrow_one_gets_one_block_per_case() -> None:
    wide, narrow = _printed(200), _printed(60)
    assert sum("rotation_forest" in line and "0.812 ± 0.034" in line for line in wide) == 1
    assert any(line.split() == ["algorithm", "rotation_forest"] for line in narrow)


@pytest.mark.parametrize("columns", ["60", "200"])
def test_the_command_line_console_takes_the_width_from_columns(columns: str) -> None:
    code = "from PRIMELib.cli import console; print(console.width)"
    env = {**os.environ, "COLUMNS": columns}
    printed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    assert printed.stdout.strip() == columns
