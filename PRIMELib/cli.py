"""The ``prime`` command line."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table

from PRIMELib import __version__
from PRIMELib.errors import PRIMEError

app = typer.Typer(
    name="prime",
    help="PRIME: response (PRIME-R) and survival (PRIME-S) prediction for HCC. Research use only.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
error_console = Console(stderr=True)


def _progress_printer():
    def progress(fraction: float, message: str) -> None:
        error_console.print(f"[dim]{fraction:4.0%}[/dim] {message}")

    return progress


def _print_result(result, paths: dict[str, Path]) -> None:
    score = result.score
    table = Table(title=f"PRIME result for {score.case_id}", show_header=False)
    table.add_row(
        "PRIME-R response probability", f"{score.response_probability:.3f} ({score.response_class})"
    )
    table.add_row("PRIME-S risk score", f"{score.risk_score:+.3f} ({score.risk_group} risk)")
    for label, value in score.survival.items():
        table.add_row(f"Survival at {label.replace('_', ' ')}", f"{value:.3f}")
    table.add_row("Quadrant", score.quadrant)
    table.add_row("", score.quadrant_text)
    if score.imputed_fields:
        table.add_row("Imputed (missing) inputs", ", ".join(score.imputed_fields))
    for warning in score.warnings:
        table.add_row("Warning", warning)
    table.add_row("Model", score.model_name)
    console.print(table)
    console.print(f"[bold yellow]{score.model_card.get('warning', 'Research use only.')}[/bold yellow]")
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")


@app.command()
def demo(
    output: Annotated[Path, typer.Option(help="Folder for the demo case and its results.")] = Path(
        "prime-demo"
    ),
) -> None:
    """Generate the demo case, then load → extract → score → write, and print the result."""
    from PRIMELib.demo import write_demo_case
    from PRIMELib.pipeline import score_case, write_case_outputs

    case = write_demo_case(output / "case")
    console.print(f"Demo case written to {case.directory}")
    result = score_case(
        case.arterial_image,
        case.venous_image,
        case.tumour_mask,
        clinical=case.clinical_record,
        progress=_progress_printer(),
    )
    paths = write_case_outputs(result, output / "results")
    _print_result(result, paths)


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
) -> None:
    """Score one case from files and write its results."""
    from PRIMELib.pipeline import score_case, write_case_outputs

    result = score_case(arterial, venous, mask, venous_mask, clinical=clinical, progress=_progress_printer())
    _print_result(result, write_case_outputs(result, output))


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
    console.print(f"Synthetic cohort of {n_a + n_b} patients written to {cohort.directory}")
    console.print(f"clinical: {cohort.clinical}\ntruth: {cohort.truth}\nmanifest: {cohort.manifest}")


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
) -> None:
    """Process a cohort: parallel, resumable (unchanged cases are kept), a bad case never stops the rest."""
    from PRIMELib.batch import BatchSettings, run_batch

    settings = BatchSettings(mode=mode, params=params, model=str(model) if model else None)
    with _batch_progress() as progress:
        summary = run_batch(
            manifest, output, settings=settings, workers=workers, scheduler=scheduler, progress=progress
        )
    table = Table(title=f"Batch of {summary.total} cases ({summary.seconds:.0f} s)", show_header=False)
    table.add_row("done", str(summary.succeeded))
    table.add_row("unchanged (kept)", str(summary.skipped))
    table.add_row("failed", str(summary.failed))
    for failure in summary.failures:
        table.add_row(f"  {failure['case_id']} ({failure['stage']})", failure["error"])
    console.print(table)
    for kind, path in summary.outputs.items():
        console.print(f"{kind}: {path}")
    if not summary.ok:
        raise typer.Exit(1)


class _batch_progress:  # noqa: N801  (used as a context manager, reads like a function)
    """A progress bar with rate and ETA on a terminal; plain lines otherwise."""

    def __enter__(self):
        if not error_console.is_terminal:
            return lambda fraction, message: error_console.print(
                f"{fraction:4.0%} {message}", highlight=False
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
        return lambda fraction, message: self._bar.update(task, completed=fraction, description=message)

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
    shown = {"step": -1}

    def progress(fraction: float, message: str) -> None:
        if int(fraction * 20) > shown["step"]:  # a line every 5 %
            shown["step"] = int(fraction * 20)
            error_console.print(f"[dim]{fraction:4.0%}[/dim] {message}", highlight=False)

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
        error_console.print(f"[bold yellow]Warning:[/bold yellow] {warning}")
    console.print(f"{len(result.values)} features in {result.diagnostics['seconds']:.1f} s")
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")


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
        error_console.print(f"[bold red]Error:[/bold red] {error}")
        return 2
    except click.exceptions.Abort:
        code = 130
    except click.ClickException as error:  # usage errors
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
