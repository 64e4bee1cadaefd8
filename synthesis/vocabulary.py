"""The one vocabulary of the statistics: measures, τ² estimators, tests, levels, fields.

Every layer reads its allowed values from here: the record models
(:mod:`synthesis.records`), the statistics engine (:mod:`synthesis.stats`), the command
line (``synthesis pool``) and its JSON output. Nothing here imports pandas, numpy or
scipy, so the validator and ``--help`` stay fast.

Examples
--------
>>> from synthesis import vocabulary as v
>>> v.METHODS
('EE', 'DL', 'HE', 'SJ', 'PM', 'ML', 'REML', 'EB')
>>> v.measure_kind("SMCR")
'pre_post'
>>> v.level_problem(0.95)
'0.95 looks like a proportion; write 95 (a percentage strictly between 1 and 100)'
>>> v.level_problem(95) is None
True
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Final

__all__ = [
    "LEVEL_MAX",
    "LEVEL_MIN",
    "MANY_FIELDS",
    "MEASURES",
    "MEASURES_BY_KIND",
    "METHODS",
    "METHOD_ALIASES",
    "NULL_VALUES",
    "POOL_JSON_FIELDS",
    "PROPORTION_MEASURES",
    "QUESTION_MEASURES",
    "RATIO_MEASURES",
    "RESULT_FIELDS",
    "SUMMARY_FIELDS",
    "TESTS",
    "level_problem",
    "measure_kind",
]

# ------------------------------------------------------------------------ measures ----

#: metafor's measure codes that :func:`synthesis.escalc` computes, by kind of data.
#: ``"GEN"`` is metafor's code for effect sizes supplied directly as ``yi`` and ``vi``.
MEASURES_BY_KIND: Final = MappingProxyType(
    {
        "correlation": ("ZCOR", "COR"),
        "two_group_continuous": ("SMD", "MD"),
        "pre_post": ("SMCC", "SMCR"),
        "two_group_binary": ("OR", "RR", "RD"),
        "proportion": ("PLO", "PR", "PFT"),
        "generic": ("GEN",),
    }
)

#: Every measure code :func:`synthesis.escalc` accepts.
MEASURES: Final[tuple[str, ...]] = tuple(m for ms in MEASURES_BY_KIND.values() for m in ms)

#: Measures a review question's outcome may ask for (all but ``"GEN"``).
QUESTION_MEASURES: Final[tuple[str, ...]] = tuple(m for m in MEASURES if m != "GEN")

#: Single-group proportion measures (reported as percentages).
PROPORTION_MEASURES: Final[tuple[str, ...]] = MEASURES_BY_KIND["proportion"]

#: Measures pooled on the log scale (back-transformed with ``exp`` for reporting).
RATIO_MEASURES: Final[tuple[str, ...]] = ("OR", "RR")

#: The value meaning "no effect" on each measure's natural (reporting) scale; measures
#: without one (single-group proportions) are absent.
NULL_VALUES: Final = MappingProxyType(
    {
        "ZCOR": 0.0, "COR": 0.0, "SMD": 0.0, "SMCC": 0.0, "SMCR": 0.0, "MD": 0.0, "RD": 0.0,
        "OR": 1.0, "RR": 1.0,
    }
)  # fmt: skip


def measure_kind(measure: str) -> str:
    """The kind of data (key of :data:`MEASURES_BY_KIND`) a measure is computed from.

    Raises
    ------
    KeyError
        If ``measure`` is not in :data:`MEASURES`.

    Examples
    --------
    >>> measure_kind("OR")
    'two_group_binary'
    """
    for kind, measures in MEASURES_BY_KIND.items():
        if measure in measures:
            return kind
    raise KeyError(measure)


# ------------------------------------------------------------------ model settings ----

#: τ² estimators of :func:`synthesis.rma` (metafor's ``method`` codes).
METHODS: Final[tuple[str, ...]] = ("EE", "DL", "HE", "SJ", "PM", "ML", "REML", "EB")

#: Other spellings metafor accepts for a method.
METHOD_ALIASES: Final = MappingProxyType({"FE": "EE"})

#: Tests and confidence intervals for the coefficients (metafor's ``test``): normal
#: (``"z"``) or Knapp-Hartung t and F (``"knha"``) :cite:`knapp2003improved`.
TESTS: Final[tuple[str, ...]] = ("z", "knha", "adhoc")

#: Confidence levels are percentages strictly between these bounds. metafor reads a
#: level <= 1 as a proportion; this toolkit refuses it rather than guess.
LEVEL_MIN: Final = 1.0
LEVEL_MAX: Final = 100.0


def level_problem(level: object) -> str | None:
    """``None`` if ``level`` is an allowed confidence level, else what is wrong with it.

    Examples
    --------
    >>> level_problem(100)
    '100 is not a percentage strictly between 1 and 100'
    """
    ok = isinstance(level, int | float) and not isinstance(level, bool)
    value = float(level) if ok else math.nan  # type: ignore[arg-type]
    if math.isfinite(value) and LEVEL_MIN < value < LEVEL_MAX:
        return None
    if math.isfinite(value) and 0.0 < value <= LEVEL_MIN:
        return (
            f"{level!r} looks like a proportion; write {100 * value:g} "
            "(a percentage strictly between 1 and 100)"
        )
    return f"{level!r} is not a percentage strictly between 1 and 100"


# ------------------------------------------------------------------- result fields ----

#: Per-analysis numbers of a fit (the columns of :func:`synthesis.stats.fit_arrays`).
#: ``zval`` is the t statistic and ``df = k − p`` under knha (NaN under z);
#: ``tau2_ci_truncated`` marks a Q-profile upper bound of τ² that lies beyond the
#: search limit ``tau2_max`` and is reported as that limit.
RESULT_FIELDS: Final[tuple[str, ...]] = (
    "k",
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_lb",
    "ci_ub",
    "pi_lb",
    "pi_ub",
    "tau2",
    "se_tau2",
    "tau2_ci_lb",
    "tau2_ci_ub",
    "tau2_ci_truncated",
    "I2",
    "H2",
    "QE",
    "QEp",
    "df",
    "converged",
    "iterations",
    "ll0_reset",
)

#: The one-row summary of a fitted model (``RmaResult.to_frame()`` / ``to_dict()``).
SUMMARY_FIELDS: Final[tuple[str, ...]] = (
    "k",
    "k_excluded",
    "method",
    "test",
    "level",
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_lb",
    "ci_ub",
    "pi_lb",
    "pi_ub",
    "tau2",
    "se_tau2",
    "tau2_ci_lb",
    "tau2_ci_ub",
    "tau2_ci_truncated",
    "I2",
    "H2",
    "QE",
    "QEp",
    "df",
    "QM",
    "QMp",
    "converged",
    "iterations",
    "measure",
)

#: Columns of the many-analyses frame (:func:`synthesis.stats.rma_many`), named as in
#: metafor's ``coef(summary(fit))`` plus ``Q``, ``Qp``, ``tau2``, ``I2``, ``H2``.
MANY_FIELDS: Final[tuple[str, ...]] = (
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_lb",
    "ci_ub",
    "Q",
    "Qp",
    "tau2",
    "I2",
    "H2",
)

#: Keys of the JSON object ``synthesis pool --json`` prints (the CLI contract).
POOL_JSON_FIELDS: Final[tuple[str, ...]] = (
    "k",
    "k_excluded",
    "method",
    "test",
    "level",
    "measure",
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_lb",
    "ci_ub",
    "pi_lb",
    "pi_ub",
    "tau2",
    "tau2_ci_lb",
    "tau2_ci_ub",
    "I2",
    "H2",
    "QE",
    "QEp",
    "converged",
    "excluded",
    "notes",
    "yi",
    "vi",
    "transformed",
)
