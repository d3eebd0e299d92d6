"""The measured-covariate benchmark for hidden-bias checks (E-value and Rosenbaum Γ units).

References (published formulas, checked on cases where the answer is known exactly):

* Ding & VanderWeele (2016, *Epidemiology* 27:368): the bias factor B = RR_EU RR_UD / (RR_EU + RR_UD - 1)
  bounds the bias of a binary confounder, and is attained when the confounder is present in everyone
  treated; the bias of a binary confounder with prevalences p1 (treated), p0 (untreated) and outcome risk
  ratio r is (1 + (r - 1) p1) / (1 + (r - 1) p0) (their eq. 1, Cornfield's formula).
* VanderWeele & Ding (2017, *Ann Intern Med* 167:268): the E-value of a risk ratio RR is RR + sqrt(RR (RR - 1));
  the library's :func:`e_value` (checked against R ``EValue``) must agree with the benchmark's E-value of B.
* Rosenbaum & Silber (2009, *JASA* 104:1398): Γ = (ΛΔ + 1) / (Λ + Δ); their worked value Γ = 1.25 for
  Λ = Δ = 2 (a factor doubling the odds of treatment and of the outcome).
"""

import numpy as np
import pytest

from evalkit.designs.matching import covariate_benchmark, e_value
from evalkit.errors import InsufficientDataError


def _data(p1, p0, r1, r0, n=10_000):
    """Exact shares: n treated with covariate share p1; n untreated with share p0 and outcome risks r1, r0."""
    x_t = np.arange(n) < round(p1 * n)
    x_c = np.arange(n) < round(p0 * n)
    n1, n0 = int(x_c.sum()), int((~x_c).sum())
    y_c = np.concatenate([np.arange(n1) < round(r1 * n1), np.arange(n0) < round(r0 * n0)])
    x = np.concatenate([x_t, x_c])
    t = np.concatenate([np.ones(n), np.zeros(n)])
    y = np.concatenate([np.zeros(n), y_c])
    return x, t, y


def test_bias_factor_is_attained_when_everyone_treated_has_the_covariate():
    x, t, y = _data(1.0, 0.5, 0.6, 0.2)          # RR_EU = 2, RR_UD = 3
    b = covariate_benchmark(x, t, y)
    assert b.rr_treatment == pytest.approx(2.0) and b.rr_outcome == pytest.approx(3.0)
    assert b.bias_factor == pytest.approx(2 * 3 / (2 + 3 - 1))
    cornfield = (1 + (3 - 1) * 1.0) / (1 + (3 - 1) * 0.5)   # the actual bias of this confounder
    assert b.bias_factor == pytest.approx(cornfield, abs=1e-12)


def test_bias_factor_bounds_the_actual_bias_and_e_value_matches_the_library():
    rng = np.random.default_rng(2016)
    for _ in range(50):
        p0, p1 = np.sort(rng.uniform(0.05, 0.95, 2))   # the covariate commoner among the treated: bias >= 1
        r0 = rng.uniform(0.05, 0.4)
        r1 = min(r0 * rng.uniform(1.1, 2.4), 0.95)
        b = covariate_benchmark(*_data(p1, p0, r1, r0))
        r = b.rr_outcome
        bias = (1 + (r - 1) * b.share_treated) / (1 + (r - 1) * b.share_comparison)
        assert 1 <= bias <= b.bias_factor + 1e-9
        assert b.e_value == pytest.approx(e_value(b.bias_factor).e_value, abs=1e-12)


def test_gamma_is_the_rosenbaum_silber_amplification():
    # Odds of the covariate 2/1 among the treated against 1/1 (Lambda = 2); outcome odds 2/3 against 1/3 (Delta = 2).
    b = covariate_benchmark(*_data(2 / 3, 0.5, 0.4, 0.25))
    assert b.odds_treatment == pytest.approx(2.0, rel=1e-3) and b.odds_outcome == pytest.approx(2.0, rel=1e-3)
    assert b.gamma == pytest.approx(1.25, rel=1e-3)
    e, g = b.scaled(0.0)
    assert e == 1.0 and g == 1.0                     # a factor of no strength needs nothing
    e, g = b.scaled(1.0)
    assert e == pytest.approx(b.e_value) and g == pytest.approx(b.gamma)


def test_benchmark_needs_both_groups_and_both_levels():
    x, t, y = _data(0.5, 0.5, 0.3, 0.2)
    with pytest.raises(InsufficientDataError):
        covariate_benchmark(x, np.ones_like(t), y)
    with pytest.raises(InsufficientDataError):
        covariate_benchmark(np.ones_like(x), t, y)
