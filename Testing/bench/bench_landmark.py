"""`make bench`: how much the paper's handling of the one-month changes (ΔMON, ΔPT) inflates the C-index.

The synthetic cohort (``PRIMELib.synth``: survival is Weibull proportional hazards in ΔMON, ΔPT, HBV,
ALBI, log AST, texture and response) is drawn ``--repeats`` times, ``--patients`` patients of centre A
each, and split 7:3 into training and test patients (stratified by the event). A Cox model (scikit-
survival's ``CoxPHSurvivalAnalysis``) on ΔMON, ΔPT, HBV, ALBI score and log AST is fitted two ways:

* **paper**: the clock starts at treatment; every patient is used, and a patient who died or was
  censored at or before day 30 (who has no one-month visit) gets the training median of ΔMON and ΔPT;
  Harrell's C on all test patients, from treatment start;
* **landmark** (PRIME, :mod:`PRIMELib.models.landmark`): the clock starts at day 30 and patients who
  died or were censored by then are left out, in training and test; Harrell's C on the test patients
  alive at day 30, from the landmark.

The paper's C is what the paper would report; the landmark C is what the model delivers for the
patients it can be applied to (one-month values exist only for them). Also printed: the paper's model
scored on the landmark test patients, and a model without ΔMON and ΔPT from treatment start (what is
known then). Prints the mean and SD over draws of each C and of the
difference paper − landmark, and the share of patients the landmark leaves out.

Usage: ``python Testing/bench/bench_landmark.py [--repeats N] [--patients N]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored

from PRIMELib.clinical import albi_score
from PRIMELib.models.landmark import LANDMARK_DAYS, landmark_cohort
from PRIMELib.models.survival_data import make_survival_labels
from PRIMELib.synth.cohort import draw_cohort

DELTAS = ["delta_mon", "delta_pt"]
BASELINE = ["hbv", "albi_score", "log_ast"]
FEATURES = [*DELTAS, *BASELINE]


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["delta_mon"] = frame["mon_1m"] / frame["mon"] - 1
    out["delta_pt"] = frame["pt_1m"] / frame["pt"] - 1
    out["hbv"] = frame["hbv"].astype(float)
    out["albi_score"] = [albi_score(t, a) for t, a in zip(frame["tbil"], frame["alb"], strict=True)]
    out["log_ast"] = np.log(frame["ast"])
    return out


def _c(days: pd.Series, events: pd.Series, risk: np.ndarray) -> float:
    return float(concordance_index_censored(events.to_numpy(bool), days.to_numpy(float), risk)[0])


def one_draw(seed: int, n: int) -> dict[str, float]:
    frame = draw_cohort({"A": n, "B": 0}, seed=seed)
    x = _features(frame)
    days, events = frame["os_days"].astype(float), frame["os_event"].astype(int)
    train, test = train_test_split(frame.index, test_size=0.3, stratify=events, random_state=seed)

    # The paper's way: clock at treatment; no one-month visit → the training median change.
    no_visit = days <= LANDMARK_DAYS
    paper_x = x.copy()
    paper_x.loc[no_visit, DELTAS] = np.nan
    paper_x[DELTAS] = paper_x[DELTAS].fillna(paper_x.loc[train, DELTAS].median())
    paper = CoxPHSurvivalAnalysis().fit(
        paper_x.loc[train, FEATURES], make_survival_labels(events[train], days[train])
    )
    c_paper = _c(days[test], events[test], paper.predict(paper_x.loc[test, FEATURES]))

    # The landmark way: clock at day 30, patients who died or were censored by then left out.
    lm_train = landmark_cohort(days[train], events[train])
    lm_test = landmark_cohort(days[test], events[test])
    landmark = CoxPHSurvivalAnalysis().fit(
        x.loc[lm_train.kept, FEATURES], make_survival_labels(lm_train.os_event, lm_train.os_days)
    )
    test_x = x.loc[lm_test.kept, FEATURES]
    c_landmark = _c(lm_test.os_days, lm_test.os_event, landmark.predict(test_x))
    c_paper_at_landmark = _c(lm_test.os_days, lm_test.os_event, paper.predict(test_x))
    # What treatment start allows: the same model without the one-month changes, from treatment start.
    baseline = CoxPHSurvivalAnalysis().fit(
        x.loc[train, BASELINE], make_survival_labels(events[train], days[train])
    )
    c_baseline = _c(days[test], events[test], baseline.predict(x.loc[test, BASELINE]))
    return {
        "paper": c_paper,
        "no Δ, from treatment": c_baseline,
        "paper model at landmark": c_paper_at_landmark,
        "landmark": c_landmark,
        "paper - landmark": c_paper - c_landmark,
        "left out": float(no_visit.mean()),
        "early deaths": float((no_visit & (events == 1)).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--patients", type=int, default=600)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = pd.DataFrame([one_draw(seed, args.patients) for seed in range(args.repeats)])
    seconds = time.perf_counter() - start
    print(
        f"Landmark vs the paper's clock: {args.repeats} synthetic draws of {args.patients} patients, "
        f"7:3 split, Cox on {', '.join(FEATURES)}; test-set Harrell C"
    )
    print(f"{'':<26}{'mean':>8}{'SD':>8}{'min':>8}{'max':>8}")
    for name in rows.columns:
        column = rows[name]
        scale, unit = (100, " %") if name in ("left out", "early deaths") else (1, "")
        print(
            f"{name + unit:<26}{column.mean() * scale:>8.3f}{column.std() * scale:>8.3f}"
            f"{column.min() * scale:>8.3f}{column.max() * scale:>8.3f}"
        )
    print(f"({seconds:.1f} s)")


if __name__ == "__main__":
    main()
