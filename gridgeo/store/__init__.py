"""The two stores behind one interface: PostGIS, and the embedded SQLite default."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from gridgeo.errors import ConfigError
from gridgeo.settings import get_settings
from gridgeo.store.base import ROW_COLUMN, Store, WriteResult
from gridgeo.store.postgis import PostGISStore
from gridgeo.store.sqlite import SQLiteStore

__all__ = [
    "ROW_COLUMN",
    "PostGISStore",
    "SQLiteStore",
    "Store",
    "WriteResult",
    "make_engine",
    "open_store",
]


def make_engine(url: str) -> sa.Engine:
    """Create the SQLAlchemy engine for a store URL.

    ``postgresql://`` URLs use psycopg 3. SQLite connections get foreign keys on,
    WAL journaling, a busy timeout and real transactions (BEGIN is sent by
    SQLAlchemy, so a failed import leaves the file as it was).
    """
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True)
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30}, pool_pre_ping=True)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    raise ConfigError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///PATH (embedded) or postgresql://USER@HOST:PORT/DB (PostGIS)"
    )


def _sqlite_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN start transactions
    for pragma in (
        "foreign_keys=ON",
        "journal_mode=WAL",
        "busy_timeout=30000",
        "synchronous=NORMAL",
    ):
        dbapi_conn.execute(f"PRAGMA {pragma}")


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """Open the store at ``url`` (default: ``GRIDGEO_DATABASE_URL``).

    Parameters
    ----------
    url
        ``sqlite:///PATH`` for the embedded store, ``postgresql://…`` for PostGIS.
    create
        Create the tables when the database is empty (and upgrade an embedded
        store made by an older gridgeo).

    Examples
    --------
    >>> store = open_store("sqlite:///:memory:")
    >>> store.counts()["grids"]
    0
    >>> store.close()
    """
    url = url or get_settings().database_url
    engine = make_engine(url)
    cls = PostGISStore if engine.dialect.name == "postgresql" else SQLiteStore
    store = cls(engine)
    if create:
        try:
            store.ensure_schema()
        except BaseException:
            store.close()
            raise
    return store
