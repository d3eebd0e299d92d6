"""A second, very different VRU: its own configuration, instrument, protocols and synthetic data.

Used by tests/test_second_vru.py to show that evalkit is reused by
configuration alone. Everything differs from the default configuration:

* places: a two-level area tree (boroughs, a sub-area, neighbourhoods) with its
  own words and its own name for the whole area; no City/County split;
* area indicators: hospital admissions for assault with a sharp object and
  night-time-economy violence, with their own labels and units;
* a questionnaire where lower is better (its own definition, in the
  configuration's instruments folder) and its own timepoints;
* an attendance-only sports programme, an A&E navigator programme indexed on
  the attendance (referral) date, and an area-only scheme with no participant
  list;
* police 16+1 ethnicity as the main scheme, its own category labels, a
  January-December financial year with a two-year baseline, a disclosure
  threshold of 12 (not 10), its own comparison-pool source, exit reasons and
  status domains.

The data are generated at test time from a seed (small: two programmes of
about a hundred young people, six neighbourhoods over three years).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

VRU_NAME = "Harbourside and Moorland Violence Reduction Partnership"
WHOLE = "the Partnership area"
NEIGHBOURHOODS = {"Quayside": 8_000, "Saltmarsh": 6_500, "Bellhill": 7_200, "Heathfield": 9_100,
                  "Stonebridge": 5_400, "Fernvale": 4_800}
THRESHOLD = 12
ETHNIC_16 = {"white": ["W1", "W2", "W9"], "mixed": ["M1", "M2", "M3", "M9"], "asian": ["A1", "A2", "A3", "A9"],
             "black": ["B1", "B2", "B9"], "other": ["O1", "O9"]}

CONFIG = f"""\
vru_name: "{VRU_NAME}"
areas:
  Harbourside:
    Docks: [Quayside, Saltmarsh]
    Uptown: [Bellhill]
  Moorland: [Heathfield, Stonebridge, Fernvale]
whole_area: {WHOLE}
area_words: {{locality: neighbourhood, localities: neighbourhoods, area: borough, areas: boroughs}}
intervention_areas: [Harbourside, Moorland, Docks, {WHOLE}]
prevention_levels: [primary, targeted]
intervention_types:
  sports: {{label: sport sessions}}
  hospital_navigator: {{index_date: referral_date, label: A&E navigators}}
  area_scheme: {{label: neighbourhood scheme}}
funding_streams: [Partnership grant, Other]
age_range: [10, 24]
sex: [female, male, not_known]
ethnicity_scheme: police 16+1 self-defined ethnicity
ethnicity:
{textwrap.indent(chr(10).join(f"{k}: [{', '.join(v)}]" for k, v in ETHNIC_16.items()), "  ")}
ethnicity_unknown: [NS]
labels:
  male: boys and young men
  female: girls and young women
  not_known: not recorded
  white: White (W1-W9)
  black: Black (B1-B9)
  asian: Asian (A1-A9)
  mixed: Mixed (M1-M9)
  other: Other (O1-O9)
exit_reasons: [finished, dropped_out, moved_away, ongoing]
completion_exit_reason: finished
referral_sources: [emergency_department, school, police, self]
contact_types: [session, one_to_one]
timepoints: [intake, closure]
instruments: [YVQ]
instrument_specs:
  YVQ: {{items: 6, min: 0, max: 4}}
instruments_folder: instruments
status_domains:
  housing: [stable, unstable]
onward_services: [mental_health, housing, other]
pool_sources: [ed_attendance_no_referral, youth_offending_caseload]
reach_cohort: ed_attendance_no_referral
offence_groups: [violence_with_injury, violence_without_injury, robbery, possession_of_weapons, other]
violent_offence_groups: [violence_with_injury, violence_without_injury, robbery]
serious_violence_groups: [violence_with_injury, robbery, possession_of_weapons]
offence_outcomes: [charge, caution, conviction, no_further_action]
proven_outcomes: [caution, conviction]
sentences: [custody, community, none]
area_indicators:
  sharp_object_admissions: {{label: hospital admissions for assault with a sharp object, unit: admissions}}
  nte_violence: {{label: night-time economy violence, unit: offences}}
reporting:
  financial_year_start_month: 1
  evaluation_year: 2023
  baseline_years: 2
engagement:
  dose_bands: [1, 5, 10]
thresholds:
  disclosure_min_count: {THRESHOLD}
  min_n_significance: 25
report_audience: the Partnership's steering group
"""

# Youth Violence Questionnaire: six items 0-4, higher = more difficulty (lower is better).
INSTRUMENT = """\
instruments:
  YVQ:
    title: "Youth Violence Questionnaire (6 items, 0-4; lower is better)"
    items: ["1", "2", "3", "4", "5", "6"]
    response_min: 0
    response_max: 4
    reverse_items: []
    rounding: none
    primary_scale: total
    scales:
      total: {items: ["1", "2", "3", "4", "5", "6"], min_answered: 5, higher_is_better: false,
              reliability: 0.82, norm_sd: 4.5}
    sources: ["Synthetic instrument for the second-VRU test."]
"""

PROTOCOLS = {
    "SP01": """\
intervention_id: SP01
title: "Midnight Football"
question: "Did young people keep coming, and how many completed the season?"
intervention_type: sports
designs:
  - type: engagement
    outcomes: [completed, sessions]
primary_outcomes:
  - {kind: engagement, name: completed, label: "Completed the season", measure: completed, target: 0.5}
secondary_outcomes:
  - {kind: engagement, name: sessions, label: "Sessions attended", measure: sessions_attended}
""",
    "AE01": """\
intervention_id: AE01
title: "A&E Youth Navigators"
question: "After an assault attendance, did difficulties fall and did fewer young people reoffend?"
intervention_type: hospital_navigator
designs:
  - type: prepost
    outcomes: [yvq]
  - type: matched
    outcomes: [reoffending]
    pool_source: ed_attendance_no_referral
    covariates: [age, sex, prior_offences]
primary_outcomes:
  - {kind: instrument, name: yvq, label: "Youth Violence Questionnaire", instrument: YVQ, scale: total,
     pre: intake, post: closure, higher_is_better: false}
secondary_outcomes:
  - {kind: reoffending, name: reoffending, label: "Proven reoffending within 12 months", offences: any}
subgroups: [sex]
disclosure_threshold: 15
""",
    "AR01": f"""\
intervention_id: AR01
title: "Safer Nights Neighbourhood Scheme"
question: "Did sharp-object assaults and night-time violence fall where the scheme ran?"
intervention_type: area_scheme
designs:
  - type: area_did
    indicators: [sharp_object_admissions, nte_violence]
  - type: area_trend
    indicators: [sharp_object_admissions]
    areas: [{WHOLE}, Harbourside, Docks]
""",
}


def _pid(rng: np.random.Generator) -> str:
    return "P" + "".join(rng.choice(list("0123456789abcdef"), 16))


def _ethnicity(rng: np.random.Generator, n: int) -> np.ndarray:
    codes = [c for group in ETHNIC_16.values() for c in group] + ["NS"]
    p = np.array([30, 2, 8, 3, 2, 3, 2, 6, 5, 2, 2, 5, 4, 2, 2, 2, 6], dtype=float)
    return rng.choice(codes, size=n, p=p / p.sum())


def write_second_vru(folder: Path, *, seed: int = 14) -> dict[str, Path]:
    """Write the configuration, instruments, protocols and data of the second VRU under ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    (folder / "instruments").mkdir(exist_ok=True)
    (folder / "instruments" / "yvq.yaml").write_text(INSTRUMENT, encoding="utf-8")
    protocols = folder / "protocols"
    protocols.mkdir(exist_ok=True)
    for name, text in PROTOCOLS.items():
        (protocols / f"{name}.yaml").write_text(text, encoding="utf-8")
    data = folder / "data"
    data.mkdir(exist_ok=True)
    hoods = list(NEIGHBOURHOODS)

    pd.DataFrame([
        {"intervention_id": "SP01", "name": "Midnight Football", "provider": "Moorland Sport Trust",
         "prevention_level": "primary", "intervention_type": "sports", "area": "Moorland",
         "start_date": "2023-01-01", "annual_cost": 42000, "funding_stream": "Partnership grant",
         "completion_min_sessions": 8},
        {"intervention_id": "AE01", "name": "A&E Youth Navigators", "provider": "Harbourside Health Youth Work",
         "prevention_level": "targeted", "intervention_type": "hospital_navigator", "area": "Harbourside",
         "start_date": "2023-01-01", "annual_cost": 88000, "funding_stream": "Partnership grant"},
        {"intervention_id": "AR01", "name": "Safer Nights Neighbourhood Scheme", "provider": "Partnership team",
         "prevention_level": "primary", "intervention_type": "area_scheme", "area": WHOLE,
         "start_date": "2023-01-01", "annual_cost": 150000, "funding_stream": "Partnership grant"},
    ]).to_csv(data / "interventions.csv", index=False)

    part, contacts, meas, offences, pool = [], [], [], [], []
    year0 = pd.Timestamp("2023-01-01")
    # SP01: attendance only (no questionnaire); completion = at least 8 sessions attended.
    for _ in range(110):
        pid, start = _pid(rng), year0 + pd.Timedelta(days=int(rng.integers(0, 200)))
        commit = rng.beta(2.5, 2.0)
        offered = int(rng.integers(8, 20))
        attended = rng.random(offered) < commit
        part.append(_person(rng, pid, "SP01", start, start, "finished" if attended.sum() >= 8 else "dropped_out",
                            rng.choice(["Heathfield", "Stonebridge", "Fernvale"]), "school"))
        for k in range(offered):
            contacts.append({"person_id": pid, "intervention_id": "SP01", "contact_type": "session",
                             "contact_date": (start + pd.Timedelta(days=7 * k)).date(), "duration_minutes": 90,
                             "attended": bool(attended[k])})
    # AE01: indexed on the A&E attendance (referral_date); questionnaire at intake and closure; reoffending.
    for _ in range(120):
        pid = _pid(rng)
        attend = year0 + pd.Timedelta(days=int(rng.integers(0, 240)))
        start = attend + pd.Timedelta(days=int(rng.integers(2, 21)))
        person = _person(rng, pid, "AE01", attend, start, rng.choice(["finished", "dropped_out"], p=[0.8, 0.2]),
                         rng.choice(["Quayside", "Saltmarsh", "Bellhill"]), "emergency_department")
        part.append(person)
        base = rng.normal(2.4, 0.6)
        for tp, shift, mean in (("intake", 0, base), ("closure", 120, base - 0.5)):
            if tp == "closure" and rng.random() < 0.15:
                continue
            for item in range(1, 7):
                meas.append({"person_id": pid, "intervention_id": "AE01", "instrument": "YVQ", "item": str(item),
                             "response": int(np.clip(np.rint(rng.normal(mean, 0.8)), 0, 4)), "timepoint": tp,
                             "measurement_date": (start + pd.Timedelta(days=shift)).date()})
        offences += _offences(rng, pid, attend, 0.22, person["prior_offences"])
        for k in range(2):
            contacts.append({"person_id": pid, "intervention_id": "AE01", "contact_type": "one_to_one",
                             "contact_date": (start + pd.Timedelta(days=14 * k)).date(), "duration_minutes": 45,
                             "attended": True})
    # The comparison pool: A&E attendances for assault with no referral (and a second source, unused here).
    for source, n in (("ed_attendance_no_referral", 500), ("youth_offending_caseload", 80)):
        for _ in range(n):
            pid = _pid(rng)
            when = year0 + pd.Timedelta(days=int(rng.integers(0, 240)))
            age = int(rng.integers(12, 23))
            prior = int(rng.poisson(1.2))
            pool.append({"person_id": pid, "index_date": when.date(), "pool_source": source, "age_at_index": age,
                         "sex": rng.choice(["male", "female"], p=[0.75, 0.25]),
                         "ethnicity_detailed": _ethnicity(rng, 1)[0],
                         "locality": rng.choice(hoods), "prior_offences": prior,
                         "prior_violent_offences": int(rng.binomial(prior, 0.4))})
            offences += _offences(rng, pid, when, 0.30, prior)
    pd.DataFrame(part).to_csv(data / "participants.csv", index=False)
    pd.DataFrame(contacts).to_csv(data / "contacts.csv", index=False)
    pd.DataFrame(meas).to_csv(data / "measurements.csv", index=False)
    pd.DataFrame(offences).to_csv(data / "offences.csv", index=False)
    pd.DataFrame(pool).to_csv(data / "comparison_pool.csv", index=False)

    # Area counts: every neighbourhood, month and indicator, 2021-01 to 2023-12; the scheme ran in Quayside and
    # Heathfield from 2023-01 and cut sharp-object admissions there by about a third.
    rows = []
    months = pd.period_range("2021-01", "2023-12", freq="M")
    for hood, pop in NEIGHBOURHOODS.items():
        level = rng.uniform(0.6, 1.4)
        for ind, per_1000 in (("sharp_object_admissions", 0.35), ("nte_violence", 0.9)):
            for m in months:
                effect = 0.65 if (hood in ("Quayside", "Heathfield") and m.year == 2023
                                  and ind == "sharp_object_admissions") else 1.0
                mu = pop / 1000 * per_1000 * level * effect
                rows.append({"area": hood, "month": m.to_timestamp().date(), "indicator": ind,
                             "count": int(rng.poisson(mu)), "population": pop})
    pd.DataFrame(rows).to_csv(data / "area_counts.csv", index=False)
    pd.DataFrame([{"intervention_id": "AR01", "area": a, "start_month": "2023-01-01"}
                  for a in ("Quayside", "Heathfield")]).to_csv(data / "area_rollout.csv", index=False)
    return {"config": folder / "config.yaml", "protocols": protocols, "data": data}


def _person(rng, pid, iid, referral, start, exit_reason, locality, source) -> dict:
    age = int(rng.integers(12, 23))
    prior = int(rng.poisson(1.4))
    return {"person_id": pid, "intervention_id": iid, "referral_date": referral.date(), "start_date": start.date(),
            "end_date": (start + pd.Timedelta(days=150)).date(), "exit_reason": exit_reason, "age_at_start": age,
            "sex": rng.choice(["male", "female", "not_known"], p=[0.7, 0.28, 0.02]),
            "ethnicity_detailed": _ethnicity(rng, 1)[0], "locality": locality, "referral_source": source,
            "prior_offences": prior, "prior_violent_offences": int(rng.binomial(prior, 0.4))}


def _offences(rng, pid, index, p_reoffend, prior) -> list[dict]:
    out = []
    for _ in range(prior):  # before the index date: the counts in prior_offences
        when = index - pd.Timedelta(days=int(rng.integers(30, 700)))
        out.append(_offence(rng, pid, when))
    if rng.random() < p_reoffend:
        out.append(_offence(rng, pid, index + pd.Timedelta(days=int(rng.integers(10, 330)))))
    return out


def _offence(rng, pid, when) -> dict:
    return {"person_id": pid, "offence_date": when.date(),
            "offence_group": rng.choice(["violence_with_injury", "violence_without_injury", "robbery", "other"]),
            "knife_enabled": bool(rng.random() < 0.2), "outcome": rng.choice(["caution", "conviction"]),
            "outcome_date": (when + pd.Timedelta(days=40)).date()}
