"""China's map coordinate systems: WGS-84 ↔ GCJ-02 ↔ BD-09, and any CRS to WGS-84.

Field apps in China report positions in one of two obfuscated longitude/latitude systems:

- **GCJ-02** (国测局坐标, "Mars coordinates"): WGS-84 plus an offset of 20 to 700 m given by
  a published formula on the Krasovsky ellipsoid. AMap (高德), Tencent maps, WeChat
  mini-programs and Google's China maps use it.
- **BD-09** (百度坐标, ``bd09ll``): GCJ-02 with a further polar twist and a shift of
  +0.0065° longitude, +0.006° latitude (about 900 m more). Baidu's maps and SDKs use it.

Every function here converts whole numpy columns at once. The forward conversions
(WGS-84 → GCJ-02 → BD-09) are the published formulas; the inverse ones solve the forward
formula by fixed-point iteration until the residual is below ``1e-12`` degrees (a
micrometre), at most ``MAX_ITERATIONS`` rounds. The usual one-step inverse
(``forward(p) - p`` subtracted once) is off by up to about 5 m; these are off by less than
a millimetre.

Points outside China
--------------------
A point is converted only when its WGS-84 position lies in the rectangle
``CHINA_BOX``: longitude 72.004 to 137.8347 E, latitude 0.8293 to 55.8271 N, bounds
included. This is the rectangle of prcoords' ``sanity_in_china_p`` and eviltransform's
``outOfChina``, which most implementations share. Every other point, and a NaN
coordinate, comes back unchanged: outside China the map services use WGS-84 themselves
(Baidu's SDK documentation says so of its overseas maps).
The rectangle is rough: it takes in neighbouring countries (Mongolia, both Koreas, western
Japan, much of South-East Asia), whose points are converted too, as in every other
implementation.

Conversions from WGS-84 test their input; conversions to WGS-84, and between GCJ-02 and
BD-09, test the WGS-84 position they solve for. A conversion and its inverse therefore
undo each other for every point of the rectangle. Testing the solution rather than the
input matters only within about 0.02° (2 km) of the rectangle's edges, all outside
China's territory, where a GCJ-02/BD-09 position may belong to a WGS-84 point on the
other side of the edge.
prcoords tests the same rectangle in its forward conversions and its one-step inverse
(on the GCJ-02 input); its iterative ("bored") inverses and its BD-09 twist ignore the
rectangle and move points anywhere in the world.

Other coordinate systems
------------------------
CGCS2000 (EPSG:4490) and its Gauss–Krüger zones (EPSG:4491–4554), and any other EPSG
code, go through pyproj (``GeoDataFrame.to_crs``). CGCS2000 and WGS-84 agree to better than
a metre, far below what grid and building maps resolve, so EPSG:4490 longitude/latitude
pass unchanged. :func:`to_wgs84` and :func:`from_wgs84` take any of these names, so a file
or request boundary makes one call.
"""

from gridgeo.chinacrs.formulas import (
    BD09,
    BOX_EDGE_BAND,
    CHINA_BOX,
    GCJ02,
    MAX_ITERATIONS,
    TOLERANCE,
    WGS84,
    LonLatSystem,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridgeo.chinacrs.frames import (
    convert_geometry,
    convert_xy,
    from_wgs84,
    parse_crs_name,
    to_wgs84,
)

__all__ = [
    "LonLatSystem",
    "BD09",
    "BOX_EDGE_BAND",
    "CHINA_BOX",
    "GCJ02",
    "MAX_ITERATIONS",
    "TOLERANCE",
    "WGS84",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert_geometry",
    "convert_xy",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "parse_crs_name",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]
