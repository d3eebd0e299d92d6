"""Outcome measures: instruments, offending, status, engagement and change.

Public API (stable names; teammates import these):

- :func:`score_instrument`, :func:`instrument_info`, :func:`wide_prepost`
- :func:`reliable_change_index`, :func:`classify_change`
- :func:`offending_outcomes`, :func:`prior_offending`
- :func:`status_outcomes`, :func:`status_change`, :func:`referral_outcomes`, :func:`engagement`

Imports are lazy so ``import evalkit.measures.change`` stays light. (The
engagement function lives in ``attendance.py`` so that a submodule never
shadows a function of the same name.)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "score_instrument": "evalkit.measures.scoring",
    "instrument_info": "evalkit.measures.scoring",
    "wide_prepost": "evalkit.measures.scoring",
    "InstrumentInfo": "evalkit.measures.scoring",
    "reliable_change_index": "evalkit.measures.change",
    "classify_change": "evalkit.measures.change",
    "clinical_cutoff": "evalkit.measures.change",
    "offending_outcomes": "evalkit.measures.offending",
    "prior_offending": "evalkit.measures.offending",
    "summarise_offending": "evalkit.measures.offending",
    "OffendingSummary": "evalkit.measures.offending",
    "status_outcomes": "evalkit.measures.status",
    "status_change": "evalkit.measures.status",
    "referral_outcomes": "evalkit.measures.status",
    "engagement": "evalkit.measures.attendance",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evalkit.measures' has no attribute {name!r}")
