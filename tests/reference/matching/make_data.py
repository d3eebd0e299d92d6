"""Make the small fixed dataset used by the MatchIt reference (run once; output is committed).

300 comparison records and 100 participants with selection on observables;
rows are written sorted by ``person_id`` (the order evalkit sorts to, and the
order make_reference.R passes to MatchIt).
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261126)
n = 400
age = rng.uniform(10, 25, n).round(2)
prior = rng.poisson(1.5, n)
excl = rng.binomial(1, 0.3, n)
sex = rng.choice(["female", "male"], n, p=[0.35, 0.65])
locality = rng.choice(["Ashfield", "Mansfield", "Nottingham"], n, p=[0.3, 0.3, 0.4])
risk = rng.normal(0, 1, n).round(3)
lin = -1.6 + 0.08 * (age - 17) + 0.35 * prior + 0.6 * excl + 0.4 * (sex == "male") + 0.5 * risk \
    - 0.3 * (locality == "Nottingham")
treated = np.zeros(n, dtype=int)
treated[np.argsort(-(lin + rng.logistic(size=n)))[:100]] = 1
y_cont = (10 + 0.3 * age + 1.2 * prior + 2 * excl + 1.5 * risk - 1.5 * treated + rng.normal(0, 3, n)).round(3)
p = 1 / (1 + np.exp(-(-1 + 0.3 * prior + 0.5 * excl + 0.4 * risk - 0.5 * treated)))
y_bin = rng.binomial(1, p)
y_count = rng.poisson(np.exp(-0.3 + 0.2 * prior + 0.3 * excl - 0.3 * treated))
rate = 0.003 * np.exp(0.25 * prior + 0.3 * risk - 0.4 * treated)
t_event = rng.exponential(1 / rate)
time = np.minimum(t_event, 365).round(0) + 1  # whole days (ties, as real data), 1..366
event = (t_event < 365).astype(int)
ids = [f"P{k:04d}" for k in rng.permutation(np.arange(1, n + 1))]
df = pd.DataFrame(dict(person_id=ids, treated=treated, age=age, prior_offences=prior, school_exclusion=excl,
                       sex=sex, locality=locality, risk=risk, y_cont=y_cont, y_bin=y_bin, y_count=y_count,
                       time=time, event=event))
df = df.sort_values("person_id").reset_index(drop=True)
df.to_csv(Path(__file__).with_name("matching_data.csv"), index=False)
print(df.groupby("treated").mean(numeric_only=True).T)

# Discrete-only data for the tie rule: many units share a propensity score.
rt = np.random.default_rng(7)
m = 150
ties = pd.DataFrame({"person_id": [f"T{k:03d}" for k in rt.permutation(np.arange(1, m + 1))],
                     "a": rt.binomial(1, 0.5, m), "b": rt.binomial(1, 0.4, m)})
ties["treated"] = rt.binomial(1, 1 / (1 + np.exp(-(-1.2 + 0.8 * ties.a + 0.5 * ties.b))))
ties.sort_values("person_id").to_csv(Path(__file__).with_name("ties_data.csv"), index=False)
