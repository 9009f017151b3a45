"""Interactive Leaflet maps (folium), served offline: ``/maps/coverage``, ``/maps/hotspots``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
