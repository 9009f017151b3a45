"""The stores' change counter, and when it last moved: the one place that reads them.

Caches of tiles, maps and findings key on this number: a write that commits makes new
entries rather than serving stale ones. The counter is the sum of the per-layer counts
in the ``data_versions`` table (:func:`bump_versions` counts them); each row also keeps
when its layer last changed (``changed_at``), so the latest of them is the time of the
store's version: what map pages, ``/findings`` and the report say they are "as of".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gridgeo.schema.columns import UTCDateTime

__all__ = [
    "DataStamp",
    "bump_versions",
    "data_stamp_sql",
    "data_version_sql",
    "read_data_stamp",
    "read_data_version",
    "stamp_of_row",
]


@dataclass(frozen=True)
class DataStamp:
    """A data version and the time (UTC) of its last change (None: nothing changed yet)."""

    version: int
    changed_at: dt.datetime | None = None

    def local_time(self, timezone: str) -> dt.datetime | None:
        """The time of the last change in ``timezone`` (an IANA name), to the second.

        Examples
        --------
        >>> at = dt.datetime(2026, 12, 4, 3, 5, 7, 250, tzinfo=dt.UTC)
        >>> DataStamp(123, at).local_time("Asia/Shanghai").isoformat()
        '2026-12-04T11:05:07+08:00'
        """
        from zoneinfo import ZoneInfo

        if self.changed_at is None:
            return None
        return self.changed_at.astimezone(ZoneInfo(timezone)).replace(microsecond=0)

    def describe(self, pattern: str, timezone: str) -> str:
        """``pattern`` with ``{time}`` (local, to the minute) and ``{version}`` filled in.

        Examples
        --------
        >>> at = dt.datetime(2026, 12, 4, 3, 5, tzinfo=dt.UTC)
        >>> DataStamp(123, at).describe("数据截至 {time}（版本 {version}）", "Asia/Shanghai")
        '数据截至 2026-12-04 11:05（版本 123）'
        """
        at = self.local_time(timezone)
        time = "–" if at is None else at.strftime("%Y-%m-%d %H:%M")
        return pattern.format(time=time, version=self.version)


def data_version_sql(*, postgres: bool = False, by_layer: bool = False) -> str:
    """The statement that reads the change counter (one row, one column).

    Parameters
    ----------
    postgres
        Cast to ``bigint`` (PostgreSQL's ``sum`` of integers is a ``numeric``).
    by_layer
        Count the changes of one layer only, bound as ``:layer``.

    Examples
    --------
    >>> data_version_sql(postgres=True)
    'SELECT coalesce(sum(version), 0)::bigint FROM data_versions'
    """
    sql = "SELECT coalesce(sum(version), 0)" + ("::bigint" if postgres else "")
    sql += " FROM data_versions"
    return sql + (" WHERE layer = :layer" if by_layer else "")


def data_stamp_sql(*, postgres: bool = False) -> str:
    """The statement that reads the change counter and its time (one row, two columns).

    Examples
    --------
    >>> data_stamp_sql()
    'SELECT coalesce(sum(version), 0), max(changed_at) FROM data_versions'
    """
    return data_version_sql(postgres=postgres).replace(" FROM", ", max(changed_at) FROM")


def read_data_version(conn: sa.Connection, layer: str | None = None) -> int:
    """The change counter of the store ``conn`` is connected to (of ``layer``, if given)."""
    params: dict[str, Any] = {} if layer is None else {"layer": layer}
    sql = data_version_sql(by_layer=layer is not None)
    return int(conn.execute(sa.text(sql), params).scalar_one())


def read_data_stamp(conn: sa.Connection) -> DataStamp:
    """The change counter of the store ``conn`` is connected to, and its time, in one read."""
    query = sa.text(data_stamp_sql()).columns(
        sa.column("version", sa.BigInteger()), sa.column("changed_at", UTCDateTime())
    )
    version, changed_at = conn.execute(query).one()
    return DataStamp(int(version), changed_at)


def stamp_of_row(row: Sequence[Any] | None) -> DataStamp:
    """The stamp in a row of :func:`data_stamp_sql` read by a driver (psycopg) directly."""
    if row is None:
        return DataStamp(0)
    changed_at = row[1]
    if changed_at is not None:
        changed_at = changed_at.astimezone(dt.UTC)
    return DataStamp(int(row[0]), changed_at)


#: The PostgreSQL advisory lock that makes writers count their changes one at a time.
_BUMP_LOCK = 0x67726964  # "grid"


def bump_versions(conn: sa.Connection, layers: Sequence[str]) -> DataStamp:
    """Count one change of each layer in the caller's transaction; return the new stamp.

    The stamp is read after the bump, on the same transaction, so it is the version
    this write makes (with no layers: the version the transaction sees). On PostgreSQL
    the writers that count changes take one transaction lock first, held to their
    commit, so two writes to different layers never both read the same sum: each
    write's version is its own. Call this last in the transaction, so the lock is held
    only for the bump and the commit (and a writer holding it waits for no other lock).
    Layers are bumped in one fixed order.
    """
    postgres = conn.dialect.name == "postgresql"
    if layers and postgres:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _BUMP_LOCK})
    # the server's clock on PostgreSQL, read after the lock: the times of successive
    # versions follow each other whichever host the writing process runs on
    at = "clock_timestamp()" if postgres else ":at"
    bump = sa.text(
        f"INSERT INTO data_versions (layer, version, changed_at) VALUES (:layer, 1, {at}) "
        "ON CONFLICT (layer) DO UPDATE SET version = data_versions.version + 1, "
        "changed_at = excluded.changed_at"
    )
    if not postgres:
        bump = bump.bindparams(sa.bindparam("at", type_=UTCDateTime()))
    now = dt.datetime.now(dt.UTC)
    for layer in sorted(set(layers)):
        conn.execute(bump, {"layer": layer} if postgres else {"layer": layer, "at": now})
    return read_data_stamp(conn)
