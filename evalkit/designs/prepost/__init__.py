"""Before/after (pre/post) designs on the same people (Maryland SMS level 1).

:mod:`.core` holds the estimators (``prepost_continuous``, ``prepost_binary``);
:mod:`.results` the result objects; :mod:`.attrition`, :mod:`.binary`,
:mod:`.effects` and :mod:`.wilcoxon` the parts they are built from.
"""

from evalkit.designs.prepost.core import (
    Attrition,
    ChangeShares,
    PrePostResult,
    RegressionToMean,
    TestResult,
    prepost_binary,
    prepost_continuous,
)

__all__ = [
    "Attrition",
    "ChangeShares",
    "PrePostResult",
    "RegressionToMean",
    "TestResult",
    "prepost_binary",
    "prepost_continuous",
]
