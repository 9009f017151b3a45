"""The conditional randomisation engine every local statistic hands its inference to.

A local statistic asks how unusual the sum of a cell's neighbours is when the cell keeps
its value and its neighbours are drawn at random among the other cells. esda does this in
``esda.crand``, with a copy of the data per cell; :func:`conditional_counts` draws exactly
esda's permutations (same seed, same pseudo-p) without that copy. :func:`pseudo_p` turns
the counts into pseudo p-values, :func:`significant` applies the false-discovery-rate
correction, and :func:`confidence_bins` gives Esri's ±3/2/1 classes.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "BLOCK",
    "LEVELS",
    "TIES",
    "check_ties",
    "conditional_counts",
    "confidence_bins",
    "permuted_ids",
    "pseudo_p",
    "significant",
]

#: confidence levels of the bins: bin -> two-sided significance level
LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))
#: elements per block of the permutation engine (memory ~ 8 bytes each, twice)
BLOCK = 1 << 22
#: how ties between a draw and the observation count: esda's way, or in both tails
TIES = ("esda", "both")


def check_ties(ties: str) -> None:
    """Refuse an unknown ``ties`` option.

    Raises
    ------
    ValueError
        ``ties`` is not one of :data:`TIES`.
    """
    if ties not in TIES:
        raise ValueError(f"ties must be 'esda' or 'both', not {ties!r}")


def permuted_ids(max_card: int, n: int, permutations: int, seed: int) -> np.ndarray:
    """Draw esda's permutations (``esda.crand.vec_permutations``) without touching the global RNG.

    Each row holds ``max_card`` ids drawn without replacement among ``n - 1``, as
    esda draws them without numba (with numba installed, esda draws another stream).

    Examples
    --------
    >>> permuted_ids(2, 5, 3, seed=0).tolist()
    [[2, 3], [0, 2], [3, 0]]
    """
    rng = np.random.RandomState(seed)
    out = np.empty((permutations, max_card), dtype=np.int64)
    for k in range(permutations):
        out[k] = rng.permutation(n - 1)[:max_card]
    return out


def conditional_counts(
    y: np.ndarray,
    other: sp.csr_matrix,
    observed: np.ndarray,
    direction: np.ndarray,
    permutations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, how many random neighbour sums are ``>=`` (``<=``) the observed one.

    Returns esda's count (``>=`` for ``direction`` +1, ``<=`` for -1, every draw for 0)
    and the count of the opposite tail, ties included in both.

    Conditional randomisation as esda does it: cell i keeps its value, its k neighbours
    are replaced by the values at esda's permuted ids (drawn among the n-1 others). The
    value at permuted id r is ``y[r]`` when r < i, else ``y[r + 1]``, so no copy of the
    data per cell is needed: a block of cells with k neighbours is one broadcast over
    (cells, permutations, k). ``direction`` +1 counts ``>=``, -1 counts ``<=``, 0 counts
    every draw (a tie).

    Parameters
    ----------
    y
        The value of each cell.
    other
        The binary neighbour matrix (no self-weight), from
        :func:`~gridgeo.analysis.hotspots.weights.spatial_weights`.
    observed
        The observed neighbour sum of each cell (``other @ y``).
    direction
        +1, -1 or 0 per cell: the tail the statistic looks at.
    permutations, seed
        How many draws, and the seed of esda's stream.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The count in the looked-at tail and the count in the opposite tail.

    Examples
    --------
    Four cells in a row; the last one's single neighbour (value 2) against draws of
    one value among the others' 0, 1 and 2: two of nine draws reach 2, all are at most 2.

    >>> other = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1],
    ...                                 [0, 0, 1, 0]], dtype=float))
    >>> y = np.array([0.0, 1.0, 2.0, 5.0])
    >>> ge, le = conditional_counts(y, other, other @ y, np.ones(4), 9, seed=1)
    >>> int(ge[3]), int(le[3])
    (2, 9)
    """
    n = len(y)
    card = np.diff(other.indptr)
    count = np.full(n, permutations, dtype=np.int64)
    opposite = np.full(n, permutations, dtype=np.int64)
    if n < 2 or card.max(initial=0) == 0 or permutations == 0:
        return count, opposite
    ids = permuted_ids(int(card.max()), n, permutations, seed)
    ext = np.append(y, 0.0)
    base = ext[ids]  # value when the id is below i
    step = ext[ids + 1] - base  # change when the id is at or above i
    for k in np.unique(card[card > 0]):
        rows = np.flatnonzero(card == k)
        r, b, d = ids[:, :k], base[:, :k].sum(axis=1), step[:, :k]
        block = max(1, BLOCK // (permutations * int(k)))
        for s in range(0, len(rows), block):
            i = rows[s : s + block]
            shifted = r[None, :, :] >= i[:, None, None]
            lag = b[None, :] + np.einsum("mpk,pk->mp", shifted, d, optimize=False)
            obs = observed[i][:, None]
            ge = (lag >= obs).sum(axis=1)
            le = (lag <= obs).sum(axis=1)
            dirn = direction[i]
            count[i] = np.where(dirn > 0, ge, np.where(dirn < 0, le, permutations))
            opposite[i] = np.where(dirn > 0, le, np.where(dirn < 0, ge, permutations))
    return count, opposite


def pseudo_p(counts: tuple[np.ndarray, np.ndarray], permutations: int, ties: str) -> np.ndarray:
    """Pseudo p-value of the tail the observed value is in: (larger + 1) / (perms + 1).

    ``ties="esda"`` is esda's default ("directed"): ties count in the upper tail only,
    so the lower tail is ``permutations - count``. ``ties="both"`` counts ties in both
    tails (conservative; the same as esda where no draw ties with the observation).

    Examples
    --------
    >>> counts = (np.array([0, 9, 5]), np.array([9, 0, 5]))
    >>> pseudo_p(counts, 9, "esda").tolist(), pseudo_p(counts, 9, "both").tolist()
    ([0.1, 0.1, 0.5], [0.1, 0.1, 0.6])
    """
    count, opposite = counts
    larger = count.astype(np.int64).copy()
    if ties == "both":
        larger = np.minimum(larger, opposite)
    else:
        low = (permutations - larger) < larger
        larger[low] = permutations - larger[low]
    return (larger + 1.0) / (permutations + 1.0)


def significant(p: np.ndarray, alpha: float, fdr: bool) -> np.ndarray:
    """Where ``p`` is significant at ``alpha``; NaN is never significant.

    With ``fdr``, significant is below the Benjamini-Hochberg threshold (``esda.fdr``),
    else ``p <= alpha``.

    Examples
    --------
    >>> p = np.array([0.001, 0.02, 0.04, np.nan, 0.3])
    >>> significant(p, 0.05, fdr=False).tolist(), significant(p, 0.05, fdr=True).tolist()
    ([True, True, True, False, False], [True, True, False, False, False])
    """
    from esda import fdr as esda_fdr

    ok = np.isfinite(p)
    sig = np.zeros(len(p), bool)
    if not ok.any():
        return sig
    if fdr:
        sig[ok] = p[ok] < esda_fdr(p[ok], alpha)
    else:
        sig[ok] = p[ok] <= alpha
    return sig


def confidence_bins(z: np.ndarray, p: np.ndarray, fdr: bool) -> np.ndarray:
    """Esri's Gi_Bin: ±3/2/1 for 99/95/90 % confidence, the sign of z; 0 otherwise.

    Examples
    --------
    >>> confidence_bins(np.array([3.0, -2.1, 1.7, 0.2]),
    ...                 np.array([0.003, 0.04, 0.09, 0.8]), fdr=False).tolist()
    [3, -2, 1, 0]
    """
    out = np.zeros(len(z), dtype=np.int64)
    for level, alpha in reversed(LEVELS):  # 90 % first, then overwrite with 95, 99
        sig = significant(p, alpha, fdr)
        out[sig] = level * np.sign(z[sig]).astype(np.int64)
    return out
