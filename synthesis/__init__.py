"""synthesis: reproducible evidence synthesis.

Structured study records (``evidence/``), effect sizes with metafor's measure codes,
meta-analysis that agrees with metafor, and executed-notebook reports.

The Python API has metafor's shape::

    import synthesis as s
    dat = s.escalc("ZCOR", df, ri="r", ni="n", slab="study")
    res = s.rma(data=dat)
    print(res); s.forest(res)

Importing the package is cheap: the names below are loaded on first use, and heavy
modules (pandas, matplotlib, nbconvert) only by the submodules that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name → module that defines it (loaded on first attribute access).
_API = {
    "escalc": "synthesis.stats.escalc",
    "rma": "synthesis.stats.rma",
    "robust": "synthesis.stats.robust",
    "leave1out": "synthesis.stats.influence",
    "cumul": "synthesis.stats.influence",
    "influence": "synthesis.stats.influence",
    "regtest": "synthesis.stats.bias",
    "trimfill": "synthesis.stats.bias",
    "subgroup": "synthesis.stats.subgroup",
    "predict": "synthesis.stats.predict",
    "confint": "synthesis.stats.predict",
    "fit_many": "synthesis.stats.many",
    "to_pymare": "synthesis.stats.pymare_io",
    "from_pymare": "synthesis.stats.pymare_io",
    "forest": "synthesis.plots",
    "funnel": "synthesis.plots",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'synthesis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
