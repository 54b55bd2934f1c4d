"""Scoring results in MRML: parameter node fields, survival curve table/plot nodes, scene save and reload."""

from __future__ import annotations

import json

import pytest


def _table_columns(table_node):
    table = table_node.GetTable()
    return {
        table.GetColumnName(col): [
            table.GetValue(row, col).ToDouble() for row in range(table.GetNumberOfRows())
        ]
        for col in range(table.GetNumberOfColumns())
    }


def _expected_curve(score):
    assert score.survival_curve, "a bundle's result carries its survival curve"
    return [(point["month"], point["survival"]) for point in score.survival_curve]


@pytest.fixture
def scored(prime_module, demo_nodes):
    from PRIMELib.demo import DEMO_CLINICAL_RECORD

    logic = prime_module.PRIMELogic()
    parameters = logic.getParameterNode()
    parameters.arterialVolume = demo_nodes.arterial
    parameters.venousVolume = demo_nodes.venous
    parameters.segmentation = demo_nodes.segmentation
    parameters.segmentID = demo_nodes.segment_id
    result = logic.scoreCase(
        demo_nodes.arterial,
        demo_nodes.venous,
        demo_nodes.segmentation,
        demo_nodes.segment_id,
        dict(DEMO_CLINICAL_RECORD),
        parameterNode=parameters,
    )
    return logic, parameters, result


def test_results_fill_the_parameter_node_and_the_survival_plot(scored):
    _, parameters, result = scored
    score = result.score
    assert parameters.responseProbability == pytest.approx(score.response_probability, rel=1e-12)
    assert parameters.riskScore == pytest.approx(score.risk_score, rel=1e-12)
    assert (parameters.riskGroup, parameters.quadrant) == (score.risk_group, score.quadrant)
    assert json.loads(parameters.resultJson)["quadrant_text"] == score.quadrant_text

    columns = _table_columns(parameters.survivalTable)
    expected = _expected_curve(score)
    assert columns["Month"] == pytest.approx([m for m, _ in expected])
    assert columns["Survival"] == pytest.approx([s for _, s in expected], rel=1e-12)
    chart = parameters.survivalChart
    assert chart.GetNumberOfPlotSeriesNodes() == 1
    series = chart.GetNthPlotSeriesNode(0)
    assert series.GetTableNode() is parameters.survivalTable
    assert (series.GetXColumnName(), series.GetYColumnName()) == ("Month", "Survival")


def test_scoring_again_reuses_the_result_nodes(scored, mrml_scene):
    logic, parameters, result = scored
    tables = mrml_scene.GetNumberOfNodesByClass("vtkMRMLTableNode")
    logic.writeResults(result.score, parameters)
    assert mrml_scene.GetNumberOfNodesByClass("vtkMRMLTableNode") == tables
    assert mrml_scene.GetNumberOfNodesByClass("vtkMRMLPlotSeriesNode") == 1
    assert mrml_scene.GetNumberOfNodesByClass("vtkMRMLPlotChartNode") == 1


def test_result_json_from_a_subprocess_gives_the_same_nodes(prime_module, scored):
    logic, parameters, result = scored
    before = _table_columns(parameters.survivalTable)
    parameters.resultJson = ""
    logic.writeResults(json.loads(json.dumps(result.score.to_dict())), parameters)
    assert _table_columns(parameters.survivalTable) == before
    assert parameters.quadrant == result.score.quadrant


def test_results_survive_scene_save_and_reload(prime_module, scored, mrml_scene, tmp_path):
    import slicer

    _, parameters, result = scored
    for table_node in (parameters.survivalTable, parameters.featureTable):
        table_node.AddDefaultStorageNode()
        storage = table_node.GetStorageNode()
        storage.SetFileName(str(tmp_path / f"{table_node.GetName()}.tsv"))
        assert storage.WriteData(table_node)
    scene_file = tmp_path / "scene.mrml"
    mrml_scene.SetURL(str(scene_file))
    assert mrml_scene.Commit() != 0

    reloaded = slicer.vtkMRMLScene()
    reloaded.SetURL(str(scene_file))
    reloaded.Import()
    restored = prime_module.PRIMEParameterNode(reloaded.GetFirstNodeByClass("vtkMRMLScriptedModuleNode"))
    assert restored.responseProbability == pytest.approx(result.score.response_probability, rel=1e-9)
    assert restored.riskScore == pytest.approx(result.score.risk_score, rel=1e-9)
    assert (restored.riskGroup, restored.quadrant) == (result.score.risk_group, result.score.quadrant)
    assert json.loads(restored.resultJson) == json.loads(parameters.resultJson)
    assert restored.segmentID == parameters.segmentID
    assert restored.arterialVolume.GetName() == "arterial"
    restored_curve = _table_columns(restored.survivalTable)
    for name, values in _table_columns(parameters.survivalTable).items():
        # The table's TSV file keeps 6 significant digits; resultJson keeps every digit.
        assert restored_curve[name] == pytest.approx(values, rel=1e-5), name
    series = restored.survivalChart.GetNthPlotSeriesNode(0)
    assert series.GetTableNode().GetID() == restored.survivalTable.GetID()
    assert restored.featureTable.GetTable().GetNumberOfRows() == len(result.radiomics.values)


def test_scoring_in_a_subprocess_gives_the_same_results_as_in_process(prime_module, scored, tmp_path, panel):
    """Files written from the nodes → ``python -m PRIMELib score`` → result.json read back into MRML."""
    import subprocess

    logic, parameters, result = scored
    in_process = _table_columns(parameters.survivalTable)
    parameters.clinicalRecordJson = json.dumps(result.clinical)
    command_args = logic.writeCaseFiles(parameters, tmp_path / "case")
    command = panel.scoring.scoreCommand(**command_args)
    repo = prime_module.__file__.rsplit("/", 2)[0]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=repo)
    assert done.returncode == 0, done.stderr
    progress = [line for line in map(panel.scoring.parseProgressLine, done.stderr.splitlines()) if line]
    assert progress and progress[-1] == (1.0, "Done")
    parameters.resultJson = ""
    read_back = logic.readScoreOutputs(command_args["outputDir"], parameters)
    assert read_back["response_probability"] == pytest.approx(result.score.response_probability, rel=1e-6)
    assert parameters.quadrant == result.score.quadrant
    survival = _table_columns(parameters.survivalTable)["Survival"]
    assert survival == pytest.approx(in_process["Survival"], rel=1e-6)
    table = parameters.featureTable.GetTable()
    assert table.GetNumberOfRows() == len(result.radiomics.values)
    for row in range(table.GetNumberOfRows()):
        name = table.GetValue(row, 0).ToString()
        assert table.GetValue(row, 1).ToDouble() == pytest.approx(
            result.radiomics.values[name], rel=1e-6, abs=1e-9
        )


def test_patient_report_from_the_parameter_node_equals_primelib_s(scored, tmp_path, panel):
    """Save patient report: the last result in the parameter node (JSON, as a reloaded scene has it)
    and the clinical record as entered give the same report as PRIMELib given the result object."""
    from PRIMELib.demo import DEMO_CLINICAL_RECORD
    from PRIMELib.reports.patient import write_patient_report

    logic, parameters, result = scored
    parameters.clinicalRecordJson = json.dumps(dict(DEMO_CLINICAL_RECORD))
    assert panel.rules.saveReportButtonState(parameters).enabled
    name = panel.rules.defaultReportName(parameters.resultJson)
    written = logic.saveReport(parameters, tmp_path / "reports" / name)
    assert written["html"] == tmp_path / "reports" / name
    assert written["pdf"] == (tmp_path / "reports" / name).with_suffix(".pdf")
    assert written["pdf"].read_bytes().startswith(b"%PDF")
    direct = write_patient_report(
        result.score, tmp_path / "direct" / name, formats=("html", "pdf"), record=dict(DEMO_CLINICAL_RECORD)
    )
    html = written["html"].read_text(encoding="utf-8")
    assert html == direct["html"].read_text(encoding="utf-8")
    assert result.score.case_id in html and "Research use only" in html


def test_patient_report_needs_a_result(prime_module, tmp_path, panel):
    from PRIMELib.errors import PRIMEInputError

    parameters = prime_module.PRIMELogic().getParameterNode()
    assert not panel.rules.saveReportButtonState(parameters).enabled
    with pytest.raises(PRIMEInputError, match="no result to report"):
        prime_module.PRIMELogic().saveReport(parameters, tmp_path / "report.html")
    assert not list(tmp_path.glob("report*"))
