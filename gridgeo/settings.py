"""Settings, read from ``GRIDGEO_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "DEFAULT_MAX_BODY_BYTES", "Settings", "get_settings"]

DEFAULT_DATABASE_URL = "sqlite:///gridgeo.sqlite"
#: The largest request body the web API reads by default: 1 MiB.
DEFAULT_MAX_BODY_BYTES = 1 << 20


class Settings(BaseSettings):
    """gridgeo's configuration.

    Attributes
    ----------
    database_url
        Which store to use. ``sqlite:///PATH`` is the embedded store (a single file,
        no server; the default is ``gridgeo.sqlite`` in the working directory);
        ``postgresql://user@host:port/db`` is a PostGIS server.
    timezone
        The district's local time zone. Times in input files without an offset are
        taken as local time in this zone; everything is stored in UTC.
    auth
        ``on`` (default): the web API needs a token (``gridgeo token create``).
        ``off``: the open, read-only local demo; every read is district-wide without
        personal data, and every write is refused.
    basemap_url
        An external XYZ tile URL (``https://.../{z}/{x}/{y}.png``, ``{s}`` allowed)
        offered as a second basemap on the map pages, e.g. 天地图 or an intranet tile
        server. Unset (default): the pages offer only the basemap drawn from the
        district's own data and load nothing from outside the service.
    basemap_attribution
        The credit shown with ``basemap_url`` (provider, licence, 审图号).
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
    cjk_font
        A font file (``.ttf``/``.ttc``/``.otf``) for Chinese text in static maps and
        reports. Unset (default): an installed Noto Sans CJK, Source Han Sans or
        WenQuanYi font is used (Debian: ``fonts-noto-cjk``).
    max_body_bytes
        The largest request body the web API accepts, in bytes (default 1 MiB, far
        more than any field write needs). A larger ``Content-Length`` is refused (413)
        before anything else is done; a body sent without one is cut off as soon as it
        passes the limit.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDGEO_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Shanghai"
    auth: Literal["on", "off"] = "on"
    basemap_url: str | None = None
    basemap_attribution: str = ""
    tile_key_seconds: int = Field(3600, ge=10, le=7 * 86400)
    tile_key_secret: SecretStr | None = Field(None, min_length=32)
    cjk_font: str | None = None
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=0)


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
