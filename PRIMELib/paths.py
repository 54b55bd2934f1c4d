"""Where PRIMELib's shipped files live (parameter sets, models), in a checkout and once installed."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a file shipped with PRIMELib, e.g. ``resource_path("radiomics", "prime_paper.yaml")``."""
    return RESOURCES.joinpath(*parts)
