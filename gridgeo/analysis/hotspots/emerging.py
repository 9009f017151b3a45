"""Emerging hot spots: Gi* per time slice, a Mann-Kendall trend per cell, Esri's categories.

:func:`emerging_hotspots` counts the problems per cell and time slice, finds the hot and
cold spots of each slice with the analytic Gi*, tests the trend of each cell's Gi* z with
:func:`mann_kendall` and names the pattern with :func:`emerging_pattern` (new,
consecutive, intensifying, persistent, diminishing, sporadic, oscillating, historical).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy import stats

from gridgeo.analysis.hotspots.cells import CellAssignment, assign_cells
from gridgeo.analysis.hotspots.getis_ord import gi_star_moments
from gridgeo.analysis.hotspots.permutation import significant
from gridgeo.analysis.hotspots.selection import DEFAULT_TIMEZONE, local_times
from gridgeo.analysis.hotspots.weights import spatial_weights
from gridgeo.errors import Issue, ValidationError
from gridgeo.policy import Policy

__all__ = [
    "INTERVALS",
    "PATTERNS",
    "SPOTS_ZH",
    "emerging_hotspots",
    "emerging_pattern",
    "mann_kendall",
]

#: emerging hot spot patterns (Esri's) -> Chinese name
PATTERNS = {
    "new": "新增",
    "consecutive": "连续",
    "intensifying": "加剧",
    "persistent": "持续",
    "diminishing": "减弱",
    "sporadic": "零星",
    "oscillating": "振荡",
    "historical": "历史",
}
#: kind of spot -> Chinese name
SPOTS_ZH = {"hot": "热点", "cold": "冷点"}
#: time slice name -> pandas period frequency (other pandas frequencies are used as given)
INTERVALS = {"month": "M", "week": "W-SUN", "day": "D"}


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann-Kendall trend test of each row of ``series`` (cells × time).

    S is the sum of the signs of all later-minus-earlier differences; its variance has
    the usual correction for ties, ``(n(n-1)(2n+5) - Σ t(t-1)(2t+5)) / 18``; z uses the
    continuity correction (S ∓ 1) and p is two-sided.

    Returns
    -------
    (S, z, p)
        Arrays with one value per row (z 0 and p 1 where the variance is 0).

    Examples
    --------
    >>> s, z, p = mann_kendall(np.array([[1, 2, 3, 4, 5], [5, 4, 4, 4, 1]]))
    >>> s.tolist(), z.round(4).tolist(), p.round(4).tolist()
    ([10, -7], [2.2045, -1.6641], [0.0275, 0.0961])
    """
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    m, t = x.shape
    iu, ju = np.triu_indices(t, k=1)
    s = np.sign(x[:, ju] - x[:, iu]).sum(axis=1).astype(np.int64)
    # ties: run lengths of equal values in each sorted row
    srt = np.sort(x, axis=1)
    start = np.ones((m, t), bool)
    start[:, 1:] = srt[:, 1:] != srt[:, :-1]
    run_id = np.cumsum(start.ravel()) - 1
    lengths = np.bincount(run_id).astype(np.float64)
    owner = np.repeat(np.arange(m), t)[start.ravel()]
    ties = np.bincount(owner, weights=lengths * (lengths - 1) * (2 * lengths + 5), minlength=m)
    var = (t * (t - 1) * (2 * t + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
    z = np.where(var > 0, z, 0.0)
    return s, z, 2 * stats.norm.sf(np.abs(z))


def emerging_pattern(
    states: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray, *, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Esri's emerging hot spot categories from per-slice states and the trend.

    ``states`` is cells × slices of +1 (significant hot spot), −1 (cold), 0. For hot
    spots (cold ones mirror it, with "cold" for "hot" and the trend reversed):

    * ``new``: hot in the final slice only;
    * ``consecutive``: one unbroken run of at least two hot slices ending in the final
      one, never hot before, hot in less than 90 % of the slices;
    * ``intensifying`` / ``persistent`` / ``diminishing``: hot in at least 90 % of the
      slices including the final one, with a significant (``trend_p < alpha``) upward /
      no / downward Mann-Kendall trend of the Gi* z;
    * ``sporadic``: hot in the final slice, in less than 90 % of the slices, never cold
      (and neither new nor consecutive);
    * ``oscillating``: hot in the final slice, in less than 90 %, cold in some earlier;
    * ``historical``: not hot in the final slice but in at least 90 % of them.

    Our choices where Esri's wording leaves room: the 90 % share counts slices
    (``hot >= 0.9 * slices``), sporadic and oscillating require the final slice to be
    significant, a cell that was ever of the opposite kind is oscillating (before new
    or consecutive), and a cell whose final slice is neither hot nor cold can only be
    historical.

    Returns
    -------
    (pattern, spot)
        ``pattern`` one of :data:`PATTERNS` or ``""``; ``spot`` ``"hot"``, ``"cold"``
        or ``""``.

    Examples
    --------
    >>> s = np.array([[0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ...               [0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
    ...               [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ...               [1, 0, 0, 1, 0, 0, 0, 0, 0, 1],
    ...               [-1, 0, 0, 0, 0, 0, 0, 1, 1, 1],
    ...               [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]])
    >>> emerging_pattern(s, np.zeros(6), np.ones(6))[0].tolist()
    ['new', 'consecutive', 'persistent', 'sporadic', 'oscillating', 'historical']
    """
    states = np.atleast_2d(np.asarray(states, dtype=np.int64))
    m, t = states.shape
    pattern = np.full(m, "", dtype=object)
    spot = np.full(m, "", dtype=object)
    if t == 0:
        return pattern, spot
    up = (trend_p < alpha) & (trend_z > 0)
    down = (trend_p < alpha) & (trend_z < 0)
    for sign, name, rising, falling in ((1, "hot", up, down), (-1, "cold", down, up)):
        this = states == sign
        other = states == -sign
        n_this = this.sum(axis=1)
        last = this[:, -1]
        mostly = n_this >= 0.9 * t
        # length of the run of this state that ends at the final slice
        run = np.where(last, t - _last_false(this), 0)
        before = n_this - run  # slices of this state before that run
        p = np.full(m, "", dtype=object)
        p[last & mostly & rising] = "intensifying"
        p[last & mostly & falling] = "diminishing"
        p[last & mostly & ~rising & ~falling] = "persistent"
        was_other = other.any(axis=1)
        p[last & ~mostly] = "sporadic"
        p[last & ~mostly & (before == 0) & (run >= 2)] = "consecutive"
        p[last & (n_this == 1)] = "new"
        p[last & ~mostly & was_other] = "oscillating"
        p[~last & mostly & ~states[:, -1].astype(bool)] = "historical"
        chosen = (p != "") & (pattern == "")
        pattern[chosen], spot[chosen] = p[chosen], name
    return pattern, spot


def _last_false(mask: np.ndarray) -> np.ndarray:
    """Index after the last False in each row (0 when all are True)."""
    t = mask.shape[1]
    rev = ~mask[:, ::-1]
    has = rev.any(axis=1)
    return np.where(has, t - np.argmax(rev, axis=1), 0)


def emerging_hotspots(
    problems: gpd.GeoDataFrame,
    *,
    area: gpd.GeoDataFrame | shapely.Geometry | None = None,
    cells: str | gpd.GeoDataFrame | CellAssignment = "h3:9",
    interval: str = "month",
    weights: str | Any = "queen",
    alpha: float = 0.10,
    fdr: bool = True,
    timezone: str = DEFAULT_TIMEZONE,
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Emerging hot spots: Gi* per time slice, Mann-Kendall trend, Esri's categories.

    The problems are counted per cell (as
    :func:`~gridgeo.analysis.hotspots.cells.aggregate`) and per time slice
    (``interval`` ``"month"``, ``"week"`` or ``"day"``, in local time in ``timezone``;
    every slice from the first to the last problem, empty ones included). In each slice
    a cell is a hot (cold) spot when its Gi* (spatial neighbours only, analytic) is
    significant at ``alpha`` (default 0.10, 90 % confidence, FDR-corrected in each
    slice). The trend is the Mann-Kendall test of the cell's Gi* z series (as Esri
    does); the categories are those of :func:`emerging_pattern`. Esri asks for at least
    10 slices for a meaningful trend; with fewer, only new / consecutive / sporadic /
    oscillating patterns are reliable.

    Parameters
    ----------
    problems
        Points with ``reported_at`` (timezone-aware, or naive UTC).
    area, cells, policy
        As for :func:`~gridgeo.analysis.hotspots.cells.aggregate`; ``cells`` can also
        be the :func:`~gridgeo.analysis.hotspots.cells.assign_cells` of these same
        problems (as :func:`~gridgeo.analysis.hotspots.layers.hotspot_layers` passes
        the one it counted with), ``area`` is then not used.
    interval
        The time slice.
    weights
        See :func:`~gridgeo.analysis.hotspots.weights.spatial_weights`.
    alpha, fdr
        Significance level of a hot or cold spot in a slice, and the false discovery
        rate correction.
    timezone
        The time zone of the slices (default
        :data:`~gridgeo.analysis.hotspots.selection.DEFAULT_TIMEZONE`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id``, ``count``, ``n_slices``, ``hot_slices``, ``cold_slices``,
        ``last_z``, ``trend_z``, ``trend_p``, ``pattern``, ``spot``, ``label``
        (e.g. ``"new hot spot"``), ``label_zh`` (e.g. ``"新增热点"``), ``geometry``.

    Examples
    --------
    >>> p = gpd.read_file("shapes/sample_district.gpkg", layer="problems")
    >>> e = emerging_hotspots(p, cells="h3:10", interval="week", timezone="Asia/Shanghai")
    >>> int(e["n_slices"].iloc[0]), sorted(set(e["label"]) - {""})[:2]
    (12, ['consecutive hot spot', 'persistent hot spot'])
    """
    if isinstance(cells, CellAssignment):
        if len(cells.owner) != len(problems):
            raise ValueError("cells is the assignment of other problems than these")
        assignment = cells
    else:
        assignment = assign_cells(problems, area=area, cells=cells, policy=policy)
    if "reported_at" not in problems.columns:
        raise ValidationError(Issue("no 'reported_at' column for time slices", layer="problems"))
    frame = assignment.frame()
    cube = _time_cube(problems["reported_at"], assignment, interval, timezone)
    other = spatial_weights(frame, weights, policy=policy)
    zs, states = _slice_states(cube, other, alpha, fdr)
    n, t = cube.shape
    _, trend_z, trend_p = mann_kendall(zs) if t > 1 else (None, np.zeros(n), np.ones(n))
    pattern, spot = emerging_pattern(states, trend_z, trend_p, alpha=alpha)
    pairs = list(zip(pattern, spot, strict=True))
    label = np.array([f"{p} {s} spot" if p else "" for p, s in pairs])
    label_zh = np.array([PATTERNS[p] + SPOTS_ZH[s] if p else "" for p, s in pairs])
    columns = {
        "count": cube.sum(axis=1).astype(np.int64),
        "n_slices": np.full(n, t, dtype=np.int64),
        "hot_slices": (states == 1).sum(axis=1),
        "cold_slices": (states == -1).sum(axis=1),
        "last_z": zs[:, -1] if t else np.zeros(n),
        "trend_z": trend_z,
        "trend_p": trend_p,
        "pattern": pattern.astype(object),
        "spot": spot.astype(object),
        "label": label.astype(object),
        "label_zh": label_zh.astype(object),
    }
    for position, (name, values) in enumerate(columns.items(), start=1):
        frame.insert(position, name, values)
    frame.attrs.update(assignment.info, interval=interval)
    return frame


def _time_cube(
    reported_at: pd.Series, assignment: CellAssignment, interval: str, timezone: str
) -> np.ndarray:
    """Problems per cell (rows) and local time slice (columns).

    Every slice from the first problem's to the last one's, empty ones included.
    """
    freq = INTERVALS.get(interval, interval)
    owner = assignment.owner
    local = local_times(reported_at, timezone)
    ok = (owner >= 0) & local.notna().to_numpy()
    n = len(assignment.ids)
    if not ok.any():
        return np.zeros((n, 0))
    periods = local[ok].dt.tz_localize(None).dt.to_period(freq)
    first, last = periods.min(), periods.max()
    t = int((last - first).n) + 1
    slot = np.array([(p - first).n for p in periods], dtype=np.int64)
    cube = np.zeros((n, t))
    np.add.at(cube, (owner[ok], slot), 1.0)
    return cube


def _slice_states(
    cube: np.ndarray, other: sp.csr_matrix, alpha: float, fdr: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The Gi* z of each cell in each slice, and its state: +1 hot, -1 cold, 0 neither."""
    n, t = cube.shape
    zs = np.zeros((n, t))
    states = np.zeros((n, t), dtype=np.int64)
    for k in range(t):
        _, z, _ = gi_star_moments(cube[:, k], other)
        zs[:, k] = z
        sig = significant(2 * stats.norm.sf(np.abs(z)), alpha, fdr)
        states[sig, k] = np.sign(z[sig]).astype(np.int64)
    return zs, states
