"""WGS-84 ↔ GCJ-02 ↔ BD-09 against an independent reference (prcoords) and published values.

prcoords (PyPI, CC0) is installed with the test extra only; it converts one point at a
time in plain Python, so it is compared on 10,000 seeded points.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely
from pyproj import Geod
from shapely import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPolygon,
    Point,
    Polygon,
)

from gridgeo import chinacrs
from gridgeo.chinacrs import (
    BD09,
    CHINA_BOX,
    GCJ02,
    WGS84,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert_geometry,
    convert_xy,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    parse_crs_name,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridgeo.errors import CRSError, GridGeoError

ROOT = Path(__file__).resolve().parent.parent
GEOD = Geod(ellps="WGS84")
N = 10_000
ALL = [
    wgs84_to_gcj02,
    wgs84_to_bd09,
    gcj02_to_wgs84,
    gcj02_to_bd09,
    bd09_to_wgs84,
    bd09_to_gcj02,
]


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance on the WGS-84 ellipsoid."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


@pytest.fixture(scope="module")
def points() -> tuple[np.ndarray, np.ndarray]:
    """10,000 WGS-84 points spread uniformly over the whole China rectangle (seeded)."""
    rng = np.random.default_rng(20240614)
    x0, y0, x1, y1 = CHINA_BOX
    return rng.uniform(x0, x1, N), rng.uniform(y0, y1, N)


def reference(func, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a prcoords function (``(lat, lon)`` in and out) point by point."""
    with warnings.catch_warnings():
        # prcoords warns of each point it leaves alone outside its rectangle (here: GCJ-02
        # points near the edges, sent to its one-step inverse)
        warnings.filterwarnings("ignore", "Non-Chinese coords found", UserWarning)
        pairs = zip(lon.tolist(), lat.tolist(), strict=True)
        out = np.array([func((la, lo)) for lo, la in pairs])
    return out[:, 1], out[:, 0]


# ---------------------------------------------------------------------------------------
# against prcoords


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(wgs84_to_gcj02, prcoords.wgs_gcj), (wgs84_to_bd09, prcoords.wgs_bd)],
    ids=["gcj02", "bd09"],
)
def test_forward_equals_prcoords(points, ours, theirs) -> None:
    lon, lat = points
    x, y = ours(lon, lat)
    rx, ry = reference(theirs, lon, lat)
    assert np.abs(x - rx).max() < 1e-9
    assert np.abs(y - ry).max() < 1e-9
    # and the conversion did something: 20 m at least, everywhere in the rectangle
    assert metres(lon, lat, x, y).min() > 1.0


def test_gcj02_to_bd09_equals_prcoords(points) -> None:
    gx, gy = wgs84_to_gcj02(*points)
    x, y = gcj02_to_bd09(gx, gy)
    rx, ry = reference(prcoords.gcj_bd, gx, gy)
    assert np.abs(x - rx).max() < 1e-9
    assert np.abs(y - ry).max() < 1e-9


@pytest.mark.parametrize(
    ("inverse", "forward"),
    [(gcj02_to_wgs84, prcoords.wgs_gcj), (bd09_to_wgs84, prcoords.wgs_bd)],
    ids=["gcj02", "bd09"],
)
def test_inverse_solves_the_reference_forward(points, inverse, forward) -> None:
    # the inverse of prcoords' own forward output, sent forward again by prcoords
    ref_x, ref_y = reference(forward, *points)
    wx, wy = inverse(ref_x, ref_y)
    back_x, back_y = reference(forward, wx, wy)
    assert np.abs(back_x - ref_x).max() < 1e-9
    assert np.abs(back_y - ref_y).max() < 1e-9


@pytest.mark.parametrize(
    ("forward", "inverse", "one_step"),
    [
        (wgs84_to_gcj02, gcj02_to_wgs84, prcoords.gcj_wgs),
        (wgs84_to_bd09, bd09_to_wgs84, prcoords.bd_wgs),
    ],
    ids=["gcj02", "bd09"],
)
def test_round_trip_under_a_millimetre(points, capsys, forward, inverse, one_step) -> None:
    lon, lat = points
    x, y = forward(lon, lat)
    back = metres(lon, lat, *inverse(x, y))
    # (prcoords' one-step inverse leaves alone the points whose GCJ-02/BD-09 position is
    # outside its rectangle: those are left out of its figure)
    inside = in_china(x, y)
    rough = metres(lon[inside], lat[inside], *reference(one_step, x[inside], y[inside]))
    with capsys.disabled():
        print(
            f"\n{forward.__name__} and back, {N} points: max {back.max() * 1000:.2e} mm "
            f"(prcoords' one-step inverse: max {rough.max():.2f} m)"
        )
    assert back.max() < 1e-3
    # the test tells the two apart: the one-step inverse is metres off
    assert rough.max() > 1.0


def test_round_trip_between_gcj02_and_bd09(points) -> None:
    gx, gy = wgs84_to_gcj02(*points)
    back = metres(gx, gy, *bd09_to_gcj02(*gcj02_to_bd09(gx, gy)))
    assert back.max() < 1e-3
    # the inverse from GCJ-02 ends where the forward from WGS-84 began
    assert metres(*points, *gcj02_to_wgs84(gx, gy)).max() < 1e-3


# ---------------------------------------------------------------------------------------
# outside China


def world_outside_china(n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(-180, 180, 4 * n), rng.uniform(-90, 90, 4 * n)
    far = ~in_china(lon, lat, margin=chinacrs.BOX_EDGE_BAND)
    return lon[far][:n], lat[far][:n]


@pytest.mark.parametrize("func", ALL, ids=lambda f: f.__name__)
def test_points_outside_china_are_unchanged(func) -> None:
    # Tokyo, Paris, Sydney, New York, the rest of the world at random, NaN, infinity
    lon, lat = world_outside_china()
    lon = np.concatenate([[139.69, 2.35, 151.21, -74.0, np.nan, 116.4, np.inf], lon])
    lat = np.concatenate([[35.68, 48.85, -33.87, 40.71, 39.9, np.nan, 30.0], lat])
    x, y = func(lon, lat)
    np.testing.assert_array_equal(x, lon)
    np.testing.assert_array_equal(y, lat)


def test_box_bounds_are_included() -> None:
    x0, y0, x1, y1 = CHINA_BOX
    corners_x, corners_y = np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1])
    x, y = wgs84_to_gcj02(corners_x, corners_y)
    assert np.all(metres(corners_x, corners_y, x, y) > 1.0)
    # a hair outside each edge: unchanged
    out_x = np.array([x0 - 1e-9, x1 + 1e-9, 100.0, 100.0])
    out_y = np.array([30.0, 30.0, y0 - 1e-9, y1 + 1e-9])
    x, y = wgs84_to_gcj02(out_x, out_y)
    np.testing.assert_array_equal(x, out_x)
    np.testing.assert_array_equal(y, out_y)


def test_inverse_tests_the_wgs84_point_it_solves_for() -> None:
    # just inside the east edge: the GCJ-02 and BD-09 points lie outside the rectangle,
    # and the inverses still bring them back (prcoords' one-step inverse would not)
    lon, lat = np.array([137.8340]), np.array([45.0])
    for forward, inverse in [(wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)]:
        x, y = forward(lon, lat)
        assert not in_china(x, y).any()
        assert metres(lon, lat, *inverse(x, y)).max() < 1e-3


def test_near_the_edges_every_conversion_applies_the_same_test() -> None:
    # points within 0.05 degrees of the box's four edges, on both sides
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = CHINA_BOX
    n = 4000
    along_x, along_y = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    off = rng.uniform(-0.05, 0.05, n)
    lon = np.concatenate([np.full(n, x0) + off, np.full(n, x1) + off, along_x, along_x])
    lat = np.concatenate([along_y, along_y, np.full(n, y0) + off, np.full(n, y1) + off])
    for source, between in [(GCJ02, gcj02_to_bd09), (BD09, bd09_to_gcj02)]:
        wx, _ = convert_xy(lon, lat, source=source, target=WGS84)
        bx, _ = between(lon, lat)
        moved_to_wgs = wx != lon
        # some points near the edges are converted and some are not, by the same test
        assert 0 < moved_to_wgs.sum() < len(lon)
        np.testing.assert_array_equal(bx != lon, moved_to_wgs)


# ---------------------------------------------------------------------------------------
# published control values

# googollee/eviltransform (BSD-2), python/test.py and go/transform_test.go at commit
# 03ba58d92dfda57f8a1635f3805483c8fc10bd77: WGS-84 → GCJ-02 for Shanghai, Shenzhen, Beijing
# (lon, lat). (Its two BD-09 → WGS-84 pairs are 10 and 41 m from what the formulas give, so
# they are left out.)
EVILTRANSFORM = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]
# Artoria2e5/PRCoords, docs/proj4_plugin.js at commit a853b1fc19ee5cc939c65199e66c94ff865ab74f
# (the values of its demo page): WGS-84 (105, 35) in GCJ-02 and in BD-09.
PRCOORDS_DEMO = {
    GCJ02: (105.00328624145706, 34.99909863223526),
    BD09: (105.00966682831948, 35.005403668456964),
}
# hujiulong/gcoord (MIT), test/fixtures/china-cities.json: GCJ-02 and BD-09 of city centres,
# 7 decimals (驻马店, 邵阳, 那曲, 沈阳, 锡林郭勒, 酒泉, 钦州, 泉州). Its WGS-84 column is
# about 0.5 m from what the GCJ-02 column gives, so only GCJ-02 ↔ BD-09 is used.
GCOORD_CITIES = [
    ((114.022306, 33.0115324), (114.0287781, 33.0176697)),
    ((111.4677938, 27.2388981), (111.4742271, 27.2451662)),
    ((92.0512438, 31.4762063), (92.0576832, 31.4824421)),
    ((123.4314787, 41.8057023), (123.438095, 41.8114013)),
    ((116.0482308, 43.9334573), (116.0546232, 43.9397782)),
    ((98.4943595, 39.7328234), (98.5008441, 39.7388949)),
    ((108.6541485, 21.9799392), (108.6607283, 21.9856319)),
    ((118.6756787, 24.8741363), (118.6821251, 24.8804872)),
]
# hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts: GCJ-02 (123, 45) in WGS-84 and BD-09,
# 8 decimals. gcoord's GCJ-02 → WGS-84 iterates until its residual is below 1e-6 degrees
# (src/crs/GCJ02.ts), so its WGS-84 value is only that close.
GCOORD_SPEC = {WGS84: (122.99395597, 44.99804071), BD09: (123.00636499, 45.00636899)}
GCOORD_TOLERANCE = {WGS84: 1e-6, BD09: 1e-8}


def test_eviltransform_control_values() -> None:
    wgs = np.array([w for w, _ in EVILTRANSFORM])
    gcj = np.array([g for _, g in EVILTRANSFORM])
    x, y = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    np.testing.assert_allclose(x, gcj[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(y, gcj[:, 1], rtol=0, atol=1e-9)
    assert metres(wgs[:, 0], wgs[:, 1], *gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])).max() < 1e-3


def test_prcoords_demo_control_values() -> None:
    for kind, (lon, lat) in PRCOORDS_DEMO.items():
        x, y = convert_xy(105.0, 35.0, source=WGS84, target=kind)
        assert abs(x - lon) < 1e-9 and abs(y - lat) < 1e-9
        back = convert_xy(lon, lat, source=kind, target=WGS84)
        assert metres(105.0, 35.0, *back) < 1e-3


def test_gcoord_control_values() -> None:
    gcj = np.array([g for g, _ in GCOORD_CITIES])
    bd = np.array([b for _, b in GCOORD_CITIES])
    x, y = gcj02_to_bd09(gcj[:, 0], gcj[:, 1])
    # published to 7 decimals: within a unit of the last one (1 cm)
    np.testing.assert_allclose(x, bd[:, 0], rtol=0, atol=1e-7)
    np.testing.assert_allclose(y, bd[:, 1], rtol=0, atol=1e-7)
    x, y = bd09_to_gcj02(bd[:, 0], bd[:, 1])
    np.testing.assert_allclose(x, gcj[:, 0], rtol=0, atol=1e-7)
    np.testing.assert_allclose(y, gcj[:, 1], rtol=0, atol=1e-7)
    for kind, (lon, lat) in GCOORD_SPEC.items():
        x, y = convert_xy(123.0, 45.0, source=GCJ02, target=kind)
        assert abs(x - lon) < GCOORD_TOLERANCE[kind] and abs(y - lat) < GCOORD_TOLERANCE[kind]


# ---------------------------------------------------------------------------------------
# arrays: dtype, shape, scalars


def test_dtype_and_shape_are_kept() -> None:
    lon = np.linspace(100, 120, 12).reshape(3, 4)
    lat = np.linspace(20, 40, 12).reshape(3, 4)
    for func in ALL:
        x, y = func(lon, lat)
        assert x.shape == y.shape == (3, 4) and x.dtype == y.dtype == np.float64
        x32, y32 = func(lon.astype(np.float32), lat.astype(np.float32))
        assert x32.dtype == y32.dtype == np.float32 and x32.shape == (3, 4)
        np.testing.assert_allclose(x32, x, rtol=0, atol=1e-5)
    x, y = wgs84_to_gcj02(np.array([116, 121]), np.array([40, 31]))  # integers
    assert x.dtype == np.float64 and y.dtype == np.float64
    x, y = gcj02_to_wgs84(116.4, 39.9)  # scalars stay scalars
    assert np.ndim(x) == 0 and isinstance(x, np.float64)
    x, y = wgs84_to_bd09(np.array([]), np.array([]))
    assert x.shape == (0,) and x.dtype == np.float64


def test_inputs_are_not_modified() -> None:
    lon, lat = np.array([116.4, 121.5]), np.array([39.9, 31.2])
    for func in ALL:
        func(lon, lat)
    np.testing.assert_array_equal(lon, [116.4, 121.5])
    np.testing.assert_array_equal(lat, [39.9, 31.2])


def test_convert_xy_same_system_and_unknown() -> None:
    x, _ = convert_xy([116.4], [39.9], source="GCJ-02", target="gcj02")
    np.testing.assert_array_equal(x, [116.4])
    with pytest.raises(CRSError, match="not one of the longitude/latitude systems"):
        convert_xy(116.4, 39.9, source=4490, target="gcj02")


# ---------------------------------------------------------------------------------------
# geometries


def _ring(x0: float, y0: float, d: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x0 + d, y0), (x0 + d, y0 + d), (x0, y0 + d), (x0, y0)]


def test_polygon_with_hole_converts_vertex_by_vertex() -> None:
    polygon = Polygon(_ring(121.40, 31.20, 0.01), holes=[_ring(121.403, 31.203, 0.002)])
    for source, target in [(WGS84, GCJ02), (WGS84, BD09), (BD09, WGS84), (GCJ02, WGS84)]:
        got = convert_geometry(polygon, source=source, target=target)
        shell = np.column_stack(
            convert_xy(*np.array(polygon.exterior.coords).T, source=source, target=target)
        )
        hole = np.column_stack(
            convert_xy(*np.array(polygon.interiors[0].coords).T, source=source, target=target)
        )
        assert shapely.equals_exact(got, Polygon(shell, holes=[hole]), tolerance=0)
        assert metres(121.4, 31.2, *got.exterior.coords[0]) > 100  # it moved


def test_every_geometry_type_empty_and_none() -> None:
    polygon = Polygon(_ring(116.3, 39.9, 0.01), holes=[_ring(116.303, 39.903, 0.002)])
    geoms = np.array(
        [
            Point(116.4, 39.9),
            Point(116.4, 39.9, 42.0),
            LineString([(116.4, 39.9), (116.5, 40.0)]),
            polygon,
            MultiPolygon([polygon, Polygon(_ring(116.5, 39.9, 0.01))]),
            MultiLineString([[(121.4, 31.2), (121.5, 31.3)], [(121.6, 31.2), (121.7, 31.3)]]),
            GeometryCollection([Point(121.4, 31.2), LineString([(121.4, 31.2), (121.5, 31.3)])]),
            Polygon(),
            Point(),
            None,
            Point(2.35, 48.85),  # Paris: outside China
        ],
        dtype=object,
    )
    got = convert_geometry(geoms, source=WGS84, target=GCJ02)
    assert isinstance(got, np.ndarray) and got.shape == geoms.shape
    np.testing.assert_array_equal(shapely.get_type_id(got), shapely.get_type_id(geoms))
    np.testing.assert_array_equal(shapely.is_empty(got), shapely.is_empty(geoms))
    assert got[9] is None
    np.testing.assert_array_equal(
        shapely.get_num_coordinates(got), shapely.get_num_coordinates(geoms)
    )
    np.testing.assert_array_equal(
        shapely.get_num_interior_rings(got[3:4]), shapely.get_num_interior_rings(geoms[3:4])
    )
    assert got[1].has_z and got[1].z == 42.0 and not got[0].has_z
    assert got[10].equals_exact(geoms[10], tolerance=0)
    # the vertices are exactly those of the point-wise conversion, in order
    coords = shapely.get_coordinates(geoms)
    np.testing.assert_array_equal(
        shapely.get_coordinates(got),
        np.column_stack(wgs84_to_gcj02(coords[:, 0], coords[:, 1])),
    )
    # and back, within a millimetre at every vertex
    back = shapely.get_coordinates(convert_geometry(got, source=GCJ02, target=WGS84))
    assert metres(coords[:, 0], coords[:, 1], back[:, 0], back[:, 1]).max() < 1e-3


def test_geoseries_keeps_index_name_and_crs() -> None:
    series = gpd.GeoSeries(
        [Point(116.4, 39.9), None, Point(121.5, 31.2)], index=[10, 20, 30], name="where", crs=4326
    )
    got = convert_geometry(series, source=BD09, target=WGS84)
    assert isinstance(got, gpd.GeoSeries)
    assert list(got.index) == [10, 20, 30] and got.name == "where" and got.crs == series.crs
    assert got[20] is None
    x, y = bd09_to_wgs84(116.4, 39.9)
    assert got[10].coords[0] == (x, y)


# ---------------------------------------------------------------------------------------
# frames at the boundary


def frame(crs=None, geometry_name: str = "geometry") -> gpd.GeoDataFrame:
    polygon = Polygon(_ring(121.40, 31.20, 0.01), holes=[_ring(121.403, 31.203, 0.002)])
    return gpd.GeoDataFrame(
        {"code": ["B1", "B2", "B3"], geometry_name: [polygon, Point(121.45, 31.22), None]},
        geometry=geometry_name,
        index=[7, 8, 9],
        crs=crs,
    )


@pytest.mark.parametrize("kind", [GCJ02, BD09, "GCJ-02", "bd09ll"])
@pytest.mark.parametrize("declared", [None, 4326])
def test_to_wgs84_from_gcj02_and_bd09(kind, declared) -> None:
    source = frame(declared, geometry_name="geom")
    got = to_wgs84(source, kind)
    assert got.crs.to_epsg() == 4326 and got.geometry.name == "geom"
    assert list(got.index) == [7, 8, 9] and list(got["code"]) == ["B1", "B2", "B3"]
    expected = convert_geometry(source.geometry.values, source=kind, target=WGS84)
    assert shapely.equals_exact(got.geometry.values, expected, tolerance=0)[:2].all()
    assert got.geometry.iloc[2] is None
    assert source.geometry.iloc[1].coords[0] == (121.45, 31.22)  # the input is left alone
    # and back again
    again = from_wgs84(got, kind)
    assert again.crs.to_epsg() == 4326
    a = shapely.get_coordinates(again.geometry.values)
    b = shapely.get_coordinates(source.geometry.values)
    assert metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max() < 1e-3


def test_to_wgs84_epsg_codes() -> None:
    # CGCS2000: longitude/latitude pass unchanged (the two agree to better than a metre)
    cgcs = frame(4490)
    got = to_wgs84(cgcs)
    assert got.crs.to_epsg() == 4326
    np.testing.assert_allclose(
        shapely.get_coordinates(got.geometry.values),
        shapely.get_coordinates(cgcs.geometry.values),
        rtol=0,
        atol=1e-9,
    )
    # CGCS2000 3-degree Gauss-Kruger CM 114E: the false easting lies on the meridian 114E
    gk = gpd.GeoDataFrame(geometry=[Point(500_000, 3_000_000)])
    got = to_wgs84(gk, "EPSG:4547")
    assert got.crs.to_epsg() == 4326 and abs(got.geometry[0].x - 114.0) < 1e-9
    assert 27.0 < got.geometry[0].y < 27.2
    # and back
    back = from_wgs84(got, 4547)
    assert back.crs.to_epsg() == 4547
    assert back.geometry[0].distance(Point(500_000, 3_000_000)) < 1e-3
    # the frame's own CRS; a WGS-84 frame said to be wgs84
    assert to_wgs84(frame(4326), "wgs84").crs.to_epsg() == 4326
    assert to_wgs84(gk.set_crs(4547)).crs.to_epsg() == 4326


def test_to_wgs84_refusals() -> None:
    with pytest.raises(CRSError, match="no coordinate reference system"):
        to_wgs84(frame())
    with pytest.raises(CRSError, match=r"projected EPSG:4547 .* said to be gcj02"):
        to_wgs84(frame(4547), "gcj02")
    with pytest.raises(CRSError, match=r"declares EPSG:4490 but .* EPSG:4547"):
        to_wgs84(frame(4490), 4547)
    with pytest.raises(CRSError, match="no coordinate reference system"):
        from_wgs84(frame(), "gcj02")


@pytest.mark.parametrize("bad", ["mars", "bd09mc", "EPSG:999999", ""])
def test_unknown_crs_names_say_what_is_accepted(bad) -> None:
    with pytest.raises(CRSError) as caught:
        parse_crs_name(bad)
    message = str(caught.value)
    assert repr(bad) in message
    for accepted in ("wgs84", "gcj02", "bd09", "4490"):
        assert accepted in message
    assert isinstance(caught.value, GridGeoError)
    with pytest.raises(CRSError):
        to_wgs84(frame(), bad)


def test_parse_crs_name() -> None:
    assert [parse_crs_name(v) for v in ("WGS84", "epsg:4326", 4326, "gcj-02", "BD09")] == [
        WGS84,
        WGS84,
        WGS84,
        GCJ02,
        BD09,
    ]
    assert parse_crs_name(4490).to_epsg() == 4490
    assert parse_crs_name(" EPSG:4547 ").to_epsg() == 4547


# ---------------------------------------------------------------------------------------
# the benchmark


@pytest.mark.slow
def test_benchmark_runs(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "chinacrs.py"),
            *("--n", "20000", "--reference-n", "2000", "--runs", "1", "--json", str(figures)),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "ratio prcoords / gridgeo" in output and "round trip max" in output, output
    assert figures.is_file()
