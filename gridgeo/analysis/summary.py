"""One number per area: findings counted per grid, community and district.

The coverage score of an area is the share of its buildings (in %) that lie in one
grid and have exactly one responsible member: the two halves of the campaign's
"complete and seamless" coverage (全覆盖, 无缝对接, 一对一结对). Gaps and overlaps are
counted beside it, so a leader sees the score and can drill down to what lowers it.

Each count is defined here once:

- the **district** counts each finding once: a gap between two communities is one gap,
  a building outside every grid is one of the district's buildings (and not covered),
  a building with several findings is counted once in each of them;
- a **grid** or **community** counts the buildings in it, and every gap or overlap that
  touches it: a finding shared by two areas counts in both, so the areas' figures do
  not add up to the district's (``attribution`` says so);
- without assignments, who is responsible is unknown: ``unassigned``,
  ``multi_assigned`` and ``coverage_score`` are empty (not 0 or 100 %) and
  ``not_computed`` says why.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = [
    "FIGURE_OF_LAYER",
    "NOT_COMPUTED",
    "area_summary",
    "district_figures",
    "finding_count",
]

#: why the responsibility figures are empty when no assignments were given
NOT_COMPUTED = "no assignments given"
#: how an area's gaps and overlaps are counted
ATTRIBUTION = "a gap or overlap is counted in every area it touches"

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
    assigned = "unassigned_buildings" in results
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
    per_community = out.assign(good=counts["good"].to_numpy())
    communities = per_community.groupby("community", dropna=False)[[*cols[:4], "good"]].sum()
    communities = communities.reset_index()
    touched = _communities_touched(results, per_community)
    key = communities["community"].where(communities["community"].notna(), None)
    for col in ("gaps", "overlaps"):
        by = dict(zip(touched.index, touched[col], strict=True))
        communities[col] = [int(by.get(k, 0)) for k in key]
    communities["coverage_score"] = _score(
        communities["good"].to_numpy(), communities["buildings"].to_numpy()
    )
    communities = communities.drop(columns="good")[["community", *cols, "coverage_score"]]
    out["attribution"] = ATTRIBUTION
    communities["attribution"] = ATTRIBUTION
    district = district_figures(results)
    if not assigned:
        for frame in (out, communities):
            frame[["unassigned", "multi_assigned", "coverage_score"]] = np.nan
            frame["not_computed"] = NOT_COMPUTED
    return {"summary_grids": out, "summary_communities": communities, "summary_district": district}


def district_figures(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The district's figures, each finding counted once: the one row every output reads.

    ``buildings`` are all the buildings checked (those outside every grid too, also
    counted in ``outside_grids``); ``unassigned``, ``multi_assigned`` and
    ``straddling`` are distinct buildings; ``gaps`` and ``overlaps`` are the rows of
    those layers. Without assignments, the responsibility figures are empty and
    ``not_computed`` says why.

    Examples
    --------
    >>> bg = pd.DataFrame({"building_id": ["B1", "B2", "B3"], "grid_id": ["G1", "G1", None]})
    >>> r = {"building_grid": bg, "unassigned_buildings": pd.DataFrame({"building_id": ["B2"]}),
    ...      "gaps": pd.DataFrame({"grids": ["G1,G2"]})}
    >>> d = district_figures(r).iloc[0]
    >>> [int(d[c]) for c in ("buildings", "outside_grids", "unassigned", "gaps")]
    [3, 1, 1, 1]
    >>> float(d["coverage_score"])
    33.3
    """
    bg = results["building_grid"]
    buildings = pd.Series(bg["building_id"].astype(str).to_numpy()).drop_duplicates()
    in_grid = set(bg.loc[bg["grid_id"].notna(), "building_id"].astype(str))
    flagged: dict[str, set[str]] = {}
    for layer, column in _BUILDING_FINDINGS.items():
        frame = results.get(layer)
        ids = set() if frame is None or frame.empty else set(frame["building_id"].astype(str))
        flagged[column] = ids
    bad = set().union(*flagged.values())
    good = sum(1 for b in buildings if b in in_grid and b not in bad)
    row: dict[str, object] = {
        "area": "district",
        "buildings": len(buildings),
        "outside_grids": int((~buildings.isin(in_grid)).sum()),
        **{column: len(ids) for column, ids in flagged.items()},
        "gaps": _rows(results, "gaps"),
        "overlaps": _rows(results, "overlaps"),
        "coverage_score": float(_score(np.array([good]), np.array([len(buildings)]))[0]),
    }
    if "unassigned_buildings" not in results:
        row.update(unassigned=np.nan, multi_assigned=np.nan, coverage_score=np.nan)
        row["not_computed"] = NOT_COMPUTED
    return pd.DataFrame([row])


#: finding layer -> the district figure that counts it
FIGURE_OF_LAYER = {
    "unassigned_buildings": "unassigned",
    "multi_assigned_buildings": "multi_assigned",
    "straddling_buildings": "straddling",
    "buildings_outside": "outside_grids",
    "gaps": "gaps",
    "overlaps": "overlaps",
}


def finding_count(results: Mapping[str, pd.DataFrame], layer: str) -> float:
    """How many findings a result layer holds, as the district's figures count them.

    The district figure for the layers it has (:data:`FIGURE_OF_LAYER`, each building
    once), else the layer's rows; NaN when the layer was not computed.
    """
    if layer not in results:
        return float("nan")
    district = results.get("summary_district")
    figure = FIGURE_OF_LAYER.get(layer)
    if figure is not None and district is not None and figure in district and len(district):
        return float(district[figure].iloc[0])
    return float(len(results[layer]))


def _rows(results: Mapping[str, pd.DataFrame], name: str) -> int:
    frame = results.get(name)
    return 0 if frame is None else len(frame)


def _communities_touched(results: Mapping[str, pd.DataFrame], grids: pd.DataFrame) -> pd.DataFrame:
    """Per community: the gaps and overlaps touching any of its grids, each counted once."""
    none = "\0"  # grids without a community, as a key groupby keeps
    community_of = dict(
        zip(grids["code"], grids["community"].astype(object).fillna(none), strict=True)
    )
    pairs: list[tuple[str, int, str]] = []
    gaps, overlaps = results.get("gaps"), results.get("overlaps")
    if gaps is not None and len(gaps):
        for i, codes in enumerate(gaps["grids"].astype(object).fillna("").astype(str)):
            pairs += [("gaps", i, community_of.get(c.strip(), none)) for c in codes.split(",") if c]
    if overlaps is not None and len(overlaps):
        for i, pair in enumerate(zip(overlaps["grid_a"], overlaps["grid_b"], strict=True)):
            pairs += [("overlaps", i, community_of.get(str(g), none)) for g in pair]
    found = pd.DataFrame(pairs, columns=["kind", "finding", "community"]).drop_duplicates()
    counts = found.groupby(["community", "kind"]).size().unstack(fill_value=0)
    keys = pd.unique(grids["community"].astype(object).fillna(none))
    counts = counts.reindex(index=keys, columns=["gaps", "overlaps"], fill_value=0)
    counts.index = pd.Index([None if k == none else k for k in keys], name="community")
    return counts.fillna(0).astype("int64")


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
