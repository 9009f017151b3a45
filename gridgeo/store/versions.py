"""The stores' change counter: how many committed writes have changed the data.

Caches of tiles, maps and findings key on this number: a write that commits makes new
entries rather than serving stale ones. The counter is the sum of the per-layer counts
in the ``data_versions`` table (:meth:`gridgeo.store.Store.bump_version` counts them).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["data_version_sql", "read_data_version"]


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


def read_data_version(conn: sa.Connection, layer: str | None = None) -> int:
    """The change counter of the store ``conn`` is connected to (of ``layer``, if given)."""
    params: dict[str, Any] = {} if layer is None else {"layer": layer}
    sql = data_version_sql(by_layer=layer is not None)
    return int(conn.execute(sa.text(sql), params).scalar_one())
