"""The one table of numerical tolerances used when comparing with metafor or published values.

Every comparison in the test suite takes its tolerance from here, with the reason.
"""

from __future__ import annotations

#: Closed-form quantities (escalc effect sizes, EE/DL/HE/SJ estimates, Q, I², Wald tests):
#: same formulas in double precision, so only rounding in the last bits differs.
CLOSED_FORM = 1e-10

#: Iterative estimators (ML, REML, PM, EB, Q-profile τ² CI): both sides stop at a
#: convergence threshold; metafor references are generated with a tight ``control``
#: (threshold 1e-12) and we solve to 1e-12, so agreement to 1e-6 is comfortably inside.
ITERATIVE = 1e-6


#: Numbers copied from a published paper are rounded to the digits printed there.
def published(digits: int) -> float:
    """Half a unit in the last printed digit, e.g. ``published(2) == 0.005``."""
    return 0.5 * 10.0 ** (-digits)
