"""Radiomics warnings about the images reach the panel's results, not only diagnostics.json."""

from __future__ import annotations

import json

import numpy as np
import SimpleITK as sitk


def test_a_0_255_volume_warns_in_the_panels_results(prime_module, panel, mrml_scene, demo_nodes):
    from PRIMELib.demo import DEMO_CLINICAL_RECORD

    arterial, _, _ = demo_nodes.images
    values = sitk.GetArrayFromImage(arterial).astype(float)
    grey = sitk.GetImageFromArray(
        np.rint(255 * (values - values.min()) / (values.max() - values.min())).astype(np.uint8)
    )
    grey.CopyInformation(arterial)
    grey_node = prime_module.PRIMETest._volumeNodeFromSitk(grey, "arterial 0-255")
    logic = prime_module.PRIMELogic()
    parameters = logic.getParameterNode()
    result = logic.scoreCase(
        grey_node,
        demo_nodes.venous,
        demo_nodes.segmentation,
        demo_nodes.segment_id,
        dict(DEMO_CLINICAL_RECORD),
        parameterNode=parameters,
    )
    expected = "The arterial image's intensities run from 0 to 255: not the range of a CT in Hounsfield units"
    assert any(w.startswith(expected) for w in result.score.warnings)
    assert any(w.startswith(expected) for w in json.loads(parameters.resultJson)["warnings"])
    summary = panel.rules.resultSummaryText(parameters.resultJson)
    assert "Warning: " + expected in summary
