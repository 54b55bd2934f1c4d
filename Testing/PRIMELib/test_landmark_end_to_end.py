"""PRIME-S as a one-month landmark model, end to end: trained by default when ΔMON is offered, evaluated
and scored with the same landmark (issue #16).

The session's test bundle (:mod:`model_cohort`) offers ΔMON, so it is a 30-day landmark model; its test
set holds 5 patients who died by day 30 and its external set 4: known references for who is left out.
"""

from __future__ import annotations

import numpy as np
import pytest
from model_cohort import bundle_path, cohort, cohort_frame, trained
from sklearn.metrics import roc_auc_score
from sksurv.metrics import concordance_index_censored

from PRIMELib.bundle import load_bundle
from PRIMELib.evaluation.evaluate import evaluate_bundle
from PRIMELib.evaluation.results import PRIME_R
from PRIMELib.models.landmark import LANDMARK_DAYS
from PRIMELib.scoring import DAYS_PER_MONTH


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(bundle_path())


@pytest.fixture(scope="module")
def evaluation(bundle):
    return evaluate_bundle(bundle, cohort_frame(), n_bootstrap=0, subgroups=False)


def test_the_default_training_is_a_30_day_landmark_model_and_the_bundle_says_so(bundle):
    assert trained().config.landmark_days == "auto"
    landmark = bundle.manifest["training"]["cohort"]["landmark"]
    assert landmark["days"] == LANDMARK_DAYS and landmark["features"] == ["delta_mon"]
    frame = cohort_frame()
    early = frame.index[frame["os_days"] <= 30]
    assert landmark["train"]["excluded"] + landmark["test"]["excluded"] + landmark["external"][
        "excluded"
    ] == (len(early))
    assert "landmark model" in bundle.model_card_markdown()


def test_evaluate_leaves_out_the_early_deaths_from_prime_s_only_and_matches_training(bundle, evaluation):
    """Same cases, same rule: evaluate's C-index of the test set equals training's internal-test C."""
    frame = cohort_frame()
    predictions = evaluation.predictions
    for name, early_deaths in (("test", 5), ("external", 4)):
        rows = predictions[predictions["set"] == name]
        result = evaluation.sets[name]
        kept = rows[rows["os_days"] > 30]
        assert len(rows) - len(kept) == early_deaths  # counted from the cohort table above
        assert result.counts["before_landmark"] == early_deaths
        assert result.counts["survival_n"] == len(kept) and result.counts["n"] == len(rows)
        # PRIME-R keeps everyone.
        assert result.response[PRIME_R]["auc"] == pytest.approx(
            roc_auc_score(frame.loc[rows.index, "response"], rows["prime_r_probability"])
        )
        # PRIME-S: Harrell's C (scikit-survival) on the patients alive past the landmark, timed from it.
        harrell = concordance_index_censored(
            kept["os_event"].astype(bool), kept["os_days"] - 30.0, kept["prime_s_risk"]
        )[0]
        assert result.survival["c_index"] == pytest.approx(harrell)
        assert result.survival["c_index"] == pytest.approx(
            bundle.manifest["metrics"][name]["survival"]["c_index"]
        )
        assert result.counts["survival_deaths"] == int(kept["os_event"].sum())
        assert result.counts["deaths"] == int(rows["os_event"].sum())  # the set's, for the description
    assert any("left out of its metrics" in w for w in evaluation.warnings)
    assert "landmark model" in evaluation.facts["outcomes"]
    assert "died/censored by landmark" in evaluation.summary().columns


def test_a_landmark_models_curve_starts_at_the_landmark_in_months_from_treatment_start(bundle, tmp_path):
    from PRIMELib.reports.patient import write_patient_report

    features = cohort().features
    case = features.index[40]
    result = bundle.score(features.loc[case].to_dict(), case_id=case)
    assert result.survival_landmark_days == LANDMARK_DAYS
    start = LANDMARK_DAYS / DAYS_PER_MONTH
    months = [p["month"] for p in result.survival_curve]
    assert months[0] == pytest.approx(start, abs=1e-3) and result.survival_curve[0]["survival"] == 1.0
    assert all(m > start for m in months[1:]) and months[1] == 1
    # S at 12 months from treatment start = the model's S at 12 months − 30 days (its clock).
    inputs = features.loc[[case]]
    model_days = np.array([m * DAYS_PER_MONTH - LANDMARK_DAYS for m in (6, 12)])
    expected = bundle.prime_s.survival_at(inputs, model_days)[0]
    assert [result.survival["6_months"], result.survival["12_months"]] == pytest.approx(expected, abs=1e-9)
    # The report says whose survival this is.
    paths = write_patient_report(result.to_dict(), tmp_path / "report", formats=["html"])
    html = paths["html"].read_text(encoding="utf-8")
    assert "survival for patients alive at 1 month" in html
    assert "predicted survival at 12 months (for patients alive at 1 month)" in html


def test_the_landmark_option_of_prime_train():
    from PRIMELib.cli import _landmark_option
    from PRIMELib.errors import PRIMEInputError

    assert _landmark_option("auto") == "auto" and _landmark_option("0") == 0.0
    assert _landmark_option("45") == 45.0
    with pytest.raises(PRIMEInputError, match="--landmark-days"):
        _landmark_option("a month")


def test_the_panels_survival_chart_says_whose_survival_it_is(bundle):
    """The Slicer panel's Qt-free scoring helpers (PRIME/PRIMEPanel/scoring.py), loaded as plain Python."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "PRIME" / "PRIMEPanel" / "scoring.py"
    spec = importlib.util.spec_from_file_location("prime_panel_scoring", path)
    panel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(panel)

    features = cohort().features
    result = bundle.score(features.iloc[3].to_dict(), case_id="c").to_dict()
    assert panel.survivalCurveTitle(result).endswith("for patients alive at 1 month")
    points = panel.survivalCurvePoints(result)
    assert points[0] == (pytest.approx(LANDMARK_DAYS / DAYS_PER_MONTH, abs=1e-3), 1.0)
    assert panel.survivalCurveTitle({**result, "survival_landmark_days": None}) == (
        "PRIME-S predicted overall survival"
    )
