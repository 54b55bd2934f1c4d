"""PRIME's module Logic and self-test on real MRML (slicer-core), compared with PRIMELib called directly."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_module_self_test_passes(prime_module, run_self_test):
    run_self_test(prime_module.PRIMETest)


def test_node_to_image_keeps_voxels_and_physical_geometry(prime_module, demo_nodes):
    import SimpleITK as sitk

    arterial, _, mask = demo_nodes.images
    converted = prime_module.PRIMELogic.sitkImageFromVolumeNode(demo_nodes.arterial)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(converted), sitk.GetArrayFromImage(arterial))
    assert converted.GetOrigin() == pytest.approx(arterial.GetOrigin())
    assert converted.GetSpacing() == pytest.approx(arterial.GetSpacing())
    assert converted.GetDirection() == pytest.approx(arterial.GetDirection())
    # The node's RAS origin is the LPS origin with x and y negated.
    origin_lps = arterial.GetOrigin()
    assert demo_nodes.arterial.GetOrigin() == pytest.approx((-origin_lps[0], -origin_lps[1], origin_lps[2]))
    segment_mask = prime_module.PRIMELogic().sitkMaskFromSegment(
        demo_nodes.segmentation, demo_nodes.segment_id, demo_nodes.venous
    )
    np.testing.assert_array_equal(sitk.GetArrayFromImage(segment_mask), sitk.GetArrayFromImage(mask))


def test_score_case_fills_the_table_and_parameter_node_like_primelib(prime_module, demo_nodes, panel):
    from PRIMELib.demo import DEMO_CLINICAL_RECORD
    from PRIMELib.pipeline import score_case

    logic = prime_module.PRIMELogic()
    parameters = logic.getParameterNode()
    result = logic.scoreCase(
        demo_nodes.arterial,
        demo_nodes.venous,
        demo_nodes.segmentation,
        demo_nodes.segment_id,
        dict(DEMO_CLINICAL_RECORD),
        parameterNode=parameters,
    )
    direct = score_case(*demo_nodes.images, clinical=dict(DEMO_CLINICAL_RECORD))

    stored = json.loads(parameters.resultJson)
    assert stored["response_probability"] == pytest.approx(direct.score.response_probability, rel=1e-9)
    assert stored["risk_group"] == direct.score.risk_group
    table = parameters.featureTable.GetTable()
    names = [table.GetValue(row, 0).ToString() for row in range(table.GetNumberOfRows())]
    values = [table.GetValue(row, 1).ToDouble() for row in range(table.GetNumberOfRows())]
    assert names == list(result.radiomics.values)
    for name, value in zip(names, values, strict=True):
        assert value == pytest.approx(direct.radiomics.values[name], rel=1e-6, abs=1e-9), name
    summary = panel.rules.resultSummaryText(parameters.resultJson)
    assert f"{direct.score.response_probability:.0%}" in summary and direct.score.quadrant in summary


def test_unknown_segment_is_a_clear_error(prime_module, demo_nodes):
    from PRIMELib.errors import PRIMEInputError

    with pytest.raises(PRIMEInputError, match="no segment 'Segment_99'"):
        prime_module.PRIMELogic().scoreCase(
            demo_nodes.arterial, demo_nodes.venous, demo_nodes.segmentation, "Segment_99", {}
        )


def test_missing_volume_is_a_clear_error(prime_module, demo_nodes):
    from PRIMELib.errors import PRIMEInputError

    with pytest.raises(PRIMEInputError, match="No venous volume"):
        prime_module.PRIMELogic().scoreCase(
            demo_nodes.arterial, None, demo_nodes.segmentation, demo_nodes.segment_id, {}
        )


def test_score_button_rule_names_what_is_missing(prime_module, demo_nodes, panel):
    parameters = prime_module.PRIMELogic().getParameterNode()
    state = panel.rules.scoreButtonState(parameters)
    assert not state.enabled
    assert "arterial volume" in state.toolTip and "tumour segment" in state.toolTip
    parameters.arterialVolume = demo_nodes.arterial
    parameters.venousVolume = demo_nodes.venous
    parameters.segmentation = demo_nodes.segmentation
    assert "tumour segment" in panel.rules.scoreButtonState(parameters).toolTip
    parameters.segmentID = demo_nodes.segment_id
    assert panel.rules.scoreButtonState(parameters).enabled
    assert not panel.rules.scoreButtonState(None).enabled


def test_parameter_node_survives_scene_save_and_reload(prime_module, demo_nodes, mrml_scene, tmp_path):
    import slicer

    parameters = prime_module.PRIMELogic().getParameterNode()
    parameters.arterialVolume = demo_nodes.arterial
    parameters.segmentID = demo_nodes.segment_id
    parameters.resultJson = json.dumps({"quadrant": "responder / high risk"})
    parameters.roiNode = mrml_scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box")
    parameters.roiEngine = "medsam"
    parameters.sameRoiForBothPhases = False
    parameters.venousSegmentID = "Tumour_venous"
    parameters.registerVenous = False
    scene_file = tmp_path / "scene.mrml"
    mrml_scene.SetURL(str(scene_file))
    assert mrml_scene.Commit() != 0
    reloaded = slicer.vtkMRMLScene()
    reloaded.SetURL(str(scene_file))
    reloaded.Import()
    node = reloaded.GetFirstNodeByClass("vtkMRMLScriptedModuleNode")
    restored = prime_module.PRIMEParameterNode(node)
    assert restored.segmentID == demo_nodes.segment_id
    assert json.loads(restored.resultJson) == {"quadrant": "responder / high risk"}
    assert restored.arterialVolume.GetName() == "arterial"
    assert restored.roiNode.GetName() == "box" and restored.roiNode.IsA("vtkMRMLMarkupsROINode")
    assert (restored.roiEngine, restored.sameRoiForBothPhases, restored.registerVenous) == (
        "medsam",
        False,
        False,
    )
    assert restored.venousSegmentID == "Tumour_venous"
    with pytest.raises(ValueError):  # the engine is one PRIMELib knows
        parameters.roiEngine = "sam2"


def test_logic_runs_a_batch_like_the_command_line(prime_module, tmp_path):
    import pandas as pd
    import SimpleITK as sitk

    from PRIMELib.synth import make_phantom

    rows = []
    for number in range(2):
        row = {"case_id": f"case-{number}"}
        images = make_phantom(
            diameter_cm=3.0, lobulation=0.5, heterogeneity=0.0, seed=number, spacing_mm=(2.0, 2.0, 5.0)
        )
        for phase, image in zip(("arterial", "venous", "mask"), images, strict=True):
            row[phase] = f"{phase}-{number}.nrrd"
            sitk.WriteImage(image, str(tmp_path / row[phase]))
        rows.append(row)
    rows.append({"case_id": "broken", "arterial": "missing.nrrd", "venous": "v.nrrd", "mask": "m.nrrd"})
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    fractions = []
    summary = prime_module.PRIMELogic().runBatch(
        tmp_path / "manifest.csv",
        tmp_path / "out",
        params="prime_quick",
        progress=lambda f, m: fractions.append(f),
    )
    assert (summary.succeeded, summary.failed) == (2, 1)
    assert fractions[-1] == 1.0
    assert list(pd.read_csv(summary.outputs["features"])["case_id"]) == ["case-0", "case-1"]


def test_the_extension_build_installs_every_file_of_the_module_package():
    """PRIME/CMakeLists.txt lists each PRIMEPanel file (a file it misses is absent from a built extension)."""
    import re
    from pathlib import Path

    module_dir = Path(__file__).resolve().parents[2] / "PRIME"
    listed = set(re.findall(r"\$\{MODULE_NAME\}Panel/(\w+\.py)", (module_dir / "CMakeLists.txt").read_text()))
    assert listed == {path.name for path in (module_dir / "PRIMEPanel").glob("*.py")}


@pytest.mark.slicer_testing
def test_self_test_installs_what_it_needs_in_a_stock_slicer(prime_module, panel, monkeypatch):
    """Under ctest (testing mode) nobody answers a prompt and ``pip_ensure`` installs nothing: the
    self-test installs PRIME's missing packages itself, holding Slicer's own, and asks no one."""
    import slicer

    still_missing = [["surely-not-a-distribution-xyz>=1.2"]]
    monkeypatch.setattr(panel.scoring, "missingRequirements", lambda requirements: list(still_missing[0]))
    installed = []

    def pip_install(arguments):  # slicer.util.pip_install as in Slicer 5.10
        installed.append(arguments)
        still_missing[0] = []

    monkeypatch.setattr(slicer.util, "pip_install", pip_install)
    prime_module.PRIMETest().ensurePackagesForTest()
    assert len(installed) == 1
    arguments = installed[0]
    assert arguments[0] == "--constraint" and arguments[2:] == ["surely-not-a-distribution-xyz>=1.2"]
    installed.clear()
    prime_module.PRIMETest().ensurePackagesForTest()  # nothing missing: nothing installed
    assert installed == []
