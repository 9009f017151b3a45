"""Grid coverage: gaps, overlaps, communities, and which grid holds each building.

Rules R1 (全覆盖: grids cover the district without gaps), R2 (无缝对接: grids do not
overlap and neighbours share edges exactly) and R3 (every grid lies in one community).

Every function takes GeoDataFrames as :meth:`Store.read_layer` returns them (a
``code`` column and a ``geometry``, usually EPSG:4326), measures in metres in
:func:`metric_crs` and returns its geometries in EPSG:4326. Invalid polygons are
repaired with ``make_valid``; a geometry that is not an area raises
:class:`~gridgeo.errors.ValidationError` naming its code. Rows without a geometry are
ignored. Duplicate codes are kept as separate rows (and reported as such), never merged.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from gridgeo.analysis.findings import findings
from gridgeo.errors import CRSError, Issue, ValidationError
from gridgeo.policy import Policy

__all__ = [
    "building_grid",
    "buildings_outside",
    "grid_communities",
    "grid_gaps",
    "grid_overlaps",
    "metric_crs",
    "straddling_buildings",
]

_POLYGONAL = ("Polygon", "MultiPolygon")
#: distance (m) within which a gap counts as touching a grid
_TOUCH_M = 0.01


def metric_crs(gdf: gpd.GeoDataFrame, policy: Policy | None = None) -> pyproj.CRS:
    """Return the CRS to measure ``gdf`` in: ``policy.metric_crs``, else its UTM zone.

    Parameters
    ----------
    gdf
        Any frame with a CRS and at least one geometry (unless the policy names a CRS).
    policy
        Thresholds; its ``metric_crs`` wins when set.

    Returns
    -------
    pyproj.CRS

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(121.4, 31.2, 121.41, 31.21)], crs=4326)
    >>> metric_crs(g).to_epsg()
    32651
    >>> metric_crs(g, Policy(metric_crs="EPSG:4547")).to_epsg()
    4547
    """
    if policy is not None and policy.metric_crs:
        return pyproj.CRS.from_user_input(policy.metric_crs)
    if gdf.crs is None:
        raise CRSError("frame has no CRS; set one (e.g. gdf.set_crs(4326)) before analysing it")
    geoms = gdf.geometry
    if geoms.is_empty.all() or geoms.isna().all():
        raise CRSError("frame has no geometry to choose a metric CRS from; set policy.metric_crs")
    return gdf[~(geoms.isna() | geoms.is_empty)].estimate_utm_crs()


# ------------------------------------------------------------------ input handling --------


def _polygons(
    gdf: gpd.GeoDataFrame, layer: str, crs: object | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes, polygonal geometries in ``crs`` and row positions of the usable rows."""
    if gdf.crs is None:
        raise CRSError(Issue("no CRS", layer=layer, hint="set one, e.g. gdf.set_crs(4326)"))
    if "code" not in gdf.columns:
        raise ValidationError(Issue("no 'code' column", layer=layer))
    series = gdf.geometry
    if crs is not None and not pyproj.CRS(series.crs).equals(pyproj.CRS(crs)):
        series = series.to_crs(crs)
    geoms = np.asarray(series.array, dtype=object)
    codes = gdf["code"].astype(str).to_numpy(dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    rows = np.flatnonzero(present)
    geoms, codes = geoms[rows], codes[rows]
    types = shapely.get_type_id(geoms)
    bad = np.flatnonzero(~np.isin(types, (3, 6)))  # Polygon, MultiPolygon
    if len(bad):
        raise ValidationError(
            [
                Issue(
                    f"{geoms[k].geom_type} is not an area",
                    layer=layer,
                    row=int(rows[k]) + 1,
                    key=f"code {codes[k]!r}",
                    hint="grids, communities and buildings must be polygons",
                )
                for k in bad
            ]
        )
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if len(invalid):
        geoms = geoms.copy()
        for k, fixed in zip(invalid, shapely.make_valid(geoms[invalid]), strict=True):
            parts = [
                p for p in shapely.get_parts(fixed) if p.geom_type in _POLYGONAL and p.area > 0
            ]
            if not parts:
                raise ValidationError(
                    Issue(
                        "invalid polygon with no area left after make_valid",
                        layer=layer,
                        row=int(rows[k]) + 1,
                        key=f"code {codes[k]!r}",
                        hint="redraw it",
                    )
                )
            geoms[k] = shapely.union_all(parts)
    return codes, geoms, rows


def _union(geoms: np.ndarray) -> shapely.Geometry:
    """Union of polygons: GEOS's fast coverage union when they form a valid coverage."""
    if len(geoms) == 0:
        return shapely.Polygon()
    if bool(shapely.coverage_is_valid(geoms)):
        return shapely.coverage_union_all(geoms)
    return shapely.union_all(geoms)


def _holes(union: shapely.Geometry) -> np.ndarray:
    """The interior rings of every polygon of ``union``, as polygons."""
    parts = shapely.get_parts(union)
    parts = parts[shapely.get_type_id(parts) == 3]
    n = shapely.get_num_interior_rings(parts)
    if n.sum() == 0:
        return np.empty(0, dtype=object)
    owner = np.repeat(np.arange(len(parts)), n)
    ring = np.concatenate([np.arange(k) for k in n])
    return shapely.polygons(shapely.get_interior_ring(parts[owner], ring))


def _explode(geoms: np.ndarray) -> np.ndarray:
    parts = shapely.get_parts(geoms)
    return parts[np.isin(shapely.get_type_id(parts), (3, 6))]


def _to_4326(geoms: np.ndarray, crs: object) -> gpd.GeoSeries:
    return gpd.GeoSeries(geoms, crs=crs).to_crs(4326)


def _empty_extra(columns: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    frames = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


# ------------------------------------------------------------------ gaps and overlaps -----


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
    columns: dict[str, object] = {
        "kind": object,
        "area_m2": float,
        "width_m": float,
        "grids": object,
    }
    present = grids[~(grids.geometry.isna() | grids.geometry.is_empty)]
    if len(present) == 0:
        return _gap_findings(np.empty(0, object), np.empty(0, object), _empty_extra(columns), 4326)
    crs = metric_crs(present, policy)
    codes, geoms, _ = _polygons(grids, "grids", crs)
    union = _union(geoms)
    holes = _holes(union)
    kinds = np.full(len(holes), "gap", dtype=object)
    if district is not None and len(district):
        _, dgeoms, _ = _polygons(district, "district", crs)
        filled = shapely.union_all(np.concatenate([[union], holes]))
        uncovered = _explode(np.array([shapely.difference(shapely.union_all(dgeoms), filled)]))
        holes = np.concatenate([holes, uncovered])
        kinds = np.concatenate([kinds, np.full(len(uncovered), "uncovered", dtype=object)])
    if mask is not None and len(mask) and len(holes):
        _, mgeoms, _ = _polygons(mask, "mask", crs)
        cut = shapely.difference(holes, shapely.union_all(mgeoms))
        parts, owner = shapely.get_parts(cut, return_index=True)
        keep = np.isin(shapely.get_type_id(parts), (3, 6))
        holes, kinds = parts[keep], kinds[owner[keep]]
    area = shapely.area(holes)
    keep = area >= policy.min_gap_area_m2
    holes, kinds, area = holes[keep], kinds[keep], area[keep]
    order = np.argsort(-area, kind="stable")
    holes, kinds, area = holes[order], kinds[order], area[order]
    tolerance = policy.sliver_width_m / 100
    radius = shapely.length(shapely.maximum_inscribed_circle(holes, tolerance))
    width = 2 * radius if len(holes) else np.empty(0)
    kinds = np.where((kinds == "gap") & (width < policy.sliver_width_m), "sliver", kinds)
    # the grids each gap touches
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
    extra = pd.DataFrame(
        {
            "kind": kinds.astype(object),
            "area_m2": np.round(area, 2),
            "width_m": np.round(width, 2),
            "grids": touching.to_numpy(dtype=object),
        }
    )
    gap_codes = np.array([f"gap-{k}" for k in range(1, len(holes) + 1)], dtype=object)
    return _gap_findings(gap_codes, holes, extra, crs)


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
                geometry=_to_4326(geoms[sel], crs),
                extra=part,
            )
        )
    out = _concat(frames)
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
    present = grids[~(grids.geometry.isna() | grids.geometry.is_empty)]
    crs = metric_crs(present, policy) if len(present) else None
    codes, geoms, _ = _polygons(grids, "grids", crs)
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
    inter = _polygonal_part(inter)
    a, b = codes[i], codes[j]
    extra = pd.DataFrame({"grid_a": a, "grid_b": b, "area_m2": np.round(area, 2)})
    return findings(
        "R2",
        "error",
        "grids",
        [f"{x}/{y}" for x, y in zip(a, b, strict=True)],
        [f"网格{x}与网格{y}重叠约{s:.0f}平方米" for x, y, s in zip(a, b, area, strict=True)],
        [f"grids {x} and {y} overlap by {s:.0f} m²" for x, y, s in zip(a, b, area, strict=True)],
        geometry=_to_4326(inter, crs) if crs is not None else [],
        extra=extra,
    )


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Drop the lines and points GEOS returns beside the area of an intersection."""
    out = geoms.copy()
    mixed = np.flatnonzero(shapely.get_type_id(geoms) == 7)  # GeometryCollection
    for k in mixed:
        parts = [p for p in shapely.get_parts(geoms[k]) if p.geom_type in _POLYGONAL]
        out[k] = shapely.union_all(parts)
    return out


# ------------------------------------------------------------------ grids in communities --


def grid_communities(
    grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *, policy: Policy | None = None
) -> gpd.GeoDataFrame:
    """Find grids that do not lie in exactly one community (rule R3).

    Each grid's area is shared out among the communities it overlaps. A grid is
    reported when no community holds more than ``policy.straddle_min_share`` of it
    (``problem = "none"``), when several do (``"several"``), or when its declared
    ``community`` column names another community than the one holding most of it
    (``"mismatch"``).

    Parameters
    ----------
    grids
        Grid polygons with ``code`` and (optionally) ``community``.
    communities
        Community polygons with ``code``.
    policy
        Thresholds (``straddle_min_share``, ``metric_crs``).

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (severity ``error``, entity ``grids``, code = grid code) with
        ``problem``, ``community`` (holding most of the grid, or None), ``share``
        (its share), ``n_communities`` (holding more than the straddle share),
        ``declared`` (the grid's ``community`` value); geometry: the grid.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> c = gpd.GeoDataFrame({"code": ["C1", "C2"]}, crs=32651,
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    >>> g = gpd.GeoDataFrame({"code": ["G1", "G2"], "community": ["C1", "C1"]}, crs=32651,
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(50, 0, 150, 100)])
    >>> r = grid_communities(g.to_crs(4326), c.to_crs(4326))
    >>> r[["rule", "code", "problem", "n_communities"]].values.tolist()
    [['R3', 'G2', 'several', 2]]
    """
    policy = policy or Policy()
    present = grids[~(grids.geometry.isna() | grids.geometry.is_empty)]
    crs = metric_crs(present, policy) if len(present) else None
    codes, geoms, rows = _polygons(grids, "grids", crs)
    ccodes, cgeoms, _ = _polygons(communities, "communities", crs or grids.crs)
    gi, ci = shapely.STRtree(cgeoms).query(geoms, predicate="intersects")
    share = shapely.area(shapely.intersection(geoms[gi], cgeoms[ci])) / shapely.area(geoms[gi])
    pairs = pd.DataFrame({"g": gi, "c": ci, "share": share})
    pairs = pairs[pairs["share"] > 0].sort_values(["g", "share"], ascending=[True, False])
    best = pairs.drop_duplicates("g").set_index("g")
    n_held = pairs[pairs["share"] > policy.straddle_min_share].groupby("g").size()
    n = len(geoms)
    best_c = best["c"].reindex(range(n))
    community = np.array(
        [None if pd.isna(k) else str(ccodes[int(k)]) for k in best_c], dtype=object
    )
    best_share = best["share"].reindex(range(n), fill_value=0.0).to_numpy()
    n_comm = n_held.reindex(range(n), fill_value=0).to_numpy()
    if "community" in grids.columns:
        declared = grids["community"].astype(object).to_numpy()[rows]
        declared = np.array([None if pd.isna(d) else str(d) for d in declared], dtype=object)
    else:
        declared = np.full(n, None, dtype=object)
    problem = np.where(
        n_comm == 0,
        "none",
        np.where(
            n_comm > 1,
            "several",
            np.where((declared != None) & (declared != community), "mismatch", ""),  # noqa: E711
        ),
    )
    sel = problem != ""
    text = {
        "none": ("网格不在任何社区内", "grid {g} lies in no community"),
        "several": ("网格跨越{n}个社区", "grid {g} spans {n} communities"),
        "mismatch": (
            "网格登记属于{d}社区，实际位于{c}社区",
            "grid {g} is declared in community {d} but lies in {c}",
        ),
    }
    args = [
        {"g": codes[k], "n": n_comm[k], "d": declared[k], "c": community[k], "p": problem[k]}
        for k in np.flatnonzero(sel)
    ]
    return findings(
        "R3",
        "error",
        "grids",
        codes[sel],
        [text[a["p"]][0].format(**a) for a in args],
        [text[a["p"]][1].format(**a) for a in args],
        geometry=_to_4326(geoms[sel], crs) if crs is not None else [],
        extra=pd.DataFrame(
            {
                "problem": problem[sel].astype(object),
                "community": pd.Series(community[sel], dtype=object),
                "share": np.round(best_share[sel], 4),
                "n_communities": n_comm[sel].astype(np.int64),
                "declared": pd.Series(declared[sel], dtype=object),
            }
        ),
    )


# ------------------------------------------------------------------ buildings in grids ----


def _building_pairs(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(building codes, geoms, rows, grid codes, pair building, pair grid, pair share).

    Pairs are every (building, grid) whose intersection has an area, with the share of
    the building's area in that grid. Shares are area ratios inside one building, so
    they are computed in the grids' own CRS: over a building's extent any map
    projection is affine to within 1e-6, and affine maps keep area ratios.
    """
    gcodes, ggeoms, _ = _polygons(grids, "grids", None)
    bcodes, bgeoms, brows = _polygons(buildings, "buildings", grids.crs)
    shapely.prepare(ggeoms)
    bi, gi = shapely.STRtree(ggeoms).query(bgeoms, predicate="intersects")
    share = np.zeros(len(bi))
    # a pair whose grid covers the building: share 1, no intersection needed
    covered = shapely.covered_by(bgeoms[bi], ggeoms[gi])
    share[covered] = 1.0
    done = np.zeros(len(bgeoms), dtype=bool)
    done[bi[covered]] = True
    rest = np.flatnonzero(~done[bi])
    if len(rest):
        barea = shapely.area(bgeoms)
        inter = shapely.intersection(bgeoms[bi[rest]], ggeoms[gi[rest]])
        share[rest] = np.minimum(shapely.area(inter) / barea[bi[rest]], 1.0)
    # drop pairs touching only along an edge, and the other grids of covered buildings
    keep = (share > 0) & ~(done[bi] & ~covered)
    return bcodes, bgeoms, brows, gcodes, bi[keep], gi[keep], share[keep]


def building_grid(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, policy: Policy | None = None
) -> pd.DataFrame:
    """Assign each building to the grid that holds most of its area.

    A building whose grid covers it gets share 1 without any intersection being
    computed; only buildings on a grid edge or partly outside every grid are cut.

    Parameters
    ----------
    buildings
        Building polygons with ``code``.
    grids
        Grid polygons with ``code``.
    policy
        Unused (shares are ratios); accepted for a uniform signature.

    Returns
    -------
    pandas.DataFrame
        One row per building with a geometry, on the buildings' index: ``building_id``
        (code), ``grid_id`` (None when in no grid), ``share`` (of the building's area
        in that grid) and ``n_grids`` (grids holding part of it).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"code": ["A", "B"]}, crs=32651,
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    >>> b = gpd.GeoDataFrame({"code": ["B1", "B2", "B3"]}, crs=32651, geometry=[
    ...     shapely.box(10, 10, 20, 20), shapely.box(94, 10, 104, 20),
    ...     shapely.box(300, 0, 310, 10)])
    >>> r = building_grid(b.to_crs(4326), g.to_crs(4326))
    >>> r.grid_id.tolist(), r.share.round(2).tolist(), r.n_grids.tolist()
    (['A', 'A', None], [1.0, 0.6, 0.0], [1, 2, 0])
    """
    bcodes, _, brows, gcodes, bi, gi, share = _building_pairs(buildings, grids)
    n = len(bcodes)
    order = np.lexsort((-share, bi))
    bi, gi, share = bi[order], gi[order], share[order]
    first = np.ones(len(bi), dtype=bool)
    first[1:] = bi[1:] != bi[:-1]
    grid_id = np.full(n, None, dtype=object)
    grid_id[bi[first]] = gcodes[gi[first]]
    best = np.zeros(n)
    best[bi[first]] = share[first]
    out = pd.DataFrame(
        {
            "building_id": pd.Series(bcodes, dtype=object),
            "grid_id": pd.Series(grid_id, dtype=object),
            "share": best,
            "n_grids": np.bincount(bi, minlength=n).astype(np.int64),
        }
    )
    out.index = buildings.index[brows]
    return out


def straddling_buildings(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, policy: Policy | None = None
) -> gpd.GeoDataFrame:
    """Find buildings split between grids (rule R2, severity ``warning``).

    A building straddles when at least two grids each hold at least
    ``policy.straddle_min_share`` of its area. It breaks R2 in the sense that grid
    boundaries should run between buildings, so that each building (and its
    households) belongs to one grid.

    Parameters
    ----------
    buildings, grids
        Polygons with ``code``.
    policy
        Thresholds (``straddle_min_share``).

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (entity ``buildings``) with ``building_id``, ``grid_ids`` and
        ``shares`` (comma-joined, largest share first, shares to 2 decimals); the
        geometry is the building's.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"code": ["A", "B"]}, crs=32651,
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    >>> b = gpd.GeoDataFrame({"code": ["B1"]}, geometry=[shapely.box(94, 10, 104, 20)], crs=32651)
    >>> straddling_buildings(b.to_crs(4326), g.to_crs(4326))[["grid_ids", "shares"]].values.tolist()
    [['A,B', '0.60,0.40']]
    """
    policy = policy or Policy()
    bcodes, bgeoms, _, gcodes, bi, gi, share = _building_pairs(buildings, grids)
    keep = share >= policy.straddle_min_share
    bi, gi, share = bi[keep], gi[keep], share[keep]
    counts = np.bincount(bi, minlength=len(bcodes))
    sel = counts[bi] >= 2
    bi, gi, share = bi[sel], gi[sel], share[sel]
    order = np.lexsort((-share, bi))
    bi, gi, share = bi[order], gi[order], share[order]
    first = np.flatnonzero(np.r_[True, bi[1:] != bi[:-1]]) if len(bi) else np.empty(0, int)
    idx = bi[first]
    codes = bcodes[idx]
    grouped = pd.DataFrame(
        {
            "grid": _join(gcodes[gi].tolist(), first, len(bi)),
            "share": _join(np.char.mod("%.2f", share).tolist(), first, len(bi)),
        }
    )
    return findings(
        "R2",
        "warning",
        "buildings",
        codes,
        [
            f"楼栋跨越网格{g}（面积占比{s}）"
            for g, s in zip(grouped.grid, grouped.share, strict=True)
        ],
        [
            f"building lies across grids {g} (area shares {s})"
            for g, s in zip(grouped.grid, grouped.share, strict=True)
        ],
        geometry=gpd.GeoSeries(bgeoms[idx], crs=grids.crs).to_crs(4326),
        extra=pd.DataFrame(
            {
                "building_id": codes,
                "grid_ids": grouped["grid"].to_numpy(dtype=object),
                "shares": grouped["share"].to_numpy(dtype=object),
            }
        ),
    )


def _join(values: list[str], starts: np.ndarray, n: int) -> np.ndarray:
    """Comma-join ``values`` in runs beginning at ``starts`` (vectorised with Arrow)."""
    offsets = pa.array(np.r_[starts, n].astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, pa.array(values, type=pa.string()))
    return np.asarray(pc.binary_join(lists, ",").to_pylist(), dtype=object)


def buildings_outside(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, policy: Policy | None = None
) -> gpd.GeoDataFrame:
    """Find buildings that lie in no grid at all (rule R1, severity ``warning``).

    A building counts as outside when no grid holds any of its area (touching a grid
    along an edge is not being in it). Buildings partly outside are not listed here:
    their largest grid is in :func:`building_grid`.

    Parameters
    ----------
    buildings, grids
        Polygons with ``code``.
    policy
        Unused; accepted for a uniform signature.

    Returns
    -------
    geopandas.GeoDataFrame
        Findings (entity ``buildings``) with ``building_id``; geometry: the building.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=32651)
    >>> b = gpd.GeoDataFrame({"code": ["B1", "B2"]}, crs=32651,
    ...     geometry=[shapely.box(10, 10, 20, 20), shapely.box(100, 0, 110, 10)])
    >>> buildings_outside(b.to_crs(4326), g.to_crs(4326)).building_id.tolist()
    ['B2']
    """
    _, ggeoms, _ = _polygons(grids, "grids", None)
    bcodes, bgeoms, _ = _polygons(buildings, "buildings", grids.crs)
    shapely.prepare(ggeoms)
    bi, gi = shapely.STRtree(ggeoms).query(bgeoms, predicate="intersects")
    # interiors meet (so the intersection has an area) unless they only touch
    inside = ~shapely.touches(bgeoms[bi], ggeoms[gi])
    idx = np.flatnonzero(np.bincount(bi[inside], minlength=len(bcodes)) == 0)
    codes = bcodes[idx]
    return findings(
        "R1",
        "warning",
        "buildings",
        codes,
        "楼栋不在任何网格内，未纳入网格管理",
        "building lies in no grid",
        geometry=gpd.GeoSeries(bgeoms[idx], crs=grids.crs).to_crs(4326),
        extra=pd.DataFrame({"building_id": codes.astype(object)}),
    )
