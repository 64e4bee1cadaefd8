"""Warning categories of the toolkit.

The test suite turns every :class:`SynthesisWarning` into an error, so a warning
that a test does not expect fails it.
"""

from __future__ import annotations


class SynthesisWarning(UserWarning):
    """Base class of every warning the toolkit emits."""


class ConvergenceWarning(SynthesisWarning):
    """An iterative estimator did not converge; the result says ``converged=False``."""


class DataQualityWarning(SynthesisWarning):
    """Input data were excluded or look suspicious; the result records what and why."""
