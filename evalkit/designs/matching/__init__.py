"""Matched comparison design (participants vs a comparison pool), MatchIt-compatible."""

from ._data import combine
from .match import MatchResult, match

__all__ = ["MatchResult", "combine", "match"]
