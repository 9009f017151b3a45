"""What the frames of an assignment proposal need to know about its inputs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.analysis import active_assignments
from gridgeo.fix.holdings import Holdings
from gridgeo.fix.workload import Places

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    """What the frames need to know about the proposal's inputs."""

    held: Holdings
    where: Places
    members: pd.DataFrame
    assignments: pd.DataFrame
    buildings: gpd.GeoDataFrame
    day: pd.Timestamp
    quota: int
    cap: int
    grid: np.ndarray  # grid position of each member (-1: none)
    community: np.ndarray  # community code of each member

    @cached_property
    def names(self) -> np.ndarray:
        """Member names by member id ('' when unknown)."""
        if "name" not in self.members.columns:
            return np.full(len(self.held.members), "", dtype=object)
        info = self.members.drop_duplicates("code")
        by_code = pd.Series(info["name"].astype("string").to_numpy(), index=info["code"])
        return by_code.reindex(self.held.members).fillna("").to_numpy(dtype=object)

    def geometry(self, ids: np.ndarray) -> np.ndarray:
        """Polygons (EPSG:4326) of the buildings ``ids`` (None for -1 or unknown)."""
        ids = np.asarray(ids, np.int64)
        rows = self.held.building_rows
        row_of = np.full(len(self.held.buildings) + 1, -1, np.int64)  # position -1: none
        row_of[rows[::-1]] = np.arange(len(rows))[::-1]
        row = row_of[ids]
        out = np.full(len(ids), None, dtype=object)
        found = np.flatnonzero(row >= 0)
        if len(found):
            polygons = self.buildings.geometry.iloc[row[found]].to_crs(4326)
            out[found] = np.asarray(polygons.array, dtype=object)
        return out

    @cached_property
    def building_community(self) -> np.ndarray:
        """Community code of each building: its grid's, else the nearest grid's."""
        w = self.where
        grid = w.grid.copy()
        lost = np.flatnonzero((grid < 0) & ~np.isnan(w.x))
        if len(lost) and len(w.geoms):
            points = shapely.points(w.x[lost], w.y[lost])
            _, nearest = shapely.STRtree(w.geoms).query_nearest(points, all_matches=False)
            grid[lost] = nearest
        return np.where(grid >= 0, w.grid_community[np.maximum(grid, 0)], None)

    @cached_property
    def cadres(self) -> pd.DataFrame:
        """The ``cadre_community`` members in force of each community (index).

        Columns ``codes`` (comma-joined) and ``who`` (``code（name）``, joined with 、).
        """
        a = active_assignments(self.assignments, as_of=self.day, kind="cadre_community")
        pairs = pd.DataFrame({"c": a["community"].astype("string"), "m": a["member"]})
        pairs = pairs.dropna().drop_duplicates().sort_values(["c", "m"])
        info = self.members.drop_duplicates("code")
        names = pd.Series(info["name"].to_numpy(), index=info["code"]) if "name" in info else None
        name = pairs["m"].map(names).astype(object).fillna("") if names is not None else ""
        pairs["who"] = np.where(name != "", pairs["m"] + "（" + name + "）", pairs["m"])
        grouped = pairs.groupby("c")
        return pd.DataFrame(
            {"codes": grouped["m"].agg(",".join), "who": grouped["who"].agg("、".join)}
        )

    def grid_code(self, position: np.ndarray) -> np.ndarray:
        return np.append(self.where.grid_codes, None).astype(object)[position]

    def who(self, member: np.ndarray) -> list[str]:
        """``code（name）`` of each member id (the code alone when no name is known)."""
        return [
            f"{c}（{n}）" if n else str(c)
            for c, n in zip(self.held.members[member], self.names[member], strict=True)
        ]
