"""The generated demo case: a dual-phase phantom that looks like HCC on CT."""

from __future__ import annotations

import json
import math

import numpy as np
import SimpleITK as sitk

from PRIMELib.demo import DEMO_SPACING_MM, make_demo_images, write_demo_case
from PRIMELib.io import same_physical_space


def test_phases_and_mask_share_one_grid_with_ct_spacing():
    arterial, venous, mask = make_demo_images()
    assert same_physical_space(arterial, venous) and same_physical_space(arterial, mask)
    assert arterial.GetSpacing() == DEMO_SPACING_MM


def test_tumour_enhances_in_the_arterial_phase_and_washes_out_in_the_venous_phase():
    arterial, venous, mask = make_demo_images()
    tumour = sitk.GetArrayFromImage(mask).astype(bool)
    # Liver parenchyma: a shell just outside the tumour.
    dilated = sitk.GetArrayFromImage(sitk.BinaryDilate(mask, (8, 8, 2))).astype(bool)
    shell = dilated & ~tumour
    a, v = sitk.GetArrayFromImage(arterial), sitk.GetArrayFromImage(venous)
    assert a[tumour].mean() > a[shell].mean() + 30  # arterial hyper-enhancement
    assert v[tumour].mean() < v[shell].mean() - 15  # venous wash-out
    assert a[tumour].std() > 20  # heterogeneous, not a flat blob


def test_tumour_is_lobulated_and_a_few_cm_across():
    _, _, mask = make_demo_images()
    shape = sitk.LabelShapeStatisticsImageFilter()
    shape.ComputeFeretDiameterOn()
    shape.Execute(mask)
    assert 20 < shape.GetFeretDiameter(1) < 60  # mm
    # Not a sphere: a sphere of the same largest diameter would hold far more volume.
    sphere_mm3 = math.pi * shape.GetFeretDiameter(1) ** 3 / 6
    assert shape.GetPhysicalSize(1) < 0.7 * sphere_mm3
    assert shape.GetNumberOfLabels() == 1


def test_generation_is_deterministic_and_seeded():
    first = [sitk.GetArrayFromImage(i) for i in make_demo_images(seed=3)]
    again = [sitk.GetArrayFromImage(i) for i in make_demo_images(seed=3)]
    other = sitk.GetArrayFromImage(make_demo_images(seed=4)[0])
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other)


def test_written_case_reads_back(tmp_path):
    case = write_demo_case(tmp_path)
    arterial, _, mask = make_demo_images()
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(sitk.ReadImage(str(case.arterial_image))), sitk.GetArrayFromImage(arterial)
    )
    assert (
        sitk.GetArrayFromImage(sitk.ReadImage(str(case.tumour_mask))).sum()
        == sitk.GetArrayFromImage(mask).sum()
    )
    record = json.loads(case.clinical_record.read_text())
    assert record["case_id"] == case.case_id and record["alb"] == 38.5
