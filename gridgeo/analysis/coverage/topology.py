"""Grid topology: the gaps no grid covers (R1, R2 slivers) and grids that overlap (R2)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.analysis.coverage.geometry import (
    area_parts,
    concat_findings,
    empty_columns,
    measuring_crs,
    polygonal_part,
    polygons,
    to_4326,
    union,
)
from gridgeo.analysis.findings import findings
from gridgeo.policy import Policy

__all__ = ["grid_gaps", "grid_overlaps"]

#: distance (m) within which a gap counts as touching a grid
_TOUCH_M = 0.01
_GAP_COLUMNS: dict[str, object] = {"kind": object, "area_m2": float, "width_m": float,
                                   "grids": object}  # fmt: skip
#: kind of gap -> rule, severity, Chinese and English explanation
_GAP_TEXT = {
    "gap": (
        "R1",
        "error",
        "网格之间存在空白区域（约{a:.0f}平方米，宽{w:.1f}米），未实现全覆盖",
        "area of {a:.0f} m² ({w:.1f} m wide) between grids {g} is in no grid",
    ),
    "sliver": (
        "R2",
        "warning",
        "网格边界未无缝对接，存在{w:.2f}米宽的缝隙（约{a:.1f}平方米）",
        "seam sliver {w:.2f} m wide ({a:.1f} m²) between grids {g}: edges do not match",
    ),
    "uncovered": (
        "R1",
        "error",
        "辖区内约{a:.0f}平方米不属于任何网格，未实现全覆盖",
        "{a:.0f} m² of the district lie in no grid (next to grids {g})",
    ),
}


def grid_gaps(
    grids: gpd.GeoDataFrame,
    *,
    district: gpd.GeoDataFrame | None = None,
    mask: gpd.GeoDataFrame | None = None,
    policy: Policy | None = None,
) -> gpd.GeoDataFrame:
    """Find the areas no grid covers: holes between grids and uncovered district area.

    A hole in the union of the grids is a ``gap`` (rule R1, severity ``error``) when it
    is at least ``policy.sliver_width_m`` wide, else a seam ``sliver`` (R2, ``warning``).
    With ``district``, the part of the district outside every grid (other than the
    holes) is ``uncovered`` (R1, ``error``). ``mask`` (rivers, parks: areas allowed to
    lie outside every grid) is subtracted first; pieces smaller than
    ``policy.min_gap_area_m2`` are dropped.

    Parameters
    ----------
    grids
        Grid polygons with a ``code`` column.
    district
        The district's area (any polygon layer, e.g. the communities); optional.
    mask
        Areas that may stay uncovered; optional.
    policy
        Thresholds (``sliver_width_m``, ``min_gap_area_m2``, ``metric_crs``).

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (see :func:`~gridgeo.analysis.findings.findings`), codes ``gap-1``,
        ``gap-2``… largest first, with ``kind`` (``gap``, ``sliver``, ``uncovered``),
        ``area_m2``, ``width_m`` (diameter of the largest inscribed circle) and
        ``grids`` (codes of the grids sharing part of its edge, comma-joined); EPSG:4326.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> boxes = [shapely.box(0, 0, 100, 100), shapely.box(101, 0, 201, 100)]
    >>> outer = shapely.box(-10, -10, 211, 110).difference(shapely.box(0, 0, 201, 100))
    >>> utm = gpd.GeoSeries(boxes + [outer], crs=32651).translate(350e3, 3450e3)
    >>> gaps = grid_gaps(gpd.GeoDataFrame({"code": ["A", "B", "R"]}, geometry=utm.to_crs(4326)))
    >>> gaps[["rule", "code", "kind", "grids"]].iloc[0].tolist()
    ['R1', 'gap-1', 'gap', 'A,B,R']
    >>> gaps[["area_m2", "width_m"]].round(1).iloc[0].tolist()
    [100.0, 1.0]
    """
    policy = policy or Policy()
    crs = measuring_crs(grids, policy)
    if crs is None:
        empty = np.empty(0, object)
        return _gap_findings(empty, empty, empty_columns(_GAP_COLUMNS), 4326)
    codes, geoms, _ = polygons(grids, "grids", crs)
    holes, kinds = _uncovered(geoms, crs, district=district, mask=mask)
    area = shapely.area(holes)
    keep = area >= policy.min_gap_area_m2
    holes, kinds, area = holes[keep], kinds[keep], area[keep]
    order = np.argsort(-area, kind="stable")
    holes, kinds, area = holes[order], kinds[order], area[order]
    tolerance = policy.sliver_width_m / 100
    radius = shapely.length(shapely.maximum_inscribed_circle(holes, tolerance))
    width = 2 * radius if len(holes) else np.empty(0)
    kinds = np.where((kinds == "gap") & (width < policy.sliver_width_m), "sliver", kinds)
    extra = pd.DataFrame(
        {
            "kind": kinds.astype(object),
            "area_m2": np.round(area, 2),
            "width_m": np.round(width, 2),
            "grids": _touching(holes, codes, geoms),
        }
    )
    gap_codes = np.array([f"gap-{k}" for k in range(1, len(holes) + 1)], dtype=object)
    return _gap_findings(gap_codes, holes, extra, crs)


def _uncovered(
    geoms: np.ndarray,
    crs: object,
    *,
    district: gpd.GeoDataFrame | None,
    mask: gpd.GeoDataFrame | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The holes of the grids' union and the district area outside it, less the mask."""
    grid_union = union(geoms)
    holes = _holes(grid_union)
    kinds = np.full(len(holes), "gap", dtype=object)
    if district is not None and len(district):
        _, dgeoms, _ = polygons(district, "district", crs)
        filled = shapely.union_all(np.concatenate([[grid_union], holes]))
        outside = shapely.difference(shapely.union_all(dgeoms), filled)
        uncovered = area_parts(np.array([outside]))
        holes = np.concatenate([holes, uncovered])
        kinds = np.concatenate([kinds, np.full(len(uncovered), "uncovered", dtype=object)])
    if mask is not None and len(mask) and len(holes):
        _, mgeoms, _ = polygons(mask, "mask", crs)
        cut = shapely.difference(holes, shapely.union_all(mgeoms))
        parts, owner = shapely.get_parts(cut, return_index=True)
        keep = np.isin(shapely.get_type_id(parts), (3, 6))  # Polygon, MultiPolygon
        holes, kinds = parts[keep], kinds[owner[keep]]
    return holes, kinds


def _holes(area: shapely.Geometry) -> np.ndarray:
    """The interior rings of every polygon of ``area``, as polygons."""
    parts = shapely.get_parts(area)
    parts = parts[shapely.get_type_id(parts) == 3]
    n = shapely.get_num_interior_rings(parts)
    if n.sum() == 0:
        return np.empty(0, dtype=object)
    owner = np.repeat(np.arange(len(parts)), n)
    ring = np.concatenate([np.arange(k) for k in n])
    return shapely.polygons(shapely.get_interior_ring(parts[owner], ring))


def _touching(holes: np.ndarray, codes: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Codes of the grids sharing more than a corner of each hole's edge, comma-joined."""
    tree = shapely.STRtree(geoms)
    gi, ti = tree.query(holes, predicate="dwithin", distance=_TOUCH_M)
    shared = shapely.length(
        shapely.intersection(shapely.boundary(holes[gi]), shapely.buffer(geoms[ti], _TOUCH_M))
    )
    gi, ti = gi[shared > 10 * _TOUCH_M], ti[shared > 10 * _TOUCH_M]  # not just a corner
    touching = (
        pd.Series(codes[ti])
        .groupby(gi)
        .agg(lambda s: ",".join(sorted(set(s))))
        .reindex(range(len(holes)), fill_value="")
    )
    return touching.to_numpy(dtype=object)


def _gap_findings(
    codes: np.ndarray, geoms: np.ndarray, extra: pd.DataFrame, crs: object
) -> gpd.GeoDataFrame:
    frames = []
    for kind, (rule, severity, zh, en) in _GAP_TEXT.items():
        sel = (extra["kind"] == kind).to_numpy()
        part = extra[sel].reset_index(drop=True)
        frames.append(
            findings(
                rule,
                severity,
                "grids",
                codes[sel],
                [zh.format(a=r.area_m2, w=r.width_m, g=r.grids) for r in part.itertuples()],
                [en.format(a=r.area_m2, w=r.width_m, g=r.grids) for r in part.itertuples()],
                geometry=to_4326(geoms[sel], crs),
                extra=part,
            )
        )
    out = concat_findings(frames)
    if len(out):
        out = out.iloc[np.argsort(out["code"].str[4:].astype(int).to_numpy())]
    return out.reset_index(drop=True)


def grid_overlaps(grids: gpd.GeoDataFrame, *, policy: Policy | None = None) -> gpd.GeoDataFrame:
    """Find pairs of grids that overlap (rule R2, severity ``error``).

    Parameters
    ----------
    grids
        Grid polygons with a ``code`` column. Two rows with the same code that overlap
        are reported like any other pair.
    policy
        Thresholds: overlaps of at most ``min_gap_area_m2`` are ignored.

    Returns
    -------
    geopandas.GeoDataFrame
        Findings, one per overlapping pair (each pair once, in row order), code
        ``"<grid_a>/<grid_b>"``, with ``grid_a``, ``grid_b`` and ``area_m2``; the
        geometry is the overlap (EPSG:4326), largest first.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> boxes = [shapely.box(0, 0, 100, 100), shapely.box(90, 0, 190, 100)]
    >>> utm = gpd.GeoSeries(boxes, crs=32651).translate(350e3, 3450e3)
    >>> o = grid_overlaps(gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=utm.to_crs(4326)))
    >>> o[["rule", "grid_a", "grid_b"]].iloc[0].tolist(), round(o.area_m2.iloc[0])
    (['R2', 'A', 'B'], 1000)
    """
    policy = policy or Policy()
    crs = measuring_crs(grids, policy)
    codes, geoms, _ = polygons(grids, "grids", crs)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    inter = shapely.intersection(geoms[i], geoms[j])
    area = shapely.area(inter)
    keep = area > policy.min_gap_area_m2
    i, j, inter, area = i[keep], j[keep], inter[keep], area[keep]
    order = np.argsort(-area, kind="stable")
    i, j, inter, area = i[order], j[order], inter[order], area[order]
    inter = polygonal_part(inter)
    a, b = codes[i], codes[j]
    extra = pd.DataFrame({"grid_a": a, "grid_b": b, "area_m2": np.round(area, 2)})
    return findings(
        "R2",
        "error",
        "grids",
        [f"{x}/{y}" for x, y in zip(a, b, strict=True)],
        [f"网格{x}与网格{y}重叠约{s:.0f}平方米" for x, y, s in zip(a, b, area, strict=True)],
        [f"grids {x} and {y} overlap by {s:.0f} m²" for x, y, s in zip(a, b, area, strict=True)],
        geometry=to_4326(inter, crs) if crs is not None else [],
        extra=extra,
    )
