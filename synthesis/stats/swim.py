"""Synthesis without meta-analysis: vote counting, combined p values, effect summaries.

When the studies of an outcome cannot be pooled, the Cochrane Handbook (chapter 12)
:cite:`higgins2023cochrane` and the SWiM guideline :cite:`campbell2020swim` accept three
summaries, each answering a narrower question than a meta-analysis:

* **vote counting on the direction of effect** (:func:`vote_count`): how many results
  favour the intervention, how many the comparator; the proportion favourable with a
  Wilson score interval :cite:`wilson1927probable` and a two-sided sign (binomial) test.
  Results with no difference (direction 0) are counted but, as ties, left out of the
  proportion and the test. It asks *is there any evidence of an effect?*, not how big.
* **combined one-sided p values** in the favourable direction (:func:`combine_p`):
  Stouffer's z unweighted and weighted by √n :cite:`stouffer1949american`, and Fisher's
  chi-square :cite:`fisher1932statistical`, computed by PyMARE's ``StoufferCombinationTest``
  and ``FisherCombinationTest`` :cite:`salo2023pymare`. A small combined p says that at
  least one study probably has an effect in that direction; it says nothing of its size
  or of how many studies share it.
* **the median, interquartile range and range of effect estimates**
  (:func:`summarise_estimates`), when some studies give estimates that cannot be pooled.

A two-sided p and a direction give the one-sided p as :func:`synthesis.stats.from_p.one_sided`
does; a direction of 0 (no difference) is taken as exactly null (one-sided p = 0.5, z = 0).
A bounded p (p < .05) never becomes a value: the combined p is then a bound in the same
sense, or not computed when bounds point both ways (:class:`CombinedP.bound`).

The albatross contours (:func:`albatross_n`, :func:`albatross_p`) are those of
:cite:`harrison2017albatross`, from the large-sample variance of each effect measure.

PyMARE is imported here only, inside the functions that need it, never on the rma path.

Examples
--------
>>> res = combine([0.01, 0.20, 0.04, 0.60], [1, 1, 1, -1], n=[40, 100, 25, 60])
>>> res.votes.positive, res.votes.negative, round(res.votes.sign_test_p, 4)
(3, 1, 0.625)
>>> round(res.combined.stouffer_z, 4), round(res.combined.fisher_chi2, 4)
(2.6934, 23.7392)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from synthesis.errors import UserInputError
from synthesis.stats.from_p import z_from_p

#: Keys of the JSON object ``synthesis combine --json`` prints (the CLI contract).
JSON_KEYS = (
    "k",
    "positive",
    "negative",
    "null",
    "prop_positive",
    "prop_ci_lb",
    "prop_ci_ub",
    "sign_test_p",
    "stouffer_z",
    "stouffer_p",
    "stouffer_weighted_z",
    "stouffer_weighted_p",
    "fisher_chi2",
    "fisher_df",
    "fisher_p",
)


@dataclass(frozen=True)
class VoteCount:
    """Vote count on the direction of effect, with a Wilson interval and a sign test.

    Attributes
    ----------
    k : int
        Results with a known direction (favourable, unfavourable or no difference).
    positive, negative, null : int
        Results favouring the intervention, the comparator, and showing no difference.
    prop_positive : float
        positive / (positive + negative); NaN when no result has a direction.
    prop_ci_lb, prop_ci_ub : float
        Wilson score interval of that proportion at ``level`` percent.
    sign_test_p : float
        Two-sided exact binomial test of positive out of positive + negative against 0.5.
    level : float
        Confidence level in percent.
    """

    k: int
    positive: int
    negative: int
    null: int
    prop_positive: float
    prop_ci_lb: float
    prop_ci_ub: float
    sign_test_p: float
    level: float = 95.0

    @property
    def tells(self) -> str:
        """What the vote count can tell a reader."""
        return (
            f"{self.positive} of {self.positive + self.negative} results with a direction "
            "favour the intervention; the sign test asks whether a split this uneven could "
            "arise by chance if the intervention made no difference"
        )

    @property
    def cannot_tell(self) -> str:
        """What it cannot tell."""
        return (
            "it ignores how large each effect was and how precise each study was: a small "
            "study counts as much as a large one, and it gives no effect size"
        )


@dataclass(frozen=True)
class CombinedP:
    """Combined one-sided p values in the favourable direction.

    Attributes
    ----------
    k : int
        Results combined.
    stouffer_z, stouffer_p : float
        Stouffer's unweighted z and its one-sided p.
    stouffer_weighted_z, stouffer_weighted_p : float
        Stouffer's z weighted by √n (NaN when some n is missing).
    fisher_chi2, fisher_df, fisher_p : float
        Fisher's -2 Σ ln p, its 2k degrees of freedom, and its upper-tail p.
    bound : {"=", "<=", ">="}
        ``"="`` when every p was exact; ``"<="`` (``">="``) when some were bounds and the
        combined p values are upper (lower) bounds.
    """

    k: int
    stouffer_z: float
    stouffer_p: float
    stouffer_weighted_z: float
    stouffer_weighted_p: float
    fisher_chi2: float
    fisher_df: int
    fisher_p: float
    bound: str = "="

    @property
    def tells(self) -> str:
        return "whether at least one study probably has an effect in the favourable direction"

    @property
    def cannot_tell(self) -> str:
        return (
            "how large the effect is, or how many studies share it; a few very small p values "
            "can dominate, and studies of the same people would count twice"
        )


@dataclass(frozen=True)
class EstimateSummary:
    """Median, quartiles and range of effect estimates that could not be pooled."""

    k: int
    median: float
    q1: float
    q3: float
    minimum: float
    maximum: float

    @property
    def tells(self) -> str:
        return "the typical size and the spread of the effects the studies report"

    @property
    def cannot_tell(self) -> str:
        return (
            "a confidence interval: studies are not weighted by their precision, so this is "
            "a description, not an estimate of the average effect"
        )


@dataclass(frozen=True)
class SwimResult:
    """Everything :func:`combine` computes for one set of results."""

    votes: VoteCount
    combined: CombinedP
    labels: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, float | int | None]:
        """The :data:`JSON_KEYS` object printed by ``synthesis combine --json`` (NaN as None)."""
        v, c = self.votes, self.combined
        values = {
            "k": v.k,
            "positive": v.positive,
            "negative": v.negative,
            "null": v.null,
            "prop_positive": v.prop_positive,
            "prop_ci_lb": v.prop_ci_lb,
            "prop_ci_ub": v.prop_ci_ub,
            "sign_test_p": v.sign_test_p,
            "stouffer_z": c.stouffer_z,
            "stouffer_p": c.stouffer_p,
            "stouffer_weighted_z": c.stouffer_weighted_z,
            "stouffer_weighted_p": c.stouffer_weighted_p,
            "fisher_chi2": c.fisher_chi2,
            "fisher_df": c.fisher_df,
            "fisher_p": c.fisher_p,
        }
        return {
            key: None if isinstance(val, float) and math.isnan(val) else val
            for key, val in values.items()
        }


def _directions(direction: Sequence[int]) -> list[int]:
    out = []
    for i, d in enumerate(direction):
        if isinstance(d, bool) or d not in (-1, 0, 1):
            raise UserInputError(f"direction[{i}] = {d!r}: must be +1, -1 or 0")
        out.append(int(d))
    return out


def vote_count(direction: Sequence[int], *, level: float = 95.0) -> VoteCount:
    """Count results by direction; Wilson interval and two-sided sign test.

    Parameters
    ----------
    direction : sequence of {+1, -1, 0}
        +1 favours the intervention, -1 the comparator, 0 no difference (a tie: counted,
        but not in the proportion or the test).
    level : float
        Confidence level of the Wilson interval, in percent.

    Returns
    -------
    VoteCount

    Examples
    --------
    >>> v = vote_count([1, 1, 1, 1, -1, 0])
    >>> v.positive, v.negative, v.null, round(v.prop_positive, 2), round(v.sign_test_p, 4)
    (4, 1, 1, 0.8, 0.375)
    """
    from scipy.stats import binomtest

    if not 0 < level < 100:
        raise UserInputError(f"level = {level!r}: must lie strictly between 0 and 100")
    dirs = _directions(direction)
    pos, neg, null = dirs.count(1), dirs.count(-1), dirs.count(0)
    m = pos + neg
    if m == 0:
        nan = math.nan
        return VoteCount(len(dirs), pos, neg, null, nan, nan, nan, nan, level)
    test = binomtest(pos, m, 0.5, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=level / 100, method="wilson")
    return VoteCount(
        len(dirs), pos, neg, null, pos / m, float(ci.low), float(ci.high), float(test.pvalue), level
    )


def combine_p(
    p: Sequence[float],
    direction: Sequence[int],
    n: Sequence[float] | None = None,
    *,
    p_bound: Sequence[str] | None = None,
) -> CombinedP:
    """Stouffer (unweighted, √n-weighted) and Fisher on one-sided p in the favourable direction.

    Parameters
    ----------
    p : sequence of float
        Two-sided p values, in (0, 1].
    direction : sequence of {+1, -1, 0}
        Direction of each result (0: no difference, one-sided p = 0.5).
    n : sequence of float, optional
        Sample sizes for the √n weights; without them the weighted test is NaN.
    p_bound : sequence of {"=", "<", ">"}, optional
        How each p was reported. A bounded p is used at its bound, and the combined p
        values are then bounds: ``"<="`` when every bound makes its one-sided p smaller
        than or equal to the value used, ``">="`` when larger; bounds pointing both ways
        give NaN.

    Returns
    -------
    CombinedP
    """
    import numpy as np

    # lazy: PyMARE (with sympy) takes seconds to import; only combination tests need it
    from pymare.estimators import FisherCombinationTest, StoufferCombinationTest

    dirs = _directions(direction)
    if len(p) != len(dirs):
        raise UserInputError(f"p has {len(p)} values but direction has {len(dirs)}")
    if not dirs:
        raise UserInputError("no results to combine (k = 0)")
    bounds = list(p_bound) if p_bound is not None else ["="] * len(dirs)
    z = np.array([z_from_p(float(pi), d) for pi, d in zip(p, dirs, strict=True)])
    # which way each bound moves the one-sided p: p < b in the favourable direction
    # makes p1 smaller than p1(b), against it larger; p > b the reverse
    sides = set()
    for b, d in zip(bounds, dirs, strict=True):
        if b == "=":
            continue
        if b not in ("<", ">"):
            raise UserInputError(f"p_bound {b!r}: allowed values are '=', '<', '>'")
        if d == 0:
            sides.add("?")  # no difference with a bounded p: the one-sided p is unknown
        else:
            smaller = (b == "<") == (d > 0)
            sides.add("<=" if smaller else ">=")
    bound = "=" if not sides else (sides.pop() if len(sides) == 1 and "?" not in sides else "")
    k = len(dirs)
    fisher_df = 2 * k
    if bound == "":
        nan = math.nan
        return CombinedP(k, nan, nan, nan, nan, nan, fisher_df, nan, "mixed")
    col = z[:, None]
    st = StoufferCombinationTest().fit(col).params_
    fi = FisherCombinationTest().fit(col).params_
    from scipy.special import log_ndtr

    fisher_chi2 = float(-2 * np.sum(log_ndtr(-z)))
    wz = wp = math.nan
    if n is not None:
        w = np.sqrt(np.asarray(n, dtype=float))
        if w.shape != z.shape:
            raise UserInputError(f"n has {w.size} values but p has {z.size}")
        if np.all(np.isfinite(w)) and np.all(w > 0):
            sw = StoufferCombinationTest().fit(col, w=w[:, None]).params_
            wz, wp = float(sw["z"][0]), float(sw["p"][0])
    return CombinedP(
        k,
        float(st["z"][0]),
        float(st["p"][0]),
        wz,
        wp,
        fisher_chi2,
        fisher_df,
        float(fi["p"][0]),
        bound,
    )


def combine(
    p: Sequence[float],
    direction: Sequence[int],
    n: Sequence[float] | None = None,
    *,
    labels: Sequence[str] | None = None,
    level: float = 95.0,
) -> SwimResult:
    """Vote count and combined p values for one set of results (``synthesis combine``).

    Parameters
    ----------
    p : sequence of float
        Two-sided p values.
    direction : sequence of {+1, -1, 0}
        Direction of each result.
    n : sequence of float, optional
        Sample sizes (for the √n-weighted Stouffer test).
    labels : sequence of str, optional
        Study labels, kept with the result.
    level : float
        Confidence level of the Wilson interval, in percent.
    """
    votes = vote_count(direction, level=level)
    combined = combine_p(p, direction, n)
    return SwimResult(votes, combined, tuple(str(x) for x in labels or ()))


def summarise_estimates(values: Sequence[float]) -> EstimateSummary | None:
    """Median, quartiles (R's default type 7, as numpy) and range; None without values.

    >>> s = summarise_estimates([0.2, 0.5, 0.3, 0.9])
    >>> s.median, round(s.q1, 3), round(s.q3, 3), s.minimum, s.maximum
    (0.4, 0.275, 0.6, 0.2, 0.9)
    """
    import numpy as np

    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if x.size == 0:
        return None
    q1, med, q3 = (float(v) for v in np.quantile(x, [0.25, 0.5, 0.75]))
    return EstimateSummary(int(x.size), med, q1, q3, float(x.min()), float(x.max()))


# ----------------------------------------------------------------------------- albatross

#: Study designs with albatross contours, and the effect measure each contour is drawn for.
ALBATROSS_DESIGNS = {"two-group": "SMD", "paired": "SMCC", "correlation": "r"}


def _albatross_check(design: str, effect: float, ratio: float) -> None:
    if design not in ALBATROSS_DESIGNS:
        raise UserInputError(
            f"design {design!r}: allowed are {', '.join(ALBATROSS_DESIGNS)} "
            "(two-group: SMD; paired: SMCC; correlation: r)"
        )
    if effect == 0 or not math.isfinite(effect):
        raise UserInputError(f"effect = {effect!r}: a contour needs a non-zero effect size")
    if design == "correlation" and not -1 < effect < 1:
        raise UserInputError(f"effect = {effect!r}: a correlation contour needs -1 < r < 1")
    if not ratio > 0:
        raise UserInputError(f"ratio = {ratio!r}: the ratio of group sizes must be > 0")


def albatross_n(p: float, effect: float, design: str = "two-group", ratio: float = 1.0) -> float:
    """Total sample size at which ``effect`` gives the two-sided p value ``p``.

    With :math:`z = \\Phi^{-1}(1 - p/2)` and the large-sample variance of each measure
    :cite:`harrison2017albatross`:

    * two-group SMD with group ratio :math:`\\rho = n_1/n_2`:
      :math:`N = \\left(\\frac{(1+\\rho)^2}{\\rho} + \\frac{d^2}{2}\\right)\\frac{z^2}{d^2}`;
    * paired standardised mean change: :math:`N = (1 + d^2/2)\\, z^2 / d^2`;
    * correlation (Fisher's z): :math:`N = 3 + z^2 / \\operatorname{atanh}(r)^2`.

    >>> round(albatross_n(0.05, 0.5), 2)
    63.38
    """
    from scipy.stats import norm

    _albatross_check(design, effect, ratio)
    if not 0 < p < 1:
        raise UserInputError(f"p = {p!r}: a contour point needs 0 < p < 1")
    z = float(norm.isf(p / 2))
    if design == "two-group":
        return ((1 + ratio) ** 2 / ratio + effect**2 / 2) * z**2 / effect**2
    if design == "paired":
        return (1 + effect**2 / 2) * z**2 / effect**2
    return 3 + z**2 / math.atanh(effect) ** 2


def albatross_p(n: float, effect: float, design: str = "two-group", ratio: float = 1.0) -> float:
    """Two-sided p value that ``effect`` gives at total sample size ``n`` (inverse of
    :func:`albatross_n`).

    >>> round(albatross_p(63.38, 0.5), 4)
    0.05
    """
    from scipy.stats import norm

    _albatross_check(design, effect, ratio)
    if design == "two-group":
        se = math.sqrt(((1 + ratio) ** 2 / ratio + effect**2 / 2) / n)
        z = abs(effect) / se
    elif design == "paired":
        z = abs(effect) / math.sqrt((1 + effect**2 / 2) / n)
    else:
        if n <= 3:
            return 1.0
        z = abs(math.atanh(effect)) * math.sqrt(n - 3)
    return float(2 * norm.sf(z))
