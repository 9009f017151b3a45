"""The pages' scripts and stylesheets, all served by this service (``/static/...``).

folium's CDN links are replaced by ``/static/vendor/...`` (third-party packages
unpacked there by ``scripts/vendor.sh`` at install time) and ``/static/gridgeo/...``
(ours). The route serving them stays open: the pages need their scripts before any
token is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

__all__ = ["CSS", "JS", "STATIC_DIR", "VENDOR_ASSETS", "offline", "router", "static", "static_url"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

#: folium's asset names → files under /static/vendor/ (packages pinned in scripts/vendor.sh).
VENDOR_ASSETS: dict[str, str] = {
    "leaflet": "leaflet/dist/leaflet.js",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "awesome_markers": "leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    "awesome_markers_font_css": "@fortawesome/fontawesome-free/css/all.min.css",
    "awesome_markers_css": "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    "vectorGrid": "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
    "markerCluster": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerCluster_css": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerCluster_default_css": "leaflet.markercluster/dist/MarkerCluster.Default.css",
}
#: The scripts a map itself needs.
JS = ("leaflet", "jquery", "bootstrap", "awesome_markers")
#: The stylesheets a map needs. folium also links bootstrap 3's glyphicons and its own
#: rotate stylesheet; neither is used by these pages, so they are left out rather than fetched.
CSS = ("leaflet_css", "bootstrap_css", "awesome_markers_font_css", "awesome_markers_css")

router = APIRouter()


def static_url(request: Request, path: str) -> str:
    """The URL of ``/static/{path}`` under the app's root path."""
    return f"{request.scope.get('root_path', '')}/static/{path}"


def offline(element: Any, request: Request, js: tuple[str, ...], css: tuple[str, ...]) -> None:
    """Point an element's assets at this service (instance lists: folium's stay as they are)."""
    element.default_js = [(n, static_url(request, "vendor/" + VENDOR_ASSETS[n])) for n in js]
    element.default_css = [(n, static_url(request, "vendor/" + VENDOR_ASSETS[n])) for n in css]


_static_files = StaticFiles(directory=STATIC_DIR, check_dir=False)


@router.get("/static/{path:path}", include_in_schema=False)
async def static(path: str, request: Request) -> Response:
    """The pages' scripts, stylesheets, fonts and images (ETag, 304, a week's cache)."""
    response = await _static_files.get_response(path, request.scope)
    if response.status_code in (200, 304):
        response.headers["Cache-Control"] = "public, max-age=604800"
    return response
