"""The walking skeleton: load → extract → score → write, through the API and the `prime` command."""

from __future__ import annotations

import json

import pytest

from PRIMELib.cli import main
from PRIMELib.demo import write_demo_case
from PRIMELib.errors import PRIMECancelled
from PRIMELib.pipeline import (
    clinical_features,
    load_clinical_record,
    resolve_model,
    score_case,
    write_case_outputs,
)


@pytest.fixture(scope="module")
def demo_case(tmp_path_factory):
    return write_demo_case(tmp_path_factory.mktemp("demo"))


def test_scoring_from_files_reports_progress_and_derives_clinical_indices(demo_case):
    seen = []
    result = score_case(
        demo_case.arterial_image,
        demo_case.venous_image,
        demo_case.tumour_mask,
        clinical=demo_case.clinical_record,
        progress=lambda fraction, message: seen.append((fraction, message)),
    )
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert result.case_id == demo_case.case_id
    derived, _ = clinical_features(load_clinical_record(demo_case.clinical_record))
    # Derived from the demo record: PNI = 38.5 + 5 × 1.30; ALBI = 0.66 log10(16.8) − 0.085 × 38.5;
    # ΔMON = (0.51 − 0.42) / 0.42; log10 AFP = log10(1250).
    assert derived["pni"] == pytest.approx(45.0)
    assert derived["albi_score"] == pytest.approx(0.66 * 1.2253092817 - 3.2725, abs=1e-9)
    assert derived["delta_mon"] == pytest.approx(0.09 / 0.42)
    assert derived["log10_afp"] == pytest.approx(3.0969100130)
    # The default model scored with exactly those values; only the inputs the record lacks are imputed.
    model = resolve_model(None)
    clinical_inputs = model.required_features["clinical"]
    assert result.score.model_name == model.name
    assert result.score.imputed_fields == [f for f in clinical_inputs if f not in derived]
    for feature in clinical_inputs:
        if feature in derived:
            assert result.score.inputs[feature] == pytest.approx(derived[feature])
    assert 0.0 < result.score.response_probability < 1.0


def test_cancelling_stops_the_work_and_writes_nothing(demo_case, tmp_path):
    def cancel_at_radiomics(fraction, message):
        return "venous" not in message

    with pytest.raises(PRIMECancelled, match="venous"):
        score_case(
            demo_case.arterial_image,
            demo_case.venous_image,
            demo_case.tumour_mask,
            clinical=demo_case.clinical_record,
            progress=cancel_at_radiomics,
        )
    assert list(tmp_path.iterdir()) == []


def test_outputs_hold_the_result_and_one_feature_row(demo_case, tmp_path):
    result = score_case(
        demo_case.arterial_image,
        demo_case.venous_image,
        demo_case.tumour_mask,
        clinical=demo_case.clinical_record,
    )
    paths = write_case_outputs(result, tmp_path)
    stored = json.loads(paths["result"].read_text())
    assert stored["response_probability"] == pytest.approx(result.score.response_probability)
    assert set(stored["survival"]) == {"6_months", "12_months", "24_months", "36_months"}
    lines = paths["features"].read_text().splitlines()
    assert len(lines) == 2 and lines[0].startswith("case_id,arterial_original_")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diagnostics.json", "features.csv", "result.json"]


def test_prime_demo_command_prints_and_writes_the_result(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "PRIME-R response probability" in printed and "Quadrant" in printed
    stored = json.loads((tmp_path / "results" / "result.json").read_text())
    assert f"{stored['response_probability']:.3f}" in printed
    assert stored["model_card"]["not_for_clinical_use"] is True
    # The shipped demonstration bundle scored it, and says what it is.
    assert stored["model_name"] == resolve_model(None).name
    assert "not for patients" in stored["model_card"]["intended_use"]
    assert "for trying the software, not for patients" in " ".join(printed.split())


def test_prime_score_with_a_missing_file_exits_2_naming_it(demo_case, tmp_path, capsys):
    code = main(
        [
            "score",
            "--arterial", str(tmp_path / "missing.nrrd"),
            "--venous", str(demo_case.venous_image),
            "--mask", str(demo_case.tumour_mask),
            "--clinical", str(demo_case.clinical_record),
            "--output", str(tmp_path / "out"),
        ]
    )  # fmt: skip
    assert code == 2
    assert "arterial image" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
