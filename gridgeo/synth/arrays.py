"""Small vectorised helpers on numpy arrays shared by the stages."""

from __future__ import annotations

import numpy as np

__all__ = [
    "group_offsets",
    "pick_in_ranges",
    "ranks_in_groups",
    "rectangle_corners",
    "split_evenly",
]


def split_evenly(total: int, parts: int, rng: np.random.Generator) -> np.ndarray:
    """Split ``total`` into ``parts`` positive integers of random, similar sizes.

    Parameters
    ----------
    total
        What the parts add up to.
    parts
        How many parts.
    rng
        Draws one uniform weight per part.

    Returns
    -------
    numpy.ndarray
        ``parts`` int64 sizes, each at least 1.
    """
    weights = rng.uniform(0.7, 1.3, parts)
    raw = weights / weights.sum() * total
    sizes = np.maximum(1, np.floor(raw)).astype(np.int64)
    while sizes.sum() < total:
        sizes[np.argmax(raw - sizes)] += 1
    while sizes.sum() > total:
        sizes[np.argmax(np.where(sizes > 1, sizes - raw, -np.inf))] -= 1
    return sizes


def ranks_in_groups(counts: np.ndarray) -> np.ndarray:
    """Position within its group of each element of consecutive groups of sizes ``counts``.

    Examples
    --------
    >>> ranks_in_groups(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    counts = np.asarray(counts, np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(counts.sum(), dtype=np.int64) - np.repeat(starts, counts)


def group_offsets(sorted_keys: np.ndarray, groups: int) -> np.ndarray:
    """Offsets (``groups + 1`` of them) of each key's run in sorted keys ``0..groups-1``.

    Examples
    --------
    >>> group_offsets(np.array([0, 0, 2]), 3).tolist()
    [0, 2, 2, 3]
    """
    return np.searchsorted(sorted_keys, np.arange(groups + 1))


def pick_in_ranges(rng: np.random.Generator, first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """A random index in ``[first, first + count)`` per element (``count > 0``)."""
    return first + np.floor(rng.random(len(first)) * count).astype(np.int64)


def rectangle_corners(
    centre_x: np.ndarray,
    centre_y: np.ndarray,
    axis_x: np.ndarray,
    axis_y: np.ndarray,
    width: np.ndarray,
    depth: np.ndarray,
) -> np.ndarray:
    """Corners ``(n, 4, 2)`` of rectangles, counter-clockwise.

    Parameters
    ----------
    centre_x, centre_y
        Centres.
    axis_x, axis_y
        Unit vector of each long axis.
    width, depth
        Extent along the long axis and across it.

    Returns
    -------
    numpy.ndarray
        The four corners of each rectangle.
    """
    normal_x, normal_y = -axis_y, axis_x
    half_width, half_depth = width / 2, depth / 2
    corners = np.empty((len(centre_x), 4, 2))
    for corner, (along, across) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1))):
        corners[:, corner, 0] = (
            centre_x + along * half_width * axis_x + across * half_depth * normal_x
        )
        corners[:, corner, 1] = (
            centre_y + along * half_width * axis_y + across * half_depth * normal_y
        )
    return corners
