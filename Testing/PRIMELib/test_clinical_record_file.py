"""A clinical record file that is not what it should be is one named error, never a traceback."""

from __future__ import annotations

import pytest

from PRIMELib.errors import PRIMEInputError
from PRIMELib.pipeline import load_clinical_record


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes('{"sex": "féminin"}'.encode("latin-1")), "is not UTF-8 text"),
        (lambda p: p.mkdir(), "is not a file"),
        (lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "nests too deeply"),
        (lambda p: p.write_text('{"age": 58,'), r"is not valid JSON \(line 1"),
        (lambda p: p.write_text("[58]"), "holds a list, not an object"),
        (lambda p: p.write_text(" " * (2 * 1024 * 1024)), "too large for a clinical record"),
        (lambda p: None, "does not exist"),
        (lambda p: p.write_text('{"alb": 38.5, "alb": 3.8}'), r"gives 'alb' twice \(38.5 and 3.8\)"),
    ],
)
def test_bad_record_files_are_named_errors(tmp_path, make, message):
    path = tmp_path / "clinical.json"
    make(path)
    with pytest.raises(PRIMEInputError, match=message) as raised:
        load_clinical_record(path)
    assert raised.value.field == "clinical" and "clinical.json" in str(raised.value)


def test_utf8_with_a_byte_order_mark_reads(tmp_path):
    path = tmp_path / "clinical.json"
    path.write_bytes('{"sex": "female", "age": 58}'.encode("utf-8-sig"))
    assert load_clinical_record(path) == {"sex": "female", "age": 58}


@pytest.mark.parametrize("clinical", [None, [58, 38.5], 3.5, b"{}"])
def test_score_case_given_no_record_says_what_it_takes(clinical):
    import numpy as np

    from PRIMELib.pipeline import score_case

    for value in (clinical, np.zeros(3)):
        with pytest.raises(PRIMEInputError, match="dict of clinical values, or the path") as raised:
            score_case("a.nrrd", "v.nrrd", "m.nrrd", clinical=value)
        assert raised.value.field == "clinical"
