"""The statistics of the toolkit, laid out like metafor: one concern per module.

============================  ==========================================================
module                        concern
============================  ==========================================================
:mod:`~.measures`             one function per effect-size measure (``es_*``)
:mod:`~.escalc`               ``escalc``: effect sizes for a table of metafor's arguments
:mod:`~.conversions`          SE from a CI or p, d ↔ r, events from percentages, ...
:mod:`~.transforms`           back-transformations for reporting (``transf_*``)
:mod:`~.control`              checks of method, test, level and ``control``
:mod:`~.tau2`                 the τ² estimators, vectorised over analyses
:mod:`~.fit`                  the one model fit (coefficients, tests, I², intervals)
:mod:`~.rma`                  ``rma``: user input → fit → result
:mod:`~.results`              result types and their printed, HTML and table forms
:mod:`~.robust_result`        the result of ``robust``, printed as metafor's
:mod:`~.influence`            ``leave1out``, ``cumul``, ``influence``
:mod:`~.subgroup`             subgroup analyses and the test for subgroup differences
:mod:`~.bias`                 ``regtest`` and ``trimfill``
:mod:`~.robust`               ``robust``: cluster-robust (CR2/CR1) tests for dependent effects
:mod:`~.many`                 many analyses at once (arrays, pandas, Dask)
:mod:`~.pymare_io`            exchange with PyMARE (``to_pymare``, ``from_pymare``)
============================  ==========================================================
"""

from __future__ import annotations

from synthesis.stats.bias import regtest, trimfill
from synthesis.stats.control import DEFAULT_CONTROL
from synthesis.stats.conversions import (
    d_to_r,
    events_from_percent,
    r_from_r2,
    r_to_d,
    sd_from_ci,
    se_from_ci,
    se_from_p,
    var_d,
    var_from_ci,
)
from synthesis.stats.escalc import escalc, escalc_table
from synthesis.stats.influence import cumul, influence, leave1out
from synthesis.stats.many import COLUMNS, fit_arrays, fit_many, fit_models
from synthesis.stats.measures import (
    es_cor,
    es_md,
    es_or,
    es_pft,
    es_plo,
    es_pr,
    es_rd,
    es_rr,
    es_smcc,
    es_smcr,
    es_smd,
    es_zcor,
)
from synthesis.stats.predict import confint, predict
from synthesis.stats.pymare_io import from_pymare, to_pymare
from synthesis.stats.results import (
    Coefficient,
    MetaResult,
    RegtestResult,
    SubgroupResult,
    TransformedResult,
    TrimfillResult,
)
from synthesis.stats.rma import rma
from synthesis.stats.robust import robust
from synthesis.stats.robust_result import RobustCoefficient, RobustResult
from synthesis.stats.subgroup import subgroup
from synthesis.stats.transforms import (
    backtransform,
    transf_exp,
    transf_ilogit,
    transf_ipft_hm,
    transf_ztor,
)
from synthesis.vocabulary import MEASURES, METHODS, NULL_VALUES, PROPORTION_MEASURES, TESTS

__all__ = [
    "COLUMNS",
    "DEFAULT_CONTROL",
    "MEASURES",
    "METHODS",
    "NULL_VALUES",
    "PROPORTION_MEASURES",
    "TESTS",
    "Coefficient",
    "MetaResult",
    "RegtestResult",
    "RobustCoefficient",
    "RobustResult",
    "SubgroupResult",
    "TransformedResult",
    "TrimfillResult",
    "backtransform",
    "confint",
    "cumul",
    "d_to_r",
    "es_cor",
    "es_md",
    "es_or",
    "es_pft",
    "es_plo",
    "es_pr",
    "es_rd",
    "es_rr",
    "es_smcc",
    "es_smcr",
    "es_smd",
    "es_zcor",
    "escalc",
    "escalc_table",
    "events_from_percent",
    "fit_arrays",
    "fit_many",
    "fit_models",
    "from_pymare",
    "influence",
    "leave1out",
    "predict",
    "r_from_r2",
    "r_to_d",
    "regtest",
    "rma",
    "robust",
    "sd_from_ci",
    "se_from_ci",
    "se_from_p",
    "subgroup",
    "to_pymare",
    "transf_exp",
    "transf_ilogit",
    "transf_ipft_hm",
    "transf_ztor",
    "trimfill",
    "var_d",
    "var_from_ci",
]
