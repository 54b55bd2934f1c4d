"""The case API: columns, diagnostics, parameter sets, repeatability and phases in parallel."""

from __future__ import annotations

import subprocess
import sys

import pytest
import SimpleITK as sitk
import yaml
from radiomics_phantoms import small_case

from PRIMELib.errors import PRIMEInputError
from PRIMELib.radiomics import CaseFeatures, extract_case, extract_phase, load_params, params_file


@pytest.fixture(scope="module")
def case():
    return small_case(seed=8)


@pytest.fixture(scope="module")
def paper(case):
    return extract_case(*case, params="prime_paper")


def test_columns_are_phase_prefixed_pyradiomics_names(paper):
    assert isinstance(paper, CaseFeatures)
    assert len(paper.values) == 2 * 944
    assert "arterial_original_shape_Maximum3DDiameter" in paper.values
    assert "venous_wavelet-LLH_glcm_Idmn" in paper.values
    assert "venous_log-sigma-4-0-mm-3D_ngtdm_Strength" in paper.values
    assert all(isinstance(v, float) for v in paper.values.values())
    assert not any("diagnostics" in k for k in paper.values)


def test_diagnostics_hold_versions_settings_hash_voxel_counts_and_spacing(paper):
    d = paper.diagnostics
    assert d["versions_pyradiomics"] and d["versions_simpleitk"] and d["versions_numpy"]
    assert len(d["params_sha256"]) == 64 and len(d["settings_sha256"]) == 64
    assert d["params"] == "prime_paper" and d["extraction"] == "full"
    for phase in ("arterial", "venous"):
        assert d[f"{phase}_image_spacing_mm"] == [0.74, 0.74, 2.5]
        assert d[f"{phase}_feature_grid_spacing_mm"] == [1.0, 1.0, 1.0]
        assert d[f"{phase}_roi_voxels"] > 0 and d[f"{phase}_roi_voxels_on_feature_grid"] > 0
        assert d[f"{phase}_normalisation_sigma"] > 0
    assert d["warnings"] == []


def test_repeat_runs_give_identical_values(case, paper):
    assert extract_case(*case, params="prime_paper").values == paper.values


def test_phases_in_two_worker_processes_give_the_same_values(case, paper):
    seen = []
    parallel = extract_case(*case, params="prime_paper", workers=2, progress=lambda f, m: seen.append((f, m)))
    assert parallel.values == paper.values
    assert parallel.diagnostics["workers"] == 2
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    # The worker process's progress (arterial) comes through as well as this process's own (venous).
    assert any(m.startswith("arterial: wavelet") for _, m in seen)
    assert any(m.startswith("venous: wavelet") for _, m in seen)


def test_workers_run_from_a_script_without_a_main_guard(tmp_path, case):
    # multiprocessing's spawn would re-run such a script in every worker; PRIME's workers do not.
    for name, image in zip(("a.nrrd", "v.nrrd", "m.nrrd"), case, strict=True):
        sitk.WriteImage(image, str(tmp_path / name))
    script = tmp_path / "extract.py"
    script.write_text(
        "from PRIMELib.radiomics import extract_case\n"
        "print('started')\n"
        "r = extract_case('a.nrrd', 'v.nrrd', 'm.nrrd', params='prime_quick', workers=2)\n"
        "print(len(r.values))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "started",
        str(len(extract_case(*case, params="prime_quick").values)),
    ]


def test_extract_phase_is_one_phase_of_the_case(case, paper):
    arterial, _, mask = case
    one = extract_phase(arterial, mask, "prime_paper", phase="arterial")
    assert one.values == {k: v for k, v in paper.values.items() if k.startswith("arterial_")}
    with pytest.raises(PRIMEInputError, match="another phase"):
        extract_phase(
            arterial, mask, "prime_paper", phase="arterial", features=["venous_original_firstorder_Mean"]
        )


def test_the_same_settings_give_the_same_hash_whatever_the_source(tmp_path):
    from_name = load_params("prime_paper")
    copy = tmp_path / "copy.yaml"
    copy.write_text(params_file("prime_paper").read_text())
    from_file = load_params(copy)
    from_dict = load_params(yaml.safe_load(params_file("prime_paper").read_text()))
    assert from_name.settings_sha256 == from_file.settings_sha256 == from_dict.settings_sha256
    assert from_name.source_sha256 == from_file.source_sha256
    assert load_params("prime_quick").settings_sha256 != from_name.settings_sha256
    assert from_file.name == str(copy) and from_name.name == "prime_paper"


def test_unknown_parameter_set_and_missing_yaml_are_clear_errors(tmp_path):
    with pytest.raises(PRIMEInputError, match="Unknown radiomics parameter set 'fast'"):
        params_file("fast")
    with pytest.raises(PRIMEInputError, match="does not exist"):
        params_file(tmp_path / "mine.yaml")


def test_paper_parameter_set_has_the_paper_settings():
    params = yaml.safe_load(params_file("prime_paper").read_text())
    assert params["setting"]["resampledPixelSpacing"] == [1, 1, 1]
    assert params["setting"]["interpolator"] == "sitkBSpline"
    assert params["setting"]["binWidth"] == 25 and params["setting"]["normalize"] is True
    # z-scores × 100: with bin width 25 about 24 grey levels (× 1 would leave one).
    assert params["setting"]["normalizeScale"] == 100
    assert params["imageType"]["LoG"]["sigma"] == [4.0]
    assert set(params["imageType"]) == {"Original", "LoG", "Wavelet"}
    assert set(params["featureClass"]) == {"firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm"}
