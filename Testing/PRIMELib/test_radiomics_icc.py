"""ICC reproducibility filter, checked against Shrout & Fleiss (1979)'s worked example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from PRIMELib.errors import PRIMEInputError
from PRIMELib.radiomics import feature_icc, intraclass_correlation, reproducible_features

# Shrout & Fleiss 1979, Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = np.array(
    [
        [9, 2, 5, 8],
        [6, 1, 3, 2],
        [8, 4, 6, 8],
        [7, 1, 2, 6],
        [10, 5, 6, 9],
        [6, 2, 4, 7],
    ]
)


def test_shrout_and_fleiss_table_2_published_values():
    result = intraclass_correlation(SHROUT_FLEISS)
    # Published (Table 4): ICC(2,1) = .29, ICC(3,1) = .71.
    assert round(result["ICC(2,1)"], 2) == 0.29
    assert round(result["ICC(3,1)"], 2) == 0.71
    # From their ANOVA (Table 3) by hand: BMS 11.24, JMS 32.49, EMS 1.02, with n = 6 targets, k = 4 judges.
    bms, jms, ems, n, k = 11.24, 32.49, 1.02, 6, 4
    assert result["ICC(3,1)"] == pytest.approx((bms - ems) / (bms + (k - 1) * ems), rel=1e-3)
    assert result["ICC(2,1)"] == pytest.approx(
        (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n), rel=1e-3
    )


def test_per_feature_icc_from_repeat_segmentation_tables_keeps_icc_above_threshold():
    rng = np.random.default_rng(0)
    cases = [f"HCC-{i:03d}" for i in range(30)]
    truth = rng.normal(size=30)
    repeats = []
    for reader in range(3):
        repeats.append(
            pd.DataFrame(
                {
                    "case_id": cases,
                    "arterial_stable": truth + 0.05 * rng.normal(size=30),
                    "arterial_noisy": rng.normal(size=30),  # pure noise: not reproducible
                    "venous_constant": np.ones(30),  # no variance: ICC undefined, dropped
                    "venous_judge_offset": truth + reader * 2.0,  # consistent but not in agreement
                }
            ).sample(frac=1.0, random_state=reader)  # row order must not matter
        )
    table = feature_icc(repeats)
    assert list(table.index) == [
        "arterial_stable",
        "arterial_noisy",
        "venous_constant",
        "venous_judge_offset",
    ]
    assert table.loc["arterial_stable", "ICC(2,1)"] > 0.95
    assert table.loc["arterial_noisy", "ICC(2,1)"] < 0.5
    assert np.isnan(table.loc["venous_constant", "ICC(2,1)"])
    # A constant offset between judges: ICC(3,1) (consistency) ≈ 1, ICC(2,1) (agreement) low.
    assert table.loc["venous_judge_offset", "ICC(3,1)"] == pytest.approx(1.0)
    assert table.loc["venous_judge_offset", "ICC(2,1)"] < 0.5
    assert (table["n_cases"] == 30).all()
    assert reproducible_features(repeats) == ["arterial_stable"]
    assert reproducible_features(table, kind="ICC(3,1)") == ["arterial_stable", "venous_judge_offset"]


def test_icc_needs_two_repeats_and_two_cases():
    with pytest.raises(PRIMEInputError, match="at least two repeat segmentations"):
        feature_icc([pd.DataFrame({"case_id": ["a", "b"], "x": [1.0, 2.0]})])
    with pytest.raises(PRIMEInputError, match="at least 2 targets"):
        intraclass_correlation([[1.0, 2.0]])
    with pytest.raises(PRIMEInputError, match="Unknown ICC kind"):
        reproducible_features(pd.DataFrame({"ICC(2,1)": [0.9]}), kind="ICC(1,1)")
