"""Check the published Wilson intervals in wilson_newcombe1998.csv against statsmodels (run by hand)."""

from pathlib import Path

import pandas as pd
from statsmodels.stats.proportion import proportion_confint

ref = pd.read_csv(Path(__file__).with_name("wilson_newcombe1998.csv"), comment="#")
for row in ref.itertuples():
    low, high = proportion_confint(row.k, row.n, method="wilson")
    assert abs(low - row.low) < 5e-5 and abs(high - row.high) < 5e-5, row
    print(row.k, row.n, round(low, 4), round(high, 4))
