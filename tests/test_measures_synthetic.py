"""Every measure runs on the shipped synthetic data (skipped until it exists).

Checks that each measure returns one row per unit, values within the
instrument ranges, and that the synthetic data contain no out-of-range
responses (scoring raises on those)."""

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.measures import (
    classify_change,
    engagement,
    instrument_info,
    offending_outcomes,
    prior_offending,
    referral_outcomes,
    score_instrument,
    status_change,
    status_outcomes,
    wide_prepost,
)

DATA = Path(__file__).resolve().parents[1] / "synthetic_data"
TIMINGS: dict[str, float] = {}


def maybe_load(table: str) -> pd.DataFrame | None:
    csv = lambda p: pd.read_csv(p, low_memory=False)  # noqa: E731  (.csv.gz: pandas decompresses by name)
    for ext, reader in ((".parquet", pd.read_parquet), (".csv", csv), (".csv.gz", csv)):
        hits = sorted(DATA.rglob(f"{table}{ext}"))
        if hits:
            return reader(hits[0])
    return None


def load(table: str) -> pd.DataFrame:
    df = maybe_load(table)
    if df is None:
        pytest.skip(f"synthetic_data has no {table} table yet")
    return df


def timed(name, fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    TIMINGS[name] = time.perf_counter() - t
    return out


def test_instruments_on_synthetic_data():
    m = load("measurements")
    for name in sorted(m["instrument"].dropna().unique()):
        s = timed(f"score {name}", score_instrument, m, name)
        info = instrument_info(name)
        lo, hi = info.range
        prim = s[info.primary_scale].dropna()
        assert len(prim) > 0.5 * len(s), name
        assert prim.between(lo, hi).all(), name
        keys = m[m.instrument == name][["person_id", "intervention_id", "timepoint"]].drop_duplicates()
        assert len(s) == len(keys)
        if {"baseline", "exit"} <= set(s.timepoint):
            w = wide_prepost(s, info.primary_scale)
            both = w.dropna()
            cats = classify_change(both.pre, both.post, reliability=info.reliability, sd=info.norm_sd,
                                   higher_is_better=info.higher_is_better, cutoff=info.primary.clinical_cutoff)
            assert cats.notna().all() and len(cats) > 0


def test_offending_on_synthetic_data():
    parts, off = load("participants"), load("offences")
    parts = parts.loc[parts["start_date"].notna()]  # referrals that never started have no start date
    idx = parts[["person_id", "intervention_id", "start_date"]].rename(columns={"start_date": "index_date"})
    r = timed("offending_outcomes (participants)", offending_outcomes, idx, off)
    assert len(r) == len(idx) and r.attrs["n_total"] == len(idx)
    done = r[r.followup_complete]
    assert done.reoffended.isin([0, 1]).all() and (done.n_offences >= done.reoffended).all()
    assert r[~r.followup_complete].reoffended.isna().all()
    pr = timed("prior_offending", prior_offending, idx, off)
    assert (pr.prior_offences >= pr.prior_violent_offences).all()
    # The generator's prior_offences = proven offences in [index - 24 months, index) proven by the
    # extract; custody diversion indexes on the referral (arrest) date.
    ints = load("interventions")
    custody = set(ints.loc[ints.intervention_type == "custody_diversion", "intervention_id"])
    idx2 = parts.assign(index_date=np.where(parts.intervention_id.isin(custody), parts.referral_date, parts.start_date))
    pr2 = prior_offending(idx2[["person_id", "intervention_id", "index_date"]], off, known_at_index=False)
    both = pr2.merge(parts[["person_id", "intervention_id", "prior_offences", "prior_violent_offences"]],
                     on=["person_id", "intervention_id"], suffixes=("", "_file"))
    assert (both.prior_offences == both.prior_offences_file).all()
    assert (both.prior_violent_offences == both.prior_violent_offences_file).all()
    # Extract ends 2022-08-31: index dates after 2021-02-28 lack 12 + 6 months (README of the generator).
    r3 = offending_outcomes(idx2[["person_id", "intervention_id", "index_date"]], off, data_end="2022-08-31")
    assert r3.attrs["n_incomplete"] == int((pd.to_datetime(idx2.index_date) > "2021-02-28").sum()) > 0
    pool = maybe_load("comparison_pool")
    if pool is None:
        return
    r2 = timed("offending_outcomes (comparison pool)", offending_outcomes, pool[["person_id", "index_date"]], off)
    assert len(r2) == len(pool)


def test_status_engagement_referrals_on_synthetic_data():
    parts = load("participants")
    s = timed("status_outcomes", status_outcomes, load("statuses"))
    assert s.neet.dropna().isin([0, 1]).all() and s.substance_use_level.dropna().between(0, 4).all()
    if {"baseline", "exit"} <= set(s.timepoint):
        ch = status_change(s, "neet")
        assert ch.direction.notna().any()
    e = timed("engagement", engagement, load("contacts"), parts,
              interventions=maybe_load("interventions"))
    assert len(e) >= len(parts.drop_duplicates(["person_id", "intervention_id"]))
    assert e.attendance_rate.dropna().between(0, 1).all()
    r = timed("referral_outcomes", referral_outcomes, load("onward_referrals"), participants=parts)
    assert (r.n_taken_up <= r.n_referrals).all()


def teardown_module(module):
    if TIMINGS:
        print("\nmeasure timings on synthetic_data: " + "; ".join(f"{k} {v:.2f}s" for k, v in TIMINGS.items()))
