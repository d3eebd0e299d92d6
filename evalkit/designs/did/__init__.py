"""Difference-in-differences designs.

- :func:`did_2x2` / :func:`matched_did`: two groups, two periods (cluster-robust, CR1).
- :func:`twfe`: two-way fixed effects, with the Goodman-Bacon decomposition
  (:func:`bacon_decomposition`) attached under staggered timing.
- :func:`event_study`: leads and lags with a joint pre-trend test; :func:`plot_event_study`.
- :func:`callaway_santanna`: staggered roll-out, group-time ATTs and aggregations.
- :func:`offending_panel`: person x window proven-offence panels from the data contract.
"""

from evalkit.designs.did.bacon import BaconResult, bacon_decomposition
from evalkit.designs.did.event_study import EventStudyResult, event_study
from evalkit.designs.did.panel import offending_panel
from evalkit.designs.did.staggered import Aggregation, CallawaySantAnnaResult, callaway_santanna
from evalkit.designs.did.twfe import TWFEResult, twfe
from evalkit.designs.did.twobytwo import DiD2x2Result, did_2x2, matched_did


def plot_event_study(*args, **kwargs):  # lazy: keep matplotlib out of the import path
    """See :func:`evalkit.designs.did.plots.plot_event_study`."""
    from evalkit.designs.did.plots import plot_event_study as _plot

    return _plot(*args, **kwargs)


__all__ = ["Aggregation", "BaconResult", "CallawaySantAnnaResult", "DiD2x2Result", "EventStudyResult",
           "TWFEResult", "bacon_decomposition", "callaway_santanna", "did_2x2", "event_study", "matched_did",
           "offending_panel", "plot_event_study", "twfe"]
