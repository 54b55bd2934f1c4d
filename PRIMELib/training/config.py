"""The configuration of a training run and the result it returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.fusion import BayesianModelAveragingSurvival, LateFusionClassifier
from PRIMELib.models.pipelines import SelectionSettings
from PRIMELib.models.response import RESPONSE_ALGORITHMS, RESPONSE_GRIDS
from PRIMELib.models.survival import SURVIVAL_ALGORITHMS

__all__ = ["TrainingConfig", "TrainingResult"]


@dataclass
class TrainingConfig:
    """Everything that decides a training run; stored in the bundle's manifest."""

    random_state: int = 2025
    cv_folds: int = 5
    test_size: float = 0.3
    external_centre: str | None = None
    grid: str = "default"
    response_algorithms: tuple[str, ...] = tuple(RESPONSE_ALGORITHMS)
    survival_algorithms: tuple[str, ...] = tuple(SURVIVAL_ALGORITHMS)
    bma_weighting: str = "pseudo_bma_plus"
    bma_tau: float = 0.05
    bma_members: str = "best_per_modality"
    response_threshold: float | str = 0.5
    max_imputed: int = 3
    n_jobs: int = 1
    n_bootstrap: int = 200
    radiomics_params: str = "prime_paper"
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    #: Nested validation (nested.py): outer folds around the whole procedure (0: none), and how many
    #: times the outer cross-validation is repeated with another seed.
    outer_folds: int = 5
    outer_repeats: int = 1
    #: When one-month features (ΔMON, ΔPT, …) are offered, PRIME-S is a landmark model from this day
    #: (models/landmark.py): trained, evaluated and scored on patients alive past it, timed from it.
    #: "auto" (the default): 30 days when a one-month feature is offered, else none; a number of days:
    #: that landmark when one is offered; 0 or None: the paper's way, clock at treatment start for
    #: everyone (immortal-time bias; METHOD.md).
    landmark_days: float | str | None = "auto"

    def landmark_for(self, columns) -> float | None:
        """The landmark (days) PRIME-S uses with these input columns; None: clock at treatment start."""
        from PRIMELib.models.landmark import LANDMARK_DAYS, landmark_features

        if not self.landmark_days or not landmark_features(columns):
            return None
        return LANDMARK_DAYS if self.landmark_days == "auto" else float(self.landmark_days)

    def check(self) -> None:
        days = self.landmark_days
        if (
            days is not None
            and days != "auto"
            and (isinstance(days, bool) or not isinstance(days, int | float) or not 0 <= days < float("inf"))
        ):
            raise PRIMEInputError(
                f"The landmark must be 'auto', 0 (none: the paper's way) or a number of days; got {days!r}.",
                field="landmark_days",
                value=days,
                expected="auto, 0, or days after treatment start (the one-month visit is 30)",
            )
        if self.outer_folds == 1 or self.outer_folds < 0:
            raise PRIMEInputError(
                "Nested validation needs at least 2 outer folds (or 0 to skip it).",
                field="outer_folds",
                value=self.outer_folds,
            )
        if self.outer_repeats < 1:
            raise PRIMEInputError(
                "The outer cross-validation runs at least once.",
                field="outer_repeats",
                value=self.outer_repeats,
            )
        if self.grid not in RESPONSE_GRIDS:
            raise PRIMEInputError(
                f"Unknown grid {self.grid!r}.", field="grid", expected=" or ".join(RESPONSE_GRIDS)
            )
        for name in self.response_algorithms:
            if name not in RESPONSE_ALGORITHMS:
                raise PRIMEInputError(
                    f"Unknown response algorithm {name!r}.", field="response_algorithms",
                    expected=", ".join(RESPONSE_ALGORITHMS),
                )  # fmt: skip
        for name in self.survival_algorithms:
            if name not in SURVIVAL_ALGORITHMS:
                raise PRIMEInputError(
                    f"Unknown survival algorithm {name!r}.", field="survival_algorithms",
                    expected=", ".join(SURVIVAL_ALGORITHMS),
                )  # fmt: skip
        if self.bma_members not in ("best_per_modality", "all"):
            raise PRIMEInputError(
                f"Unknown bma_members {self.bma_members!r}.", field="bma_members",
                expected="best_per_modality or all",
            )  # fmt: skip
        if not (isinstance(self.response_threshold, float | int) and 0 < self.response_threshold < 1) and (
            self.response_threshold != "youden"
        ):
            raise PRIMEInputError(
                "The response threshold must be a probability between 0 and 1, or 'youden'.",
                field="response_threshold",
                value=self.response_threshold,
            )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["response_algorithms"] = list(self.response_algorithms)
        data["survival_algorithms"] = list(self.survival_algorithms)
        return data


@dataclass
class TrainingResult:
    """The frozen PRIME-R and PRIME-S models and everything a bundle records about them."""

    prime_r: LateFusionClassifier
    prime_s: BayesianModelAveragingSurvival
    summary: pd.DataFrame
    config: TrainingConfig
    response_threshold: float
    risk_cutoff: float
    metrics: dict[str, dict[str, object]]
    selected_features: dict[str, dict[str, list[str]]]
    reference_values: dict[str, float]
    typical_ranges: dict[str, list[float]]
    clinical_medians: dict[str, float]
    input_columns: list[str]
    cohort: dict[str, object]
    seconds: float
    #: The nested estimate (:class:`PRIMELib.training.nested.NestedEstimate`); None with outer_folds 0.
    nested: object | None = None
    #: Case ids left out of training, by reason (``no_radiomics``); for the console, not the bundle.
    excluded_cases: dict[str, list[str]] = field(default_factory=dict)
