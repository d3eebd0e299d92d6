"""Unit tests of the matching design: invariance, refusals, sensitivity analyses, result objects."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

from evalkit.designs.matching import (balance_table, combine, e_value, estimate_att, love_plot, match,
                                      matched_comparison, rosenbaum_bounds, survival_att)
from evalkit.designs.matching._data import covariate_matrix
from evalkit.designs.matching.sensitivity import binary_upper_p, signed_rank_upper_p
from evalkit.errors import DataError, InsufficientDataError, MissingDataError, SpecError
from evalkit.results import SMS

REF = Path(__file__).parent / "reference" / "matching"
COVS = ["age", "prior_offences", "school_exclusion", "sex", "locality", "risk"]


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REF / "matching_data.csv")


def _m(d, **kw):
    return match(d, treatment="treated", covariates=COVS, id_col="person_id", **kw)


@pytest.mark.parametrize("options", [dict(caliper=0.2), dict(ratio=2), dict(replace=True, ratio=2),
                                     dict(distance="mahalanobis"), dict(exact=["locality"], m_order="data")])
def test_row_order_never_changes_the_result(data, options):
    a = _m(data, **options)
    b = _m(data.sample(frac=1, random_state=3), **options)
    pd.testing.assert_frame_equal(a.units, b.units)
    ea = estimate_att(data, a, outcome="y_cont", kind="continuous").estimates[0]
    eb = estimate_att(data.sample(frac=1, random_state=4), b, outcome="y_cont", kind="continuous").estimates[0]
    assert ea == eb


def test_random_order_is_seeded(data):
    a = _m(data, m_order="random", seed=11, caliper=0.1)
    b = _m(data, m_order="random", seed=11, caliper=0.1)
    pd.testing.assert_frame_equal(a.units, b.units)


def test_combine_stacks_participants_and_pool(data):
    both = combine(data[data.treated == 1].drop(columns="treated"), data[data.treated == 0].drop(columns="treated"))
    m1 = match(both, treatment="treated", covariates=COVS, id_col="person_id")
    pd.testing.assert_frame_equal(m1.units, _m(data).units)


def test_categorical_reference_level_is_first_level():
    df = pd.DataFrame({"s": pd.Categorical(["b", "a", "c", "a"], categories=["c", "b", "a"]),
                       "t": ["y", "x", "x", "z"]})
    cm = covariate_matrix(df, ["s", "t"])
    assert cm.columns == ("s[b]", "s[a]", "t[y]", "t[z]")


def test_refuses_too_few_treated(data):
    few = pd.concat([data[data.treated == 1].head(5), data[data.treated == 0]])
    with pytest.raises(InsufficientDataError, match="at least 10"):
        _m(few)


def test_refuses_constant_covariate(data):
    with pytest.raises(InsufficientDataError, match="same value for everyone"):
        match(data.assign(k=1), treatment="treated", covariates=["age", "k"], id_col="person_id")


def test_refuses_perfect_separation(data):
    sep = data.assign(flag=data.treated)
    with pytest.raises(InsufficientDataError, match="separation"):
        match(sep, treatment="treated", covariates=["age", "flag"], id_col="person_id")


def test_refuses_no_overlap():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 1, 30), rng.normal(0, 1, 60)]
    t = np.r_[np.ones(30), np.zeros(60)].astype(int)
    # quasi-separated: treated all above 5, controls below; logit diverges -> separation or no overlap
    df = pd.DataFrame({"id": range(90), "t": t, "x": x + 10 * t})
    with pytest.raises(InsufficientDataError):
        match(df, treatment="t", covariates=["x"], id_col="id")


def test_refuses_when_nobody_within_caliper(data):
    with pytest.raises(InsufficientDataError, match="caliper"):
        _m(data, caliper=1e-9)


@pytest.mark.parametrize("mutate,error", [
    (lambda d: d.assign(age=d.age.where(d.index != 3)), DataError),
    (lambda d: pd.concat([d, d.head(1)]), DataError),
    (lambda d: d.assign(treated=d.treated * 2), DataError),
    (lambda d: d.drop(columns="risk"), MissingDataError),
])
def test_bad_input_raises_plain_errors(data, mutate, error):
    with pytest.raises(error):
        _m(mutate(data))


@pytest.mark.parametrize("options", [dict(caliper=-1), dict(ratio=0), dict(link="probit"),
                                     dict(m_order="closest"), dict(distance="mahalanobis", caliper=0.2),
                                     dict(discard="hull")])
def test_bad_options_raise_spec_error(data, options):
    with pytest.raises(SpecError):
        _m(data, **options)


def test_weights_sum_to_matched_counts(data):
    m = _m(data, ratio=3, caliper=0.1)
    u = m.matched
    assert u.loc[u.treated == 1, "weight"].eq(1).all()
    assert u.loc[u.treated == 0, "weight"].sum() == pytest.approx(m.n_control_matched)
    assert m.n_treated_matched + m.n_treated_discarded <= m.n_treated


def test_evidence_level_follows_balance(data):
    m = _m(data, caliper=0.2)
    ok = estimate_att(data, m, outcome="y_cont", kind="continuous")
    assert ok.evidence.sms == SMS.LEVEL_3
    strict = balance_table(data, m, threshold=0.001)
    low = estimate_att(data, m, outcome="y_cont", kind="continuous", balance=strict)
    assert low.evidence.sms == SMS.LEVEL_2
    assert "age" in low.evidence.reason


def test_per_100_and_rd_agree(data):
    r = estimate_att(data, _m(data), outcome="y_bin", kind="binary")
    rd = r.estimate("risk difference").estimate
    assert r.per_100["participants"] - r.per_100["had they not taken part"] == pytest.approx(100 * rd)
    assert r.mean_treated - r.mean_comparison == pytest.approx(rd)  # unadjusted RD = weighted difference


def test_results_hold_aggregates_only(data):
    res = matched_comparison(data, treatment="treated", covariates=COVS, id_col="person_id", outcome="y_bin",
                             kind="binary", caliper=0.2)
    for obj in (res, res.att, res.balance, res.rosenbaum, res.e_value):
        for value in vars(obj).values():
            assert not isinstance(value, (pd.DataFrame, pd.Series, np.ndarray))
        assert len(obj.to_frame()) < 20
        assert "<table" in obj._repr_html_()
    s = survival_att(data, _m(data), duration="time", event="event")
    assert all(not isinstance(v, (pd.DataFrame, np.ndarray)) for v in vars(s).values())
    assert "Maryland SMS level 3" in res.summary()


def test_love_plot_returns_figure(data):
    fig = love_plot(balance_table(data, _m(data)))
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].collections) == 2


# --- sensitivity -------------------------------------------------------------------------------

def test_binary_bound_at_gamma_one_is_exact_mcnemar():
    # Gamma = 1: one-sided exact McNemar = binomial test on discordant pairs with p = 1/2.
    assert binary_upper_p(17, 25, 1.0) == pytest.approx(stats.binomtest(17, 25, 0.5, "greater").pvalue, rel=1e-12)


def test_binary_bound_matches_direct_binomial_sum():
    from math import comb
    g, t, d = 2.0, 30, 40
    p = g / (1 + g)
    direct = sum(comb(d, k) * p ** k * (1 - p) ** (d - k) for k in range(t, d + 1))
    assert binary_upper_p(t, d, g) == pytest.approx(direct, rel=1e-12)


def test_signed_rank_bound_at_gamma_one_is_wilcoxon_normal_approximation():
    rng = np.random.default_rng(5)
    diff = np.round(rng.normal(0.4, 1, 60), 1)  # rounding creates ties and zeros
    ref = stats.wilcoxon(diff, alternative="greater", method="approx", correction=False, zero_method="wilcox")
    assert signed_rank_upper_p(diff, 1.0) == pytest.approx(ref.pvalue, rel=1e-10)


def test_signed_rank_bound_close_to_exact_at_gamma_two():
    # Exact upper-bound distribution: T = sum r_i B_i, B_i ~ Bernoulli(G/(1+G)) independent (Rosenbaum 2002, 4.3).
    rng = np.random.default_rng(9)
    diff = rng.normal(0.8, 1, 40)
    ranks = stats.rankdata(np.abs(diff)).astype(int)
    p = 2 / 3
    dist = np.zeros(ranks.sum() + 1)
    dist[0] = 1.0
    for r in ranks:
        dist = np.r_[dist[: len(dist)] * (1 - p)] + np.r_[np.zeros(r), dist[:-r] * p]
    w = int(ranks[diff > 0].sum())
    exact = dist[w:].sum()
    assert signed_rank_upper_p(diff, 2.0) == pytest.approx(exact, abs=0.01)


def test_rosenbaum_gamma_critical_is_where_p_reaches_alpha(data):
    data = data.assign(y_cont=data.y_cont - 2 * data.treated)  # a clearer effect, so a finite Gamma exists
    m = _m(data)
    rb = rosenbaum_bounds(data, m, outcome="y_cont", kind="continuous")  # participants score lower
    assert rb.gamma_critical is not None and 1 < rb.gamma_critical < 10
    pairs = m.pairs
    y = data.set_index("person_id")["y_cont"]
    diff = y.loc[pairs.control_id].to_numpy() - y.loc[pairs.treated_id].to_numpy()
    assert signed_rank_upper_p(diff, rb.gamma_critical) == pytest.approx(0.05, abs=1e-6)


def test_e_value_published_example():
    # VanderWeele & Ding (2017), breastfeeding example: RR 3.9 (95% CI 1.8 to 8.7) -> E-values 7.2 and 3.0.
    ev = e_value(3.9, 1.8, 8.7)
    assert ev.e_value == pytest.approx(3.9 + np.sqrt(3.9 * 2.9))
    assert round(ev.e_value, 1) == 7.3 and int(ev.e_value * 10) == 72
    assert ev.e_value_ci == pytest.approx(3.0, abs=0.005)


def test_e_value_protective_and_null_interval():
    ev = e_value(0.8, 0.6, 1.1)
    assert ev.e_value == pytest.approx(1.25 + np.sqrt(1.25 * 0.25))
    assert ev.e_value_ci == 1.0
    rd = e_value(-0.1, -0.2, -0.02, scale="rd", p0=0.4)
    assert rd.rr == pytest.approx(0.75) and rd.e_value_ci == pytest.approx(e_value(0.95).e_value)
    smd = e_value(0.5, scale="smd", se=0.1)
    assert smd.rr == pytest.approx(np.exp(0.455))
