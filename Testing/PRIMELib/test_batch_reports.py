"""Per-case patient reports in a score-mode batch: written for each case, failure-isolated, resumable."""

from __future__ import annotations

import pandas as pd
import pytest
from test_batch import _manifest, cohort  # noqa: F401  (cohort is a fixture used by name)
from test_reports_document import Page, pdf_text

from PRIMELib.batch import BatchSettings, run_batch
from PRIMELib.batch.runner import report_paths
from PRIMELib.cli import main
from PRIMELib.errors import PRIMEInputError

SCORE = BatchSettings(mode="score", params="prime_quick")
REPORTS = BatchSettings(mode="score", params="prime_quick", reports=True)


@pytest.fixture
def two_cases(cohort, tmp_path):  # noqa: F811
    """The first two synthetic patients with their clinical values, scored with the default model (the
    demonstration bundle: it needs only the quick shape and first-order features)."""
    folder, manifest, clinical = cohort
    rows = manifest.merge(clinical.drop(columns=["centre"]), on="case_id").head(2).to_dict("records")
    for row in rows:
        for column in ("arterial", "venous", "mask"):
            row[column] = str(folder / row[column])
    return _manifest(tmp_path, rows), [row["case_id"] for row in rows]


def _stamps(out) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "cases").glob("*.json")}


def test_reports_are_written_for_every_case_and_resume_without_recomputing(two_cases, tmp_path):
    manifest, ids = two_cases
    out = tmp_path / "out"
    first = run_batch(manifest, out, settings=SCORE)
    assert (first.succeeded, first.failed) == (2, 0) and not (out / "reports").exists()
    computed = _stamps(out)
    assert len(computed) == 2

    # Asking for reports later writes them from the finished cases: nothing is recomputed.
    blocked = report_paths(out, ids[1])["html"]
    blocked.mkdir(parents=True)  # a folder where the report file should go: that report fails
    second = run_batch(manifest, out, settings=REPORTS)
    assert (second.succeeded, second.skipped, second.failed) == (0, 1, 1)
    assert _stamps(out) == computed
    (failure,) = second.failures
    assert failure["case_id"] == ids[1] and failure["stage"] == "report"
    results = pd.read_csv(out / "results.csv").set_index("case_id")
    assert sorted(results.index) == sorted(ids)  # it was scored: its row stays
    assert pd.read_csv(out / "failures.csv").to_dict("records")[0]["stage"] == "report"
    assert f"{ids[1]}: FAILED at report" in (out / "run.log").read_text()
    assert not list(out.rglob(".partial-*"))

    # Fixed, the rerun writes the missing report only.
    blocked.rmdir()
    third = run_batch(manifest, out, settings=REPORTS)
    assert (third.succeeded, third.skipped, third.failed) == (0, 2, 0)
    assert _stamps(out) == computed
    assert sorted(p.name for p in (out / "reports").iterdir()) == sorted(
        f"{i}.{kind}" for i in ids for kind in ("html", "pdf")
    )
    for case_id in ids:
        paths = report_paths(out, case_id)
        text = Page(paths["html"].read_text(encoding="utf-8")).all_text
        row = results.loc[case_id]
        assert case_id in text and f"{row['response_probability']:.3f}" in text
        assert f"{row['risk_group']} risk" in text and f"{row['survival_12_months']:.3f}" in text
        pdf = pdf_text(paths["pdf"])
        assert paths["pdf"].read_bytes().startswith(b"%PDF") and f"{row['response_probability']:.3f}" in pdf


def test_the_cli_writes_reports_while_scoring_and_refuses_them_in_extract_mode(two_cases, tmp_path, capsys):
    manifest, ids = two_cases
    out = tmp_path / "cli"
    code = main(["batch", str(manifest), "--output", str(out), "--mode", "score", "--reports"])
    assert code == 0, capsys.readouterr().err
    assert all(p.is_file() for case_id in ids for p in report_paths(out, case_id).values())
    assert "reports:" in capsys.readouterr().out
    with pytest.raises(PRIMEInputError, match="cannot be made in extract mode") as error:
        BatchSettings(mode="extract", reports=True)
    assert error.value.field == "reports"
    assert main(["batch", str(manifest), "--output", str(tmp_path / "x"), "--reports"]) == 2
    assert "--mode score" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
