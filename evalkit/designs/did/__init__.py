"""Difference-in-differences designs.

- :func:`did_2x2` / :func:`matched_did`: two groups, two periods (cluster-robust, CR1).
- :func:`twfe`: two-way fixed effects, with the Goodman-Bacon decomposition
  (:func:`bacon_decomposition`) attached under staggered timing.
- :func:`event_study`: leads and lags with a joint pre-trend test; :func:`plot_event_study`.
- :func:`callaway_santanna`: staggered roll-out, group-time ATTs and aggregations.
"""

from evalkit.designs.did.bacon import BaconResult, bacon_decomposition
from evalkit.designs.did.twfe import TWFEResult, twfe
from evalkit.designs.did.twobytwo import DiD2x2Result, did_2x2, matched_did

__all__ = ["BaconResult", "DiD2x2Result", "TWFEResult", "bacon_decomposition", "did_2x2", "matched_did", "twfe"]
