"""The interface both stores share, and everything they do the same way."""

from __future__ import annotations

import dataclasses
import gc
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from operator import itemgetter
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gridgeo.errors import Issue, StoreError, ValidationError, database_reason
from gridgeo.layers import LAYER_ORDER, LAYERS, Field, LayerSpec, get_layer
from gridgeo.schema import SRID
from gridgeo.store.audit import Actor, record

__all__ = ["ROW_COLUMN", "Progress", "Store", "WriteResult"]

#: Optional column of a frame handed to ``write_layers``: the row number in the
#: source file, used to name rows in error messages.
ROW_COLUMN = "_row"

#: ``progress(description, done, total)``
Progress = Callable[[str, int, int], None]

_BATCH = 50_000


@dataclass
class WriteResult:
    """What a write did to one layer."""

    layer: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged

    @property
    def changed(self) -> bool:
        """Whether the write inserted or updated any row."""
        return self.inserted + self.updated > 0


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("gridgeo") / "migrations"))
    return cfg


class Store:
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
        sql = "SELECT coalesce(sum(version), 0) FROM data_versions"
        params: dict[str, Any] = {}
        if layer is not None:
            get_layer(layer)
            sql += " WHERE layer = :layer"
            params["layer"] = layer
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar_one())

    @staticmethod
    def bump_version(conn: sa.Connection, layers: Sequence[str]) -> None:
        """Count one change of each layer, inside the caller's transaction.

        Layers are bumped in one fixed order, so concurrent writers take the row
        locks in the same order and never deadlock on them.
        """
        for layer in sorted(set(layers)):
            conn.execute(
                sa.text(
                    "INSERT INTO data_versions (layer, version) VALUES (:layer, 1) "
                    "ON CONFLICT (layer) DO UPDATE SET version = data_versions.version + 1"
                ),
                {"layer": layer},
            )

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
        selection = _Selection.of(spec, bbox, where, limit, offset, ranges)
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
        selection = _Selection.of(spec, bbox, where, None, 0, ranges)
        clauses, params = self._where_sql(selection)
        sql = f'SELECT count(*) FROM "{spec.table}" t' + (
            " WHERE " + " AND ".join(clauses) if clauses else ""
        )
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql(sql, params or None).scalar_one())

    def _read(self, spec: LayerSpec, fields: list[Field], selection: _Selection) -> pd.DataFrame:
        sql, params = self._select_sql(spec, fields, selection)
        data = self._fetch_columns(sql, params, len(fields) + (1 if spec.geometry else 0))
        return _to_frame(spec, fields, data)

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

    def _where_sql(self, selection: _Selection) -> tuple[list[str], dict[str, Any]]:
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
        self, spec: LayerSpec, fields: list[Field], selection: _Selection
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

    # -- writing ----------------------------------------------------------------
    def write_layer(self, layer: str, frame: pd.DataFrame, **kwargs: Any) -> WriteResult:
        """Insert or update the rows of one layer; see :meth:`write_layers`."""
        return self.write_layers({layer: frame}, **kwargs)[layer]

    def write_layers(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        source: str | None = None,
        progress: Progress | None = None,
    ) -> dict[str, WriteResult]:
        """Insert or update several layers in one transaction.

        Rows are matched on ``code``: a row whose code exists replaces the stored
        row, so writing the same data twice leaves the store as it was. Layers are
        written in dependency order, so a frame may refer to codes written in the
        same call. Either every layer is written or, on any error, none is.

        Parameters
        ----------
        frames
            Layer name → frame with the layer's columns (references as codes,
            geometries in EPSG:4326, dates as datetime64, times timezone-aware).
        source
            File name used in error messages.
        progress
            Called as ``progress(description, rows_done, rows_total)``.

        Raises
        ------
        ValidationError
            A reference names a code that is neither stored nor being written,
            or the database refuses a row (constraint violated).
        """
        order = [name for name in LAYER_ORDER if name in frames]
        for name in frames:
            get_layer(name)
        results: dict[str, WriteResult] = {}
        try:
            with self.engine.begin() as conn:
                for name in order:
                    spec = LAYERS[name]
                    frame = frames[name]
                    rows = _row_numbers(frame)
                    table = self._db_frame(conn, spec, frame, rows, source)
                    results[name] = self._upsert(conn, spec, table, rows, progress)
                self.bump_version(conn, [name for name in order if results[name].changed])
                for name in order:  # one line of the audit log per layer imported
                    done = results[name]
                    counts = {"source": source, "inserted": done.inserted, "updated": done.updated}
                    record(conn, Actor(), layer=name, code=None, action="import", new=counts)
        except (sa.exc.IntegrityError, psycopg.IntegrityError, sqlite3.IntegrityError) as exc:
            reason = database_reason(exc)
            raise ValidationError(
                Issue(
                    f"the database refused the data: {reason}",
                    file=source,
                    hint="nothing was written; fix the input and import again",
                )
            ) from exc
        return results

    def _db_frame(
        self,
        conn: sa.Connection,
        spec: LayerSpec,
        frame: pd.DataFrame,
        rows: np.ndarray,
        source: str | None,
    ) -> pd.DataFrame:
        """Turn a layer frame into database columns: codes → ids, geometry → WKB."""
        out: dict[str, Any] = {}
        issues: list[Issue] = []
        if "code" not in frame.columns:
            raise ValidationError(Issue("column 'code' is missing", file=source, layer=spec.name))
        codes = frame["code"].reset_index(drop=True)
        for pos in np.flatnonzero(codes.isna().to_numpy())[:100]:
            issues.append(
                Issue("empty code", file=source, layer=spec.name, row=int(rows[pos]), column="code")
            )
        dup = codes.duplicated(keep=False) & codes.notna()
        for code, group in codes[dup].groupby(codes[dup], sort=False):
            where = ", ".join(str(int(rows[p])) for p in group.index[:10])
            issues.append(
                Issue(
                    f"code {code!r} appears in rows {where}",
                    file=source,
                    layer=spec.name,
                    column="code",
                    hint="codes must be unique; keep one row per code",
                )
            )
        if issues:
            raise ValidationError(issues, summary=f"{spec.name}: codes must be present and unique:")
        for f in spec.fields:
            if f.name not in frame.columns:
                if f.required:
                    raise ValidationError(
                        Issue(
                            f"required column {f.name!r} is missing", file=source, layer=spec.name
                        )
                    )
                continue
            values = frame[f.name]
            if f.ref:
                ids, bad = _resolve(values, self.codes(f.ref, conn))
                for pos in bad[:1000]:
                    issues.append(
                        Issue(
                            f"unknown {_singular(f.ref)} {values.iloc[pos]!r}",
                            file=source,
                            layer=spec.name,
                            row=int(rows[pos]),
                            column=f.name,
                            key=str(frame["code"].iloc[pos]),
                            hint=f"import the {f.ref} first, or correct the code",
                        )
                    )
                if len(bad) > 1000:
                    issues.append(Issue(f"... {len(bad) - 1000} more unknown {f.ref}"))
                out[f.db_column] = ids
            else:
                out[f.db_column] = self._db_values(f, values)
        if issues:
            raise ValidationError(
                issues, summary=f"{len(issues)} reference(s) in {spec.name} point to nothing:"
            )
        if spec.geometry and "geometry" in frame.columns:
            geoms = np.asarray(
                frame.geometry.values if hasattr(frame, "geometry") else frame["geometry"]
            )
            out["geom"] = self._db_geometry(np.asarray(geoms, dtype=object))
        return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))

    def _db_values(self, field: Field, values: pd.Series) -> pd.Series:
        """Column values as the database takes them (dates as ISO text, ints nullable)."""
        values = values.reset_index(drop=True)
        if field.kind == "int":
            return pd.Series(pd.array(values, dtype="Int64"))
        if field.kind == "date":
            return pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        if field.kind == "datetime":
            return self._db_times(pd.to_datetime(values, utc=True))
        return values

    def _db_times(self, values: pd.Series) -> pd.Series:
        """UTC times as the database takes them."""
        raise NotImplementedError

    def _db_geometry(self, geoms: np.ndarray) -> Any:
        raise NotImplementedError

    def _upsert(
        self,
        conn: sa.Connection,
        spec: LayerSpec,
        table: pd.DataFrame,
        rows: np.ndarray,
        progress: Progress | None,
    ) -> WriteResult:
        raise NotImplementedError


# -- helpers shared by both stores --------------------------------------------------


#: The kinds of column a range can select on.
_RANGE_KINDS = ("date", "datetime", "int")


@dataclass(frozen=True)
class _Selection:
    """Which rows of a layer a read keeps: bbox, column values, value ranges, one page."""

    bbox: tuple[float, float, float, float] | None = None
    where: tuple[tuple[Field, tuple[Any, ...]], ...] = ()
    limit: int | None = None
    offset: int = 0
    ranges: tuple[tuple[Field, Any, Any], ...] = ()

    @classmethod
    def of(
        cls,
        spec: LayerSpec,
        bbox: tuple[float, float, float, float] | None,
        where: Mapping[str, Iterable[Any]] | None,
        limit: int | None,
        offset: int,
        ranges: Mapping[str, tuple[Any, Any]] | None = None,
    ) -> _Selection:
        if bbox is not None and spec.geometry is None:
            raise ValidationError(
                f"layer {spec.name!r} has no geometry: it cannot be filtered by bbox"
            )
        pairs = []
        for column, values in (where or {}).items():
            if column not in spec.field_names:
                raise ValidationError(
                    f"layer {spec.name!r} has no column {column!r} to select on; "
                    f"its columns are {spec.field_names}"
                )
            pairs.append((spec.field(column), tuple(values)))
        if (limit is not None and limit < 0) or offset < 0:
            raise ValidationError(f"limit {limit} and offset {offset} must not be negative")
        bounds = []
        for column, (low, high) in (ranges or {}).items():
            if column not in spec.field_names or spec.field(column).kind not in _RANGE_KINDS:
                raise ValidationError(
                    f"layer {spec.name!r} has no date, time or integer column {column!r} "
                    "to select a range on"
                )
            bounds.append((spec.field(column), low, high))
        return cls(bbox, tuple(pairs), limit, offset, tuple(bounds))

    @property
    def whole(self) -> bool:
        """Every row of the layer."""
        return (
            self.bbox is None
            and not self.where
            and not self.ranges
            and self.limit is None
            and not self.offset
        )

    @property
    def selects_rows(self) -> bool:
        """Whether values or ranges leave some rows out (the bbox and the page aside)."""
        return bool(self.where or self.ranges)

    def keep(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The selection's rows of a frame read in id order (the bbox aside)."""
        for f, values in self.where:
            frame = frame.loc[frame[f.name].isin(values).fillna(False).to_numpy(dtype=bool)]
        for f, low, high in self.ranges:
            column = frame[f.name]
            if f.kind in ("date", "datetime"):
                low, high = pd.Timestamp(low), pd.Timestamp(high)
            inside = (column >= low) & (column < high)
            frame = frame.loc[inside.fillna(False).to_numpy(dtype=bool)]
        end = None if self.limit is None else self.offset + self.limit
        return frame.iloc[self.offset : end].reset_index(drop=True)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a layer is read.

    A million rows are a million tuples and a million shapely geometries; the full
    collections they trigger cost more than the fetch itself (measured by
    benchmarks/read_layer.py). Pausing only defers collection, and the collector is
    put back as it was.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def column_sql(fields: Sequence[Field]) -> tuple[list[str], list[str]]:
    """Select-list entries for ``fields`` of a table aliased ``t``, and the joins they need.

    A reference column is selected as the referenced row's code (one LEFT JOIN each);
    every entry is named after its field.
    """
    cols, joins = [], []
    for i, f in enumerate(fields):
        if f.ref:
            alias = f"r{i}"
            joins.append(
                f'LEFT JOIN "{LAYERS[f.ref].table}" {alias} ON {alias}.id = t."{f.db_column}"'
            )
            cols.append(f'{alias}.code AS "{f.name}"')
        else:
            cols.append(f't."{f.db_column}" AS "{f.name}"')
    return cols, joins


def _columns(rows: Sequence[Sequence[Any]], ncols: int) -> list[list[Any]]:
    """Rows to one list per column (without zip(*rows)'s million-argument call)."""
    return [list(map(itemgetter(i), rows)) for i in range(ncols)]


def _singular(layer: str) -> str:
    return {"communities": "community", "households": "household"}.get(layer, layer[:-1])


def _row_numbers(frame: pd.DataFrame) -> np.ndarray:
    if ROW_COLUMN in frame.columns:
        return frame[ROW_COLUMN].to_numpy()
    return np.arange(1, len(frame) + 1)


def _resolve(values: pd.Series, codes: pd.Series) -> tuple[pd.Series, list[int]]:
    """Map reference codes to ids; return the ids and positions of unknown codes."""
    vals = values.reset_index(drop=True)
    present = vals.notna().to_numpy()
    ids = pd.Series(
        codes.reindex(vals.astype(object).where(present, None)).to_numpy(), dtype="Int64"
    )
    missing = present & ids.isna().to_numpy()
    return ids, np.flatnonzero(missing).tolist()


def _to_frame(spec: LayerSpec, fields: list[Field], data: list[list[Any]]) -> pd.DataFrame:
    """Build the layer frame, with the same dtypes whichever store read it."""
    cols: dict[str, Any] = {}
    for f, values in zip(fields, data, strict=False):
        cols[f.name] = _typed(f, values)
    frame = pd.DataFrame(cols, columns=[f.name for f in fields])
    if spec.geometry:
        geoms = shapely.from_wkb(np.asarray(data[len(fields)], dtype=object)) if data else []
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)
    return frame


def _typed(field: Field, values: list[Any]) -> pd.Series:
    if field.kind == "int":
        return pd.Series(values, dtype="Int64")
    if field.kind == "date":
        return pd.Series(
            pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601"),
            dtype="datetime64[ns]",
        )
    if field.kind == "datetime":
        ser = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", utc=True)
        return ser.astype("datetime64[ns, UTC]")
    return pd.Series(values, dtype="str")
