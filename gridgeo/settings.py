"""Settings, read from ``GRIDGEO_*`` environment variables (or a ``.env`` file).

The settings are grouped by concern, one class each: the store (:class:`StoreSettings`),
the web API (:class:`APISettings`), the map pages' basemaps (:class:`BasemapSettings`),
the service's memory caches (:class:`CacheSettings`) and the tools the library runs
(:class:`ToolSettings`). :class:`Settings` holds them all
as flat fields, so every variable keeps its plain name (``GRIDGEO_POOL_SIZE``, not a
nested ``GRIDGEO_CACHE__...``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_MAX_BODY_BYTES",
    "AMAP_URL",
    "TIANDITU_URL",
    "APISettings",
    "BasemapSettings",
    "CacheSettings",
    "Settings",
    "StoreSettings",
    "ToolSettings",
    "get_settings",
]

DEFAULT_DATABASE_URL = "sqlite:///gridgeo.sqlite"
#: The largest request body the web API reads by default: 1 MiB.
DEFAULT_MAX_BODY_BYTES = 1 << 20
_MIB = 1024 * 1024

#: Tianditu's tile servers t0–t7 (``{s}``: 0 to 7), the Web Mercator ("_w") layers.
TIANDITU_URL = "https://t{s}.tianditu.gov.cn/DataServer?T={layer}&x={x}&y={y}&l={z}&tk={key}"
#: AMap's road map tiles (``{s}``: 1 to 4), drawn in GCJ-02.
AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=7"
    "&x={x}&y={y}&z={z}"
)

_CONFIG = SettingsConfigDict(env_prefix="GRIDGEO_", env_file=".env", extra="ignore")


class StoreSettings(BaseSettings):
    """Where the data is and how the service talks to it.

    Attributes
    ----------
    database_url
        Which store to use. ``sqlite:///PATH`` is the embedded store (a single file,
        no server; the default is ``gridgeo.sqlite`` in the working directory);
        ``postgresql://user@host:port/db`` is a PostGIS server.
    timezone
        The district's local time zone. Times in input files without an offset are
        taken as local time in this zone; everything is stored in UTC.
    pool_size
        Asynchronous PostGIS connections the service keeps per store for tiles and
        the change counter (default 8).
    connect_timeout
        Seconds a request waits for PostGIS to answer when that pool opens (default 10).
    version_listener
        On PostGIS, each service process listens for the data version's notifications
        (``LISTEN gridgeo_data_version``) and keys its caches on the newest version
        notified instead of querying it per request (default on; ``0``: query it).
    """

    model_config = _CONFIG

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Shanghai"
    pool_size: int = Field(8, ge=1, le=1000)
    connect_timeout: float = Field(10.0, gt=0)
    version_listener: bool = True


def _flag(value: Any) -> Any:
    """A flag from the environment: on for ``1`` only (anything else is off)."""
    return value == "1" if isinstance(value, str) else value


def _off_or_on(value: Any) -> Any:
    """``0`` off, ``1`` on, anything else (or unset) None: the program decides."""
    if isinstance(value, str):
        return {"0": False, "1": True}.get(value.strip())
    return value


class APISettings(BaseSettings):
    """Who may use the web API, what its pages offer and how much a request may ask.

    Attributes
    ----------
    auth
        ``on`` (default): the web API needs a token (``gridgeo token create``).
        ``off``: the open, read-only local demo; every read is district-wide without
        personal data, and every write is refused.
    tile_key_seconds
        How long the tile keys that map pages and TileJSON write into their tile URLs
        (``tile_key=``) stay valid, in seconds (default 3600; a key made now is valid
        for this long and at most a sixth longer, so pages made close together share
        tile URLs and the browser's cache).
    tile_key_secret
        The secret the tile keys are signed with (HMAC-SHA256), at least 32 characters.
        Unset (default): a random secret made by each server process, so keys end with
        a restart and are not accepted by another process; set it when several
        processes or hosts serve the same store.
    max_body_bytes
        The largest request body the web API accepts, in bytes (default 1 MiB, far
        more than any field write needs). A larger ``Content-Length`` is refused (413)
        before anything else is done; a body sent without one is cut off as soon as it
        passes the limit.
    page_limit
        The most features one page of the data API (``?limit=``) may hold (default 10000).
    batch_max_items
        The most writes one ``POST /batch`` may hold (default 500); the body limit
        holds for a batch too.
    inline_max_features, inline_max_bytes
        A map page inlines a layer as GeoJSON up to this many features (default 1500),
        and up to this many bytes of GeoJSON in all (default 800000); larger layers are
        drawn from vector tiles.
    """

    model_config = _CONFIG

    auth: Literal["on", "off"] = "on"
    tile_key_seconds: int = Field(3600, ge=10, le=7 * 86400)
    tile_key_secret: SecretStr | None = Field(None, min_length=32)
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=0)
    page_limit: int = Field(10_000, ge=1)
    batch_max_items: int = Field(500, ge=1, le=100_000)
    inline_max_features: int = Field(1500, ge=0)
    inline_max_bytes: int = Field(800_000, ge=0)


class BasemapSettings(BaseSettings):
    """The basemaps the map pages offer besides the one drawn from the district's data.

    Every tile of them is served by the service itself (``/basemaps/...``), with the
    readers' credentials of the other tiles; a provider's key stays on the server.

    Attributes
    ----------
    basemap_url
        An external XYZ tile URL (``https://.../{z}/{x}/{y}.png``, ``{s}`` allowed)
        loaded by the browser itself, e.g. an intranet tile server that needs no key.
        Unset (default): no such basemap.
    basemap_attribution
        The credit shown with ``basemap_url`` (provider, licence, 审图号).
    basemap_file
        An MBTiles (``.mbtiles``) or PMTiles (``.pmtiles``) file of raster (PNG, JPEG,
        WebP) or vector (MVT) tiles, served at ``/basemaps/file/{z}/{x}/{y}`` and shown
        as the pages' basemap: the intranet's basemap (``gridgeo basemap build`` makes
        one from the district's own data).
    basemap_file_attribution
        The credit shown with ``basemap_file`` (default: the file's own
        ``attribution``).
    tianditu_key
        A 天地图 key (``tk``, of the server kind): the pages then offer Tianditu's vector
        (``vec_w`` + ``cva_w``) and imagery (``img_w`` + ``cia_w``) maps with labels,
        proxied through ``/basemaps/tianditu/...``. Unset (default): not offered.
    tianditu_url
        Tianditu's tile URL template (``{layer}``, ``{x}``, ``{y}``, ``{z}``, ``{key}``,
        ``{s}`` for the servers t0–t7); another host for a mirror or for tests.
    amap
        ``1``: the pages offer AMap (高德) as a basemap, re-projected by the service from
        GCJ-02 to WGS-84 (default off).
    amap_url
        AMap's tile URL template (``{x}``, ``{y}``, ``{z}``, ``{s}`` for webrd01–04).
    upstream_timeout
        Seconds the service waits for a provider's tile (default 10); then 502.
    """

    model_config = _CONFIG

    basemap_url: str | None = None
    basemap_attribution: str = ""
    basemap_file: str | None = None
    basemap_file_attribution: str | None = None
    tianditu_key: SecretStr | None = None
    tianditu_url: str = TIANDITU_URL
    amap: Annotated[bool, BeforeValidator(_flag)] = False
    amap_url: str = AMAP_URL
    upstream_timeout: float = Field(10.0, gt=0)


class CacheSettings(BaseSettings):
    """How much the service keeps in memory (per store, least recently used out first).

    Attributes
    ----------
    tile_cache_bytes
        Bytes of encoded vector tiles (default 128 MiB).
    png_cache_bytes
        Bytes of drawn PNG tiles (default 64 MiB).
    tile_response_cache_bytes
        Bytes of finished tile responses answered in front of the routes (default 64 MiB).
    documents_kept
        Static maps and reports of each kind (default 16).
    map_pages_kept
        Map pages (of a kind, options, language and area) kept per store (default 64).
    analysis_cache_entries
        Results of each analysis (the check's results of a day, the hotspot layers of
        some options) kept per store (default 4).
    token_cache_seconds
        How long a token lookup is remembered, and so how long a revoked token may
        still read (default 30).
    token_cache_size
        Token lookups and tile keys remembered (default 4096).
    basemap_cache_bytes
        Bytes of the providers' basemap tiles (Tianditu, AMap) kept (default 64 MiB).
    """

    model_config = _CONFIG

    tile_cache_bytes: int = Field(128 * _MIB, ge=0)
    png_cache_bytes: int = Field(64 * _MIB, ge=0)
    tile_response_cache_bytes: int = Field(64 * _MIB, ge=0)
    documents_kept: int = Field(16, ge=1)
    map_pages_kept: int = Field(64, ge=1)
    analysis_cache_entries: int = Field(4, ge=1)
    token_cache_seconds: float = Field(30.0, ge=0)
    token_cache_size: int = Field(4096, ge=1)
    basemap_cache_bytes: int = Field(64 * _MIB, ge=0)


class ToolSettings(BaseSettings):
    """The programs and resources the library uses to draw, print and report progress.

    Attributes
    ----------
    cjk_font
        A font file (``.ttf``/``.ttc``/``.otf``) for Chinese text in static maps and
        reports. Unset (default): an installed Noto Sans CJK, Source Han Sans or
        WenQuanYi font is used (Debian: ``fonts-noto-cjk``).
    chromium
        The Chrome/Chromium executable that prints PDF reports. Unset (default):
        ``chromium`` (or another Chrome) on the ``PATH``.
    progress
        ``0``: no progress at all. Unset (default) or ``1``: bars on a terminal, plain
        lines (each step's start and end, at most one line per 10 s) otherwise.
    """

    model_config = _CONFIG

    cjk_font: str | None = None
    chromium: str | None = None
    progress: Annotated[bool | None, BeforeValidator(_off_or_on)] = None


class Settings(StoreSettings, APISettings, BasemapSettings, CacheSettings, ToolSettings):
    """gridgeo's configuration: every group's fields, each from its ``GRIDGEO_`` variable.

    See :class:`StoreSettings`, :class:`APISettings`, :class:`BasemapSettings`,
    :class:`CacheSettings` and :class:`ToolSettings` for the fields.
    """

    model_config = _CONFIG


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
