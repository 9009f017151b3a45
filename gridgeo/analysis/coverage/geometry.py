"""The polygons the coverage rules measure: checked, repaired and put in a metric CRS.

Every coverage function takes its layers through :func:`polygons`, which raises
:class:`~gridgeo.errors.ValidationError` naming the code of a geometry that is not an
area, repairs invalid polygons with ``make_valid`` and leaves out rows without a
geometry, and measures in :func:`metric_crs`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgeo.errors import CRSError, Issue, ValidationError
from gridgeo.policy import Policy

__all__ = [
    "POLYGONAL",
    "area_parts",
    "concat_findings",
    "empty_columns",
    "measuring_crs",
    "metric_crs",
    "polygonal_part",
    "polygons",
    "to_4326",
    "union",
]

POLYGONAL = ("Polygon", "MultiPolygon")
_AREA_TYPES = (3, 6)  # shapely type ids of Polygon and MultiPolygon


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


def measuring_crs(gdf: gpd.GeoDataFrame, policy: Policy) -> pyproj.CRS | None:
    """:func:`metric_crs` of the rows that have a geometry; None when none has one."""
    present = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    return metric_crs(present, policy) if len(present) else None


def polygons(
    gdf: gpd.GeoDataFrame, layer: str, crs: object | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes, polygonal geometries in ``crs`` (None: as they are) and row positions.

    Rows without a geometry are left out; invalid polygons are repaired.

    Raises
    ------
    CRSError
        ``gdf`` has no CRS.
    ValidationError
        No ``code`` column, a geometry that is not an area, or an invalid polygon with
        no area left once repaired (each named by row and code).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[shapely.box(0, 0, 1, 1), None],
    ...                      crs=4326)
    >>> codes, geoms, rows = polygons(g, "grids", None)
    >>> codes.tolist(), rows.tolist()
    (['A'], [0])
    """
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
    bad = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), _AREA_TYPES))
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
    return codes, _repaired(geoms, codes, rows, layer), rows


def _repaired(geoms: np.ndarray, codes: np.ndarray, rows: np.ndarray, layer: str) -> np.ndarray:
    """``geoms`` with each invalid polygon replaced by the area ``make_valid`` leaves of it."""
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if not len(invalid):
        return geoms
    geoms = geoms.copy()
    for k, fixed in zip(invalid, shapely.make_valid(geoms[invalid]), strict=True):
        parts = [p for p in shapely.get_parts(fixed) if p.geom_type in POLYGONAL and p.area > 0]
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
    return geoms


def union(geoms: np.ndarray) -> shapely.Geometry:
    """Union of polygons: GEOS's fast coverage union when they form a valid coverage."""
    if len(geoms) == 0:
        return shapely.Polygon()
    if bool(shapely.coverage_is_valid(geoms)):
        return shapely.coverage_union_all(geoms)
    return shapely.union_all(geoms)


def area_parts(geoms: np.ndarray) -> np.ndarray:
    """The polygonal parts of ``geoms`` (lines and points dropped)."""
    parts = shapely.get_parts(geoms)
    return parts[np.isin(shapely.get_type_id(parts), _AREA_TYPES)]


def polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Drop the lines and points GEOS returns beside the area of an intersection."""
    out = geoms.copy()
    mixed = np.flatnonzero(shapely.get_type_id(geoms) == 7)  # GeometryCollection
    for k in mixed:
        parts = [p for p in shapely.get_parts(geoms[k]) if p.geom_type in POLYGONAL]
        out[k] = shapely.union_all(parts)
    return out


def to_4326(geoms: np.ndarray, crs: object) -> gpd.GeoSeries:
    """Geometries in ``crs`` as a GeoSeries in EPSG:4326."""
    return gpd.GeoSeries(geoms, crs=crs).to_crs(4326)


def empty_columns(columns: dict[str, object]) -> pd.DataFrame:
    """An empty frame with these columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def concat_findings(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Findings frames one after the other (the first one's columns when all are empty)."""
    frames = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)
