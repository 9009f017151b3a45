"""One number per area: findings counted per grid, community and district.

The coverage score of an area is the share of its buildings (in %) that lie in one
grid and have exactly one responsible member: the two halves of the campaign's
"complete and seamless" coverage (全覆盖, 无缝对接, 一对一结对). Gaps and overlaps are
counted beside it, on the grids they touch, so a leader sees the score and can drill
down to what lowers it.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["area_summary"]

#: result layer -> the column naming the building it is about
_BUILDING_FINDINGS = {
    "unassigned_buildings": "unassigned",
    "multi_assigned_buildings": "multi_assigned",
    "straddling_buildings": "straddling",
}


def _split_codes(values: pd.Series) -> pd.Series:
    return values.dropna().astype(str).str.split(",").explode().str.strip()


def area_summary(
    grids: gpd.GeoDataFrame, results: Mapping[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Count findings per grid, community and district, with a coverage score.

    Parameters
    ----------
    grids
        The grids (``code``, optional ``community``, geometry).
    results
        What :func:`gridgeo.check.run_check` returned (``building_grid`` is needed;
        the other layers are used when present).

    Returns
    -------
    dict
        ``summary_grids`` (GeoDataFrame), ``summary_communities`` and
        ``summary_district`` (DataFrames), each with ``buildings``, ``unassigned``,
        ``multi_assigned``, ``straddling``, ``gaps``, ``overlaps`` and
        ``coverage_score`` (0–100).

    Examples
    --------
    >>> import shapely
    >>> g = gpd.GeoDataFrame({"code": ["G1"], "community": ["C1"]},
    ...                      geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> bg = pd.DataFrame({"building_id": ["B1", "B2"], "grid_id": ["G1", "G1"]})
    >>> un = pd.DataFrame({"building_id": ["B2"]})
    >>> s = area_summary(g, {"building_grid": bg, "unassigned_buildings": un})
    >>> s["summary_grids"][["code", "buildings", "unassigned", "coverage_score"]].values.tolist()
    [['G1', 2, 1, 50.0]]
    """
    per_grid = _per_grid(results)
    out = gpd.GeoDataFrame(
        {"code": grids["code"].astype(str).to_numpy()},
        geometry=grids.geometry.to_numpy(),
        crs=grids.crs,
    )
    out["community"] = grids["community"].to_numpy() if "community" in grids else None
    counts = per_grid.reindex(out["code"]).fillna(0).astype("int64")
    for col in ("buildings", "unassigned", "multi_assigned", "straddling"):
        out[col] = counts[col].to_numpy()
    for col, touched in _grids_touched(results).items():
        out[col] = touched.reindex(out["code"]).fillna(0).astype("int64").to_numpy()
    out["coverage_score"] = _score(counts["good"].to_numpy(), counts["buildings"].to_numpy())
    cols = ["buildings", "unassigned", "multi_assigned", "straddling", "gaps", "overlaps"]
    by_community = (
        out.assign(good=counts["good"].to_numpy())
        .groupby("community", dropna=False)[[*cols, "good"]]
        .sum()
    )
    communities = by_community.reset_index()
    communities["coverage_score"] = _score(
        communities["good"].to_numpy(), communities["buildings"].to_numpy()
    )
    district = pd.DataFrame([by_community.sum()])
    district.insert(0, "area", "district")
    district["coverage_score"] = _score(
        district["good"].to_numpy(), district["buildings"].to_numpy()
    )
    return {
        "summary_grids": out,
        "summary_communities": communities.drop(columns="good"),
        "summary_district": district.drop(columns="good"),
    }


def _per_grid(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per grid code: its buildings, those with each finding, and the good ones."""
    bg = results["building_grid"]
    per_building = pd.DataFrame(
        {"grid": bg["grid_id"].to_numpy()}, index=bg["building_id"].to_numpy()
    )
    per_building = per_building[~per_building.index.duplicated()]
    flags = pd.DataFrame(index=per_building.index)
    for layer, column in _BUILDING_FINDINGS.items():
        frame = results.get(layer)
        ids = set() if frame is None or frame.empty else set(frame["building_id"].astype(str))
        flags[column] = per_building.index.astype(str).isin(ids)
    good = ~(flags["unassigned"] | flags["multi_assigned"] | flags["straddling"])
    table = pd.concat([per_building, flags, good.rename("good")], axis=1).dropna(subset=["grid"])
    return table.groupby("grid").agg(
        buildings=("good", "size"),
        unassigned=("unassigned", "sum"),
        multi_assigned=("multi_assigned", "sum"),
        straddling=("straddling", "sum"),
        good=("good", "sum"),
    )


def _grids_touched(results: Mapping[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """How many gaps and overlaps touch each grid (by grid code)."""
    gaps = results.get("gaps")
    gap_counts = (
        _split_codes(gaps["grids"]).value_counts()
        if gaps is not None and len(gaps)
        else pd.Series(dtype=int)
    )
    overlaps = results.get("overlaps")
    overlap_counts = (
        pd.concat([overlaps["grid_a"], overlaps["grid_b"]]).astype(str).value_counts()
        if overlaps is not None and len(overlaps)
        else pd.Series(dtype=int)
    )
    return {"gaps": gap_counts, "overlaps": overlap_counts}


def _score(good: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total > 0, 100.0 * good / np.maximum(total, 1), np.nan)
    return np.round(score.astype(float), 1)
