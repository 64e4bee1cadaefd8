"""The engine against PyMARE where the two agree by construction, and the exchange."""

from __future__ import annotations

import numpy as np
import pytest
from pymare import Dataset
from pymare.estimators import (
    DerSimonianLaird,
    Hedges,
    VarianceBasedLikelihoodEstimator,
    WeightedLeastSquares,
)

from synthesis import stats
from synthesis.errors import UserInputError
from tests.tolerances import CLOSED_FORM

RNG = np.random.default_rng(20261201)
VI = RNG.uniform(0.01, 0.2, 15)
YI = RNG.normal(0.3, np.sqrt(VI + 0.08))
MOD = RNG.normal(0, 1, 15)

#: PyMARE's likelihood estimators stop at scipy's optimiser tolerance, not at ours.
PYMARE_PRECISION = 1e-4


@pytest.mark.parametrize(
    ("method", "estimator", "tol"),
    [
        ("EE", WeightedLeastSquares(), CLOSED_FORM),
        ("DL", DerSimonianLaird(), CLOSED_FORM),
        ("HE", Hedges(), CLOSED_FORM),
        ("ML", VarianceBasedLikelihoodEstimator(method="ML"), PYMARE_PRECISION),
        ("REML", VarianceBasedLikelihoodEstimator(method="REML"), PYMARE_PRECISION),
    ],
)
@pytest.mark.parametrize("with_mods", [False, True])
def test_engine_agrees_with_pymare(method, estimator, tol, with_mods):
    fit = stats.rma(YI, VI, method=method, mods=MOD if with_mods else None)
    res = estimator.fit_dataset(stats.to_pymare(fit)).summary()
    tau2 = float(np.asarray(res.tau2).ravel()[0])
    assert fit.tau2 == pytest.approx(tau2, abs=tol, rel=tol)
    b = np.asarray(res.fe_params).ravel()
    np.testing.assert_allclose([c.estimate for c in fit.coefficients], b, rtol=tol, atol=tol)


def test_round_trip_through_pymare():
    fit = stats.rma(YI, VI, mods=MOD, method="DL")
    back = stats.from_pymare(stats.to_pymare(fit), method="DL")
    assert back.tau2 == pytest.approx(fit.tau2, abs=CLOSED_FORM)
    assert [c.estimate for c in back.coefficients] == pytest.approx(
        [c.estimate for c in fit.coefficients], abs=CLOSED_FORM
    )


def test_from_pymare_refuses_what_it_cannot_read():
    with pytest.raises(UserInputError, match="one outcome"):
        stats.from_pymare(Dataset(y=np.ones((3, 2)), v=np.ones((3, 2))))
