"""A small contract-valid data folder for report-engine tests (no dependence on synthetic_data/).

Two interventions (INT03 mentoring, INT08 a small one), participants with
pseudonymised ids ``P`` + 16 hex digits and dates of birth, SWEMWBS/SDQ items
at baseline and exit, and a comparison pool — enough for every engine section.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LOCALITIES = ["Nottingham", "Ashfield", "Mansfield", "Gedling"]
ETHNICITY = ["white_british", "black_caribbean", "asian_pakistani", "mixed_white_black_caribbean", "white_other"]


def write_fixture(folder: Path, *, seed: int = 7, n03: int = 80, n08: int = 14) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([
        {"intervention_id": "INT03", "name": "Youth Justice Mentors", "provider": "Youth Justice Service",
         "prevention_level": "tertiary", "intervention_type": "mentoring", "area": "City",
         "start_date": "2020-04-01", "annual_cost": 120000, "funding_stream": "VRU core grant"},
        {"intervention_id": "INT08", "name": "Girls' Mentoring Circle", "provider": "Women's Voices",
         "prevention_level": "secondary", "intervention_type": "mentoring", "area": "City",
         "start_date": "2020-04-01", "annual_cost": 25000, "funding_stream": "Community Safety Partnership"},
    ]).to_csv(folder / "interventions.csv", index=False)
    rows, meas = [], []
    for iid, n in (("INT03", n03), ("INT08", n08)):
        for _k in range(n):
            pid = "P" + "".join(rng.choice(list("0123456789abcdef"), 16))
            start = pd.Timestamp("2020-04-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
            age = int(rng.integers(12, 19))
            dob = start - pd.Timedelta(days=int(age * 365.25 + rng.integers(1, 300)))
            rows.append({"person_id": pid, "intervention_id": iid, "referral_date": (start - pd.Timedelta(days=10)).date(),
                         "start_date": start.date(), "end_date": (start + pd.Timedelta(days=90)).date(),
                         "exit_reason": rng.choice(["completed", "completed", "disengaged"]),
                         "date_of_birth": dob.date(), "sex": "female" if iid == "INT08" else rng.choice(["male", "female"], p=[0.8, 0.2]),
                         "ethnicity_detailed": rng.choice(ETHNICITY, p=[0.6, 0.15, 0.1, 0.1, 0.05]),
                         "locality": rng.choice(LOCALITIES, p=[0.7, 0.1, 0.1, 0.1]),
                         "prior_offences": (prior := int(rng.poisson(1.5))),
                         "prior_violent_offences": int(rng.binomial(prior, 0.3))})
            for tp, shift in (("baseline", 0), ("exit", 90)):
                if tp == "exit" and rng.random() < 0.2:
                    continue
                for item in range(1, 8):
                    meas.append({"person_id": pid, "intervention_id": iid, "instrument": "SWEMWBS", "item": str(item),
                                 "response": int(rng.integers(1, 6)), "timepoint": tp,
                                 "measurement_date": (start + pd.Timedelta(days=shift)).date()})
    pd.DataFrame(rows).to_csv(folder / "participants.csv", index=False)
    pd.DataFrame(meas).to_csv(folder / "measurements.csv", index=False)
    return folder


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(write_fixture(Path(sys.argv[1])))
