"""Write the demo protocols (one per intervention in evalkit/demo_portfolio.yaml, plus
vru_wide.yaml) and the JSON Schema beside them.

The protocols are plain YAML an evaluator edits by hand; this script only keeps
the 29 demo files consistent. Designs are chosen by intervention type:

- custody diversion: matched comparison on 12-month proven reoffending, time to
  reoffend, frequency and violent reoffending, plus a matched DiD on offending;
- mentoring: pre/post on SDQ and SWEMWBS plus matched reoffending (reoffending is
  primary for tertiary-level mentoring);
- counselling: pre/post on SWEMWBS and the SDQ emotional scale;
- outreach: pre/post SWEMWBS plus matched reoffending (reoffending primary at tertiary level);
- parenting: pre/post on the parent-report SDQ total;
- diversionary activity: matched reoffending plus pre/post SWEMWBS;
- school programmes and youth work: pre/post (youth work: SWEMWBS, the only measure it collects);
- area-wide programmes: area trend (with an interrupted time series at roll-out)
  and area DiD against the other County districts.

Run: ``python protocols/make_protocols.py`` (from the repository root).
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from scipy import optimize

from evalkit.designs.power import prop_test_power, t_test_power
from evalkit.protocol import SCHEMA_COMMENT, SCHEMA_FILENAME, validate_protocol_file, write_protocol_schema

HERE = Path(__file__).resolve().parent
PORTFOLIO = HERE.parent / "evalkit" / "demo_portfolio.yaml"

COVARIATES = ["age", "sex", "ethnicity_group", "prior_offences", "prior_violent_offences", "school_exclusion",
              "looked_after", "exploitation_concern", "substance_misuse_concern"]

OUTCOMES = {
    "reoffending": """  - kind: reoffending
    name: reoffending_12m
    label: "Proven reoffending within 12 months"
    offences: any
    followup_months: 12      # follow-up window from the index date
    waiting_months: 6        # extra time for an offence to be proven (Justice Data Lab)
""",
    "violent_reoffending": """  - kind: reoffending
    name: violent_reoffending_12m
    label: "Proven violent reoffending within 12 months"
    offences: violent
    followup_months: 12
    waiting_months: 6
""",
    "frequency": """  - kind: reoffending_frequency
    name: reoffences_per_person_12m
    label: "Proven reoffences per person within 12 months"
    offences: any
    followup_months: 12
    waiting_months: 6
""",
    "time_to": """  - kind: time_to_reoffend
    name: time_to_reoffend
    label: "Time to first proven reoffence"
    offences: any
    followup_months: 12
    waiting_months: 6
""",
    "sdq_total": """  - kind: instrument
    name: sdq_total
    label: "SDQ total difficulties (self-report, 0-40)"
    instrument: SDQ_S
    scale: total_difficulties
    pre: baseline
    post: exit
    higher_is_better: false  # fewer difficulties is better
""",
    "sdq_parent": """  - kind: instrument
    name: sdq_parent_total
    label: "SDQ total difficulties (parent report, 0-40)"
    instrument: SDQ_P
    scale: total_difficulties
    pre: baseline
    post: exit
    higher_is_better: false
""",
    "sdq_emotional": """  - kind: instrument
    name: sdq_emotional
    label: "SDQ emotional symptoms (self-report, 0-10)"
    instrument: SDQ_S
    scale: emotional
    pre: baseline
    post: exit
    higher_is_better: false
""",
    "swemwbs": """  - kind: instrument
    name: swemwbs
    label: "Mental wellbeing (SWEMWBS metric score, 7-35)"
    instrument: SWEMWBS
    scale: metric            # Rasch-converted score
    pre: baseline
    post: exit
    higher_is_better: true
""",
}

#: Minimum worthwhile effect per outcome, in the outcome's natural units (docs/reports.md). Judgements a VRU
#: should revisit, stated before results are seen:
#: - reoffending: 10 percentage points, about a quarter of the 35-40% counterfactual 12-month rate of the
#:   tertiary cohorts; smaller falls do not repay £1,000-£2,000 per young person (Justice Data Lab
#:   reports of youth programmes mostly find 3-10 points);
#: - violent reoffending 5 points (a rarer outcome); frequency 0.3 proven reoffences per person; time to
#:   reoffend a 20% fall in the hazard;
#: - SDQ total difficulties 2 points (self or parent report; about a third of the SD of change, near the
#:   change the SDQ authors call clinically meaningful); SDQ emotional subscale 1 point;
#: - SWEMWBS 2 metric points (the middle of the 1-3 point range quoted as a meaningful change for the
#:   7-item scale);
#: - area programmes: a 10% fall in the serious-violence (or knife-crime) rate.
MINIMUM_WORTHWHILE = {"reoffending": 0.10, "violent_reoffending": 0.05, "frequency": 0.3, "time_to": 0.2,
                      "sdq_total": 2.0, "sdq_parent": 2.0, "sdq_emotional": 1.0, "swemwbs": 2.0, "area": 0.10}
#: Planning assumptions behind the minimum detectable effects (evalkit/synth/settings.py holds the same
#: arithmetic for the planted effects): 90% of participants matched 1:3 (harmonic-mean per-group n 1.5 x
#: matched), counterfactual 12-month reoffending 35% (tertiary) or 25% (secondary and universal);
#: complete before/after pairs 60% of participants (75% exit completion x ~81% complete items), SD of the
#: change 5 points on the SDQ and SWEMWBS, 2 on the SDQ emotional subscale; area DiD with 2-3 programme
#: districts against the other County districts: 80% power at a 25% fall (benchmarks/power_area_did.py).
#: Entry criteria of the services that admit young people on a questionnaire score (the provider's referral
#: rule, known before any result): outcome key -> threshold on the analysed scale. SWEMWBS raw 21 is 19.25 on
#: the metric scale; the SDQ total difficulties cut-off is 14 (parent report).
ENTRY_CRITERIA = {"INT09": ("swemwbs", 19.25), "INT10": ("swemwbs", 19.25), "INT11": ("swemwbs", 19.25),
                  "INT15": ("sdq_parent", 14), "INT16": ("sdq_parent", 14)}
MATCHED_SHARE, PAIRED_SHARE, SD_CHANGE = 0.9, 0.6, {"sdq_emotional": 2.0}
AREA_MDE = 0.25


def minimum_detectable(key: str, participants: int, level: str, alpha: float = 0.05) -> float | None:
    """The effect detectable with 80% power at the expected analysable n (natural units, rounded up)."""
    if key in ("reoffending", "violent_reoffending"):
        p0 = (0.35 if level == "tertiary" else 0.25) * (0.6 if key == "violent_reoffending" else 1.0)
        n = 1.5 * MATCHED_SHARE * participants
        if prop_test_power(n, p0, 0.001, alpha=alpha) < 0.8:
            return None
        rd = optimize.brentq(lambda d: prop_test_power(n, p0, p0 - d, alpha=alpha) - 0.8, 1e-6, p0 - 0.001)
        return round(math.ceil(rd * 100) / 100, 2)
    if key in ("sdq_total", "sdq_parent", "sdq_emotional", "swemwbs"):
        n = PAIRED_SHARE * participants
        if n < 3:
            return None
        sd = SD_CHANGE.get(key, 5.0)
        d = optimize.brentq(lambda x: t_test_power(n, x, sd, alpha=alpha, paired=True) - 0.8, 1e-6, 50 * sd)
        return round(math.ceil(d * 10) / 10, 1)
    return None


def _with_thresholds(key: str, block: str, item: dict | None, iid: str = "") -> str:
    """An outcome block with its minimum worthwhile (and, for primary outcomes, detectable) effect."""
    lines = [block.rstrip("\n"), f"    minimum_worthwhile_effect: {MINIMUM_WORTHWHILE[key]:g}"]
    entry = ENTRY_CRITERIA.get(iid)
    if entry and entry[0] == key:
        lines.append(f"    entry_threshold: {entry[1]:g}   # referral needs this score at the start "
                     "(regression to the mean is corrected)")
    if item is not None:
        mde = minimum_detectable(key, item["participants"], item["level"])
        if mde is not None:
            lines.append(f"    minimum_detectable_effect: {mde:g}   # 80% power at the expected number analysed")
    return "\n".join(lines)


#: type -> (primary outcome keys, secondary outcome keys, design builders)
PLANS = {
    "custody_diversion": (["reoffending"], ["time_to", "frequency", "violent_reoffending"], ["matched", "did"]),
    "mentoring": (["sdq_total"], ["swemwbs", "reoffending"], ["prepost", "matched"]),
    "counselling": (["swemwbs"], ["sdq_emotional"], ["prepost"]),
    "outreach": (["swemwbs"], ["reoffending"], ["prepost", "matched"]),
    "parenting": (["sdq_parent"], [], ["prepost"]),
    "diversionary_activity": (["reoffending"], ["swemwbs"], ["matched", "prepost"]),
    "school_programme": (["sdq_total"], ["swemwbs"], ["prepost"]),
    "youth_work": (["swemwbs"], [], ["prepost"]),   # youth clubs collect SWEMWBS only
    "area_programme": ([], [], ["area_trend", "area_did"]),
}

QUESTIONS = {
    "custody_diversion": "Do young people offered the service at the point of arrest reoffend less within 12 months "
                         "than similar young people arrested but not referred?",
    "mentoring": "Do mentored young people's difficulties and wellbeing improve, and do they reoffend less than "
                 "similar young people who were not mentored?",
    "counselling": "Does the wellbeing and emotional health of young people who receive counselling improve?",
    "outreach": "Does the wellbeing of young people reached by outreach improve, and do they offend less than "
                "similar young people?",
    "parenting": "Do parents report fewer difficulties in their children after the programme?",
    "diversionary_activity": "Do young people who take part offend less than similar young people who do not, "
                             "and does their wellbeing improve?",
    "school_programme": "Do pupils' difficulties and wellbeing improve over the programme?",
    "youth_work": "Does the wellbeing of young people who attend improve?",
    "area_programme": "Did serious violence fall in the districts where the programme ran, compared with their "
                      "three-year baseline and with districts where it did not run?",
}

COUNTY_DISTRICTS = ["Ashfield", "Bassetlaw", "Broxtowe", "Gedling", "Mansfield", "Newark and Sherwood", "Rushcliffe"]


#: First month of the area counts (evalkit.synth.settings.AREA_FIRST_MONTH).
FIRST_AREA_MONTH = "2017-04"


def _outcome_names(keys: list[str]) -> list[str]:
    return [yaml.safe_load(OUTCOMES[k])[0]["name"] for k in keys]


def _design_block(kind: str, item: dict, primary: list[str], secondary: list[str]) -> str:
    names = _outcome_names(primary + secondary)
    offending = [n for n, k in zip(names, primary + secondary) if k in
                 ("reoffending", "violent_reoffending", "frequency", "time_to")]
    scores = [n for n in names if n not in offending]
    if kind == "prepost":
        return f"""  - type: prepost           # participants before and after (Maryland SMS level 1)
    outcomes: [{", ".join(scores)}]
    reliable_change: true     # share reliably improved / deteriorated (Jacobson & Truax)
"""
    if kind == "matched":
        pool = "custody_no_referral" if item["level"] == "tertiary" else "at_risk_list"
        exact = "[sex]"
        return f"""  - type: matched           # participants vs a matched comparison group (SMS level 3 if balanced)
    outcomes: [{", ".join(offending)}]
    pool_source: {pool}
    covariates: [{", ".join(COVARIATES)}]
    exact: {exact}               # match only within the same sex
    distance: glm             # propensity score by logistic regression
    link: linear.logit        # match on the logit of the propensity score
    caliper: 0.2              # in SD of the propensity score logit (Austin 2011)
    std_caliper: true
    ratio: 3                  # 1:3: the pool holds thousands, and 3 comparisons each give 75% of the
                              # precision of an infinite comparison group against 50% for 1:1 (Stuart 2010)
    replace: false
    m_order: largest          # match the hardest-to-match participants first (MatchIt default)
    regression_adjust: true   # doubly robust: adjust the matched estimate for the covariates
"""
    if kind == "did":
        return f"""  - type: did               # offending in periods before and after the index date, matched comparison
    outcomes: [{offending[0]}]
    comparison: matched
    period_months: 6
    pre_periods: 2
    post_periods: 2
"""
    rollout = item.get("area_rollout") or {}
    districts = rollout.get("districts", [])
    start = str(rollout.get("start", ""))[:7]
    if kind == "area_trend":
        return f"""  - type: area_trend        # indicators in the year against a three-year baseline
    indicators: [serious_violence, knife_crime, violence_with_injury]
    areas: [{", ".join(districts)}]
    period: ["2020-04", "2021-03"]
    baseline: ["2017-04", "2020-03"]
    interruption: "{start}"   # first month of the programme: interrupted time series
"""
    if kind == "area_did":
        # Every other County district: with only the never-treated ones (two) the wild bootstrap
        # p-value cannot fall below 1/8. Districts of another area-wide programme stay in the
        # comparison only until that programme starts (area_did drops their later months). The City
        # is left out: it is unlike the districts, and with it the simulated power at a rate ratio
        # of 0.75 falls from 0.80 to 0.48 (benchmarks/power_area_did.py).
        others = [d for d in COUNTY_DISTRICTS if d not in districts]
        year, month = (int(x) for x in start.split("-"))
        base_from = max(_month(year, month, -36), FIRST_AREA_MONTH)
        return f"""  - type: area_did          # programme districts vs the other County districts
    indicators: [serious_violence, knife_crime]
    minimum_worthwhile_effect: {MINIMUM_WORTHWHILE["area"]:g}   # a 10% fall in the rate
    minimum_detectable_effect: {AREA_MDE:g}   # 80% power at a 25% fall (benchmarks/power_area_did.py)
    comparison_areas: [{", ".join(others)}]
    period: ["{_month(year, month, 0)}", "{_month(year, month, 11)}"]     # first 12 months of the programme
    baseline: ["{base_from}", "{_month(year, month, -1)}"]   # up to 3 years before roll-out (counts start 2017-04)
"""
    raise ValueError(kind)


def protocol_text(item: dict) -> str:
    """The YAML text of one intervention's protocol."""
    primary, secondary, designs = PLANS[item["type"]]
    if item["type"] == "mentoring" and item["level"] == "tertiary":
        primary, secondary = ["reoffending"], ["sdq_total", "swemwbs"]
    if item["type"] == "outreach" and item["level"] == "tertiary":
        # Violent reoffending is the aim, but at ~55 participants it has too few events for 80% power
        # against a realistic effect; any reoffending is primary and violent reoffending the key secondary.
        primary, secondary = ["reoffending"], ["violent_reoffending", "swemwbs"]
        designs = ["matched", "prepost"]
    subgroups = "[sex, ethnicity_group, age_band, locality]" if item["participants"] >= 40 else "[]"
    lines = [
        SCHEMA_COMMENT,
        f"# Evaluation protocol for {item['id']}: {item['name']} ({item['provider']}).",
        "# Pre-specified before results were seen. Check it with `evalkit validate` and",
        "# render it with `evalkit report`.",
        f"intervention_id: {item['id']}",
        f"title: {_q(item['name'])}",
        f"intervention_type: {item['type']}",
        f"question: >-\n  {QUESTIONS[item['type']]}",
        "",
        "designs:",
        *[_design_block(k, item, primary, secondary).rstrip("\n") for k in designs],
        "",
        "# Primary outcomes answer the question; secondary outcomes are reported with less weight.",
        "primary_outcomes:" + ("" if primary else " []"),
        *[_with_thresholds(k, OUTCOMES[k], item, item["id"]) for k in primary],
        "secondary_outcomes:" + ("" if secondary else " []"),
        *[_with_thresholds(k, OUTCOMES[k], None, item["id"]) for k in secondary],
        "",
        "population:",
        "  start_from: 2020-04-01    # financial year 2020/21",
        "  start_to: 2021-03-31",
        "  age_min: 5",
        "  age_max: 25",
        "",
        f"subgroups: {subgroups}   # reported only where every cell passes disclosure control",
        "age_bands: [5, 10, 14, 18, 26]   # edges: 5-9, 10-13, 14-17, 18-25",
        "alpha: 0.05                # significance level (two-sided)",
        "disclosure_threshold: 10   # counts below this are suppressed",
        "min_n_significance: 30     # nothing is called significant below this many participants",
        "costs:",
        "  source: interventions_table   # annual_cost from the interventions table",
        "seed: 2021",
        "",
    ]
    return "\n".join(lines)


def vru_wide_text() -> str:
    """The VRU-wide protocol for the area indicators (Table A of the board report)."""
    return "\n".join([
        SCHEMA_COMMENT,
        "# VRU-wide protocol: serious violence indicators in the year against their three-year",
        "# baseline, for the City, the County and each district (Table A style).",
        "intervention_id: VRU",
        'title: "VRU-wide serious violence indicators"',
        "question: >-\n  Did serious violence, knife crime and violence-related hospital admissions fall in 2020/21"
        " compared with the three years before, across the City and the County?",
        "designs:",
        "  - type: area_trend",
        "    indicators: [serious_violence, knife_crime, violence_with_injury, homicide,",
        "                 hospital_assault_admissions, ambulance_assault_callouts]",
        f"    areas: [City, County, {', '.join(COUNTY_DISTRICTS)}]",
        '    period: ["2020-04", "2021-03"]',
        '    baseline: ["2017-04", "2020-03"]',
        "primary_outcomes: []       # area protocols use the indicators above",
        "alpha: 0.05",
        "disclosure_threshold: 10",
        "seed: 2021",
        "",
    ])


def _month(year: int, month: int, shift: int) -> str:
    index = year * 12 + (month - 1) + shift
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _q(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def main() -> None:
    portfolio = yaml.safe_load(PORTFOLIO.read_text(encoding="utf-8"))["interventions"]
    write_protocol_schema(HERE / SCHEMA_FILENAME)
    written = []
    for item in portfolio:
        path = HERE / f"{item['id']}.yaml"
        path.write_text(protocol_text(item), encoding="utf-8")
        written.append(path)
    path = HERE / "vru_wide.yaml"
    path.write_text(vru_wide_text(), encoding="utf-8")
    written.append(path)
    bad = [str(p) for w in written for p in validate_protocol_file(w)]
    if bad:
        raise SystemExit("\n".join(bad))
    print(f"wrote {len(written)} protocols and {SCHEMA_FILENAME} to {HERE}")


if __name__ == "__main__":
    main()
