"""Write area_fixture.csv and area_rollout_fixture.csv: a small, fixed monthly area panel.

Eight localities (Nottingham and the seven County districts), April 2017 to
March 2022, two indicators: ``serious_violence`` (tens to ~150 a month,
gamma-Poisson overdispersed, seasonal, a shared dip in April-June 2020) and
``homicide`` (mostly zeros). Planted: rate ratio 0.80 on serious violence in
Mansfield and Ashfield from October 2019 (programme FIX27); FIX28 (Gedling,
Broxtowe, Newark and Sherwood from April 2020) has no effect. The R script
area_reference.R fits its reference models to these files.

Run: python make_area_fixture.py   (numpy only; seed fixed, same bytes every run)
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
AREAS = {  # population at risk, baseline serious-violence rate per 100,000 per month
    "Nottingham": (330_000, 28.0), "Ashfield": (128_000, 17.0), "Bassetlaw": (117_000, 12.0),
    "Broxtowe": (113_000, 10.0), "Gedling": (117_000, 11.0), "Mansfield": (109_000, 20.0),
    "Newark and Sherwood": (122_000, 12.0), "Rushcliffe": (118_000, 7.0),
}
EFFECT = {"Mansfield": 0.80, "Ashfield": 0.80}
START = pd.Period("2019-10", "M")


def main() -> None:
    rng = np.random.default_rng(20210401)
    months = pd.period_range("2017-04", "2022-03", freq="M")
    rows = []
    for area, (pop0, rate) in AREAS.items():
        trend = rng.normal(0.0, 0.02)  # area-specific log trend per year (small: parallel-ish)
        for i, m in enumerate(months):
            pop = int(round(pop0 * (1 + 0.006 * i / 12)))
            season = 0.12 * np.sin(2 * np.pi * (m.month - 4) / 12)
            covid = np.log(0.7) if pd.Period("2020-04", "M") <= m <= pd.Period("2020-06", "M") else 0.0
            eff = np.log(EFFECT.get(area, 1.0)) if m >= START else 0.0
            mu = pop / 1e5 * rate * np.exp(season + covid + eff + trend * i / 12 - 0.05 * i / 12)
            sv = rng.poisson(mu * rng.gamma(20.0, 1 / 20.0))
            hom = rng.poisson(pop / 1e5 * 0.12)
            rows.append((area, f"{m}-01", "serious_violence", int(sv), pop))
            rows.append((area, f"{m}-01", "homicide", int(hom), pop))
    pd.DataFrame(rows, columns=["area", "month", "indicator", "count", "population"]).to_csv(
        HERE / "area_fixture.csv", index=False)
    pd.DataFrame([("FIX27", "Mansfield", "2019-10-01"), ("FIX27", "Ashfield", "2019-10-01"),
                  ("FIX28", "Gedling", "2020-04-01"), ("FIX28", "Broxtowe", "2020-04-01"),
                  ("FIX28", "Newark and Sherwood", "2020-04-01")],
                 columns=["intervention_id", "area", "start_month"]).to_csv(HERE / "area_rollout_fixture.csv",
                                                                            index=False)


if __name__ == "__main__":
    main()
