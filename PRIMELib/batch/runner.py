"""Run many cases: in parallel, resumable, failure-isolated, on this machine or a Dask cluster.

Output folder::

    cases/<case_id>.json   one finished case (features, diagnostics, result), written when it finishes
    features.csv           one row per successful case (written at the end, atomically)
    results.csv            score mode: one row per successful case
    reports/<case_id>.html|.pdf   score mode with ``reports``: each case's patient report
    failures.csv           case_id, stage, error for every failed case
    summary.json           counts, settings and timings
    run.log                one line per case event, appended as the run goes

``<case_id>`` in a file name is the case id itself when it is plain (ASCII letters, digits, ``._-``);
any other id is a readable part, ``~`` and a digest of the id (:func:`_safe_name`), so no two cases
share a file. Each case file records its exact ``case_id``.

A case is skipped when ``cases/<case_id>.json`` holds the same *content key*: the sha256 of its
input files' bytes, its label, clinical record, the settings (parameter file and model contents)
and the PRIMELib version. So a rerun after an interruption, or after fixing one bad case, redoes
only what changed. Asking for reports is not part of the key: a rerun with ``reports`` writes the
missing reports of finished cases from their ``cases/<case_id>.json``, without recomputing them.

A run may be killed at any moment, by any signal (SIGKILL included): every file is written through a
temporary file and a rename, worker processes die with the run (:mod:`PRIMELib.lifeline`) and write
nothing after it, and the next run deletes the temporary files a killed one left. A rerun then ends
with the same files and tables as a run never killed. One run at a time writes to an output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

from PRIMELib import __version__, lifeline
from PRIMELib.batch.manifest import CaseInputs, read_manifest
from PRIMELib.errors import PRIMEError, PRIMEInputError
from PRIMELib.io import write_atomically, write_json
from PRIMELib.progress import ProgressCallback, report

MODES = ("extract", "score")


@dataclass(frozen=True)
class BatchSettings:
    """What every case of a batch is processed with.

    ``mode``: ``"extract"`` (radiomics only) or ``"score"`` (radiomics + clinical + both models).
    ``params``: a shipped PyRadiomics parameter set name or a YAML path (extract mode).
    ``model``: a ``.prime`` bundle (score mode); ``None`` uses the default model.
    ``reports``: also write each scored case's patient report (HTML and PDF; score mode only).
    """

    mode: str = "extract"
    params: str = "prime_paper"
    model: str | None = None
    reports: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PRIMEInputError(
                f"Unknown batch mode '{self.mode}'.",
                field="mode",
                value=self.mode,
                expected=" or ".join(MODES),
            )
        if self.reports and self.mode != "score":
            raise PRIMEInputError(
                "Per-case reports need scores: they cannot be made in extract mode.",
                field="reports",
                value=self.mode,
                expected="mode 'score' with reports",
                hint="Run with --mode score, or leave out --reports.",
            )


@dataclass
class BatchSummary:
    """What a batch did."""

    total: int = 0
    succeeded: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0


# --------------------------------------------------------------------------------------------------
# One case (runs in a worker process or on a Dask worker: top-level and picklable)


def _file_digest(path: Path, digest) -> None:
    if path.is_dir():  # a DICOM series folder: every file, in name order
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(child.relative_to(path).as_posix().encode())
            _file_digest(child, digest)
        return
    if not path.is_file():  # a FIFO, device or socket: reading it could block forever
        raise PRIMEInputError(
            f"The input '{path}' is not a regular file or a folder.",
            field="input",
            value=str(path),
            hint="Give the image file itself, not a pipe, device or socket.",
        )
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)


def content_key(case: CaseInputs, settings: BatchSettings) -> str:
    """The sha256 that decides whether a finished case can be reused (see the module docstring)."""
    from PRIMELib.radiomics import params_file

    digest = hashlib.sha256()
    computed_with = asdict(settings)
    del computed_with["reports"]  # reports are made from the finished case: not part of its key
    described = {
        "primelib": __version__,
        "settings": computed_with,
        "label": case.label,
        "segment": case.segment,
        "clinical": case.clinical if settings.mode == "score" else None,
    }
    digest.update(json.dumps(described, sort_keys=True, default=str).encode())
    settings_files = [params_file(settings.params)] if settings.mode == "extract" else []
    if settings.model:
        settings_files.append(Path(settings.model))
    for path in [case.arterial, case.venous, case.arterial_mask, case.venous_mask, *settings_files]:
        digest.update(b"|")
        if path is not None:
            if not path.exists():
                raise PRIMEInputError(f"The input '{path}' does not exist.", field="input", value=str(path))
            _file_digest(path, digest)
    return digest.hexdigest()


_PLAIN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,79}")


def _safe_name(case_id: str) -> str:
    """The file name stem of a case's files, different for every case id on every file system.

    A plain id (ASCII letters, digits, ``._-``, up to 80 characters) is its own stem. Any other id
    keeps a readable part and gets ``~`` and a digest of the exact id, so ids that read alike once
    sanitised (``患者1`` and ``病例1`` are both ``_1``) never share a file. Ids that differ only in
    letter case, one file on Windows and macOS, are refused by the manifest reader. The case file
    records its ``case_id``."""
    if _PLAIN_ID.fullmatch(case_id):
        return case_id
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", case_id).lstrip(".")[:60]
    return f"{readable}~{hashlib.sha256(case_id.encode('utf-8')).hexdigest()[:12]}"


def _case_file(output_dir: Path, case_id: str) -> Path:
    return output_dir / "cases" / f"{_safe_name(case_id)}.json"


def report_paths(output_dir: str | Path, case_id: str) -> dict[str, Path]:
    """Where a batch puts the patient report of ``case_id``: {"html": ..., "pdf": ...}."""
    stem = Path(output_dir) / "reports" / _safe_name(case_id)
    return {kind: stem.with_name(f"{stem.name}.{kind}") for kind in ("html", "pdf")}


def _write_report(case: CaseInputs, record: dict, output_dir: Path, *, only_if_missing: bool) -> None:
    """The case's patient report from its finished record (never recomputing the case)."""
    from PRIMELib.reports import write_patient_report

    paths = report_paths(output_dir, case.case_id)
    if only_if_missing and all(path.is_file() for path in paths.values()):
        return
    # One HTML and one PDF per case (figures embedded, not kept as separate files).
    write_patient_report(record["result"], paths["html"], record=case.clinical, figures=False)


def process_case(case: CaseInputs, settings: BatchSettings, output_dir: str) -> dict[str, object]:
    """Process one case and write ``cases/<case_id>.json``; never raises for a bad case.

    Returns ``{"case_id", "status": "done" | "unchanged" | "failed", "stage", "error", "seconds"}``.
    With ``settings.reports``, a case whose report fails is ``failed`` at stage ``report``; its
    ``cases/<case_id>.json`` is kept, so a rerun only retries the report.
    """
    started = time.perf_counter()
    stage = _Stage()
    try:
        key = content_key(case, settings)
        case_file = _case_file(Path(output_dir), case.case_id)
        previous = None
        if case_file.is_file():
            try:
                previous = json.loads(case_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                pass  # unreadable: recompute
        if isinstance(previous, dict) and previous.get("key") == key:
            if settings.reports:
                stage.name = "report"
                lifeline.exit_if_orphaned()
                _write_report(case, previous, Path(output_dir), only_if_missing=True)
            return {"case_id": case.case_id, "status": "unchanged", "seconds": 0.0}
        record = _run_case(case, settings, stage)
        record.update(
            case_id=case.case_id, key=key, centre=case.centre, seconds=time.perf_counter() - started
        )
        lifeline.exit_if_orphaned()  # a worker whose batch was killed writes nothing more
        write_json(case_file, record)
        if settings.reports:
            stage.name = "report"
            lifeline.exit_if_orphaned()
            _write_report(case, record, Path(output_dir), only_if_missing=False)
        return {"case_id": case.case_id, "status": "done", "seconds": time.perf_counter() - started}
    except PRIMEError as error:
        return _failure(case, stage.name, str(error), started)
    except Exception as error:  # an unexpected failure of one case must not stop the batch
        return _failure(case, stage.name, f"{type(error).__name__}: {error}", started)


class _Stage:
    """Which stage a case is in, for failure reports."""

    def __init__(self, name: str = "inputs") -> None:
        self.name = name


def _failure(case: CaseInputs, stage: str, error: str, started: float) -> dict[str, object]:
    return {
        "case_id": case.case_id,
        "status": "failed",
        "stage": stage,
        "error": error,
        "seconds": time.perf_counter() - started,
    }


def _run_case(case: CaseInputs, settings: BatchSettings, stage: _Stage) -> dict[str, object]:
    from PRIMELib.io import load_image
    from PRIMELib.radiomics.masks import fit_to_grid, load_roi

    stage.name = "load"
    images = {
        "arterial": load_image(case.arterial, field="arterial image"),
        "venous": load_image(case.venous, field="venous image"),
    }
    if case.arterial_mask is None:
        raise PRIMEInputError("No mask is given.", field="mask", expected="a mask path in the manifest")
    # The same mask rules as single-case extraction (label or .seg.nrrd segment, one ROI per phase;
    # a shared mask is resampled onto the venous grid later), checked here so a bad mask fails early.
    rois = {
        "arterial": load_roi(
            case.arterial_mask, label=case.label, segment=case.segment, field="arterial mask"
        )
    }
    if case.venous_mask is not None:
        rois["venous"] = load_roi(
            case.venous_mask, label=case.label, segment=case.segment, field="venous mask"
        )
    for phase, roi in rois.items():
        fit_to_grid(
            roi, images[phase], mask_field=f"{phase} mask", image_field=f"{phase} image", resample=False
        )
    arterial_roi, venous_roi = rois["arterial"], rois.get("venous")
    if settings.mode == "extract":
        from PRIMELib.radiomics import extract_case

        stage.name = "extract"
        features = extract_case(
            images["arterial"], images["venous"], arterial_roi, venous_roi, params=settings.params
        )
        return {
            "features": features.values,
            "diagnostics": features.diagnostics,
            "warnings": features.warnings,
        }
    from PRIMELib.pipeline import clinical_features, resolve_model, score_case

    stage.name = "clinical"
    clinical_features(case.clinical)  # validate first: a typo should not cost an extraction
    stage.name = "score"
    model = resolve_model(settings.model)  # a .prime bundle, or None for the default model
    result = score_case(
        images["arterial"],
        images["venous"],
        arterial_roi,
        venous_roi,
        clinical=case.clinical,
        model=model,
        case_id=case.case_id,
    )
    return {
        "features": result.radiomics.values,
        "diagnostics": result.radiomics.diagnostics,
        "result": result.score.to_dict(),
        "warnings": list(result.score.warnings),  # radiomics, clinical and model warnings of this case
    }


# --------------------------------------------------------------------------------------------------
# The batch


def _executor_results(
    cases: list[CaseInputs], settings: BatchSettings, output_dir: Path, workers: int, scheduler: str | None
) -> Iterator[dict[str, object]]:
    """Process cases and yield each case's outcome as soon as it is known."""
    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, ValueError, TypeError) as error:  # unreachable, refused, or not an address
            raise PRIMEInputError(
                f"The Dask scheduler '{scheduler}' cannot be reached ({type(error).__name__}: {error}).",
                field="scheduler",
                value=scheduler,
                expected="the address of a running Dask scheduler, e.g. tcp://host:8786",
                hint="Start the scheduler and its workers first, or leave out --scheduler to run here.",
            ) from None
        with client:
            futures = [
                client.submit(process_case, case, settings, str(output_dir), key=f"prime-{i}-{case.case_id}")
                for i, case in enumerate(cases)
            ]
            for future in dask_completed(futures):
                yield future.result()
        return
    if workers <= 1:
        for case in cases:
            yield process_case(case, settings, str(output_dir))
        return
    # spawn, not fork: safe inside applications with threads (Slicer) and on every platform. Each worker
    # arms its lifeline first: it dies with this process, however this one dies (SIGKILL included), so a
    # killed batch leaves no worker writing case files beside a rerun. This thread starts the workers
    # (in submit) and outlives them, as Linux's parent-death signal requires (see PRIMELib.lifeline).
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=lifeline.arm,
        initargs=(os.getpid(),),
    ) as pool:
        futures: list[Future] = [pool.submit(process_case, c, settings, str(output_dir)) for c in cases]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def run_batch(
    manifest: str | Path,
    output_dir: str | Path,
    *,
    settings: BatchSettings | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    log: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Process every case of ``manifest`` into ``output_dir`` (see the module docstring).

    ``workers`` processes on this machine, or the Dask scheduler at ``scheduler`` (``tcp://host:port``).
    ``progress(fraction, message)`` is told after each case (returning False stops the batch; finished
    cases are kept). ``log`` receives one line per case event.
    """
    settings = settings or BatchSettings()
    output_dir = Path(output_dir)
    cases = read_manifest(manifest)
    from PRIMELib.pipeline import check_output_folder

    check_output_folder(output_dir)
    if settings.mode == "score":
        # Load and verify the model once, before any case runs: a file that is not a valid bundle is
        # one named error now, not the same failure at the score stage of every case.
        from PRIMELib.pipeline import resolve_model

        resolve_model(settings.model)
    output_dir.mkdir(parents=True, exist_ok=True)
    _remove_partials(output_dir)
    summary = BatchSummary(total=len(cases))
    started = time.perf_counter()
    log_path = output_dir / "run.log"

    def note(line: str) -> None:
        stamped = f"{datetime.now(UTC).isoformat(timespec='seconds')} {line}"
        with open(log_path, "a", encoding="utf-8") as stream:
            stream.write(stamped + "\n")
        if log:
            log(line)

    note(f"start: {len(cases)} cases, mode {settings.mode}, workers {workers}, scheduler {scheduler or '-'}")
    report(progress, 0.0, f"0 of {len(cases)} cases")
    outcomes = _executor_results(cases, settings, output_dir, workers, scheduler)
    for done, outcome in enumerate(outcomes, start=1):
        status = outcome["status"]
        if status == "failed":
            summary.failed += 1
            summary.failures.append({k: str(outcome[k]) for k in ("case_id", "stage", "error")})
            note(f"{outcome['case_id']}: FAILED at {outcome['stage']}: {outcome['error']}")
        elif status == "unchanged":
            summary.skipped += 1
            note(f"{outcome['case_id']}: unchanged, kept")
        else:
            summary.succeeded += 1
            note(f"{outcome['case_id']}: done in {outcome['seconds']:.1f} s")
        report(progress, done / len(cases), f"{done} of {len(cases)} cases ({summary.failed} failed)")
    summary.seconds = time.perf_counter() - started
    summary.outputs = _write_tables(cases, settings, output_dir, summary)
    note(
        f"end: {summary.succeeded} done, {summary.skipped} unchanged, {summary.failed} failed, "
        f"{summary.seconds:.1f} s"
    )
    return summary


def _remove_partials(output_dir: Path) -> None:
    """Delete the temporary files (``.partial-*``, see ``PRIMELib.io.write_atomically``) that a killed run
    left in its output folder, so a rerun ends with the same files as a run never killed. One run
    writes to a folder at a time."""
    for folder in (output_dir, output_dir / "cases", output_dir / "reports"):
        for path in folder.glob(".partial-*"):
            path.unlink(missing_ok=True)


def _finished_records(cases: list[CaseInputs], output_dir: Path, failed: set[str]) -> Iterator[dict]:
    """Each successful case's record, read one at a time from its file (bounded memory)."""
    for case in cases:
        path = _case_file(output_dir, case.case_id)
        if case.case_id not in failed and path.is_file():
            yield json.loads(path.read_text(encoding="utf-8"))


def _write_tables(
    cases: list[CaseInputs], settings: BatchSettings, output_dir: Path, summary: BatchSummary
) -> dict[str, str]:
    # A case whose report alone failed was scored: its rows belong in the tables.
    failed = {f["case_id"] for f in summary.failures if f["stage"] != "report"}
    columns: dict[str, None] = {}
    for record in _finished_records(cases, output_dir, failed):
        columns.update(dict.fromkeys(record["features"]))
    outputs = {"features": str(output_dir / "features.csv")}
    header = ["case_id", "centre", *columns]

    def write_features(tmp: Path) -> None:
        first = True
        for record in _finished_records(cases, output_dir, failed):
            row = {"case_id": record["case_id"], "centre": record.get("centre"), **record["features"]}
            pd.DataFrame([row], columns=header).to_csv(
                tmp, mode="w" if first else "a", header=first, index=False
            )
            first = False
        if first:
            pd.DataFrame(columns=header).to_csv(tmp, index=False)

    write_atomically(output_dir / "features.csv", write_features)
    if settings.mode == "score":
        rows = [_result_row(r) for r in _finished_records(cases, output_dir, failed)]
        write_atomically(output_dir / "results.csv", lambda tmp: pd.DataFrame(rows).to_csv(tmp, index=False))
        outputs["results"] = str(output_dir / "results.csv")
    if settings.reports:
        outputs["reports"] = str(output_dir / "reports")
    failures = pd.DataFrame(summary.failures, columns=["case_id", "stage", "error"])
    write_atomically(output_dir / "failures.csv", lambda tmp: failures.to_csv(tmp, index=False))
    outputs["failures"] = str(output_dir / "failures.csv")
    outputs["log"] = str(output_dir / "run.log")
    write_json(output_dir / "summary.json", {**asdict(summary), "settings": asdict(settings)})
    outputs["summary"] = str(output_dir / "summary.json")
    return outputs


def _result_row(record: dict) -> dict[str, object]:
    result = record["result"]
    return {
        "case_id": record["case_id"],
        "centre": record.get("centre"),
        "response_probability": result["response_probability"],
        "response_class": result["response_class"],
        "risk_score": result["risk_score"],
        "risk_group": result["risk_group"],
        **{f"survival_{k}": v for k, v in result["survival"].items()},
        "quadrant": result["quadrant"],
        "imputed_fields": ";".join(result["imputed_fields"]),
    }
