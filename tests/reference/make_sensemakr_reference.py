"""Reference values for evalkit.designs.sensitivity from sensemakr's Python port (PySensemakr).

Run: ``.venv/bin/python tests/reference/make_sensemakr_reference.py`` (needs ``PySensemakr``, in the test extra);
writes ``tests/reference/sensemakr_darfur.json``. The data are the ``darfur`` data that PySensemakr ships
(Hazlett 2019, the example of Cinelli & Hazlett 2020); the model is the paper's:
``peacefactor ~ directlyharmed + age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female + village``.
Values are computed by sensemakr's own functions (``sensemakr.Sensemakr``, ``robustness_value``,
``ovb_bounds``), not by evalkit.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import sensemakr as smkr
import statsmodels.formula.api as smf

OUT = Path(__file__).with_name("sensemakr_darfur.json")
FORMULA = ("peacefactor ~ directlyharmed + age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female"
           " + village")


def main() -> None:
    darfur = smkr.load_darfur()
    fit = smf.ols(FORMULA, data=darfur).fit()
    s = smkr.Sensemakr(model=fit, treatment="directlyharmed", benchmark_covariates=["female"], kd=[1, 2, 3])
    stats = s.sensitivity_stats
    rv_q = float(smkr.robustness_value(model=fit, covariates="directlyharmed", q=1).iloc[0])
    rv_qa = float(smkr.robustness_value(model=fit, covariates="directlyharmed", q=1, alpha=0.05).iloc[0])
    rv_q05 = float(smkr.robustness_value(model=fit, covariates="directlyharmed", q=0.5).iloc[0])
    rv_q05a = float(smkr.robustness_value(model=fit, covariates="directlyharmed", q=0.5, alpha=0.1).iloc[0])
    b = s.bounds
    bounds = [{"benchmark": "female", "kd": float(k), "ky": float(k), "r2dz_x": float(r["r2dz_x"]),
               "r2yz_dx": float(r["r2yz_dx"]), "adjusted_estimate": float(r["adjusted_estimate"]),
               "adjusted_se": float(r["adjusted_se"]), "adjusted_t": float(r["adjusted_t"]),
               "ci_low": float(r["adjusted_lower_CI"]), "ci_high": float(r["adjusted_upper_CI"])}
              for k, (_, r) in zip([1, 2, 3], b.iterrows())]
    # A second benchmark and unequal multipliers (kd != ky), straight from ovb_bounds.
    b2 = smkr.ovb_bounds(model=fit, treatment="directlyharmed", benchmark_covariates="pastvoted", kd=[1, 2],
                         ky=[2, 3], alpha=0.1)
    bounds += [{"benchmark": "pastvoted", "kd": float(kd), "ky": float(ky), "alpha": 0.1,
                "r2dz_x": float(r["r2dz_x"]), "r2yz_dx": float(r["r2yz_dx"]),
                "adjusted_estimate": float(r["adjusted_estimate"]), "adjusted_se": float(r["adjusted_se"]),
                "adjusted_t": float(r["adjusted_t"]), "ci_low": float(r["adjusted_lower_CI"]),
                "ci_high": float(r["adjusted_upper_CI"])}
               for kd, ky, (_, r) in zip([1, 2], [2, 3], b2.iterrows())]
    out = {
        "source": f"PySensemakr {version('PySensemakr')} (sensemakr for Python), darfur data shipped with it",
        "formula": FORMULA,
        "treatment": "directlyharmed",
        "estimate": float(stats["estimate"]), "se": float(stats["se"]), "dof": float(stats["dof"]),
        "t_statistic": float(stats["t_statistic"]),
        "partial_r2": float(stats["r2yd_x"]),
        "rv_q1": rv_q, "rv_q1_alpha0.05": rv_qa, "rv_q0.5": rv_q05, "rv_q0.5_alpha0.1": rv_q05a,
        "bounds": bounds,
    }
    OUT.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
