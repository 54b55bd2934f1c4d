"""A loaded bundle scoring one case: PRIME-R and PRIME-S, the quadrant, and per-feature explanations."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from PRIMELib.bundle.card import model_card_markdown
from PRIMELib.bundle.format import _PROBE_TOLERANCE, BundleError, _case_frame, _probe_outputs
from PRIMELib.errors import PRIMEInputError
from PRIMELib.models.landmark import bundle_landmark, curve_grid
from PRIMELib.scoring import DAYS_PER_MONTH, REPORT_MONTHS, ScoreResult, classify

if TYPE_CHECKING:
    import pandas as pd


def _as_number(name: str, value: object) -> float:
    if value is None or isinstance(value, bool):
        return math.nan if value is None else float(value)
    from PRIMELib.clinical.coding import encoding_of, model_value

    if isinstance(value, str) or encoding_of(name) in ("binary", "ordinal", "nominal"):
        # A schema code ("male", "B", "TACE", or its number) becomes the number the models were trained
        # on; a code the schema does not allow is refused here, by name.
        value = model_value(name, value)
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise PRIMEInputError(f"{name} = {value!r} is not a number.", field=name, value=value) from error
    if math.isinf(number):
        raise PRIMEInputError(f"{name} = {value!r} is not a finite number.", field=name, value=value)
    return number


@dataclass(frozen=True)
class _Member:
    """One member of a fused model, ready to score cases: its preprocessing (``prefix``), its model's
    input names, the reference case's model inputs, its term in the fused output (``output``, see
    models/explain.py) and ``model``, its fitted model as :func:`~PRIMELib.models.explain.trees_checked_once`
    views it. Built once per bundle: the reference and the views cost as much as scoring a case."""

    name: str
    prefix: object
    features: list[str]
    reference: np.ndarray
    output: object
    model: object


@dataclass
class ModelBundle:
    """A loaded, verified bundle: PRIME-R, PRIME-S and their manifest. Score cases with :meth:`score`."""

    manifest: dict
    prime_r: object
    prime_s: object
    path: Path | None = None
    sha256: str = ""  # bundle_sha256 of the file it was loaded from
    load_warnings: tuple[str, ...] = ()
    _members: dict = field(default_factory=dict, repr=False)  # kind → list of _Member; the column index

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "PRIME model"))

    @property
    def radiomics_params(self) -> str:
        return str(self.manifest.get("radiomics_params", "prime_paper"))

    @property
    def required_features(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.manifest["required_features"].items()}

    @property
    def features(self) -> list[str]:
        return sorted(f for names in self.required_features.values() for f in names)

    @property
    def response_threshold(self) -> float:
        return float(self.manifest["thresholds"]["response_threshold"])

    @property
    def risk_cutoff(self) -> float:
        return float(self.manifest["thresholds"]["risk_cutoff"])

    @property
    def max_imputed(self) -> int | None:
        return self.manifest.get("preprocessing", {}).get("imputation", {}).get("max_imputed")

    @property
    def model_card(self) -> dict[str, object]:
        """The short card every ScoreResult carries."""
        return {
            "name": self.name,
            "trained_on": self.manifest.get("trained_on", ""),
            "intended_use": self.manifest.get("intended_use", ""),
            "not_for_clinical_use": bool(self.manifest.get("not_for_clinical_use", True)),
            "warning": self.manifest.get("warning", "Research use only."),
            "primelib_version": self.manifest.get("versions", {}).get("PRIMELib"),
            "sha256": self.sha256,
        }

    def model_card_markdown(self) -> str:
        return model_card_markdown(self.manifest)

    def _frame(self, values: Mapping[str, float]) -> pd.DataFrame:
        """One case as the models' one-row input table (format.py's ``_case_frame``), built on a column
        index made once per bundle: building it from the names is most of the cost of a small frame."""
        import pandas as pd

        columns = list(self.manifest["input_columns"])
        if self._members.get("columns") is None:
            self._members["columns"] = pd.Index(_case_frame({}, columns).columns)
        row = [float(values[c]) if c in values and values[c] is not None else np.nan for c in columns]
        return pd.DataFrame(np.array([row], dtype=float), columns=self._members["columns"])

    def verify(self) -> None:
        """Re-run the check cases stored at training; differences mean these are not the same models."""
        checks = self.manifest["checks"]
        outputs = _probe_outputs(
            self.prime_r, self.prime_s, checks["cases"], list(self.manifest["input_columns"])
        )
        for expected, got in zip(checks["outputs"], outputs, strict=True):
            for key, value in expected.items():
                if value is None or not math.isclose(
                    got[key], value, rel_tol=_PROBE_TOLERANCE, abs_tol=_PROBE_TOLERANCE
                ):
                    where = f"'{self.path.name}'" if self.path else "the bundle"
                    raise BundleError(
                        f"The models in {where} do not reproduce their check predictions ({key}: stored "
                        f"{value}, now {got[key]}). They behave differently here than where they were "
                        "trained.",
                        path=self.path,
                        hint="Install the scikit-learn and scikit-survival versions the manifest names, "
                        "or retrain.",
                    )

    def _prepared_members(self, fused, kind: str) -> list[_Member]:
        """The members of a fused model, prepared once per bundle (see :class:`_Member`)."""
        from sklearn.pipeline import Pipeline

        from PRIMELib.models.explain import member_output, trees_checked_once

        if kind not in self._members:
            reference = self._frame(self.manifest["preprocessing"]["reference_values"])
            members = []
            for name, pipeline, factor in fused.member_terms():
                if not isinstance(pipeline, Pipeline):
                    raise BundleError(f"The member '{name}' of the bundle is not a pipeline.", path=self.path)
                prefix, model = pipeline[:-1], pipeline[-1]
                features = [str(f) for f in prefix.get_feature_names_out()]
                inputs = self._model_inputs(name, prefix, reference)
                view = trees_checked_once(model)[0]
                output = member_output(kind, model, factor)
                members.append(_Member(name, prefix, features, inputs, output, view))
            self._members[kind] = members
        return self._members[kind]

    def _model_inputs(self, name: str, prefix, case: pd.DataFrame) -> np.ndarray:
        """One member's preprocessing of one case: its model's inputs, which must be finite."""
        inputs = np.asarray(prefix.transform(case), float)[0]
        if not np.isfinite(inputs).all():
            raise BundleError(
                f"The preprocessing of the member '{name}' gave non-finite model inputs.", path=self.path
            )
        return inputs

    def _member_cases(self, fused, kind: str, case: pd.DataFrame, raw: dict[str, float]) -> list:
        """Each member of a fused model, with the case's and the reference's model inputs.

        Every member pipeline's preprocessing runs once per case; the reference's once per bundle.
        """
        from PRIMELib.models.explain import MemberCase

        return [
            MemberCase(
                member.features,
                self._model_inputs(member.name, member.prefix, case),
                member.reference,
                member.output,
                raw,
            )
            for member in self._prepared_members(fused, kind)
        ]

    def score(self, features: Mapping[str, object], *, case_id: str = "case") -> ScoreResult:
        """Score one case from its feature values (radiomics, clinical and derived indices, by name).

        Missing clinical values are imputed with training medians and named in the result; a case
        missing more than ``max_imputed`` of them, or any radiomics feature the models use, is refused.
        """
        from PRIMELib.models.explain import explain_members
        from PRIMELib.models.survival_data import step_values

        required = self.required_features
        values = {f: _as_number(f, features.get(f)) for f in self.features}
        missing = {phase: [f for f in names if math.isnan(values[f])] for phase, names in required.items()}
        missing_radiomics = missing.get("arterial", []) + missing.get("venous", [])
        if missing_radiomics:
            raise PRIMEInputError(
                f"Case '{case_id}' lacks radiomics feature(s) the model uses: "
                f"{', '.join(missing_radiomics)}.",
                field="radiomics",
                hint=f"Extract features with the '{self.radiomics_params}' parameters on both phases.",
            )
        imputed = missing.get("clinical", [])
        limit = self.max_imputed
        if limit is not None and len(imputed) > limit:
            raise PRIMEInputError(
                f"Case '{case_id}' misses {len(imputed)} of the model's clinical inputs: "
                f"{', '.join(imputed)}.",
                field="clinical",
                expected=f"at most {limit} missing",
                hint="Enter the missing values; the model cannot score a case this incomplete.",
            )
        medians = self.manifest["preprocessing"]["imputation"].get("clinical_medians", {})
        used = {f: (medians.get(f, math.nan) if f in imputed else v) for f, v in values.items()}
        # A coded column imputed one-hot column by one-hot column has no single value: None, not NaN
        # (a result is JSON, which has no NaN).
        used = {f: (None if math.isnan(v) else v) for f, v in used.items()}
        case = self._frame(values)

        # PRIME-R: fused log-odds = meta intercept + Σ coefficient × member log-odds.
        response_members = self._member_cases(self.prime_r, "log_odds", case, used)
        response_terms, response_reference, log_odds = explain_members(response_members)
        intercept = float(np.ravel(self.prime_r.meta_.intercept_)[0])
        probability = float(1.0 / (1.0 + math.exp(-(intercept + log_odds))))
        # PRIME-S: fused risk = Σ weight × (member risk − mean) / sd; S(t) = Σ weight × S_member(t).
        survival_members = self._member_cases(self.prime_s, "risk", case, used)
        survival_terms, survival_reference, risk_sum = explain_members(survival_members)
        shift = float(np.dot(self.prime_s.weights_, self.prime_s.risk_mean_ / self.prime_s.risk_scale_))
        risk = risk_sum - shift
        follow_up_days = float(self.manifest["survival"]["max_follow_up_days"])
        # A landmark model's curve (models/landmark.py): months from treatment start, from the landmark.
        landmark = bundle_landmark(self.manifest)
        months, model_days, shown = curve_grid(follow_up_days, landmark, max(REPORT_MONTHS), DAYS_PER_MONTH)
        curve = np.zeros(len(months))
        for weight, member, prepared in zip(
            self.prime_s.weights_, survival_members, self._prepared_members(self.prime_s, "risk"), strict=True
        ):
            functions = prepared.model.predict_survival_function(member.case[None, :])
            curve += weight * step_values(functions, model_days)[0]
        survival = {f"{m}_months": float(curve[months == m][0]) for m in REPORT_MONTHS}
        follow_up_days += landmark or 0.0  # from treatment start

        warnings = list(self.load_warnings)
        beyond = [m for m in REPORT_MONTHS if m * DAYS_PER_MONTH > follow_up_days]
        if beyond:
            warnings.append(
                f"Survival at {', '.join(map(str, beyond))} months lies beyond the training follow-up "
                f"({follow_up_days / DAYS_PER_MONTH:.1f} months): the curve is held flat there."
            )
        ranges = self.manifest["preprocessing"].get("typical_ranges", {})
        for feature, (low, high) in sorted(ranges.items()):
            value = values.get(feature, math.nan)
            if not math.isnan(value) and (value < low or value > high):
                warnings.append(
                    f"{feature} = {value:.4g} lies outside the training cohort's 1st–99th percentile range "
                    f"({low:.4g} to {high:.4g}): the prediction extrapolates."
                )
        return ScoreResult(
            case_id=case_id,
            response_probability=probability,
            risk_score=risk,
            survival=survival,
            **classify(probability, self.response_threshold, risk, self.risk_cutoff),
            top_response_features=[c.to_dict() for c in response_terms[:5]],
            top_survival_features=[c.to_dict() for c in survival_terms[:5]],
            imputed_fields=imputed,
            inputs=used,
            model_name=self.name,
            model_card=self.model_card,
            warnings=warnings,
            survival_curve=[
                {"month": int(m) if float(m).is_integer() else round(float(m), 3), "survival": float(s)}
                for m, s in zip(months[shown], curve[shown], strict=True)
            ],
            survival_landmark_days=landmark,
            response_contributions=[c.to_dict() for c in response_terms],
            survival_contributions=[c.to_dict() for c in survival_terms],
            explanation={
                "method": "baseline Shapley values against a reference case of training medians",
                "response_units": "log-odds of response",
                "survival_units": "PRIME-S risk score",
                "response_reference_log_odds": intercept + response_reference,
                "survival_reference_risk": survival_reference - shift,
            },
            thresholds={"response_threshold": self.response_threshold, "risk_cutoff": self.risk_cutoff},
        )

    def score_table(self, table: pd.DataFrame) -> list[ScoreResult]:
        """Score every row of a table (index = case id)."""
        return [self.score(row.to_dict(), case_id=str(case_id)) for case_id, row in table.iterrows()]


# ---------------------------------------------------------------------------------------------
# Model card
