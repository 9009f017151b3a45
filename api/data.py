"""GeoJSON, CSV, XLSX and GeoPackage of layers and findings; field writes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
