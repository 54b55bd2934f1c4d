"""The ``prime`` command line."""

from __future__ import annotations

import re
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from PRIMELib import __version__
from PRIMELib.errors import PRIMEError
from PRIMELib.io import write_atomically

app = typer.Typer(
    name="prime",
    help="PRIME: response (PRIME-R) and survival (PRIME-S) prediction for HCC. Research use only.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
error_console = Console(stderr=True)

# typer before 0.29 raises click's exceptions; 0.29 and later those of its own bundled copy of click, and
# it no longer installs click. Take the classes from wherever typer's BadParameter comes from, so the
# command needs no click of its own and catches what the installed typer really raises.
_click_exceptions = sys.modules[typer.BadParameter.__module__]
_USAGE_ERROR = _click_exceptions.ClickException
_ABORT = tuple({typer.Abort, getattr(_click_exceptions, "Abort", typer.Abort)})


# Characters that steer a terminal (C0/C1 controls, ESC sequences) or reorder the text around them
# (bidirectional overrides and isolates): shown as visible escapes, never sent raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: Longest user text shown in one console message; the rest is counted, not printed.
MAX_SHOWN_CHARACTERS = 2000


def shown(value: object) -> str:
    """User text (a case id, a path, a value, a message quoting them) as the console may print it:
    never read as rich markup, never terminal control, at most :data:`MAX_SHOWN_CHARACTERS` long."""
    return escape(_visible(value))


def _visible(value: object) -> str:
    """User text bounded and with its terminal control characters escaped (not yet markup-escaped)."""
    text = str(value)
    if len(text) > MAX_SHOWN_CHARACTERS:
        text = f"{text[:MAX_SHOWN_CHARACTERS]}… ({len(text) - MAX_SHOWN_CHARACTERS} more characters)"
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def print_table(table: Table, out: Console | None = None) -> None:
    """Print ``table`` so that no value is cut, at any terminal width (``COLUMNS``).

    As it is when every value fits on its line; otherwise one small block per row (column name, value),
    which fits any width; a value longer than the whole width folds onto the next line, never cut.
    """
    from rich.measure import Measurement

    out = out or console
    for column in table.columns:
        column.overflow = "fold"
    needed = Measurement.get(out, out.options.update_width(1_000_000), table).maximum
    if not table.show_header or needed <= out.width:
        out.print(table)
        return
    if table.title:
        out.print(table.title, style="italic")
    columns = [(str(column.header), list(column.cells)) for column in table.columns]
    for index in range(table.row_count):
        block = Table(show_header=False, box=None, padding=(0, 1))
        block.add_column(style="bold", overflow="fold")
        block.add_column(overflow="fold")
        for header, cells in columns:
            block.add_row(header or "·", cells[index])
        out.print(block)
        out.print()
    if table.caption:
        out.print(table.caption, style="dim")


def _check_files(**sources: Path | list[Path] | None) -> None:
    """Refuse a missing input file (keyword: what it is, "arterial_image") before anything costly runs:
    no model is loaded and no library with a long import is imported for a command that cannot run."""
    from PRIMELib.pipeline import check_input_files

    named: dict[str, object] = {}
    for what, source in sources.items():
        for index, path in enumerate(source if isinstance(source, list) else [source]):
            named[what.replace("_", " ") + (f" {index + 1}" if isinstance(source, list) else "")] = path
    check_input_files(named)


def _progress_printer():
    def progress(fraction: float, message: str) -> None:
        error_console.print(f"[dim]{fraction:4.0%}[/dim] {shown(message)}")

    return progress


def _print_result(result, paths: dict[str, Path]) -> None:
    score = result.score
    table = Table(title=f"PRIME result for {shown(score.case_id)}", show_header=False)
    table.add_row(
        "PRIME-R response probability", f"{score.response_probability:.3f} ({score.response_class})"
    )
    table.add_row("PRIME-S risk score", f"{score.risk_score:+.3f} ({score.risk_group} risk)")
    for label, value in score.survival.items():
        table.add_row(f"Survival at {label.replace('_', ' ')}", f"{value:.3f}")
    table.add_row("Quadrant", shown(score.quadrant))
    table.add_row("", shown(score.quadrant_text))
    if score.imputed_fields:
        table.add_row("Imputed (missing) inputs", shown(", ".join(score.imputed_fields)))
    for warning in score.warnings:
        table.add_row("Warning", shown(warning))
    table.add_row("Model", shown(score.model_name))
    if score.model_card.get("sha256"):
        table.add_row("Model SHA-256", shown(score.model_card["sha256"]))
    print_table(table)
    console.print(
        f"[bold yellow]{shown(score.model_card.get('warning', 'Research use only.'))}[/bold yellow]"
    )
    for kind, path in paths.items():
        console.print(f"{kind}: {shown(path)}")


@app.command()
def demo(
    output: Annotated[Path, typer.Option(help="Folder for the demo case and its results.")] = Path(
        "prime-demo"
    ),
    report: Annotated[
        bool, typer.Option(help="Also write the patient report (report.html, report.pdf) with the results.")
    ] = True,
) -> None:
    """Generate the demo case, then load → extract → score → write, and print the result."""
    from PRIMELib.demo import write_demo_case
    from PRIMELib.pipeline import check_output_folder, score_case, write_case_outputs

    check_output_folder(output)
    case = write_demo_case(output / "case")
    console.print(f"Demo case written to {shown(case.directory)}")
    result = score_case(
        case.arterial_image,
        case.venous_image,
        case.tumour_mask,
        clinical=case.clinical_record,
        progress=_progress_printer(),
    )
    paths = write_case_outputs(result, output / "results")
    if report:
        paths.update(_write_report(result, output / "results"))
    _print_result(result, paths)


def _write_report(result, folder: Path) -> dict[str, Path]:
    """The patient report beside result.json: report.html, report.pdf and report_figures/."""
    from PRIMELib.reports import write_patient_report

    written = write_patient_report(result.score, folder / "report", record=result.clinical)
    return {f"report {kind}": path for kind, path in written.items()}


@app.command("score")
def score_command(
    arterial: Annotated[Path, typer.Option(help="Arterial-phase CT: NRRD/NIfTI file or DICOM folder.")],
    venous: Annotated[Path, typer.Option(help="Portal-venous-phase CT: NRRD/NIfTI file or DICOM folder.")],
    mask: Annotated[Path, typer.Option(help="Tumour mask on the arterial grid (used for both phases).")],
    clinical: Annotated[Path, typer.Option(help="Clinical record, a JSON object.")],
    output: Annotated[Path, typer.Option(help="Folder for result.json and features.csv.")],
    venous_mask: Annotated[
        Path | None, typer.Option(help="A separate tumour mask for the venous phase.")
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="A .prime model bundle (default: the shipped model).")
    ] = None,
    report: Annotated[
        bool, typer.Option(help="Also write the patient report (report.html, report.pdf) beside result.json.")
    ] = False,
    model_sha256: Annotated[
        str | None,
        typer.Option(help="Refuse any model bundle but the one with this SHA-256 (see `prime model-card`)."),
    ] = None,
) -> None:
    """Score one case from files and write its results."""
    from PRIMELib.pipeline import check_output_folder, score_case, write_case_outputs

    check_output_folder(output)  # before the extraction: a bad --output should not cost a minute
    result = score_case(
        arterial, venous, mask, venous_mask, clinical=clinical, model=model, progress=_progress_printer(),
        model_sha256=model_sha256,
    )  # fmt: skip
    paths = write_case_outputs(result, output)
    if report:
        paths.update(_write_report(result, output))
    _print_result(result, paths)


def _join_phases(arterial, venous, arterial_path: Path, venous_path: Path):
    """The two one-phase tables side by side; a case in one but not the other is an error."""
    from PRIMELib.errors import PRIMEInputError

    alone = sorted(set(arterial.index) ^ set(venous.index))
    if alone:
        raise PRIMEInputError(
            f"{len(alone)} case(s) are in only one of '{arterial_path.name}' and '{venous_path.name}': "
            f"{', '.join(map(str, alone[:10]))}.",
            field="features",
            hint="Extract both phases of every case.",
        )
    return arterial.join(venous, how="inner")


@app.command("score-features")
def score_features_command(
    model: Annotated[Path, typer.Option(help="The .prime model bundle.")],
    features: Annotated[
        Path,
        typer.Option(
            help="Radiomics table (CSV, one row per case, a case_id column), as `prime train` reads."
        ),
    ],
    output: Annotated[Path, typer.Option(help="JSON file for the results (a list, one object per case).")],
    clinical: Annotated[
        Path | None,
        typer.Option(
            help="Clinical values: a JSON object (one case) or a cohort table (CSV/Excel) with case_id."
        ),
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping for a cohort table.")] = None,
    phase: Annotated[
        str | None,
        typer.Option(
            help="The phase of a one-phase table's unprefixed PyRadiomics features: arterial (default) "
            "or venous."
        ),
    ] = None,
    id_from: Annotated[
        str | None,
        typer.Option(help="A regular expression finding the case id in PyRadiomics' Image path."),
    ] = None,
    venous_features: Annotated[
        Path | None,
        typer.Option(help="The venous phase's one-phase table; --features is then the arterial one."),
    ] = None,
) -> None:
    """Score cases whose radiomics are already extracted, with a trained bundle."""
    _check_files(
        model=model,
        feature_table=features,
        venous_features=venous_features,
        clinical=clinical,
        mapping=mapping,
    )
    from PRIMELib.bundle import load_bundle
    from PRIMELib.cohort_data import read_feature_table
    from PRIMELib.errors import PRIMEInputError
    from PRIMELib.io import write_json
    from PRIMELib.pipeline import clinical_features, load_clinical_record

    bundle = load_bundle(model)
    table = read_feature_table(features, phase="arterial" if venous_features else phase, id_from=id_from)
    notes = list(table.attrs.get("notes", []))
    if venous_features is not None:
        venous = read_feature_table(venous_features, phase="venous", id_from=id_from)
        notes += venous.attrs.get("notes", [])
        table = _join_phases(table, venous, features, venous_features)
    for note in notes:
        error_console.print(f"[dim]Note:[/dim] {shown(note)}")
    clinical_by_case: dict[str, dict[str, float]] = {}
    warnings_by_case: dict[str, list[str]] = {}
    if clinical is not None and clinical.suffix.lower() == ".json":
        values, warnings = clinical_features(load_clinical_record(clinical))
        clinical_by_case = {case: values for case in table.index}
        warnings_by_case = {case: warnings for case in table.index}
    elif clinical is not None:
        from PRIMELib.clinical.cohort import read_cohort

        cohort = read_cohort(clinical, mapping)
        for _, row in cohort.table.iterrows():
            record = {k: v for k, v in row.items() if v is not None and v == v}
            values, warnings = clinical_features(record)
            clinical_by_case[str(row["case_id"])] = values
            warnings_by_case[str(row["case_id"])] = warnings
    results, excluded = [], []
    for case_id, row in table.iterrows():
        values = {**row.dropna().to_dict(), **clinical_by_case.get(str(case_id), {})}
        try:
            result = bundle.score(values, case_id=str(case_id))
        except PRIMEInputError as error:
            # The one rule for missing radiomics (PRIMELib.cohort_data), as in `prime evaluate`: a case
            # the model cannot score is left out and named, never imputed; the others are still scored.
            excluded.append({"case_id": str(case_id), "reason": error.message})
            error_console.print(f"[yellow]{shown(case_id)}: left out[/yellow]: {shown(error.message)}")
            continue
        result.warnings.extend(warnings_by_case.get(str(case_id), []))
        results.append(result.to_dict())
        console.print(
            f"{shown(case_id)}: response {result.response_probability:.3f} ({result.response_class}), "
            f"risk {result.risk_score:+.3f} ({result.risk_group}), {shown(result.quadrant)}"
        )
    if excluded and not results:
        raise PRIMEInputError(
            f"The model could score none of the {len(table)} cases. First reason: {excluded[0]['reason']}",
            field="features",
            value=str(features),
            hint="Check that the table holds the model's features (see `prime model-card`).",
        )
    excluded_path = output.with_name(f"{output.stem}.excluded.csv")
    write_json(output, results)
    console.print(f"results: {shown(output)}")
    if excluded:
        import pandas as pd

        frame = pd.DataFrame(excluded, columns=["case_id", "reason"])
        write_atomically(excluded_path, lambda tmp: frame.to_csv(tmp, index=False))
        error_console.print(
            f"[bold yellow]{len(excluded)} of {len(table)} case(s) left out[/bold yellow] (the model cannot "
            f"score them; the reason for each is in {shown(excluded_path)})."
        )
    else:
        excluded_path.unlink(missing_ok=True)  # an earlier run's list would no longer be true
    console.print(f"[bold yellow]{shown(bundle.model_card['warning'])}[/bold yellow]")
    if excluded:  # as `prime batch`: every other case is written, and the exit code says not all were
        raise typer.Exit(1)


@app.command()
def train(
    clinical: Annotated[
        Path,
        typer.Option(
            help="Clinical table (CSV/Excel): case_id, clinical variables, response, os_days, os_event."
        ),
    ],
    output: Annotated[Path, typer.Option(help="The .prime bundle to write.")],
    features: Annotated[
        list[Path] | None, typer.Option(help="Radiomics table(s) with phase-prefixed names (repeatable).")
    ] = None,
    arterial_features: Annotated[
        Path | None, typer.Option(help="A PyRadiomics CSV of the arterial phase (names get 'arterial_').")
    ] = None,
    venous_features: Annotated[
        Path | None, typer.Option(help="A PyRadiomics CSV of the venous phase (names get 'venous_').")
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file for the clinical table.")] = None,
    external_centre: Annotated[
        str | None, typer.Option(help="Value of the 'centre' column whose cases form the external set.")
    ] = None,
    name: Annotated[str, typer.Option(help="The model's name, shown with every result.")] = "PRIME model",
    trained_on: Annotated[str, typer.Option(help="What data trained it, in words (for the model card).")] = (
        "a user-supplied cohort"
    ),
    intended_use: Annotated[
        str | None, typer.Option(help="The model card's intended use (default: research use only).")
    ] = None,
    warning: Annotated[
        str | None, typer.Option(help="The warning printed with every result (default: research use only).")
    ] = None,
    grid: Annotated[str, typer.Option(help="Hyper-parameter grids: default or quick.")] = "default",
    seed: Annotated[int, typer.Option(help="Random seed for splits, folds and models.")] = 2025,
    weighting: Annotated[
        str, typer.Option(help="PRIME-S weights: pseudo_bma_plus, pseudo_bma, concordance or equal.")
    ] = "pseudo_bma_plus",
    tau: Annotated[
        float, typer.Option(help="Temperature τ of the 'concordance' rule, exp((C − 0.5) / τ).")
    ] = 0.05,
    radiomics_params: Annotated[
        str, typer.Option(help="The PyRadiomics parameter set the features were extracted with.")
    ] = "prime_paper",
    n_jobs: Annotated[
        int, typer.Option(help="Parallel workers: outer folds of the nested validation, else grid search.")
    ] = 1,
    cv_folds: Annotated[
        int, typer.Option(help="Cross-validation folds (grid search, out-of-fold fusion, elastic net).")
    ] = 5,
    outer_folds: Annotated[
        int,
        typer.Option(
            help="Outer folds of the nested validation that estimates the whole procedure (0: skip it)."
        ),
    ] = 5,
    outer_repeats: Annotated[
        int, typer.Option(help="Repeats of the outer cross-validation, each with another seed.")
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://host:port): run the outer folds on a cluster."),
    ] = None,
    landmark_days: Annotated[
        str,
        typer.Option(
            help="PRIME-S's landmark when one-month features (delta_mon, delta_pt, …) are offered: 'auto' "
            "(30 days), N days, or 0 for the paper's way (clock at treatment start for everyone: "
            "immortal-time bias). A landmark model is trained, evaluated and scored on patients alive "
            "past it, timed from it."
        ),
    ] = "auto",
    response_algorithm: Annotated[
        list[str] | None,
        typer.Option(
            help="Response algorithm(s) to try (repeatable; default all: bagging, adaboost, "
            "stacking, rotation_forest, gtbr)."
        ),
    ] = None,
    survival_algorithm: Annotated[
        list[str] | None,
        typer.Option(help="Survival algorithm(s) to try (repeatable; default all: rsf, gbsa, fsvm)."),
    ] = None,
) -> None:
    """Train PRIME-R and PRIME-S (grid search inside the training set, late fusion) and write a bundle.

    The headline estimate is nested cross-validation of the whole procedure (--outer-folds), with plain
    clinical and radiomics baselines beside it; the final models are then fitted on all training cases.
    """
    _check_files(
        clinical_table=clinical, feature_table=list(features or ()), arterial_feature_table=arterial_features,
        venous_feature_table=venous_features, mapping=mapping,
    )  # fmt: skip
    from rich.progress import Progress

    from PRIMELib.bundle import save_bundle
    from PRIMELib.models import SelectionSettings
    from PRIMELib.training import TrainingConfig, load_training_data, train_prime

    data = load_training_data(
        clinical,
        features=features or (),
        arterial_features=arterial_features,
        venous_features=venous_features,
        mapping=mapping,
    )
    config = TrainingConfig(
        random_state=seed,
        external_centre=external_centre,
        grid=grid,
        bma_weighting=weighting,
        bma_tau=tau,
        radiomics_params=radiomics_params,
        n_jobs=n_jobs,
        cv_folds=cv_folds,
        selection=SelectionSettings(cv_folds=cv_folds),
        outer_folds=outer_folds,
        outer_repeats=outer_repeats,
        landmark_days=_landmark_option(landmark_days),
    )
    if response_algorithm:
        config.response_algorithms = tuple(response_algorithm)
    if survival_algorithm:
        config.survival_algorithms = tuple(survival_algorithm)
    with Progress(console=error_console) as bar:
        task = bar.add_task("Training", total=1.0)

        def progress(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, description=shown(message))

        result = train_prime(data, config, progress=progress, scheduler=scheduler)
    _print_summary(result.summary)
    _print_headline(result.metrics)
    _print_missing_data(result)
    _print_clinical_columns(result.cohort.get("clinical_columns"))
    card = {"intended_use": intended_use, "warning": warning}
    path = save_bundle(
        result, output, name=name, trained_on=trained_on, **{k: v for k, v in card.items() if v}
    )
    summary_path = write_atomically(
        output.with_suffix(".summary.csv"), lambda tmp: result.summary.to_csv(tmp, index=False)
    )
    console.print(
        f"bundle: {shown(path)}\nsummary: {shown(summary_path)}\ntraining time: {result.seconds:.0f} s"
    )


def _print_summary(summary) -> None:
    table = Table(
        title="Training candidates (choice by selection-CV; test and external never used to choose)",
        caption="selection-CV*: optimistic (chosen and fused on the same folds). nested CV: the whole "
        "procedure refitted in every outer fold (pooled out-of-fold, 95 % CI). test: internal test. "
        "external: external centre.",
    )
    for column in (
        "endpoint",
        "modality",
        "algorithm",
        "fusion",
        "metric",
        "selection-CV*",
        "nested CV",
        "test",
        "external",
        "n feat.",
        "",
    ):
        table.add_column(column)
    nested = summary["nested"] if "nested" in summary else [float("nan")] * len(summary)
    for row, estimate in zip(summary.itertuples(), nested, strict=True):
        cv = "–" if row.cv_mean != row.cv_mean else f"{row.cv_mean:.3f}"
        if row.cv_sd == row.cv_sd:
            cv += f" ± {row.cv_sd:.3f}"
        nested_cv = (
            "" if estimate != estimate else f"{estimate:.3f} ({row.nested_low:.2f}–{row.nested_high:.2f})"
        )
        table.add_row(
            *(shown(v) for v in (row.endpoint, row.modality, row.algorithm, row.fusion, row.metric)),
            cv, nested_cv, f"{row.test:.3f}", f"{row.external:.3f}", str(row.n_features),
            "chosen" if row.chosen else "",
        )  # fmt: skip
    print_table(table)


def _print_clinical_columns(columns) -> None:
    """How each coded clinical column became model inputs, and every offered column left unused, with why."""
    if not columns:
        return
    for name, how in columns["encoded"].items():
        console.print(f"clinical {shown(name)}: encoded as {shown(how)}", highlight=False)
    for name, why in columns["unused"].items():
        console.print(f"clinical {shown(name)}: not used: {shown(why)}", highlight=False)


def _print_missing_data(result) -> None:
    """Cases left out and columns dropped or imputed in training: said, never done silently."""
    lines = []
    blank = result.excluded_cases.get("no_radiomics", [])
    if blank:
        lines.append(
            f"{len(blank)} case(s) left out: their radiomics are all blank ({', '.join(blank[:10])}"
            + (" …" if len(blank) > 10 else "")
            + ")."
        )
    landmark = result.cohort.get("landmark", {})
    if landmark.get("days"):
        lines.append(f"PRIME-S is a landmark model (--landmark-days 0: the paper's way). {landmark['note']}")
    dropped = result.cohort.get("all_missing_columns", [])
    if dropped:
        lines.append(f"{len(dropped)} column(s) blank in every training case, unused: {', '.join(dropped)}.")
    imputed = result.cohort.get("imputed_columns", {})
    if imputed:
        shown_columns = sorted(imputed.items(), key=lambda item: -item[1])
        lines.append(
            f"{len(imputed)} column(s) with blank training values, imputed with the training median: "
            + ", ".join(f"{name} ({100 * fraction:.0f} %)" for name, fraction in shown_columns[:10])
            + (" …" if len(imputed) > 10 else "")
            + "."
        )
    for line in lines:
        console.print(shown(line))


def _landmark_option(text: str) -> float | str:
    """--landmark-days: 'auto', or a number of days (0: none)."""
    from PRIMELib.errors import PRIMEInputError

    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise PRIMEInputError(
            f"--landmark-days must be 'auto', 0 or a number of days; got {text!r}.",
            field="--landmark-days",
            value=text,
            expected="auto, 0 (the paper's way) or days after treatment start, e.g. 30",
        ) from None


def _print_headline(metrics) -> None:
    """The nested estimate of PRIME-R and PRIME-S beside the baselines: does fusion help here?"""
    nested = metrics.get("nested")
    if not nested:
        console.print("nested CV: skipped (--outer-folds 0); the selection-CV above is optimistic.")
        return
    folds = f"{nested['outer_folds']}-fold" + (f" × {nested['repeats']}" if nested["repeats"] > 1 else "")

    def estimate(entry, key) -> str:
        ci = entry.get(f"{key}_ci95")
        return f"{entry[key]:.3f}" + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")

    lines = [f"nested CV ({folds}, pooled out-of-fold, 95 % CI):"]
    for endpoint, model, key, label in (
        ("response", "PRIME-R", "auc", "AUC"), ("survival", "PRIME-S", "c_index", "C-index")
    ):  # fmt: skip
        others = [
            f"{name.replace('_', ' ')} {estimate(entry, key)}"
            for name, entry in nested.get("baselines", {}).items()
            if key in entry
        ]
        lines.append(
            f"  {model} {label} {estimate(nested[endpoint], key)}"
            + (f"; baselines: {', '.join(others)}" if others else "")
        )
    console.print(shown("\n".join(lines)))


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="The .prime model bundle.")],
    features: Annotated[
        Path,
        typer.Argument(
            help="Feature table (CSV with a case_id column): the radiomics, or, without --clinical, "
            "everything (model inputs and the outcomes response, os_days, os_event)."
        ),
    ],
    output: Annotated[
        Path, typer.Option(help="Folder for evaluation.json, predictions.csv, figures/ and the report.")
    ],
    clinical: Annotated[
        Path | None,
        typer.Option(
            help="Clinical table (CSV/Excel): case_id, clinical variables and the outcomes, as "
            "`prime train` reads it."
        ),
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file for the clinical table.")] = None,
    phase: Annotated[
        str | None,
        typer.Option(
            help="FEATURES is a one-phase table (PyRadiomics' batch output) of this phase: arterial or "
            "venous. Needs --clinical."
        ),
    ] = None,
    venous_features: Annotated[
        Path | None,
        typer.Option(help="The venous phase's one-phase table; FEATURES is then the arterial one."),
    ] = None,
    set_column: Annotated[
        str | None,
        typer.Option(
            help="Column giving each case's set; 'all' for one set. Default: the model's own "
            "train/test/external split when the cohort holds its cases, else a 'set' or 'centre' column."
        ),
    ] = None,
    adjust_for: Annotated[
        list[str] | None,
        typer.Option(
            help="Column to adjust the risk-group hazard ratio for (repeatable), e.g. subsequent_therapy."
        ),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap resamples for the 95 % CIs (0: none).")
    ] = 200,
    report_format: Annotated[
        str, typer.Option("--format", help="Report formats: html, pdf, html,pdf, or none.")
    ] = "html,pdf",
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resamples.")] = 0,
) -> None:
    """Evaluate a trained bundle on a cohort: metrics with 95 % CIs, figures and the cohort report."""
    _check_files(
        model=model, feature_table=features, venous_features=venous_features, clinical_table=clinical,
        mapping=mapping,
    )  # fmt: skip
    from PRIMELib.bundle import load_bundle
    from PRIMELib.evaluation.cohort_sets import load_evaluation_cohort
    from PRIMELib.evaluation.evaluate import evaluate_bundle
    from PRIMELib.reports.cohort import check_formats, write_evaluation_outputs

    text = report_format.lower().replace(" ", "")
    formats = [] if text == "none" else text.split(",")
    check_formats(formats, allow_none=True)  # before the work, not after it
    cohort = load_evaluation_cohort(
        features,
        clinical,
        mapping=mapping,
        set_column=set_column,
        phase=phase,
        venous_features=venous_features,
    )
    for note in cohort.table.attrs.get("notes", []):
        error_console.print(f"[dim]Note:[/dim] {shown(note)}")
    bundle = load_bundle(model)  # after the cohort: a bad table should not wait for a bundle's checks
    with _batch_progress() as progress:
        evaluation = evaluate_bundle(
            bundle, cohort, sets=set_column, n_bootstrap=bootstrap, adjust_for=adjust_for,
            random_state=seed, progress=progress,
        )  # fmt: skip
    paths = write_evaluation_outputs(evaluation, output, formats=formats)
    summary = evaluation.summary().T
    table = Table(title=f"{shown(bundle.name)} on {len(evaluation.predictions)} cases")
    table.add_column("")
    for name in summary.columns:
        table.add_column(shown(name))
    for metric, row in summary.iterrows():
        table.add_row(shown(metric), *(shown(v) for v in row))
    print_table(table)
    console.print(f"Sets: {shown(evaluation.settings['sets'])}.", highlight=False)
    for warning in evaluation.warnings:
        error_console.print(f"[bold yellow]Warning:[/bold yellow] {shown(warning)}", highlight=False)
    for kind, path in paths.items():
        console.print(f"{kind}: {shown(path)}")
    console.print(f"[bold yellow]{shown(bundle.model_card['warning'])}[/bold yellow]")


@app.command("model-card")
def model_card_command(
    model: Annotated[Path, typer.Argument(help="The .prime model bundle.")],
) -> None:
    """Check a model bundle and print its model card (Markdown) and its SHA-256."""
    _check_files(model=model)
    from PRIMELib.bundle import load_bundle

    bundle = load_bundle(model)
    console.print(bundle.model_card_markdown(), markup=False, highlight=False)
    console.print(f"\nBundle SHA-256: {bundle.sha256}", markup=False, highlight=False)


#: Largest synthetic cohort `prime synth` makes (a typo of a few zeros would run for hours).
MAX_SYNTH_PATIENTS = 100_000


@app.command()
def synth(
    output: Annotated[Path, typer.Option(help="Folder for the synthetic cohort.")] = Path("prime-synth"),
    n_a: Annotated[int, typer.Option("--n-a", help="Patients of centre A (training/internal).")] = 113,
    n_b: Annotated[int, typer.Option("--n-b", help="Patients of centre B (external validation).")] = 133,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same cohort.")] = 2026,
    images: Annotated[bool, typer.Option(help="Render the dual-phase CT phantoms and masks.")] = True,
    spacing: Annotated[
        tuple[float, float, float], typer.Option(help="Voxel spacing x y z of the phantoms, mm.")
    ] = (0.7, 0.7, 5.0),
    satellites: Annotated[bool, typer.Option(help="Add satellite lesions to multifocal patients.")] = False,
) -> None:
    """Generate a synthetic two-centre cohort with known truth (clinical, outcomes, CT phantoms)."""
    import math

    from PRIMELib.errors import PRIMEInputError
    from PRIMELib.pipeline import check_output_folder

    # Checked here, before any work: the generator would write a "cohort of -2 patients" or fail deep
    # inside numpy on a negative count or seed, and divide by a zero spacing.
    for name, count in (("--n-a", n_a), ("--n-b", n_b)):
        if count < 0:
            raise PRIMEInputError(
                f"{name} is {count}.", field=name, value=count, expected="0 or more patients"
            )
    if n_a + n_b < 1:
        raise PRIMEInputError(
            "The cohort has no patient.", field="--n-a", expected="--n-a + --n-b of 1 or more"
        )
    if n_a + n_b > MAX_SYNTH_PATIENTS:
        raise PRIMEInputError(
            f"A cohort of {n_a + n_b} patients is too large to generate here.",
            field="--n-a",
            value=n_a + n_b,
            expected=f"--n-a + --n-b of at most {MAX_SYNTH_PATIENTS:,}",
        )
    if seed < 0:
        raise PRIMEInputError(f"--seed is {seed}.", field="--seed", value=seed, expected="0 or more")
    if not all(math.isfinite(s) and 0.1 <= s <= 20.0 for s in spacing):
        raise PRIMEInputError(
            f"--spacing is {' '.join(f'{s:g}' for s in spacing)} mm.",
            field="--spacing",
            value=spacing,
            expected="three voxel sizes from 0.1 to 20 mm, e.g. 0.7 0.7 5",
        )
    check_output_folder(output)
    from PRIMELib.synth import generate_cohort

    cohort = generate_cohort(
        output,
        sizes={"A": n_a, "B": n_b},
        seed=seed,
        images=images,
        spacing_mm=spacing,
        satellites=satellites,
        progress=_progress_printer() if images else None,
    )
    console.print(f"Synthetic cohort of {n_a + n_b} patients written to {shown(cohort.directory)}")
    console.print(
        f"clinical: {shown(cohort.clinical)}\ntruth: {shown(cohort.truth)}\n"
        f"manifest: {shown(cohort.manifest)}"
    )


@app.command()
def batch(
    manifest: Annotated[
        Path, typer.Argument(help="CSV/Excel manifest: case_id, arterial, venous, mask, ...")
    ],
    output: Annotated[
        Path, typer.Option(help="Folder for the tables, per-case files and the run log.")
    ] = Path("prime-batch"),
    mode: Annotated[str, typer.Option(help="'extract' (radiomics only) or 'score' (radiomics + models).")] = (
        "extract"
    ),
    params: Annotated[str, typer.Option(help="Radiomics parameter set or YAML file (extract mode).")] = (
        "prime_paper"
    ),
    model: Annotated[
        Path | None, typer.Option(help="Model file (score mode); default: the bundled one.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Cases processed in parallel on this machine.")] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:port) to run on a cluster instead.")
    ] = None,
    reports: Annotated[
        bool,
        typer.Option(
            help="Score mode: also write each case's patient report to reports/<case_id>.html and .pdf "
            "(finished cases get theirs without being recomputed)."
        ),
    ] = False,
) -> None:
    """Process a cohort: parallel, resumable (unchanged cases are kept), a bad case never stops the rest."""
    _check_files(manifest=manifest, model=model)
    from PRIMELib.batch import BatchSettings, run_batch

    settings = BatchSettings(mode=mode, params=params, model=str(model) if model else None, reports=reports)
    with _batch_progress() as progress:
        summary = run_batch(
            manifest, output, settings=settings, workers=workers, scheduler=scheduler, progress=progress
        )
    # No title: rich wraps a title to the table's width, and two narrow columns broke it mid-phrase.
    table = Table(show_header=False)
    table.add_row("cases", f"{summary.total} ({summary.seconds:.0f} s)")
    table.add_row("done", str(summary.succeeded))
    table.add_row("unchanged (kept)", str(summary.skipped))
    table.add_row("failed", str(summary.failed))
    for failure in summary.failures:
        table.add_row(f"  {shown(failure['case_id'])} ({shown(failure['stage'])})", shown(failure["error"]))
    print_table(table)
    for kind, path in summary.outputs.items():
        console.print(f"{kind}: {shown(path)}")
    if not summary.ok:
        raise typer.Exit(1)


class _batch_progress:  # noqa: N801  (used as a context manager, reads like a function)
    """A progress bar with rate and ETA on a terminal; plain lines otherwise."""

    def __enter__(self):
        if not error_console.is_terminal:
            return lambda fraction, message: error_console.print(
                f"{fraction:4.0%} {shown(message)}", highlight=False
            )
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=error_console,
        )
        self._bar.start()
        task = self._bar.add_task("cases", total=1.0)
        return lambda fraction, message: self._bar.update(
            task, completed=fraction, description=shown(message)
        )

    def __exit__(self, *exc) -> None:
        if hasattr(self, "_bar"):
            self._bar.stop()


@app.command("extract")
def extract_command(
    arterial: Annotated[Path, typer.Option(help="Arterial-phase CT: NRRD/NIfTI file or DICOM folder.")],
    venous: Annotated[Path, typer.Option(help="Portal-venous-phase CT: NRRD/NIfTI file or DICOM folder.")],
    mask: Annotated[
        Path,
        typer.Option(
            help="Tumour mask (label map or Slicer .seg.nrrd) of the arterial phase; both phases "
            "use it unless --venous-mask is given (resampled into the venous grid if the grids differ)."
        ),
    ],
    output: Annotated[Path, typer.Option(help="Features table, .csv or .parquet; diagnostics go beside it.")],
    venous_mask: Annotated[
        Path | None, typer.Option(help="A separate tumour mask for the venous phase.")
    ] = None,
    params: Annotated[str, typer.Option(help="'prime_paper', 'prime_quick' or a PyRadiomics YAML file.")] = (
        "prime_paper"
    ),
    features: Annotated[
        str | None,
        typer.Option(
            help="Only these columns (feature-on-demand): a text file with one per line, or a "
            "comma-separated list."
        ),
    ] = None,
    label: Annotated[int | None, typer.Option(help="The tumour label of a multi-label mask.")] = None,
    segment: Annotated[str | None, typer.Option(help="The tumour segment's name in a .seg.nrrd.")] = None,
    lesions: Annotated[str, typer.Option(help="'all' lesions as one ROI, or the 'largest' one.")] = "all",
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            max=64,
            help="Processes at most (1: this one only; 2: both phases side by side; more split a large "
            "tumour's filters; with 2 or more, a large tumour's mesh diameters get one more). 0: as many "
            "as free cores and memory allow.",
        ),
    ] = 1,
    case_id: Annotated[str, typer.Option(help="The case's id in the table.")] = "case",
) -> None:
    """Extract one case's dual-phase radiomics to a one-row table (CSV or Parquet)."""
    _check_files(arterial_image=arterial, venous_image=venous, arterial_mask=mask, venous_mask=venous_mask)
    from PRIMELib.errors import PRIMEInputError
    from PRIMELib.pipeline import check_output_folder

    check_output_folder(output.parent, field="output table's")  # before the extraction, not after
    if output.is_dir():
        raise PRIMEInputError(
            f"The output '{output}' is a folder.", field="output", expected="the table's file name (.csv)"
        )
    from PRIMELib.radiomics.extract import extract_case
    from PRIMELib.radiomics.table import write_case_tables

    wanted = None
    if features is not None:
        source = Path(features)
        try:
            text = source.read_text(encoding="utf-8") if source.is_file() else features.replace(",", "\n")
        except (UnicodeDecodeError, OSError) as error:
            from PRIMELib.errors import PRIMEInputError

            raise PRIMEInputError(
                f"The feature list '{source}' cannot be read ({type(error).__name__}).",
                field="features",
                value=str(source),
                expected="a UTF-8 text file with one feature column per line, or a comma-separated list",
            ) from None
        wanted = [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]
    printed = {"step": -1}

    def progress(fraction: float, message: str) -> None:
        if int(fraction * 20) > printed["step"]:  # a line every 5 %
            printed["step"] = int(fraction * 20)
            error_console.print(f"[dim]{fraction:4.0%}[/dim] {shown(message)}", highlight=False)

    result = extract_case(
        arterial,
        venous,
        mask,
        venous_mask,
        params=params if not params.endswith((".yaml", ".yml", ".json")) else Path(params),
        features=wanted,
        label=label,
        segment=segment,
        lesions=lesions,
        workers=workers or None,
        progress=progress,
    )
    paths = write_case_tables({case_id: result}, output)
    for warning in result.warnings:
        error_console.print(f"[bold yellow]Warning:[/bold yellow] {shown(warning)}")
    console.print(f"{len(result.values)} features in {result.diagnostics['seconds']:.1f} s")
    for kind, path in paths.items():
        console.print(f"{kind}: {shown(path)}")


@app.command("import-clinical")
def import_clinical_command(
    sheet: Annotated[Path, typer.Argument(help="The clinical sheet: .csv, .tsv, .txt, .xlsx or .xlsm.")],
    mapping: Annotated[
        Path, typer.Option(help="The mapping file (YAML): columns, units, values, response, centre, ignore.")
    ],
    output: Annotated[Path, typer.Option(help="The canonical clinical table to write (.csv).")],
    sheet_name: Annotated[
        str | None, typer.Option("--sheet", help="The Excel sheet (default: the mapping's, or the first).")
    ] = None,
) -> None:
    """Turn a clinical sheet in its own conventions into PRIME's canonical table, with a report of every
    decision (renamed columns, unit conversions, recoded values, derived labels, ignored columns)."""
    _check_files(sheet=sheet, mapping=mapping)
    from PRIMELib.clinical.importing import import_clinical, report_paths

    report = import_clinical(sheet, mapping, output, sheet_name=sheet_name)
    table = Table(title=f"Imported {report.cases} cases from {shown(report.sheet)}", show_header=False)
    table.add_column("What")
    table.add_column("Decisions", overflow="fold")
    table.add_row("renamed", shown(", ".join(f"{a} → {b}" for a, b in report.renamed.items()) or "none"))
    table.add_row(
        "units",
        shown(", ".join(f"{c['column']}: {c['from']} → {c['to']}" for c in report.conversions) or "none"),
    )
    table.add_row(
        "recoded", shown(", ".join(f"{r['column']} → {r['name']}" for r in report.recoded) or "none")
    )
    table.add_row(
        "derived", shown("; ".join(f"{d['label']} from {d['column']}" for d in report.derived) or "none")
    )
    table.add_row("ignored", shown(", ".join(report.ignored) or "none"))
    print_table(table)
    for warning in report.warnings:
        error_console.print(f"[bold yellow]Warning:[/bold yellow] {shown(warning)}")
    console.print(f"table: {shown(output)}")
    for kind, path in report_paths(output).items():
        console.print(f"report ({kind}): {shown(path)}")


@app.command()
def version() -> None:
    """Print the PRIMELib version."""
    console.print(f"PRIMELib {__version__}")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``prime`` command: library errors become one clear line and exit status 2."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:  # `kill` (or a cluster's scheduler) stops a batch like Ctrl-C
        previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        # Without standalone mode Typer returns the exit code of typer.Exit (130 for Ctrl-C).
        code = app(args=argv, standalone_mode=False)
    except PRIMEError as error:
        error_console.print(f"[bold red]Error:[/bold red] {shown(error)}")
        return 2
    except _ABORT:
        code = 130
    except _USAGE_ERROR as error:  # usage errors: click's own text, the user's part in it bounded
        error.message = _visible(error.message)
        error.show()
        return error.exit_code
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous_handler)
    if code == 130:
        error_console.print(
            "Interrupted. No half-written file is left; run the same command again to resume "
            "(a batch keeps its finished cases).",
            soft_wrap=True,
        )
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
