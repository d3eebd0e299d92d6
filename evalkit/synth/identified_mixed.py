"""A second synthetic identified layer, shaped unlike the first: a mixed-origin register with its own errors.

:mod:`evalkit.synth.identified` builds its people from the synthetic world and
makes the errors linkage was designed around. This module shares none of its
code (nor the linkage code's name tables): it draws its own people and corrupts
two files of them by a different model, so a linkage method tuned on the first
layer is tested on data it was not built on:

- names from a dozen Faker locales (``faker.providers.person``): English and
  Irish (``O'Neill``, ``McAllister``), Spanish and Portuguese (accents, two
  surnames), French and German (accents, umlauts, ``ß``), Turkish, Vietnamese,
  Polish; Russian, Ukrainian and Greek in their own scripts; Chinese in Han
  characters;
- a provider file (``left``) that often keeps a name as the person wrote it
  (accents, Cyrillic, Greek, Han characters), and an extract (``right``) from
  an ASCII-only system: accents stripped or spelt out (``ü`` → ``ue``), other
  scripts romanised by this module's own tables (passport-style: ``Юлия`` →
  ``Yuliya``; Han characters by Unidecode's pinyin, the one borrowed table);
- first name and surname swapped; one part of a double-barrelled or two-part
  surname; hyphen or space between parts; a first name given as an initial;
  a nickname (this module's own short list); typos and transpositions at
  rates unlike the first layer's, including the first letter and sound-alike
  spellings (``ph``/``f``, ``y``/``i``, doubled letters);
- impossible dates of birth (31 February, month 13, day 0), day and month
  swapped, a wrong digit of the year, a day out by one, missing dates;
- UK postcodes (own made-up districts across the country), moves, the
  outward code only, missing postcodes, and people living abroad with
  foreign postcodes (``75011``, ``28013``, ``D02 X285``);
- siblings (same surname and address, different given name and birth date),
  and provider records duplicated within the file (two records, errors drawn
  independently).

Everything is drawn from numpy's seeded PCG64 generator: the same seed gives
the same records for a given Faker release. Every name is fake.
"""

from __future__ import annotations

import importlib
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

#: Locales and their shares of the register.
LOCALES: dict[str, float] = {
    "en_GB": 0.38, "en_IE": 0.08, "es_ES": 0.08, "pt_PT": 0.04, "fr_FR": 0.05, "de_DE": 0.04, "tr_TR": 0.05,
    "vi_VN": 0.03, "pl_PL": 0.03, "ru_RU": 0.07, "uk_UA": 0.04, "el_GR": 0.04, "zh_CN": 0.07,
}
#: Locales whose names are written in another script (romanised in the ASCII extract).
NON_LATIN = ("ru_RU", "uk_UA", "el_GR", "zh_CN")
#: Locales with two surnames as a rule (paternal and maternal).
TWO_SURNAMES = ("es_ES", "pt_PT")

#: Recording errors of the provider file (``left``) and the extract (``right``): independent draws.
LEFT_ERRORS: dict[str, float] = {
    "names_swapped": 0.05, "one_surname_part": 0.30, "initial_only": 0.03, "nickname": 0.10,
    "first_name_typo": 0.07, "surname_typo": 0.09, "impossible_dob": 0.015, "day_month_swapped": 0.03,
    "year_typo": 0.02, "day_off_by_one": 0.02, "missing_dob": 0.02, "moved": 0.12, "outward_only": 0.05,
    "missing_postcode": 0.06, "keeps_script": 0.7, "keeps_accents": 0.8, "missing_town": 0.2,
}
RIGHT_ERRORS: dict[str, float] = {
    "names_swapped": 0.015, "one_surname_part": 0.15, "initial_only": 0.0, "nickname": 0.03,
    "first_name_typo": 0.03, "surname_typo": 0.03, "impossible_dob": 0.003, "day_month_swapped": 0.01,
    "year_typo": 0.005, "day_off_by_one": 0.005, "missing_dob": 0.005, "moved": 0.05, "outward_only": 0.01,
    "missing_postcode": 0.02, "keeps_script": 0.0, "keeps_accents": 0.0, "missing_town": 0.1,
}
#: Share of people living abroad (a foreign postcode in both files), with a sibling, and recorded twice by
#: the provider.
ABROAD, SIBLINGS, DUPLICATED = 0.04, 0.10, 0.04

#: This module's own nicknames (deliberately not the linkage code's table; some overlap, some not).
_NICKS: dict[str, tuple[str, ...]] = {
    "alfred": ("alfie",), "archibald": ("archie",), "francis": ("frank",), "harold": ("harry",),
    "leonard": ("lenny", "leo"), "elizabeth": ("betty", "liz"), "margaret": ("margo", "meg"),
    "william": ("bill", "will"), "robert": ("bob", "rob"), "james": ("jim", "jamie"), "thomas": ("tom",),
    "katherine": ("kate",), "catherine": ("cathy",), "daniel": ("danny",), "michael": ("mick",),
    "francisco": ("paco",), "josé": ("pepe",), "alejandro": ("alex",), "dolores": ("lola",),
    "александр": ("саша",), "дмитрий": ("дима",), "мария": ("маша",), "елена": ("лена",),
    "patrick": ("paddy",), "seán": ("shaun",), "siobhán": ("shiv",),
}
#: Made-up UK outward codes across the country, by town (own list, not the demo world's districts).
_UK_DISTRICTS: dict[str, tuple[str, ...]] = {
    "Birmingham": ("B5", "B11", "B12", "B19", "B23"), "Manchester": ("M8", "M13", "M14", "M16", "M40"),
    "Leeds": ("LS6", "LS7", "LS8", "LS9"), "London": ("E1", "E17", "N15", "SE15", "SW9", "NW10", "W12"),
    "Bristol": ("BS2", "BS5", "BS13"), "Glasgow": ("G3", "G21", "G31"), "Cardiff": ("CF10", "CF24", "CF5"),
    "Leicester": ("LE1", "LE2", "LE5"), "Sheffield": ("S1", "S2", "S8"), "Liverpool": ("L4", "L8", "L15"),
}
_FOREIGN = ("75011", "75018", "28013", "08001", "10115", "1010", "00-950", "D02 X285", "1000-001", "34000",
            "100000", "10001", "H3Z 2Y7", "2000")
_UNIT = "ABDEFGHJLNPQRSTUWXYZ"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_SOUNDALIKE = (("ph", "f"), ("f", "ph"), ("y", "i"), ("i", "y"), ("ck", "k"), ("k", "c"), ("ll", "l"),
               ("nn", "n"), ("ie", "y"), ("ou", "u"))

#: Passport-style romanisation (own tables).
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
                      "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "i", "yi", "ye",
                      "g"], strict=True))
_GREEK = dict(zip("αβγδεζηθικλμνξοπρσςτυφχψω",
                  ["a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x", "o", "p", "r", "s", "s",
                   "t", "y", "f", "ch", "ps", "o"], strict=True))
_SPELT_OUT = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ø": "oe", "æ": "ae"}
_NO_DECOMPOSITION = {"ł": "l", "ı": "i", "đ": "d", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe"}


def _strip_accents(text: str, spell_out: bool) -> str:
    """An ASCII-only system's version: umlauts spelt out (``ue``) or dropped to the base letter."""
    out = []
    for ch in text:
        low = ch.lower()
        rep = _SPELT_OUT.get(low) if spell_out else None
        if rep is None:
            rep = _NO_DECOMPOSITION.get(low)
        if rep is None:
            rep = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        elif ch != low:
            rep = rep.capitalize()
        out.append(rep)
    return "".join(c for c in "".join(out) if c.isascii())


def romanise(text: str, locale: str) -> str:
    """A name in another script as an ASCII-only system records it (own tables; Han characters as pinyin)."""
    if locale == "zh_CN":
        from unidecode import unidecode  # the one borrowed table: pinyin of Han characters

        return " ".join(unidecode(text).split()).title()
    table = _GREEK if locale == "el_GR" else _CYRILLIC
    base = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    out = "".join(table.get(c.lower(), c) if c.isalpha() else c for c in base)
    return out.title()


def _names(locale: str) -> dict[str, np.ndarray]:
    p = importlib.import_module(f"faker.providers.person.{locale}").Provider

    def arr(values: object) -> np.ndarray:
        return np.array(list(dict.fromkeys(values)), dtype=object)  # type: ignore[call-overload]

    out = {"male": arr(p.first_names_male), "female": arr(p.first_names_female)}
    if hasattr(p, "last_names_male") and hasattr(p, "last_names_female"):
        out["last_male"], out["last_female"] = arr(p.last_names_male), arr(p.last_names_female)
    else:
        last = [s for s in (p.last_names if not isinstance(p.last_names, dict) else list(p.last_names))
                if s != "Doe"]
        if len(last) < 20:  # pl_PL lists one surname: Polish surnames with Polish letters, made up here
            last = ["Łukasiewicz", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
                    "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Kwiatkowski",
                    "Krawczyk", "Piotrowski", "Grabowski", "Nowakowski", "Pawłowski", "Michalski", "Król",
                    "Wieczorek", "Jabłoński", "Wróbel", "Nowak", "Majewski", "Olszewski", "Stępień", "Jaworski",
                    "Malinowski"]
        out["last_male"] = out["last_female"] = arr(last)
    return out


@dataclass(frozen=True)
class MixedLayer:
    """Two identified files of one register and their true links.

    Attributes
    ----------
    left, right
        The provider file and the extract: ``record_id``, ``first_name``, ``surname``, ``date_of_birth``,
        ``sex``, ``postcode``, ``town``; ``left`` also ``ethnicity_group`` (here: the name's locale).
    truth
        One row per left record: ``record_id``, ``right_id`` (blank: not in the extract), ``person``,
        ``errors`` (``;``-separated).
    """

    left: pd.DataFrame
    right: pd.DataFrame
    truth: pd.DataFrame

    def true_pairs(self) -> set[tuple[str, str]]:
        """(left record_id, right record_id) of every true link."""
        t = self.truth[self.truth["right_id"] != ""]
        return set(zip(t["record_id"], t["right_id"], strict=True))


def _person_table(rng: np.random.Generator, n: int) -> pd.DataFrame:
    locales = np.array(list(LOCALES), dtype=object)
    loc = locales[rng.choice(len(locales), n, p=np.array(list(LOCALES.values())) / sum(LOCALES.values()))]
    sex = np.where(rng.random(n) < 0.55, "male", "female")
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    for lo in sorted(set(loc.tolist())):
        names = _names(lo)
        for s in ("male", "female"):
            m = (loc == lo) & (sex == s)
            k = int(m.sum())
            first[m] = names[s][rng.integers(0, len(names[s]), k)]
            pool = names[f"last_{s}"]
            one = pool[rng.integers(0, len(pool), k)]
            if lo in TWO_SURNAMES:
                two = pool[rng.integers(0, len(pool), k)]
                one = np.array([f"{a} {b}" for a, b in zip(one, two, strict=True)], dtype=object)
            elif lo in ("en_GB", "en_IE"):
                hyph = rng.random(k) < 0.06
                two = pool[rng.integers(0, len(pool), k)]
                one = np.array([f"{a}-{b}" if h else a for a, b, h in zip(one, two, hyph, strict=True)],
                               dtype=object)
            last[m] = one
    born = date(1995, 1, 1) + np.array([timedelta(days=int(d)) for d in rng.integers(0, 365 * 16, n)])
    towns = np.array(list(_UK_DISTRICTS), dtype=object)
    town = towns[rng.integers(0, len(towns), n)]
    post = np.array([_postcode(rng, str(t)) for t in town], dtype=object)
    abroad = rng.random(n) < ABROAD
    post[abroad] = np.array(_FOREIGN, dtype=object)[rng.integers(0, len(_FOREIGN), int(abroad.sum()))]
    town[abroad] = np.array(["Paris", "Madrid", "Berlin", "Warsaw", "Dublin", "Lisbon"],
                            dtype=object)[rng.integers(0, 6, int(abroad.sum()))]
    people = pd.DataFrame({"person": [f"Q{i:06d}" for i in range(n)], "locale": loc, "sex": sex,
                           "first_name": first, "surname": last, "dob": born, "postcode": post, "town": town,
                           "abroad": abroad})
    # siblings: the next person shares surname, address and locale (names drawn afresh otherwise)
    sib = np.flatnonzero(rng.random(n - 1) < SIBLINGS)
    for i in sib:
        for col in ("surname", "postcode", "town", "locale", "abroad"):
            people.at[i + 1, col] = people.at[i, col]
        if people.at[i + 1, "first_name"] == people.at[i, "first_name"]:
            people.at[i + 1, "first_name"] = str(people.at[i, "first_name"]) + "a"
    return people


def _postcode(rng: np.random.Generator, town: str) -> str:
    ds = _UK_DISTRICTS[town]
    d = ds[int(rng.integers(0, len(ds)))]
    return f"{d} {int(rng.integers(1, 10))}{_UNIT[int(rng.integers(0, 20))]}{_UNIT[int(rng.integers(0, 20))]}"


def _typo(rng: np.random.Generator, word: str) -> str:
    """A keying or spelling error: sound-alike spelling, transposition, deletion, insertion or substitution
    (the first letter too, one time in five)."""
    if len(word) < 2:
        return word
    low = word.lower()
    if rng.random() < 0.25:
        for a, b in (_SOUNDALIKE[i] for i in rng.permutation(len(_SOUNDALIKE))):
            at = low.find(a, 1)
            if at > 0:
                return word[:at] + b + word[at + len(a):]
    i = 0 if rng.random() < 0.2 else int(rng.integers(1, len(word)))
    kind = int(rng.integers(0, 4))
    c = _LETTERS[int(rng.integers(0, 26))]
    if kind == 0 and i + 1 < len(word) and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1 and len(word) > 3:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + c + word[i:]
    new = c if c != low[i] else ("e" if c != "e" else "a")
    new = new.upper() if word[i].isupper() else new
    return word[:i] + new + word[i + 1:]


def _dob_text(rng: np.random.Generator, d: date, rates: dict[str, float], made: list[str]) -> str:
    u = rng.random(5)
    if u[0] < rates["missing_dob"]:
        made.append("missing_dob")
        return ""
    if u[1] < rates["impossible_dob"]:
        made.append("impossible_dob")
        kind = int(rng.integers(0, 3))
        if kind == 0:
            return f"{d.year}-02-{int(rng.integers(30, 32)):02d}"
        if kind == 1:
            return f"{d.year}-13-{d.day:02d}"
        return f"{d.year}-{d.month:02d}-00"
    if u[2] < rates["day_month_swapped"] and d.day <= 12 and d.day != d.month:
        made.append("day_month_swapped")
        d = date(d.year, d.day, d.month)
    elif u[3] < rates["year_typo"]:
        made.append("year_typo")
        y = d.year + int(rng.choice([-10, -1, 1, 10]))
        d = date(y, d.month, min(d.day, 28))
    elif u[4] < rates["day_off_by_one"]:
        made.append("day_off_by_one")
        d = d + timedelta(days=int(rng.choice([-1, 1])))
    # written either way round, as different systems do
    return d.strftime("%d/%m/%Y") if rng.random() < 0.5 else d.isoformat()


def _record(rng: np.random.Generator, p: pd.Series, rates: dict[str, float], record_id: str) -> tuple[dict, str]:
    made: list[str] = []
    first, last, loc = str(p["first_name"]), str(p["surname"]), str(p["locale"])
    u = rng.random(12)
    if u[0] < rates["nickname"] and first.lower() in _NICKS:
        nicks = _NICKS[first.lower()]
        first = nicks[int(rng.integers(0, len(nicks)))].capitalize()
        made.append("nickname")
    parts = last.replace("-", " ").split()
    if len(parts) > 1:
        if u[1] < rates["one_surname_part"]:
            last = parts[0] if rng.random() < 0.6 else parts[-1]
            made.append("one_surname_part")
        elif rng.random() < 0.3:
            last = ("-" if " " in last else " ").join(parts)  # hyphen for space, or space for hyphen
    if loc in NON_LATIN:
        if u[2] >= rates["keeps_script"]:
            first, last = romanise(first, loc), romanise(last, loc)
            made.append("romanised")
    elif u[3] >= rates["keeps_accents"]:
        spell = rng.random() < 0.5
        first, last = _strip_accents(first, spell) or first, _strip_accents(last, spell) or last
    if first.isascii() and u[4] < rates["first_name_typo"]:
        first = _typo(rng, first)
        made.append("first_name_typo")
    if last.isascii() and u[5] < rates["surname_typo"]:
        last = _typo(rng, last)
        made.append("surname_typo")
    if u[6] < rates["initial_only"] and first:
        first = first[0]
        made.append("initial_only")
    if u[7] < rates["names_swapped"]:
        first, last = last, first
        made.append("names_swapped")
    dob = _dob_text(rng, p["dob"], rates, made)
    post = str(p["postcode"])
    if u[8] < rates["missing_postcode"]:
        post = ""
        made.append("missing_postcode")
    elif not p["abroad"] and u[9] < rates["moved"]:
        town = str(p["town"]) if rng.random() < 0.6 else list(_UK_DISTRICTS)[int(rng.integers(0, 10))]
        post = _postcode(rng, town)
        made.append("moved")
    elif not p["abroad"] and u[10] < rates["outward_only"]:
        post = post.split(" ")[0]
        made.append("outward_only")
    if post and rng.random() < 0.3:
        post = post.replace(" ", "").lower()
    town = "" if u[11] < rates["missing_town"] else str(p["town"])
    return ({"record_id": record_id, "first_name": first, "surname": last, "date_of_birth": dob,
             "sex": p["sex"], "postcode": post, "town": town}, ";".join(made))


def mixed_layer(n_left: int = 1500, n_right: int = 2000, *, overlap: float = 0.8, seed: int = 2025) -> MixedLayer:
    """A provider file of ``n_left`` people (plus within-file duplicates) and an extract of ``n_right`` records,
    ``overlap`` of the provider's people being in the extract.

    Parameters
    ----------
    n_left, n_right
        People in the provider file (each once, some twice) and records in the extract.
    overlap
        Share of the provider's people who are in the extract.
    seed
        Seed of numpy's PCG64 generator.
    """
    if not 0 <= overlap <= 1 or n_right < overlap * n_left:
        raise ValueError("overlap must be in [0, 1] and the extract must hold the overlapping people")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 25])))
    n_common = int(round(overlap * n_left))
    people = _person_table(rng, n_left + n_right - n_common)
    left_people = people.iloc[:n_left]
    right_people = people.iloc[n_left - n_common:]
    # the extract's ids are its own running numbers, in shuffled order
    r_order = rng.permutation(len(right_people))
    right_rows: list[dict] = []
    right_id: dict[str, str] = {}
    for k, j in enumerate(r_order):
        p = right_people.iloc[j]
        rid = f"X{k + 1:07d}"
        row, _ = _record(rng, p, RIGHT_ERRORS, rid)
        right_rows.append(row)
        right_id[p["person"]] = rid
    twice = set(np.flatnonzero(rng.random(n_left) < DUPLICATED).tolist())
    left_rows: list[dict] = []
    truth: list[dict] = []
    for i in range(n_left):
        p = left_people.iloc[i]
        for _copy in range(2 if i in twice else 1):
            rid = f"P{len(left_rows) + 1:06d}"
            row, made = _record(rng, p, LEFT_ERRORS, rid)
            row["ethnicity_group"] = p["locale"]
            left_rows.append(row)
            truth.append({"record_id": rid, "right_id": right_id.get(p["person"], ""), "person": p["person"],
                          "errors": made})
    left = pd.DataFrame(left_rows)
    order = rng.permutation(len(left))
    left = left.iloc[order].reset_index(drop=True)
    truth_frame = pd.DataFrame(truth).set_index("record_id").loc[left["record_id"]].reset_index()
    return MixedLayer(left, pd.DataFrame(right_rows), truth_frame)


__all__ = ["mixed_layer", "MixedLayer", "romanise", "LEFT_ERRORS", "RIGHT_ERRORS", "LOCALES"]
