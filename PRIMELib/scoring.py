"""Scoring one case with PRIME-R (response) and PRIME-S (survival), and the quadrant they make.

Until trained model bundles land, the skeleton scores with an *illustrative* model: a logistic
response model and a Weibull proportional-hazards survival model whose coefficients were set by hand
to follow the directions the paper reports (response: tumour geometry, PNI, ECOG, AFP; survival:
ΔMON, HBV, ALBI, AST, ΔPT). It was trained on nothing, says so in its model card, and is only for
exercising the software.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PRIMELib.errors import PRIMEInputError
from PRIMELib.paths import resource_path

#: Months at which the survival curve is reported (the paper's time-dependent metrics).
REPORT_MONTHS = (6, 12, 24, 36)
DAYS_PER_MONTH = 365.25 / 12

ILLUSTRATIVE_MODEL = resource_path("models", "illustrative_skeleton.json")


@dataclass(frozen=True)
class LinearTerm:
    """One standardised term: ``coef * (value - center) / scale``; ``center`` imputes a missing value."""

    feature: str
    center: float
    scale: float
    coef: float

    def contribution(self, value: float) -> float:
        return self.coef * (value - self.center) / self.scale


@dataclass
class IllustrativeModel:
    """A hand-set linear PRIME-R / PRIME-S pair read from JSON (never pickle)."""

    name: str
    model_card: dict[str, object]
    radiomics_params: str
    response_intercept: float
    response_terms: list[LinearTerm]
    response_threshold: float
    survival_terms: list[LinearTerm]
    weibull_scale_days: float
    weibull_shape: float
    risk_cutoff: float
    max_imputed: int

    @classmethod
    def load(cls, path: str | Path = ILLUSTRATIVE_MODEL) -> IllustrativeModel:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                name=data["name"],
                model_card=data["model_card"],
                radiomics_params=data["radiomics_params"],
                response_intercept=float(data["response"]["intercept"]),
                response_terms=[LinearTerm(**t) for t in data["response"]["terms"]],
                response_threshold=float(data["response"]["threshold"]),
                survival_terms=[LinearTerm(**t) for t in data["survival"]["terms"]],
                weibull_scale_days=float(data["survival"]["weibull_scale_days"]),
                weibull_shape=float(data["survival"]["weibull_shape"]),
                risk_cutoff=float(data["survival"]["risk_cutoff"]),
                max_imputed=int(data["max_imputed"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise PRIMEInputError(
                f"The model file '{path}' could not be read ({type(error).__name__}: {error}).",
                field="model",
                value=str(path),
                expected="a PRIME model file",
            ) from error

    @property
    def features(self) -> list[str]:
        return sorted({t.feature for t in self.response_terms + self.survival_terms})


@dataclass
class ScoreResult:
    """What scoring one case returns: both endpoints, the quadrant, and why."""

    case_id: str
    response_probability: float
    response_class: str
    risk_score: float
    risk_group: str
    survival: dict[str, float]
    quadrant: str
    quadrant_text: str
    top_response_features: list[dict[str, float | str]]
    top_survival_features: list[dict[str, float | str]]
    imputed_fields: list[str]
    inputs: dict[str, float]
    model_name: str
    model_card: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


QUADRANT_TEXT = {
    ("responder", "low"): "Likely to respond at 3 months and low survival risk: both endpoints favourable.",
    ("responder", "high"): (
        "Likely to respond at 3 months, but survival risk is high: the 'responder paradox' - "
        "shrinkage on imaging may not mean long survival."
    ),
    ("non-responder", "low"): (
        "Unlikely to respond at 3 months, yet survival risk is low: systemic factors look favourable."
    ),
    ("non-responder", "high"): "Unlikely to respond at 3 months and high survival risk.",
}


def classify(
    probability: float, response_threshold: float, risk: float, risk_cutoff: float
) -> dict[str, str]:
    """Response class, risk group and the quadrant they make (with its plain-language line).

    A probability at the threshold is a responder; a risk at the cut-off is low risk.
    """
    response_class = "responder" if probability >= response_threshold else "non-responder"
    risk_group = "high" if risk > risk_cutoff else "low"
    return {
        "response_class": response_class,
        "risk_group": risk_group,
        "quadrant": f"{response_class} / {risk_group} risk",
        "quadrant_text": QUADRANT_TEXT[(response_class, risk_group)],
    }


def _top(contributions: dict[str, float], n: int = 5) -> list[dict[str, float | str]]:
    ranked = sorted(contributions.items(), key=lambda item: abs(item[1]), reverse=True)[:n]
    return [{"feature": name, "contribution": value} for name, value in ranked]


def score(
    features: dict[str, float], model: IllustrativeModel | None = None, *, case_id: str = "case"
) -> ScoreResult:
    """Score one case from its feature values (radiomics, clinical and derived, by name).

    Missing or non-finite features are imputed with the model's centre and named in the result; more
    than ``model.max_imputed`` missing refuses the case with the list.
    """
    model = model or IllustrativeModel.load()
    inputs: dict[str, float] = {}
    imputed: list[str] = []
    for term in model.response_terms + model.survival_terms:
        value = features.get(term.feature)
        if value is None or not math.isfinite(float(value)):
            if term.feature not in imputed:
                imputed.append(term.feature)
            value = term.center
        inputs[term.feature] = float(value)
    if len(imputed) > model.max_imputed:
        raise PRIMEInputError(
            f"Case '{case_id}' misses {len(imputed)} of the model's inputs: {', '.join(imputed)}.",
            field="features",
            expected=f"at most {model.max_imputed} missing",
            hint="Enter the missing clinical values or check the tumour ROI.",
        )
    response_contrib = {t.feature: t.contribution(inputs[t.feature]) for t in model.response_terms}
    logit = model.response_intercept + sum(response_contrib.values())
    probability = 1.0 / (1.0 + math.exp(-logit))
    survival_contrib = {t.feature: t.contribution(inputs[t.feature]) for t in model.survival_terms}
    risk = sum(survival_contrib.values())
    hazard_ratio = math.exp(risk)
    survival = {
        f"{months}_months": math.exp(
            -(((months * DAYS_PER_MONTH) / model.weibull_scale_days) ** model.weibull_shape) * hazard_ratio
        )
        for months in REPORT_MONTHS
    }
    return ScoreResult(
        case_id=case_id,
        response_probability=probability,
        risk_score=risk,
        survival=survival,
        **classify(probability, model.response_threshold, risk, model.risk_cutoff),
        top_response_features=_top(response_contrib),
        top_survival_features=_top(survival_contrib),
        imputed_fields=imputed,
        inputs=inputs,
        model_name=model.name,
        model_card=model.model_card,
    )


def survival_curve(
    result: ScoreResult, model: IllustrativeModel | None = None, months: int = 48
) -> list[tuple[float, float]]:
    """Predicted S(t) for a scored case, monthly from 0 to ``months``: [(month, probability)]."""
    model = model or IllustrativeModel.load()
    hazard_ratio = math.exp(result.risk_score)
    return [
        (
            m,
            math.exp(
                -(((m * DAYS_PER_MONTH) / model.weibull_scale_days) ** model.weibull_shape) * hazard_ratio
            ),
        )
        for m in range(months + 1)
    ]
