"""Checks of the model settings (``method``, ``test``, ``level``, ``control``).

Each check returns the normalised value or raises
:class:`~synthesis.errors.UserInputError` saying what is allowed; the allowed values
come from :mod:`synthesis.vocabulary`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from synthesis import vocabulary
from synthesis.errors import UserInputError

__all__ = [
    "DEFAULT_CONTROL",
    "check_control",
    "check_level",
    "check_method",
    "check_settings",
    "check_test",
]

#: Defaults of the ``control`` argument of :func:`synthesis.stats.rma`.
#:
#: ``threshold``, ``relative``
#:     Fisher scoring (ML, REML, EB) stops when the change in τ² is at most
#:     ``threshold`` times the scale ``τ² + v̄`` (``v̄`` the mean sampling variance)
#:     when ``relative`` is True (the default), or at most ``threshold`` itself when
#:     ``relative`` is False. The relative rule is scale-free: multiplying every
#:     ``yi`` by ``c`` (so ``vi`` and τ² by ``c²``) changes neither the iterations nor
#:     the relative precision, so raw-unit mean differences (τ² ~ 1e5) converge as
#:     well as the same data in other units, and tiny variances (1e-9) do not stop
#:     the iteration early. The default 1e-12 makes τ² agree with a converged metafor
#:     to about 1e-10. metafor's own default is ``threshold = 1e-5`` on the absolute
#:     change with ``maxiter = 100``: ``control={"threshold": 1e-5, "relative":
#:     False, "maxiter": 100}`` reproduces it exactly. Under the relative rule REML
#:     finishes with Newton steps once it is near the maximum (see
#:     :mod:`synthesis.stats.tau2`); the absolute rule, and any ``stepadj`` other than
#:     1, keep metafor's pure Fisher scoring.
#: ``maxiter``
#:     Maximum Fisher-scoring iterations (default 1000; metafor: 100, which slow
#:     Fisher scoring can exhaust at a tight threshold).
#: ``tol``
#:     Absolute tolerance of the root searches (PM, Q-profile CI) and of the
#:     likelihood check at τ² = 0 after ML/REML.
#: ``tau2_init``
#:     Starting value of Fisher scoring (default: the Hedges estimate, as metafor)
#:     and the initial τ² of the Sidik-Jonkman estimator (default: the mean squared
#:     deviation of ``yi`` from its mean).
#: ``tau2_max``
#:     Upper end of the Q-profile search (default ``max(100, 10 τ̂²)``, as
#:     metafor's ``confint``). A bound beyond it is reported as that limit and
#:     marked truncated (a note on the result; a warning from the many-analyses
#:     API); raise ``tau2_max`` to find the true bound.
#: ``stepadj``
#:     Step length factor of Fisher scoring (metafor's ``stepadj``).
#: ``ll0check``
#:     After ML/REML, compare the (restricted) log-likelihood at τ² = 0 with the one
#:     at the estimate and fall back to 0 (with a warning) if it is larger, as
#:     metafor does.
DEFAULT_CONTROL: Mapping[str, Any] = MappingProxyType(
    {
        "threshold": 1e-12,
        "relative": True,
        "maxiter": 1000,
        "tol": 1e-12,
        "tau2_init": None,
        "tau2_max": None,
        "stepadj": 1.0,
        "ll0check": True,
    }
)


def check_method(method: object) -> str:
    """The τ² estimator's code (``"FE"`` becomes ``"EE"``).

    Examples
    --------
    >>> check_method("FE")
    'EE'
    """
    if isinstance(method, str):
        m = vocabulary.METHOD_ALIASES.get(method, method)
        if m in vocabulary.METHODS:
            return m
    raise UserInputError(
        f"method={method!r} is not a known τ² estimator; allowed: "
        f"{', '.join(repr(m) for m in vocabulary.METHODS)} (and 'FE' as an alias of 'EE')."
    )


def check_test(test: object) -> str:
    """The test of the coefficients (one of :data:`synthesis.vocabulary.TESTS`).

    Examples
    --------
    >>> check_test("knha")
    'knha'
    """
    if isinstance(test, str) and test in vocabulary.TESTS:
        return test
    raise UserInputError(
        f"test={test!r} is not a known test; allowed: "
        f"{', '.join(repr(t) for t in vocabulary.TESTS)}."
    )


def check_level(level: object) -> float:
    """Confidence level as a percentage strictly between 1 and 100.

    metafor reads ``level`` < 1 as a proportion (0.95 means 95 %); we accept only
    percentages and refuse values <= 1 rather than silently disagree with it.

    Examples
    --------
    >>> check_level(90)
    90.0
    """
    ok = isinstance(level, int | float | np.integer | np.floating) and not isinstance(level, bool)
    value = float(level) if ok else math.nan  # type: ignore[arg-type]
    if math.isfinite(value) and vocabulary.LEVEL_MIN < value < vocabulary.LEVEL_MAX:
        return value
    hint = ""
    if math.isfinite(value) and 0.0 < value <= 1.0:
        hint = (
            f" {value!r} looks like a proportion; write {100 * value:g} (metafor would read "
            "it as a proportion, this toolkit refuses rather than disagree silently)."
        )
    raise UserInputError(
        f"level={level!r} is not allowed; give the confidence level as a percentage "
        f"between 1 and 100 exclusive (e.g. 95), as metafor does.{hint}"
    )


def _positive(key: str, v: object) -> None:
    if not (isinstance(v, int | float) and not isinstance(v, bool) and v > 0):
        raise UserInputError(f"control[{key!r}]={v!r} must be a positive number.")


def check_control(control: Mapping[str, Any] | None) -> dict[str, Any]:
    """``control`` merged over :data:`DEFAULT_CONTROL`, every value checked.

    Examples
    --------
    >>> check_control({"threshold": 1e-5})["maxiter"]
    1000
    """
    con = dict(DEFAULT_CONTROL)
    if control is None:
        return con
    if not isinstance(control, Mapping):
        raise UserInputError(f"control={control!r} must be a mapping (dict) or None.")
    unknown = sorted(set(control) - set(con))
    if unknown:
        raise UserInputError(
            f"control has unknown key(s) {unknown}; allowed: {sorted(DEFAULT_CONTROL)}."
        )
    con.update(control)
    for key in ("threshold", "tol", "stepadj"):
        _positive(key, con[key])
    mi = con["maxiter"]
    if not (isinstance(mi, int | np.integer) and not isinstance(mi, bool) and mi >= 1):
        raise UserInputError(f"control['maxiter']={mi!r} must be a positive integer.")
    for key in ("tau2_init", "tau2_max"):
        v = con[key]
        if v is not None and not (
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
        ):
            raise UserInputError(f"control[{key!r}]={v!r} must be None or a finite number >= 0.")
    for key in ("relative", "ll0check"):
        if not isinstance(con[key], bool | np.bool_):
            raise UserInputError(f"control[{key!r}]={con[key]!r} must be True or False.")
    return con


def check_settings(kw: dict[str, Any]) -> tuple[str, str, float, dict[str, Any], str | None]:
    allowed = {"method", "test", "level", "control", "measure", "mods"}
    unknown = sorted(set(kw) - allowed)
    if unknown:
        raise UserInputError(f"unknown keyword argument(s) {unknown}; allowed: {sorted(allowed)}.")
    return (
        check_method(kw.get("method", "REML")),
        check_test(kw.get("test", "z")),
        check_level(kw.get("level", 95)),
        check_control(kw.get("control")),
        kw.get("measure"),
    )
