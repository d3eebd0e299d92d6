"""evalkit: outcome evaluation for violence-reduction interventions.

Measures, evaluation designs (pre/post, matched comparison,
difference-in-differences, area-level trends) and parameterised reports for
Violence Reduction Units. See the README for the two-command quick start.
"""

from evalkit.errors import EvalkitError

__version__ = "0.1.0"

__all__ = ["EvalkitError", "__version__"]
