"""Geometries of a layer: present where required, of the right type, valid, oriented.

Polygons are stored with counter-clockwise outer rings and clockwise holes
(``shapely.orient_polygons``), whatever the file had: a Shapefile writes the other
orientation, and re-importing the same outlines from it must leave them unchanged.
An empty geometry (``POLYGON EMPTY``) is refused; a row without one keeps what the
store holds.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.layers import LayerSpec
from gridgeo.validate.issues import MAX_ISSUES_PER_CHECK, Issues

__all__ = ["check_geometry"]

_POLY = {"Polygon", "MultiPolygon"}


def check_geometry(
    frame: pd.DataFrame, spec: LayerSpec, issues: Issues, repair: bool
) -> tuple[np.ndarray, int]:
    """The layer's geometries (polygons as oriented MultiPolygons) and how many were repaired."""
    n = len(frame)
    if not isinstance(frame, gpd.GeoDataFrame):
        if spec.geometry_required:
            issues.add(
                f"no geometry: {spec.name} need {spec.geometry.lower()}s",  # type: ignore[union-attr]
                hint="give a spatial file (GeoPackage, Shapefile, GeoJSON) or a WKT column",
            )
        return np.full(n, None, dtype=object), 0
    geoms = np.asarray(frame.geometry.values, dtype=object)
    geoms = shapely.force_2d(geoms)
    null = shapely.is_missing(geoms)
    missing = null | shapely.is_empty(geoms)
    issues.each(
        np.flatnonzero(missing if spec.geometry_required else missing & ~null),
        "empty geometry",
        column="geometry",
        hint="draw the feature or remove the row"
        + ("" if spec.geometry_required else "; a row without geometry keeps the stored one"),
    )
    geoms = np.where(missing, None, geoms)
    if spec.geometry == "MultiPolygon":
        return _check_polygons(geoms, missing, spec, issues, repair)
    return _check_points(geoms, missing, spec, issues)


def _check_polygons(
    geoms: np.ndarray, missing: np.ndarray, spec: LayerSpec, issues: Issues, repair: bool
) -> tuple[np.ndarray, int]:
    types = shapely.get_type_id(geoms)
    ok_type = np.isin(types, (3, 6)) | missing
    wrong = np.flatnonzero(~ok_type)
    for pos in wrong[:MAX_ISSUES_PER_CHECK]:
        issues.add(
            f"wrong geometry type {geoms[pos].geom_type}, expected a polygon",
            pos=int(pos),
            column="geometry",
            hint=f"{spec.name} are polygons; check that the right file or layer was given",
        )
    if len(wrong) > MAX_ISSUES_PER_CHECK:
        issues.add(
            f"... {len(wrong) - MAX_ISSUES_PER_CHECK} more rows with the wrong geometry type"
        )
    valid = shapely.is_valid(geoms) | missing | ~ok_type
    invalid = np.flatnonzero(~valid)
    repaired = 0
    if len(invalid) and repair:
        fixed = shapely.make_valid(geoms[invalid])
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        empty = shapely.is_empty(fixed) | shapely.is_missing(fixed)
        for pos in invalid[empty][:MAX_ISSUES_PER_CHECK]:
            issues.add(
                "invalid polygon with no area left after repair",
                pos=int(pos),
                column="geometry",
                hint="redraw the feature or remove the row",
            )
        geoms[invalid] = fixed
        repaired = int((~empty).sum())
    elif len(invalid):
        for pos in invalid[:MAX_ISSUES_PER_CHECK]:
            issues.add(
                f"invalid polygon: {shapely.is_valid_reason(geoms[pos])}",
                pos=int(pos),
                column="geometry",
                hint="re-run with --repair to fix it with make_valid, or redraw it",
            )
        if len(invalid) > MAX_ISSUES_PER_CHECK:
            issues.add(
                f"... {len(invalid) - MAX_ISSUES_PER_CHECK} more invalid polygons; "
                "re-run with --repair to fix them with make_valid"
            )
    single = shapely.get_type_id(geoms) == 3
    if single.any():
        k = int(single.sum())
        geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(k))
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms[present] = shapely.orient_polygons(geoms[present], exterior_cw=False)
    return geoms, repaired


def _check_points(
    geoms: np.ndarray, missing: np.ndarray, spec: LayerSpec, issues: Issues
) -> tuple[np.ndarray, int]:
    types = shapely.get_type_id(geoms)
    multi = np.flatnonzero(types == 4)
    for pos in multi:
        if shapely.get_num_geometries(geoms[pos]) == 1:
            geoms[pos] = shapely.get_geometry(geoms[pos], 0)
    types = shapely.get_type_id(geoms)
    wrong = np.flatnonzero((types != 0) & ~missing)
    for pos in wrong[:MAX_ISSUES_PER_CHECK]:
        issues.add(
            f"wrong geometry type {geoms[pos].geom_type}, expected a point",
            pos=int(pos),
            column="geometry",
            hint=f"{spec.name} are located by points",
        )
    return geoms, 0


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a make_valid result (lines and points dropped)."""
    if geom.geom_type in _POLY:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in _POLY]
    polys = [p for g in parts for p in shapely.get_parts(g)]
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()
