"""The model card of a bundle (Markdown), generated from its manifest."""

from __future__ import annotations

from collections.abc import Mapping


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ci(value) -> str:
    return f" ({value[0]:.2f}–{value[1]:.2f})" if isinstance(value, list) and len(value) == 2 else ""


#: The baselines training estimates beside PRIME-R and PRIME-S, and their metric.
_BASELINES = {
    "clinical_logistic": "auc",
    "radiomics_random_forest": "auc",
    "clinical_cox": "c_index",
    "radiomics_coxnet": "c_index",
}


def _cohort_notes(cohort: Mapping[str, object], config: Mapping[str, object]) -> list[str]:
    """Nested validation, cases left out, columns unused or imputed, and the landmark, when recorded."""
    notes = []
    if config.get("outer_folds"):
        notes.append(
            f"Nested validation: {config['outer_folds']}-fold outer cross-validation"
            + (f" × {config.get('outer_repeats')}" if (config.get("outer_repeats") or 1) > 1 else "")
            + " of the whole procedure on the training set (the headline estimate below)."
        )
    blank = cohort.get("excluded_cases", {}).get("no_radiomics", {})
    if blank.get("n"):
        notes.append(f"Left out: {blank['n']} case(s) whose radiomics were all blank.")
    if cohort.get("all_missing_columns"):
        notes.append(f"Unused, blank in every training case: {', '.join(cohort['all_missing_columns'])}.")
    clinical = cohort.get("clinical_columns") or {}
    if clinical.get("encoded"):
        notes.append(
            "Clinical codes encoded inside the models: "
            + "; ".join(f"{name} as {how}" for name, how in clinical["encoded"].items())
            + "."
        )
    if clinical.get("unused"):
        notes.append(
            "Clinical columns offered but not used: "
            + "; ".join(f"{name} ({why})" for name, why in clinical["unused"].items())
            + "."
        )
    if cohort.get("imputed_columns"):
        notes.append(
            "Imputed with the training median (share missing): "
            + ", ".join(f"{c} ({100 * f:.0f} %)" for c, f in cohort["imputed_columns"].items())
            + "."
        )
    landmark = cohort.get("landmark", {})
    if landmark.get("days"):
        notes.append(f"PRIME-S is a landmark model: {landmark.get('note')}")
    elif landmark.get("features"):  # one-month features, trained the paper's way on purpose
        notes.append(f"PRIME-S is not a landmark model: {landmark.get('note')}.")
    return ["", *notes] if notes else []


#: The kind of each metrics entry of a bundle trained before entries carried their own ``kind``.
_LEGACY_KINDS = {"cv": "selection-CV", "train": "apparent", "test": "internal test", "external": "external"}


def _kind(name: str, entry: Mapping) -> str:
    return str(entry.get("kind") or _LEGACY_KINDS.get(name, name))


def _metric_kinds(metrics: Mapping[str, Mapping]) -> list[str]:
    """What each row of the performance table is: training labels every metrics entry by kind."""
    if not any("kind" in entry for entry in metrics.values()):  # a bundle from before the labels
        return [
            "- **selection-CV**: cross-validated on the training set, on the folds the models were chosen "
            "on (optimistic). **apparent**: the training cases themselves (optimistic). This bundle "
            "predates nested validation: it has no nested-CV estimate."
        ]
    return [
        f"- **{entry['kind']}**: {entry.get('note', '')}." for entry in metrics.values() if "kind" in entry
    ]


def _cell(value, key: str) -> str:
    """A metric (a number, or an entry with ``key`` and ``key_ci95``) with its CI when it has one."""
    if isinstance(value, Mapping):
        return f"{_fmt(value.get(key), 2)}{_ci(value.get(f'{key}_ci95'))}"
    return _fmt(value, 2)


def _baselines(metrics: Mapping[str, Mapping]) -> list[str]:
    """PRIME-R and PRIME-S beside the plain baselines, for every kind of estimate that has them."""
    kinds = [name for name, entry in metrics.items() if "baselines" in entry]
    if not kinds:
        return []
    lines = [
        "",
        "### Against plain baselines (does fusion help?)",
        "| model | metric | " + " | ".join(str(metrics[k].get("kind", k)) for k in kinds) + " |",
        "|---|---|" + "---|" * len(kinds),
    ]
    for label, endpoint, key in (("PRIME-R", "response", "auc"), ("PRIME-S", "survival", "c_index")):
        cells = [_cell(metrics[k].get(endpoint, {}), key) for k in kinds]
        lines.append(f"| **{label}** | {'AUC' if key == 'auc' else 'C-index'} | " + " | ".join(cells) + " |")
    for name, key in _BASELINES.items():
        if any(name in metrics[k]["baselines"] for k in kinds):
            cells = [_cell(metrics[k]["baselines"].get(name), key) for k in kinds]
            metric = "AUC" if key == "auc" else "C-index"
            lines.append(f"| {name.replace('_', ' ')} | {metric} | " + " | ".join(cells) + " |")
    return lines


def model_card_markdown(manifest: Mapping[str, object]) -> str:
    """The model card (Markdown) of a bundle, generated from its manifest."""
    m = manifest
    training = m.get("training", {})
    cohort = training.get("cohort", {})
    config = training.get("config", {})
    lines = [
        f"# Model card: {m.get('name')}",
        "",
        f"> **{m.get('warning', 'Research use only.')}**",
        "",
        "## Intended use",
        str(m.get("intended_use", "")),
        "",
        "## Training data",
        str(m.get("trained_on", "")),
        "",
        "| set | cases | responders | deaths | median follow-up (days) |",
        "|---|---|---|---|---|",
    ]
    for name in ("train", "test", "external"):
        entry = cohort.get(name)
        if entry:
            lines.append(
                f"| {name} | {entry['n']} | {entry['responders']} | {entry['deaths']} | "
                f"{entry['median_follow_up_days']:.0f} |"
            )
    lines += [
        "",
        f"Features offered: {cohort.get('n_clinical_features', '?')} clinical, "
        f"{cohort.get('n_radiomics_features', '?')} radiomics (PyRadiomics parameters "
        f"'{m.get('radiomics_params')}'). Split: {int(100 * (1 - config.get('test_size', 0.3)))}:"
        f"{int(100 * config.get('test_size', 0.3))} stratified internal split"
        + (f", external centre '{config['external_centre']}'" if config.get("external_centre") else "")
        + f"; seed {config.get('random_state')}; {config.get('cv_folds')}-fold CV inside the training set.",
        *_cohort_notes(cohort, config),
        "",
        "## Models",
    ]
    fusion = m.get("fusion", {})
    r = fusion.get("prime_r", {})
    s = fusion.get("prime_s", {})
    lines.append(
        f"- **PRIME-R** (response at 3 months): {r.get('rule')}; members {', '.join(r.get('members', []))}, "
        f"meta coefficients {', '.join(_fmt(c, 2) for c in r.get('meta_coefficients', []))}."
    )
    lines.append(
        f"- **PRIME-S** (overall survival): Bayesian model averaging, rule '{s.get('rule')}'; members "
        + ", ".join(
            f"{name} (weight {w:.2f})"
            for name, w in zip(s.get("members", []), s.get("weights", []), strict=False)
        )
        + "."
    )
    thresholds = m.get("thresholds", {})
    lines += [
        f"- Response threshold {_fmt(thresholds.get('response_threshold'))}; risk cut-off (training median) "
        f"{_fmt(thresholds.get('risk_cutoff'))}.",
        "",
        "## Required inputs",
    ]
    for phase, names in m.get("required_features", {}).items():
        lines.append(f"- {phase} ({len(names)}): " + (", ".join(f"`{n}`" for n in names) or "none"))
    imputation = m.get("preprocessing", {}).get("imputation", {})
    lines += [
        f"- Missing clinical values: training median, at most {imputation.get('max_imputed')} per case; "
        "missing radiomics: refused.",
        "",
        "## Performance",
        "| set | AUC (95 % CI) | Brier | C-index (95 % CI) | Uno's C | IBS | HR high vs low (95 % CI) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in m.get("metrics", {}).items():
        response = entry.get("response", {})
        survival = entry.get("survival", {})
        hr = survival.get("hazard_ratio")
        lines.append(
            f"| {_kind(name, entry)} | {_fmt(response.get('auc'), 2)}{_ci(response.get('auc_ci95'))} | "
            f"{_fmt(response.get('brier'), 3)} | "
            f"{_fmt(survival.get('c_index'), 2)}{_ci(survival.get('c_index_ci95'))} | "
            f"{_fmt(survival.get('uno_c_index'), 2)} | {_fmt(survival.get('integrated_brier'), 3)} | "
            f"{_fmt(hr, 2)}{_ci(survival.get('hazard_ratio_ci95'))} |"
        )
    versions = m.get("versions", {})
    lines += ["", *_metric_kinds(m.get("metrics", {})), *_baselines(m.get("metrics", {}))]
    lines += [
        "",
        "## Limitations",
        "- Trained on the cohort above only; performance elsewhere (other scanners, protocols, populations, "
        "treatments) is unknown until validated there.",
        "- Inputs outside the training range are flagged; survival beyond the training follow-up is held "
        "flat.",
        "- Explanations are baseline Shapley values against a median reference case: they show what moved "
        "this prediction, not causes.",
        "",
        "## Versions",
        ", ".join(f"{k} {v}" for k, v in versions.items()) + f"; bundle format {m.get('format_version')}; "
        f"clinical schema {m.get('clinical_schema_version')}; created {m.get('created')}.",
        "",
    ]
    return "\n".join(lines)
