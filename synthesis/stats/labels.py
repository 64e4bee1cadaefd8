"""Study labels."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["unique_labels"]


def unique_labels(labels: Sequence[str]) -> tuple[str, ...]:
    """Study labels made unique as metafor does: ``Smith`` twice becomes ``Smith.1``, ``Smith.2``.

    Examples
    --------
    >>> unique_labels(["Smith", "Jones", "Smith"])
    ('Smith.1', 'Jones', 'Smith.2')
    """
    counts: dict[str, int] = {}
    for s in labels:
        counts[s] = counts.get(s, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for s in labels:
        if counts[s] > 1:
            seen[s] = seen.get(s, 0) + 1
            out.append(f"{s}.{seen[s]}")
        else:
            out.append(s)
    return tuple(out)
