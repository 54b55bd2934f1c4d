"""What a careless or hostile user found (the bad-input campaign of issue 17): each input gets a named
error, never a traceback, a hang, a partial output or a silently lost value."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from radiomics_phantoms import small_case

from PRIMELib.batch import BatchSettings, run_batch
from PRIMELib.bundle import BundleError
from PRIMELib.clinical.validation import ClinicalDataError, InputProblem
from PRIMELib.errors import PRIMECancelled, PRIMEError, PRIMEInputError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def case_files(tmp_path_factory) -> dict[str, Path]:
    """A small dual-phase case as files: arterial, venous, mask."""
    folder = tmp_path_factory.mktemp("case")
    paths = {}
    for name, image in zip(("arterial", "venous", "mask"), small_case(), strict=True):
        paths[name] = folder / f"{name}.nrrd"
        sitk.WriteImage(image, str(paths[name]), True)
    return paths


def _manifest(folder: Path, case_files: dict[str, Path], **clinical) -> Path:
    path = folder / "manifest.csv"
    row = {"case_id": "c1", **{k: str(v) for k, v in case_files.items()}, **clinical}
    pd.DataFrame([row]).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------------------------------
# Errors cross process boundaries (batch workers, the scoring worker) intact


@pytest.mark.parametrize(
    "error",
    [
        ClinicalDataError(
            [
                InputProblem("alb", "is 3.5, below 10.", 3.5, "g/L", "Albumin in g/dL? Multiply by 10.", 2),
                InputProblem("age", "is -4.", -4),
            ],
            source="clinical.csv",
        ),
        ClinicalDataError([InputProblem("bili", "is not a number.", "1,2", "µmol/L")]),
        PRIMEInputError("Bad.", field="mask", value=[1, 2], expected="a mask", hint="Redraw it."),
        BundleError("Not a bundle.", path="model.prime", hint="Train one."),
        PRIMECancelled("Stopped."),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_survive_pickling_with_their_fields(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert vars(copy) == vars(error)
    if isinstance(error, ClinicalDataError):
        assert copy.problems == error.problems  # not the message's characters
        assert all(isinstance(problem, InputProblem) for problem in copy.problems)


# --------------------------------------------------------------------------------------------------
# Batch: a --model that is not a bundle is one error before any case runs


@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip at all", b"PK\x03\x04" + b"\x00" * 40],
    ids=["empty", "text", "truncated-zip"],
)
def test_a_batch_with_a_model_that_is_not_a_bundle_stops_before_any_case(tmp_path, case_files, content):
    model = tmp_path / "model.prime"
    model.write_bytes(content)
    manifest = _manifest(tmp_path, case_files, age=60)
    output = tmp_path / "out"
    with pytest.raises(BundleError) as error:
        run_batch(manifest, output, settings=BatchSettings(mode="score", model=str(model)))
    assert "model.prime" in str(error.value)
    assert not output.exists()  # no case ran, nothing was written


def test_the_cli_batch_with_a_bad_model_exits_2_before_any_case(tmp_path, case_files, capsys):
    from PRIMELib.cli import main

    model = tmp_path / "model.prime"
    model.write_text("garbage", encoding="utf-8")
    manifest = _manifest(tmp_path, case_files)
    code = main(
        ["batch", str(manifest), "--output", str(tmp_path / "out"), "--mode", "score", "--model", str(model)]
    )
    assert code == 2
    assert "Error:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_every_project_error_is_a_prime_error():
    assert issubclass(ClinicalDataError, PRIMEError) and issubclass(BundleError, PRIMEInputError)


# --------------------------------------------------------------------------------------------------
# Paths that used to hang or abort the process: run in a child process, so the old behaviour fails
# the test (a timeout, or a C++ abort) instead of stopping the test run.


def _run_isolated(code: str, timeout_s: float = 90.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s, cwd=REPO
    )


@pytest.fixture
def fifo(tmp_path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes are a POSIX feature")
    path = tmp_path / "pipe.nrrd"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    "call",
    [
        "from PRIMELib.io import load_image; load_image(PATH, field='arterial image')",
        "from PRIMELib.pipeline import check_input_files; check_input_files({'arterial image': PATH})",
        "from PRIMELib.batch.manifest import CaseInputs; from PRIMELib.batch.runner import content_key; "
        "from PRIMELib.batch import BatchSettings; "
        "content_key(CaseInputs('c', PATH, PATH, PATH), BatchSettings())",
    ],
    ids=["load_image", "check_input_files", "batch-content-key"],
)
def test_a_named_pipe_given_as_an_image_is_refused_not_read_forever(fifo, call):
    code = (
        "from pathlib import Path\nfrom PRIMELib.errors import PRIMEInputError\n"
        f"PATH = Path({str(fifo)!r})\n"
        f"try:\n    {call}\nexcept PRIMEInputError as error:\n    print('REFUSED', error)\n"
    )
    done = _run_isolated(code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "REFUSED" in done.stdout and "not a regular file or a folder" in done.stdout


def test_a_path_that_is_not_utf8_is_refused_by_name_not_a_crash(tmp_path, case_files):
    folder = os.fsencode(tmp_path) + b"/latin\xff"
    os.mkdir(folder)
    path = folder + b"/arterial\xfe.nrrd"
    with open(path, "wb") as target, open(case_files["arterial"], "rb") as source:
        target.write(source.read())
    code = (
        "import os\nfrom PRIMELib.errors import PRIMEInputError\n"
        "from PRIMELib.radiomics import extract_case\n"
        f"path = os.fsdecode({path!r})\n"
        f"try:\n    extract_case(path, {str(case_files['venous'])!r}, {str(case_files['mask'])!r}, "
        "params='prime_quick')\n"
        "except PRIMEInputError as error:\n"
        "    print('REFUSED', error.field, '|', str(error).encode('ascii', 'replace'))\n"
    )
    done = _run_isolated(code)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # the old code aborted (134)
    assert "REFUSED arterial image" in done.stdout and "not valid UTF-8" in done.stdout


# --------------------------------------------------------------------------------------------------
# Images


def test_finite_but_overflowing_intensities_say_so_not_zero_nan_and_zero_infinite():
    from PRIMELib.radiomics.checks import check_intensities
    from PRIMELib.radiomics.crop import ImageStatistics

    array = np.full((4, 5, 6), 1e300)
    array[0] = -1e300
    image = sitk.GetImageFromArray(array)
    with pytest.raises(PRIMEInputError, match=r"run from -1e\+300 to 1e\+300: too large") as error:
        check_intensities(image, ImageStatistics.of(image), field="arterial image", normalize=True)
    assert error.value.field == "arterial image"
    assert "0 NaN" not in str(error.value)


# --------------------------------------------------------------------------------------------------
# Clinical records


def test_thousands_of_unknown_fields_get_few_suggestions_and_one_error(monkeypatch):
    from PRIMELib.clinical import validation
    from PRIMELib.clinical.schema import CLINICAL_SCHEMA
    from PRIMELib.demo import DEMO_CLINICAL_RECORD

    calls = []
    original = type(CLINICAL_SCHEMA).suggest
    monkeypatch.setattr(
        type(CLINICAL_SCHEMA),
        "suggest",
        lambda self, name, limit=3: calls.append(name) or original(self, name),
    )
    record = {**DEMO_CLINICAL_RECORD, **{f"extra_{i}": i for i in range(20_000)}, "albumn": 38.5}
    with pytest.raises(ClinicalDataError) as error:
        validation.validate_record(record)
    assert len(error.value.problems) == 20_001  # every unknown field is reported
    assert len(calls) == validation.MAX_SUGGESTED_UNKNOWN  # each "did you mean" costs milliseconds
    assert len(str(error.value)) < 5000
    assert error.value.problems[-1].field == "albumn"


# --------------------------------------------------------------------------------------------------
# Model bundles edited by hand: a named error at load, never a TypeError while scoring


def _edited_bundle(folder: Path, change, extra: dict[str, bytes] | None = None) -> Path:
    from PRIMELib.bundle.format import DEFAULT_BUNDLE

    with zipfile.ZipFile(DEFAULT_BUNDLE) as source:
        members = {name: source.read(name) for name in source.namelist()}
    manifest = json.loads(members["manifest.json"])
    change(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    path = folder / "edited.prime"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in {**members, **(extra or {})}.items():
            target.writestr(name, data)
    return path


def _set(key: str, value):
    def change(manifest: dict) -> None:
        target = manifest
        *parents, last = key.split(".")
        for parent in parents:
            target = target[parent]
        target[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (_set("thresholds.response_threshold", "abc"), "thresholds.response_threshold"),
        (_set("thresholds.response_threshold", float("nan")), "thresholds.response_threshold"),
        (_set("thresholds.response_threshold", 1.5), "a probability between 0 and 1"),
        (_set("thresholds", {}), "thresholds.response_threshold"),
        (_set("thresholds", [0.5, 0.1]), "'thresholds'"),
        (_set("required_features", ["x"]), "'required_features'"),
        (_set("required_features", {"prime_r": 5}), "'required_features'"),
        (_set("input_columns", "abc"), "'input_columns'"),
        (_set("checks", {"cases": [], "outputs": []}), "'checks'"),  # would skip verification
        (_set("checks", "x"), "'checks'"),
        (lambda m: m["checks"].update(outputs=m["checks"]["outputs"][:1]), "'checks'"),
        (_set("members", ["manifest.json"]), "'members'"),
        (_set("radiomics_params", 5), "'radiomics_params'"),
        (lambda m: m.update(format_version=99, versions=[1]), "bundle format 99"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_hand_edited_manifest_is_refused_by_name(tmp_path, change, complaint):
    from PRIMELib.bundle import load_bundle

    with pytest.raises(BundleError) as error:
        load_bundle(_edited_bundle(tmp_path, change))
    assert complaint in str(error.value)
    assert error.value.field == "model bundle"


def test_a_manifest_nested_too_deeply_is_refused(tmp_path):
    from PRIMELib.bundle import load_bundle

    path = tmp_path / "deep.prime"
    with zipfile.ZipFile(path, "w") as target:
        target.writestr("manifest.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(BundleError, match="nests too deeply"):
        load_bundle(path)


def test_an_added_huge_member_is_refused_without_being_unpacked(tmp_path, monkeypatch):
    from PRIMELib.bundle import load_bundle

    path = _edited_bundle(tmp_path, lambda manifest: None)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as target, target.open("zeros.bin", "w") as member:
        block = bytes(1 << 20)
        for _ in range(64):  # 64 MiB of zeros, 64 kB compressed: stands for a zip bomb
            member.write(block)
    unpacked = []
    original = zipfile.ZipFile.read
    monkeypatch.setattr(
        zipfile.ZipFile,
        "read",
        lambda self, name, pwd=None: unpacked.append(name) or original(self, name, pwd),
    )
    with pytest.raises(BundleError, match=r"does not list: zeros\.bin"):
        load_bundle(path)
    assert unpacked == ["manifest.json"]


# --------------------------------------------------------------------------------------------------
# Outputs that cannot be written: a named error (exit 2) before the work, never a traceback after it


def test_an_output_that_cannot_be_written_is_a_named_error_and_an_oserror(tmp_path):
    from PRIMELib.errors import PRIMEOutputError
    from PRIMELib.io import write_json

    blocker = tmp_path / "results"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    with pytest.raises(PRIMEOutputError, match="Cannot write") as error:
        write_json(blocker / "result.json", {"a": 1})
    assert isinstance(error.value, OSError)  # callers that handle failed writes still do
    (tmp_path / "out" / "result.json").mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(PRIMEOutputError):
        write_json(tmp_path / "out" / "result.json", {"a": 1})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["result.json"]  # no partial left


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_score_with_an_unusable_output_exits_2_before_extracting(
    tmp_path, case_files, capsys, monkeypatch, where
):
    from PRIMELib import pipeline
    from PRIMELib.cli import main
    from PRIMELib.demo import DEMO_CLINICAL_RECORD

    monkeypatch.setattr(
        pipeline, "extract_case", lambda *a, **k: pytest.fail("extracted before checking --output")
    )
    clinical = tmp_path / "clinical.json"
    clinical.write_text(json.dumps(dict(DEMO_CLINICAL_RECORD)), encoding="utf-8")
    blocker = tmp_path / "taken"
    blocker.write_text("x", encoding="utf-8")
    output = blocker if where == "file" else blocker / "results"
    args = ["score", "--arterial", case_files["arterial"], "--venous", case_files["venous"]]
    args += ["--mask", case_files["mask"], "--clinical", clinical, "--output", output]
    assert main([str(a) for a in args]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long paths
    assert "Error:" in err and "is a file" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--n-a", "-5", "--n-b", "3"], "--n-a is -5"),
        (["--n-a", "0", "--n-b", "0"], "no patient"),
        (["--seed", "-1"], "--seed is -1"),
        (["--spacing", "0", "0", "0"], "--spacing is 0 0 0"),
        (["--spacing", "nan", "1", "1"], "--spacing is nan"),
        (["--n-a", "100000000"], "too large to generate"),
    ],
)
def test_synth_refuses_impossible_cohorts_with_exit_2(tmp_path, capsys, args, complaint):
    from PRIMELib.cli import main

    output = tmp_path / "cohort"
    assert main(["synth", "--output", str(output), "--no-images", "--n-a", "2", "--n-b", "1", *args]) == 2
    assert complaint in " ".join(capsys.readouterr().err.split())
    assert not output.exists()


def test_extract_with_a_binary_feature_list_is_a_named_error(tmp_path, case_files, capsys):
    from PRIMELib.cli import main

    args = ["extract", "--arterial", case_files["arterial"], "--venous", case_files["venous"]]
    args += [
        "--mask",
        case_files["mask"],
        "--output",
        tmp_path / "f.csv",
        "--features",
        case_files["arterial"],
    ]
    assert main([str(a) for a in args]) == 2
    assert "feature list" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize("address", ["bogus://host:1", "not an address"])
def test_an_unusable_dask_scheduler_is_a_named_error(tmp_path, case_files, address):
    pytest.importorskip("distributed")
    with pytest.raises(PRIMEInputError, match="cannot be reached") as error:
        run_batch(_manifest(tmp_path, case_files), tmp_path / "out", scheduler=address)
    assert error.value.field == "scheduler"


# --------------------------------------------------------------------------------------------------
# The Python API given the wrong types: a named error, never a bare TypeError or AttributeError


@pytest.mark.parametrize(
    "source", [None, 42, np.zeros((5, 5, 5)), [1, 2]], ids=["None", "int", "array", "list"]
)
def test_an_image_that_is_neither_an_image_nor_a_path_is_a_named_error(source):
    from PRIMELib.io import load_image
    from PRIMELib.radiomics.geometry import header_of

    assert header_of(source) is None  # the early header check leaves it to load_image
    with pytest.raises(PRIMEInputError, match=f"The arterial image is a {type(source).__name__}") as error:
        load_image(source, field="arterial image")
    assert error.value.field == "arterial image"


def test_a_complex_valued_image_is_a_named_error():
    from PRIMELib.radiomics.checks import check_volume

    arterial = sitk.Cast(small_case()[0], sitk.sitkFloat32)
    with pytest.raises(PRIMEInputError, match="complex-valued voxels"):
        check_volume(sitk.RealAndImaginaryToComplex(arterial, arterial), field="arterial image")


@pytest.mark.parametrize(
    ("model", "sha256", "complaint"),
    [(5, None, "The model is a int"), ({}, None, "The model is a dict"), (None, 123, "SHA-256 is a int")],
)
def test_a_model_argument_of_the_wrong_type_is_a_named_error(model, sha256, complaint):
    from PRIMELib.pipeline import resolve_model

    with pytest.raises(BundleError, match=complaint):
        resolve_model(model, expected_sha256=sha256)


def test_a_case_id_that_is_not_text_is_a_named_error_before_any_work(case_files):
    from PRIMELib.demo import DEMO_CLINICAL_RECORD
    from PRIMELib.pipeline import score_case

    with pytest.raises(PRIMEInputError, match="The case id is a object"):
        score_case(*case_files.values(), clinical=dict(DEMO_CLINICAL_RECORD), case_id=object())


def test_an_empty_case_id_in_the_record_gives_a_named_case_not_an_empty_one(case_files):
    from PRIMELib.demo import DEMO_CLINICAL_RECORD
    from PRIMELib.pipeline import score_case

    result = score_case(*case_files.values(), clinical={**DEMO_CLINICAL_RECORD, "case_id": ""})
    assert result.case_id == "case" and result.score.case_id == "case"


def test_extract_workers_0_chooses_the_count_and_gives_the_same_values(tmp_path, case_files):
    """--workers 0 lets PRIME choose from free cores and memory; any choice gives one process's values."""
    from PRIMELib.cli import main

    tables = {}
    for workers in ("1", "0"):
        out = tmp_path / f"w{workers}.csv"
        args = ["extract", "--arterial", case_files["arterial"], "--venous", case_files["venous"]]
        args += ["--mask", case_files["mask"], "--output", out, "--params", "prime_quick"]
        args += ["--workers", workers]
        assert main([str(a) for a in args]) == 0
        tables[workers] = pd.read_csv(out)
    pd.testing.assert_frame_equal(tables["0"], tables["1"], rtol=1e-12)
    assert main(["extract", "--workers", "-1"]) == 2


def test_a_corrupt_workbook_and_a_huge_column_name_are_named_quickly(tmp_path):
    """A .xlsx that is not a zip was a BadZipFile traceback; a 100 kB column name spent seconds in
    did-you-mean. Both are named errors now (the second refused without a suggestion search)."""
    from PRIMELib.clinical.cohort import read_table
    from PRIMELib.clinical.schema import CLINICAL_SCHEMA as SCHEMA

    fake = tmp_path / "sheet.xlsx"
    fake.write_bytes(b"not a workbook at all")
    with pytest.raises(PRIMEInputError, match="not an Excel workbook") as error:
        read_table(fake)
    assert error.value.value == str(fake)
    assert SCHEMA.suggest("x" * 100_000) == []
    assert SCHEMA.suggest("albumn")[:1] == ["alb"]  # short names still get their suggestion
