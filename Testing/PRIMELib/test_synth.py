"""The synthetic cohort: Table 1 regenerated, the documented outcome model, and the CT phantoms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from PRIMELib.cli import main
from PRIMELib.clinical import albi_grade, albi_score, prepare_record
from PRIMELib.synth import draw_cohort, generate_cohort, make_phantom, true_survival
from PRIMELib.synth.table1 import CONTINUOUS, MEDIAN_OS_DAYS, PROPORTIONS

LATENT = ["centre", "lobulation", "heterogeneity", "true_response_probability", "true_risk"]


@pytest.fixture(scope="module")
def cohort():
    return draw_cohort(seed=2026)


def _regenerated_table1(cohort: pd.DataFrame) -> dict[str, dict[str, float]]:
    rows = {}
    for centre, group in cohort.groupby("centre"):
        albi = [albi_score(t, a) for t, a in zip(group["tbil"], group["alb"], strict=True)]
        rows[centre] = {
            "male": (group["sex"] == "male").mean(),
            "ecog_1": (group["ecog"] == 1).mean(),
            "hbv": group["hbv"].mean(),
            "cirrhosis": group["cirrhosis"].mean(),
            "alt_over_40": (group["alt"] > 40).mean(),
            "ast_over_40": (group["ast"] > 40).mean(),
            "tbil_over_17_1": (group["tbil"] > 17.1).mean(),
            "afp_400_or_more": (group["afp"] >= 400).mean(),
            "albi_grade_1": np.mean([albi_grade(s) == 1 for s in albi]),
            "multiple_tumors": (group["tumor_number"] >= 2).mean(),
            "hvtt_2_or_more": (group["hvtt"] >= 2).mean(),
            "pvtt_3_or_more": (group["pvtt"] >= 3).mean(),
            "tace_plus_haic": (group["interventional"] == "TACE+HAIC").mean(),
            "objective_response": group["response"].mean(),
            **{f"{name}_mean": group[name].mean() for name in CONTINUOUS},
        }
    return rows


def _z_scores(cohort: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(centre, row) -> (paper value, synthetic value, z = difference / standard error under the paper)."""
    regenerated = _regenerated_table1(cohort)
    scores = {}
    for centre, group in cohort.groupby("centre"):
        n = len(group)
        for row, by_centre in PROPORTIONS.items():
            paper, ours = by_centre[centre], regenerated[centre][row]
            scores[centre, row] = (paper, ours, (ours - paper) / math.sqrt(paper * (1 - paper) / n))
        for name, by_centre in CONTINUOUS.items():
            mean, sd = by_centre[centre]
            ours = regenerated[centre][f"{name}_mean"]
            scores[centre, f"{name}_mean"] = (mean, ours, (ours - mean) / (sd / math.sqrt(n)))
    return scores


def test_table1_is_regenerated_within_sampling_error(cohort):
    from scipy.stats import chi2

    assert cohort["centre"].value_counts().to_dict() == {"A": 113, "B": 133}
    scores = _z_scores(cohort)
    print("\nTable 1, paper vs synthetic (default cohort, seed 2026):")
    for (centre, row), (paper, ours, z) in scores.items():
        print(f"  {centre} {row:22s} paper {paper:7.2f}  synthetic {ours:7.2f}  z {z:+.1f}")
    # Omnibus: under "the cohort is a sample of the paper's population" the sum of squared z-scores
    # is about chi-square with one degree of freedom per row; refuse below the 0.1 % tail.
    statistic = sum(z**2 for _, _, z in scores.values())
    assert statistic < chi2.ppf(0.999, df=len(scores)), statistic
    # No single row far outside (a generator bug, not bad luck, shows as |z| > 4.5).
    assert max(abs(z) for _, _, z in scores.values()) < 4.5


def test_generator_population_matches_table1():
    # A large draw estimates the generator's own population values: each within 0.04 (proportions)
    # or 0.1 SD (means) of the paper, so sampling error alone explains the default cohort's spread.
    scores = _z_scores(draw_cohort({"A": 6000, "B": 6000}, seed=1))
    for (centre, row), (paper, ours, _) in scores.items():
        if row.endswith("_mean"):
            name = row.removesuffix("_mean")
            assert abs(ours - paper) < 0.1 * CONTINUOUS[name][centre][1], (centre, row, paper, ours)
        else:
            assert abs(ours - paper) < 0.04, (centre, row, paper, ours)


def test_population_median_survival_matches_the_paper():
    # The marginal survival of a large draw, S(t) = mean_i S(t | lp_i), computed from the generating
    # model itself (no censoring involved), crosses 0.5 within 10 % of the paper's medians.
    large = draw_cohort({"A": 4000, "B": 4000}, seed=7)
    days = np.arange(1, 2000)
    for centre, median_days in MEDIAN_OS_DAYS.items():
        survival = true_survival(large.loc[large["centre"] == centre, "true_risk"], days).mean(axis=0)
        median = days[np.argmax(survival <= 0.5)]
        assert abs(median - median_days) < 0.1 * median_days, (centre, median, median_days)
    assert 0.45 < large["response"].mean() < 0.51  # ORR about 47-49 %
    assert 0.45 < large["os_event"].mean() < 0.75  # deaths observed; the rest censored


def test_every_synthetic_record_passes_clinical_validation(cohort):
    records = cohort.drop(columns=LATENT).to_dict("records")
    for record in records:
        prepared = prepare_record({k: v.item() if hasattr(v, "item") else v for k, v in record.items()})
        assert {"albi_score", "pni", "delta_mon", "delta_pt", "log10_afp"} <= set(prepared.values)


def test_same_seed_same_cohort_and_another_seed_another(cohort):
    pd.testing.assert_frame_equal(cohort, draw_cohort(seed=2026))
    assert not cohort["age"].equals(draw_cohort(seed=2027)["age"])


def test_endpoints_are_weakly_correlated_so_paradoxical_patients_exist():
    large = draw_cohort({"A": 3000, "B": 0}, seed=3)
    correlation = np.corrcoef(large["true_response_probability"], -large["true_risk"])[0, 1]
    assert 0.0 < correlation < 0.5
    high_risk = large["true_risk"] > large["true_risk"].median()
    responders = large["response"] == 1
    # Responders who are nevertheless in the high-risk half: the responder paradox.
    assert (responders & high_risk).sum() / responders.sum() > 0.3


def test_bayes_optimal_discrimination_on_the_external_centre(cohort):
    from sklearn.metrics import roc_auc_score

    external = cohort[cohort["centre"] == "B"]
    auc = roc_auc_score(external["response"], external["true_response_probability"])
    # Harrell's C of the true linear predictor, by its definition over comparable pairs.
    time, event, risk = (external[c].to_numpy() for c in ("os_days", "os_event", "true_risk"))
    earlier = (time[:, None] < time[None, :]) & (event[:, None] == 1)
    concordant = (risk[:, None] > risk[None, :]) & earlier
    tied = (risk[:, None] == risk[None, :]) & earlier
    c_index = (concordant.sum() + 0.5 * tied.sum()) / earlier.sum()
    print(f"\nBayes-optimal on centre B: response AUC {auc:.3f}, survival C-index {c_index:.3f}")
    assert 0.7 < auc < 0.92
    assert 0.6 < c_index < 0.85


def _shape(mask: sitk.Image):
    statistics = sitk.LabelShapeStatisticsImageFilter()
    statistics.ComputeFeretDiameterOn()
    statistics.Execute(mask)
    return statistics


def test_phantom_tumour_has_the_requested_diameter_and_lobulation_lowers_sphericity():
    from radiomics import shape

    spacing = (1.4, 1.4, 5.0)
    sphericity = {}
    for lobulation in (0.0, 1.0):
        arterial, _, mask = make_phantom(
            diameter_cm=9.0, lobulation=lobulation, heterogeneity=0.0, seed=5, spacing_mm=spacing
        )
        statistics = _shape(mask)
        # Voxelised Feret diameter: within a slice thickness of the requested 90 mm.
        assert statistics.GetFeretDiameter(1) == pytest.approx(90.0, abs=5.0)
        sphericity[lobulation] = shape.RadiomicsShape(arterial, mask).getSphericityFeatureValue()
    assert sphericity[0.0] > sphericity[1.0] + 0.1


def test_phantom_enhances_arterially_washes_out_and_heterogeneity_adds_texture():
    spacing = (1.4, 1.4, 5.0)
    sd = {}
    for heterogeneity in (-1.5, 1.5):
        arterial, venous, mask = make_phantom(
            diameter_cm=5.0, lobulation=0.3, heterogeneity=heterogeneity, seed=2, spacing_mm=spacing
        )
        tumour = sitk.GetArrayFromImage(sitk.BinaryErode(mask, (2, 2, 0))).astype(bool)
        shell = sitk.GetArrayFromImage(sitk.BinaryDilate(mask, (8, 8, 2))).astype(bool)
        shell &= ~sitk.GetArrayFromImage(mask).astype(bool)
        a, v = sitk.GetArrayFromImage(arterial), sitk.GetArrayFromImage(venous)
        assert a[tumour].mean() > a[shell].mean() + 35
        assert v[tumour].mean() < v[shell].mean() - 15
        sd[heterogeneity] = a[tumour].std()
    assert sd[1.5] > 1.5 * sd[-1.5]


def test_satellites_add_separate_lesions_to_the_mask():
    _, _, mask = make_phantom(
        diameter_cm=6.0, lobulation=0.2, heterogeneity=0.0, seed=4, spacing_mm=(2.0, 2.0, 5.0), satellites=2
    )
    components = sitk.RelabelComponent(sitk.ConnectedComponent(mask))
    assert _shape(components).GetNumberOfLabels() == 3


def test_generated_cohort_on_disk_resumes_without_redoing_images(tmp_path, capsys):
    sizes = {"A": 2, "B": 1}
    cohort = generate_cohort(tmp_path, sizes=sizes, seed=11, spacing_mm=(2.0, 2.0, 5.0))
    manifest = pd.read_csv(cohort.manifest)
    assert list(manifest["case_id"]) == ["SYN-A-0001", "SYN-A-0002", "SYN-B-0001"]
    for column in ("arterial", "venous", "mask"):
        assert all((tmp_path / p).is_file() for p in manifest[column])
    clinical = pd.read_csv(cohort.clinical)
    drawn = draw_cohort(sizes, seed=11)
    assert list(clinical["os_days"]) == list(drawn["os_days"])
    assert "true_risk" not in clinical and "true_risk" in pd.read_csv(cohort.truth)
    first_mask = tmp_path / manifest["mask"][0]
    stamp = first_mask.stat().st_mtime_ns
    generate_cohort(tmp_path, sizes=sizes, seed=11, spacing_mm=(2.0, 2.0, 5.0))
    assert first_mask.stat().st_mtime_ns == stamp  # resumed: not rewritten
    assert (
        main(["synth", "--output", str(tmp_path / "tables"), "--n-a", "3", "--n-b", "2", "--no-images"]) == 0
    )
    assert len(pd.read_csv(tmp_path / "tables" / "clinical.csv")) == 5
    assert not (tmp_path / "tables" / "images").exists()
