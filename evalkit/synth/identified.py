"""Synthetic *identified* layer: fake names, dates of birth and postcodes, with recording errors at known rates.

``evalkit synth --identified --out DIR`` writes, for the same synthetic world
as ``evalkit synth`` (same seed, same people):

- ``identified_participants.csv``: the provider returns as a provider holds them
  (its own ``record_id``, first name, surname, date of birth, sex, postcode,
  and the rest of the participants table), with recording errors;
- ``identified_police.csv``: a police extract (``record_id`` = the force's own id)
  of everyone with a proven offence, the comparison pool and other people the
  police know, with fewer errors;
- ``identified_health.csv``: an Emergency Care Data Set-like extract (its own ids);
- ``identified_police_offences.csv``: the offences table keyed by the police id
  (``evalkit pseudonymise`` turns it into the store's offences table);
- ``identified_truth.csv``: the true police and health record of each
  participant record (blank when the person is not in that extract) and the
  recording errors made in it;
- ``README_IDENTIFIED.md``: what these files are.

Every name is fake: given names and surnames come from Faker's published name
lists (``faker.providers.person``: en_GB, en_IN, yo_NG, tw_GH, chosen by
ethnic group), drawn with numpy's seeded PCG64 generator, so the same seed gives
the same bytes for a given Faker release. Postcodes are made up in the shape of
the county's real districts. Identified files are named ``identified_*`` so no
evalkit reader takes them for a data-contract table, and they are never part of
the shipped demo data.

Recording errors (rates in :data:`PROVIDER_ERRORS`, :data:`POLICE_ERRORS`,
:data:`HEALTH_ERRORS`) are typos in either name (one substitution, deletion,
insertion or swap of neighbouring letters), a nickname for the given name,
day and month of birth swapped (only possible when the day is 12 or less), one
wrong digit in the day of birth, a postcode from an earlier address (moved
house, usually nearby) and a missing postcode. Name typos are 1.5 times as
common for names from outside the en_GB lists (:data:`NAME_ERROR_FACTOR`), as
transliterated names are spelt more variously: so linkage rates differ by
ethnic group, as they do in real linked data, and the quality report's
warnings have something to find.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.link.nicknames import NICKNAMES
from evalkit.errors import SpecError
from evalkit.results import ResultMixin
from evalkit.synth.people import dates_of_birth
from evalkit.synth.settings import world as demo_world
from evalkit.synth.writer import check_out_folder, write_atomically

#: Share of provider records with each recording error (independent draws).
PROVIDER_ERRORS: dict[str, float] = {
    "surname_typo": 0.06, "first_name_typo": 0.05, "nickname": 0.25, "day_month_swapped": 0.04,
    "day_of_birth_typo": 0.02, "moved_postcode": 0.15, "missing_postcode": 0.04,
}
#: Police records are keyed by trained staff from documents: fewer errors.
POLICE_ERRORS: dict[str, float] = {
    "surname_typo": 0.02, "first_name_typo": 0.02, "nickname": 0.05, "day_month_swapped": 0.01,
    "day_of_birth_typo": 0.005, "moved_postcode": 0.05, "missing_postcode": 0.01,
}
HEALTH_ERRORS: dict[str, float] = {
    "surname_typo": 0.03, "first_name_typo": 0.03, "nickname": 0.10, "day_month_swapped": 0.02,
    "day_of_birth_typo": 0.01, "moved_postcode": 0.10, "missing_postcode": 0.05,
}
#: ``nickname`` applies only to given names that have one (:data:`evalkit.link.nicknames.NICKNAMES`).
#: Name typos are this many times as common for names from the non-en_GB lists.
NAME_ERROR_FACTOR = 1.5

#: Faker locales whose name lists are used, by ONS ethnic group (weights within the group).
LOCALES_BY_GROUP: dict[str, dict[str, float]] = {
    "white": {"en_GB": 1.0},
    "mixed": {"en_GB": 0.8, "tw_GH": 0.1, "en_IN": 0.1},
    "asian": {"en_IN": 0.85, "en_GB": 0.15},
    "black": {"yo_NG": 0.45, "tw_GH": 0.25, "en_GB": 0.30},
    "other": {"en_IN": 0.4, "en_GB": 0.6},
}

#: Postcode districts in the shape of each locality's real ones (the demo world's geography, demo_world.yaml).
POSTCODE_DISTRICTS: dict[str, tuple[str, ...]] = {
    str(loc): tuple(str(d) for d in ds) for loc, ds in demo_world()["postcode_districts"].items()}
_UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"), dtype=object)

#: Extra people the police and the hospital know who are neither participants nor in the pool.
EXTRA_POLICE, EXTRA_HEALTH = 5000, 3000
#: Share of participants without a proven offence whom the police still hold a record of
#: (victims, witnesses, arrests without charge).
POLICE_CONTACT_SHARE = 0.35
#: Share of participants, and of the pool, with an emergency-department attendance.
HEALTH_SHARE_PARTICIPANTS, HEALTH_SHARE_POOL = 0.3, 0.15

FILES = ("identified_participants.csv", "identified_police.csv", "identified_health.csv",
         "identified_police_offences.csv", "identified_truth.csv", "README_IDENTIFIED.md")
IDENTITY_COLUMNS = ["record_id", "first_name", "surname", "date_of_birth", "sex", "postcode"]
PART_IDENTIFIED = 7


def _stream(seed: int, k: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, PART_IDENTIFIED, k])))


def _names(locale: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Male and female given names, surnames and surname weights from one Faker locale."""
    try:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    except ImportError:
        raise SpecError("fake identities need Faker, which is not installed. Fix: install evalkit with its 'link' "
                        "extra (pip install 'evalkit[link]').") from None
    last = provider.last_names
    if isinstance(last, dict):
        surnames, weights = np.array(list(last), dtype=object), np.array(list(last.values()), dtype=float)
    else:
        surnames = np.array(list(dict.fromkeys(last)), dtype=object)
        weights = np.ones(len(surnames))
    male = np.array(list(dict.fromkeys(provider.first_names_male)), dtype=object)
    female = np.array(list(dict.fromkeys(provider.first_names_female)), dtype=object)
    return male, female, surnames, weights / weights.sum()


def fake_names(rng: np.random.Generator, sex: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                         np.ndarray]:
    """Given names and surnames (from Faker's lists, by ethnic group and sex) and each name's locale."""
    n = len(sex)
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    locale = np.empty(n, dtype=object)
    u = rng.random(n)
    for g in sorted(set(group.tolist()) | {"white"}):
        mask = group == g
        table = LOCALES_BY_GROUP.get(g, {"en_GB": 1.0})
        edges = np.cumsum(list(table.values()))
        locale[mask] = np.array(list(table), dtype=object)[np.minimum(np.searchsorted(edges, u[mask] * edges[-1],
                                                                                      side="right"), len(edges) - 1)]
    female_draw = np.where(np.isin(sex, ["male", "female"]), sex == "female", rng.random(n) < 0.5)
    for loc in sorted(set(locale.tolist())):
        male, female, surnames, weights = _names(loc)
        for is_female, names in ((False, male), (True, female)):
            mask = (locale == loc) & (female_draw == is_female)
            first[mask] = names[rng.integers(0, len(names), int(mask.sum()))]
        mask = locale == loc
        last[mask] = surnames[rng.choice(len(surnames), size=int(mask.sum()), p=weights)]
    return first, last, locale


def fake_postcodes(rng: np.random.Generator, locality: np.ndarray) -> np.ndarray:
    """Postcodes shaped like each locality's districts (made up, e.g. ``NG7 2QX``)."""
    out = np.empty(len(locality), dtype=object)
    every = sorted({d for ds in POSTCODE_DISTRICTS.values() for d in ds})
    for loc in sorted(set(locality.tolist()), key=str):
        mask = locality == loc
        districts = np.array(POSTCODE_DISTRICTS.get(loc, every), dtype=object)
        m = int(mask.sum())
        d = districts[rng.integers(0, len(districts), m)]
        sector = rng.integers(1, 10, m)
        unit = _UNIT_LETTERS[rng.integers(0, len(_UNIT_LETTERS), (m, 2))]
        out[mask] = [f"{a} {s}{u[0]}{u[1]}" for a, s, u in zip(d, sector, unit, strict=True)]
    return out


def _typo(rng: np.random.Generator, word: str) -> str:
    """One keying error: substitute, delete, insert or swap neighbouring letters (never the first letter)."""
    if len(word) < 3:
        return word + str(_LETTERS[rng.integers(0, 26)])
    kind = int(rng.integers(0, 4))
    i = int(rng.integers(1, len(word) - 1))
    letter = str(_LETTERS[rng.integers(0, 26)])
    if kind == 0:
        if letter == word[i].lower():
            letter = "e" if letter != "e" else "a"
        return word[:i] + letter + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + letter + word[i:]
    if word[i] == word[i + 1]:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def _moved(rng: np.random.Generator, postcode: str) -> str:
    """An earlier address's postcode: mostly the same district, sometimes a neighbouring one."""
    district = postcode.split(" ")[0]
    if rng.random() < 0.3:
        every = sorted({d for ds in POSTCODE_DISTRICTS.values() for d in ds})
        district = str(every[rng.integers(0, len(every))])
    while True:
        new = (f"{district} {int(rng.integers(1, 10))}{_UNIT_LETTERS[rng.integers(0, 20)]}"
               f"{_UNIT_LETTERS[rng.integers(0, 20)]}")
        if new != postcode:
            return new


def add_errors(rng: np.random.Generator, frame: pd.DataFrame, rates: dict[str, float],
               locale: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """A copy of ``frame`` (first_name, surname, date_of_birth as date, postcode) with recording errors.

    Returns the copy and, per row, the errors made (``;``-separated, in a fixed order).
    """
    out = frame.copy()
    n = len(out)
    made: list[list[str]] = [[] for _ in range(n)]
    factor = np.where(locale == "en_GB", 1.0, NAME_ERROR_FACTOR)
    draws = {name: rng.random(n) for name in PROVIDER_ERRORS}  # always every draw: rates do not shift streams
    first = out["first_name"].to_numpy(dtype=object).copy()
    last = out["surname"].to_numpy(dtype=object).copy()
    dob = out["date_of_birth"].to_numpy(dtype=object).copy()
    post = out["postcode"].to_numpy(dtype=object).copy()
    for i in range(n):
        lower = str(first[i]).lower()
        if draws["nickname"][i] < rates.get("nickname", 0) and lower in NICKNAMES:
            nicks = NICKNAMES[lower]
            first[i] = nicks[int(rng.integers(0, len(nicks)))].capitalize()
            made[i].append("nickname")
        if draws["first_name_typo"][i] < rates.get("first_name_typo", 0) * factor[i]:
            first[i] = _typo(rng, str(first[i]))
            made[i].append("first_name_typo")
        if draws["surname_typo"][i] < rates.get("surname_typo", 0) * factor[i]:
            last[i] = _typo(rng, str(last[i]))
            made[i].append("surname_typo")
        d: date = dob[i]
        if draws["day_month_swapped"][i] < rates.get("day_month_swapped", 0) and d.day <= 12 and d.day != d.month:
            dob[i] = date(d.year, d.day, d.month)
            made[i].append("day_month_swapped")
        elif draws["day_of_birth_typo"][i] < rates.get("day_of_birth_typo", 0):
            # one wrong digit of the day, still a real date (e.g. 13 -> 18, 21 -> 27)
            tens, units = divmod(d.day, 10)
            for _ in range(20):
                new_units = int(rng.integers(0, 10))
                day = tens * 10 + new_units
                if new_units != units and 1 <= day <= 28:
                    dob[i] = date(d.year, d.month, day)
                    made[i].append("day_of_birth_typo")
                    break
        if draws["missing_postcode"][i] < rates.get("missing_postcode", 0):
            post[i] = None
            made[i].append("missing_postcode")
        elif draws["moved_postcode"][i] < rates.get("moved_postcode", 0):
            post[i] = _moved(rng, str(post[i]))
            made[i].append("moved_postcode")
    out["first_name"], out["surname"], out["date_of_birth"], out["postcode"] = first, last, dob, post
    return out, np.array([";".join(m) for m in made], dtype=object)


def _people(world_tables: dict[str, pd.DataFrame], rng: np.random.Generator, n_extra: int) -> pd.DataFrame:
    """Every person of the world once (participants, pool, then extra people): sex, group, locality, birth date."""
    part = world_tables["participants"]
    pool = world_tables["comparison_pool"]
    cols = ["person_id", "sex", "ethnicity_group", "locality", "date_of_birth"]
    p = part.drop_duplicates("person_id")
    p_dob = _complete_dob(rng, p["date_of_birth"], p["start_date"], p["age_at_start"])
    q_dob = _complete_dob(rng, pool["date_of_birth"], pool["index_date"], pool["age_at_index"])
    people = pd.concat([p.assign(date_of_birth=p_dob)[cols], pool.assign(date_of_birth=q_dob)[cols]],
                       ignore_index=True).drop_duplicates("person_id")
    localities = np.array(sorted(POSTCODE_DISTRICTS), dtype=object)
    ages = rng.integers(10, 30, n_extra)
    index = np.full(n_extra, np.datetime64("2021-01-01", "D"))
    extra = pd.DataFrame({
        "person_id": [f"X{k:07d}" for k in range(n_extra)],
        "sex": np.where(rng.random(n_extra) < 0.6, "male", "female"),
        "ethnicity_group": np.array(["white", "asian", "black", "mixed", "other"], dtype=object)[
            rng.choice(5, n_extra, p=[0.75, 0.1, 0.07, 0.05, 0.03])],
        "locality": localities[rng.integers(0, len(localities), n_extra)],
        "date_of_birth": [pd.Timestamp(d).date() for d in dates_of_birth(rng, index, ages)],
    })
    return pd.concat([people, extra], ignore_index=True)


def _complete_dob(rng: np.random.Generator, dob: pd.Series, when: pd.Series, age: pd.Series) -> list[date]:
    """Dates of birth as ``date``; where only an age is known, a date giving that age on ``when``."""
    missing = dob.isna().to_numpy()
    drawn = dates_of_birth(rng, when.to_numpy().astype("datetime64[D]")[missing],
                           age.to_numpy(dtype=float, na_value=16)[missing].astype(int))
    out = [None if pd.isna(d) else pd.Timestamp(d).date() for d in dob]
    for k, i in enumerate(np.flatnonzero(missing)):
        out[i] = pd.Timestamp(drawn[k]).date()
    return out


def _extract(rng: np.random.Generator, people: pd.DataFrame, who: np.ndarray, prefix: str, rates: dict[str, float],
             digits: int = 8) -> tuple[pd.DataFrame, dict[str, str]]:
    """An extract of the people in ``who`` (boolean mask), shuffled, with its own ids and errors.

    Returns the extract and a map from the world's person_id to the extract's record_id.
    """
    chosen = people[who].reset_index(drop=True)
    order = rng.permutation(len(chosen))
    chosen = chosen.iloc[order].reset_index(drop=True)
    ids = rng.choice(10 ** digits, size=len(chosen), replace=False)
    chosen["record_id"] = [f"{prefix}{v:0{digits}d}" for v in ids]
    shown, _ = add_errors(rng, chosen, rates, chosen["locale"].to_numpy())
    sex = shown["sex"].where(shown["sex"].isin(["male", "female"]), "not_known")
    frame = shown.assign(sex=sex)[IDENTITY_COLUMNS]
    return frame, dict(zip(chosen["person_id"], chosen["record_id"], strict=True))


@dataclass(frozen=True)
class IdentifiedSummary(ResultMixin):
    """What :func:`generate_identified` wrote (counts only)."""

    out: str
    seed: int
    participant_records: int
    police_records: int
    health_records: int
    true_police_links: int
    true_health_links: int
    seconds: float
    title: str = "Synthetic identified data (fake people)"

    def _rows(self) -> list[dict]:
        return [{"file": "identified_participants.csv", "records": self.participant_records,
                 "true links": f"{self.true_police_links} police, {self.true_health_links} health"},
                {"file": "identified_police.csv", "records": self.police_records, "true links": ""},
                {"file": "identified_health.csv", "records": self.health_records, "true links": ""}]

    def __str__(self) -> str:
        return (f"wrote fake identified files to {self.out} (seed {self.seed}): {self.participant_records:,} provider "
                f"records, {self.police_records:,} police records ({self.true_police_links:,} true links), "
                f"{self.health_records:,} health records ({self.true_health_links:,} true links) in "
                f"{self.seconds:.1f} s. These files hold (fake) names and dates of birth: do not mix them with "
                "real data or ship them.")


def identified_tables(seed: int, world_tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The identified layer's tables (name -> frame) for a simulated world's tables.

    Built from the young people who started (and their offences): referrals that never started are left out,
    so the identified layer is the same with or without them in the world."""
    part = world_tables["participants"]
    never = set(part.loc[part["start_date"].isna(), "person_id"])
    if never:
        offences = world_tables["offences"]
        world_tables = {**world_tables, "participants": part.loc[part["start_date"].notna()],
                        "offences": offences.loc[~offences["person_id"].isin(never)]}
    rng = _stream(seed, 0)
    people = _people(world_tables, rng, EXTRA_POLICE + EXTRA_HEALTH)
    first, last, locale = fake_names(rng, people["sex"].to_numpy(dtype=object),
                                     people["ethnicity_group"].fillna("white").to_numpy(dtype=object))
    people = people.assign(first_name=first, surname=last, locale=locale,
                           postcode=fake_postcodes(rng, people["locality"].fillna("").to_numpy(dtype=object)))
    part = world_tables["participants"]
    offenders = set(world_tables["offences"]["person_id"])
    pool_ids = set(world_tables["comparison_pool"]["person_id"])
    part_ids = set(part["person_id"])
    ids = people["person_id"]
    pid = ids.to_numpy(dtype=object)
    is_part = ids.isin(part_ids).to_numpy()  # hashed look-ups (np.isin on objects compares every pair)
    extra_police = np.array([p.startswith("X") and int(p[1:]) < EXTRA_POLICE for p in pid])
    extra_health = np.array([p.startswith("X") and int(p[1:]) >= EXTRA_POLICE for p in pid])
    in_police = (ids.isin(offenders | pool_ids).to_numpy() | extra_police
                 | (is_part & (rng.random(len(pid)) < POLICE_CONTACT_SHARE)))
    in_health = (extra_health | (is_part & (rng.random(len(pid)) < HEALTH_SHARE_PARTICIPANTS))
                 | (ids.isin(pool_ids).to_numpy() & (rng.random(len(pid)) < HEALTH_SHARE_POOL)))
    police, police_id = _extract(_stream(seed, 1), people, in_police, "NP", POLICE_ERRORS)
    health, health_id = _extract(_stream(seed, 2), people, in_health, "ED", HEALTH_ERRORS, digits=9)

    # provider records: one per participants row, each provider's own running number
    rng_p = _stream(seed, 3)
    ident = people.set_index("person_id").loc[part["person_id"]].reset_index()
    ident["record_id"] = [f"{iid}-{k:04d}" for iid, k in zip(part["intervention_id"],
                                                               part.groupby("intervention_id").cumcount() + 1,
                                                               strict=True)]
    shown, errors = add_errors(rng_p, ident, PROVIDER_ERRORS, ident["locale"].to_numpy())
    rest = [c for c in part.columns if c not in ("person_id", "date_of_birth", "age_at_start")]
    returns = pd.concat([shown[["record_id", "first_name", "surname", "date_of_birth", "postcode"]],
                         part[rest].reset_index(drop=True)], axis=1)
    providers = world_tables["interventions"].set_index("intervention_id")["provider"]
    returns["provider"] = returns["intervention_id"].map(providers).to_numpy()
    returns = returns[["record_id", "intervention_id", "provider", "first_name", "surname", "date_of_birth", "sex", "postcode",
                       *[c for c in rest if c not in ("intervention_id", "sex")]]]
    truth = pd.DataFrame({"record_id": shown["record_id"],
                          "police_id": [police_id.get(p, "") for p in part["person_id"]],
                          "health_id": [health_id.get(p, "") for p in part["person_id"]],
                          "errors": errors})
    offences = world_tables["offences"].assign(person_id=lambda f: f["person_id"].map(police_id))
    offences = offences.sort_values(["person_id", "offence_date", "offence_group", "outcome"], kind="mergesort")
    return {"identified_participants.csv": returns, "identified_police.csv": police,
            "identified_health.csv": health, "identified_police_offences.csv": offences,
            "identified_truth.csv": truth}


def _readme(seed: int, tables: dict[str, pd.DataFrame]) -> str:
    rates = pd.DataFrame({"provider returns": PROVIDER_ERRORS, "police extract": POLICE_ERRORS,
                          "health extract": HEALTH_ERRORS})
    lines = "\n".join(f"| {k.replace('_', ' ')} | " + " | ".join(f"{v:.1%}" for v in row) + " |"
                      for k, row in rates.iterrows())
    return (f"# IDENTIFIED SYNTHETIC DATA: FAKE PEOPLE (seed {seed})\n\n"
            "These files hold made-up names, dates of birth and postcodes for the people of evalkit's synthetic "
            "world, to test record linkage (`evalkit link`). No real person is described. They are **not** the "
            "demo data and must never be mixed with real data.\n\n"
            "| recording error | provider returns | police extract | health extract |\n|---|---|---|---|\n"
            f"{lines}\n\nName typos are {NAME_ERROR_FACTOR} times as common for names from the non-English name "
            "lists. `identified_truth.csv` gives each provider record's true police and health record (blank: not "
            "in that extract) and the errors made in it.\n")


def generate_identified(*, seed: int, out: Path) -> IdentifiedSummary:
    """Write the identified layer for the synthetic world of ``seed`` into folder ``out`` (see module docstring)."""
    from evalkit.synth.world import simulate

    t0 = time.perf_counter()
    out = Path(out)
    check_out_folder(out, set(FILES))
    tables = identified_tables(int(seed), simulate(int(seed)).tables)
    texts = {name: frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")
             for name, frame in tables.items()}
    texts["README_IDENTIFIED.md"] = _readme(int(seed), tables)
    write_atomically(out, texts, set(FILES))
    truth = tables["identified_truth.csv"]
    return IdentifiedSummary(str(out), int(seed), len(tables["identified_participants.csv"]),
                             len(tables["identified_police.csv"]), len(tables["identified_health.csv"]),
                             int((truth["police_id"] != "").sum()), int((truth["health_id"] != "").sum()),
                             round(time.perf_counter() - t0, 2))


__all__ = ["generate_identified", "identified_tables", "add_errors", "fake_names", "fake_postcodes",
           "IdentifiedSummary", "PROVIDER_ERRORS", "POLICE_ERRORS", "HEALTH_ERRORS", "FILES"]
