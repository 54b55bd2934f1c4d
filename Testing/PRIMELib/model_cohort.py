"""A small synthetic cohort with known signal, for the model, training and bundle tests.

Response depends on tumour diameter (−) and PNI (+); survival on ΔMON (+), ALBI (+) and a venous
texture feature (+). Everything else is noise. Two centres: "A" (internal) and "B" (external).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from PRIMELib.models import SelectionSettings
from PRIMELib.training import TrainingData

CLINICAL = [
    "age",
    "alb",
    "pni",
    "ecog",
    "delta_mon",
    "hbv",
    "ast",
    "albi_score",
    "log10_afp",
    "tumor_diameter",
]


def cohort_frame(n: int = 120, n_radiomics: int = 20, *, seed: int = 0, n_external: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    clinical = {
        "age": rng.normal(58, 10, n),
        "alb": rng.normal(38, 5, n),
        "pni": rng.normal(45, 6, n),
        "ecog": rng.integers(0, 2, n).astype(float),
        "delta_mon": rng.normal(0, 0.3, n),
        "hbv": rng.integers(0, 2, n).astype(float),
        "ast": rng.lognormal(3.8, 0.5, n),
        "albi_score": rng.normal(-2.5, 0.45, n),
        "log10_afp": rng.normal(2.3, 1.2, n),
        "tumor_diameter": rng.lognormal(1.6, 0.4, n),
    }
    frame = pd.DataFrame(clinical)
    names = ["arterial_original_shape_Maximum3DDiameter", "venous_original_glcm_Contrast"]
    names += [
        f"{'arterial' if i % 2 else 'venous'}_wavelet-LLH_firstorder_Feature{i}"
        for i in range(n_radiomics - 2)
    ]
    radiomics = rng.normal(size=(n, n_radiomics))
    radiomics[:, 0] = frame["tumor_diameter"] * 10 + rng.normal(0, 5, n)
    for j, name in enumerate(names):
        frame[name] = radiomics[:, j]
    z = (frame - frame.mean()) / frame.std()
    logit = -1.2 * z["arterial_original_shape_Maximum3DDiameter"] + 0.9 * z["pni"] + rng.normal(0, 0.5, n)
    frame["response"] = (logit > 0).astype(int)
    hazard = np.exp(0.8 * z["delta_mon"] + 0.6 * z["albi_score"] + 0.6 * z["venous_original_glcm_Contrast"])
    death = rng.exponential(600 / hazard)
    censor = rng.uniform(200, 1500, n)
    frame["os_days"] = np.minimum(death, censor).round(1)
    frame["os_event"] = (death <= censor).astype(int)
    frame["centre"] = ["B" if i >= n - n_external else "A" for i in range(n)]
    frame.index = [f"P{i:03d}" for i in range(n)]
    return frame


def cohort(n: int = 120, n_radiomics: int = 20, *, seed: int = 0, n_external: int = 30) -> TrainingData:
    return TrainingData.from_frame(cohort_frame(n, n_radiomics, seed=seed, n_external=n_external))


#: A small, fast training configuration: one point per grid, two algorithms per endpoint, 3 folds.
FAST = {
    "grid": "quick",
    "cv_folds": 3,
    "selection": SelectionSettings(cv_folds=3),
    "response_algorithms": ("rotation_forest", "gtbr"),
    "survival_algorithms": ("gbsa", "fsvm"),
    "n_bootstrap": 20,
    "outer_folds": 0,  # nested validation has its own tests (test_training_nested.py)
}


@functools.cache
def trained():
    """A TrainingResult on :func:`cohort` (centre B external), trained once per test session."""
    from PRIMELib.training import TrainingConfig, train_prime

    return train_prime(cohort(), TrainingConfig(external_centre="B", **FAST))


@functools.cache
def bundle_path() -> Path:
    """That result saved as a bundle in a temporary folder (removed at exit)."""
    from PRIMELib.bundle import save_bundle

    folder = Path(tempfile.mkdtemp(prefix="prime-test-bundle-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return save_bundle(
        trained(), folder / "test.prime", name="PRIME test model", trained_on="synthetic test cohort"
    )
