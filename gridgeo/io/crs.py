"""What ``--crs`` says a file's coordinates are in, and the one conversion to WGS-84.

``--crs`` takes an EPSG code (``4326``, ``4490``, ``EPSG:4547``, a WKT or PROJ string)
for a file that declares no CRS, or ``gcj02`` (AMap, Tencent, WeChat) / ``bd09``
(Baidu) for longitude/latitude in those systems. The rule for a file that declares
its own CRS:

- an EPSG code must agree with it (a different one is refused, naming both);
- ``gcj02``/``bd09`` override a declared longitude/latitude CRS (WGS 84, CGCS2000):
  the apps' exports label their coordinates WGS 84, so the label says nothing; a
  declared projected CRS (metres) is refused.

GCJ-02 and BD-09 coordinates are converted to WGS-84 once, here, vertex by vertex and
vectorised (:func:`gridgeo.chinacrs.to_wgs84`, iterative inverses); points outside
China's rectangle are left unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
from pyproj import CRS

from gridgeo import chinacrs
from gridgeo.chinacrs import BD09, GCJ02, WGS84

__all__ = ["SHIFT_NAMES", "InputCRS", "parse_input_crs", "frame_to_wgs84"]

#: how the two obfuscated systems are named in messages
SHIFT_NAMES = {GCJ02: "GCJ-02", BD09: "BD-09"}


@dataclass(frozen=True)
class InputCRS:
    """The coordinate system ``--crs`` names.

    ``crs`` is what the coordinates are labelled with (EPSG:4326 for GCJ-02/BD-09,
    which are longitude/latitude); ``shift`` is ``'gcj02'`` or ``'bd09'`` for
    coordinates in those systems, None for an EPSG code.
    """

    crs: CRS
    shift: str | None = None

    @property
    def name(self) -> str:
        """``GCJ-02``, ``BD-09`` or the EPSG code (``EPSG:4490``)."""
        return SHIFT_NAMES[self.shift] if self.shift else self.crs.to_string()


def parse_input_crs(value: str | int | CRS | None) -> InputCRS | None:
    """Read ``--crs``: ``gcj02``, ``bd09``, ``wgs84`` or anything pyproj reads.

    Raises
    ------
    CRSError
        The value names no coordinate system (``--crs mars``); the message lists the
        accepted ones.

    Examples
    --------
    >>> parse_input_crs("GCJ-02").name, parse_input_crs(4490).name, parse_input_crs(None)
    ('GCJ-02', 'EPSG:4490', None)
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = chinacrs.parse_crs_name(value)
    if kind in (GCJ02, BD09):
        return InputCRS(CRS.from_epsg(4326), str(kind))
    return InputCRS(CRS.from_epsg(4326) if kind == WGS84 else kind)  # type: ignore[arg-type]


def frame_to_wgs84(frame: gpd.GeoDataFrame, given: InputCRS) -> gpd.GeoDataFrame:
    """``frame``, whose coordinates are in ``given``, in EPSG:4326.

    GCJ-02/BD-09 are converted vertex by vertex (whatever CRS label the frame carries);
    an EPSG code is reprojected from (a frame without a CRS is labelled with it).
    """
    if given.shift:
        return chinacrs.to_wgs84(frame.set_crs(4326, allow_override=True), given.shift)
    if frame.crs is None:
        frame = frame.set_crs(given.crs)
    return frame.to_crs(4326)
