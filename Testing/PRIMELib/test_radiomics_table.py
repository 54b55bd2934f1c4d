"""Feature tables (one row per case, diagnostics apart, CSV or Parquet) and the `prime extract` command."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import SimpleITK as sitk
from radiomics_phantoms import small_case

from PRIMELib.cli import main
from PRIMELib.errors import PRIMEInputError
from PRIMELib.radiomics import extract_case, features_table, read_table, write_case_tables, write_table


@pytest.fixture(scope="module")
def two_cases():
    return {f"HCC-{seed}": extract_case(*small_case(seed=seed), params="prime_quick") for seed in (1, 2)}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tables_round_trip_exactly_with_diagnostics_apart(tmp_path, two_cases, suffix):
    paths = write_case_tables(two_cases, tmp_path / f"features{suffix}")
    assert paths["diagnostics"].name == f"features_diagnostics{suffix}"
    features = read_table(paths["features"])
    assert list(features["case_id"]) == ["HCC-1", "HCC-2"]
    assert list(features.columns[1:]) == list(two_cases["HCC-1"].values)
    assert all(c.startswith(("arterial_", "venous_")) for c in features.columns[1:])
    for row, case in zip(features.to_dict("records"), two_cases.values(), strict=True):
        assert all(row[name] == value for name, value in case.values.items())  # bit for bit
    diagnostics = read_table(paths["diagnostics"])
    assert list(diagnostics["case_id"]) == ["HCC-1", "HCC-2"]
    assert json.loads(diagnostics.loc[0, "arterial_feature_grid_spacing_mm"]) == [1.0, 1.0, 1.0]
    assert {"versions_pyradiomics", "settings_sha256", "arterial_roi_voxels", "warnings"} <= set(diagnostics)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"features{suffix}", f"features_diagnostics{suffix}"]
    )


def test_a_failed_write_leaves_the_previous_table_untouched(tmp_path, two_cases):
    path = tmp_path / "features.parquet"
    write_table(features_table(two_cases), path)
    before = path.read_bytes()
    unwritable = pd.DataFrame({"case_id": ["x"], "bad": [object()]})  # Parquet cannot store this
    with pytest.raises(Exception):  # noqa: B017 (pyarrow's own error type)
        write_table(unwritable, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["features.parquet"]


def test_parquet_without_pyarrow_is_a_named_error_and_writes_nothing(tmp_path, two_cases, monkeypatch):
    """pyarrow is the optional `parquet` extra: without it a .parquet table is refused, naming the
    package and what to do, and no file appears."""
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)  # import pyarrow now fails
    for action in (
        lambda: write_table(features_table(two_cases), tmp_path / "features.parquet"),
        lambda: read_table(tmp_path / "features.parquet"),
    ):
        with pytest.raises(PRIMEInputError, match=r"pyarrow.*PRIMELib\[parquet\]"):
            action()
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_and_duplicate_cases_are_errors(tmp_path, two_cases):
    with pytest.raises(PRIMEInputError, match=r"\.csv or \.parquet"):
        write_case_tables(two_cases, tmp_path / "features.xlsx")
    case = two_cases["HCC-1"]
    with pytest.raises(PRIMEInputError, match="appears twice"):
        features_table([("a", case), ("a", case)])


def test_prime_extract_writes_a_one_row_table(tmp_path, capsys):
    arterial, venous, mask = small_case(seed=4)
    for name, image in (("a.nrrd", arterial), ("v.nrrd", venous), ("m.nrrd", mask)):
        sitk.WriteImage(image, str(tmp_path / name))
    wanted = tmp_path / "model_features.txt"
    wanted.write_text(
        "# a model's radiomics\narterial_original_shape_Sphericity\nvenous_original_firstorder_Mean\n"
    )
    args = ["extract", "--arterial", str(tmp_path / "a.nrrd"), "--venous", str(tmp_path / "v.nrrd")]
    args += ["--mask", str(tmp_path / "m.nrrd"), "--output", str(tmp_path / "out" / "case.csv")]
    assert main([*args, "--features", str(wanted), "--case-id", "HCC-9", "--params", "prime_quick"]) == 0
    assert "2 features" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out" / "case.csv")
    assert list(table.columns) == [
        "case_id",
        "arterial_original_shape_Sphericity",
        "venous_original_firstorder_Mean",
    ]
    assert table.loc[0, "case_id"] == "HCC-9"
    assert (tmp_path / "out" / "case_diagnostics.csv").is_file()
    # A bad input is one clear line and exit status 2.
    assert main([*args, "--label", "7", "--params", "prime_quick"]) == 2
    assert "no voxel with label 7" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Any feature table, PyRadiomics' batch CLI output included, through the one normaliser

_PARAMS = """\
imageType: {Original: {}}
featureClass: {firstorder: [Mean, Energy], shape: [MeshVolume]}
setting: {label: 1}
"""


@pytest.fixture(scope="module")
def pyradiomics_batch(tmp_path_factory):
    """The real PyRadiomics batch CLI on two phantom cases stored as ``<case>/arterial.nrrd``: its CSV
    has Image, Mask, diagnostics and unprefixed feature columns, and no case id column."""
    import subprocess
    import sys
    from pathlib import Path

    folder = tmp_path_factory.mktemp("pyradiomics")
    rows = []
    for seed in (1, 2):
        case = folder / f"HCC-{seed}"
        case.mkdir()
        arterial, _, mask = small_case(seed=seed)
        sitk.WriteImage(arterial, str(case / "arterial.nrrd"))
        sitk.WriteImage(mask, str(case / "mask.nrrd"))
        rows.append({"Image": str(case / "arterial.nrrd"), "Mask": str(case / "mask.nrrd")})
    pd.DataFrame(rows).to_csv(folder / "batch.csv", index=False)
    (folder / "params.yaml").write_text(_PARAMS, encoding="utf-8")
    cli = Path(sys.executable).with_name("pyradiomics")
    subprocess.run(
        [str(cli), str(folder / "batch.csv"), "-o", str(folder / "out.csv"), "-f", "csv",
         "-p", str(folder / "params.yaml")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return folder / "out.csv"


def test_a_pyradiomics_cli_table_is_read_with_ids_from_the_image_folders(pyradiomics_batch):
    from PRIMELib.cohort_data import read_feature_table

    theirs = pd.read_csv(pyradiomics_batch)
    assert {"Image", "Mask", "original_firstorder_Mean"} <= set(theirs.columns)  # PyRadiomics' own layout
    assert any(c.startswith("diagnostics_") for c in theirs.columns)
    table = read_feature_table(pyradiomics_batch)
    assert list(table.index) == ["HCC-1", "HCC-2"]  # file names repeat (arterial.nrrd): the folders
    assert sorted(table.columns) == [
        "arterial_original_firstorder_Energy",
        "arterial_original_firstorder_Mean",
        "arterial_original_shape_MeshVolume",
    ]
    assert table["arterial_original_firstorder_Mean"].tolist() == theirs["original_firstorder_Mean"].tolist()
    notes = " ".join(table.attrs["notes"])
    assert "folders of the Image files" in notes and "taken as the arterial phase" in notes
    venous = read_feature_table(pyradiomics_batch, phase="venous")
    assert all(c.startswith("venous_original_") for c in venous.columns)
    assert "arterial phase" not in " ".join(venous.attrs["notes"])


def test_ids_from_file_names_or_a_pattern_and_clear_errors():
    from PRIMELib.radiomics.table import normalise_feature_table

    raw = pd.DataFrame(
        {
            "Image": ["/data/HCC001_art.nii.gz", "/data/HCC002_art.nii.gz"],
            "Mask": ["/data/HCC001_seg.nii.gz", "/data/HCC002_seg.nii.gz"],
            "original_glcm_Contrast": [1.5, 2.5],
            "age": [60, 70],  # not a PyRadiomics name: left as it is
        }
    )
    table = normalise_feature_table(raw).table
    assert list(table.index) == ["HCC001_art", "HCC002_art"]
    assert list(table.columns) == ["arterial_original_glcm_Contrast", "age"]
    assert list(normalise_feature_table(raw, id_from=r"(HCC\d+)").table.index) == ["HCC001", "HCC002"]
    with pytest.raises(PRIMEInputError, match="finds no case id in 2 Image path"):
        normalise_feature_table(raw, id_from=r"(P\d+)")
    same = raw.assign(Image=["/a/x.nrrd", "/a/x.nrrd"])
    with pytest.raises(PRIMEInputError, match="do not tell the cases apart") as caught:
        normalise_feature_table(same)
    assert "--id-from" in caught.value.hint
    with pytest.raises(PRIMEInputError, match="Unknown phase 'portal'"):
        normalise_feature_table(raw, phase="portal")
    with pytest.raises(PRIMEInputError, match="no case identifier column"):
        normalise_feature_table(raw.drop(columns=["Image"]))


def test_score_features_and_evaluate_take_one_phase_tables_as_train_does(tmp_path):
    """Two PyRadiomics-style one-phase tables (unprefixed names, ids only in the Image paths) score and
    evaluate exactly as PRIME's own two-phase table does."""
    from model_cohort import CLINICAL, bundle_path, cohort_frame

    frame = cohort_frame().iloc[-30:]  # the external centre of the test model
    clinical = frame[[*CLINICAL, "response", "os_days", "os_event"]].rename_axis("case_id").reset_index()
    # The test cohort's noise strays outside the schema's ranges here and there.
    clinical = clinical.assign(
        log10_afp=clinical["log10_afp"].clip(0, 7), delta_mon=clinical["delta_mon"].clip(-0.9)
    )
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    combined = frame[[c for c in frame.columns if c.startswith(("arterial_", "venous_"))]]
    combined.rename_axis("case_id").reset_index().to_csv(tmp_path / "combined.csv", index=False)
    for phase in ("arterial", "venous"):
        one = combined[[c for c in combined.columns if c.startswith(phase)]]
        one.columns = [c.removeprefix(f"{phase}_") for c in one.columns]
        one.insert(0, "Image", [f"/scans/{case}/{phase}.nii.gz" for case in one.index])
        one.to_csv(tmp_path / f"{phase}.csv", index=False)
    model = str(bundle_path())

    def scores(*tables: str) -> list[float]:
        out = tmp_path / f"scores_{len(tables)}.json"
        args = ["score-features", "--model", model, "--features", str(tmp_path / tables[0])]
        args += ["--venous-features", str(tmp_path / tables[1])] if len(tables) > 1 else []
        assert main([*args, "--clinical", str(tmp_path / "clinical.csv"), "--output", str(out)]) == 0
        return [s["response_probability"] for s in json.loads(out.read_text())]

    assert scores("arterial.csv", "venous.csv") == scores("combined.csv")

    def evaluated(*tables: str) -> pd.DataFrame:
        out = tmp_path / f"evaluation_{len(tables)}"
        args = ["evaluate", model, str(tmp_path / tables[0]), "--clinical", str(tmp_path / "clinical.csv")]
        args += ["--venous-features", str(tmp_path / tables[1])] if len(tables) > 1 else []
        common = ["--output", str(out), "--format", "none", "--bootstrap", "0", "--set-column", "all"]
        assert main([*args, *common]) == 0
        return pd.read_csv(out / "predictions.csv")

    pd.testing.assert_frame_equal(evaluated("arterial.csv", "venous.csv"), evaluated("combined.csv"))
