"""A synthetic two-centre cohort written to disk: clinical table, truth, images and a manifest.

Layout of the output folder::

    clinical.csv   one row per patient: clinical variables (schema names and units), centre,
                   outcomes (response, mrecist, os_days, os_event)
    truth.csv      the generator's latent traits and Bayes-optimal predictions per patient
    manifest.csv   case_id, centre and the image paths (relative to the folder), for batch runs
    images/<case_id>/arterial.nrrd, venous.nrrd, mask.nrrd
    cohort.json    seed, centre sizes, spacing, generator constants and library versions

Deterministic for a given seed and centre sizes. Every file is written atomically; a rerun skips
patients whose images already exist, so an interrupted run picks up where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from PRIMELib import __version__
from PRIMELib.io import write_atomically, write_json
from PRIMELib.progress import ProgressCallback, report
from PRIMELib.synth import patients as model
from PRIMELib.synth.phantom import DEFAULT_SPACING_MM, make_phantom
from PRIMELib.synth.table1 import CENTRES, DEFAULT_SIZES

#: Columns of truth.csv (the rest of a drawn patient goes to clinical.csv).
TRUTH_COLUMNS = ["lobulation", "heterogeneity", "true_response_probability", "true_risk"]


@dataclass(frozen=True)
class SyntheticCohort:
    """Paths of a generated cohort."""

    directory: Path
    clinical: Path
    truth: Path
    manifest: Path


def draw_cohort(sizes: dict[str, int] | None = None, seed: int = 2026) -> pd.DataFrame:
    """All patients of both centres as one table (clinical, outcomes and truth), without images."""
    sizes = dict(DEFAULT_SIZES if sizes is None else sizes)
    frames = []
    for index, centre in enumerate(CENTRES):
        if sizes.get(centre, 0) > 0:
            rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
            frames.append(model.draw_patients(sizes[centre], centre, rng))
    return pd.concat(frames, ignore_index=True)


def generate_cohort(
    output_dir: str | Path,
    *,
    sizes: dict[str, int] | None = None,
    seed: int = 2026,
    images: bool = True,
    spacing_mm: tuple[float, float, float] = DEFAULT_SPACING_MM,
    satellites: bool = False,
    progress: ProgressCallback | None = None,
) -> SyntheticCohort:
    """Generate the cohort into ``output_dir`` (see the module docstring for the layout)."""
    directory = Path(output_dir)
    cohort = draw_cohort(sizes, seed)
    clinical = cohort.drop(columns=TRUTH_COLUMNS)
    truth = cohort[["case_id", "centre", "tumor_diameter", *TRUTH_COLUMNS]]
    manifest_rows = []
    for number, row in enumerate(cohort.itertuples(index=False)):
        report(progress, number / max(len(cohort), 1), f"Patient {number + 1} of {len(cohort)}")
        case_dir = Path("images") / row.case_id
        paths = {phase: case_dir / f"{phase}.nrrd" for phase in ("arterial", "venous", "mask")}
        if images and not all((directory / p).exists() for p in paths.values()):
            volumes = make_phantom(
                diameter_cm=row.tumor_diameter,
                lobulation=row.lobulation,
                heterogeneity=row.heterogeneity,
                seed=np.random.SeedSequence([seed, CENTRES.index(row.centre), number, 1]),
                spacing_mm=spacing_mm,
                satellites=(row.tumor_number - 1) if satellites else 0,
            )
            for image, path in zip(volumes, paths.values(), strict=True):
                write_atomically(
                    directory / path, lambda tmp, image=image: sitk.WriteImage(image, str(tmp), True)
                )
        manifest_rows.append(
            {"case_id": row.case_id, "centre": row.centre, **{k: str(p) for k, p in paths.items()}}
            if images
            else {"case_id": row.case_id, "centre": row.centre}
        )
    result = SyntheticCohort(
        directory=directory,
        clinical=directory / "clinical.csv",
        truth=directory / "truth.csv",
        manifest=directory / "manifest.csv",
    )
    _write_csv(clinical, result.clinical)
    _write_csv(truth, result.truth)
    _write_csv(pd.DataFrame(manifest_rows), result.manifest)
    write_json(
        directory / "cohort.json",
        {
            "generator": "PRIMELib.synth",
            "primelib_version": __version__,
            "seed": seed,
            "sizes": dict(cohort["centre"].value_counts().sort_index()),
            "images": images,
            "spacing_mm": list(spacing_mm),
            "satellites": satellites,
            "response_model": {"intercept": model.RESPONSE_INTERCEPT, **model.RESPONSE_COEFFICIENTS},
            "survival_model": {
                "weibull_shape": model.WEIBULL_SHAPE,
                "weibull_scale_days": model.WEIBULL_SCALE_DAYS,
                **model.SURVIVAL_COEFFICIENTS,
            },
            "note": "Synthetic patients for trying and testing the software; not real patients.",
        },
    )
    report(progress, 1.0, "Cohort written")
    return result


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    write_atomically(path, lambda tmp: frame.to_csv(tmp, index=False))
