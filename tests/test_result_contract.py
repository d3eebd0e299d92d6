"""One result shape across designs: every design result passes the same contract.

The contract (:class:`evalkit.results.DesignResult`): a headline ``effect`` (an :class:`Estimate` carrying its
confidence level), ``estimates`` with the headline first, exact-name lookup with a clear error, ``n`` and
``n_comparison``, ``evidence`` and ``warnings``, and one ``to_frame()`` column set so frames from different
designs stack with ``pd.concat``. Each case is built from the reference data the design's own tests use.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.designs.area import area_did, interrupted_time_series, period_vs_baseline
from evalkit.designs.did import callaway_santanna, did_2x2, twfe
from evalkit.designs.matching import estimate_att, match, matched_comparison, survival_att
from evalkit.designs.prepost import prepost_binary, prepost_continuous
from evalkit.errors import EvalkitError
from evalkit.results import FRAME_COLUMNS, DesignResult, Estimate, EvidenceLevel, UnknownTermError

REF = Path(__file__).parent / "reference"
COVS = ["age", "prior_offences", "school_exclusion", "sex", "locality", "risk"]


def _matching():
    data = pd.read_csv(REF / "matching" / "matching_data.csv")
    return data, match(data, treatment="treated", covariates=COVS, id_col="person_id")


def _prepost(kind: str, alpha: float = 0.05):
    rng = np.random.default_rng(7)
    if kind == "continuous":
        pre = rng.normal(15, 4, 60)
        frame = pd.DataFrame({"pre": pre, "post": pre - 1.5 + rng.normal(0, 3, 60)})
        return prepost_continuous(frame, pre="pre", post="post", higher_is_better=False, alpha=alpha)
    pre = rng.integers(0, 2, 80)
    frame = pd.DataFrame({"pre": pre, "post": np.where(rng.random(80) < 0.3, 1 - pre, pre)})
    return prepost_binary(frame, pre="pre", post="post", alpha=alpha)


def _area():
    counts = pd.read_csv(REF / "area" / "area_fixture.csv")
    rollout = pd.read_csv(REF / "area" / "area_rollout_fixture.csv")
    return counts, rollout


BUILDERS = {
    "prepost continuous": lambda: _prepost("continuous"),
    "prepost binary": lambda: _prepost("binary"),
    "matched continuous": lambda: estimate_att(*_matching(), outcome="y_cont", kind="continuous"),
    "matched binary": lambda: estimate_att(*_matching(), outcome="y_bin", kind="binary"),
    "matched count": lambda: estimate_att(*_matching(), outcome="y_count", kind="count"),
    "matched survival": lambda: survival_att(*_matching(), duration="time", event="event"),
    "matched comparison": lambda: matched_comparison(
        pd.read_csv(REF / "matching" / "matching_data.csv"), treatment="treated", covariates=COVS,
        id_col="person_id", outcome="y_bin", kind="binary", caliper=0.2),
    "did 2x2": lambda: did_2x2(pd.read_csv(REF / "did" / "card_krueger.csv"), outcome="fte", post="post",
                               treated="nj", unit="store"),
    "twfe": lambda: twfe(pd.read_csv(REF / "did" / "staggered_panel.csv"), outcome="y", unit="id", time="year",
                         treatment="D"),
    "callaway santanna": lambda: callaway_santanna(pd.read_csv(REF / "did" / "mpdta.csv"), outcome="lemp",
                                                   unit="countyreal", time="year", cohort="first.treat"),
    "area did": lambda: area_did(*_area(), indicator="serious_violence", intervention_id="FIX27", n_boot=99),
    "area trend": lambda: period_vs_baseline(_area()[0], indicator="serious_violence", area="Mansfield"),
    "interrupted time series": lambda: interrupted_time_series(
        _area()[0], indicator="serious_violence", area="Mansfield", interruption="2019-10"),
}


#: Designs whose ``n_comparison`` is None: before and after, area trends, and the panel estimators whose comparison
#: units change with each cell (Callaway & Sant'Anna) or are not split from the treated ones (two-way fixed effects).
NO_COMPARISON_GROUP = {"prepost continuous", "prepost binary", "area trend", "interrupted time series", "twfe",
                       "callaway santanna"}


@pytest.fixture(scope="module", params=list(BUILDERS))
def result(request) -> DesignResult:
    return BUILDERS[request.param]()


def test_headline(result):
    assert isinstance(result, DesignResult)
    e = result.effect
    assert isinstance(e, Estimate)
    assert result.estimates[0] == e  # the headline comes first
    assert 0 < e.level < 1 and result.level == e.level
    assert math.isfinite(e.estimate)
    assert e.ci_low <= e.estimate <= e.ci_high


def test_counts_evidence_warnings(result, request):
    assert isinstance(result.n, int) and not isinstance(result.n, bool) and result.n > 0
    assert result.n_comparison is None or (isinstance(result.n_comparison, int) and result.n_comparison > 0)
    # None means "no comparison group", never a count of 0; exactly these designs have none (or, for the
    # staggered and two-way fixed-effects designs, no fixed one to count)
    name = request.node.callspec.params["result"]
    assert (result.n_comparison is None) == (name in NO_COMPARISON_GROUP)
    assert isinstance(result.evidence, EvidenceLevel)
    assert isinstance(result.warnings, tuple) and all(isinstance(w, str) for w in result.warnings)


def test_frame_columns_and_headline_row(result):
    frame = result.to_frame()
    assert tuple(frame.columns) == FRAME_COLUMNS
    head = frame.iloc[0]
    e = result.effect
    assert head["term"] == e.name
    assert head["estimate"] == e.estimate and head["ci_low"] == e.ci_low and head["ci_high"] == e.ci_high
    assert head["level"] == e.level
    assert head["n"] == result.n
    assert (pd.isna(head["n_comparison"]) if result.n_comparison is None
            else head["n_comparison"] == result.n_comparison)
    assert frame["term"].is_unique  # exact lookup needs unique names
    assert {str(t) for t in frame.dtypes[["n", "n_comparison"]]} == {"Int64"}


def test_exact_lookup(result):
    for e in result.estimates:
        assert result.term(e.name) == e
    with pytest.raises(UnknownTermError) as err:
        result.term(result.effect.name[:3])  # a prefix is not a name
    assert isinstance(err.value, EvalkitError) and isinstance(err.value, KeyError)  # old callers caught KeyError
    assert repr(result.effect.name) in str(err.value)  # the message lists the names


def test_summary_and_html(result):
    assert result.title in result.summary()
    assert "<table" in result._repr_html_()


def test_frames_stack_across_designs():
    frames = [BUILDERS[k]().to_frame().assign(design=k) for k in ("prepost continuous", "matched binary", "twfe",
                                                                    "area trend")]
    both = pd.concat(frames, ignore_index=True)
    assert list(both.columns) == [*FRAME_COLUMNS, "design"]
    assert both["n"].dtype == "Int64" and both["estimate"].dtype == float
    assert len(both) == sum(len(f) for f in frames)


def test_old_names_still_work():
    data, m = _matching()
    r = estimate_att(data, m, outcome="y_bin", kind="binary")
    assert r.estimate("risk ratio") is r.term("risk ratio")
    with pytest.raises(KeyError):
        r.estimate("risk")
    pp = _prepost("continuous")
    assert pp.estimate("Mean change") is pp.effect
    assert pp.test("Paired t-test").df == pp.n - 1
    with pytest.raises(UnknownTermError, match="Fix: use one of"):
        pp.test("Paired")


def test_analysis_outcome_without_comparison_group_reports_none():
    """The per-intervention analysis follows the same rule: a design without a comparison group, or one that
    could not run, gives ``n_comparison=None`` rather than 0 (the report shows no comparison row for either)."""
    from evalkit.analysis.designs import failed, prepost_outcome
    from evalkit.analysis.results import OutcomeDetails
    from evalkit.protocol import load_protocol

    protocol = load_protocol(Path(__file__).parents[1] / "protocols" / "INT09.yaml")
    outcome = protocol.outcome("sdq_emotional")
    res = prepost_outcome(protocol, outcome, _prepost("continuous"), True)
    assert res.ok and res.n == 60 and res.n_comparison is None
    assert isinstance(res.details, OutcomeDetails) and res.details.raw_change == res.result.effect
    assert failed("matched", outcome, "no pool", primary=True).n_comparison is None
