"""The publication ledger's audit (evalkit.report.ledger), against an independent brute force.

The brute force enumerates every whole-number completion of a small ledger (each count 0..CAP) that agrees
with everything printed, by its own reading of the printed text (not the ledger's constraint builder), and
takes the smallest and largest value of each protected quantity. The audit's integer programmes must give
the same interval; and after :func:`audit`, every protected quantity's brute-force interval must satisfy
the rule.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from evalkit.report.ledger import (EXACT, HIDDEN, Ledger, Published, at_least, audit, between, bounds, protection,
                                   rounded, targets)

CAP = 24


def _mask(pub: Published, values: dict[str, np.ndarray]) -> np.ndarray:
    """Which completions (a grid of whole numbers per count) agree with the printed text of every entry, read
    from the text itself, and with the relations."""
    led = pub.ledger
    ok = np.ones(next(iter(values.values())).shape, dtype=bool)
    for k, x in led.entries.items():
        text = pub.text(k)
        if k in led.unpublished or text == "[c]":
            continue
        if x.kind == "count":
            v = values[k]
            if text.startswith("about "):
                r, base = int(text[6:].replace(",", "")), pub.form(k).base
                ok &= (r - base / 2 <= v) & (v < r + base / 2)
            elif text.startswith("at least "):
                ok &= v >= int(text[9:].replace(",", ""))
            else:
                ok &= v == int(text.replace(",", ""))
        elif x.kind == "share":
            b = values[x.base]
            with np.errstate(divide="ignore", invalid="ignore"):
                pct = np.where(b > 0, 100 * values[x.num] / np.maximum(b, 1), np.nan)
            ok &= np.abs(pct - float(text[:-1])) <= 0.5 * 10 ** -x.digits + 1e-9
        elif x.kind == "ratio":
            lo, hi = (float(t.strip("£").replace(",", "")) for t in text.split(" to "))
            with np.errstate(divide="ignore"):
                r = x.money / (x.factor * values[x.num])
            ok &= (lo <= r) & (r <= hi)
    for sub, sup in led.subsets:
        ok &= values[sub] <= values[sup]
    for total, parts, complete in led.partitions:
        s = sum(values[p] for p in parts)
        ok &= (s == values[total]) if complete else (s <= values[total])
    for a, b in led.equals:
        ok &= values[a] == values[b]
    return ok


def _brute(pub: Published, cap: int = CAP) -> dict[str, tuple[float, float]]:
    led = pub.ledger
    keys = [k for k, x in led.entries.items() if x.kind == "count"]
    grid = np.meshgrid(*[np.arange(cap + 1)] * len(keys), indexing="ij", sparse=False)
    values = dict(zip(keys, grid))
    ok = _mask(pub, values)
    out = {}
    for g in targets(led):
        v = sum(values[k] * c for k, c in g.coef)[ok]
        out[g.name] = (float(v.min()), float(v.max()))
    return out


def _flow(started: int, complete: int, matched: int, bands: tuple[int, int] | None = None) -> Ledger:
    led = Ledger(threshold=10)
    led.count("started", started, priority=3, forms=(EXACT, rounded(10)))
    led.count("complete", complete, priority=1)
    led.count("matched", matched, priority=4)
    led.subset("complete", "started")
    led.subset("matched", "complete")
    if bands:
        led.count("band0", bands[0])
        led.count("band1", bands[1])
        led.partition("complete", ["band0", "band1"])
    return led


def test_the_dose_bands_against_the_flow_are_caught():
    # INT17: 28 + 40 = 68 with complete follow-up, 67 matched: the one person not matched follows
    led = _flow(76, 68, 67, bands=(28, 40))
    everything = {k: EXACT for k in led.entries}
    found = bounds(led, everything)
    assert found["complete - matched"] == (1, 1, 1)
    pub = audit(led)
    assert pub.unsafe() == []
    # the matched sample (the result's) stays; something between it and the bands goes
    assert pub.text("matched") == "67"
    assert any(pub.hidden(k) for k in ("complete", "band0", "band1"))


def test_audit_intervals_equal_a_brute_force_enumeration():
    rng = random.Random(7)
    checked = 0
    for _ in range(6):
        c = rng.randint(8, 12)  # small enough that every reading of "about 20" lies inside the grid
        m = c - rng.randint(0, 5)
        s = c + rng.randint(0, 4)
        b0 = rng.randint(0, m)
        led = _flow(s, c, m, bands=(b0, c - b0))
        for forms in ({k: EXACT for k in led.entries}, audit(led).forms):
            pub = Published(led, forms, {})
            brute = _brute(pub)
            lp = bounds(led, forms)
            for name, (_, lo, hi) in lp.items():
                b_lo, b_hi = brute[name]
                assert lo == b_lo, (name, lo, b_lo)
                # the box caps the enumeration: an unbounded end shows as the cap
                assert hi == b_hi or (b_hi >= CAP - s and hi > b_hi), (name, hi, b_hi)
                checked += 1
        # and the audited publication is safe by the brute force's own intervals
        pub = audit(led)
        for name, (lo, hi) in _brute(pub).items():
            g = next(x for x in targets(led) if x.name == name)
            need_lo, need_hi = protection(g.value, 10)
            assert lo <= need_lo and (hi >= need_hi), (name, lo, hi, g.value, pub.forms)
    assert checked > 20


def test_a_share_with_its_base_gives_the_count_and_exact_matching_copies_it():
    # INT17 profile: 67 matched participants; female [c]; the matched comparison's 30% equals it (exact on sex)
    led = Ledger(threshold=10)
    led.count("n", 67, priority=4)
    led.count("female", 20, published=False)
    led.count("male", 43, published=False)
    led.share("share:female", "female", "n")
    led.share("share:male", "male", "n")
    led.partition("n", ["female", "male"], complete=False)  # 4 other or not known
    pub = audit(led)
    assert pub.unsafe() == []
    assert pub.hidden("share:female") or pub.hidden("share:male")
    # by hand: 30% of 67 is 19.77..20.44 (20), 64% of 67 is 42.55..43.22 (43): rest 67 - 63 = 4
    found = bounds(led, {k: EXACT for k in led.entries})
    assert found["n - (female + male)"] == (4, 4, 4)


def test_a_cost_per_outcome_is_published_as_a_range_when_exact_would_pin_the_count():
    # started 76 hidden because 67 were analysed (9 without follow-up): a cost per young person exact to the
    # pound gives 76 back; a range of £100 does not
    led = Ledger(threshold=10)
    led.count("started", 76, priority=3)
    led.count("matched", 67, priority=4)
    led.subset("matched", "started")
    led.ratio("cost per participant", 50_000, "started",
              forms=(EXACT, between(600, 700), between(500, 800)))
    pub = audit(led)
    assert pub.unsafe() == []
    assert pub.hidden("started")
    assert pub.text("cost per participant") in ("£600 to £700", "£500 to £800")


def test_rounding_before_suppression():
    # started 110, analysed 105: "about 110" leaves the 5 without follow-up anywhere in 0..14
    led = Ledger(threshold=10)
    led.count("started", 110, priority=3, forms=(EXACT, rounded(10), at_least(105)))
    led.count("n", 105, priority=4)
    led.subset("n", "started")
    pub = audit(led)
    assert pub.text("n") == "105" and pub.text("started") == "about 110"
    assert pub.unsafe() == []


def test_primary_suppression_and_nothing_else_when_nothing_links():
    led = Ledger(threshold=10)
    led.count("a", 4)
    led.count("b", 40)
    pub = audit(led)
    assert pub.hidden("a") and pub.text("b") == "40"
    assert pub.form("a") == HIDDEN


@pytest.mark.parametrize("order", [0, 1])
def test_order_of_registration_does_not_change_the_result(order):
    # 2 without follow-up, 6 not matched: with 60 and 52 printed the 6 would be known to be at most 8, so
    # "started" is rounded ("about 60": the two groups add up to anything from 3 to 12)
    keys = [("started", 60, 3), ("complete", 58, 1), ("matched", 52, 4)]
    led = Ledger(threshold=10)
    for k, v, p in (keys if order == 0 else keys[::-1]):
        led.count(k, v, priority=p, forms=(EXACT, rounded(10)))
    led.subset("complete", "started")
    led.subset("matched", "complete")
    pub = audit(led)
    assert {k: pub.text(k) for k in led.entries} == {"started": "about 60", "complete": "[c]", "matched": "52"}


def test_int17_cost_per_outcome_is_a_range_that_does_not_give_the_number_who_started_back():
    from evalkit.report.ledger import cost_per_outcome_text

    # INT17 (the only Expand): £50,000 a year, 70 started (withheld: 67 analysed), effect 15.7 points
    text = cost_per_outcome_text(50_000, (0.157, 0.30, 0.02), 70, 67)
    assert text.startswith("£4,000 to £5,000")
    # by enumeration: every number who started (at least the 67 analysed) that fits the printed range
    lo, hi = (float(x.strip("£").replace(",", "")) for x in text.split(" (")[0].split(" to "))
    fits = [n for n in range(67, 1000) if lo <= 50_000 / (n * 0.157) <= hi]
    rest = [n - 67 for n in fits]
    assert min(rest) <= 1 and max(rest) >= 8  # the 3 without an outcome could be anything from 0 to 8+
    # to the pound, the figure would have given it back
    assert [n for n in range(67, 1000) if round(50_000 / (n * 0.157)) == round(50_000 / (70 * 0.157))] == [70]
