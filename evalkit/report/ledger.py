"""The publication ledger: every number a report prints about people, with what it counts, audited together.

A report prints counts of young people (the participation flow, each result's sample, the profile's group
sizes, the dose bands, the subgroups), shares with a known base (the profile's percentages), and money
divided by a count (cost per young person, cost per outcome). A reader combines all of them. The ledger
holds each of these numbers once, as an :class:`Entry`, with the relations between them:

* :meth:`Ledger.subset`: one group is part of another (matched within complete follow-up within started);
  the people in the larger group but not the smaller are a group too, and are protected like a count;
* :meth:`Ledger.partition`: groups that add up to a total (dose bands, subgroups, categories of sex);
* :meth:`Ledger.share`: a percentage of a base (the share of participants who are female);
* :meth:`Ledger.equal`: two counts known to be equal (exact matching copies a share; the same people
  counted in two places);
* :meth:`Ledger.ratio`: an amount of money divided by a count times a known factor (cost per outcome:
  cost / (participants x effect)).

:func:`audit` is the one checker. Every count of people whose true value is 1 to ``threshold - 1``, and
every group between two nested counts of that size, is a *protected* quantity. For each, two integer
linear programmes (scipy's HiGHS, :func:`scipy.optimize.milp`) give the smallest and largest value
consistent with everything published and every relation; the quantity is safe when that interval reaches
:func:`protection` either side of the true value (a reader may learn that a group is small, not how small).
Entries are published exactly where that is safe; otherwise each entry's coarser forms are tried in
turn (a count rounded to the nearest 10, "at least 105", a cost as a range), and an entry is withheld
only when no coarser form is safe (primary suppression for the protected counts themselves, secondary
suppression for the numbers that would give them back).

The formatting of published counts goes through :meth:`Published.text`: the report's tables and
sentences ask the audited ledger for a key, not for a number, so a new table has to register its
numbers to print them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

MARKER = "[c]"
#: The protection level p (None: half the threshold, rounded up). Set to 1 only to compare with the rule of
#: exact derivation the table-by-table helpers enforce (a measurement, not a setting for reports).
PROTECTION_LEVEL: int | None = None
#: A cap on every count (no group of people is this large), so that every programme is bounded.
BIG = 1e7


# --------------------------------------------------------------------------- how a number may be printed
@dataclass(frozen=True)
class Form:
    """One way of printing an entry: ``exact``, ``round`` (to ``base``), ``range`` (lower and upper given by
    ``lo``/``hi``), ``at_least`` (``lo``), or ``hidden``. :meth:`interval` is what the reader learns about the
    entry's value from the printed text."""

    kind: str
    base: float = 0.0
    lo: float = -math.inf
    hi: float = math.inf

    def interval(self, value: float) -> tuple[float, float]:
        if self.kind == "exact":
            return value, value
        if self.kind == "round":
            r = self.base * math.floor(value / self.base + 0.5)
            return r - self.base / 2, r + self.base / 2
        if self.kind in ("range", "at_least"):
            return self.lo, self.hi
        return -math.inf, math.inf


EXACT = Form("exact")
HIDDEN = Form("hidden")


def rounded(base: float) -> Form:
    """Printed to the nearest ``base`` ("about 110")."""
    return Form("round", base=base)


def at_least(lo: float) -> Form:
    """Printed as "at least ``lo``"."""
    return Form("at_least", lo=lo)


def between(lo: float, hi: float) -> Form:
    """Printed as a range "``lo`` to ``hi``"."""
    return Form("range", lo=lo, hi=hi)


# --------------------------------------------------------------------------- entries and relations
@dataclass(frozen=True)
class Entry:
    """A number a report prints.

    ``kind``: ``count`` (people, an integer unknown of the audit), ``share`` (``num`` / ``base``, both count
    keys; ``value`` is the share, 0-1, printed to ``digits`` decimals of a percent) or ``ratio`` (``money`` /
    (``factor`` x count ``num``)). ``what`` says what is counted, in words. ``forms`` are the ways it may be
    printed, most informative first; ``hidden`` is always the last resort. ``priority``: which entry keeps
    its form when one of two must coarsen (higher stays).
    """

    key: str
    kind: str
    value: float
    what: str = ""
    num: str = ""
    base: str = ""
    money: float = 0.0
    factor: float = 1.0
    digits: int = 0
    forms: tuple[Form, ...] = (EXACT,)
    priority: int = 0
    protect: bool = True


@dataclass
class Ledger:
    """Everything one report (or the portfolio) prints about people, and how the numbers relate.

    Build it with :meth:`count`, :meth:`share`, :meth:`ratio` and the relations, then :func:`audit` it.
    Registering a key twice returns the first entry (the same number printed in two places is one entry).
    """

    threshold: int = 10
    entries: dict[str, Entry] = field(default_factory=dict)
    subsets: list[tuple[str, str]] = field(default_factory=list)
    partitions: list[tuple[str, tuple[str, ...], bool]] = field(default_factory=list)
    equals: list[tuple[str, str]] = field(default_factory=list)
    unpublished: set[str] = field(default_factory=set)

    # ------------------------------------------------------------ numbers
    def count(self, key: str, value: int | float, what: str = "", *, priority: int = 0,
              forms: Sequence[Form] = (EXACT,), published: bool = True, protect: bool = True) -> str:
        """A count of people. ``published=False``: a count the report does not print but that relations need
        (e.g. the participants with a characteristic, behind a printed share)."""
        if key not in self.entries:
            self.entries[key] = Entry(key, "count", float(int(value)), what, forms=tuple(forms), priority=priority,
                                      protect=protect)
            if not published:
                self.unpublished.add(key)
        return key

    def share(self, key: str, num: str, base: str, what: str = "", *, digits: int = 0, priority: int = 0,
              value: float | None = None, weighted: bool = False) -> str:
        """``num`` as a share of ``base`` (both registered counts), printed as a percentage to ``digits``
        decimals. ``value``: the share printed when it is not ``num / base`` itself (exact matching prints
        the comparison group's share, equal to the participants'). ``weighted``: a weighted share (matching
        with replacement), printed and controlled with its count but giving the reader no equation."""
        n, b = self.entries[num].value, self.entries[base].value
        v = value if value is not None else (n / b if b else math.nan)
        self.entries.setdefault(key, Entry(key, "share", v, what, num=num, base=base, digits=digits,
                                           priority=priority, protect=not weighted))
        return key

    def ratio(self, key: str, money: float, num: str, factor: float = 1.0, what: str = "", *,
              forms: Sequence[Form] = (EXACT,), priority: int = 0) -> str:
        """``money / (factor x num)``: a cost per young person (``factor`` 1) or per outcome achieved
        (``factor`` = the effect per young person)."""
        x = self.entries[num].value * factor
        v = money / x if x else math.nan
        self.entries.setdefault(key, Entry(key, "ratio", v, what, num=num, money=money, factor=factor,
                                           forms=tuple(forms), priority=priority))
        return key

    # ------------------------------------------------------------ relations
    def subset(self, sub: str, sup: str) -> None:
        """Everyone counted in ``sub`` is counted in ``sup`` (of the same size: the same people, one number)."""
        if sub in self.entries and sup in self.entries and (sub, sup) not in self.subsets:
            self.subsets.append((sub, sup))
            if self.entries[sub].value == self.entries[sup].value:
                self.equal(sub, sup)

    def partition(self, total: str, parts: Iterable[str], *, complete: bool = True) -> None:
        """``parts`` are disjoint groups within ``total``; ``complete``: they add up to it (else the rest is a
        group of its own, protected like a count)."""
        parts = tuple(p for p in parts if p in self.entries)
        if total in self.entries and parts:
            self.partitions.append((total, parts, complete))

    def equal(self, a: str, b: str) -> None:
        """Counts ``a`` and ``b`` are equal (and a reader may know it): one number printed in two places, so
        the audit gives both the same form."""
        if a in self.entries and b in self.entries and (a, b) not in self.equals:
            if self.entries[a].value != self.entries[b].value:
                raise ValueError(f"{a} and {b} are not equal")
            self.equals.append((a, b))

    def classes(self) -> dict[str, str]:
        """Each entry's representative: entries joined by :meth:`equal` share one (the first key in order)."""
        rep = {k: k for k in self.entries}

        def find(k: str) -> str:
            while rep[k] != k:
                rep[k] = rep[rep[k]]
                k = rep[k]
            return k

        for a, b in self.equals:
            ra, rb = find(a), find(b)
            if ra != rb:
                rep[max(ra, rb)] = min(ra, rb)
        return {k: find(k) for k in self.entries}


# --------------------------------------------------------------------------- the rule
def protection(value: float, threshold: int) -> tuple[float, float]:
    """The interval a protected count must stay uncertain over: half the threshold either side of its value
    (5 for the usual threshold of 10), except that a reader may know it is at least 1 and below the
    threshold (what the marker means).

    A reader's interval ``[lo, hi]`` is safe when ``lo <= max(1, value - p)`` and
    ``hi >= min(value + p, threshold - 1)``, with ``p = ceil(threshold / 2)``.
    """
    p = PROTECTION_LEVEL if PROTECTION_LEVEL is not None else math.ceil(threshold / 2)
    return max(1.0, value - p), min(value + p, threshold - 1.0)


def is_protected(value: float, threshold: int) -> bool:
    return 0 < round(value) < threshold


# --------------------------------------------------------------------------- the audit
@dataclass(frozen=True)
class Target:
    """A protected quantity: a linear combination of counts (a count, or the rest of a group) with its value."""

    name: str
    coef: tuple[tuple[str, float], ...]
    value: float


@dataclass(frozen=True)
class Published:
    """The audited ledger: the form each entry is printed in, and the reader's interval of every protected
    quantity (what the audit proved)."""

    ledger: Ledger
    forms: dict[str, Form]
    intervals: dict[str, tuple[float, float, float]]  # target -> (value, lo, hi)
    marker: str = MARKER

    def form(self, key: str) -> Form:
        return self.forms.get(key, HIDDEN)

    def hidden(self, key: str) -> bool:
        return self.form(key).kind == "hidden"

    def text(self, key: str, *, money: bool = False) -> str:
        """The printed text of ``key``: ``1,234``, ``about 110``, ``at least 105``, ``£4,200 to £4,800`` or
        the marker."""
        e = self.ledger.entries[key]
        f = self.form(key)
        if f.kind == "hidden":
            return self.marker
        if e.kind == "share":
            return f"{100 * e.value:.{e.digits}f}%"
        cur = "£" if money or e.kind == "ratio" else ""
        if f.kind == "exact":
            return f"{cur}{e.value:,.0f}"
        if f.kind == "round":
            return f"about {cur}{f.base * math.floor(e.value / f.base + 0.5):,.0f}"
        if f.kind == "at_least":
            return f"at least {cur}{f.lo:,.0f}"
        return f"{cur}{f.lo:,.0f} to {cur}{f.hi:,.0f}"

    def unsafe(self) -> list[str]:
        """Protected quantities a reader could narrow below the rule (empty after :func:`audit`)."""
        t = self.ledger.threshold
        out = []
        for name, (v, lo, hi) in self.intervals.items():
            need_lo, need_hi = protection(v, t)
            if lo > need_lo + 1e-6 or hi < need_hi - 1e-6:
                out.append(name)
        return out


def targets(ledger: Ledger) -> list[Target]:
    """Every protected quantity of a ledger: small counts, small groups between nested counts, small rests
    of incomplete partitions, small complements of shares."""
    t = ledger.threshold
    e = ledger.entries
    out: dict[str, Target] = {}

    def add(name: str, coef: dict[str, float]) -> None:
        v = sum(e[k].value * c for k, c in coef.items())
        if is_protected(v, t) and name not in out:
            out[name] = Target(name, tuple(sorted(coef.items())), v)

    for k, x in e.items():
        if x.kind == "count" and x.protect:
            add(k, {k: 1.0})
    for sub, sup in ledger.subsets:
        if e[sub].protect or e[sup].protect:
            add(f"{sup} - {sub}", {sup: 1.0, sub: -1.0})
    for total, parts, complete in ledger.partitions:
        if not complete:
            coef = {total: 1.0}
            for p in parts:
                coef[p] = coef.get(p, 0.0) - 1.0
            add(f"{total} - ({' + '.join(parts)})", coef)
    for x in e.values():
        if x.kind == "share":
            add(f"{x.base} - {x.num}", {x.base: 1.0, x.num: -1.0})
    return list(out.values())


def _constraints(ledger: Ledger, forms: dict[str, Form]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray,
                                                                  np.ndarray, np.ndarray]:
    """(variables, A, lower, upper, variable lower, variable upper) of everything a reader knows."""
    e = ledger.entries
    names = [k for k, x in e.items() if x.kind == "count"]
    idx = {k: i for i, k in enumerate(names)}
    rows, lo, hi = [], [], []
    vlo = np.zeros(len(names))
    vhi = np.full(len(names), np.inf)

    def row(coef: dict[str, float], a: float, b: float) -> None:
        r = np.zeros(len(names))
        for k, c in coef.items():
            r[idx[k]] += c
        rows.append(r)
        lo.append(a)
        hi.append(b)

    for k, x in e.items():
        f = forms.get(k, HIDDEN)
        if f.kind == "hidden" or k in ledger.unpublished:
            continue
        if x.kind == "count":
            a, b = f.interval(x.value)
            i = idx[k]
            # a rounded count's upper end is open ("about 110" is 105 to 114): integers make it exact
            vlo[i] = max(vlo[i], math.ceil(a - 1e-9))
            vhi[i] = min(vhi[i], math.floor(b - 1e-9) if f.kind == "round" else math.floor(b + 1e-9))
        elif x.kind == "share" and x.protect:
            # printed to `digits` decimals of a percent: p - h <= num / base <= p + h
            h = 0.5 * 10 ** (-x.digits) / 100
            p = round(100 * x.value, x.digits) / 100
            row({x.num: 1.0, x.base: -(p - h)}, 0.0, np.inf)
            row({x.num: 1.0, x.base: -(p + h)}, -np.inf, 0.0)
        elif x.kind == "ratio":
            # printed value v in [a, b] (rounded to the pound when exact): num in [money/(f b), money/(f a)]
            a, b = f.interval(x.value)
            if f.kind == "exact":
                a, b = x.value - 0.5, x.value + 0.5
            lo_n = x.money / (x.factor * b) if b > 0 and math.isfinite(b) else 0.0
            hi_n = x.money / (x.factor * a) if a > 0 else np.inf
            if x.factor < 0:
                lo_n, hi_n = hi_n, lo_n
            row({x.num: 1.0}, lo_n, hi_n)
    for sub, sup in ledger.subsets:
        row({sup: 1.0, sub: -1.0}, 0.0, np.inf)
    for total, parts, complete in ledger.partitions:
        coef = {total: 1.0}
        for part in parts:
            coef[part] = coef.get(part, 0.0) - 1.0
        row(coef, 0.0, 0.0 if complete else np.inf)
    for a_, b_ in ledger.equals:
        row({a_: 1.0, b_: -1.0}, 0.0, 0.0)
    a_mat = np.array(rows) if rows else np.zeros((0, len(names)))
    return names, a_mat, np.array(lo), np.array(hi), vlo, vhi


def bounds(ledger: Ledger, forms: dict[str, Form], which: Sequence[Target] | None = None, *,
           integer: bool = True) -> dict[str, tuple[float, float, float]]:
    """The tightest interval a reader can derive for each protected quantity: two (mixed-)integer linear
    programmes each (HiGHS through :func:`scipy.optimize.milp`); ``integer=False`` solves the LP relaxation
    (wider or equal)."""
    names, a_mat, lo, hi, vlo, vhi = _constraints(ledger, forms)
    idx = {k: i for i, k in enumerate(names)}
    cons = [LinearConstraint(a_mat, lo, hi)] if len(a_mat) else []
    integrality = np.ones(len(names)) if integer else np.zeros(len(names))
    out = {}
    for tg in (which if which is not None else targets(ledger)):
        c = np.zeros(len(names))
        for k, w in tg.coef:
            c[idx[k]] += w
        ends = []
        for sign in (1.0, -1.0):  # the smallest, then the largest value
            res = milp(sign * c, constraints=cons, integrality=integrality, bounds=Bounds(vlo, np.minimum(vhi, BIG)))
            if res.status == 0:
                end = sign * res.fun
                ends.append(end if abs(end) < BIG / 2 else math.copysign(np.inf, end))  # at the cap: no end
            else:
                raise RuntimeError(f"disclosure audit: the published numbers contradict each other ({tg.name}: "
                                   f"{res.message})")
        out[tg.name] = (tg.value, ends[0], ends[1])
    return out


def _safe(v: float, lo: float, hi: float, threshold: int) -> bool:
    need_lo, need_hi = protection(v, threshold)
    return lo <= need_lo + 1e-6 and hi >= need_hi - 1e-6


def _levels(x: Entry) -> tuple[Form, ...]:
    return x.forms if x.forms and x.forms[-1].kind == "hidden" else (*x.forms, HIDDEN)


def audit(ledger: Ledger, *, marker: str = MARKER, integer: bool = True) -> Published:
    """Decide how every entry is printed so that no protected quantity can be narrowed below the rule.

    1. Primary: a protected count is never printed in a form that alone breaks the rule.
    2. Secondary: while some protected quantity is derivable too closely, the published entries connected
       to it are withheld a priority tier at a time (least important first) until it is safe; then every
       entry that was not needed is given back (the most important first, by halves), and each needed entry
       is printed in the least coarse form that keeps the quantity safe (rounded or a range before
       withheld).

    Entries joined by :meth:`Ledger.equal` (one number printed in two places) always share a form.
    Coarsening never tells the reader more, so a quantity once safe stays safe: only the unsafe ones are
    examined again. Deterministic: the order of registration does not change the result.
    """
    t = ledger.threshold
    e = ledger.entries
    rep = ledger.classes()
    members: dict[str, list[str]] = {}
    for k, r in rep.items():
        members.setdefault(r, []).append(k)
    prio = {r: max(e[k].priority for k in ks) for r, ks in members.items()}
    level = {r: 0 for r in members}
    forms = {k: _levels(e[rep[k]])[0] for k in e}

    def set_level(r: str, lv: int) -> None:
        level[r] = lv
        for k in members[r]:
            forms[k] = _levels(e[r])[lv]

    def coarsen(r: str) -> bool:
        if level[r] + 1 >= len(_levels(e[r])):
            return False
        set_level(r, level[r] + 1)
        return True

    # primary: a small count is not printed in a form that pins it on its own
    for r in sorted(members):
        x = e[r]
        if x.kind == "count" and any(e[k].protect for k in members[r]) and is_protected(x.value, t):
            while forms[r].kind != "hidden":
                a, b = forms[r].interval(x.value)
                if _safe(x.value, a, b, t):
                    break
                coarsen(r)
    # primary, for shares: a share whose count, or the rest of its base, is small is not printed (with its
    # base it would give the count; the audit would come to the same, one quantity at a time)
    for r in sorted(members):
        x = e[r]
        if x.kind == "share" and x.protect and forms[r].kind != "hidden" and (
                is_protected(e[x.num].value, t) or is_protected(e[x.base].value - e[x.num].value, t)):
            set_level(r, len(_levels(x)) - 1)
    tgs = sorted(targets(ledger), key=lambda g: g.name)
    found = bounds(ledger, forms, tgs, integer=integer)
    bad = [g for g in tgs if not _safe(*found[g.name], t)]
    while bad:
        g = bad[0]

        def safe_now(g: Target = g) -> bool:
            return _safe(*bounds(ledger, forms, [g], integer=integer)[g.name], t)

        if safe_now():  # made safe while protecting another
            bad.pop(0)
            continue
        options = sorted({rep[k] for k in _touching(ledger, g)
                          if forms[k].kind != "hidden" and k not in ledger.unpublished},
                         key=lambda r: (prio[r], e[r].kind != "count", e[r].value, r))
        start = {r: level[r] for r in options}
        top = {r: len(_levels(e[r])) - 1 for r in options}
        # withhold the least important tier of connected entries, then the next, until the quantity is safe
        for tier in sorted({prio[r] for r in options}):
            for r in options:
                if prio[r] == tier:
                    set_level(r, top[r])
            if safe_now():
                break
        else:
            raise RuntimeError(f"disclosure audit: {g.name} cannot be protected")
        # then give back what was not needed, the most important first, by halves (few entries are needed),
        # each needed entry at the least coarse form that is still safe (a range before withheld)
        taken = sorted((r for r in options if level[r] != start[r]),
                       key=lambda r: (-prio[r], e[r].kind == "count", -e[r].value, r))

        def give_back(chunk: list[str], start: dict[str, int] = start, top: dict[str, int] = top) -> None:
            for r in chunk:
                set_level(r, start[r])
            if safe_now():
                return
            for r in chunk:
                set_level(r, top[r])
            if len(chunk) > 1:
                half = len(chunk) // 2
                give_back(chunk[:half], start, top)
                give_back(chunk[half:], start, top)
                return
            r = chunk[0]
            for back in range(start[r] + 1, top[r]):
                set_level(r, back)
                if safe_now():
                    return
            set_level(r, top[r])

        if taken:
            give_back(taken)
        bad.pop(0)
    return Published(ledger, dict(forms), bounds(ledger, forms, tgs, integer=integer), marker)


def _touching(ledger: Ledger, g: Target) -> set[str]:
    """Published entries connected to the target's counts through the relations (its component)."""
    e = ledger.entries
    links: dict[str, set[str]] = {k: set() for k in e}

    def join(keys: Iterable[str]) -> None:
        keys = list(keys)
        for a in keys:
            links[a].update(keys)

    for sub, sup in ledger.subsets:
        join((sub, sup))
    for total, parts, _ in ledger.partitions:
        join((total, *parts))
    for a, b in ledger.equals:
        join((a, b))
    for k, x in e.items():
        if x.kind == "share":
            join((k, x.num, x.base))
        elif x.kind == "ratio":
            join((k, x.num))
    seen: set[str] = set()
    todo = [k for k, _ in g.coef]
    while todo:
        k = todo.pop()
        if k in seen:
            continue
        seen.add(k)
        todo.extend(links[k] - seen)
    return seen


__all__ = ["Ledger", "Entry", "Form", "Published", "Target", "audit", "bounds", "targets", "protection",
           "is_protected", "rounded", "at_least", "between", "EXACT", "HIDDEN", "MARKER"]


# --------------------------------------------------------------------------- money per count, where the count is withheld
def _ranges(value: float) -> tuple[Form, ...]:
    """Ranges around ``value`` from narrow to wide: to the nearest £100, £500, £1,000, £2,000, £5,000 and
    £10,000 either side (a range's ends are whole multiples of its step)."""
    out = []
    for step in (100, 500, 1000, 2000, 5000, 10000):
        lo = step * math.floor(value / step)
        out.append(between(lo, lo + step))
    return tuple(out)


def cost_per_outcome_text(cost: float, effect: tuple[float, float, float], started: int, analysed: int | None,
                          threshold: int = 10) -> str:
    """Cost per outcome achieved (``cost / (started x effect)``, with the interval's ends) where the report
    withholds the number who started: as ranges wide enough that the number cannot be worked back to within
    the rule, from the published sample analysed (a subset of those who started), or the marker.

    ``effect``: (estimate, the interval's far end, its near end), each as a positive effect per young person.
    E.g. INT17: £50,000 over 70 young people and 15.7 points is £4,550, printed "£4,000 to £5,000".
    """
    led = Ledger(threshold=threshold)
    led.count("started", started, priority=3, forms=(HIDDEN,))
    if analysed is not None:
        led.count("analysed", analysed, priority=4)
        led.subset("analysed", "started")
    est, far, near = effect
    led.ratio("central", cost, "started", est, forms=_ranges(cost / (started * est)), priority=2)
    led.ratio("low", cost, "started", far, forms=_ranges(cost / (started * far)), priority=1)
    led.ratio("high", cost, "started", near, forms=_ranges(cost / (started * near)), priority=1)
    pub = audit(led)
    if pub.hidden("central"):
        return MARKER
    ends = "" if pub.hidden("low") or pub.hidden("high") else \
        f" (interval: from {pub.text('low').split(' to ')[0]} to {pub.text('high').split(' to ')[1]})"
    return pub.text("central") + ends
