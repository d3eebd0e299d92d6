"""Area-level designs on monthly area counts (``area_counts``, ``area_rollout``).

* :func:`period_vs_baseline` / :func:`baseline_table` - a period against a
  multi-year baseline (the board report's Table A), crude and rate-model change;
* :func:`interrupted_time_series` - segmented Poisson/NB regression with
  seasonality and Newey-West standard errors; :func:`its_plot`;
* :func:`area_did` - areas that received an area-wide programme against areas
  that did not: Poisson rate difference-in-differences with area and month
  fixed effects, cluster-robust and wild-score-bootstrap inference, and a
  pre-trend test; :func:`trend_plot`;
* :func:`synthetic_control` - Abadie, Diamond & Hainmueller (2010) synthetic
  control with placebo-in-space inference, for one or more treated areas;
* :func:`synthetic_did` - synthetic difference-in-differences (Arkhangelsky et
  al. 2021; R ``synthdid``'s algorithm) with placebo or jackknife standard
  errors and staggered adoption by cohort.
"""

from evalkit.designs.area._data import default_hierarchy, whole_area
from evalkit.designs.area.baseline import PeriodChangeResult, baseline_table, period_vs_baseline
from evalkit.designs.area.its import ITSResult, interrupted_time_series
from evalkit.designs.area.plots import event_study_plot, its_plot, trend_plot
from evalkit.designs.area.rate_did import AreaDiDResult, area_did
from evalkit.designs.area.synthetic_control import SyntheticControlResult, synthetic_control
from evalkit.designs.area.synthetic_did import SyntheticDiDResult, synthetic_did

__all__ = ["whole_area", "default_hierarchy", "PeriodChangeResult", "period_vs_baseline", "baseline_table",
           "ITSResult", "interrupted_time_series", "AreaDiDResult", "area_did", "its_plot", "trend_plot",
           "event_study_plot", "SyntheticControlResult", "synthetic_control", "SyntheticDiDResult", "synthetic_did"]
