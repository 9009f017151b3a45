"""Where each hotspot cell and problem lies: the names of grids and communities.

A cell is placed by its centre: the grid it lies in (and that grid's community), or,
outside every grid, the community it lies in. The hotspot layers are shared (cached),
so the names are added to copies. :func:`problem_points` are the problems the cells
count, with their grid's name, as the map's problem layer shows them.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.access import Area
from gridgeo.layers import display_names, names_by_code
from gridgeo.store import Store

__all__ = ["PLACE_COLUMNS", "POINT_COLUMNS", "problem_points", "with_places"]

#: the columns :func:`with_places` adds to the layers of cells
PLACE_COLUMNS = ("grid_name", "community_name")
_CELL_LAYERS = ("cells", "lisa", "emerging")
#: the columns of :func:`problem_points` (none of them personal)
POINT_COLUMNS = ("code", "category", "reported_on", "status", "grid_name")
_SELECTION = ("category", "status", "start", "end")


def with_places(
    layers: dict[str, pd.DataFrame], store: Store, area: Area | None = None
) -> dict[str, pd.DataFrame]:
    """The hotspot layers with ``grid_name`` and ``community_name`` on each cell.

    With ``area``, only its grids name cells (a cell at its edge is not named after
    a grid of another area).
    """
    cells = layers.get("cells")
    if cells is None or not len(cells):
        return layers
    places = _places(cells, store, area)
    out = dict(layers)
    for name in _CELL_LAYERS:
        frame = layers.get(name)
        if frame is not None and "cell_id" in frame.columns:
            named = frame.drop(columns=list(PLACE_COLUMNS), errors="ignore")
            out[name] = named.join(places, on="cell_id")
            out[name].attrs = dict(frame.attrs)
    return out


def _places(cells: gpd.GeoDataFrame, store: Store, area: Area | None) -> pd.DataFrame:
    """``grid_name`` and ``community_name`` per ``cell_id``."""
    grids = store.read_layer("grids", columns=["name", "community"]).to_crs(4326)
    communities = store.read_layer("communities", columns=["name"]).to_crs(4326)
    if area is not None:
        grids = grids[grids["code"].isin(area.grids)]
        communities = communities[communities["code"].isin(set(grids["community"]))]
    centres = shapely.point_on_surface(np.asarray(cells.geometry.array, dtype=object))
    grid_at = _containing(grids, centres)
    community_names = names_by_code(communities)
    grid_community = grids["community"].to_numpy(dtype=object)
    code = np.where(grid_at >= 0, grid_community[np.maximum(grid_at, 0)], None)
    around = _containing(communities, centres)
    community_codes = communities["code"].to_numpy(dtype=object)
    code = np.where(pd.isna(code) & (around >= 0), community_codes[np.maximum(around, 0)], code)
    grid_names = display_names(grids).to_numpy(dtype=object)
    return (
        pd.DataFrame(
            {
                "cell_id": cells["cell_id"].to_numpy(),
                "grid_name": np.where(grid_at >= 0, grid_names[np.maximum(grid_at, 0)], None),
                "community_name": [
                    community_names.get(c) if isinstance(c, str) else None for c in code
                ],
            }
        )
        .drop_duplicates("cell_id")
        .set_index("cell_id")
    )


def _containing(polygons: gpd.GeoDataFrame, points: np.ndarray) -> np.ndarray:
    """The position of the first polygon holding each point; -1 for none."""
    found = np.full(len(points), -1, dtype=np.int64)
    if not len(polygons) or not len(points):
        return found
    tree = shapely.STRtree(np.asarray(polygons.geometry.array, dtype=object))
    pi, gi = tree.query(points, predicate="within")
    first = np.unique(pi, return_index=True)[1]
    found[pi[first]] = gi[first]
    return found


def problem_points(
    store: Any, counted_in: gpd.GeoDataFrame, timezone: str, **params: Any
) -> gpd.GeoDataFrame:
    """The problems the cells ``counted_in`` count (selected as the analysis selects them), as points.

    ``store`` is read as the caller may read it (an area's view keeps its own problems
    only); no personal column is read. ``reported_on`` is the local day of the report.
    """
    from gridgeo.analysis.hotspots import select_problems

    wanted = ["code", "category", "status", "reported_at"]
    problems = store.read_layer("problems", columns=wanted).to_crs(4326)
    problems = problems[problems.geometry.notna() & ~problems.geometry.is_empty]
    chosen = select_problems(problems, timezone=timezone, **{k: params.get(k) for k in _SELECTION})
    points = shapely.point_on_surface(np.asarray(chosen.geometry.array, dtype=object))
    counted = _containing(counted_in, points) >= 0
    chosen = chosen[counted]
    grids = store.read_layer("grids", columns=["name"]).to_crs(4326)
    grid_at = _containing(grids, points[counted])
    names = grids["name"].to_numpy(dtype=object)
    day = pd.to_datetime(chosen["reported_at"], utc=True).dt.tz_convert(timezone).dt.date
    return gpd.GeoDataFrame(
        {
            "code": chosen["code"].to_numpy(),
            "category": chosen["category"].to_numpy(),
            "reported_on": day.astype(str).where(day.notna(), None).to_numpy(),
            "status": chosen["status"].to_numpy(),
            "grid_name": np.where(grid_at >= 0, names[np.maximum(grid_at, 0)], None),
        },
        geometry=points[counted],
        crs=4326,
    )
