"""Settings, read from ``GRIDGEO_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "get_settings"]

DEFAULT_DATABASE_URL = "sqlite:///gridgeo.sqlite"


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
    """

    model_config = SettingsConfigDict(env_prefix="GRIDGEO_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Shanghai"


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
