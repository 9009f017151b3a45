"""Interactive Leaflet maps (folium), served offline: coverage, hotspots, proposals.

The pages are ``/maps/coverage``, ``/maps/hotspots`` and ``/maps/proposal/{id}``.

Every script, stylesheet, font and icon a page uses is served by this service:
folium's CDN links are replaced by ``/static/vendor/...`` (third-party packages unpacked
there by ``scripts/vendor.sh`` at install time) and ``/static/gridgeo/...`` (ours). The
default basemap is drawn from the data itself (the ``basemap`` vector tiles:
communities, grids, buildings); a basemap file, 天地图, AMap and an external tile URL
are options of the settings (:mod:`~api.maps.basemaps`, served by :mod:`api.basemaps`).

Small layers are put in the page as GeoJSON; any layer above
:data:`INLINE_MAX_FEATURES` features, or that would take the page past its byte
budget, is drawn from the service's vector tiles instead, so a page stays well under
2 MB whatever the size of the city.

Labels are Chinese by default and English with ``?lang=en``. The panels (title, legend,
filter form, layer switcher) are laid out by ``static/gridgeo/map.js`` and ``map.css``
for a desktop and a phone screen alike: on a small screen they start folded.

One job per module: :mod:`~api.maps.coverage`, :mod:`~api.maps.hotspots` and
:mod:`~api.maps.proposal` (a page and its route each), :mod:`~api.maps.page` (folium's
map, the overlays and panels),
:mod:`~api.maps.layers` (the overlays, their colour classes and legends),
:mod:`~api.maps.labels` (grid and community names, by zoom),
:mod:`~api.maps.basemaps` (the basemaps of the layer switcher),
:mod:`~api.maps.inline` (GeoJSON in the page), :mod:`~api.maps.text` (the words, from
``messages.toml``), :mod:`~api.maps.assets` (``/static/...``),
:mod:`~api.maps.responses` (what the routes share), :mod:`~api.maps.cache` (the pages
kept per caller's area, options and data version). The panels and filter forms are the
Jinja templates ``gridgeo/templates/map_*.html.j2`` and ``*_filters.html.j2``.

Who may see them: the pages depend on :func:`api.auth.reader`, so a token comes as
an ``Authorization: Bearer`` header, as ``?token=`` in the URL or as the
``gridgeo_token`` cookie. A browser opens a bookmarked intranet link such as
``/maps/coverage?token=ggt_...``: the page then sets the cookie (``HttpOnly``,
``SameSite=Strict``), which its language link and filter form go on with. The page
itself holds no token: its tile URLs carry a short-lived tile key
(:func:`api.auth.tile_key_for`, ``?tile_key=``) that opens only tiles, TileJSON and
static maps, for the same caller and area, so they load even where cookies are
blocked. Every response says ``Referrer-Policy: no-referrer``. A caller restricted to an area
sees only that area: the district-wide page shows the area's grids, findings and
basemap (its tiles are made for the caller's area, see :mod:`api.tiles`), and
asking for another community or grid is a 403 with the reason. ``/static/...``
stays open: the pages need their scripts before any token is read.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.maps import assets, coverage, hotspots, proposal
from api.maps.assets import STATIC_DIR, VENDOR_ASSETS
from api.maps.coverage import coverage_page
from api.maps.hotspots import hotspot_page
from api.maps.text import TEXT

__all__ = ["STATIC_DIR", "TEXT", "VENDOR_ASSETS", "coverage_page", "hotspot_page", "router"]

router = APIRouter(tags=["maps"])
router.include_router(coverage.router)
router.include_router(hotspots.router)
router.include_router(proposal.router)
router.include_router(assets.router)
