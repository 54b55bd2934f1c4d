"""Batch runs: good cases equal single-case runs, bad cases are isolated, runs resume, Dask works."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import SimpleITK as sitk

from PRIMELib.batch import BatchSettings, read_manifest, run_batch
from PRIMELib.cli import main
from PRIMELib.errors import PRIMEInputError
from PRIMELib.pipeline import score_case
from PRIMELib.radiomics import extract_case
from PRIMELib.synth import draw_cohort, make_phantom

QUICK = BatchSettings(mode="extract", params="prime_quick")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Four synthetic patients, their tumours shrunk to 2.5-4 cm on a coarse grid so extraction is quick.

    Returns (folder, manifest table, clinical table) laid out as `prime synth` writes them.
    """
    folder = tmp_path_factory.mktemp("cohort")
    patients = draw_cohort({"A": 3, "B": 1}, seed=5)
    rows = []
    for number, patient in enumerate(patients.itertuples(index=False)):
        images = make_phantom(
            diameter_cm=2.5 + 0.5 * number,
            lobulation=patient.lobulation,
            heterogeneity=patient.heterogeneity,
            seed=number,
            spacing_mm=(2.0, 2.0, 5.0),
        )
        row = {"case_id": patient.case_id, "centre": patient.centre}
        for phase, image in zip(("arterial", "venous", "mask"), images, strict=True):
            row[phase] = f"images/{patient.case_id}/{phase}.nrrd"
            (folder / row[phase]).parent.mkdir(parents=True, exist_ok=True)
            sitk.WriteImage(image, str(folder / row[phase]), True)
        rows.append(row)
    manifest = pd.DataFrame(rows)
    manifest.to_csv(folder / "manifest.csv", index=False)
    clinical = patients.drop(
        columns=["lobulation", "heterogeneity", "true_response_probability", "true_risk"]
    )
    return folder, manifest, clinical


def _manifest(folder: Path, rows: list[dict], name: str = "manifest.csv") -> Path:
    path = folder / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def mixed_manifest(cohort, tmp_path_factory):
    """The good cases plus one of each kind of broken case, with their clinical values."""
    folder, manifest, clinical = cohort
    work = tmp_path_factory.mktemp("mixed")
    good = manifest.merge(clinical.drop(columns=["centre"]), on="case_id").to_dict("records")
    for row in good:
        for column in ("arterial", "venous", "mask"):
            row[column] = str(folder / row[column])
    template = good[0]
    empty = sitk.Image(sitk.ReadImage(template["mask"]))
    empty = sitk.Multiply(empty, 0)
    sitk.WriteImage(empty, str(work / "empty.nrrd"))
    shifted = sitk.ReadImage(template["mask"])
    shifted.SetSpacing((1.0, 1.0, 1.0))
    sitk.WriteImage(shifted, str(work / "wrong_grid.nrrd"))
    broken = [
        {**template, "case_id": "MISSING-FILE", "arterial": str(work / "nowhere.nrrd")},
        {**template, "case_id": "EMPTY-MASK", "mask": str(work / "empty.nrrd")},
        {**template, "case_id": "GRID-MISMATCH", "mask": str(work / "wrong_grid.nrrd")},
        {**template, "case_id": "BAD-ALBUMIN", "alb": 3.5},  # g/dL typed where g/L is expected
    ]
    return _manifest(work, [broken[0], *good[:2], broken[1], broken[2], *good[2:], broken[3]]), good


def test_manifest_reads_paths_relative_to_its_folder_and_clinical_columns(cohort):
    folder, _, _ = cohort
    cases = read_manifest(folder / "manifest.csv")
    assert [c.case_id for c in cases] == ["SYN-A-0001", "SYN-A-0002", "SYN-A-0003", "SYN-B-0001"]
    assert cases[0].arterial == folder / "images" / "SYN-A-0001" / "arterial.nrrd"
    assert cases[0].centre == "A" and cases[0].clinical == {}


def test_manifest_structure_problems_stop_before_any_work(tmp_path):
    bad = _manifest(tmp_path, [{"case_id": "x", "arterial": "a.nrrd"}])
    with pytest.raises(PRIMEInputError, match=r"lacks the column\(s\) venous, mask"):
        read_manifest(bad)
    twice = _manifest(
        tmp_path, [{"case_id": "x", "arterial": "a", "venous": "v", "mask": "m"}] * 2, "twice.csv"
    )
    with pytest.raises(PRIMEInputError, match="repeats case ids: x"):
        read_manifest(twice)


def test_extract_batch_isolates_bad_cases_and_matches_single_case_runs(mixed_manifest, tmp_path):
    manifest, good = mixed_manifest
    summary = run_batch(manifest, tmp_path, settings=QUICK, workers=2)
    assert (summary.total, summary.succeeded, summary.failed) == (8, 5, 3)  # BAD-ALBUMIN is fine here
    stages = {f["case_id"]: (f["stage"], f["error"]) for f in summary.failures}
    assert stages["MISSING-FILE"][0] == "inputs" and "nowhere.nrrd" in stages["MISSING-FILE"][1]
    assert stages["EMPTY-MASK"][0] == "load" and "empty" in stages["EMPTY-MASK"][1]
    assert stages["GRID-MISMATCH"][0] == "load" and "voxel grid" in stages["GRID-MISMATCH"][1]
    features = pd.read_csv(tmp_path / "features.csv").set_index("case_id")
    assert sorted(features.index) == sorted([*(g["case_id"] for g in good), "BAD-ALBUMIN"])
    for row in good[:2]:
        single = extract_case(row["arterial"], row["venous"], row["mask"], params="prime_quick").values
        for name, value in single.items():
            assert features.loc[row["case_id"], name] == pytest.approx(value, rel=1e-12), name
    failures = pd.read_csv(tmp_path / "failures.csv")
    assert set(failures["case_id"]) == {"MISSING-FILE", "EMPTY-MASK", "GRID-MISMATCH"}
    log = (tmp_path / "run.log").read_text()
    assert "EMPTY-MASK: FAILED at load" in log and "end: 5 done, 0 unchanged, 3 failed" in log


def test_score_batch_reports_a_bad_clinical_value_and_scores_the_rest(mixed_manifest, tmp_path):
    manifest, good = mixed_manifest
    summary = run_batch(manifest, tmp_path, settings=BatchSettings(mode="score", params="prime_quick"))
    stages = {f["case_id"]: f["stage"] for f in summary.failures}
    assert stages == {
        "MISSING-FILE": "inputs",
        "EMPTY-MASK": "load",
        "GRID-MISMATCH": "load",
        "BAD-ALBUMIN": "clinical",
    }
    assert "g/dL" in next(f["error"] for f in summary.failures if f["case_id"] == "BAD-ALBUMIN")
    results = pd.read_csv(tmp_path / "results.csv").set_index("case_id")
    assert sorted(results.index) == sorted(g["case_id"] for g in good)
    row = good[0]
    clinical = {k: v for k, v in row.items() if k not in {"case_id", "centre", "arterial", "venous", "mask"}}
    direct = score_case(
        row["arterial"], row["venous"], row["mask"], clinical=clinical, case_id=row["case_id"]
    )
    assert results.loc[row["case_id"], "response_probability"] == pytest.approx(
        direct.score.response_probability
    )
    assert results.loc[row["case_id"], "risk_group"] == direct.score.risk_group


def test_rerun_keeps_unchanged_cases_and_redoes_a_changed_one(cohort, tmp_path):
    folder, _, _ = cohort
    manifest = folder / "manifest.csv"
    first = run_batch(manifest, tmp_path, settings=QUICK)
    assert (first.succeeded, first.skipped) == (4, 0)
    second = run_batch(manifest, tmp_path, settings=QUICK)
    assert (second.succeeded, second.skipped) == (0, 4)
    # Change one input's bytes: only that case is recomputed.
    copy = tmp_path / "inputs"
    copy.mkdir()
    rows = pd.read_csv(manifest)
    for column in ("arterial", "venous", "mask"):
        rows[column] = [str(folder / p) for p in rows[column]]
    image = sitk.ReadImage(rows.loc[0, "arterial"])
    image = sitk.Add(image, 1)
    sitk.WriteImage(image, str(copy / "arterial.nrrd"))
    rows.loc[0, "arterial"] = str(copy / "arterial.nrrd")
    changed = _manifest(tmp_path, rows.to_dict("records"), "changed.csv")
    third = run_batch(changed, tmp_path, settings=QUICK)
    assert (third.succeeded, third.skipped) == (1, 3)
    # ... and other settings (a user's params file, here with one more feature class) redo everything.
    from PRIMELib.radiomics import params_file

    own = tmp_path / "own.yaml"
    own.write_text(params_file("prime_quick").read_text().replace("  shape:\n", "  shape:\n  glcm:\n"))
    fourth = run_batch(changed, tmp_path, settings=BatchSettings(mode="extract", params=str(own)))
    assert (fourth.succeeded, fourth.skipped) == (4, 0)
    assert any(
        c.startswith("arterial_original_glcm_") for c in pd.read_csv(tmp_path / "features.csv").columns
    )


def test_killed_run_resumes_without_recomputing_finished_cases(cohort, tmp_path):
    folder, _, _ = cohort
    rows = pd.read_csv(folder / "manifest.csv")
    for column in ("arterial", "venous", "mask"):
        rows[column] = [str(folder / p) for p in rows[column]]
    # Twenty cases (the four patients five times over) so the run is still going when killed.
    many = [{**r, "case_id": f"{r['case_id']}-{k}"} for k in range(5) for r in rows.to_dict("records")]
    manifest = _manifest(tmp_path, many)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "PRIMELib",
        "batch",
        str(manifest),
        "--output",
        str(out),
        "--params",
        "prime_quick",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        log = (out / "run.log").read_text() if (out / "run.log").exists() else ""
        if log.count(": done in") >= 2:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "run the same command again to resume" in err
    finished = {p.name: p.stat().st_mtime_ns for p in (out / "cases").glob("*.json")}
    assert 2 <= len(finished) < 20
    assert not (out / "features.csv").exists()  # no half-made table
    assert not list(out.rglob(".partial-*"))
    resumed = run_batch(manifest, out, settings=QUICK)
    assert resumed.skipped == len(finished) and resumed.succeeded == 20 - len(finished)
    for name, stamp in finished.items():
        assert (out / "cases" / name).stat().st_mtime_ns == stamp
    assert len(pd.read_csv(out / "features.csv")) == 20


def test_cli_exit_status_and_plain_progress_lines(mixed_manifest, tmp_path, capsys):
    manifest, _ = mixed_manifest
    code = main(["batch", str(manifest), "--output", str(tmp_path), "--params", "prime_quick"])
    captured = capsys.readouterr()
    assert code == 1  # some cases failed
    assert "8 of 8 cases (3 failed)" in captured.err
    assert "MISSING-FILE" in captured.out and "failures:" in captured.out
    # The summary's first row holds the count and time whole (a table title used to wrap mid-phrase).
    assert re.search(r"│ cases\s+│ 8 \(\d+ s\)\s+│", captured.out), captured.out


def test_same_batch_on_a_local_dask_cluster_gives_the_same_tables(cohort, tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is in the cluster extra")
    folder, _, _ = cohort
    local = run_batch(folder / "manifest.csv", tmp_path / "local", settings=QUICK)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = run_batch(
            folder / "manifest.csv", tmp_path / "dask", settings=QUICK, scheduler=cluster.scheduler_address
        )
    assert (local.succeeded, remote.succeeded) == (4, 4)
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "local" / "features.csv"), pd.read_csv(tmp_path / "dask" / "features.csv")
    )
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert summary["succeeded"] == 4 and summary["settings"]["params"] == "prime_quick"


def test_ids_that_read_alike_once_sanitised_keep_separate_files(cohort, tmp_path):
    """`患者1` and `病例1` both sanitise to `_1`: each case still gets its own file and row, and its file
    names its case id. Ids differing only in letter case (one file on Windows and macOS) are refused."""
    folder, manifest, _ = cohort
    template = {column: str(folder / manifest.loc[0, column]) for column in ("arterial", "venous", "mask")}
    ids = ["患者1", "病例1", "_1", "Patient 1", "patient_1"]
    path = _manifest(tmp_path, [{"case_id": case_id, **template} for case_id in ids])
    summary = run_batch(path, tmp_path / "out", settings=QUICK)
    assert summary.succeeded == len(ids) and summary.failed == 0
    files = sorted((tmp_path / "out" / "cases").glob("*.json"))
    assert len({file.name.casefold() for file in files}) == len(ids)
    assert (tmp_path / "out" / "cases" / "_1.json").is_file()  # a plain id keeps its own name
    recorded = sorted(json.loads(file.read_text(encoding="utf-8"))["case_id"] for file in files)
    assert recorded == sorted(ids)
    features = pd.read_csv(tmp_path / "out" / "features.csv")
    assert sorted(features["case_id"]) == sorted(ids)
    assert features.drop(columns="case_id").nunique().max() == 1  # the same images, the same values

    alike = _manifest(tmp_path, [{"case_id": case_id, **template} for case_id in ("A1", "a1")], "alike.csv")
    with pytest.raises(PRIMEInputError, match="differ only in letter case: A1, a1"):
        read_manifest(alike)


def test_a_manifest_with_a_header_and_no_case_is_an_error(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text("case_id,arterial,venous,mask\n", encoding="utf-8")
    with pytest.raises(PRIMEInputError, match="has a header but no case"):
        read_manifest(path)
    assert main(["batch", str(path), "--output", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
