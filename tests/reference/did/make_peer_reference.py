"""Reference values for evalkit's DiD estimators from independent peers.

Run by hand (needs pyfixest, linearmodels, diff-diff; CI needs none of them):

    .venv/bin/python tests/reference/did/make_peer_reference.py

Writes, beside this script:
- ``staggered_panel.csv``: a seeded balanced staggered panel (120 units x 8
  years, cohorts 2003/2005/2007/never, some always treated in 2001) and
  ``unbalanced_panel.csv`` (the same with rows removed);
- ``peer_reference.json``: TWFE coefficients/SEs from pyfixest
  ``feols(vcov={"CRV1": "id"})`` (default ssc) and linearmodels ``PanelOLS``
  (entity + time effects, clustered by entity, both its default df setting and
  the raw sandwich: auto_df=False, count_effects=False, debiased=False,
  group_debias=False); an event study on explicit dummies (pyfixest) with its
  Wald statistic; diff-diff's Goodman-Bacon decomposition; diff-diff's
  Callaway & Sant'Anna (never- and not-yet-treated) ATT(g,t) and overall ATT.
"""

import json
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")
HERE = Path(__file__).parent


def make_panel(seed: int = 20261126) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    nu, years = 120, np.arange(2001, 2009)
    cohort = rng.choice([0, 2003, 2005, 2007, 2001], size=nu, p=[0.3, 0.2, 0.2, 0.2, 0.1])
    u = np.repeat(np.arange(1, nu + 1), len(years))
    t = np.tile(years, nu)
    g = cohort[u - 1]
    d = ((g > 0) & (t >= g)).astype(int)
    alpha_i = rng.normal(size=nu)[u - 1]
    x = rng.normal(size=len(u)) + 0.2 * alpha_i
    effect = d * (0.5 + 0.25 * (t - g))  # growing effects: TWFE is biased, CS is not
    y = alpha_i + 0.3 * (t - 2001) + 0.5 * x + effect + rng.normal(scale=0.8, size=len(u))
    return pd.DataFrame({"id": u, "year": t, "first_treat": g, "D": d, "x": np.round(x, 10), "y": np.round(y, 10)})


def twfe_refs(df: pd.DataFrame) -> dict:
    import pyfixest as pf
    from linearmodels.panel import PanelOLS

    out = {}
    for label, fml, exog in (("D", "y ~ D | id + year", ["D"]), ("D_x", "y ~ D + x | id + year", ["D", "x"])):
        m = pf.feols(fml, df, vcov={"CRV1": "id"})
        p = df.set_index(["id", "year"])
        mod = PanelOLS(p["y"], p[exog], entity_effects=True, time_effects=True)
        lm_default = mod.fit(cov_type="clustered", cluster_entity=True)
        lm_raw = mod.fit(cov_type="clustered", cluster_entity=True, auto_df=False, count_effects=False,
                         debiased=False, group_debias=False)
        lm_stata = mod.fit(cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True)
        out[label] = {
            "pyfixest_coef": m.coef().tolist(), "pyfixest_se": m.se().tolist(),
            "linearmodels_coef": lm_raw.params.tolist(),
            "linearmodels_raw_se": lm_raw.std_errors.tolist(),
            "linearmodels_default_se": lm_default.std_errors.tolist(),
            "linearmodels_debiased_groupdebias_se": lm_stata.std_errors.tolist(),
            "n_obs": int(m._N), "n_clusters": int(df["id"].nunique()),
        }
    return out


def event_refs(df: pd.DataFrame) -> dict:
    import pyfixest as pf

    d = df[df.first_treat != 2001].copy()  # no always-treated in the event study check
    rel = np.where(d.first_treat > 0, d.year - d.first_treat, -999)
    levels = [k for k in sorted(set(rel)) if k not in (-1, -999)]
    names = []
    for k in levels:
        name = f"e_m{-k}" if k < 0 else f"e_p{k}"
        d[name] = (rel == k).astype(float)
        names.append(name)
    m = pf.feols("y ~ " + " + ".join(names) + " | id + year", d, vcov={"CRV1": "id"})
    pre = [j for j, k in enumerate(levels) if k < 0]
    r = np.zeros((len(pre), len(levels)))
    r[np.arange(len(pre)), pre] = 1
    b, v = m.coef().to_numpy(), m._vcov
    wald = float(b[pre] @ np.linalg.solve(v[np.ix_(pre, pre)], b[pre]))
    return {"event_times": [int(k) for k in levels], "coef": m.coef().tolist(), "se": m.se().tolist(), "wald_chi2": wald}


def bacon_refs(df: pd.DataFrame) -> dict:
    from diff_diff import bacon_decompose

    r = bacon_decompose(df, outcome="y", unit="id", time="year", first_treat="first_treat")
    return {
        "twfe_estimate": r.twfe_estimate,
        "comparisons": [{"kind": c.comparison_type, "treated": str(c.treated_group), "control": str(c.control_group),
                         "estimate": c.estimate, "weight": c.weight} for c in r.comparisons],
    }


def cs_refs(df: pd.DataFrame) -> dict:
    from diff_diff import CallawaySantAnna

    out = {}
    for cg in ("never_treated", "not_yet_treated"):
        r = CallawaySantAnna(control_group=cg).fit(df, outcome="y", unit="id", time="year", first_treat="first_treat")
        out[cg] = {"overall_att": r.overall_att, "overall_se": r.overall_se,
                   "att_gt": [{"group": int(g), "time": int(t), "att": v["effect"], "se": v["se"]}
                              for (g, t), v in sorted(r.group_time_effects.items())]}
    return out


def main() -> None:
    df = make_panel()
    df.to_csv(HERE / "staggered_panel.csv", index=False)
    unb = df.drop(df.sample(frac=0.12, random_state=7).index).sort_values(["id", "year"])
    unb.to_csv(HERE / "unbalanced_panel.csv", index=False)
    ref = {
        "versions": {p: version(p) for p in ("pyfixest", "linearmodels", "diff-diff", "numpy", "pandas")},
        "twfe_balanced": twfe_refs(df),
        "twfe_unbalanced": twfe_refs(unb),
        "event_study": event_refs(df),
        "bacon": bacon_refs(df),
        "callaway_santanna": cs_refs(df[df.first_treat != 2001]),
    }
    (HERE / "peer_reference.json").write_text(json.dumps(ref, indent=1, default=float))
    print("wrote peer_reference.json")


if __name__ == "__main__":
    main()
