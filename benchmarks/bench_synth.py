"""Speed of evalkit's synthetic DiD and synthetic control against diff-diff's, same run, same panel.

Panel: the generator's national panel (:mod:`evalkit.synth.national`, seed 2021), violence with injury per
100,000 residents, 300 areas x 40 quarters; one treated area (the demo VRU's first district, from October
2019; 26 pre-periods, 14 post), every other area a donor. Both packages give a placebo standard error from
200 replications (SDID) or the placebo-in-space p-value over all donors (SC). Run::

    python benchmarks/bench_synth.py [--repeats 1]

It prints each package's point estimate, SE or p-value and wall time, and the ratio evalkit / peer.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def panel() -> pd.DataFrame:
    from evalkit.synth.national import simulate_national_panel
    from evalkit.synth.settings import CITY_LOCALITY, county_districts
    from evalkit.synth.world import PART_NATIONAL, stream

    table, _ = simulate_national_panel(stream(2021, PART_NATIONAL), own_vru="City and County",
                                       own_areas=[CITY_LOCALITY, *county_districts()])
    df = table[table["indicator"] == "violence_with_injury"].copy()
    df["rate"] = 1e5 * df["count"] / df["population"]
    df["period"] = pd.to_datetime(df["period"])
    first = df["area_code"].min()  # the demo VRU's first district
    df["ever"] = (df["area_code"] == first).astype(int)
    df["treated"] = (df["ever"].astype(bool) & (df["period"] >= "2019-10-01")).astype(int)
    df["t"] = df["period"].rank(method="dense").astype(int)
    return df[["area_code", "t", "period", "rate", "ever", "treated"]].reset_index(drop=True)


def _time(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    from evalkit.designs.area import synthetic_control, synthetic_did

    df = panel()
    post = sorted(df.loc[df["treated"] == 1, "t"].unique().tolist())
    print(f"panel: {df['area_code'].nunique()} areas x {df['t'].nunique()} periods; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    t_ek, r = _time(lambda: synthetic_did(df, outcome="rate", unit="area_code", time="t", treatment="treated",
                                          se_method="placebo", replications=200), args.repeats)
    rows.append(("SDID", "evalkit", t_ek, r.effect.estimate, r.effect.se))  # type: ignore[attr-defined]
    try:
        from diff_diff import SyntheticControl, SyntheticDiD

        t_dd, rd = _time(lambda: SyntheticDiD(variance_method="placebo", n_bootstrap=200, seed=1).fit(
            df, outcome="rate", treatment="ever", unit="area_code", time="t", post_periods=post), args.repeats)
        rows.append(("SDID", "diff-diff", t_dd, float(rd.att), float(rd.se)))  # type: ignore[attr-defined]
    except ImportError:
        SyntheticControl = None  # type: ignore[assignment,misc]
        print("diff-diff is not installed (pip install -e .[bench]); evalkit timings only")
    t_ek2, s = _time(lambda: synthetic_control(df, outcome="rate", unit="area_code", time="t", treatment="treated",
                                               placebo_v="fixed"), args.repeats)
    rows.append(("SC", "evalkit", t_ek2, s.effect.estimate, s.effect.p_value))  # type: ignore[attr-defined]
    if SyntheticControl is not None:
        t_dd2, sd = _time(lambda: SyntheticControl(seed=1).fit(
            df, outcome="rate", treatment="treated", unit="area_code", time="t", post_periods=post), args.repeats)
        rows.append(("SC", "diff-diff", t_dd2, float(sd.att), float(sd.placebo_p_value)))  # type: ignore[attr-defined]
    out = pd.DataFrame(rows, columns=["design", "package", "seconds", "estimate", "se or p"])
    print(out.to_string(index=False))
    for design in ("SDID", "SC"):
        sub = out[out["design"] == design].set_index("package")["seconds"]
        if "diff-diff" in sub:
            print(f"{design}: evalkit / diff-diff time = {sub['evalkit'] / sub['diff-diff']:.2f}")


if __name__ == "__main__":
    main()
