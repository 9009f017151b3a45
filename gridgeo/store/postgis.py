"""The PostGIS store: native geometry, GiST indexes, COPY in, binary WKB out."""

from __future__ import annotations

import io
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
import sqlalchemy as sa

from gridgeo.layers import Field, LayerSpec
from gridgeo.schema import SRID
from gridgeo.store.base import _BATCH, Progress, Store, WriteResult, _columns

__all__ = ["PostGISStore"]

_ARROW_TYPES = {
    "text": pa.string(),
    "int": pa.int64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


class PostGISStore(Store):
    """A store in a PostgreSQL database with the PostGIS extension.

    Layers are read through psycopg's binary protocol with ``ST_AsBinary`` and
    decoded by ``shapely.from_wkb`` in one vectorised call, and written with
    ``COPY`` into a staging table followed by one ``INSERT … ON CONFLICT``.
    """

    dialect = "postgresql"
    #: A first load of at least this many rows into an empty table drops the table's
    #: foreign keys and secondary indexes and builds them again afterwards, in the same
    #: transaction: one bulk check and one index build instead of one per row
    #: (benchmarks/load_layers.py: 1,000,000 visits in 12.9 s instead of 33 s).
    bulk_rows = 100_000

    def _geom_select(self, column: str) -> str:
        return f"ST_AsBinary({column})"

    def _bbox_clause(self, column: str) -> str:
        return (
            f"ST_Intersects({column}, ST_MakeEnvelope(%(minx)s, %(miny)s, %(maxx)s, %(maxy)s,"
            f" {SRID}))"
        )

    def _read(
        self, spec: LayerSpec, fields: list[Field], bbox: tuple[float, float, float, float] | None
    ) -> pd.DataFrame:
        """Stream the rows out with ``COPY … TO STDOUT (FORMAT csv)`` into Arrow.

        PostgreSQL writes CSV faster than it sends rows one by one, and pyarrow's CSV
        reader builds typed columns (Arrow strings, not Python objects) in C++; the
        geometry comes as its text form, hex EWKB, decoded by one ``shapely.from_wkb``.
        """
        sql, params = self._select_sql(spec, fields, bbox, geometry_as_stored=True)
        names = [f.name for f in fields] + (["geometry"] if spec.geometry else [])
        types = {f.name: _ARROW_TYPES[f.kind] for f in fields}
        if spec.geometry:
            types["geometry"] = pa.string()
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:  # type: ignore[union-attr]
                cur.execute("SET LOCAL TIME ZONE 'UTC'")
                cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")
                with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params or None) as copy:
                    reader = _CopyReader(copy)
                    if reader.at_end():
                        table = pa.table({n: pa.array([], type=types[n]) for n in names})
                    else:
                        table = pacsv.read_csv(
                            reader,
                            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
                            parse_options=pacsv.ParseOptions(newlines_in_values=True),
                            convert_options=pacsv.ConvertOptions(
                                column_types=types,
                                strings_can_be_null=True,
                                quoted_strings_can_be_null=False,
                            ),
                        )
        cols: dict[str, Any] = {}
        for f in fields:
            column = table.column(f.name)
            if f.kind == "int":
                cols[f.name] = pd.Series(pd.array(column, dtype="Int64"))
            elif f.kind == "date":
                cols[f.name] = pd.Series(column.to_numpy(), dtype="datetime64[ns]")
            elif f.kind == "datetime":
                cols[f.name] = column.to_pandas().astype("datetime64[ns, UTC]")
            else:
                cols[f.name] = column.to_pandas().astype("str")
        frame = pd.DataFrame(cols, columns=[f.name for f in fields])
        if not spec.geometry:
            return frame
        hexes = table.column("geometry").to_numpy(zero_copy_only=False)
        del table
        geoms = shapely.from_wkb(hexes)
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)

    def _fetch_columns(self, sql: str, params: dict[str, Any], ncols: int) -> list[list[Any]]:
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor(binary=True) as cur:  # type: ignore[union-attr]
                cur.execute(sql, params or None)
                return _columns(cur.fetchall(), ncols)

    def _db_times(self, values: pd.Series) -> pd.Series:
        return values.dt.strftime("%Y-%m-%d %H:%M:%S.%f+00")

    def _db_geometry(self, geoms: np.ndarray) -> Any:
        return shapely.to_wkb(shapely.set_srid(geoms, SRID), hex=True, include_srid=True)

    def _upsert(
        self,
        conn: sa.Connection,
        spec: LayerSpec,
        table: pd.DataFrame,
        rows: np.ndarray,
        progress: Progress | None,
    ) -> WriteResult:
        cols = list(table.columns)
        names = ", ".join(f'"{c}"' for c in cols)
        stage = f"_stage_{spec.table}"
        raw = conn.connection.driver_connection
        n = len(table)
        with raw.cursor() as cur:  # type: ignore[union-attr]
            cur.execute(
                f'CREATE TEMP TABLE "{stage}" ON COMMIT DROP AS '
                f'SELECT {names} FROM "{spec.table}" WITH NO DATA'
            )
            with cur.copy(f'COPY "{stage}" ({names}) FROM STDIN (FORMAT csv)') as copy:
                for start in range(0, n, _BATCH):
                    chunk = table.iloc[start : start + _BATCH]
                    copy.write(chunk.to_csv(header=False, index=False))
                    if progress:
                        progress(f"storing {spec.name}", min(start + _BATCH, n), n)
            bulk = n >= self.bulk_rows and _is_empty(cur, spec.table)
            deferred = _drop_secondary(cur, spec.table) if bulk else []
            others = [c for c in cols if c != "code"]
            update = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in others)
            if others:
                changed = (
                    f"ROW({', '.join(f't.{c}' for c in others)}) IS DISTINCT FROM "
                    f"ROW({', '.join(f'EXCLUDED.{c}' for c in others)})"
                )
                conflict = f"DO UPDATE SET {update} WHERE {changed}"
            else:
                conflict = "DO NOTHING"
            cur.execute(
                f'WITH written AS (INSERT INTO "{spec.table}" AS t ({names}) '
                f'SELECT {names} FROM "{stage}" ON CONFLICT (code) {conflict} '
                "RETURNING (xmax = 0) AS inserted) "
                "SELECT count(*) FILTER (WHERE inserted), count(*) FROM written"
            )
            inserted, written = cur.fetchone()  # type: ignore[misc]
            for i, ddl in enumerate(deferred):
                if progress:
                    progress(f"indexing {spec.name}", i, len(deferred))
                cur.execute(ddl)
            if bulk:
                # fresh statistics, or the planner joins millions of rows one by one
                # until autovacuum gets round to the table
                cur.execute(f'ANALYZE "{spec.table}"')
        updated = written - inserted
        return WriteResult(spec.name, inserted, updated, n - inserted - updated)


def _is_empty(cur: Any, table: str) -> bool:
    cur.execute(f'SELECT NOT EXISTS (SELECT 1 FROM "{table}")')
    return bool(cur.fetchone()[0])


def _drop_secondary(cur: Any, table: str) -> list[str]:
    """Drop a table's foreign keys and non-unique indexes; return the DDL that restores them.

    Everything happens inside the caller's transaction, so a failed load restores them
    too. Primary and unique keys stay: upserts need them.
    """
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        (table,),
    )
    fkeys = cur.fetchall()
    cur.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary",
        (table,),
    )
    indexes = cur.fetchall()
    for name, _ in fkeys:
        cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    restore = [ddl for _, ddl in indexes]
    restore += [f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {ddl}' for name, ddl in fkeys]
    return restore


class _CopyReader(io.RawIOBase):
    """A file-like view of a ``COPY … TO STDOUT`` stream, for pyarrow to read."""

    def __init__(self, copy: Any) -> None:
        self._blocks = iter(copy)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def at_end(self) -> bool:
        """Whether the stream has no more bytes (reads ahead one block)."""
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                return True
            self._pending = memoryview(block)
        return False

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._pending = memoryview(block)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n
