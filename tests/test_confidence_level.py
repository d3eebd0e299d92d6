"""The protocol's alpha reaches every interval: ``Estimate.level`` and alpha = 0.1 against R ``confint(level = 0.9)``.

Reference values: tests/reference/confidence_level/ (R sandwich + lmtest + survival on MatchIt's matched sets).
Tolerance: interval limits 1e-6 relative (achieved ~1e-9 or better).
"""

import math

import numpy as np
import pandas as pd
import pytest

from evalkit.designs.matching import estimate_att, match, survival_att
from evalkit.results import Estimate

from matching_reference import CONFIGS, REF, covariates, options

HERE = REF.parent / "confidence_level"
R90 = pd.read_csv(HERE / "confint90.csv")


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REF / "matching_data.csv")


def _match(data, name):
    c = CONFIGS.set_index("name").loc[name].to_dict()
    return match(data, treatment="treated", covariates=covariates(c), id_col="person_id", **options(c))


@pytest.mark.parametrize("name", ["base", "replace2"])
def test_alpha_01_matches_r_confint_level_09(data, name):
    m = _match(data, name)
    ref = R90[R90["config"] == name].set_index("quantity")
    got = {}
    got["cont_diff"] = estimate_att(data, m, outcome="y_cont", kind="continuous", alpha=0.1).estimates[0]
    got["cont_adj"] = estimate_att(data, m, outcome="y_cont", kind="continuous", alpha=0.1,
                                   covariates_adjust=["age", "prior_offences", "school_exclusion", "sex",
                                                      "locality", "risk"]).estimates[0]
    got["bin_rd"], got["bin_logrr"] = estimate_att(data, m, outcome="y_bin", kind="binary", alpha=0.1).estimates
    got["count_diff"], got["count_logrr"] = estimate_att(data, m, outcome="y_count", kind="count",
                                                         alpha=0.1).estimates
    got["cox_loghr"] = survival_att(data, m, duration="time", event="event", alpha=0.1).hazard_ratio
    for q, est in got.items():
        ratio = "log" in q
        lo, hi = (np.log(est.ci_low), np.log(est.ci_high)) if ratio else (est.ci_low, est.ci_high)
        assert lo == pytest.approx(ref.loc[q, "ci_low"], rel=1e-6), q
        assert hi == pytest.approx(ref.loc[q, "ci_high"], rel=1e-6), q
        assert est.level == pytest.approx(0.9), q
        assert est.level_label == "90%"


def test_default_is_95_and_narrower_at_90(data):
    m = _match(data, "base")
    e95 = estimate_att(data, m, outcome="y_bin", kind="binary").estimates[0]
    e90 = estimate_att(data, m, outcome="y_bin", kind="binary", alpha=0.1).estimates[0]
    assert e95.level == 0.95 and e95.level_label == "95%"
    assert e90.ci_high - e90.ci_low < e95.ci_high - e95.ci_low
    assert e90.estimate == e95.estimate and e90.p_value == e95.p_value


def test_level_is_the_last_field_with_default():
    e = Estimate("x", 1.0, 0.1, 0.8, 1.2, 0.01, "mean difference")
    assert e.level == 0.95
    assert list(e.as_dict())[-1] == "level"
    assert math.isclose(Estimate("x", 1, 0.1, 0.8, 1.2, 0.01, "s", "", None, 0.8).level, 0.8)


def test_bad_alpha_is_an_evalkit_error(data):
    from evalkit.errors import EvalkitError

    with pytest.raises(EvalkitError):
        estimate_att(data, _match(data, "base"), outcome="y_bin", kind="binary", alpha=1.5)


def test_protocol_alpha_reaches_the_analysis():
    """A 90% protocol gets 90% intervals on every design's estimates (shipped data, INT17: matched + pre/post)."""
    from pathlib import Path

    from evalkit.analysis.runner import analyse_intervention
    from evalkit.data.load import load_tables
    from evalkit.protocol import load_protocol

    root = Path(__file__).resolve().parents[1]
    if not any((root / "synthetic_data").glob("participants.*")):
        pytest.skip("synthetic_data not generated")
    p = load_protocol(root / "protocols" / "INT17.yaml")
    p90 = p.model_copy(update={"alpha": 0.1})
    tables = load_tables(root / "synthetic_data")
    a90 = analyse_intervention(p90, tables)
    ok = [o for o in a90.outcomes if o.ok]
    assert {o.design for o in ok} >= {"matched", "prepost"}
    for o in ok:
        assert o.estimate.level == pytest.approx(0.9), (o.outcome, o.design)
        assert "90% confidence interval" in o.sentence, o.sentence
    a95 = analyse_intervention(p, tables)
    e90, e95 = a90.primary.estimate, a95.primary.estimate
    assert e95.level == 0.95 and e90.estimate == pytest.approx(e95.estimate)
    assert e90.ci_high - e90.ci_low < e95.ci_high - e95.ci_low


def test_protocol_thresholds_are_positive_and_optional():
    from evalkit.protocol import OffendingOutcome

    o = OffendingOutcome(kind="reoffending", name="r", minimum_worthwhile_effect=0.1, minimum_detectable_effect=0.15)
    assert o.minimum_worthwhile_effect == 0.1 and o.minimum_detectable_effect == 0.15
    assert OffendingOutcome(kind="reoffending", name="r").minimum_worthwhile_effect is None
    with pytest.raises(ValueError):
        OffendingOutcome(kind="reoffending", name="r", minimum_worthwhile_effect=-0.1)
