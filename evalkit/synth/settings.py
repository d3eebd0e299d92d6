"""Fixed settings of the synthetic world: dates, the portfolio, type profiles, effects.

Every modelling choice of the generator that is a number lives here, so the
scenario can be read (and changed) in one place. The README written next to the
data (see :mod:`evalkit.synth.readme`) explains them in words.

The synthetic world always uses the *default* VRU configuration: it mirrors one
real setting, whatever configuration a user points evalkit at. Its places and
the numbers about them (populations, district weights, ethnicity shares) are
data, in ``demo_world.yaml`` beside this module, so no module names a place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

#: Financial year 2020/21: every participant starts in it, every pool member's index date is in it.
FY_START = date(2020, 4, 1)
FY_END = date(2021, 3, 31)
#: Last day covered by the police offence extract. Chosen so that 12 months of follow-up
#: plus 6 months for an offence to be proven is complete for everyone whose index date is
#: on or before 2021-02-28 and incomplete for the last month's starters (on purpose).
DATA_END = date(2022, 8, 31)
#: First and last month of the area counts.
AREA_FIRST_MONTH = date(2017, 4, 1)
AREA_LAST_MONTH = date(2022, 3, 1)

#: Size of the comparison pool by source (total >= 20,000).
POOL_SIZES = {"custody_no_referral": 6000, "at_risk_list": 14000}

#: Cap on how long a proven outcome takes (days) for offences inside a follow-up window,
#: so that "offence within 12 months and proven within 18" equals "offence within 12 months".
MAX_PROVEN_LAG_DAYS = 175


@lru_cache(maxsize=1)
def default_config() -> dict[str, Any]:
    """The default VRU configuration (categories, areas), read straight from the YAML."""
    text = resources.files("evalkit.data").joinpath("default_config.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@lru_cache(maxsize=1)
def portfolio() -> tuple[dict[str, Any], ...]:
    """The 28 demo interventions from ``evalkit/demo_portfolio.yaml``, in file order."""
    text = resources.files("evalkit").joinpath("demo_portfolio.yaml").read_text(encoding="utf-8")
    return tuple(yaml.safe_load(text)["interventions"])


@lru_cache(maxsize=1)
def world() -> dict[str, Any]:
    """The demo world's geography (``demo_world.yaml``): places by role and the numbers about them."""
    text = resources.files("evalkit.synth").joinpath("demo_world.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def county_districts() -> list[str]:
    """The districts of the many-district area, in configuration order."""
    return list(default_config()["areas"][DISTRICT_AREA])


#: Areas by role (names in demo_world.yaml).
ONE_LOCALITY_AREA = world()["one_locality_area"]
DISTRICT_AREA = world()["district_area"]
WHOLE_AREA = world()["whole_area"]
CITY_LOCALITY = world()["one_locality"]

#: Population aged 10-24 by locality in 2017 (demo_world.yaml). Grows 0.6% a year.
POP_10_24_2017 = {str(k): int(v) for k, v in world()["population_10_24_2017"].items()}
POP_GROWTH = 0.006

#: Whole-population weights for placing participants and pool members in districts (demo_world.yaml).
DISTRICT_WEIGHTS = {str(k): float(v) for k, v in world()["district_weights"].items()}


@dataclass(frozen=True)
class TypeProfile:
    """How participants of one intervention type look and how the service runs."""

    age: tuple[int, int, float]           # min, max, mean age at start
    p_male: float
    referral_sources: dict[str, float]
    sessions: int                          # planned sessions
    weeks: int                             # planned length in weeks
    contact_types: dict[str, float]
    instruments: tuple[str, ...]           # "SDQ" (self or parent by age) and/or "SWEMWBS"
    statuses: bool = True


PROFILES: dict[str, TypeProfile] = {
    "custody_diversion": TypeProfile((12, 25, 18.0), 0.86, {"police_custody": 1.0}, 8, 12,
                                     {"one_to_one": 0.7, "phone_online": 0.25, "family": 0.05}, ("SWEMWBS",)),
    "mentoring": TypeProfile((10, 21, 15.5), 0.78,
                             {"youth_justice": 0.3, "school": 0.2, "social_care": 0.2, "community": 0.1,
                              "self_or_family": 0.08, "health": 0.05, "police_custody": 0.05, "other": 0.02},
                             20, 24, {"one_to_one": 0.75, "phone_online": 0.15, "group": 0.1}, ("SDQ", "SWEMWBS")),
    "counselling": TypeProfile((10, 21, 15.0), 0.45,
                               {"health": 0.35, "school": 0.25, "social_care": 0.2, "self_or_family": 0.15,
                                "other": 0.05},
                               10, 14, {"one_to_one": 0.8, "phone_online": 0.2}, ("SDQ", "SWEMWBS")),
    "outreach": TypeProfile((13, 25, 17.5), 0.75,
                            {"community": 0.55, "self_or_family": 0.2, "youth_justice": 0.1, "school": 0.1,
                             "other": 0.05},
                            12, 16, {"drop_in": 0.6, "one_to_one": 0.3, "phone_online": 0.1}, ("SWEMWBS",)),
    "parenting": TypeProfile((5, 14, 9.0), 0.62,
                             {"school": 0.4, "social_care": 0.3, "health": 0.15, "self_or_family": 0.15},
                             8, 10, {"group": 0.7, "family": 0.2, "phone_online": 0.1}, ("SDQ",), False),
    "diversionary_activity": TypeProfile((10, 19, 14.5), 0.7,
                                         {"community": 0.4, "school": 0.25, "self_or_family": 0.2,
                                          "youth_justice": 0.1, "other": 0.05},
                                         20, 20, {"group": 0.9, "one_to_one": 0.1}, ("SWEMWBS",)),
    "school_programme": TypeProfile((9, 16, 13.0), 0.55, {"school": 1.0}, 6, 8, {"group": 1.0},
                                    ("SDQ", "SWEMWBS"), False),
    "youth_work": TypeProfile((10, 19, 14.5), 0.6,
                              {"self_or_family": 0.5, "community": 0.4, "school": 0.1},
                              15, 26, {"drop_in": 0.6, "group": 0.4}, ("SWEMWBS",)),
    "area_programme": TypeProfile((12, 24, 16.5), 0.7, {"community": 1.0}, 6, 12, {"drop_in": 1.0}, ()),
}

#: Per-intervention departures from the type profile.
PROFILE_OVERRIDES: dict[str, dict[str, Any]] = {
    "INT03": {"referral_sources": {"youth_justice": 0.7, "police_custody": 0.1, "social_care": 0.15, "other": 0.05},
              "age": (12, 19, 16.0)},
    "INT04": {"referral_sources": {"youth_justice": 0.8, "social_care": 0.2}, "age": (15, 25, 19.5)},
    # Secondary-school age (so every participant has the self-report SDQ its protocol is judged on).
    "INT07": {"contact_types": {"group": 0.85, "one_to_one": 0.15}, "age": (11, 17, 14.5)},
    "INT08": {"p_male": 0.0},
    "INT11": {"contact_types": {"group": 0.8, "one_to_one": 0.2}},
    "INT14": {"age": (18, 25, 21.0)},
    "INT16": {"age": (10, 16, 13.0)},
    "INT19": {"age": (5, 16, 10.5)},
    "INT20": {"age": (11, 16, 13.5)},
    "INT21": {"age": (11, 16, 14.0)},
    "INT22": {"age": (11, 16, 14.0), "contact_types": {"one_to_one": 0.8, "family": 0.2}, "sessions": 12,
              "weeks": 16},
    "INT26": {"referral_sources": {"health": 1.0}, "age": (14, 25, 18.5), "p_male": 0.8},
}

#: Mean of the latent risk (standard normal within a group) by prevention level, and overrides.
#: Comparison-pool sources sit between, so participants differ from the pool on observables.
RISK_MEAN_LEVEL = {"tertiary": 0.95, "secondary": 0.35, "universal": -0.55}
RISK_MEAN_OVERRIDE = {"INT03": 1.2, "INT04": 1.3, "INT10": 0.7, "INT16": 0.5}
RISK_MEAN_POOL = {"custody_no_referral": 0.45, "at_risk_list": -0.1}
RISK_SD_POOL = 1.15

#: Share of referrals that never start, by intervention type (area programmes have none). Non-starters are
#: drawn from their own random stream, so the starters' records are the same with or without them; their latent
#: risk is higher by NOT_STARTED_RISK_SHIFT (the least engaged are the riskiest), and the intervention has no
#: effect on them (they never received it).
NOT_STARTED_SHARE = {"custody_diversion": 0.25, "mentoring": 0.18, "counselling": 0.20, "outreach": 0.15,
                     "parenting": 0.22, "diversionary_activity": 0.12, "school_programme": 0.10, "youth_work": 0.12}
NOT_STARTED_RISK_SHIFT = 0.3

#: Interventions whose entry needs a high baseline score (regression to the mean in pre/post).
#: instrument, direction ("high" difficulty or "low" wellbeing), cut-off on the raw total.
ENTRY_THRESHOLDS: dict[str, tuple[str, str, int]] = {
    "INT09": ("SWEMWBS", "low", 21),
    "INT10": ("SWEMWBS", "low", 21),
    "INT11": ("SWEMWBS", "low", 21),
    "INT15": ("SDQ", "high", 14),
    "INT16": ("SDQ", "high", 14),
}


@dataclass(frozen=True)
class Effects:
    """Planted true effects of one intervention (targets; zero = no effect).

    reoffend_rd : target ATT on 12-month proven reoffending (risk difference); solved
        exactly for a hazard ratio that also scales the rate of further offences.
    sdq_shift : targets for the change in SDQ subscale totals, by subscale
        (emotional, conduct, hyperactivity, peer); solved exactly on the latent scale.
    swemwbs : target ATT on the SWEMWBS metric score at exit.
    neet_logit, substance_logit : log-odds shifts at exit (NEET; weekly-or-more use).
    takeup_logit : log-odds shift in the take-up of onward referrals.
    area_rr : rate ratio on serious violence and knife crime in the roll-out districts.
    """

    reoffend_rd: float = 0.0
    sdq_shift: dict[str, float] = field(default_factory=dict)
    sdq_total: float = 0.0                # when set, spread equally over the four difficulty subscales
    swemwbs: float = 0.0
    neet_logit: float = 0.0
    substance_logit: float = 0.0
    takeup_logit: float = 0.0
    area_rr: float = 1.0


#: Planted effects, sized from the power arithmetic (evalkit.designs.power, R-exact) so that every
#: effective or harmful intervention has >= 80% power on its protocol's primary outcome at the
#: analysable n the generator *expects* (not at any one seed's draw); effect sizes stay within
#: what good UK programmes report (reoffending -15 to -20 points, SDQ -3 to -3.5, SWEMWBS +3).
#:
#: Matched reoffending (1:3 nearest neighbour, caliper 0.2; expected matched treated n1 ~ 90% of
#: participants): power = prop_test_power(1.5 * n1, p0, p0 + rd) (harmonic-mean per-group n of a
#: 1:3 design), with p0 the expected counterfactual 12-month risk of the participants:
#:   INT01 n1 106, p0 .38, rd -.15 -> .83;  INT03 n1 70, p0 .33, rd -.18 -> .87;
#:   INT17 n1 62, p0 .29, rd -.17 -> .82;   INT26 n1 50, p0 .35, rd -.20 -> .81;
#:   INT07 (harm, secondary outcome) n1 70, p0 .24, rd +.15 -> .65 (its primary is the SDQ, below).
#: Pre/post (paired t, R power.t.test; SD of change ~5 SDQ or SWEMWBS points; expected complete
#: pairs from exit completion ~75% and SWEMWBS item completeness, see evalkit.synth.measurements).
#: The observed change also holds maturation (about -0.4 SDQ points, +0.3 SWEMWBS), which helps a
#: benefit and hides part of a harm, so harms are planted at +3.5 (net ~+3.1):
#:   SDQ -3 at >= 36 pairs -> >= .94 (INT05 ~42, INT20 ~48); SDQ +3.5 (net 3.1) at >= 36 pairs -> >= .95
#:   (INT07 ~55 now that it serves ages 11-17, INT22 ~37); SDQ_P -3.5 at ~50 pairs (INT15) -> > .99;
#:   SWEMWBS +3 at ~48 pairs (INT12) -> .98, at ~57 (INT09) -> .99.
#: Reports call nothing significant below 30 analysable participants, so INT24 (40 young people,
#: ~24 complete SWEMWBS pairs expected) cannot be found whatever its effect: "improve the evidence".
#: INT27 (area DiD, 2 districts against 5, wild bootstrap): power by simulation of this generator
#: (benchmarks/power_area_did.py, 400 draws) is .64 at a rate ratio of 0.80 and .80 at 0.75, so 0.75.
EFFECTS: dict[str, Effects] = {
    "INT01": Effects(reoffend_rd=-0.15, swemwbs=2.0, neet_logit=-0.5, substance_logit=-0.4, takeup_logit=0.8),
    "INT03": Effects(reoffend_rd=-0.18, sdq_total=-3.0, swemwbs=2.5, neet_logit=-0.5),
    "INT05": Effects(reoffend_rd=-0.12, sdq_total=-3.0, swemwbs=2.5),
    "INT07": Effects(reoffend_rd=0.15, sdq_shift={"conduct": 2.5, "peer": 1.0}),   # group deviancy training
    "INT08": Effects(sdq_total=-2.0, swemwbs=2.0),
    "INT09": Effects(sdq_shift={"emotional": -1.5}, swemwbs=3.0, takeup_logit=0.6),
    "INT11": Effects(swemwbs=2.5),
    "INT12": Effects(reoffend_rd=-0.12, swemwbs=3.0),
    "INT14": Effects(reoffend_rd=-0.10),
    "INT15": Effects(sdq_total=-3.5),
    "INT17": Effects(reoffend_rd=-0.17, swemwbs=2.5),
    "INT20": Effects(sdq_shift={"conduct": -1.5, "emotional": -0.5, "hyperactivity": -0.5, "peer": -0.5},
                     swemwbs=2.0),
    "INT22": Effects(reoffend_rd=0.06, sdq_shift={"conduct": 2.5, "emotional": 1.0}, swemwbs=-2.0),
    "INT24": Effects(swemwbs=3.0, neet_logit=-0.4),
    "INT25": Effects(swemwbs=1.5),
    "INT26": Effects(reoffend_rd=-0.20, swemwbs=2.0, takeup_logit=0.8),
    "INT27": Effects(area_rr=0.75),
}


def effects_for(intervention_id: str) -> Effects:
    """Planted effects of an intervention (all zero unless listed in :data:`EFFECTS`)."""
    return EFFECTS.get(intervention_id, Effects())


def profile_for(spec: dict[str, Any]) -> TypeProfile:
    """The type profile of an intervention with its overrides applied."""
    base = PROFILES[spec["type"]]
    over = PROFILE_OVERRIDES.get(spec["id"], {})
    if not over:
        return base
    values = {f: over.get(f, getattr(base, f)) for f in base.__dataclass_fields__}
    return TypeProfile(**values)


#: Primary outcome by intervention type: the one the demo protocol (protocols/make_protocols.py)
#: judges it on, so truth.csv and the reports agree on what "effective" means.
PRIMARY_OUTCOMES: dict[str, tuple[str, ...]] = {
    "custody_diversion": ("reoffend_12m",),
    "mentoring": ("sdq_total_change",),
    "counselling": ("swemwbs_change",),
    "outreach": ("swemwbs_change",),
    "parenting": ("sdq_total_change",),
    "diversionary_activity": ("reoffend_12m",),
    "school_programme": ("sdq_total_change",),
    "youth_work": ("swemwbs_change",),
    "area_programme": ("area_serious_violence_rr",),
}
#: Tertiary-level mentoring and outreach are judged on reoffending instead (their protocols say so).
PRIMARY_OUTCOMES_TERTIARY: dict[str, tuple[str, ...]] = {
    "mentoring": ("reoffend_12m",),
    "outreach": ("reoffend_12m",),
}


def primary_outcomes(spec: dict[str, Any]) -> tuple[str, ...]:
    """Truth-file outcomes flagged primary for one intervention of the portfolio."""
    if spec.get("level") == "tertiary" and spec["type"] in PRIMARY_OUTCOMES_TERTIARY:
        return PRIMARY_OUTCOMES_TERTIARY[spec["type"]]
    return PRIMARY_OUTCOMES[spec["type"]]


@dataclass(frozen=True)
class Selection:
    """An unrecorded trait (motivation, or risk the records miss) that makes referral likelier and offending rarer.

    Real referral is selective: a custody navigator picks the young people who seem ready to change. The trait is
    represented by its average among the referred, relative to recorded-alike young people who were not referred
    (the comparison pool), as hazard ratios on proven offending:

    post_hr : hazard ratio of proven offending after the index date (first offence and the rate of further
        ones), among everyone referred (starters and non-starters), whatever the programme does. It is bias,
        not effect: truth.csv does not include it.
    pre_visible : share of ``log(post_hr)`` also present before referral, in the window matching does not use
        (proven offences 24 to 48 months before the index date; ``prior_offences``, the 24 months before, is
        a matching covariate and stays as recorded). 0: nothing visible before referral, so no placebo can
        see it.
    """

    name: str
    post_hr: float = 1.0
    pre_visible: float = 0.0

    @property
    def post_log_hr(self) -> float:
        import math

        return math.log(self.post_hr)

    @property
    def pre_log_hr(self) -> float:
        return self.pre_visible * self.post_log_hr


#: Selection strengths (issue 19). "none" is the shipped demo: its data are byte-identical with or without this
#: option. "moderate": hazard ratio 0.8 among the referred, a third of it (on the log scale: hazard ratio
#: 0.8 ** (1/3) = 0.93) visible in offending 24-48 months before referral. "strong": 0.65, none of it visible.
SELECTION = {"none": Selection("none"), "moderate": Selection("moderate", 0.8, 1 / 3),
             "strong": Selection("strong", 0.65, 0.0)}

#: Off-by-default calibration option: a null matched-design programme planted as harmful on its primary outcome
#: (12-month reoffending), so the "Stop" path of a comparison design is exercised. INT18's protocol has a
#: minimum detectable effect of 16 points; +18 is powered.
HARMFUL_COMPARISON = {"INT18": Effects(reoffend_rd=0.18)}


@dataclass(frozen=True)
class WorldOptions:
    """Off-by-default options of the synthetic world (the shipped demo uses none of them).

    selection : "none", "moderate" or "strong" (:data:`SELECTION`).
    harmful_comparison : plant :data:`HARMFUL_COMPARISON` (scenario "harmful" in truth.csv).
    """

    selection: str = "none"
    harmful_comparison: bool = False

    @property
    def is_default(self) -> bool:
        return self == WorldOptions()

    def effects(self, intervention_id: str) -> Effects:
        """Planted effects under these options."""
        if self.harmful_comparison and intervention_id in HARMFUL_COMPARISON:
            return HARMFUL_COMPARISON[intervention_id]
        return effects_for(intervention_id)

    def scenario(self, spec: dict[str, Any]) -> str:
        """The scenario truth.csv names for one intervention under these options."""
        if self.harmful_comparison and spec["id"] in HARMFUL_COMPARISON:
            return "harmful"
        return spec["scenario"] or "null"
