"""Which data an answer reflects: the ``X-Data-Version`` and ``X-Data-Time`` headers.

Every write answers with the store's change counter it made (read in its transaction
after the bump, :func:`gridgeo.store.versions.bump_versions`); a replayed write with
the counter when the retry came. ``/findings`` and the finding tiles answer with the
version their findings were computed at, and the time of its last change (ISO 8601 in
the service's ``GRIDGEO_TIMEZONE``, with the offset).
"""

from __future__ import annotations

from fastapi import Response

from api.state import settings_of
from gridgeo.store import Store
from gridgeo.store.versions import DataStamp

__all__ = ["TIME_HEADER", "VERSION_HEADER", "stamp_headers", "stamped", "version_headers"]

#: The store's change counter an answer reflects (a write: the one it made).
VERSION_HEADER = "X-Data-Version"
#: When that version's data last changed, ISO 8601 with the offset.
TIME_HEADER = "X-Data-Time"


def version_headers(version: int | None) -> dict[str, str]:
    """``X-Data-Version`` of a write's answer (none for a version not known)."""
    return {} if version is None else {VERSION_HEADER: str(version)}


def stamp_headers(stamp: DataStamp, timezone: str) -> dict[str, str]:
    """``X-Data-Version`` and (for a store that has changed) ``X-Data-Time``."""
    headers = version_headers(stamp.version)
    at = stamp.local_time(timezone)
    if at is not None:
        headers[TIME_HEADER] = at.isoformat()
    return headers


def stamped(response: Response, store: Store, stamp: DataStamp) -> Response:
    """``response`` with the headers of ``stamp`` (in the timezone ``store`` is served in)."""
    response.headers.update(stamp_headers(stamp, settings_of(store).timezone))
    return response
