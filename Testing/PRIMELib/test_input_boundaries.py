"""One rule at every boundary: whatever the input, an error is short, named and cheap; cheap checks run
before costly work; a small evaluated set says its numbers are unreliable."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from PRIMELib.cli import main
from PRIMELib.clinical import prepare_record
from PRIMELib.clinical.validation import ClinicalDataError, InputProblem, validate_value
from PRIMELib.errors import MAX_MESSAGE_CHARS, PRIMEError, PRIMEInputError
from PRIMELib.evaluation.evaluate import SMALL_SET_CASES, SMALL_SET_EVENTS, _small_set_warning
from PRIMELib.pipeline import score_case

LONG = 200_000
#: A message "of a few kB": the bound plus the notes of what was left out.
FEW_KB = MAX_MESSAGE_CHARS + 200


# --- 1. Bounded messages ------------------------------------------------------------------------------


def test_a_200_kb_unknown_field_name_is_a_short_named_error():
    name = "x" * LONG
    with pytest.raises(ClinicalDataError) as raised:
        prepare_record({name: 1, "age": 58})
    text = str(raised.value)
    assert len(text) < FEW_KB
    assert "Unknown clinical variable 'xxxx" in text and f"({LONG} characters long)" in text
    (problem,) = raised.value.problems
    assert problem.field.startswith("x" * 100) and len(problem.field) < 300
    # The same for one value looked up by name (the panel's live check).
    with pytest.raises(PRIMEInputError, match=f"{LONG} characters long") as one:
        validate_value(name, 1)
    assert len(str(one.value)) < FEW_KB


def test_a_200_kb_unknown_field_name_in_a_record_file_is_one_short_line_at_the_cli(tmp_path, capsys):
    record = tmp_path / "clinical.json"
    record.write_text(json.dumps({"y" * LONG: 1, "age": 58}), encoding="utf-8")
    code = main(["score", "--arterial", "a.nrrd", "--venous", "v.nrrd", "--mask", "m.nrrd",
                 "--clinical", str(record), "--output", str(tmp_path / "out")])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in out + err
    assert "Unknown clinical variable" in " ".join(err.split()) and len(err) < FEW_KB + 500
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["score", "--" + "x" * LONG], ["x" * LONG]])
def test_a_200_kb_unknown_option_or_command_is_a_short_usage_error(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in out + err
    assert len(err) < FEW_KB and "more characters)" in err and ("No such option" in err or "command" in err)


def test_a_long_coded_value_is_refused_with_a_short_message():
    with pytest.raises(ClinicalDataError, match="is not an allowed value") as raised:
        prepare_record({"sex": "f" * LONG})
    assert len(str(raised.value)) < FEW_KB
    assert raised.value.problems[0].field == "sex"


def test_every_part_of_an_error_is_bounded_keeping_its_start_and_end():
    message = "start " + "m" * 10**6 + " end."
    error = PRIMEInputError(
        message, field="f" * 10**5, value="v" * 10**6, expected="e" * 10**5,
        hint="h" * 10**5,
    )  # fmt: skip
    text = str(error)
    assert len(text) < FEW_KB
    assert text.startswith("start mmm") and text.endswith("hhh")  # the whole string keeps both ends
    assert error.message.startswith("start ") and error.message.endswith(" end.")
    assert f"({len(message) - MAX_MESSAGE_CHARS} characters left out)" in error.message
    assert len(error.field) < 300 and len(error.value) < 1100 and len(error.hint) < 1100
    assert len(str(PRIMEError("z" * 10**6))) < FEW_KB  # the base class too


def test_small_values_are_kept_as_they_are_and_large_containers_become_a_short_repr():
    assert PRIMEInputError("bad", field="alb", value=3.5).value == 3.5
    kept = [1, 2, 3]
    assert PRIMEInputError("bad", value=kept).value is kept
    shortened = PRIMEInputError("bad", value=list(range(100_000))).value
    assert isinstance(shortened, str) and "(100000 items)" in shortened and len(shortened) < 1100
    array = PRIMEInputError("bad", value=np.arange(10**6)).value
    assert "(1000000 items)" in array and len(array) < 1100
    assert PRIMEInputError("bad", value=np.float64(2.5)).value == 2.5  # a 0-d value: no length


def test_a_thousand_bad_values_list_what_fits_and_count_the_rest():
    problems = [InputProblem(f"f{i}", "bad " + "w" * 5000, row=i) for i in range(1000)]
    error = ClinicalDataError(problems)
    text = str(error)
    assert len(text) < FEW_KB and len(error.problems) == 1000
    listed = text.count("\n  - ")
    assert 1 <= listed < 1000 and f"… and {1000 - listed} more." in text


def test_a_probability_map_mask_is_a_short_error(tmp_path):
    from PRIMELib.radiomics.masks import load_roi

    probabilities = np.random.default_rng(0).random((10, 64, 64)).astype(np.float32)
    with pytest.raises(PRIMEInputError, match="labels") as raised:
        load_roi(sitk.GetImageFromArray(probabilities))
    assert len(str(raised.value)) < FEW_KB and len(repr(raised.value.value)) < 2000


# --- 2. Cheap checks before costly work ---------------------------------------------------------------


@pytest.fixture
def no_costly_work(monkeypatch):
    """Any model load or extraction fails the test: the named input error must come first."""
    import PRIMELib.bundle
    import PRIMELib.radiomics.extract

    def costly(*args, **kwargs):
        raise AssertionError("costly work started before the inputs were checked")

    for name in ("load_bundle", "load_default_model", "cached_bundle"):
        if hasattr(PRIMELib.bundle, name):
            monkeypatch.setattr(PRIMELib.bundle, name, costly)
    monkeypatch.setattr(PRIMELib.radiomics.extract, "extract_case", costly)
    monkeypatch.setattr("PRIMELib.pipeline.extract_case", costly)
    return costly


def _image(path):
    sitk.WriteImage(sitk.Image([8, 8, 4], sitk.sitkInt16), str(path))
    return path


@pytest.mark.parametrize("missing", ["arterial image", "venous image", "arterial mask", "venous mask"])
def test_score_case_names_a_missing_file_before_loading_a_model(tmp_path, no_costly_work, missing):
    files = {name: _image(tmp_path / f"{name.replace(' ', '_')}.nrrd") for name in
             ("arterial image", "venous image", "arterial mask", "venous mask")}  # fmt: skip
    files[missing] = tmp_path / "nosuch.nrrd"
    with pytest.raises(PRIMEInputError, match=f"The {missing} file .*nosuch.nrrd' does not exist") as raised:
        score_case(*files.values(), clinical={"age": 58})
    assert raised.value.field == missing


def test_score_case_checks_the_record_before_the_files_and_the_model(tmp_path, no_costly_work):
    with pytest.raises(PRIMEInputError, match=r"clinical record file .* does not exist"):
        score_case("a.nrrd", "v.nrrd", "m.nrrd", clinical=tmp_path / "nosuch.json")
    with pytest.raises(ClinicalDataError, match="alb"):
        score_case("a.nrrd", "v.nrrd", "m.nrrd", clinical={"alb": "high"})


def test_a_path_too_long_for_the_file_system_is_a_named_error(tmp_path, no_costly_work):
    long = tmp_path / ("x" * 300 + ".nrrd")  # longer than any file system's name limit (255)
    with pytest.raises(PRIMEInputError, match=r"The arterial image path .* cannot be used") as raised:
        score_case(long, long, long, clinical={"age": 58})
    assert raised.value.field == "arterial image"
    with pytest.raises(PRIMEInputError, match=r"clinical record file .* cannot be used"):
        score_case(long, long, long, clinical=tmp_path / ("y" * 300 + ".json"))


def test_a_manifest_whose_rows_are_wider_than_its_header_is_refused_not_shifted(tmp_path):
    from PRIMELib.batch.manifest import read_manifest

    manifest = tmp_path / "manifest.csv"
    manifest.write_text("case_id,arterial,venous,mask\nP1,a.nrrd,v.nrrd,m.nrrd,extra\n", encoding="utf-8")
    with pytest.raises(PRIMEInputError, match="more cells in its rows than names in its header"):
        read_manifest(manifest)
    manifest.write_text("not a workbook", encoding="utf-8")
    with pytest.raises(PRIMEInputError, match="cannot be read"):
        read_manifest(manifest.rename(tmp_path / "manifest.xlsx"))


def _cli(argv, capsys) -> str:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in out + err, out + err
    return " ".join(err.split())


def test_every_command_names_a_missing_input_before_costly_work(
    tmp_path, no_costly_work, monkeypatch, capsys
):
    import PRIMELib.training

    monkeypatch.setattr(PRIMELib.training, "load_training_data", no_costly_work)
    monkeypatch.setattr(PRIMELib.training, "train_prime", no_costly_work)
    image, nosuch = _image(tmp_path / "a.nrrd"), tmp_path / "nosuch.nrrd"
    model = tmp_path / "model.prime"
    model.write_bytes(b"not checked before the table")
    table = tmp_path / "features.csv"
    table.write_text("case_id,age\nP1,58\n", encoding="utf-8")
    record = tmp_path / "clinical.json"
    record.write_text('{"age": 58}', encoding="utf-8")
    score = ["score", "--arterial", image, "--venous", image, "--mask", image, "--output", tmp_path / "o"]
    assert "venous mask file" in _cli([*score, "--venous-mask", nosuch, "--clinical", record], capsys)
    assert "clinical record file" in _cli([*score, "--clinical", tmp_path / "nosuch.json"], capsys)
    extract = ["extract", "--arterial", image, "--mask", image, "--output", tmp_path / "f.csv"]
    assert "The venous image file" in _cli([*extract, "--venous", nosuch], capsys)
    assert "The feature table file" in _cli(["evaluate", model, nosuch, "--output", tmp_path / "e"], capsys)
    assert "The model file" in _cli(["evaluate", nosuch, table, "--output", tmp_path / "e"], capsys)
    assert "The mapping file" in _cli(
        ["evaluate", model, table, "--clinical", table, "--mapping", nosuch, "--output", tmp_path / "e"],
        capsys,
    )
    assert "The clinical table file" in _cli(["train", "--clinical", nosuch, "--output", model], capsys)
    assert "The feature table 2 file" in _cli(
        ["train", "--clinical", table, "--features", table, "--features", nosuch, "--output", model], capsys
    )
    assert "The manifest file" in _cli(["batch", nosuch, "--output", tmp_path / "b"], capsys)
    assert "The model file" in _cli(
        ["batch", table, "--mode", "score", "--model", nosuch, "--output", tmp_path / "b"], capsys
    )
    assert not (tmp_path / "b").exists() and not (tmp_path / "e").exists() and not (tmp_path / "o").exists()
    assert "The model file" in _cli(["model-card", nosuch], capsys)
    assert "The feature table file" in _cli(
        ["score-features", "--model", model, "--features", nosuch, "--output", tmp_path / "s.json"], capsys
    )


def test_evaluate_reads_the_cohort_before_loading_the_bundle(tmp_path, no_costly_work, capsys):
    model = tmp_path / "model.prime"
    model.write_bytes(b"never opened: the table is refused first")
    table = tmp_path / "features.csv"
    table.write_text("no_case_id\n1\n", encoding="utf-8")
    assert "case_id" in _cli(["evaluate", model, table, "--output", tmp_path / "e"], capsys)


# --- 3. Small evaluated sets are flagged ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "responders", "deaths", "small"),
    [
        (3, 1, 2, True),
        (SMALL_SET_CASES - 1, 14, 14, True),
        (SMALL_SET_CASES, SMALL_SET_EVENTS, SMALL_SET_EVENTS, False),  # just large enough
        (SMALL_SET_CASES, SMALL_SET_CASES - SMALL_SET_EVENTS + 1, 15, True),  # 9 non-responders
        (200, 100, SMALL_SET_EVENTS - 1, True),  # few deaths
        (200, 100, 80, False),
    ],
)
def test_a_set_is_small_below_30_patients_or_10_of_an_outcome(n, responders, deaths, small):
    warnings = _small_set_warning("test", {"n": n, "responders": responders, "deaths": deaths})
    assert bool(warnings) is small
    if small:
        assert (
            f"The 'test' set is small ({n} patients: {responders} responders, {n - responders} "
            in warnings[0]
        )
        assert "unreliable" in warnings[0]


def test_with_a_landmark_a_set_is_small_by_prime_s_own_deaths_those_past_the_landmark():
    """40 patients, 20 deaths in all but only 6 after the 30-day landmark: PRIME-S's C rests on 6 events."""
    counts = {"n": 40, "responders": 20, "deaths": 20, "survival_deaths": 6, "landmark_days": 30.0}
    (warning,) = _small_set_warning("test", counts)
    assert "6 deaths after the 30-day landmark" in warning
    assert _small_set_warning("test", {**counts, "survival_deaths": SMALL_SET_EVENTS}) == []


def test_a_set_whose_patients_all_died_before_the_landmark_is_left_out_by_name():
    """PRIME-S (a 30-day landmark model) cannot be judged on a set with nobody alive past day 30: that
    set is named and left out, the others are evaluated; with no such patient at all, a named error."""
    from model_cohort import bundle_path, cohort_frame

    from PRIMELib.evaluation.evaluate import evaluate_bundle

    frame = cohort_frame()
    external = frame[frame.centre == "B"].copy()
    early = external.index[:10]
    external.loc[early, "os_days"] = 20.0
    external["group"] = np.where(external.index.isin(early), "early", "later")
    evaluation = evaluate_bundle(bundle_path(), external, sets="group", n_bootstrap=0, subgroups=False)
    assert list(evaluation.sets) == ["later"]
    assert any("'early' set is left out: all its 10 patient(s) died" in w for w in evaluation.warnings)
    assert set(evaluation.predictions.index) == set(external.index)  # every case is still scored
    external["os_days"] = 20.0
    with pytest.raises(PRIMEInputError, match="No evaluated patient was alive") as raised:
        evaluate_bundle(bundle_path(), external, n_bootstrap=0, subgroups=False)
    assert raised.value.field == "os_days" and "in days" in raised.value.hint


def test_evaluating_three_patients_warns_that_the_interval_means_little(tmp_path):
    from model_cohort import bundle_path, cohort_frame

    from PRIMELib.evaluation.evaluate import evaluate_bundle
    from PRIMELib.reports.cohort import write_evaluation_outputs

    frame = cohort_frame()
    three = frame.loc[[frame.index[frame.response == 1][0], *frame.index[frame.response == 0][:2]]]
    evaluation = evaluate_bundle(bundle_path(), three, sets="all", n_bootstrap=50, subgroups=False)
    (warning,) = [w for w in evaluation.warnings if "is small" in w]
    assert "The 'all' set is small (3 patients: 1 responders, 2 non-responders" in warning
    paths = write_evaluation_outputs(evaluation, tmp_path, formats=["html"])
    saved = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    assert warning in saved["warnings"]
    html = next(p for k, p in paths.items() if str(p).endswith(".html"))
    assert "is small (3 patients" in html.read_text(encoding="utf-8")
