"""The README written beside the synthetic data: the scenario and the truth definitions."""

from __future__ import annotations

import pandas as pd

from evalkit.synth.settings import (DATA_END, DISTRICT_AREA, NOT_STARTED_SHARE, ONE_LOCALITY_AREA, POOL_SIZES,
                                    PRIMARY_OUTCOMES, effects_for, portfolio)
from evalkit.synth.settings import world as demo_world
from evalkit.synth.writer import COLUMNS

_TEXT = """# Synthetic VRU monitoring data (seed {seed})

Made by `evalkit synth --seed {seed} --out DIR` (`evalkit.synth.generate.generate`). Nothing here is
about real people. The same seed gives byte-identical files with the same library versions
(these were made with {versions}; random streams may change between numpy releases).

## The scenario
An imaginary Violence Reduction Unit for {setting}, 2020/21,
mirroring a real board report: 28 interventions at three prevention levels (list and planted
scenario in `evalkit/demo_portfolio.yaml`), {n_part:,} young people aged 5-25 starting between
2020-04-01 and 2021-03-31, and a comparison pool of {n_pool:,} non-participants
({pool_text}) with index dates in 2020/21. Police offence records run to **{data_end}** (the
extract date). Monthly area counts run April 2017 - March 2022.

Files (columns exactly as `docs/data-contract.md`): {files}, plus `truth.csv`.
The data tables are gzip-compressed CSV (`.csv.gz`, to keep the folder small); every evalkit
command and `load_tables` reads them as they are. To look at one: `gunzip -k FILE`, or
`pandas.read_csv("offences.csv.gz")`. `truth.csv` and this README are plain text.

## How the data were made (the choices that matter for analysis)
- **Selection on observables.** Everyone has a latent risk; participants of tertiary and
  secondary interventions have a higher mean than the pool, universal ones a lower mean. The
  risk factors (prior_offences, prior_violent_offences, school_exclusion, looked_after,
  exploitation_concern, substance_misuse_concern) are noisy functions of it, but offending
  afterwards depends only on the *observed* risk factors, age and sex. So a naive
  participant-vs-pool comparison is biased and a correct matched or weighted design on those
  covariates recovers the truth.
- **Offending.** Time to first proven offence is Weibull with proportional hazards in the
  risk factors (shape 0.8); further proven offences follow at a rate rising with risk. An
  intervention multiplies both by its hazard ratio. 12-month reoffending is therefore a
  complementary log-log (not logit) function of the covariates. Proven outcomes are caution,
  youth caution, youth conditional caution and conviction; no_further_action and
  community_resolution are never proven; offences whose outcome falls after the extract are
  `charge` (court pending) or `pending`. Custody cohorts (custody diversion participants and
  the custody_no_referral pool) have their arrest offence dated on the index date itself.
  Nobody has an offence before their 10th birthday (age of criminal responsibility).
- **prior_offences** = number of proven offences with offence_date in [index - 24 months,
  index - 1 day]; the offences file holds exactly that many (plus older offences, unproven
  ones and the index-day arrest offence, none of which count). The index date is start_date,
  except for custody diversion, where it is referral_date (the arrest).
- **Follow-up.** Complete (12 months + 6 months for the offence to be proven) for index dates
  up to 18 months before the extract; participants starting after {complete_by} have
  incomplete follow-up, on purpose.
- **Questionnaires.** Item level. SDQ self-report (SDQ_S) ages 11-17, parent report (SDQ_P)
  under 11 and for parenting programmes; SWEMWBS from age 11. Items come from latent subscale
  traits (graded response model). SDQ responses are raw (0 not true, 1 somewhat true, 2
  certainly true); items 7, 11, 14, 21, 25 must be reverse-scored (2 - response) as published.
  About 1.5% of items are blank and 3% of questionnaires missing at random; about 75% of
  leavers complete an exit questionnaire, and those missing are missing NOT at random
  (likelier after disengaging or leaving early, and with a worse baseline). Counselling (INT09-INT11) admits only SWEMWBS raw <= 21 and parenting
  (INT15-INT16) only SDQ total >= 14 at baseline, so pre/post change there includes
  regression to the mean. Everyone drifts slightly better by exit (maturation).
- **Engagement.** Planned sessions per type; drop-out and attendance depend on a latent
  engagement that is lower for higher-risk, worse-scoring young people; completed = stayed to
  the end and attended at least completion_min_sessions. During lockdowns half the
  face-to-face sessions moved to phone_online.
- **Referrals that never started.** Besides the 1,547 who started, each participant-based
  intervention has referrals that never started ({not_started}): a participants row with
  referral_date, no start_date and exit_reason `not_started` (no contacts, questionnaires or
  statuses). Their risk is a little higher than the starters' (the least engaged are the riskiest),
  their prior_offences count the 24 months before the referral, their follow-up runs from the
  referral date, and the intervention has no effect on them. They come from their own random
  stream, so the starters' records are exactly those of a world without them. A starter's prior
  offences are spread over the 24 months before the start, so a few fall between referral and
  start; follow-up from the referral counts them as outcomes, which tilts an intention-to-treat
  comparison from referral towards harm by about one percentage point for the types indexed on the
  start date (none for custody diversion, indexed on the referral).
{area_counts}

## Planted effects and primary outcomes
{effects}

Primary outcome by intervention type (tertiary mentoring and outreach: reoffend_12m): {primary}.

## truth.csv
One row per intervention x outcome: `true_effect` on the `scale` stated, `scenario`
(effective / null / harmful / small) and `primary` (the outcome the intervention's type
is judged on). Effects are averaged over the intervention's participants (ATT) and are
expectations given their characteristics, so they do not depend on the luck of the draw.
- reoffend_12m: risk difference in P(any proven offence with offence_date in (index, index +
  12 months] and outcome_date <= index + 18 months).
- violent_reoffend_12m: the same for proven offences in the violent groups of the configuration.
- reoffend_freq_12m: difference in the expected number of such offences per person.
- time_to_reoffend_hr: hazard ratio for the time from index to the first proven offence.
- sdq_total_change / sdq_emotional_change / sdq_conduct_change: difference in the expected
  exit score (total difficulties 0-40, subscales 0-10) with vs without the intervention, over
  participants given an SDQ; equal to the extra change from baseline.
- swemwbs_change: the same for the SWEMWBS metric score (Rasch conversion of the raw total).
- reoffend_12m_itt: intention to treat from referral: the reoffend_12m risk difference averaged
  over everyone referred (starters' ATT times the share who started; non-starters have no effect).
  Follow-up of a starter here runs from the start date, as in reoffend_12m.
- neet_exit: risk difference in NEET at exit (participants aged 16+ at start).
- substance_use: risk difference in weekly-or-more substance use at exit (aged 12+).
- onward_referral_takeup: expected share of onward referrals taken up (a level, not an effect).
- area_serious_violence_rr / area_knife_crime_rr: rate ratio in the roll-out districts from
  the roll-out month.
Null interventions have exactly zero effect on everything (hazard and rate ratios 1).
Names in the demo protocols: reoffend_12m = reoffending_12m, violent_reoffend_12m =
violent_reoffending_12m, reoffend_freq_12m = reoffences_per_person_12m, time_to_reoffend_hr =
time_to_reoffend, sdq_total_change = sdq_total (sdq_parent_total for SDQ_P), sdq_emotional_change
= sdq_emotional, swemwbs_change = swemwbs.
"Small" interventions have too few participants to conclude anything, whatever their effect.
"""


def _effects_text() -> str:
    """One line per intervention with a non-zero planted target."""
    lines = []
    for spec in portfolio():
        eff = effects_for(spec["id"])
        parts = []
        if eff.reoffend_rd:
            parts.append(f"12-month reoffending {100 * eff.reoffend_rd:+.0f} percentage points")
        if eff.sdq_total:
            parts.append(f"SDQ total {eff.sdq_total:+.1f}")
        parts += [f"SDQ {k} {v:+.1f}" for k, v in eff.sdq_shift.items()]
        if eff.swemwbs:
            parts.append(f"SWEMWBS {eff.swemwbs:+.1f} metric points")
        if eff.neet_logit:
            parts.append("fewer NEET at exit")
        if eff.substance_logit:
            parts.append("less weekly substance use at exit")
        if eff.takeup_logit:
            parts.append("more onward referrals taken up")
        if eff.area_rr != 1.0:
            parts.append(f"serious violence and knife crime x{eff.area_rr:g} in its districts")
        if parts:
            lines.append(f"- {spec['id']} ({spec['scenario'] or 'null'}): " + "; ".join(parts))
    return "\n".join(lines + ["- every other intervention and outcome: exactly no effect"])


def library_versions() -> str:
    """The versions that fix the random streams and number formatting."""
    import numpy
    import scipy

    return f"numpy {numpy.__version__}, scipy {scipy.__version__}, pandas {pd.__version__}"


def readme_text(world, *, seed: int) -> str:
    """README.md for the data folder, with a few numbers computed from the data."""
    counts = world.tables["area_counts"]
    knife = counts[(counts["indicator"] == "knife_crime") & counts["area"].isin([ONE_LOCALITY_AREA, DISTRICT_AREA])]
    month = pd.DatetimeIndex(knife["month"])
    fy = month.year - (month.month < 4)
    base = knife.loc[(fy >= 2017) & (fy <= 2019), "count"].sum() / 3
    year = knife.loc[fy == 2020, "count"].sum()
    complete_by = (pd.Timestamp(DATA_END) - pd.DateOffset(months=18)).date()
    files = ", ".join(f"`{t}.csv.gz`" for t in COLUMNS if t != "truth")
    words = demo_world()["readme"]
    text = _TEXT.replace("{area_counts}", words["area_counts"])
    part = world.tables["participants"]
    started = part["start_date"].notna()
    shares = ", ".join(f"{t.replace('_', ' ')} {100 * s:.0f}%" for t, s in NOT_STARTED_SHARE.items())
    not_started = f"{int((~started).sum()):,} in all; of referrals: {shares}"
    return text.format(setting=words["setting"], seed=seed, n_part=int(started.sum()), not_started=not_started,
                        n_pool=len(world.tables["comparison_pool"]),
                        pool_text=", ".join(f"{n:,} {k}" for k, n in POOL_SIZES.items()),
                        data_end=DATA_END.isoformat(), complete_by=complete_by.isoformat(),
                        files=files, knife_change=year / base - 1, effects=_effects_text(),
                        int27_rr=effects_for("INT27").area_rr,
                        versions=library_versions(),
                        primary="; ".join(f"{t}: {', '.join(o)}" for t, o in PRIMARY_OUTCOMES.items()))
