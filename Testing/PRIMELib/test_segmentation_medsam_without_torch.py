"""Without PyTorch (the optional ``medsam`` extra), asking for the MedSAM engine gives a clear message
saying how to get a CPU build, and the classical engine still works. Run in a fresh interpreter where
``import torch`` fails, whether or not torch is installed here."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["torch"] = None  # `import torch` raises ImportError, as where it is not installed
    from PRIMELib.errors import PRIMEError
    from PRIMELib.segmentation import BoxPrompt, segment_tumour
    from PRIMELib.segmentation.phantoms import make_tumour_phantom

    phantom = make_tumour_phantom(30.0, seed=1, field_of_view_mm=90.0, in_plane_spacing_mm=2.0,
                                  slice_spacing_mm=2.5)
    out = {}
    try:
        segment_tumour(phantom.arterial, box=phantom.box, engine="medsam")
    except PRIMEError as error:
        out["error_type"], out["message"] = type(error).__name__, str(error)
    fallback = segment_tumour(phantom.arterial, box=phantom.box, engine="medsam", fallback_to_classical=True)
    import SimpleITK as sitk
    voxels = int(sitk.GetArrayViewFromImage(fallback.mask).sum())
    out["fallback"] = [fallback.engine, fallback.fallback, voxels]
    out["fallback_warnings"] = list(fallback.warnings)
    print(json.dumps(out))
    """
)


def test_medsam_without_torch_says_how_to_install_a_cpu_build():
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    assert out["error_type"] == "PRIMEEngineUnavailable"
    message = out["message"]
    assert "needs PyTorch" in message
    assert "--index-url https://download.pytorch.org/whl/cpu" in message  # the CPU-only build
    assert "PRIMELib[medsam]" in message and "classical engine works without it" in message
    engine, fell_back, voxels = out["fallback"]
    assert (engine, fell_back) == ("classical", True) and voxels > 0  # the classical engine stood in
    assert any("classical" in warning.lower() for warning in out["fallback_warnings"])
