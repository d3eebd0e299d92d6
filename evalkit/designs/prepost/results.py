"""Result objects of the pre/post design (aggregates only).

:class:`PrePostResult` is what :func:`evalkit.designs.prepost.prepost_continuous`
and :func:`~evalkit.designs.prepost.prepost_binary` return; the smaller frozen
dataclasses hold its parts (tests, attrition, change shares, regression to the
mean). None of them keeps a row of the input.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import pandas as pd

from evalkit.designs.prepost.binary import PairedTable
from evalkit.designs.prepost.effects import EffectSize
from evalkit.results import DesignResult, Estimate, EvidenceLevel, estimate_row, lookup, stat_row


# --------------------------------------------------------------------------- #
# Result objects
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class TestResult:
    """One hypothesis test (aggregates only)."""

    name: str
    statistic: float
    df: float | None
    p_value: float
    method: str
    estimate_name: str = ""  # the estimate this test goes with (shown on one row)


@dataclass(frozen=True)
class Attrition:
    """Who had a baseline, who had both measurements, and whether those lost differed.

    ``baseline_smd`` is (completers - lost) / sqrt((var_completers + var_lost) / 2)
    of the baseline scores (for binary outcomes the same with ``p(1 - p)`` as
    variances). ``baseline_p`` is Welch's t-test (continuous) or Fisher's exact
    test (binary) of the same comparison.
    """

    n_baseline: int
    n_complete: int
    n_lost: int
    n_post_only: int
    share_lost: float
    baseline_mean_complete: float
    baseline_mean_lost: float
    baseline_smd: float
    baseline_p: float
    baseline_test: str

    def _rows(self) -> list[dict]:
        return [
            {"quantity": "had a baseline measurement", "value": self.n_baseline},
            {"quantity": "had both measurements (analysed)", "value": self.n_complete},
            {"quantity": "lost (baseline but no follow-up)", "value": self.n_lost},
            {"quantity": "share lost", "value": self.share_lost},
            {"quantity": "follow-up without baseline (not analysed)", "value": self.n_post_only},
            {"quantity": "baseline mean, analysed", "value": self.baseline_mean_complete},
            {"quantity": "baseline mean, lost", "value": self.baseline_mean_lost},
            {"quantity": "baseline SMD (analysed - lost)", "value": self.baseline_smd},
            {"quantity": f"baseline difference p ({self.baseline_test})", "value": self.baseline_p},
        ]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows())


@dataclass(frozen=True)
class ChangeShares:
    """Shares of people by reliable change category (Jacobson & Truax 1991).

    ``improved`` counts everyone with a reliable improvement, including those
    ``recovered`` (improved and crossed the clinical cut-off). Intervals are
    Wilson score intervals.
    """

    n: int
    reliability: float
    sd: float
    sd_source: str
    threshold: float
    cutoff: float | None
    counts: tuple[tuple[str, int, float, float, float], ...]  # (category, count, share, low, high)

    def _rows(self) -> list[dict]:
        return [{"category": c, "count": k, "share": s, "ci_low": lo, "ci_high": hi}
                for c, k, s, lo, hi in self.counts]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows())

    def share(self, category: str) -> float:
        return next(s for c, _, s, _, _ in self.counts if c == category)


@dataclass(frozen=True)
class RegressionToMean:
    """Change expected from regression to the mean alone (Barnett et al. 2005)."""

    entry_threshold: float
    entry_side: str  # "at or above" / "at or below"
    reliability: float | None
    sd_norm: float | None
    population_mean: float | None
    population_mean_source: str
    baseline_mean: float
    expected_change: float | None


@dataclass(frozen=True)
class PrePostResult(DesignResult):
    """Result of a pre/post analysis (aggregates only).

    ``estimates`` hold the change estimates (mean change, Hodges–Lehmann
    pseudo-median; or change in proportion), ``tests`` the hypothesis tests,
    ``effect_sizes`` the standardised effects. See :meth:`to_frame`.
    The headline ``effect`` is the first estimate (mean change, or change in
    proportion); ``n`` is the people with both measurements (``n_pairs``);
    there is no comparison group (``n_comparison`` is None).
    """

    outcome_name: str
    outcome_type: str  # "continuous" | "binary"
    n_pairs: int
    conf_level: float
    higher_is_better: bool | None
    pre_mean: float
    post_mean: float
    pre_sd: float | None
    post_sd: float | None
    correlation: float | None
    estimates: tuple[Estimate, ...]
    tests: tuple[TestResult, ...]
    effect_sizes: tuple[EffectSize, ...]
    attrition: Attrition
    change_shares: ChangeShares | None
    regression_to_mean: RegressionToMean | None
    table: PairedTable | None
    evidence: EvidenceLevel
    warnings: tuple[str, ...]

    @property
    def title(self) -> str:  # type: ignore[override]
        name = self.outcome_name or "outcome"
        return f"Pre/post change in {name} ({self.n_pairs} people with both measurements)"

    @property
    def effect(self) -> Estimate:
        """The headline: mean change (continuous) or change in proportion (binary)."""
        return self.estimates[0]

    @property
    def n(self) -> int:
        return self.n_pairs

    @property
    def n_comparison(self) -> None:
        return None

    def estimate(self, name: str) -> Estimate:
        """The estimate named exactly ``name`` (e.g. ``"Mean change"``; the error lists the names)."""
        return self.term(name)

    def test(self, name: str) -> TestResult:
        """The test named exactly ``name`` (e.g. ``"Paired t-test"``; the error lists the names)."""
        return lookup(self.tests, name, what="test", owner=self.title)

    def effect_size(self, name: str) -> EffectSize:
        """The effect size named exactly ``name`` (e.g. ``"Hedges' g_av"``; the error lists the names)."""
        return lookup(self.effect_sizes, name, what="effect size", owner=self.title)

    def _rows(self) -> list[dict]:
        rows: list[dict] = []
        tests = list(self.tests)
        for est in self.estimates:
            row = estimate_row(est)
            # An estimate and the test that goes with it share one row.
            match = next((t for t in tests if t.estimate_name == est.name), None)
            if match is not None:
                tests.remove(match)
                row.update(statistic=match.statistic, df=match.df if match.df is not None else math.nan,
                           method=f"{est.method}; {match.method}")
            rows.append(row)
        for t in tests:
            rows.append(stat_row(t.name, statistic=t.statistic, df=t.df, p_value=t.p_value, method=t.method))
        for es in self.effect_sizes:
            rows.append(stat_row(es.name, estimate=es.estimate, ci_low=es.ci_low, ci_high=es.ci_high,
                                 level=self.conf_level, scale="standardised mean difference", method=es.method))
        if self.change_shares is not None:
            for c, k, s, lo, hi in self.change_shares.counts:
                rows.append(stat_row(f"share {c.replace('_', ' ')} ({k} of {self.change_shares.n})", estimate=s,
                                     ci_low=lo, ci_high=hi, level=self.conf_level, scale="proportion",
                                     method="Jacobson-Truax RCI; Wilson interval"))
        return rows

    def _notes(self) -> list[str]:
        a = self.attrition
        if self.outcome_type == "continuous":
            desc = (f"Mean before {self.pre_mean:.4g} (SD {self.pre_sd:.3g}), after {self.post_mean:.4g} "
                    f"(SD {self.post_sd:.3g}); correlation {self.correlation:.2f}.")
        else:
            t = self.table
            desc = (f"Proportion before {self.pre_mean:.1%}, after {self.post_mean:.1%}; "
                    f"{t.yes_to_no} went from yes to no, {t.no_to_yes} from no to yes.")
        lost = (f"{a.n_complete} of {a.n_baseline} people with a baseline also had a follow-up "
                f"({a.share_lost:.0%} lost).")
        return [self.plain_english(), desc, lost, *super()._notes()]

    def plain_english(self) -> str:
        """One sentence on the direction and certainty of the change (no causal claim)."""
        main = self.estimates[0]
        level = f"{self.conf_level:.0%}"
        if self.outcome_type == "binary":
            what = f"The proportion changed by {main.estimate * 100:+.1f} percentage points"
            ci = f"{main.ci_low * 100:+.1f} to {main.ci_high * 100:+.1f}"
        else:
            what = f"On average scores {'rose' if main.estimate > 0 else 'fell'} by {abs(main.estimate):.3g} points"
            ci = f"{main.ci_low:.3g} to {main.ci_high:.3g}"
        text = f"{what} ({level} CI {ci})"
        if main.ci_low <= 0 <= main.ci_high:
            return text + "; the interval includes no change."
        if self.higher_is_better is None:
            return text + "; the interval excludes no change."
        better = (main.estimate > 0) == self.higher_is_better
        return text + f": {'an improvement' if better else 'a deterioration'}, though without a comparison group " \
                      "it cannot be attributed to the intervention."

    def _display_frame(self) -> pd.DataFrame:
        """The estimates formatted for reading (numbers kept in :meth:`to_frame`)."""
        def num(v: float, fmt: str = "{:.3g}") -> str:
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)

        level = f"{self.conf_level:.0%} CI"
        rows = []
        for r in self._rows():
            ci = "" if math.isnan(r["ci_low"]) else f"{r['ci_low']:.3g} to {r['ci_high']:.3g}"
            p = "" if math.isnan(r["p_value"]) else ("<0.001" if r["p_value"] < 0.001 else f"{r['p_value']:.3f}")
            rows.append({"quantity": r["term"], "estimate": num(r["estimate"]), level: ci,
                         "statistic": num(r["statistic"], "{:.4g}"), "df": num(r["df"], "{:g}"), "p": p})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """Plain-text summary: estimates, then counts, evidence level and warnings."""
        with pd.option_context("display.width", 160, "display.max_colwidth", 60):
            table = self._display_frame().to_string(index=False)
        text = f"{self.title}\n{'=' * len(self.title)}\n{table}"
        return text + "\n" + "\n".join(f"- {n}" for n in self._notes())

    def _repr_html_(self) -> str:
        body = self._display_frame().to_html(index=False, border=0)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self._notes())
        level = "Change is after minus before. Methods: " + "; ".join(
            dict.fromkeys(r["method"] for r in self._rows()))
        return (f"<div class='evalkit-result'><h4>{html.escape(self.title)}</h4>{body}"
                f"<ul>{notes}</ul><p><small>{html.escape(level)}</small></p></div>")


__all__ = ["Attrition", "ChangeShares", "PrePostResult", "RegressionToMean", "TestResult"]
