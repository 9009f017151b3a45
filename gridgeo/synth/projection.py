"""From the lattice frame to the map: rotate into UTM 51N, then transform to EPSG:4326."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer

from gridgeo.synth.buildings import Buildings
from gridgeo.synth.calibration import Layout
from gridgeo.synth.defects import GeometryDefects
from gridgeo.synth.households import Positions
from gridgeo.synth.parameters import METRIC_CRS, Parameters

__all__ = ["Geometries", "Projection", "project", "ring_nodes"]


@dataclass(frozen=True, eq=False)
class Projection:
    """The lattice frame's place in the map: its rotation and origin in UTM 51N."""

    rotation: float
    origin_x: float
    origin_y: float
    to_lonlat: Transformer
    to_metric: Transformer

    @classmethod
    def of(cls, params: Parameters, layout: Layout) -> Projection:
        """The lattice centred on ``(params.lon, params.lat)``, turned by its rotation."""
        to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
        origin_x, origin_y = to_metric.transform(params.lon, params.lat)
        to_lonlat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
        return cls(layout.streets.rotation, origin_x, origin_y, to_lonlat, to_metric)

    def extent(self, layout: Layout, positions: dict[str, Positions]) -> tuple[float, ...]:
        """``(min_x, min_y, max_x, max_y)`` of the turned lattice and points, metres from the origin.

        Everything the district draws lies inside: the street lattice (grids, communities,
        buildings) and the household, visit and problem points.
        """
        xs = [layout.streets.nodes[..., 0].ravel(), *(p.x for p in positions.values())]
        ys = [layout.streets.nodes[..., 1].ravel(), *(p.y for p in positions.values())]
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        low_x = low_y = math.inf
        high_x = high_y = -math.inf
        for x, y in zip(xs, ys, strict=True):
            if len(x) == 0:
                continue
            turned_x, turned_y = x * cos - y * sin, x * sin + y * cos
            low_x, high_x = min(low_x, float(turned_x.min())), max(high_x, float(turned_x.max()))
            low_y, high_y = min(low_y, float(turned_y.min())), max(high_y, float(turned_y.max()))
        return low_x, low_y, high_x, high_y

    def placed(self, origin: tuple[float, float]) -> Projection:
        """The same turned lattice with its origin at ``origin`` (UTM 51N metres)."""
        return dataclasses.replace(self, origin_x=float(origin[0]), origin_y=float(origin[1]))

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Longitudes and latitudes of lattice-frame points."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        metric_x = x * cos - y * sin + self.origin_x
        metric_y = x * sin + y * cos + self.origin_y
        return self.to_lonlat.transform(metric_x, metric_y)

    def points(self, positions: Positions) -> np.ndarray:
        """Points in EPSG:4326."""
        return shapely.points(*self.lonlat(positions.x, positions.y))

    def metric(self, geometries: np.ndarray | shapely.Geometry) -> np.ndarray | shapely.Geometry:
        """EPSG:4326 geometries in UTM 51N."""
        return shapely.transform(
            geometries,
            lambda coords: np.column_stack(self.to_metric.transform(coords[:, 0], coords[:, 1])),
        )


@dataclass(frozen=True, eq=False)
class Geometries:
    """Every geometry of the district in EPSG:4326, and what is measured on them.

    Attributes
    ----------
    communities, grids, buildings
        Multipolygons, one per row.
    households, visits, problems
        Points, one per row (``None`` for visits without GPS).
    grids_metric
        The grids in UTM 51N.
    strips, strip_areas_m2
        The gap, overlap and sliver polygons, and their areas measured in UTM (the
        overlap's as the intersection of its two grids), by kind.
    """

    communities: np.ndarray
    grids: np.ndarray
    buildings: np.ndarray
    households: np.ndarray
    visits: np.ndarray
    problems: np.ndarray
    grids_metric: np.ndarray
    strips: dict[str, shapely.Polygon]
    strip_areas_m2: dict[str, float]


def ring_nodes(
    first_column: int, last_column: int, first_row: int, last_row: int
) -> list[tuple[int, int]]:
    """Lattice nodes around a rectangle of them, counter-clockwise, every node included.

    Examples
    --------
    >>> ring_nodes(0, 2, 0, 1)
    [(0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1)]
    """
    nodes = [(i, first_row) for i in range(first_column, last_column + 1)]
    nodes += [(last_column, j) for j in range(first_row + 1, last_row + 1)]
    nodes += [(i, last_row) for i in range(last_column - 1, first_column - 1, -1)]
    nodes += [(first_column, j) for j in range(last_row - 1, first_row, -1)]
    return nodes


def project(
    projection: Projection,
    layout: Layout,
    buildings: Buildings,
    planted: GeometryDefects,
    positions: dict[str, Positions],
    gps_missing: np.ndarray,
) -> Geometries:
    """Every geometry in EPSG:4326.

    Parameters
    ----------
    projection
        Where the lattice frame lies.
    layout
        The grids, communities and lattice nodes.
    buildings
        The rectangles.
    planted
        The defects' boundary edits and strips.
    positions
        The ``"households"``, ``"visits"`` and ``"problems"`` points (lattice frame).
    gps_missing
        Visits with no GPS point.

    Returns
    -------
    Geometries
        The geometries, and the defects' areas measured in metres.
    """
    corners = buildings.corners()
    lon, lat = projection.lonlat(corners[..., 0].ravel(), corners[..., 1].ravel())
    coords = np.stack([lon, lat], axis=1).reshape(-1, 4, 2)
    del corners, lon, lat
    building_geometry = shapely.multipolygons(
        shapely.polygons(coords), indices=np.arange(len(coords))
    )
    del coords
    household_geometry = projection.points(positions["households"])
    visit_geometry = projection.points(positions["visits"])
    visit_geometry[gps_missing] = None
    problem_geometry = projection.points(positions["problems"])
    grids = _grid_polygons(projection, layout, planted)
    communities = _community_polygons(projection, layout)
    grids_metric = projection.metric(grids)
    strips, areas = {}, {}
    for strip in planted.strips:
        lon, lat = projection.lonlat(strip.corners[:, 0], strip.corners[:, 1])
        strips[strip.kind] = shapely.Polygon(np.column_stack([lon, lat]))
        inside, outside = strip.grids
        if strip.kind == "overlap":
            overlap = shapely.intersection(grids_metric[inside], grids_metric[outside])
            area = shapely.area(overlap)
        else:
            area = shapely.area(projection.metric(strips[strip.kind]))
        areas[strip.kind] = round(float(area), 2)
    return Geometries(
        communities=communities,
        grids=grids,
        buildings=building_geometry,
        households=household_geometry,
        visits=visit_geometry,
        problems=problem_geometry,
        grids_metric=grids_metric,
        strips=strips,
        strip_areas_m2=areas,
    )


def _grid_polygons(projection: Projection, layout: Layout, planted: GeometryDefects) -> np.ndarray:
    """Grid boundaries along the lattice nodes, with the planted edits."""
    plan, nodes = layout.plan, layout.streets.nodes
    rings, ring_of = [], []
    grids = zip(
        plan.grid_column, plan.grid_row, plan.grid_width, plan.grid_height, plan.grid_half,
        strict=True,
    )  # fmt: skip
    for grid, (column, row, width, height, half) in enumerate(grids):
        if half < 0:
            around = ring_nodes(2 * column, 2 * (column + width), 2 * row, 2 * (row + height))
        else:
            around = ring_nodes(2 * column + half, 2 * column + half + 1, 2 * row, 2 * row + 2)
        points = [nodes[i, j] for i, j in around]
        if grid in planted.ring_edits:  # replace the edge start → middle → end by the edit
            edit = planted.ring_edits[grid]
            at = around.index(edit.start)
            points = points[: at + 1] + list(edit.points) + points[at + 2 :]
        points.append(points[0])
        rings.append(np.array(points))
        ring_of.append(np.full(len(points), grid))
    return _multipolygons(projection, rings, ring_of)


def _community_polygons(projection: Projection, layout: Layout) -> np.ndarray:
    """Community boundaries: around their block rectangles."""
    nodes = layout.streets.nodes
    rings, ring_of = [], []
    for community, (column, row, width, height) in enumerate(layout.plan.communities):
        around = ring_nodes(2 * column, 2 * (column + width), 2 * row, 2 * (row + height))
        ring = np.array([nodes[i, j] for i, j in [*around, around[0]]])
        rings.append(ring)
        ring_of.append(np.full(len(ring), community))
    return _multipolygons(projection, rings, ring_of)


def _multipolygons(
    projection: Projection, rings: list[np.ndarray], ring_of: list[np.ndarray]
) -> np.ndarray:
    points = np.concatenate(rings)
    lon, lat = projection.lonlat(points[:, 0], points[:, 1])
    linear_rings = shapely.linearrings(np.column_stack([lon, lat]), indices=np.concatenate(ring_of))
    polygons = shapely.polygons(linear_rings)
    return shapely.multipolygons(polygons, indices=np.arange(len(polygons)))
