"""Vector (MVT) and raster (PNG) tiles and their TileJSON: ``/tiles/...``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
