"""Batch processing of cohorts from a manifest (see :mod:`PRIMELib.batch.runner`)."""

from __future__ import annotations

from PRIMELib.batch.manifest import CaseInputs, read_manifest
from PRIMELib.batch.runner import BatchSettings, BatchSummary, content_key, process_case, run_batch

__all__ = [
    "BatchSettings",
    "BatchSummary",
    "CaseInputs",
    "content_key",
    "process_case",
    "read_manifest",
    "run_batch",
]
