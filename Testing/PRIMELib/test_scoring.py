"""Scoring with the illustrative skeleton model, checked against hand computation."""

from __future__ import annotations

import math

import pytest

from PRIMELib.errors import PRIMEInputError
from PRIMELib.scoring import QUADRANT_TEXT, IllustrativeModel, score, survival_curve


@pytest.fixture(scope="module")
def model():
    return IllustrativeModel.load()


def _at_centres(model):
    return {t.feature: t.center for t in model.response_terms + model.survival_terms}


def test_model_card_says_untrained_and_not_for_clinical_use(model):
    assert model.model_card["not_for_clinical_use"] is True
    assert "nothing" in model.model_card["trained_on"]


def test_case_at_the_centres_scores_the_intercept_and_the_baseline_curve(model):
    result = score(_at_centres(model), model)
    # Every standardised term is 0: logit = intercept = -0.1, p = 1 / (1 + e^0.1) = 0.475021.
    assert result.response_probability == pytest.approx(0.4750208125, abs=1e-9)
    assert result.response_class == "non-responder"
    # Risk 0 is not above the cut-off 0: low risk. S(12 mo) = exp(-(365.25 / 860) ** 1.1) = 0.6307...
    assert result.risk_score == 0.0 and result.risk_group == "low"
    assert result.survival["12_months"] == pytest.approx(math.exp(-((365.25 / 860) ** 1.1)), rel=1e-12)
    assert result.imputed_fields == []
    assert result.quadrant_text == QUADRANT_TEXT[("non-responder", "low")]


def test_one_term_moves_the_logit_by_its_coefficient(model):
    features = _at_centres(model)
    features["pni"] += 6.0  # one scale unit, coefficient 0.4
    result = score(features, model)
    assert result.response_probability == pytest.approx(1 / (1 + math.exp(-(-0.1 + 0.4))), abs=1e-12)
    assert result.top_response_features[0] == {"feature": "pni", "contribution": pytest.approx(0.4)}


def test_high_risk_responder_is_the_paradox_quadrant(model):
    features = _at_centres(model)
    features["arterial_original_shape_Maximum3DDiameter"] = 30.0  # small tumour: likely response
    features["albi_score"] = -1.5  # poor liver reserve: high risk
    result = score(features, model)
    assert result.response_class == "responder" and result.risk_group == "high"
    assert "paradox" in result.quadrant_text
    # Survival curve is S0(t) ** exp(risk): lower than baseline at every month after 0.
    curve = survival_curve(result, model)
    assert curve[0] == (0, 1.0)
    baseline = {m: math.exp(-(((m * 365.25 / 12) / 860) ** 1.1)) for m in (6, 12, 24)}
    for months, s in curve[1:25]:
        assert s < math.exp(-(((months * 365.25 / 12) / 860) ** 1.1))
    assert result.survival["24_months"] == pytest.approx(baseline[24] ** math.exp(result.risk_score))


def test_missing_inputs_are_imputed_and_named_or_the_case_is_refused(model):
    features = _at_centres(model)
    del features["ast"]
    features["pni"] = float("nan")
    result = score(features, model)
    assert result.imputed_fields == ["pni", "ast"]
    assert result.inputs["ast"] == 45.0
    with pytest.raises(PRIMEInputError) as error:
        score({"ecog": 0}, model, case_id="P7")
    assert "P7" in str(error.value) and "albi_score" in str(error.value)
