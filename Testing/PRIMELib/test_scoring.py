"""The result of scoring and its quadrant: class boundaries checked by hand, and a light import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from PRIMELib.scoring import QUADRANT_TEXT, ScoreResult, classify


@pytest.mark.parametrize(
    ("probability", "risk", "quadrant"),
    [
        (0.5, 0.0, ("responder", "low")),  # at the threshold: responder; at the cut-off: low risk
        (0.4999, 0.0001, ("non-responder", "high")),
        (0.9, 0.3, ("responder", "high")),  # the 'responder paradox'
        (0.1, -2.0, ("non-responder", "low")),
    ],
)
def test_the_quadrant_follows_the_threshold_and_the_cut_off(probability, risk, quadrant):
    result = classify(probability, 0.5, risk, 0.0)
    response_class, risk_group = quadrant
    assert result == {
        "response_class": response_class,
        "risk_group": risk_group,
        "quadrant": f"{response_class} / {risk_group} risk",
        "quadrant_text": QUADRANT_TEXT[quadrant],
    }


def test_the_paradox_quadrant_says_so():
    assert "paradox" in classify(0.8, 0.45, 1.2, 0.3)["quadrant_text"]
    assert "paradox" not in classify(0.8, 0.45, 0.3, 0.3)["quadrant_text"]


def test_a_result_survives_its_json():
    result = ScoreResult(
        case_id="P1",
        response_probability=0.25,
        risk_score=-0.5,
        survival={"6_months": 0.9, "12_months": 0.8, "24_months": 0.6, "36_months": 0.5},
        **classify(0.25, 0.5, -0.5, 0.0),
        top_response_features=[{"feature": "pni", "value": 50.0, "contribution": -0.3}],
        top_survival_features=[],
        imputed_fields=["ast"],
        inputs={"pni": 50.0, "ast": 45.0},
        model_name="m",
        survival_curve=[{"month": 0, "survival": 1.0}, {"month": 1, "survival": 0.99}],
    )
    assert ScoreResult(**json.loads(json.dumps(result.to_dict()))) == result


def test_importing_the_scoring_module_loads_no_model_library():
    """Reading results and classifying need none of scikit-learn, scikit-survival, skops or pandas."""
    code = (
        "import sys, PRIMELib.scoring, PRIMELib.bundle.card; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'sksurv', 'skops', 'pandas'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
