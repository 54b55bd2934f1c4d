"""Feature-on-demand: only what a model needs is computed, and each value equals the full extraction's."""

from __future__ import annotations

import pytest
from radiomics_phantoms import small_case

from PRIMELib.errors import PRIMEInputError
from PRIMELib.radiomics import available_columns, extract_case, load_params, parse_column
from PRIMELib.radiomics.plan import plan_features

#: Per image type, columns across phases and feature classes (shape rides along with Original).
REQUESTS = {
    "Original": [
        "venous_original_shape_Maximum3DDiameter",
        "arterial_original_firstorder_Skewness",
        "arterial_original_glcm_Idmn",
        "venous_original_glrlm_RunEntropy",
        "venous_original_glszm_ZonePercentage",
        "arterial_original_gldm_DependenceEntropy",
        "arterial_original_ngtdm_Busyness",
    ],
    "LoG": [
        "arterial_log-sigma-4-0-mm-3D_firstorder_Mean",
        "venous_log-sigma-4-0-mm-3D_glcm_Imc2",
        "venous_log-sigma-4-0-mm-3D_gldm_LargeDependenceEmphasis",
    ],
    "Wavelet": [
        "arterial_wavelet-LLH_firstorder_Median",
        "venous_wavelet-HHH_glcm_ClusterShade",
        "arterial_wavelet-LLL_glszm_SmallAreaEmphasis",
        "venous_wavelet-HLH_ngtdm_Contrast",
    ],
}


@pytest.fixture(scope="module")
def case():
    return small_case(seed=11)


@pytest.fixture(scope="module")
def full(case):
    return extract_case(*case, params="prime_paper").values


@pytest.mark.parametrize("image_type", sorted(REQUESTS))
def test_on_demand_values_equal_the_full_extraction_for_every_image_type(case, full, image_type):
    columns = REQUESTS[image_type]
    got = extract_case(*case, params="prime_paper", features=columns)
    assert list(got.values) == columns  # exactly the columns asked for, in their order
    for column in columns:
        assert got.values[column] == pytest.approx(full[column], rel=1e-6, abs=1e-12), column
    assert got.diagnostics["extraction"] == f"on demand ({len(columns)} features)"


def test_one_request_mixing_everything_equals_the_full_extraction(case, full):
    columns = [c for request in REQUESTS.values() for c in request] + ["arterial_original_shape_Sphericity"]
    got = extract_case(*case, params="prime_paper", features=columns[::-1]).values
    assert list(got) == columns[::-1]
    assert all(got[c] == pytest.approx(full[c], rel=1e-6, abs=1e-12) for c in columns)


def test_the_plan_enables_only_the_needed_image_types_sigmas_and_classes():
    params = load_params(
        {
            "imageType": {"Original": {}, "LoG": {"sigma": [2.0, 4.0]}, "Wavelet": {}},
            "featureClass": {"firstorder": None, "shape": None, "glcm": None, "glszm": None},
            "setting": {"binWidth": 25},
        }
    )
    plans = plan_features(params, ["venous_log-sigma-4-0-mm-3D_glcm_Idmn", "venous_original_shape_Flatness"])
    assert plans["arterial"] is None  # no arterial column: the arterial phase is not even loaded
    venous = plans["venous"]
    assert venous.image_types == {"LoG": {"sigma": [4.0]}}
    assert venous.texture == {"log-sigma-4-0-mm-3D": {"glcm": ("Idmn",)}}
    assert venous.shape_classes == {"shape": ("Flatness",)}


def test_a_phase_no_column_needs_is_never_loaded(case):
    _, venous, mask = case
    got = extract_case(
        "/nonexistent/arterial.nrrd",
        venous,
        mask,
        features=["venous_original_firstorder_Mean"],
        params="prime_quick",
    )
    assert list(got.values) == ["venous_original_firstorder_Mean"]
    assert not any(k.startswith("arterial_") for k in got.diagnostics)


def test_columns_the_parameters_cannot_produce_are_named_with_a_suggestion():
    with pytest.raises(PRIMEInputError) as error:
        extract_case(
            "a.nrrd",
            "v.nrrd",
            "m.nrrd",
            params="prime_paper",
            features=["arterial_log-sigma-3-0-mm-3D_firstorder_Mean", "venous_original_glcm_Imc3"],
        )
    message = str(error.value)
    assert (
        "arterial_log-sigma-3-0-mm-3D_firstorder_Mean" in message and "venous_original_glcm_Imc3" in message
    )
    assert "did you mean 'venous_original_glcm_Imc2'" in message
    with pytest.raises(PRIMEInputError, match="not a radiomics feature column"):
        parse_column("age")


def test_available_columns_are_those_of_a_full_extraction(full):
    params = load_params("prime_paper")
    for phase in ("arterial", "venous"):
        assert available_columns(params, phase) == {c for c in full if c.startswith(f"{phase}_")}
