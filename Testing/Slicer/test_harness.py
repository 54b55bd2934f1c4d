"""The harness gives real MRML: values written through slicer-core come back unchanged.

Also covers the stand-ins a scripted module needs (parameter node wrapper, Logic base class,
self-test runner, ``slicer.app``) on a small module file written in Slicer 5.x's template style.
"""

from __future__ import annotations

import enum
import logging
import os
import textwrap
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import pandas as pd
import pytest
import slicer_harness as harness
import slicer_standins

harness.skip_or_fail_without_slicer_core()

import slicer  # noqa: E402 - only once slicer-core is known to import
import vtk  # noqa: E402
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode, vtkMRMLTableNode  # noqa: E402
from slicer.parameterNodeWrapper import Choice, Default, WithinRange, parameterNodeWrapper  # noqa: E402

# CT-like geometry: LPS-flipped axes, anisotropic spacing, non-zero origin.
IJK_TO_RAS = np.array(
    [
        [-0.75, 0.0, 0.0, 120.5],
        [0.0, -0.8, 0.0, 98.25],
        [0.0, 0.0, 2.5, -310.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)


def ct_array(shape=(6, 7, 8)) -> np.ndarray:
    """Distinct int16 values in (k, j, i) order, as slicer.util uses."""
    return (np.arange(np.prod(shape)).reshape(shape) * 7 - 900).astype(np.int16)


def two_label_array(shape=(6, 7, 8)) -> np.ndarray:
    labels = np.zeros(shape, dtype=np.uint8)
    labels[1:4, 2:5, 1:6] = 1
    labels[4:6, 0:2, 5:8] = 2
    return labels


# --------------------------------------------------------------------------------------------------
# The environment: real slicer-core, stand-ins only where it has nothing
# --------------------------------------------------------------------------------------------------


def test_slicer_is_slicer_core_and_stand_ins_fill_only_the_gaps(mrml_scene):
    assert Path(slicer.__file__).parent.name == "slicer"
    assert hasattr(slicer, "vtkMRMLScene") and hasattr(slicer.util, "arrayFromVolume")
    assert slicer.mrmlScene is mrml_scene
    installed = harness.standins_installed()
    assert installed["qt"] == "adapter"  # PySide6 behind PythonQt's rules (pythonqt_adapter)
    for name in (
        "ctk",
        "slicer.qMRMLNodeComboBox",
        "slicer.app",
        "slicer.modules",
        "slicer.ScriptedLoadableModule",
    ):
        assert installed[name] == "stand-in", name
    assert installed["slicer.parameterNodeWrapper"] in ("real", "stand-in")
    assert isinstance(slicer.modules.segmentations.logic(), slicer.vtkSlicerSegmentationsModuleLogic)
    assert isinstance(slicer.modules.volumes.logic(), slicer.vtkSlicerVolumesLogic)


SEEN_SCENES: list = []


@pytest.mark.parametrize("run", ["first", "second"])
def test_each_test_gets_a_fresh_empty_scene(mrml_scene, run):
    assert slicer.util.getFirstNodeByName("leak_marker") is None
    assert mrml_scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode") == 0
    assert all(seen is not mrml_scene for seen in SEEN_SCENES)
    SEEN_SCENES.append(mrml_scene)
    slicer.util.addVolumeFromArray(ct_array(), name="leak_marker")
    assert slicer.util.getNode("leak_marker") is not None


# --------------------------------------------------------------------------------------------------
# Volumes
# --------------------------------------------------------------------------------------------------


def test_volume_from_array_reads_back_equal_with_its_geometry():
    values = ct_array()
    volume = slicer.util.addVolumeFromArray(values, IJK_TO_RAS, name="arterial")

    read_back = slicer.util.arrayFromVolume(volume)
    assert read_back.dtype == np.int16
    np.testing.assert_array_equal(read_back, values)
    assert volume.GetSpacing() == pytest.approx((0.75, 0.8, 2.5))
    assert volume.GetOrigin() == pytest.approx((120.5, 98.25, -310.0))
    ijk_to_ras = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(ijk_to_ras)
    np.testing.assert_allclose(slicer.util.arrayFromVTKMatrix(ijk_to_ras), IJK_TO_RAS)
    assert slicer.util.getNode("arterial") is volume


def test_ijk_to_ras_maps_voxel_indices_to_patient_coordinates():
    volume = slicer.util.addVolumeFromArray(ct_array(), IJK_TO_RAS)
    ijk_to_ras = vtk.vtkMatrix4x4()
    volume.GetIJKToRASMatrix(ijk_to_ras)
    ras = ijk_to_ras.MultiplyPoint((2, 3, 4, 1))[:3]
    assert ras == pytest.approx((120.5 - 0.75 * 2, 98.25 - 0.8 * 3, -310.0 + 2.5 * 4))


def test_update_volume_from_array_replaces_voxels():
    volume = slicer.util.addVolumeFromArray(ct_array())
    replaced = np.full((3, 4, 5), 42, dtype=np.float32)
    slicer.util.updateVolumeFromArray(volume, replaced)
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(volume), replaced)


def test_volume_saved_as_nrrd_by_its_storage_node_reads_back_equal(mrml_session):
    values = ct_array()
    volume = slicer.util.addVolumeFromArray(values, IJK_TO_RAS, name="portal")
    path = os.path.join(mrml_session.temporary_path, "portal.nrrd")
    volume.AddDefaultStorageNode()
    storage = volume.GetStorageNode()
    assert isinstance(storage, slicer.vtkMRMLVolumeArchetypeStorageNode)
    storage.SetFileName(path)
    assert storage.WriteData(volume)

    reread = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "reread")
    reader = slicer.vtkMRMLVolumeArchetypeStorageNode()
    reader.SetFileName(path)
    assert reader.ReadData(reread)
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(reread), values)
    assert reread.GetSpacing() == pytest.approx(volume.GetSpacing())
    assert reread.GetOrigin() == pytest.approx(volume.GetOrigin())


def test_util_save_node_and_load_volume_round_trip_through_files(mrml_session):
    values = ct_array()
    volume = slicer.util.addVolumeFromArray(values, IJK_TO_RAS, name="arterial")
    path = os.path.join(mrml_session.temporary_path, "arterial.nii.gz")
    assert slicer.util.saveNode(volume, path)

    loaded = slicer.util.loadVolume(path)
    assert loaded.GetName() == "arterial_1"  # unique name, as Slicer gives it
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(loaded), values)
    assert loaded.GetOrigin() == pytest.approx(volume.GetOrigin())
    labelmap = slicer.util.loadLabelVolume(path, {"name": "as_labels"})
    assert labelmap.IsA("vtkMRMLLabelMapVolumeNode") and labelmap.GetName() == "as_labels"


@pytest.mark.vtk_errors_expected
def test_a_failed_read_raises_and_its_vtk_errors_are_collected(mrml_session):
    missing = os.path.join(mrml_session.temporary_path, "missing.nrrd")
    with pytest.raises(RuntimeError, match="Failed to load node"):
        slicer.util.loadVolume(missing)
    assert any("missing.nrrd" in error for error in mrml_session.vtk_errors())


# --------------------------------------------------------------------------------------------------
# Segmentations
# --------------------------------------------------------------------------------------------------


def _segmentation_from_labels(labels: np.ndarray, reference) -> vtkMRMLSegmentationNode:
    labelmap = slicer.util.addVolumeFromArray(labels, IJK_TO_RAS, nodeClassName="vtkMRMLLabelMapVolumeNode")
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "tumour")
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(reference)
    assert slicer.modules.segmentations.logic().ImportLabelmapToSegmentationNode(labelmap, segmentation)
    slicer.mrmlScene.RemoveNode(labelmap)
    return segmentation


def test_segmentation_from_labelmap_reads_back_each_segment_equal():
    reference = slicer.util.addVolumeFromArray(ct_array(), IJK_TO_RAS)
    labels = two_label_array()
    segmentation = _segmentation_from_labels(labels, reference)

    segments = segmentation.GetSegmentation()
    assert segments.GetNumberOfSegments() == 2
    for index, label in enumerate((1, 2)):
        segment_id = segments.GetNthSegmentID(index)
        mask = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, segment_id, reference)
        np.testing.assert_array_equal(mask, (labels == label).astype(mask.dtype))


def test_update_segment_from_array_replaces_its_voxels():
    reference = slicer.util.addVolumeFromArray(ct_array(), IJK_TO_RAS)
    segmentation = _segmentation_from_labels(two_label_array(), reference)
    segment_id = segmentation.GetSegmentation().GetNthSegmentID(0)
    new_mask = np.zeros(ct_array().shape, dtype=np.uint8)
    new_mask[0:2, 0:3, 0:4] = 1

    slicer.util.updateSegmentBinaryLabelmapFromArray(new_mask, segmentation, segment_id, reference)
    mask = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, segment_id, reference)
    np.testing.assert_array_equal(mask, new_mask)


def test_segmentation_saved_as_seg_nrrd_loads_back_equal(mrml_session):
    reference = slicer.util.addVolumeFromArray(ct_array(), IJK_TO_RAS)
    labels = two_label_array()
    segmentation = _segmentation_from_labels(labels, reference)
    path = os.path.join(mrml_session.temporary_path, "tumour.seg.nrrd")
    assert slicer.util.saveNode(segmentation, path)

    loaded = slicer.util.loadSegmentation(path)
    assert loaded.GetSegmentation().GetNumberOfSegments() == 2
    segment_id = loaded.GetSegmentation().GetNthSegmentID(1)
    mask = slicer.util.arrayFromSegmentBinaryLabelmap(loaded, segment_id, reference)
    np.testing.assert_array_equal(mask, (labels == 2).astype(mask.dtype))


# --------------------------------------------------------------------------------------------------
# Tables, plots, scenes
# --------------------------------------------------------------------------------------------------


def _feature_table() -> vtkMRMLTableNode:
    table_node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode", "features")
    names = vtk.vtkStringArray()
    names.SetName("feature")
    values = vtk.vtkDoubleArray()
    values.SetName("value")
    for name, value in (("original_shape_Maximum3DDiameter", 41.5), ("original_firstorder_Mean", -12.25)):
        names.InsertNextValue(name)
        values.InsertNextValue(value)
    table_node.AddColumn(names)
    table_node.AddColumn(values)
    return table_node


def test_table_node_reads_back_as_dataframe():
    frame = slicer.util.dataframeFromTable(_feature_table())
    expected = pd.DataFrame(
        {"feature": ["original_shape_Maximum3DDiameter", "original_firstorder_Mean"], "value": [41.5, -12.25]}
    )
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_table_from_array_and_csv_round_trip(mrml_session):
    table_node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode")
    slicer.util.updateTableFromArray(
        table_node, np.array([[0.0, 1.0], [12.0, 0.8], [24.0, 0.55]]), ["month", "S"]
    )
    path = os.path.join(mrml_session.temporary_path, "survival.csv")
    assert slicer.util.saveNode(table_node, path)

    loaded = slicer.util.loadTable(path)
    np.testing.assert_allclose(slicer.util.arrayFromTableColumn(loaded, "S"), [1.0, 0.8, 0.55])


def test_plot_chart_references_its_series_and_table():
    table_node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode")
    slicer.util.updateTableFromArray(table_node, np.array([[0.0, 1.0], [12.0, 0.8]]), ["month", "S"])
    series = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", "survival")
    series.SetAndObserveTableNodeID(table_node.GetID())
    series.SetXColumnName("month")
    series.SetYColumnName("S")
    chart = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLPlotChartNode")
    chart.AddAndObservePlotSeriesNodeID(series.GetID())
    assert chart.GetNthPlotSeriesNode(0).GetTableNode() is table_node


def test_scene_saved_as_mrb_loads_back_with_its_data(mrml_session):
    values = ct_array()
    slicer.util.addVolumeFromArray(values, IJK_TO_RAS, name="arterial")
    path = os.path.join(mrml_session.temporary_path, "case.mrb")
    assert slicer.util.saveScene(path)

    slicer.mrmlScene.Clear(0)
    assert slicer.mrmlScene.GetFirstNodeByName("arterial") is None
    slicer.util.loadScene(path)
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(slicer.util.getNode("arterial")), values)


# --------------------------------------------------------------------------------------------------
# Parameter node wrapper
# --------------------------------------------------------------------------------------------------


class ResponseModel(enum.Enum):
    PRIME_R = "response"
    PRIME_S = "survival"


@parameterNodeWrapper
class CaseParameters:
    arterialVolume: vtkMRMLScalarVolumeNode
    tumourSegmentation: vtkMRMLSegmentationNode
    featureTable: Optional[vtkMRMLTableNode]  # noqa: UP045 - Slicer's wrapper needs typing.Optional
    albumin: Annotated[float, WithinRange(10, 60)] = 40.0
    cycles: Annotated[int, Default(2)]
    sex: Annotated[str, Choice(["F", "M"])] = "F"
    hasAscites: bool
    bundlePath: Path
    model: ResponseModel
    features: list[str]


def test_parameter_node_wrapper_round_trips_typed_fields_and_node_references():
    volume = slicer.util.addVolumeFromArray(ct_array(), name="arterial")
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
    parameters = CaseParameters(node)

    # defaults are written on wrap
    assert (parameters.albumin, parameters.cycles, parameters.sex) == (40.0, 2, "F")
    assert (
        parameters.hasAscites is False
        and parameters.arterialVolume is None
        and parameters.featureTable is None
    )
    assert parameters.model is ResponseModel.PRIME_R and parameters.features == []

    parameters.arterialVolume = volume
    parameters.tumourSegmentation = segmentation
    parameters.albumin = 35.5
    parameters.cycles = 4
    parameters.sex = "M"
    parameters.hasAscites = True
    parameters.bundlePath = Path("/models/prime-1.0")
    parameters.model = ResponseModel.PRIME_S
    parameters.features = ["original_shape_Sphericity"]
    parameters.features.append("original_firstorder_Mean")  # in-place changes are stored too

    # stored as Slicer stores them: strings and node references on the scripted module node
    assert node.GetParameter("albumin") == "35.5" and node.GetParameter("cycles") == "4"
    assert node.GetParameter("hasAscites") == "True" and node.GetParameter("model") == "PRIME_S"
    assert node.GetParameter("features.len") == "2"
    assert node.GetNodeReferenceID("arterialVolume") == volume.GetID()

    reread = CaseParameters(node)
    assert reread.arterialVolume is volume and reread.tumourSegmentation is segmentation
    assert (reread.albumin, reread.cycles, reread.sex, reread.hasAscites) == (35.5, 4, "M", True)
    assert reread.bundlePath == Path("/models/prime-1.0") and reread.model is ResponseModel.PRIME_S
    assert list(reread.features) == ["original_shape_Sphericity", "original_firstorder_Mean"]

    table = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode")
    reread.featureTable = table
    assert parameters.featureTable is table
    reread.featureTable = None
    assert parameters.featureTable is None


def test_parameter_node_wrapper_rejects_invalid_values():
    parameters = CaseParameters(slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode"))
    with pytest.raises(ValueError, match="range"):
        parameters.albumin = 75.0
    with pytest.raises(ValueError):
        parameters.sex = "X"
    with pytest.raises(TypeError):
        parameters.cycles = "four"
    with pytest.raises(TypeError):
        parameters.arterialVolume = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode")
    assert parameters.albumin == 40.0 and parameters.arterialVolume is None


def test_parameter_node_wrapper_survives_saving_and_reloading_the_scene(mrml_session):
    volume = slicer.util.addVolumeFromArray(ct_array(), name="arterial")
    parameters = CaseParameters(slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode", "case"))
    parameters.arterialVolume = volume
    parameters.albumin = 33.0
    path = os.path.join(mrml_session.temporary_path, "case.mrb")
    assert slicer.util.saveScene(path)

    slicer.mrmlScene.Clear(0)
    slicer.util.loadScene(path)
    reloaded = CaseParameters(slicer.util.getNode("case"))
    assert reloaded.albumin == 33.0
    assert reloaded.arterialVolume.GetName() == "arterial"
    np.testing.assert_array_equal(slicer.util.arrayFromVolume(reloaded.arterialVolume), ct_array())


def test_parameter_node_wrapper_rejects_pep604_unions_as_slicer_does():
    if harness.standins_installed()["slicer.parameterNodeWrapper"] != "stand-in":
        pytest.skip("checks the stand-in only")

    class Parameters:
        inputVolume: vtkMRMLScalarVolumeNode | None

    with pytest.raises(Exception, match="Unable to create serializer"):
        parameterNodeWrapper(Parameters)


def test_parameter_node_wrapper_notifies_observers_like_a_node():
    parameters = CaseParameters(slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode"))
    calls = []

    class Observer(slicer.util.VTKObservationMixin):
        def onModified(self, caller, event):
            calls.append(event)

    observer = Observer()
    slicer.util.VTKObservationMixin.__init__(observer)
    observer.addObserver(parameters, vtk.vtkCommand.ModifiedEvent, observer.onModified)
    parameters.albumin = 30.0
    observer.removeObservers()
    parameters.albumin = 31.0
    assert calls == ["ModifiedEvent"]


# --------------------------------------------------------------------------------------------------
# slicer.app and slicer.util helpers that need the application
# --------------------------------------------------------------------------------------------------


def test_app_temporary_path_and_temp_directory_are_in_the_tests_folder(mrml_session, tmp_path):
    assert Path(slicer.app.temporaryPath) == tmp_path / "SlicerTemp"
    directory = Path(slicer.util.tempDirectory("PRIME"))
    assert directory.is_dir() and directory.parent == tmp_path / "SlicerTemp"
    assert Path(mrml_session.scene.GetRootDirectory()) == tmp_path / "scene"


@pytest.mark.slicer_testing
def test_error_display_only_logs_as_in_slicers_testing_mode(caplog):
    with caplog.at_level(logging.ERROR):
        slicer.util.errorDisplay("Albumin is missing")
    assert "Albumin is missing" in caplog.text
    with pytest.raises(ValueError), slicer.util.tryWithErrorDisplay("Scoring failed", waitCursor=True):
        raise ValueError("no model bundle")


def test_error_display_is_a_modal_message_box_for_a_user(dialogs, caplog):
    dialogs.expect("Albumin is missing", "Ok", kind="message")
    with caplog.at_level(logging.ERROR):
        slicer.util.errorDisplay("Albumin is missing")
    assert "Albumin is missing" in caplog.text and dialogs.shown[0].title == "3D Slicer error"


# --------------------------------------------------------------------------------------------------
# A scripted module file in Slicer 5.x's template style, loaded and self-tested like PRIME.py will be
# --------------------------------------------------------------------------------------------------

TEMPLATE_STYLE_MODULE = """
import logging
from typing import Annotated

import qt
import vtk

import slicer
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.ScriptedLoadableModule import *
from slicer.util import VTKObservationMixin
from slicer.parameterNodeWrapper import parameterNodeWrapper, WithinRange
from slicer import vtkMRMLScalarVolumeNode


class Threshold(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Threshold")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Examples")]
        self.parent.contributors = ["Test"]
        slicer.app.connect("startupCompleted()", lambda: None)


@parameterNodeWrapper
class ThresholdParameterNode:
    inputVolume: vtkMRMLScalarVolumeNode
    imageThreshold: Annotated[float, WithinRange(-100, 500)] = 100
    invertThreshold: bool = False
    thresholdedVolume: vtkMRMLScalarVolumeNode


class ThresholdWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/Threshold.ui"))

    def _onButton(self, button: qt.QPushButton, event: qt.QEvent | None = None) -> None:
        pass


class ThresholdLogic(ScriptedLoadableModuleLogic):
    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return ThresholdParameterNode(super().getParameterNode())

    def process(self, inputVolume, outputVolume, imageThreshold, invert=False):
        if not inputVolume or not outputVolume:
            raise ValueError("Input or output volume is invalid")
        voxels = slicer.util.arrayFromVolume(inputVolume)
        above = voxels > imageThreshold
        mask = ~above if invert else above
        outputVolume.CopyOrientation(inputVolume)
        slicer.util.updateVolumeFromArray(outputVolume, (voxels * mask).astype(voxels.dtype))
        logging.info("Processing completed")


class ThresholdTest(ScriptedLoadableModuleTest):
    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_Threshold1()

    def test_Threshold1(self):
        self.delayDisplay("Starting the test")
        import numpy as np
        inputVolume = slicer.util.addVolumeFromArray(np.arange(24, dtype=np.int16).reshape(2, 3, 4) * FACTOR)
        outputVolume = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
        logic = ThresholdLogic()
        parameters = logic.getParameterNode()
        parameters.inputVolume = inputVolume
        self.assertIs(logic.getParameterNode().inputVolume, inputVolume)
        logic.process(inputVolume, outputVolume, 10)
        self.assertEqual(slicer.util.arrayFromVolume(outputVolume).max(), 23)
        self.assertEqual(int((slicer.util.arrayFromVolume(outputVolume) > 0).sum()), 13)
        self.delayDisplay("Test passed")
"""


def write_template_module(directory: Path, factor: int = 1) -> Path:
    path = directory / "Threshold" / "Threshold.py"
    path.parent.mkdir(parents=True)
    path.write_text(textwrap.dedent(TEMPLATE_STYLE_MODULE).replace("FACTOR", str(factor)))
    return path


def test_template_style_module_imports_and_its_self_test_passes(load_module, run_self_test, tmp_path):
    module = load_module(write_template_module(tmp_path), "Threshold")
    assert slicer.util.modulePath("Threshold") == str(tmp_path / "Threshold" / "Threshold.py")
    assert "qt.QPushButton" in slicer_standins.QT_NAMES_USED  # the Widget's annotations, at import

    slicer_standins.QT_NAMES_USED.clear()
    run_self_test(module.ThresholdTest)
    harness.run_module_self_test(module)
    assert not slicer_standins.QT_NAMES_USED  # Logic and self-test ran without touching Qt

    logic = module.ThresholdLogic()
    assert logic.getParameterNode().parameterNode is logic.getParameterNode().parameterNode  # singleton
    assert logic.getParameterNode().parameterNode.GetAttribute("ModuleName") == "Threshold"
    assert logic.getParameterNode().imageThreshold == 100.0


def test_a_failing_self_test_fails_the_pytest_test(load_module, run_self_test, tmp_path):
    module = load_module(write_template_module(tmp_path, factor=-1), "ThresholdBroken")
    with pytest.raises(AssertionError):
        run_self_test(module.ThresholdTest)
