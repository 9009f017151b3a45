"""Basemaps: files of tiles for an intranet, and the online providers the service proxies.

- :mod:`~gridgeo.basemaps.files`: read MBTiles and PMTiles files (:class:`BasemapFile`),
  write them;
- :mod:`~gridgeo.basemaps.build`: draw a basemap file of the district from a store
  (:func:`build_basemap`, the ``gridgeo basemap build`` command);
- :mod:`~gridgeo.basemaps.providers`: Tianditu and AMap tile URLs, fetching a tile, and
  AMap's GCJ-02 tiles re-projected to WGS-84 (:func:`gcj02_tile`).
"""

from __future__ import annotations

from gridgeo.basemaps.build import BuiltBasemap, build_basemap, parse_zooms
from gridgeo.basemaps.files import MEDIA_TYPES, BasemapFile, write_mbtiles, write_pmtiles
from gridgeo.basemaps.providers import (
    TIANDITU_LAYERS,
    amap_url,
    fetch_tile,
    gcj02_source_pixels,
    gcj02_tile,
    tianditu_url,
)

__all__ = [
    "MEDIA_TYPES",
    "TIANDITU_LAYERS",
    "BasemapFile",
    "BuiltBasemap",
    "amap_url",
    "build_basemap",
    "fetch_tile",
    "gcj02_source_pixels",
    "gcj02_tile",
    "parse_zooms",
    "tianditu_url",
    "write_mbtiles",
    "write_pmtiles",
]
