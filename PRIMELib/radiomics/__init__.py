"""Dual-phase radiomics with PyRadiomics.

One case gives one row: ``arterial_<PyRadiomics name>`` and ``venous_<PyRadiomics name>`` columns,
with diagnostics kept apart. Parameters are PyRadiomics YAML files, so a user's own params file works;
the paper's settings ship as ``prime_paper.yaml``.

Modules, one reason to change each:

- ``params``: parameter sets (shipped, file, dict), validation, settings hash;
- ``plan``: column names, and what to compute for a full or a feature-on-demand extraction;
- ``masks``: ROIs from label maps and Slicer segmentations, lesion choice, onto an image's grid;
- ``checks``: errors for unusable inputs, warnings for odd ones;
- ``crop``: the native crop and feature grid that keep whole-image values (normalisation, resampling);
- ``compute``: one phase's features with PyRadiomics' own functions;
- ``binning``, ``mesh``: wrappers that spare PyRadiomics repeated binning, and the mesh diameters
  when no diameter feature is asked for;
- ``parallel``: phases in this process or in worker processes, progress and cancel;
- ``extract``: the case: load, check, prepare, run, assemble;
- ``table``: one row per case, diagnostics apart, CSV or Parquet;
- ``icc``: ICC(2,1)/ICC(3,1) reproducibility filter for training.

PyRadiomics itself is imported only when features are computed (it is installed on first use in Slicer).
"""

from __future__ import annotations

import importlib

# Names → defining module, imported on first use: a worker process computing one phase, or Slicer
# starting up, does not pay for pandas or pyarrow.
_EXPORTS = {
    "CaseFeatures": "extract",
    "extract_case": "extract",
    "extract_phase": "extract",
    "library_versions": "extract",
    "feature_icc": "icc",
    "intraclass_correlation": "icc",
    "reproducible_features": "icc",
    "RadiomicsParams": "params",
    "load_params": "params",
    "params_file": "params",
    "PHASES": "plan",
    "available_columns": "plan",
    "parse_column": "plan",
    "diagnostics_table": "table",
    "features_table": "table",
    "read_table": "table",
    "write_case_tables": "table",
    "write_table": "table",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
