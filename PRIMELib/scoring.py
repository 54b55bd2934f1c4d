"""What scoring one case returns (:class:`ScoreResult`), the quadrant PRIME-R and PRIME-S make, and
the constants both endpoints share.

Scoring itself is :meth:`PRIMELib.bundle.ModelBundle.score`: PRIME has one model path, a trained
``.prime`` bundle (the shipped demonstration bundle by default). This module imports nothing heavy,
so result files can be read and quadrants classified without scikit-learn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Months at which the survival curve is reported (the paper's time-dependent metrics).
REPORT_MONTHS = (6, 12, 24, 36)
DAYS_PER_MONTH = 365.25 / 12


@dataclass
class ScoreResult:
    """What scoring one case returns: both endpoints, the quadrant, and why.

    ``survival_curve``: [{"month", "survival"}] monthly up to the training follow-up, months from
    treatment start; ``survival_landmark_days``: a landmark model's landmark (models/landmark.py): its
    curve starts there and is survival of a patient alive at the landmark (None: from treatment start);
    ``response_contributions`` / ``survival_contributions``: every selected feature's signed
    contribution (log-odds / risk-score units) with the case's value, largest first (``top_*``: the
    first five); ``explanation`` says the units and the reference they are measured against.
    """

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
    survival_curve: list[dict[str, float]] = field(default_factory=list)
    response_contributions: list[dict[str, float | str]] = field(default_factory=list)
    survival_contributions: list[dict[str, float | str]] = field(default_factory=list)
    explanation: dict[str, object] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    survival_landmark_days: float | None = None

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
