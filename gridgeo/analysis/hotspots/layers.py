"""The hotspot layers of a selection of problems.

:func:`hotspot_layers` is the entry point of the CLI, the service and the notebooks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import shapely

from gridgeo.analysis.hotspots.cells import assign_cells
from gridgeo.analysis.hotspots.density import kernel_density
from gridgeo.analysis.hotspots.emerging import emerging_hotspots
from gridgeo.analysis.hotspots.getis_ord import gi_star
from gridgeo.analysis.hotspots.moran import local_moran
from gridgeo.analysis.hotspots.resolution import AUTO, auto_cells, is_auto
from gridgeo.analysis.hotspots.selection import DEFAULT_TIMEZONE, select_problems
from gridgeo.analysis.hotspots.weights import spatial_weights
from gridgeo.errors import Issue, ValidationError
from gridgeo.policy import Policy

__all__ = ["LISA_COLUMNS", "Progress", "hotspot_layers"]

#: a progress callback: (step name, steps done, steps in all)
Progress = Callable[[str, int, int], None]
#: the columns of the ``lisa`` layer
LISA_COLUMNS = [
    "cell_id",
    "count",
    "n_neighbors",
    "lisa_i",
    "lisa_q",
    "lisa_p_sim",
    "lisa_cluster",
    "geometry",
]
_STEP = "hotspot analysis"


def hotspot_layers(
    problems: gpd.GeoDataFrame,
    *,
    area: gpd.GeoDataFrame | shapely.Geometry | None = None,
    cells: str | gpd.GeoDataFrame = AUTO,
    category: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    permutations: int = 999,
    seed: int = 0,
    weights: str | Any = "queen",
    inference: str = "analytic",
    fdr: bool = True,
    ties: str = "esda",
    bandwidth: float | str = "silverman",
    interval: str = "month",
    timezone: str = DEFAULT_TIMEZONE,
    policy: Policy | None = None,
    progress: Progress | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """All hotspot layers of the selected problems: cells, lisa, density, emerging.

    The one entry point of the CLI (``gridgeo hotspots``), the map service and the
    notebooks. Problems are selected with
    :func:`~gridgeo.analysis.hotspots.selection.select_problems`, counted with
    :func:`~gridgeo.analysis.hotspots.cells.aggregate`, then
    :func:`~gridgeo.analysis.hotspots.getis_ord.gi_star`,
    :func:`~gridgeo.analysis.hotspots.moran.local_moran`,
    :func:`~gridgeo.analysis.hotspots.density.kernel_density` and
    :func:`~gridgeo.analysis.hotspots.emerging.emerging_hotspots` run on them with the
    same cells and weights.

    Parameters
    ----------
    problems
        Problem points (any CRS) with ``reported_at``, ``category`` and ``status`` as
        far as they are selected on or sliced by.
    area, cells, policy
        As for :func:`~gridgeo.analysis.hotspots.cells.aggregate`; ``cells="auto"``
        (the default) is :func:`~gridgeo.analysis.hotspots.resolution.auto_cells` of the
        selected problems.
    category, status, start, end
        As for :func:`~gridgeo.analysis.hotspots.selection.select_problems`.
    permutations, seed, inference, fdr, ties
        As for :func:`~gridgeo.analysis.hotspots.getis_ord.gi_star` (and, but
        ``inference``, :func:`~gridgeo.analysis.hotspots.moran.local_moran`).
    weights
        See :func:`~gridgeo.analysis.hotspots.weights.spatial_weights`.
    bandwidth
        Of :func:`~gridgeo.analysis.hotspots.density.kernel_density`.
    interval
        Time slice of :func:`~gridgeo.analysis.hotspots.emerging.emerging_hotspots`.
    timezone
        The time zone of ``start``, ``end`` and the time slices (default
        :data:`~gridgeo.analysis.hotspots.selection.DEFAULT_TIMEZONE`; the CLI and the
        service pass ``GRIDGEO_TIMEZONE``).
    progress
        Called with (step, done, total) as the analysis goes.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        ``cells`` (cell_id, count, n_neighbors, gi, gi_z, gi_p, gi_p_sim, gi_bin),
        ``lisa`` (cell_id, count, lisa_i, lisa_q, lisa_p_sim, lisa_cluster),
        ``density`` (contour bands) and ``emerging``; all in EPSG:4326.
        ``cells.attrs`` records the selection (problems used, outside the area) and
        the cells (``cells``: e.g. ``h3:10``; ``cells_chosen``: True when chosen from the
        data).

    Raises
    ------
    ValidationError
        The study area holds no cell, or a selection or option the problems cannot
        meet.

    Examples
    --------
    >>> p = gpd.read_file("shapes/sample_district.gpkg", layer="problems")
    >>> layers = hotspot_layers(p, cells="h3:10", permutations=99, timezone="Asia/Shanghai")
    >>> sorted(layers), int(layers["cells"]["count"].sum())
    (['cells', 'density', 'emerging', 'lisa'], 2000)
    """
    report = progress or (lambda *_: None)
    steps = 5  # select, count, Gi* and LISA, density, emerging
    report(_STEP, 0, steps)
    chosen = select_problems(
        problems, category=category, status=status, start=start, end=end, timezone=timezone
    )
    report(_STEP, 1, steps)
    chosen_cells = is_auto(cells)
    if chosen_cells:
        cells = auto_cells(chosen)
    assignment = assign_cells(chosen, area=area, cells=cells, policy=policy)
    counted = assignment.counts()
    if len(counted) == 0:
        raise ValidationError(Issue("the study area holds no cell", hint="check --area/--cells"))
    report(_STEP, 2, steps)
    w = spatial_weights(counted, weights, policy=policy)
    options = {"permutations": permutations, "seed": seed, "fdr": fdr, "ties": ties}
    gi = gi_star(counted, weights=w, inference=inference, policy=policy, **options)
    lisa = local_moran(counted, weights=w, **options)[LISA_COLUMNS]
    report(_STEP, 3, steps)
    inside = chosen[assignment.owner >= 0]
    if len(inside) >= 2:
        _, density = kernel_density(inside, bandwidth=bandwidth, area=area, policy=policy)
    else:
        density = gpd.GeoDataFrame(
            {"level": [], "density_from": [], "density_to": []},
            geometry=gpd.GeoSeries([], crs=4326),
        )
    report(_STEP, 4, steps)
    if "reported_at" in chosen.columns and len(inside):
        emerging = emerging_hotspots(
            chosen,
            cells=assignment,
            interval=interval,
            weights=w,
            fdr=fdr,
            timezone=timezone,
            policy=policy,
        )
    else:
        emerging = counted[["cell_id", "count", "geometry"]].assign(pattern="", label="")
    report(_STEP, steps, steps)
    gi.attrs.update(
        counted.attrs, problems=len(chosen), weights=str(weights), cells_chosen=chosen_cells
    )
    return {"cells": gi, "lisa": lisa, "density": density, "emerging": emerging}
