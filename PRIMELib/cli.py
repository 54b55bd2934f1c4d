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
    text = str(value)
    if len(text) > MAX_SHOWN_CHARACTERS:
        text = f"{text[:MAX_SHOWN_CHARACTERS]}… ({len(text) - MAX_SHOWN_CHARACTERS} more characters)"
    text = _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)
    return escape(text)


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
    console.print(table)
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
    from PRIMELib.pipeline import score_case, write_case_outputs

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
    from PRIMELib.pipeline import score_case, write_case_outputs

    result = score_case(
        arterial, venous, mask, venous_mask, clinical=clinical, model=model, progress=_progress_printer(),
        model_sha256=model_sha256,
    )  # fmt: skip
    paths = write_case_outputs(result, output)
    if report:
        paths.update(_write_report(result, output))
    _print_result(result, paths)


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
) -> None:
    """Score cases whose radiomics are already extracted, with a trained bundle."""
    from PRIMELib.bundle import load_bundle
    from PRIMELib.io import write_json
    from PRIMELib.pipeline import clinical_features, load_clinical_record
    from PRIMELib.training import read_feature_table

    bundle = load_bundle(model)
    table = read_feature_table(features)
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
    results = []
    for case_id, row in table.iterrows():
        values = {**row.dropna().to_dict(), **clinical_by_case.get(str(case_id), {})}
        result = bundle.score(values, case_id=str(case_id))
        result.warnings.extend(warnings_by_case.get(str(case_id), []))
        results.append(result.to_dict())
        console.print(
            f"{shown(case_id)}: response {result.response_probability:.3f} ({result.response_class}), "
            f"risk {result.risk_score:+.3f} ({result.risk_group}), {shown(result.quadrant)}"
        )
    write_json(output, results)
    console.print(f"results: {shown(output)}")
    console.print(f"[bold yellow]{shown(bundle.model_card['warning'])}[/bold yellow]")


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
    n_jobs: Annotated[int, typer.Option(help="Parallel grid-search workers.")] = 1,
    cv_folds: Annotated[
        int, typer.Option(help="Cross-validation folds (grid search, out-of-fold fusion, elastic net).")
    ] = 5,
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
    """Train PRIME-R and PRIME-S (grid search inside the training set, late fusion) and write a bundle."""
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
    )
    if response_algorithm:
        config.response_algorithms = tuple(response_algorithm)
    if survival_algorithm:
        config.survival_algorithms = tuple(survival_algorithm)
    with Progress(console=error_console) as bar:
        task = bar.add_task("Training", total=1.0)

        def progress(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, description=shown(message))

        result = train_prime(data, config, progress=progress)
    _print_summary(result.summary)
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
    table = Table(title="Training candidates (choice by CV; test and external never used to choose)")
    for column in (
        "endpoint",
        "modality",
        "algorithm",
        "fusion",
        "metric",
        "CV",
        "test",
        "external",
        "n feat.",
        "",
    ):
        table.add_column(column)
    for row in summary.itertuples():
        table.add_row(
            *(shown(v) for v in (row.endpoint, row.modality, row.algorithm, row.fusion, row.metric)),
            f"{row.cv_mean:.3f}" + ("" if row.cv_sd != row.cv_sd else f" ± {row.cv_sd:.3f}"),
            f"{row.test:.3f}", f"{row.external:.3f}", str(row.n_features), "chosen" if row.chosen else "",
        )  # fmt: skip
    console.print(table)


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
    from PRIMELib.bundle import load_bundle
    from PRIMELib.evaluation.cohort_sets import load_evaluation_cohort
    from PRIMELib.evaluation.evaluate import evaluate_bundle
    from PRIMELib.reports.cohort import check_formats, write_evaluation_outputs

    text = report_format.lower().replace(" ", "")
    formats = [] if text == "none" else text.split(",")
    check_formats(formats, allow_none=True)  # before the work, not after it
    bundle = load_bundle(model)
    cohort = load_evaluation_cohort(features, clinical, mapping=mapping, set_column=set_column)
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
    console.print(table)
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
    from PRIMELib.bundle import load_bundle

    bundle = load_bundle(model)
    console.print(bundle.model_card_markdown(), markup=False, highlight=False)
    console.print(f"\nBundle SHA-256: {bundle.sha256}", markup=False, highlight=False)


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
    from PRIMELib.batch import BatchSettings, run_batch

    settings = BatchSettings(mode=mode, params=params, model=str(model) if model else None, reports=reports)
    with _batch_progress() as progress:
        summary = run_batch(
            manifest, output, settings=settings, workers=workers, scheduler=scheduler, progress=progress
        )
    table = Table(title=f"Batch of {summary.total} cases ({summary.seconds:.0f} s)", show_header=False)
    table.add_row("done", str(summary.succeeded))
    table.add_row("unchanged (kept)", str(summary.skipped))
    table.add_row("failed", str(summary.failed))
    for failure in summary.failures:
        table.add_row(f"  {shown(failure['case_id'])} ({shown(failure['stage'])})", shown(failure["error"]))
    console.print(table)
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
    workers: Annotated[int, typer.Option(min=1, max=2, help="2: both phases in parallel processes.")] = 1,
    case_id: Annotated[str, typer.Option(help="The case's id in the table.")] = "case",
) -> None:
    """Extract one case's dual-phase radiomics to a one-row table (CSV or Parquet)."""
    from PRIMELib.radiomics.extract import extract_case
    from PRIMELib.radiomics.table import write_case_tables

    wanted = None
    if features is not None:
        source = Path(features)
        text = source.read_text(encoding="utf-8") if source.is_file() else features.replace(",", "\n")
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
        workers=workers,
        progress=progress,
    )
    paths = write_case_tables({case_id: result}, output)
    for warning in result.warnings:
        error_console.print(f"[bold yellow]Warning:[/bold yellow] {shown(warning)}")
    console.print(f"{len(result.values)} features in {result.diagnostics['seconds']:.1f} s")
    for kind, path in paths.items():
        console.print(f"{kind}: {shown(path)}")


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
    except _USAGE_ERROR as error:  # usage errors
        error.show()
        return error.exit_code
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous_handler)
    if code == 130:
        error_console.print("Interrupted. Finished cases are kept: run the same command again to resume.")
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
