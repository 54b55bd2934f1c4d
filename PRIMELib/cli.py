"""The ``prime`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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
def version() -> None:
    """Print the PRIMELib version."""
    console.print(f"PRIMELib {__version__}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``prime`` command: library errors become one clear line and exit status 2."""
    try:
        app(args=argv, standalone_mode=False)
    except PRIMEError as error:
        error_console.print(f"[bold red]Error:[/bold red] {error}")
        return 2
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.Abort:
        error_console.print("Aborted.")
        return 130
    except Exception as error:  # click's usage errors
        import click

        if isinstance(error, click.ClickException):
            error.show()
            return error.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
