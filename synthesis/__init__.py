"""synthesis: reproducible evidence synthesis.

Structured study records (``evidence/``), effect sizes with metafor's measure codes,
meta-analysis that agrees with metafor, and executed-notebook reports.

Importing the package is cheap: heavy modules (pandas, PyMARE, matplotlib, nbconvert)
are imported only by the submodules that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
