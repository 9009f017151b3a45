"""The PostGIS store: native geometry, GiST indexes, COPY in, binary WKB out."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
import sqlalchemy as sa

from gridgeo.errors import StoreError
from gridgeo.layers import LAYERS, Field, LayerSpec
from gridgeo.progress import step
from gridgeo.schema import SRID
from gridgeo.store.base import Store
from gridgeo.store.frames import by_column
from gridgeo.store.selection import Selection
from gridgeo.store.writes import BATCH, Progress, WriteResult

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

    def _read(self, spec: LayerSpec, fields: list[Field], selection: Selection) -> pd.DataFrame:
        """Read a layer: its geometry through the binary protocol, or else through COPY.

        A layer read with its geometry comes through psycopg's binary cursor, WKB as
        bytes, decoded by one ``shapely.from_wkb`` call. A layer read without one
        (10,000,000 visits for the check) is streamed out with ``COPY … TO STDOUT
        (FORMAT csv)`` into pyarrow's CSV reader, which builds typed columns (Arrow
        strings, not Python objects) in C++.

        A whole layer is read without joins or sorting in the server: references come
        as ids and are turned into codes here, by one vectorised lookup in the
        referenced layer's codes, and rows are put in id order only when they are not
        already (the server would join and sort 10,000,000 visits for 20 s). A read of
        some rows (a bbox, column values, a page) lets the server select and join.
        """
        if spec.geometry:
            # with geometries, the binary protocol is faster: WKB comes as bytes, where
            # CSV would carry it as hex (twice the bytes, decoded again here)
            return super()._read(spec, fields, selection)
        whole = selection.whole
        if whole:
            cols = ["t.id"] + [f't."{f.db_column}"' for f in fields]
            sql, params = f'SELECT {", ".join(cols)} FROM "{spec.table}" t', {}
        else:
            sql, params = self._select_sql(spec, fields, selection)
        names = [f.name for f in fields]
        types = {f.name: pa.int64() if whole and f.ref else _ARROW_TYPES[f.kind] for f in fields}
        if whole:
            names.insert(0, "_id")
            types["_id"] = pa.int64()
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:  # type: ignore[union-attr]
                cur.execute("SET LOCAL TIME ZONE 'UTC'")
                cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")
                free_text = any(f.kind == "text" and not f.ref and f.name != "code" for f in fields)
                table = _copy_out(cur, sql, params, names, types, newlines=free_text)
                refs = {
                    f.ref: _code_lookup(cur, LAYERS[f.ref].table) for f in fields if whole and f.ref
                }
        if whole:
            ids = table.column("_id").to_numpy()
            if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
                table = table.take(pa.array(np.argsort(ids, kind="stable")))
        cols: dict[str, Any] = {}
        for f in fields:
            column = table.column(f.name)
            if whole and f.ref:
                cols[f.name] = _codes_of(column, *refs[f.ref])
            elif f.kind == "int":
                cols[f.name] = pd.Series(pd.array(column, dtype="Int64"))
            elif f.kind == "date":
                cols[f.name] = pd.Series(column.to_numpy(), dtype="datetime64[ns]")
            elif f.kind == "datetime":
                cols[f.name] = column.to_pandas().astype("datetime64[ns, UTC]")
            else:
                cols[f.name] = column.to_pandas().astype("str")
        return pd.DataFrame(cols, columns=[f.name for f in fields])

    def _fetch_columns(self, sql: str, params: dict[str, Any], ncols: int) -> list[list[Any]]:
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor(binary=True) as cur:  # type: ignore[union-attr]
                cur.execute(sql, params or None)
                return by_column(cur.fetchall(), ncols)

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
                for start in range(0, n, BATCH):
                    chunk = table.iloc[start : start + BATCH]
                    copy.write(chunk.to_csv(header=False, index=False))
                    if progress:
                        progress(f"storing {spec.name}", min(start + BATCH, n), n)
            bulk = n >= self.bulk_rows and _is_empty(cur, spec.table)
            deferred = _drop_secondary(cur, spec.table) if bulk else []
            with step(progress, f"upserting {spec.name} ({n:,} rows)"):
                cur.execute(_upsert_sql(spec.table, stage, cols))
                inserted, written = cur.fetchone()  # type: ignore[misc]
            _restore(cur, spec.name, deferred, progress)
            if bulk:
                # fresh statistics, or the planner joins millions of rows one by one
                # until autovacuum gets round to the table
                with step(progress, f"analysing {spec.name}"):
                    cur.execute(f'ANALYZE "{spec.table}"')
        updated = written - inserted
        return WriteResult(spec.name, inserted, updated, n - inserted - updated)


def _upsert_sql(table: str, stage: str, cols: list[str]) -> str:
    """Insert or update the staged rows; count the inserted and the written rows."""
    names = ", ".join(f'"{c}"' for c in cols)
    conflict = _on_conflict([c for c in cols if c != "code"])
    return (
        f'WITH written AS (INSERT INTO "{table}" AS t ({names}) '
        f'SELECT {names} FROM "{stage}" ON CONFLICT (code) {conflict} '
        "RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FROM written"
    )


def _restore(cur: Any, layer: str, deferred: list[tuple[str, str]], progress: Any) -> None:
    """Create the dropped indexes and keys again, the bar advancing as each completes."""
    for i, (name, ddl) in enumerate(deferred):
        if progress:
            progress(f"indexing {layer}: {name}", i, len(deferred))
        cur.execute(ddl)
    if deferred and progress:
        progress(f"indexing {layer}: {len(deferred)} done", len(deferred), len(deferred))


def _on_conflict(others: list[str]) -> str:
    """The upsert's conflict clause: update changed rows; no geometry keeps the stored one."""
    if not others:
        return "DO NOTHING"
    update = ", ".join(
        f'"{c}" = coalesce(EXCLUDED."{c}", t."{c}")' if c == "geom" else f'"{c}" = EXCLUDED."{c}"'
        for c in others
    )
    values = [c for c in others if c != "geom"]
    changed = []
    if values:
        changed.append(
            f"ROW({', '.join(f't.{c}' for c in values)}) IS DISTINCT FROM "
            f"ROW({', '.join(f'EXCLUDED.{c}' for c in values)})"
        )
    if "geom" in others:
        changed.append("(EXCLUDED.geom IS NOT NULL AND t.geom IS DISTINCT FROM EXCLUDED.geom)")
    return f"DO UPDATE SET {update} WHERE {' OR '.join(changed)}"


def _is_empty(cur: Any, table: str) -> bool:
    cur.execute(f'SELECT NOT EXISTS (SELECT 1 FROM "{table}")')
    return bool(cur.fetchone()[0])


def _drop_secondary(cur: Any, table: str) -> list[tuple[str, str]]:
    """Drop a table's foreign keys and non-unique indexes; return (name, DDL) restoring them.

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
    restore = list(indexes)
    restore += [
        (name, f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {ddl}') for name, ddl in fkeys
    ]
    return restore


def _csv_options(names: list[str], types: dict[str, pa.DataType], newlines: bool) -> dict[str, Any]:
    return {
        "read_options": pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        "parse_options": pacsv.ParseOptions(newlines_in_values=newlines),
        "convert_options": pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    }


def _copy_out(
    cur: Any,
    sql: str,
    params: dict[str, Any],
    names: list[str],
    types: dict[str, pa.DataType],
    *,
    newlines: bool = True,
) -> pa.Table:
    """The rows of ``sql`` as an Arrow table, through ``COPY … TO STDOUT (FORMAT csv)``.

    Without parameters, and when PostgreSQL's ``psql`` is installed, psql receives the
    stream and pyarrow parses its output as it comes: libpq hands COPY data over one
    row at a time, which psql's C loop takes at the server's speed and a Python loop
    at a third of it. ``newlines=False`` parses in parallel, for rows whose text
    cannot hold a line break; a row that does makes it parse again with them.
    """
    if not params and shutil.which("psql"):
        dsn = cur.connection.info
        env = {**os.environ, "PGPASSWORD": dsn.password or "", "PGTZ": "UTC"}
        command = [
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
            "-h", dsn.host, "-p", str(dsn.port), "-U", dsn.user, "-d", dsn.dbname,
            "-c", f"\\copy ({sql}) TO STDOUT (FORMAT csv)",
        ]  # fmt: skip
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            try:
                table = pacsv.read_csv(proc.stdout, **_csv_options(names, types, newlines))
            except pa.ArrowInvalid as exc:
                proc.kill()
                if "Empty CSV" in str(exc):
                    table = pa.table({n: pa.array([], type=types[n]) for n in names})
                elif not newlines:
                    return _copy_out(cur, sql, params, names, types, newlines=True)
                else:
                    raise
            error = proc.stderr.read().decode(errors="replace").strip()
        if proc.returncode not in (0, -9):
            raise StoreError(f"psql could not read the layer: {error}")
        return table
    with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params or None) as copy:
        reader = _CopyReader(copy)
        if reader.at_end():
            return pa.table({n: pa.array([], type=types[n]) for n in names})
        return pacsv.read_csv(reader, **_csv_options(names, types, True))


def _code_lookup(cur: Any, table: str) -> tuple[np.ndarray, pa.Array]:
    """``(position of each id, codes)`` of a table: ``codes[position[id]]`` is its code."""
    t = _copy_out(
        cur,
        f'SELECT id, code FROM "{table}"',
        {},
        ["id", "code"],
        {"id": pa.int64(), "code": pa.string()},
        newlines=False,
    )
    ids = t.column("id").to_numpy()
    position = np.full(int(ids.max()) + 1 if len(ids) else 1, -1, dtype=np.int64)
    position[ids] = np.arange(len(ids))
    return position, t.column("code").combine_chunks()


def _codes_of(ids: pa.ChunkedArray, position: np.ndarray, codes: pa.Array) -> pd.Series:
    """The codes of referenced ids (missing where the id is null)."""
    raw = ids.to_numpy(zero_copy_only=False)  # float with NaN where null
    valid = ~np.isnan(raw) if raw.dtype.kind == "f" else np.ones(len(raw), dtype=bool)
    index = np.zeros(len(raw), dtype=np.int64)
    index[valid] = position[raw[valid].astype(np.int64)]
    taken = codes.take(pa.array(index, mask=~valid))
    return pd.Series(taken, dtype="str") if len(taken) else pd.Series([], dtype="str")


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
        # fill the whole buffer: COPY sends one small block per row, and a reader
        # handed one row per call would allocate a full-size buffer for each
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if not self._pending:
                block = next(self._blocks, None)
                if block is None:
                    break
                self._pending = memoryview(block)
            n = min(len(view) - filled, len(self._pending))
            view[filled : filled + n] = self._pending[:n]
            self._pending = self._pending[n:]
            filled += n
        return filled
