"""Binning once, splitting a phase across processes: every value still equals plain PyRadiomics'.

PRIME bins each filtered image once for all its feature classes and finds the bin edges with numpy
(``binning.py``), and may split a large tumour's phase into parts computed in other processes
(``compute.split_job``, ``parallel.PhaseRunner``). The reference is PyRadiomics'
``RadiomicsFeatureExtractor.execute`` on the whole, uncropped images, with nothing patched.
"""

from __future__ import annotations

import logging
import weakref

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics_phantoms import small_case

from PRIMELib.radiomics import binning, compute, extract_case, load_params, parallel, params_file
from PRIMELib.radiomics.crop import ImageStatistics, crop, plan_crop
from PRIMELib.radiomics.plan import plan_full

#: Every image type and class of the paper's set, plus per-image-type binning (a bin count for the
#: original image, another bin width and two sigmas for LoG) so each binning path is exercised.
MIXED = {
    "imageType": {"Original": {"binCount": 16}, "LoG": {"sigma": [2.0, 3.0], "binWidth": 10}, "Wavelet": {}},
    "featureClass": {c: None for c in ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
    "setting": {
        "resampledPixelSpacing": [1, 1, 1],
        "interpolator": "sitkBSpline",
        "normalize": True,
        "normalizeScale": 100,
        "binWidth": 25,
        "padDistance": 10,
    },
}


def plain_pyradiomics(params, image: sitk.Image, mask: sitk.Image) -> dict[str, float]:
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    raw = featureextractor.RadiomicsFeatureExtractor(params).execute(image, mask)
    return {k: float(v) for k, v in raw.items() if not k.startswith("diagnostics")}


def assert_identical(got: dict[str, float], reference: dict[str, float]) -> None:
    assert set(got) == set(reference)
    assert list(got) == list(reference)  # PyRadiomics' order too
    for name, value in reference.items():
        # ≤ 1e-9 relative; a feature 0 up to rounding (e.g. a symmetric ClusterShade): 1e-9 absolute.
        assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name


@pytest.fixture(scope="module")
def case():
    return small_case(seed=5)


def test_all_1888_paper_features_equal_plain_pyradiomics(case):
    arterial, venous, mask = case
    features = extract_case(arterial, venous, mask, params="prime_paper")
    assert len(features.values) == 1888
    for phase, image in (("arterial", arterial), ("venous", venous)):
        mine = {
            k.removeprefix(f"{phase}_"): v for k, v in features.values.items() if k.startswith(f"{phase}_")
        }
        assert_identical(mine, plain_pyradiomics(str(params_file("prime_paper")), image, mask))


def test_bin_counts_other_bin_widths_and_several_sigmas_equal_plain_pyradiomics(case):
    arterial, _, mask = case
    features = extract_case(arterial, arterial, mask, params=MIXED, workers=1)
    mine = {k.removeprefix("arterial_"): v for k, v in features.values.items() if k.startswith("arterial_")}
    assert_identical(mine, plain_pyradiomics(MIXED, arterial, mask))


@pytest.mark.parametrize(
    "values",
    [
        np.array([54.0, 166.0, 80.5, 99.9]),  # PyRadiomics' own example: edges 50 … 175
        np.array([-330.2, -12.0, 0.0, 412.7]),  # negative grey levels (normalised images)
        np.array([75.0, 100.0, 125.0]),  # minimum and maximum on a bin edge
        np.array([50.0, 50.0, 50.0]),  # a flat region: PyRadiomics' two-edge special case
        np.array([3, 29, -7, 101], dtype=np.int16),  # integer images keep their dtype
        np.array([3.0, np.nan, 80.0]),  # NaN: left to PyRadiomics' own min/max
    ],
)
def test_bin_edges_are_pyradiomics_own(values):
    from radiomics import imageoperations

    plain = imageoperations.getBinEdges
    expected = plain(values, binWidth=25)
    with binning.binning_once():
        assert imageoperations.getBinEdges is not plain  # patched …
        got = imageoperations.getBinEdges(values, binWidth=25)
        counted = imageoperations.getBinEdges(values[~np.isnan(values)], binCount=7)
    assert imageoperations.getBinEdges is plain  # … and restored
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    np.testing.assert_array_equal(counted, imageoperations.getBinEdges(values[~np.isnan(values)], binCount=7))


def _paper_job(case, phase: str = "arterial", params="prime_paper") -> compute.PhaseJob:
    arterial, _, mask = case
    params = load_params(params)
    plan = plan_crop(arterial, mask, params.settings)
    return compute.PhaseJob(
        phase=phase,
        image_crop=crop(arterial, plan),
        mask=plan.grid.resample(mask, sitk.sitkNearestNeighbor),
        crop=plan,
        normalisation=ImageStatistics.of(arterial).normalisation(params.settings),
        params=params,
        plan=plan_full(params),
    )


def test_each_filtered_image_is_binned_once_for_its_six_classes(case, monkeypatch):
    from radiomics import base

    calls = []
    original = base.RadiomicsFeaturesBase._applyBinning
    monkeypatch.setattr(
        base.RadiomicsFeaturesBase, "_applyBinning", lambda self, m: calls.append(1) or original(self, m)
    )
    job = _paper_job(case)
    binning._cache.hits = binning._cache.misses = 0
    values = compute.compute_phase(job)
    # 10 images (original, LoG σ 4, 8 wavelet bands) × 6 binned classes: each image binned once.
    assert len(calls) == 10 and binning._cache.misses == 10 and binning._cache.hits == 50
    assert len(values) == 944 - 14  # all but the 14 shape features (computed apart, once per ROI)


def test_a_phase_split_into_parts_gives_the_same_values_in_the_same_order(case):
    job = _paper_job(case)
    whole = compute.compute_phase(job)
    parts = compute.split_job(job, 3)
    assert [len(p.images) for p in parts] == [3, 4, 3]
    assert parts[0].images[:2] == ("original", "log-sigma-4-0-mm-3D")
    merged: dict[str, float] = {}
    for part in parts:
        merged.update(compute.compute_phase(part))
    assert list(merged) == list(whole) and merged == whole


def test_a_large_tumour_phase_runs_in_several_processes_with_the_same_values(case, monkeypatch):
    arterial, venous, mask = case
    reference = extract_case(arterial, venous, mask, params=MIXED, features=None, workers=1).values
    monkeypatch.setattr(parallel, "SPLIT_MIN_ROI_VOXELS", 1)  # this small tumour counts as large
    started = []
    original = parallel._Worker.__init__
    monkeypatch.setattr(parallel._Worker, "__init__", lambda self, q: started.append(1) or original(self, q))
    split = extract_case(arterial, venous, mask, params=MIXED, workers=4)
    # 4 processes: shape in one, the arterial phase in two parts, the venous phase in one.
    assert len(started) == 3 and split.diagnostics["workers"] == 4
    assert list(split.values) == list(reference) and split.values == reference


def test_whole_wavelet_bands_are_let_go_before_any_feature_is_computed(case, monkeypatch):
    from radiomics import imageoperations

    bands = []
    plain = imageoperations.getWaveletImage

    def recorded(image, mask, **kwargs):
        for band, name, settings in plain(image, mask, **kwargs):
            bands.append(weakref.ref(band))
            yield band, name, settings

    monkeypatch.setattr(imageoperations, "getWaveletImage", recorded)
    job = _paper_job(case)
    image = compute.feature_image(job)
    bounding_box, _ = imageoperations.checkMask(image, job.mask, **job.params.settings)
    boxes = compute._filtered(job, image, job.mask, bounding_box)
    names = [next(boxes)[0] for _ in range(3)]  # original, LoG, the first wavelet band
    assert names[2] == "wavelet-LLH" and len(bands) == 8
    assert all(band() is None for band in bands)  # no whole band is held any more …
    _, box, _, _ = next(boxes)
    roi_size = tuple(int(n) for n in np.array(bounding_box[1::2]) - np.array(bounding_box[0::2]) + 1)
    assert box.GetSize() == roi_size  # … only the ROI's box, smaller than the filtered image
    assert all(r < n for r, n in zip(roi_size, image.GetSize(), strict=True))


def test_busy_cores_are_measured_from_the_processor_counters_not_the_lagging_load_average(monkeypatch):
    """Two /proc/stat readings 0.15 s apart: 3 of 8 processors' worth of time busy → 3 busy cores,
    whatever the 1-minute load average (still 2.0 from a run that just ended) says."""
    readings = iter([(1000, 8000), (1000 + 3 * 15, 8000 + 8 * 15)])  # (busy, total) jiffies
    monkeypatch.setattr(parallel, "_cpu_times", lambda: next(readings))
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (2.0, 0.0, 0.0))
    monkeypatch.setattr(parallel.time, "sleep", lambda seconds: None)
    assert parallel.busy_cores() == pytest.approx(3.0)
    monkeypatch.setattr(parallel, "_cpu_times", lambda: None)  # no counters: the load average
    assert parallel.busy_cores() == 2.0


def test_the_processor_counters_parse_as_linux_writes_them(tmp_path, monkeypatch):
    # /proc/stat's first line: user nice system idle iowait irq softirq steal guest guest_nice
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n")
    real_open = open
    monkeypatch.setattr(
        "builtins.open", lambda path, *a, **k: real_open(stat if path == "/proc/stat" else path, *a, **k)
    )
    assert parallel._cpu_times() == (160, 980)  # busy = all but idle and iowait; total of the first 8


def test_worker_count_follows_free_cores_and_memory(monkeypatch):
    monkeypatch.setattr(parallel, "_cpu_times", lambda: None)  # the load average decides, as patched here
    monkeypatch.setattr(parallel, "usable_cores", lambda: 16)
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (10.2, 0.0, 0.0))
    monkeypatch.setattr(parallel, "available_memory", lambda: 64 * 2**30)
    assert parallel.choose_workers(None, phases=2) == 6  # 16 cores, 10 busy
    assert parallel.choose_workers(3, phases=2) == 3  # an explicit count is a maximum
    assert parallel.choose_workers(None, phases=1) == 4  # at most 4 parts per phase
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (30.0, 0.0, 0.0))
    assert parallel.choose_workers(None, phases=2) == 1  # a loaded machine: this process alone
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(parallel, "available_memory", lambda: 2 * parallel.WORKER_MEMORY_BYTES * 3)
    assert parallel.choose_workers(None, phases=2) == 3  # half the memory, 600 MiB each
    assert parallel.choose_workers(8, phases=2) == 3


def test_a_large_tumour_is_split_into_no_more_parts_than_memory_holds(case, monkeypatch):
    job = _paper_job(case)
    grid_voxels = int(np.prod(job.crop.grid.size))
    assert parallel.job_memory_bytes(job) == 200 * 2**20 + 100 * grid_voxels
    monkeypatch.setattr(parallel, "SPLIT_MIN_ROI_VOXELS", 1)  # this small tumour counts as large
    parts = {}
    for holds in (8, 2, 1):  # how many such processes half the available memory holds
        monkeypatch.setattr(
            parallel, "available_memory", lambda h=holds: 2 * h * parallel.job_memory_bytes(job)
        )
        with parallel.PhaseRunner(4, phases=1) as runner:  # 4 processes, one of them kept for shape
            parts[holds] = len(runner._split(job))
            assert not runner.parallel  # nothing started: splitting decides, submitting starts
    assert parts == {8: 3, 2: 2, 1: 1}


def test_with_worker_processes_the_shape_goes_to_the_first_free_process(case, monkeypatch):
    job = _paper_job(case)
    settings = job.params.settings
    expected = compute.compute_shape(job.mask, job.plan.shape_classes, settings)

    def not_here(*args, **kwargs):
        raise AssertionError("computed in this process, while a worker process was free")

    monkeypatch.setattr(parallel, "compute_shape", not_here)
    monkeypatch.setattr(parallel, "compute_job", not_here)
    with parallel.PhaseRunner(2, phases=2) as runner:  # one worker process, idle
        got = runner.compute_shape(job.mask, job.plan.shape_classes, settings, phase="arterial")
    assert got == expected and len(got) == 14


def _count_worker_starts(monkeypatch) -> list[int]:
    started: list[int] = []
    original = parallel._Worker.__init__
    monkeypatch.setattr(parallel._Worker, "__init__", lambda self, q: started.append(1) or original(self, q))
    return started


def test_with_two_processes_a_large_tumours_mesh_diameters_get_a_third(case, monkeypatch):
    # Two processes, two phases: queued behind them, a large tumour's diameters (seconds of O(n²) C
    # code) would run alone at the end. They get a process of their own, one beyond the two.
    arterial, venous, mask = case
    reference = extract_case(arterial, venous, mask, params=MIXED, workers=1).values
    monkeypatch.setattr(parallel, "SPLIT_MIN_ROI_VOXELS", 1)  # this small tumour counts as large
    started = _count_worker_starts(monkeypatch)
    got = extract_case(arterial, venous, mask, params=MIXED, workers=2)
    assert len(started) == 2 and got.diagnostics["workers"] == 3  # a phase's and the shape's
    assert list(got.values) == list(reference) and got.values == reference


@pytest.mark.parametrize("why", ["no diameter asked for", "memory holds no third process"])
def test_without_diameters_or_memory_two_processes_stay_two(case, monkeypatch, why):
    arterial, venous, mask = case
    monkeypatch.setattr(parallel, "SPLIT_MIN_ROI_VOXELS", 1)
    features = None
    if why == "no diameter asked for":  # shape from the mesh's area and volume: milliseconds
        features = ["arterial_original_shape_Sphericity", "venous_original_firstorder_Mean"]
    else:  # half the available memory holds two processes of a phase's size, not three
        size = parallel.WORKER_MEMORY_BYTES
        monkeypatch.setattr(parallel, "job_memory_bytes", lambda job: size)
        monkeypatch.setattr(parallel, "available_memory", lambda: 2 * 2 * size)
    started = _count_worker_starts(monkeypatch)
    got = extract_case(arterial, venous, mask, params="prime_paper", features=features, workers=2)
    assert len(started) == 1 and got.diagnostics["workers"] == 2
