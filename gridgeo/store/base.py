"""The interface both stores share: lifecycle, schema, change counters and reads.

Writes are in :mod:`~gridgeo.store.writes`, read selections in
:mod:`~gridgeo.store.selection`, frames built from fetched rows in
:mod:`~gridgeo.store.frames`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.resources import files
from typing import Any

import alembic.util
import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gridgeo.errors import StoreError, ValidationError
from gridgeo.layers import LAYERS, ROW_COLUMN, Field, LayerSpec, get_layer
from gridgeo.store.frames import gc_paused, to_frame
from gridgeo.store.notify import BUMPED
from gridgeo.store.selection import Selection, column_sql
from gridgeo.store.versions import DataStamp, bump_versions, read_data_stamp, read_data_version
from gridgeo.store.writes import Progress, WriteResult, Writes

__all__ = ["ROW_COLUMN", "Progress", "Store", "WriteResult", "column_sql", "gc_paused"]


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("gridgeo") / "migrations"))
    return cfg


class Store(Writes):
    """A gridgeo store: the embedded SQLite file or a PostGIS database.

    Both expose the same methods and return the same frames; create one with
    :func:`gridgeo.store.open_store`.

    Parameters
    ----------
    engine
        A SQLAlchemy engine for the database.
    """

    dialect: str = ""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- lifecycle ------------------------------------------------------------
    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    @property
    def url(self) -> str:
        """The store's URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    # -- schema -----------------------------------------------------------------
    def revision(self) -> str | None:
        """The migration revision the database is at (None for an empty database)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    def head() -> str:
        """The newest migration revision this gridgeo knows."""
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert head is not None
        return head

    @staticmethod
    def knows(revision: str) -> bool:
        """Whether ``revision`` is one of this gridgeo's migrations."""
        try:
            return ScriptDirectory.from_config(_alembic_config()).get_revision(revision) is not None
        except alembic.util.CommandError:
            return False

    def upgrade(self, revision: str = "head") -> None:
        """Run the migrations up to ``revision`` in one transaction."""
        self._migrate(command.upgrade, revision)

    def downgrade(self, revision: str) -> None:
        """Undo migrations down to ``revision`` (``"base"``: drop every table)."""
        self._migrate(command.downgrade, revision)

    def _migrate(self, step: Callable[[Config, str], None], revision: str) -> None:
        cfg = _alembic_config()
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                step(cfg, revision)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate {self.url}: {exc.__cause__ or exc}") from exc
        except alembic.util.CommandError as exc:
            raise StoreError(f"cannot migrate {self.url} to {revision}: {exc}") from exc

    def ensure_schema(self) -> None:
        """Create the tables in an empty database; refuse one at an unknown revision.

        An embedded store at an older revision is upgraded in place; a PostGIS
        database is shared, so there the upgrade is left to ``gridgeo db upgrade``.
        """
        try:
            current = self.revision()
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open {self.url}: {exc.orig}") from exc
        head = self.head()
        if current == head:
            return
        if current is not None and not self.knows(current):
            raise StoreError(
                f"{self.url} is at schema revision {current}, which this gridgeo "
                f"(schema {head}) does not know: a newer gridgeo wrote it; install that "
                "version to open it (nothing was changed)"
            )
        if current is None or self.dialect == "sqlite":
            self.upgrade()
            return
        raise StoreError(
            f"{self.url} is at schema revision {current}, this gridgeo needs {head}; "
            "run `gridgeo db upgrade` (back the database up first)"
        )

    # -- change counters --------------------------------------------------------
    def data_version(self, layer: str | None = None) -> int:
        """How many committed writes have changed ``layer`` (default: any layer).

        The number only grows, so caches of tiles, maps and findings key on it:
        a write that commits makes new entries rather than serving stale ones.
        """
        if layer is not None:
            get_layer(layer)
        with self.engine.connect() as conn:
            return read_data_version(conn, layer)

    def data_stamp(self) -> DataStamp:
        """The store's change counter and the time (UTC) of its last change, in one read."""
        with self.engine.connect() as conn:
            return read_data_stamp(conn)

    @staticmethod
    def bump_version(conn: sa.Connection, layers: Sequence[str]) -> DataStamp:
        """Count one change of each layer, inside the caller's transaction.

        Returns the stamp the write makes, read in that transaction after the bump
        (:func:`gridgeo.store.versions.bump_versions`). On PostGIS the commit notifies
        the services listening for the new total (:mod:`gridgeo.store.notify`); the
        connection is marked so the process's own listener counts the write.
        """
        if layers:
            conn.info[BUMPED] = True
        return bump_versions(conn, layers)

    # -- reading ----------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Number of rows in each layer."""
        with self.engine.connect() as conn:
            return {
                name: int(
                    conn.execute(sa.text(f'SELECT count(*) FROM "{spec.table}"')).scalar_one()
                )
                for name, spec in LAYERS.items()
            }

    def read_layer(
        self,
        layer: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        include_personal: bool = False,
        columns: Iterable[str] | None = None,
        geometry: bool = True,
        where: Mapping[str, Iterable[Any]] | None = None,
        limit: int | None = None,
        offset: int = 0,
        ranges: Mapping[str, tuple[Any, Any]] | None = None,
    ) -> pd.DataFrame:
        """Read a layer into a (Geo)DataFrame in EPSG:4326.

        Parameters
        ----------
        layer
            One of :data:`gridgeo.layers.LAYER_ORDER`.
        bbox
            ``(minx, miny, maxx, maxy)`` in longitude/latitude: only features whose
            geometry intersects it.
        include_personal
            Include personal data columns (household names and phone numbers).
            Leave it False for anything that ends up in a map, a tile or an export.
        columns
            Only these attribute columns (``code`` always comes).
        geometry
            Read the geometry (default); without it a layer comes as a plain
            DataFrame, much faster for big point layers such as visits.
        where
            Column → the values to keep (codes for references, ints for int
            columns, text for text columns): only rows whose every named column
            holds one of its values. Selected in the database on PostGIS, so a few
            visits of one household do not cost a read of them all.
        limit, offset
            One page of the rows, which come in the order they were stored
            (:meth:`count_layer` tells how many there are in all).
        ranges
            Column → ``(low, high)``: only rows whose value lies in ``[low, high)``
            (a time column takes timezone-aware datetimes, a date column dates, an
            integer column ints; a missing value is never in a range). Selected by
            the database on PostGIS (``col >= low AND col < high``), by vectorised
            comparisons on SQLite: a month of visits does not cost a read of them all.

        Returns
        -------
        geopandas.GeoDataFrame or pandas.DataFrame
            Columns as in :data:`gridgeo.layers.LAYERS`, references as codes.
        """
        spec = get_layer(layer)
        fields = self._select_fields(spec, include_personal, columns)
        selection = Selection.of(spec, bbox, where, limit, offset, ranges)
        if not geometry:
            spec = dataclasses.replace(spec, geometry=None)
        with gc_paused():
            return self._read(spec, fields, selection)

    def count_layer(
        self,
        layer: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        where: Mapping[str, Iterable[Any]] | None = None,
        ranges: Mapping[str, tuple[Any, Any]] | None = None,
    ) -> int:
        """How many rows :meth:`read_layer` gives with the same selection (no page)."""
        spec = get_layer(layer)
        selection = Selection.of(spec, bbox, where, None, 0, ranges)
        clauses, params = self._where_sql(selection)
        sql = f'SELECT count(*) FROM "{spec.table}" t' + (
            " WHERE " + " AND ".join(clauses) if clauses else ""
        )
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql(sql, params or None).scalar_one())

    def _read(self, spec: LayerSpec, fields: list[Field], selection: Selection) -> pd.DataFrame:
        sql, params = self._select_sql(spec, fields, selection)
        data = self._fetch_columns(sql, params, len(fields) + (1 if spec.geometry else 0))
        return to_frame(spec, fields, data)

    @staticmethod
    def _select_fields(
        spec: LayerSpec, include_personal: bool, columns: Iterable[str] | None
    ) -> list[Field]:
        wanted = None if columns is None else set(columns) | {"code"}
        if wanted is not None:
            unknown = wanted - set(spec.field_names)
            if unknown:
                raise ValidationError(
                    f"layer {spec.name!r} has no column(s) {sorted(unknown)}; "
                    f"its columns are {spec.field_names}"
                )
        return [
            f
            for f in spec.fields
            if (include_personal or not f.personal) and (wanted is None or f.name in wanted)
        ]

    def _geom_select(self, column: str) -> str:
        raise NotImplementedError

    def _bbox_clause(self, column: str) -> str:
        raise NotImplementedError

    def _where_sql(self, selection: Selection) -> tuple[list[str], dict[str, Any]]:
        """The WHERE clauses of a selection (bbox, column values) and their parameters."""
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if selection.bbox is not None:
            clauses.append(self._bbox_clause('t."geom"'))
            params.update(
                zip(("minx", "miny", "maxx", "maxy"), map(float, selection.bbox), strict=True)
            )
        for i, (f, values) in enumerate(selection.where):
            name = f"where_{i}"
            params[name] = list(values)
            if f.ref:
                clauses.append(
                    f't."{f.db_column}" IN (SELECT id FROM "{LAYERS[f.ref].table}" '
                    f"WHERE code = ANY(%({name})s))"
                )
            else:
                clauses.append(f't."{f.db_column}" = ANY(%({name})s)')
        for i, (f, low, high) in enumerate(selection.ranges):
            name = f"range_{i}"
            clauses.append(f't."{f.db_column}" >= %({name}_low)s')
            clauses.append(f't."{f.db_column}" < %({name}_high)s')
            params[f"{name}_low"], params[f"{name}_high"] = low, high
        return clauses, params

    def _select_sql(
        self, spec: LayerSpec, fields: list[Field], selection: Selection
    ) -> tuple[str, dict[str, Any]]:
        cols, joins = column_sql(fields)
        if spec.geometry:
            cols.append(self._geom_select('t."geom"'))
        sql = f'SELECT {", ".join(cols)} FROM "{spec.table}" t {" ".join(joins)}'
        clauses, params = self._where_sql(selection)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY t.id"
        if selection.limit is not None:
            sql += f" LIMIT {int(selection.limit)}"
        if selection.offset:
            sql += f" OFFSET {int(selection.offset)}"
        return sql, params

    def _fetch_columns(self, sql: str, params: dict[str, Any], ncols: int) -> list[list[Any]]:
        raise NotImplementedError

    def codes(self, layer: str, conn: sa.Connection | None = None) -> pd.Series:
        """Map of code → database id for a layer (a Series indexed by code)."""
        spec = get_layer(layer)
        sql = f'SELECT code, id FROM "{spec.table}"'
        if conn is None:
            with self.engine.connect() as c:
                rows = c.execute(sa.text(sql)).all()
        else:
            rows = conn.execute(sa.text(sql)).all()
        if not rows:
            return pd.Series([], index=pd.Index([], dtype=object), dtype="int64", name="id")
        code, ids = zip(*rows, strict=True)
        return pd.Series(ids, index=pd.Index(code, dtype=object), dtype="int64", name="id")
