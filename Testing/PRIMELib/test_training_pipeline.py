"""Training: data loading, splits, the candidate table, reproducibility, progress and the CLI."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from model_cohort import cohort, cohort_frame, trained

from PRIMELib.cli import main
from PRIMELib.errors import PRIMECancelled, PRIMEInputError
from PRIMELib.models import SelectionSettings, selected_features
from PRIMELib.training import (
    TrainingConfig,
    TrainingData,
    case_id_salt,
    hash_case_ids,
    load_training_data,
    read_feature_table,
    split_cohort,
    train_prime,
)


def test_split_keeps_a_whole_centre_external_and_splits_the_rest_7_to_3_by_outcome():
    data = cohort()
    split = split_cohort(data, TrainingConfig(external_centre="B"))
    assert set(split["external"]) == set(data.centre.index[data.centre == "B"])
    internal = len(split["train"]) + len(split["test"])
    assert internal == 90 and len(split["test"]) == 27
    assert not set(split["train"]) & set(split["test"])
    rate = data.response.loc[split["train"]].mean(), data.response.loc[split["test"]].mean()
    assert abs(rate[0] - rate[1]) < 0.05  # stratified
    again = split_cohort(data, TrainingConfig(external_centre="B"))
    assert list(again["test"]) == list(split["test"])  # seeded
    with pytest.raises(PRIMEInputError, match="No case comes from centre 'C'"):
        split_cohort(data, TrainingConfig(external_centre="C"))


def test_outcomes_response_assessment_and_text_columns_are_never_inputs():
    frame = cohort_frame(n=40)
    frame["mrecist"] = "PR"
    frame["subsequent_therapy"] = 1
    frame["viable_sum_followup_mm"] = 12.0
    frame["sex"] = "male"
    data = TrainingData.from_frame(frame)
    for leaky in (
        "response",
        "os_days",
        "os_event",
        "mrecist",
        "subsequent_therapy",
        "viable_sum_followup_mm",
    ):
        assert leaky not in data.features.columns
    # A category survives as its schema position (female 0, male 1), for the pipeline's encoder; here
    # it is constant, and the description of the clinical columns says so.
    assert (data.features["sex"] == 1.0).all() and "sex" not in data.ignored_columns
    assert data.clinical_columns.unused["sex"].startswith("constant")
    assert data.clinical_columns.unused["mrecist"] == "the response assessment (it is the label)"
    frame.loc[frame.index[3], "os_days"] = np.nan
    with pytest.raises(PRIMEInputError, match=r"lack an outcome.*P003"):
        TrainingData.from_frame(frame)


def test_clinical_table_and_pyradiomics_csvs_load_and_join_by_case(tmp_path):
    frame = cohort_frame(n=30, n_external=10)
    clinical = frame[["age", "alb", "pni", "ecog", "response", "os_days", "os_event", "centre"]].copy()
    clinical.insert(0, "case_id", clinical.index)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    # A PyRadiomics batch output of one phase: paths, diagnostics and unprefixed feature names.
    arterial = pd.DataFrame(
        {
            "ID": frame.index,
            "Image": "a.nrrd",
            "Mask": "m.nrrd",
            "diagnostics_Versions_PyRadiomics": "3.1",
            "original_shape_Maximum3DDiameter": frame["arterial_original_shape_Maximum3DDiameter"],
        }
    )
    arterial.to_csv(tmp_path / "arterial.csv", index=False)
    table = read_feature_table(tmp_path / "arterial.csv", prefix="arterial_")
    assert list(table.columns) == ["arterial_original_shape_Maximum3DDiameter"]
    data = load_training_data(tmp_path / "clinical.csv", arterial_features=tmp_path / "arterial.csv")
    assert set(data.features.columns) >= {"age", "pni", "arterial_original_shape_Maximum3DDiameter"}
    assert list(data.centre.unique()) == ["A", "B"]
    assert data.features.loc["P004", "age"] == pytest.approx(frame.loc["P004", "age"], abs=1e-6)
    # A semicolon-delimited clinical table (European Excel's CSV) keeps its centre column too.
    clinical.to_csv(tmp_path / "clinical_semicolon.csv", index=False, sep=";")
    semicolon = load_training_data(
        tmp_path / "clinical_semicolon.csv", arterial_features=tmp_path / "arterial.csv"
    )
    pd.testing.assert_series_equal(semicolon.centre, data.centre)
    arterial.iloc[:-1].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(PRIMEInputError, match="have no radiomics row: P029"):
        load_training_data(tmp_path / "clinical.csv", arterial_features=tmp_path / "short.csv")


def test_summary_has_every_candidate_with_cv_and_test_metrics_and_the_choice_by_cv():
    result = trained()
    summary = result.summary
    print(summary.drop(columns=["params"]).to_string())
    # 2 endpoints × 3 modalities × 2 algorithms, plus the two fused models and the four baselines.
    assert len(summary) == 2 * 3 * 2 + 2 + 4
    assert summary[summary.fusion != "baseline"][["cv_mean", "test", "external"]].notna().all().all()
    baselines = summary[summary.fusion == "baseline"]
    assert set(zip(baselines.endpoint, baselines.modality, baselines.algorithm, strict=True)) == {
        ("response", "clinical", "logistic"),
        ("response", "radiomics", "random forest"),
        ("survival", "clinical", "Cox"),
        ("survival", "radiomics", "Coxnet"),
    }
    assert baselines[["test", "external"]].notna().all().all() and not baselines.chosen.any()
    for (endpoint, modality), group in summary[summary.fusion == "none"].groupby(["endpoint", "modality"]):
        chosen = group[group.chosen]
        assert len(chosen) == 1 and chosen.cv_mean.iloc[0] == group.cv_mean.max(), (endpoint, modality)
    late = summary[summary.fusion == "late"].iloc[0]
    assert late.algorithm == "+".join(
        summary[(summary.endpoint == "response") & summary.chosen & (summary.fusion == "none")].algorithm
    )
    # The fused models' members are the chosen pipelines; their selected features are recorded.
    assert set(result.selected_features["response"]) == {"clinical", "radiomics"}
    for name, pipeline in result.prime_r.named_estimators_.items():
        assert selected_features(pipeline) == result.selected_features["response"][name]
    assert result.risk_cutoff == pytest.approx(
        np.median(
            result.prime_s.predict(cohort().features.loc[split_cohort(cohort(), result.config)["train"]])
        )
    )
    assert result.metrics["external"]["response"]["auc"] > 0.7
    assert result.metrics["test"]["survival"]["c_index"] > 0.55
    json.dumps(result.metrics, allow_nan=False)  # plain JSON


def test_same_seed_same_models_and_progress_can_cancel():
    data = cohort(n=70, n_radiomics=8, n_external=15)
    config = TrainingConfig(
        external_centre="B", grid="quick", cv_folds=3, selection=SelectionSettings(cv_folds=3),
        response_algorithms=("gtbr",), survival_algorithms=("fsvm",), n_bootstrap=0, outer_folds=0,
    )  # fmt: skip
    seen = []
    first = train_prime(data, config)
    again = train_prime(data, config, progress=lambda f, m: seen.append((f, m)))
    assert np.array_equal(
        first.prime_r.predict_proba(data.features), again.prime_r.predict_proba(data.features)
    )
    assert np.array_equal(first.prime_s.predict(data.features), again.prime_s.predict(data.features))
    assert first.summary.drop(columns=["seconds"]).equals(again.summary.drop(columns=["seconds"]))
    # The manifest's cohort summary, case-id salt and digests included, is reproducible too.
    assert json.dumps(first.cohort, sort_keys=True) == json.dumps(again.cohort, sort_keys=True)
    assert first.cohort["case_id_salt"] == case_id_salt(data.features.index, config.random_state)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("Grid search" in m and "radiomics" in m for _, m in seen)
    with pytest.raises(PRIMECancelled, match="Grid search 1/"):
        train_prime(data, config, progress=lambda f, m: False)


def test_case_id_salt_depends_on_the_set_of_ids_and_the_seed_only():
    ids = ["P002", "P000", "P001"]
    expected = hashlib.sha256(json.dumps(["2025", ["P000", "P001", "P002"]]).encode()).hexdigest()[:16]
    assert case_id_salt(ids, 2025) == expected
    assert case_id_salt(pd.Index(ids[::-1]), 2025) == expected  # order does not matter
    assert case_id_salt(ids, 2026) != expected
    assert case_id_salt(ids[:2], 2025) != expected
    digests = hash_case_ids(ids, expected)
    assert digests == sorted(hashlib.sha256(f"{expected}:{c}".encode()).hexdigest()[:16] for c in ids)


def test_prime_train_writes_a_bundle_and_summary_and_scores_features(tmp_path, capsys):
    frame = cohort_frame(n=90, n_radiomics=12, n_external=20)
    clinical_columns = [
        "age",
        "alb",
        "pni",
        "ecog",
        "hbv",
        "ast",
        "response",
        "os_days",
        "os_event",
        "centre",
    ]
    clinical = frame[clinical_columns].copy()
    clinical.insert(0, "case_id", frame.index)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    radiomics = frame[[c for c in frame.columns if c.startswith(("arterial_", "venous_"))]].copy()
    radiomics.insert(0, "case_id", frame.index)
    radiomics.to_csv(tmp_path / "features.csv", index=False)
    bundle = tmp_path / "model.prime"
    code = main(
        [
            "train", "--clinical", str(tmp_path / "clinical.csv"),
            "--features", str(tmp_path / "features.csv"), "--output", str(bundle),
            "--external-centre", "B", "--grid", "quick", "--name", "CLI model",
            "--response-algorithm", "gtbr", "--survival-algorithm", "fsvm", "--cv-folds", "3",
            "--outer-folds", "2",
        ]
    )  # fmt: skip
    assert code == 0 and bundle.is_file() and (tmp_path / "model.summary.csv").is_file()
    printed = capsys.readouterr().out
    assert "Training candidates" in printed and "selection-CV*" in printed
    assert "nested CV (2-fold, pooled out-of-fold, 95 % CI)" in printed
    assert "PRIME-R AUC" in printed and "clinical logistic" in printed and "radiomics coxnet" in printed
    written = pd.read_csv(tmp_path / "model.summary.csv")
    fused = written[written.fusion.str.startswith("late")]
    assert fused.nested.notna().all() and (fused.nested_low <= fused.nested).all()
    radiomics.head(3).to_csv(tmp_path / "three.csv", index=False)
    clinical.head(3).drop(columns=["centre"]).to_csv(tmp_path / "three_clinical.csv", index=False)
    score = [
        "score-features", "--model", str(bundle), "--features", str(tmp_path / "three.csv"),
        "--clinical", str(tmp_path / "three_clinical.csv"), "--output", str(tmp_path / "scores.json"),
    ]  # fmt: skip
    assert main(score) == 0
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert [s["case_id"] for s in scores] == ["P000", "P001", "P002"]
    assert all(0 < s["response_probability"] < 1 and s["survival_curve"] for s in scores)
    assert not (tmp_path / "scores.excluded.csv").exists()
    # The one rule for missing radiomics: a case whose radiomics are all blank is left out and named
    # (never imputed), the others are still scored, and the exit code says not every case was.
    blank = radiomics.head(3).copy()
    blank.iloc[1, 1:] = np.nan
    blank.to_csv(tmp_path / "three.csv", index=False)
    capsys.readouterr()
    assert main(score) == 1
    kept = json.loads((tmp_path / "scores.json").read_text())
    assert [s["case_id"] for s in kept] == ["P000", "P002"]
    assert [s["response_probability"] for s in kept] == [scores[0]["response_probability"],
                                                         scores[2]["response_probability"]]  # fmt: skip
    excluded = pd.read_csv(tmp_path / "scores.excluded.csv")
    assert excluded.case_id.tolist() == ["P001"] and "radiomics" in excluded.reason[0].lower()
    assert "1 of 3 case(s) left out" in capsys.readouterr().err
    assert main(["model-card", str(bundle)]) == 0
    assert "# Model card: CLI model" in capsys.readouterr().out


@pytest.mark.parametrize("n", [6, 12])
def test_too_few_patients_is_a_named_error_with_the_counts(n):
    """6 patients (or 12 with 5-fold CV) cannot be split and cross-validated: PRIME says so, with the
    counts, instead of failing inside scikit-learn's splitter."""
    data = cohort(n=n, n_radiomics=4, n_external=0)
    config = TrainingConfig(grid="quick", response_algorithms=("gtbr",), survival_algorithms=("fsvm",))
    with pytest.raises(PRIMEInputError, match=r"responder\(s\).*non-responder\(s\)") as raised:
        train_prime(data, config)
    assert raised.value.field == "cohort" and raised.value.hint
