"""Synthetic patients: clinical values like the paper's Table 1, latent tumour traits, and outcomes.

The generative model (what "truth" means for this cohort):

* **Clinical values** are drawn per centre to match Table 1 (means, SDs, proportions), with the labs
  behind the derived indices (albumin, bilirubin, lymphocytes, monocytes, PT, AFP, ...) at baseline
  and one month.
* **Latent tumour traits** shape the CT phantom: the largest diameter (Table 1: about 9 cm), a
  lobulation level in [0, 1] (0 = round, 1 = very lobulated: lower sphericity) and a texture
  heterogeneity z-score (the amplitude of intratumoral texture).
* **Response** (objective response at 3 months) depends mainly on tumour geometry and a few
  clinical factors::

      logit P(response) = RESPONSE_INTERCEPT - 0.9 z(diameter) - 0.8 z(lobulation)
                          + 0.6 z(PNI) - 0.6 ECOG - 0.4 z(log10 AFP)

* **Survival** is Weibull proportional hazards driven by systemic factors plus texture::

      lp = 0.6 z(ΔMON) + 0.45 HBV + 0.55 z(ALBI score) + 0.35 z(log AST) + 0.4 z(ΔPT)
           + 0.35 heterogeneity - 0.25 response
      S(t | lp) = exp(-(t / WEIBULL_SCALE_DAYS) ** WEIBULL_SHAPE * exp(lp))

  The small response term makes the endpoints weakly correlated, so responders with poor survival
  exist, as in the paper. Censoring is administrative: enrolment uniform over 30 months, analysis
  at month 42 (potential follow-up 12-42 months), plus 5 % lost to follow-up at a uniform time.

z(x) standardises with the fixed population constants below (not the sample's), so the truth of one
patient does not depend on who else was drawn. ``true_response_probability`` and ``true_risk`` are
the Bayes-optimal predictions; the evaluation of trained models compares against them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from PRIMELib.clinical import albi_score, pni
from PRIMELib.synth.table1 import CONTINUOUS, IMMUNOTHERAPY, PROPORTIONS, TARGETED

# The clinical formulas take scalars (and check them); vectorise them rather than restate them.
_pni = np.vectorize(pni, otypes=[float])
_albi_score = np.vectorize(albi_score, otypes=[float])

RESPONSE_INTERCEPT = -0.03
RESPONSE_COEFFICIENTS = {"diameter": -0.9, "lobulation": -0.8, "pni": 0.6, "ecog": -0.6, "log10_afp": -0.4}
SURVIVAL_COEFFICIENTS = {
    "delta_mon": 0.6,
    "hbv": 0.45,
    "albi_score": 0.55,
    "log_ast": 0.35,
    "delta_pt": 0.4,
    "heterogeneity": 0.35,
    "response": -0.25,
}
WEIBULL_SHAPE = 1.3
WEIBULL_SCALE_DAYS = 970.0
DAYS_PER_MONTH = 365.25 / 12

#: Population (mean, SD) used to standardise predictors in the outcome model.
_POPULATION = {
    "diameter": (9.1, 3.9),
    "lobulation": (0.5, 0.29),
    "pni": (46.0, 5.5),
    "log10_afp": (2.55, 1.2),
    "delta_mon": (0.05, 0.30),
    "albi_score": (-2.55, 0.45),
    "log_ast": (math.log(48.0), 0.55),
    "delta_pt": (0.02, 0.08),
}


def _z(name: str, value):
    mean, sd = _POPULATION[name]
    return (np.asarray(value, dtype=float) - mean) / sd


def _lognormal(rng, median: float, sigma: float, size: int) -> np.ndarray:
    return median * np.exp(rng.normal(0.0, sigma, size))


def _categorical(rng, counts: dict[str, tuple[int, int]], centre_index: int, size: int) -> np.ndarray:
    names = list(counts)
    weights = np.array([counts[n][centre_index] for n in names], dtype=float)
    return rng.choice(names, size=size, p=weights / weights.sum())


def draw_patients(n: int, centre: str, rng: np.random.Generator, *, first_index: int = 1) -> pd.DataFrame:
    """Draw ``n`` patients of ``centre`` ("A" or "B"): clinical values, latent traits and outcomes."""
    c = {"A": 0, "B": 1}[centre]

    def normal(name: str, lower: float, upper: float) -> np.ndarray:
        mean, sd = CONTINUOUS[name][centre]
        return np.clip(rng.normal(mean, sd, n), lower, upper)

    def flag(name: str) -> np.ndarray:
        return (rng.random(n) < PROPORTIONS[name][centre]).astype(int)

    frame = pd.DataFrame({"case_id": [f"SYN-{centre}-{first_index + i:04d}" for i in range(n)]})
    frame["centre"] = centre
    frame["age"] = np.round(normal("age", 18, 90)).astype(int)
    frame["sex"] = np.where(flag("male") == 1, "male", "female")
    frame["bmi"] = np.round(normal("bmi", 15, 40), 1)
    frame["weight"] = np.round(normal("weight", 35, 130), 1)
    frame["ecog"] = flag("ecog_1")
    frame["hbv"] = flag("hbv")
    frame["cirrhosis"] = flag("cirrhosis")
    # Labs: log-normal with medians set so the proportions above Table 1's cut-offs match.
    frame["alt"] = np.round(
        _lognormal(rng, 40.0 * math.exp(0.55 * _probit(PROPORTIONS["alt_over_40"][centre])), 0.55, n), 1
    )
    frame["ast"] = np.round(
        _lognormal(rng, 40.0 * math.exp(0.55 * _probit(PROPORTIONS["ast_over_40"][centre])), 0.55, n), 1
    )
    frame["tbil"] = np.round(
        _lognormal(rng, 17.1 * math.exp(0.45 * _probit(PROPORTIONS["tbil_over_17_1"][centre])), 0.45, n), 1
    )
    # Albumin: ALBI grade 1 (score <= -2.60) in Table 1's share of patients, a tail of poor reserve.
    poor_reserve = rng.random(n) < 0.06
    frame["alb"] = np.round(
        np.clip(np.where(poor_reserve, rng.normal(27.0, 3.0, n), rng.normal(40.6, 4.0, n)), 15, 55), 1
    )
    log10_afp = rng.normal(math.log10(400) + 1.2 * _probit(PROPORTIONS["afp_400_or_more"][centre]), 1.2, n)
    frame["afp"] = np.round(10 ** np.clip(log10_afp, 0.0, 6.0), 1)
    frame["pt"] = np.round(np.clip(rng.normal(12.8, 1.1, n), 9.5, 20.0), 1)
    frame["inr"] = np.round(frame["pt"] / 12.0 + rng.normal(0.0, 0.03, n), 2)
    frame["mon"] = np.round(_lognormal(rng, 0.45, 0.35, n), 2)
    frame["lym"] = np.round(np.clip(_lognormal(rng, 1.2, 0.4, n), 0.2, 5.0), 2)
    frame["neu"] = np.round(_lognormal(rng, 3.5, 0.4, n), 2)
    frame["plt"] = np.round(_lognormal(rng, 150.0, 0.45, n)).astype(int)
    frame["ldh"] = np.round(_lognormal(rng, 220.0, 0.35, n)).astype(int)
    frame["ascites"] = (rng.random(n) < 0.55).astype(int)  # mild ascites: most are Child-Pugh 6-7
    frame["encephalopathy"] = 0
    # One month after treatment start: relative changes.
    frame["mon_1m"] = np.round(frame["mon"] * (1 + np.clip(rng.normal(0.05, 0.30, n), -0.8, 2.0)), 2).clip(
        0.01
    )
    frame["pt_1m"] = np.round(frame["pt"] * (1 + np.clip(rng.normal(0.02, 0.08, n), -0.3, 0.6)), 1)
    frame["afp_1m"] = np.round(frame["afp"] * np.exp(rng.normal(-0.3, 0.6, n)), 1)
    frame["alb_1m"] = np.round(frame["alb"] * (1 + rng.normal(-0.02, 0.06, n)), 1)
    frame["tbil_1m"] = np.round(frame["tbil"] * np.exp(rng.normal(0.02, 0.2, n)), 1).clip(2.0)
    # Tumour burden and vascular invasion.
    frame["tumor_diameter"] = np.round(normal("tumor_diameter", 2.0, 20.0), 1)
    multiple = flag("multiple_tumors")
    frame["tumor_number"] = np.where(multiple == 1, rng.integers(2, 5, n), 1)
    frame["hvtt"] = np.where(
        flag("hvtt_2_or_more") == 1, rng.choice([2, 3], n, p=[0.7, 0.3]), rng.choice([0, 1], n, p=[0.7, 0.3])
    )
    frame["pvtt"] = np.where(
        flag("pvtt_3_or_more") == 1,
        rng.choice([3, 4], n, p=[0.85, 0.15]),
        rng.choice([0, 1, 2], n, p=[0.5, 0.2, 0.3]),
    )
    frame["ehm"] = (rng.random(n) < 0.3).astype(int)
    frame["interventional"] = np.where(
        flag("tace_plus_haic") == 1, "TACE+HAIC", rng.choice(["TACE", "HAIC"], n)
    )
    frame["immunotherapy"] = _categorical(rng, IMMUNOTHERAPY, c, n)
    frame["targeted"] = _categorical(rng, TARGETED, c, n)
    frame["subsequent_therapy"] = (rng.random(n) < 0.5).astype(int)
    # Latent traits of the tumour, rendered into the CT phantom.
    frame["lobulation"] = np.round(rng.uniform(0.0, 1.0, n), 3)
    frame["heterogeneity"] = np.round(rng.normal(0.0, 1.0, n), 3)
    _add_outcomes(frame, rng)
    return frame


def _probit(p: float) -> float:
    """The standard-normal quantile of p: a log-normal with median cut-off * exp(sigma * probit(p))
    exceeds the cut-off with probability p."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def response_logit(frame: pd.DataFrame) -> np.ndarray:
    """The true response log-odds of each patient (see the module docstring)."""
    coef = RESPONSE_COEFFICIENTS
    return (
        RESPONSE_INTERCEPT
        + coef["diameter"] * _z("diameter", frame["tumor_diameter"])
        + coef["lobulation"] * _z("lobulation", frame["lobulation"])
        + coef["pni"] * _z("pni", _pni(frame["alb"].to_numpy(), frame["lym"].to_numpy()))
        + coef["ecog"] * frame["ecog"].to_numpy()
        + coef["log10_afp"] * _z("log10_afp", np.log10(np.maximum(frame["afp"].to_numpy(), 1.0)))
    )


def survival_linear_predictor(frame: pd.DataFrame, response: np.ndarray) -> np.ndarray:
    """The true log hazard ratio of each patient given its (drawn) response."""
    coef = SURVIVAL_COEFFICIENTS
    albi = _albi_score(frame["tbil"].to_numpy(), frame["alb"].to_numpy())
    return (
        coef["delta_mon"] * _z("delta_mon", frame["mon_1m"] / frame["mon"] - 1)
        + coef["hbv"] * frame["hbv"].to_numpy()
        + coef["albi_score"] * _z("albi_score", albi)
        + coef["log_ast"] * _z("log_ast", np.log(frame["ast"].to_numpy()))
        + coef["delta_pt"] * _z("delta_pt", frame["pt_1m"] / frame["pt"] - 1)
        + coef["heterogeneity"] * frame["heterogeneity"].to_numpy()
        + coef["response"] * response
    )


def true_survival(linear_predictor, days) -> np.ndarray:
    """S(t) of the generating Weibull model for each linear predictor (rows) at each day (columns)."""
    lp = np.atleast_1d(np.asarray(linear_predictor, dtype=float))[:, None]
    t = np.atleast_1d(np.asarray(days, dtype=float))[None, :]
    return np.exp(-((t / WEIBULL_SCALE_DAYS) ** WEIBULL_SHAPE) * np.exp(lp))


def _add_outcomes(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    n = len(frame)
    probability = 1.0 / (1.0 + np.exp(-response_logit(frame)))
    response = (rng.random(n) < probability).astype(int)
    lp = survival_linear_predictor(frame, response)
    event_time = WEIBULL_SCALE_DAYS * (-np.log(rng.random(n)) / np.exp(lp)) ** (1.0 / WEIBULL_SHAPE)
    follow_up = (42.0 - rng.uniform(0.0, 30.0, n)) * DAYS_PER_MONTH
    lost = rng.random(n) < 0.05
    follow_up = np.where(lost, rng.uniform(0.0, 1.0, n) * follow_up, follow_up)
    frame["response"] = response
    # mRECIST category consistent with the response: CR/PR for responders, SD/PD otherwise.
    frame["mrecist"] = np.where(
        response == 1,
        rng.choice(["CR", "PR"], n, p=[0.06, 0.94]),
        rng.choice(["SD", "PD"], n, p=[0.53, 0.47]),
    )
    frame["os_days"] = np.maximum(np.round(np.minimum(event_time, follow_up)), 1).astype(int)
    frame["os_event"] = (event_time <= follow_up).astype(int)
    frame["true_response_probability"] = probability
    frame["true_risk"] = lp
