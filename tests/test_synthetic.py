"""The synthetic data generator: determinism, the data contract, and truth vs data.

The truth checks are independent of the generator's internals where possible:
outcomes are recomputed from the written offences with the documented definition,
the counterfactual comes from an outcome model fitted on the comparison pool
(statsmodels), hazard ratios from a Cox model (lifelines), the area rate ratio
from a Poisson difference-in-differences (statsmodels). Category codes and column
names come from the default configuration and docs/data-contract.md, not from the
generator.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
import yaml

from evalkit.errors import SpecError
from evalkit.synth.generate import data_file_name, generate

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "synthetic_data"
CONFIG = yaml.safe_load((ROOT / "evalkit/data/default_config.yaml").read_text())
PORTFOLIO = yaml.safe_load((ROOT / "evalkit/demo_portfolio.yaml").read_text())["interventions"]
DATA_TABLES = ["interventions", "participants", "contacts", "measurements", "statuses", "onward_referrals",
               "offences", "comparison_pool", "area_counts", "area_rollout"]
DATES = {"referral_date", "start_date", "end_date", "date_of_birth", "contact_date", "measurement_date",
         "status_date", "taken_up_date", "offence_date", "outcome_date", "index_date", "month", "start_month"}


def text_of(path: Path) -> str:
    """A written file's text (data tables are gzip-compressed)."""
    return gzip.decompress(path.read_bytes()).decode() if path.name.endswith(".gz") else path.read_text()


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "data"
    generate(seed=2021, out=path)
    return path


@pytest.fixture(scope="module")
def data(out) -> dict[str, pd.DataFrame]:
    frames = {}
    for t in [*DATA_TABLES, "truth"]:
        df = pd.read_csv(out / data_file_name(t), keep_default_na=False, na_values=[""], low_memory=False)
        for c in DATES & set(df.columns):
            df[c] = pd.to_datetime(df[c], format="%Y-%m-%d")
        frames[t] = df
    return frames


def contract_columns() -> dict[str, list[str]]:
    """Field names per table, in order, parsed from the field tables of docs/data-contract.md."""
    cols: dict[str, list[str]] = {}
    table = None
    for line in (ROOT / "docs/data-contract.md").read_text().splitlines():
        head = re.match(r"##\s+(\w+)\s*$", line)
        if head:
            table = head.group(1) if head.group(1) in DATA_TABLES else None
            continue
        cell = re.match(r"\|\s*\**([a-z_0-9]+)\**\s*\|", line)
        if table and cell and cell.group(1) != "field":
            cols.setdefault(table, []).append(cell.group(1))
    return cols


# --- determinism ------------------------------------------------------------------------------------------

def test_same_seed_same_bytes_and_other_seed_differs(out, tmp_path):
    from evalkit.synth.world import simulate
    from evalkit.synth.generate import render

    again = tmp_path / "again"
    summary = generate(seed=2021, out=again)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert len(names) == 13  # 11 tables, truth.csv, README.md
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    assert "participants.csv" in str(summary) and summary.total_bytes > 0
    # Another seed (one intervention is enough to see it) gives other data everywhere.
    texts, _ = render(simulate(7, only=["INT01"]), seed=7)
    for name in ["comparison_pool.csv.gz", "area_counts.csv.gz", "offences.csv.gz"]:
        assert texts[name] != text_of(out / name), name
    mine = pd.read_csv(out / "participants.csv.gz")
    int01 = mine[mine["intervention_id"] == "INT01"]
    assert texts["participants.csv.gz"] != int01.to_csv(index=False, lineterminator="\n")


def test_shipped_copy_is_a_fresh_generate(out):
    if not SHIPPED.joinpath("truth.csv").exists():
        pytest.fail("synthetic_data/ is missing: run `evalkit synth --seed 2021 --out synthetic_data`")
    from evalkit.synth.readme import library_versions

    if library_versions() not in SHIPPED.joinpath("README.md").read_text():
        pytest.skip("synthetic_data/ was made with other numpy/scipy/pandas versions; random streams may differ")
    shipped = sorted(p.name for p in SHIPPED.iterdir() if not p.name.startswith("."))
    assert shipped == sorted(p.name for p in out.iterdir())
    # decompressed text: the deflate bytes could differ with another zlib build, the data would not
    for name in shipped:
        assert text_of(SHIPPED / name) == text_of(out / name), f"{name} is stale: regenerate"


def test_regenerating_replaces_folder_and_refuses_foreign_files(tmp_path, monkeypatch):
    import evalkit.synth.generate as synthetic
    from evalkit.synth.world import simulate

    # A small world is enough to exercise the folder handling.
    monkeypatch.setattr(synthetic, "simulate", lambda seed: simulate(
        seed, only=["INT08"], pool_sizes={"custody_no_referral": 30, "at_risk_list": 30}))
    target = tmp_path / "d"
    first = generate(seed=1, out=target)
    (target / "participants.csv.gz").write_text("stale")
    (target / "offences.csv").write_text("plain CSV of an older generate")
    generate(seed=1, out=target)                       # our own files: replaced whole
    assert (target / "participants.csv.gz").stat().st_size == next(f.bytes for f in first.files
                                                                    if f.file == "participants.csv.gz")
    assert not (target / "offences.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temp folders left
    (target / "notes.txt").write_text("mine")
    with pytest.raises(SpecError, match="did not write"):
        generate(seed=1, out=target)
    assert (target / "notes.txt").exists()
    with pytest.raises(SpecError, match="is a file"):
        generate(seed=1, out=target / "notes.txt")


# --- the data contract --------------------------------------------------------------------------------------

def test_columns_exactly_as_contract(out):
    spec = contract_columns()
    for t in DATA_TABLES:
        header = text_of(out / f"{t}.csv.gz").split("\n", 1)[0].split(",")
        assert header == spec[t], t
    assert (out / "truth.csv").read_text().split("\n", 1)[0] == \
        "intervention_id,outcome,scale,true_effect,scenario,primary"


def _started(part: pd.DataFrame) -> pd.DataFrame:
    """Participants who started (rows with a start date; the rest are referrals that never started)."""
    return part.loc[part["start_date"].notna()]


def test_portfolio_and_sizes(data):
    iv, everyone, pool = data["interventions"], data["participants"], data["comparison_pool"]
    part = _started(everyone)
    assert list(iv["intervention_id"]) == [s["id"] for s in PORTFOLIO]
    assert len(part) == 1547 == sum(s["participants"] for s in PORTFOLIO)
    counts = part["intervention_id"].value_counts()
    assert all(counts[s["id"]] == s["participants"] for s in PORTFOLIO)
    # Referrals that never started: round(n s / (1 - s)) per participant-based intervention, none for area ones.
    from evalkit.synth.settings import NOT_STARTED_SHARE

    never = everyone.loc[everyone["start_date"].isna()]
    per = never["intervention_id"].value_counts()
    for s in PORTFOLIO:
        share = 0.0 if "area_rollout" in s else NOT_STARTED_SHARE[s["type"]]
        assert per.get(s["id"], 0) == round(s["participants"] * share / (1 - share)), s["id"]
    assert 0.10 <= len(never) / len(everyone) <= 0.25
    assert (never["exit_reason"] == "not_started").all() and never["end_date"].isna().all()
    assert never["referral_date"].between("2020-04-01", "2021-03-31").all()
    assert _ages(never.assign(start_date=never["referral_date"])).between(5, 25).all()
    for table in ("contacts", "measurements", "statuses", "onward_referrals"):
        assert not data[table]["person_id"].isin(set(never["person_id"])).any(), table
    part = everyone
    assert len(pool) >= 20_000
    assert set(iv["prevention_level"]) == set(CONFIG["prevention_levels"])
    assert iv.set_index("intervention_id")["annual_cost"].to_dict() == {s["id"]: s["annual_cost"] for s in PORTFOLIO}
    ids = pd.concat([part["person_id"], pool["person_id"]])
    assert ids.is_unique and ids.str.fullmatch(r"P[0-9a-f]{16}").all()
    rollout = data["area_rollout"]
    expected = {(s["id"], d) for s in PORTFOLIO if "area_rollout" in s for d in s["area_rollout"]["districts"]}
    assert set(zip(rollout["intervention_id"], rollout["area"])) == expected


def test_categories_come_from_config(data):
    eth = {c for g in CONFIG["ethnicity"].values() for c in g} | set(CONFIG["ethnicity_unknown"])
    localities = {loc for locs in CONFIG["areas"].values() for loc in locs}
    checks = [
        ("participants", "sex", CONFIG["sex"]), ("participants", "ethnicity_detailed", eth),
        ("participants", "ethnicity_group", [*CONFIG["ethnicity"], "not_known"]),
        ("participants", "locality", localities), ("participants", "exit_reason", CONFIG["exit_reasons"]),
        ("participants", "referral_source", CONFIG["referral_sources"]),
        ("comparison_pool", "pool_source", CONFIG["pool_sources"]), ("comparison_pool", "locality", localities),
        ("contacts", "contact_type", CONFIG["contact_types"]),
        ("measurements", "instrument", CONFIG["instruments"]), ("measurements", "timepoint", CONFIG["timepoints"]),
        ("offences", "offence_group", CONFIG["offence_groups"]), ("offences", "outcome", CONFIG["offence_outcomes"]),
        ("onward_referrals", "service", CONFIG["onward_services"]),
        ("area_counts", "indicator", CONFIG["area_indicators"]),
        ("interventions", "intervention_type", CONFIG["intervention_types"]),
        ("interventions", "funding_stream", CONFIG["funding_streams"]),
    ]
    for table, col, allowed in checks:
        assert set(data[table][col].dropna()) <= set(allowed), (table, col)
    sent = data["offences"]["sentence"].dropna()
    assert set(sent) <= set(CONFIG["sentences"])
    st = data["statuses"]
    for domain, allowed in CONFIG["status_domains"].items():
        assert set(st.loc[st["domain"] == domain, "value"].astype(str)) <= set(allowed), domain
    assert data["participants"]["sex"].value_counts()["male"] > 700
    assert (data["participants"]["ethnicity_detailed"] == "prefer_not_to_say").any()


def _ages(part: pd.DataFrame) -> pd.Series:
    dob, start = part["date_of_birth"], part["start_date"]
    before = (start.dt.month < dob.dt.month) | ((start.dt.month == dob.dt.month) & (start.dt.day < dob.dt.day))
    return (start.dt.year - dob.dt.year - before.astype(int)).fillna(part["age_at_start"])


def test_dates_and_ages_in_range(data):
    part, pool = _started(data["participants"]), data["comparison_pool"]
    assert part["start_date"].between("2020-04-01", "2021-03-31").all()
    assert pool["index_date"].between("2020-04-01", "2021-03-31").all()
    assert (part["referral_date"] <= part["start_date"]).all()
    ended = part["end_date"].notna()
    assert (part.loc[ended, "end_date"] >= part.loc[ended, "start_date"]).all()
    assert ((part["exit_reason"] == "ongoing") == part["end_date"].isna()).all()
    iv_end = part["intervention_id"].map(data["interventions"].set_index("intervention_id")["end_date"])
    assert (part["end_date"].isna() | iv_end.isna() | (part["end_date"] <= iv_end)).all()
    has_dob, has_age = part["date_of_birth"].notna(), part["age_at_start"].notna()
    assert (has_dob ^ has_age).all() and has_dob.mean() > 0.7 and has_age.sum() > 100
    ages = _ages(part)
    assert ages.between(5, 25).all()
    assert ages.groupby(part["intervention_id"]).mean()["INT15"] < 11 < ages.groupby(part["intervention_id"]).mean()["INT01"]
    male = (part["sex"] == "male").groupby(part["intervention_id"]).mean()
    assert male["INT01"] > 0.75 and male["INT08"] == 0
    custody = part["intervention_id"].isin(["INT01", "INT02"])
    assert (part.loc[custody, "referral_source"] == "police_custody").all()
    off = data["offences"]
    known = off["outcome_date"].notna()
    assert (off.loc[known, "outcome_date"] >= off.loc[known, "offence_date"]).all()
    assert off["offence_date"].max() <= pd.Timestamp("2022-08-31") and off["outcome_date"].max() <= pd.Timestamp("2022-08-31")
    assert ((off["outcome"] == "conviction") == off["sentence"].isin(["custody", "community", "fine", "discharge"])).all()
    con = data["contacts"].merge(part[["person_id", "start_date", "end_date"]], on="person_id")
    assert (con["contact_date"] >= con["start_date"]).all()
    assert (con["contact_date"] <= con["end_date"].fillna(pd.Timestamp("2022-08-31"))).all()
    assert con.loc[~con["attended"], "duration_minutes"].isna().all()


def test_prior_offences_match_offence_records(data):
    """prior_offences = proven offences dated in [index - 24 months, index)."""
    part = data["participants"].copy()
    # The index date: the referral (the arrest) for custody diversion and for a referral that never started.
    part["index_date"] = part["referral_date"].where(part["intervention_id"].isin(["INT01", "INT02"])
                                                     | part["start_date"].isna(), part["start_date"])
    people = pd.concat([part[["person_id", "index_date", "prior_offences", "prior_violent_offences"]],
                        data["comparison_pool"][["person_id", "index_date", "prior_offences",
                                                 "prior_violent_offences"]]])
    off = data["offences"].merge(people[["person_id", "index_date"]], on="person_id")
    proven = off["outcome"].isin(CONFIG["proven_outcomes"])
    window = (off["offence_date"] >= off["index_date"] - pd.DateOffset(months=24)) & (off["offence_date"] < off["index_date"])
    counted = off[proven & window]
    n = counted.groupby("person_id").size().reindex(people["person_id"], fill_value=0)
    v = counted[counted["offence_group"].isin(CONFIG["violent_offence_groups"])].groupby("person_id").size()
    assert (n.to_numpy() == people["prior_offences"].to_numpy()).all()
    assert (v.reindex(people["person_id"], fill_value=0).to_numpy() == people["prior_violent_offences"].to_numpy()).all()
    # Nobody offends before their 10th birthday (age of criminal responsibility).
    dob = pd.concat([part[["person_id", "date_of_birth"]], data["comparison_pool"][["person_id", "date_of_birth"]]])
    born = data["offences"].merge(dob.dropna(), on="person_id")
    assert (born["offence_date"] >= born["date_of_birth"] + pd.DateOffset(years=10)).all()
    # Selection on observables: tertiary participants carry more risk than the pool on average.
    tert = part["intervention_id"].isin(["INT01", "INT03", "INT26"])
    assert part.loc[tert, "prior_offences"].mean() > 1.3 * data["comparison_pool"]["prior_offences"].mean()


def test_questionnaires_item_level(data):
    m = data["measurements"]
    part = data["participants"].set_index("person_id")
    sdq = m[m["instrument"].str.startswith("SDQ")]
    sw = m[m["instrument"] == "SWEMWBS"]
    assert set(sdq["item"].astype(str)) == {str(i) for i in range(1, 26)}
    assert set(sw["item"].astype(str)) == {str(i) for i in range(1, 8)}
    assert set(sdq["response"].dropna()) <= {0, 1, 2} and set(sw["response"].dropna()) <= {1, 2, 3, 4, 5}
    assert 0.01 < m["response"].isna().mean() < 0.06
    age = _ages(part.reset_index()).set_axis(part.index)
    self_report = sdq[sdq["instrument"] == "SDQ_S"]["person_id"].unique()
    assert age[self_report].between(11, 17).all()
    parenting = sdq[sdq["intervention_id"].isin(["INT15", "INT16"])]
    assert (parenting["instrument"] == "SDQ_P").all()
    # Baseline SDQ total difficulties: realistic mean/SD in a referred population (Goodman 1997 scoring).
    base = sdq[(sdq["timepoint"] == "baseline") & (sdq["instrument"] == "SDQ_S")].copy()
    base["score"] = np.where(base["item"].astype(int).isin([7, 11, 14, 21, 25]), 2 - base["response"], base["response"])
    diff = base[~base["item"].astype(int).isin([1, 4, 9, 17, 20])]
    complete = diff.groupby("person_id")["score"].agg(["sum", "count"])
    total = complete.loc[complete["count"] == 20, "sum"]
    assert 12 < total.mean() < 18 and 4.5 < total.std() < 8
    # Attrition not at random: those without an exit SDQ had worse baseline scores.
    exited = set(sdq.loc[sdq["timepoint"] == "exit", "person_id"])
    has_exit = total.index.isin(list(exited))
    assert total[~has_exit].mean() > total[has_exit].mean()
    # Entry by low baseline wellbeing (counselling): regression to the mean shows in the null INT10.
    sw10 = sw[sw["intervention_id"] == "INT10"].groupby(["person_id", "timepoint"])["response"].agg(["sum", "count"])
    sw10 = sw10[sw10["count"] == 7]["sum"].unstack()
    both = sw10.dropna(subset=["baseline", "exit"])
    assert (sw10["baseline"].dropna() <= 21).all() and (both["exit"] - both["baseline"]).mean() > 1.0


def test_area_counts_roll_up_and_headline(data):
    a = data["area_counts"]
    months = pd.date_range("2017-04-01", "2022-03-01", freq="MS")
    districts = CONFIG["areas"]["County"]
    assert set(a["area"]) == {"City", "County", *districts}
    assert len(a) == len(months) * 6 * (2 + len(districts))
    wide = a.pivot_table(index=["month", "indicator"], columns="area", values=["count", "population"])
    for v in ["count", "population"]:
        assert (wide[v]["County"] == wide[v][districts].sum(axis=1)).all()
    assert (a["count"] >= 0).all() and (a["population"] > 0).all()
    assert 80_000 < a.loc[a["area"] == "City", "population"].mean() < 100_000
    knife = a[(a["indicator"] == "knife_crime") & a["area"].isin(["City", "County"])]
    fy = knife["month"].dt.year - (knife["month"].dt.month < 4)
    by_year = knife.groupby(fy)["count"].sum()
    change = by_year[2020] / by_year[[2017, 2018, 2019]].mean() - 1
    assert -0.2 < change < -0.05                       # board report: 13% lower
    sv = a[(a["indicator"] == "serious_violence") & (a["area"] == "City")].set_index("month")["count"]
    summer = sv[sv.index.month.isin([6, 7, 8])].mean()
    winter = sv[sv.index.month.isin([12, 1, 2])].mean()
    assert summer > winter


def test_truth_file_shape(data):
    truth = data["truth"]
    truth = truth[~truth["outcome"].str.startswith("comparison_areas:")]  # the national panel's rows (the VRU's)
    assert set(truth["intervention_id"]) == {s["id"] for s in PORTFOLIO}
    assert not truth.duplicated(["intervention_id", "outcome"]).any()
    scen = {s["id"]: s["scenario"] or "null" for s in PORTFOLIO}
    assert (truth["scenario"] == truth["intervention_id"].map(scen)).all()
    null = truth[truth["scenario"] == "null"]
    ratio = null["outcome"].str.endswith(("_hr", "_rr"))
    effect = null["outcome"] != "onward_referral_takeup"
    assert (null.loc[ratio, "true_effect"] == 1).all() and (null.loc[effect & ~ratio, "true_effect"] == 0).all()
    assert truth.groupby("intervention_id")["primary"].any().all()
    t = truth.set_index(["intervention_id", "outcome"])["true_effect"]
    from evalkit.synth.settings import effects_for, primary_outcomes

    # The planted targets are solved exactly.
    assert t["INT01", "reoffend_12m"] == pytest.approx(effects_for("INT01").reoffend_rd)
    assert t["INT07", "reoffend_12m"] == pytest.approx(effects_for("INT07").reoffend_rd) and t["INT07", "reoffend_12m"] > 0
    assert t["INT27", "area_serious_violence_rr"] == pytest.approx(effects_for("INT27").area_rr)
    assert t["INT27", "area_serious_violence_rr"] < 1
    # Exactly one primary per intervention, the one its demo protocol is judged on.
    prim = truth[truth["primary"]].set_index("intervention_id")["outcome"]
    assert not prim.index.duplicated().any()
    assert prim["INT26"] == "reoffend_12m" and prim["INT03"] == "reoffend_12m" and prim["INT05"] == "sdq_total_change"
    assert all(prim[s["id"]] in primary_outcomes(s) for s in PORTFOLIO)


def test_shipped_data_validate_clean():
    from evalkit.data.validate import validate_files

    problems = validate_files([SHIPPED / f"{t}.csv.gz" for t in DATA_TABLES], max_problems=20)
    assert not problems, [str(p) for p in problems]


# --- truth agrees with the data (large n) -----------------------------------------------------------------

def _covariates(frame: pd.DataFrame, age: pd.Series) -> pd.DataFrame:
    age_c = age.astype(float) - 17
    return pd.DataFrame({
        "log1p_prior": np.log1p(frame["prior_offences"].astype(float)),
        "any_violent": (frame["prior_violent_offences"] > 0).astype(float),
        **{c: frame[c].astype(float) for c in ["school_exclusion", "looked_after", "exploitation_concern",
                                                "substance_misuse_concern"]},
        "male": (frame["sex"] == "male").astype(float), "age_c": age_c, "age_c2": age_c**2,
        "under_10": (age < 10).astype(float),
    }, index=frame.index)


def _design(x: pd.DataFrame) -> pd.DataFrame:
    """Intercept plus covariates that vary (custody cohorts have no one under 10)."""
    return sm.add_constant(x.loc[:, x.std() > 0])


def _flexible(x: pd.DataFrame) -> np.ndarray:
    """Covariates plus their pairwise interactions with prior offending and sex."""
    keys = ("log1p_prior", "male", "any_violent")
    pairs = {tuple(sorted((k, c))) for k in keys for c in x.columns if c not in ("const", k)}
    extra = [x[a] * x[b] for a, b in sorted(pairs)]
    return np.column_stack([x.to_numpy(), *[e.to_numpy() for e in extra]])


def _reoffending(people: pd.DataFrame, offences: pd.DataFrame) -> pd.DataFrame:
    """Documented definition, recomputed from the offence records."""
    off = offences.merge(people[["person_id", "index_date"]], on="person_id")
    off = off[off["outcome"].isin(CONFIG["proven_outcomes"])]
    end12 = off["index_date"] + pd.DateOffset(months=12)
    in_window = (off["offence_date"] > off["index_date"]) & (off["offence_date"] <= end12) & (
        off["outcome_date"] <= off["index_date"] + pd.DateOffset(months=18))
    hits = off[in_window]
    first = hits.groupby("person_id")["offence_date"].min()
    violent = hits[hits["offence_group"].isin(CONFIG["violent_offence_groups"])]
    out = people.set_index("person_id")[["index_date"]].copy()
    out["count"] = hits.groupby("person_id").size().reindex(out.index, fill_value=0)
    out["reoffend"] = (out["count"] > 0).astype(float)
    out["violent"] = out.index.isin(violent["person_id"]).astype(float)
    out["days"] = (first.reindex(out.index) - out["index_date"]).dt.days
    out["window"] = ((out["index_date"] + pd.DateOffset(months=12)) - out["index_date"]).dt.days
    out["complete"] = out["index_date"] + pd.DateOffset(months=18) <= pd.Timestamp("2022-08-31")
    return out


@pytest.fixture(scope="module")
def big_custody():
    """INT01 (effective custody diversion) with 20,000 participants, written and read back."""
    from evalkit.synth.world import simulate

    world = simulate(2021, sizes={"INT01": 20_000}, only=["INT01"])
    return world


def test_reoffending_truth_recovered_by_outcome_model(big_custody):
    w = big_custody
    part = _started(w.tables["participants"]).copy()
    pool = w.tables["comparison_pool"]
    pool = pool[pool["pool_source"] == "custody_no_referral"].copy()
    part["index_date"] = pd.to_datetime(part["referral_date"])
    pool["index_date"] = pd.to_datetime(pool["index_date"])
    off = w.tables["offences"].assign(offence_date=lambda d: pd.to_datetime(d["offence_date"]),
                                      outcome_date=lambda d: pd.to_datetime(d["outcome_date"]))
    ages_p = _ages(part.assign(date_of_birth=pd.to_datetime(part["date_of_birth"]),
                               start_date=pd.to_datetime(part["referral_date"])))
    dob_pool = pd.to_datetime(pool["date_of_birth"])
    ages_c = _ages(pd.DataFrame({"date_of_birth": dob_pool, "start_date": pool["index_date"],
                                 "age_at_start": pool["age_at_index"]}))
    yp = _reoffending(part, off).reindex(part["person_id"])
    yc = _reoffending(pool, off).reindex(pool["person_id"])
    keep_p, keep_c = yp["complete"].to_numpy(), yc["complete"].to_numpy()
    cov_c = _covariates(pool, ages_c)
    xc = _design(cov_c)[keep_c]
    xp = sm.add_constant(_covariates(part, ages_p)[cov_c.columns[cov_c.std() > 0]])[keep_p]
    # Outcome model in the pool with the documented link (complementary log-log).
    fit = sm.GLM(yc["reoffend"].to_numpy()[keep_c], xc.to_numpy(),
                 family=sm.families.Binomial(link=sm.families.links.CLogLog())).fit()
    counterfactual = fit.predict(xp.to_numpy())
    att = yp["reoffend"].to_numpy()[keep_p].mean() - counterfactual.mean()
    truth = w.truth.set_index("outcome")["true_effect"]
    assert att == pytest.approx(truth["reoffend_12m"], abs=0.015)
    naive = yp["reoffend"].to_numpy()[keep_p].mean() - yc["reoffend"].to_numpy()[keep_c].mean()
    assert abs(naive - truth["reoffend_12m"]) > 0.03      # selection on observables: naive is biased
    # Violent reoffending is not exactly cloglog in the covariates: a flexible logit model with
    # interactions stands in for the unknown form (hence the wider tolerance).
    vp, vc = yp["violent"].to_numpy()[keep_p], yc["violent"].to_numpy()[keep_c]
    flex_c, flex_p = _flexible(xc), _flexible(xp)
    fit_v = sm.GLM(vc, flex_c, family=sm.families.Binomial()).fit()
    violent_att = vp.mean() - fit_v.predict(flex_p).mean()
    print(f"reoffend ATT {att:.4f} (truth {truth['reoffend_12m']:.4f}); violent {violent_att:.4f} "
          f"(truth {truth['violent_reoffend_12m']:.4f}); naive {naive:.4f}")
    assert violent_att == pytest.approx(truth["violent_reoffend_12m"], abs=0.02)
    # Frequency: Poisson-type outcome model for the count gives the expected difference.
    fit_n = sm.GLM(yc["count"].to_numpy()[keep_c], xc.to_numpy(), family=sm.families.Poisson()).fit()
    freq = yp["count"].to_numpy()[keep_p].mean() - fit_n.predict(xp.to_numpy()).mean()
    print(f"frequency {freq:.4f} (truth {truth['reoffend_freq_12m']:.4f})")
    assert freq == pytest.approx(truth["reoffend_freq_12m"], abs=0.08)


def test_hazard_ratio_recovered_by_cox_model(big_custody):
    from lifelines import CoxPHFitter

    w = big_custody
    part = _started(w.tables["participants"]).copy()
    pool = w.tables["comparison_pool"].copy()
    part["index_date"] = pd.to_datetime(part["referral_date"])
    pool["index_date"] = pd.to_datetime(pool["index_date"])
    off = w.tables["offences"].assign(offence_date=lambda d: pd.to_datetime(d["offence_date"]),
                                      outcome_date=lambda d: pd.to_datetime(d["outcome_date"]))
    rows = []
    for frame, treated, age in ((part, 1.0, None), (pool, 0.0, "age_at_index")):
        y = _reoffending(frame, off).reindex(frame["person_id"])
        dob = pd.to_datetime(frame["date_of_birth"])
        ages = _ages(pd.DataFrame({"date_of_birth": dob, "start_date": frame["index_date"],
                                   "age_at_start": frame["age_at_start"] if age is None else frame[age]}))
        x = _covariates(frame, ages).assign(treated=treated, event=y["reoffend"].to_numpy(),
                                            time=y["days"].fillna(y["window"]).to_numpy())
        rows.append(x[y["complete"].to_numpy()])
    df = pd.concat(rows, ignore_index=True)
    cph = CoxPHFitter().fit(df, duration_col="time", event_col="event")
    hr = float(np.exp(cph.params_["treated"]))
    truth = w.truth.set_index("outcome")["true_effect"]["time_to_reoffend_hr"]
    print(f"Cox HR {hr:.4f} (truth {truth:.4f})")
    assert hr == pytest.approx(truth, rel=0.06)


def test_questionnaire_truth_matches_counterfactuals():
    """Written exit items score to the simulated potential outcome; mean(Y1 - Y0) ~ truth."""
    from evalkit.synth.world import simulate

    w = simulate(2021, sizes={"INT05": 8_000}, only=["INT05"])
    pot = w.potential["questionnaires"].set_index("person_id")
    truth = w.truth.set_index("outcome")["true_effect"]
    sdq = pot[pot["has_sdq"]]
    assert (sdq["sdq_total_exit1"] - sdq["sdq_total_exit0"]).mean() == pytest.approx(truth["sdq_total_change"], abs=0.1)
    sw = pot[pot["has_swemwbs"]]
    diff = sw["swemwbs_metric_exit1"] - sw["swemwbs_metric_exit0"]
    assert diff.mean() == pytest.approx(truth["swemwbs_change"], abs=0.12)
    # The written exit responses are the treated potential outcome.
    m = w.tables["measurements"]
    ex = m[(m["timepoint"] == "exit") & m["instrument"].str.startswith("SDQ")].copy()
    item = ex["item"].astype(int)
    ex["score"] = np.where(item.isin([7, 11, 14, 21, 25]), 2 - ex["response"].astype(float), ex["response"].astype(float))
    g = ex[~item.isin([1, 4, 9, 17, 20])].groupby("person_id")["score"].agg(["sum", "count"])
    g = g[g["count"] == 20]
    assert len(g) > 1500 and (g["sum"] == sdq.loc[g.index, "sdq_total_exit1"]).all()


def test_area_rate_ratio_recovered_by_poisson_did():
    from evalkit.synth.area import simulate_area_counts
    from evalkit.synth.world import stream
    from datetime import date

    rollouts = [("INT27", d, date(2019, 10, 1), 0.82) for d in ["Mansfield", "Ashfield"]] + \
               [("INT28", d, date(2020, 4, 1), 1.0) for d in ["Gedling", "Broxtowe", "Newark and Sherwood"]]
    a = simulate_area_counts(stream(5, 3), rollouts, scale=40.0)
    d = a[(a["indicator"] == "serious_violence") & a["area"].isin(CONFIG["areas"]["County"])].copy()
    d["month"] = pd.to_datetime(d["month"])
    d["t27"] = (d["area"].isin(["Mansfield", "Ashfield"]) & (d["month"] >= "2019-10-01")).astype(float)
    d["t28"] = (d["area"].isin(["Gedling", "Broxtowe", "Newark and Sherwood"]) & (d["month"] >= "2020-04-01")).astype(float)
    # Quasi-Poisson (Pearson X2 scale): the counts are over-dispersed by design.
    fit = smf.glm("count ~ C(area) + C(month) + t27 + t28", data=d, family=sm.families.Poisson(),
                  offset=np.log(d["population"])).fit(scale="X2")
    for term, rr in (("t27", 0.82), ("t28", 1.0)):
        assert fit.bse[term] < 0.03                         # precise enough for the check to bite
        assert abs(fit.params[term] - np.log(rr)) < 3 * fit.bse[term], (term, np.exp(fit.params[term]))


def test_generator_scoring_matches_published_references():
    """The item map, reverse scoring and metric table used to solve true effects agree with the
    references stored by the measures work (official SDQ R scoring; SWEMWBS conversion table)."""
    from evalkit.synth import questionnaires as q

    ref = pd.read_csv(ROOT / "tests/reference/sdq_official_r_reference.csv")
    items = ref[[f"i{i}" for i in range(1, 26)]]
    complete = items.notna().all(axis=1)
    assert complete.sum() >= 3
    mine = q.sdq_raw_total(items[complete].to_numpy(int))
    assert (mine == ref.loc[complete, "total_difficulties"].to_numpy()).all()
    conv = pd.read_csv(ROOT / "tests/reference/swemwbs_conversion_public_copy.csv")
    assert conv["raw"].tolist() == list(range(7, 36))
    assert np.allclose(conv["metric"].to_numpy(), q.SWEMWBS_METRIC, atol=1e-9)
