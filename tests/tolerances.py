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

#: metafor run with its default ``control``, as the R call printed on the academic pages
#: does (REML stops when τ² changes by less than 1e-5): τ² and everything computed from it
#: (estimate, SE, CI, influence diagnostics) differ from our tightly converged fit by up to
#: about 2e-5 (measured on this repository's models), well below the 4 printed decimals.
#: Percentages (I², weights) get 100 times this.
METAFOR_DEFAULT_CONTROL = 1e-4


#: Numbers copied from a published paper are rounded to the digits printed there.
def published(digits: int) -> float:
    """Half a unit in the last printed digit, e.g. ``published(2) == 0.005``."""
    return 0.5 * 10.0 ** (-digits)


#: Cluster-robust inference (``robust``, against metafor + clubSandwich): the REML τ² of
#: both sides is solved to 1e-12 and agrees to about 1e-10 relative; it then passes
#: through per-cluster eigendecompositions (LAPACK dsyevr in R, syevd in NumPy) and t/F
#: quantiles. Observed differences are below 1e-9 absolute on a Wald statistic of 40
#: (1e-11 relative); 1e-8 leaves room for other LAPACK builds.
ROBUST = 1e-8
