"""Sensitivity of regression-adjusted estimates to omitted confounders.

Public API (Cinelli & Hazlett 2020, :mod:`evalkit.designs.sensitivity.ovb`): :func:`ovb_sensitivity` (a fitted
statsmodels OLS/WLS, a treatment and benchmark covariates), :func:`ovb_sensitivity_from_t` (estimate, standard
error and degrees of freedom from a table), the result :class:`OVBResult` with one :class:`OVBBound` per
benchmark, and the formulas :func:`partial_r2`, :func:`partial_f2`, :func:`robustness_value`, :func:`bias`,
:func:`adjusted_estimate`, :func:`adjusted_se`, :func:`adjusted_t`, :func:`benchmark_bounds`.
"""

from evalkit.designs.sensitivity.ovb import (OVBBound, OVBResult, adjusted_estimate, adjusted_se, adjusted_t, bias,
                                             benchmark_bounds, ovb_sensitivity, ovb_sensitivity_from_t, partial_f2,
                                             partial_r2, robustness_value)

__all__ = ["OVBBound", "OVBResult", "adjusted_estimate", "adjusted_se", "adjusted_t", "bias", "benchmark_bounds",
           "ovb_sensitivity", "ovb_sensitivity_from_t", "partial_f2", "partial_r2", "robustness_value"]
