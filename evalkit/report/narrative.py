"""Moved to :mod:`evalkit.analysis.narrative` (the analysis words its results; reports show them).

Kept so older imports keep working.
"""

from evalkit.analysis.narrative import (Judgement, effect_sentence, evidence_sentence, fmt_num, judge,
                                        per_100_sentence)

__all__ = ["Judgement", "judge", "effect_sentence", "per_100_sentence", "evidence_sentence", "fmt_num"]
