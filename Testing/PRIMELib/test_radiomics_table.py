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
