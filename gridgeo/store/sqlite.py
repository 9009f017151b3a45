"""The embedded store: one SQLite file, geometries as WKB, no extension needed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

from gridgeo.errors import ValidationError
from gridgeo.layers import LayerSpec, get_layer
from gridgeo.store.base import Store
from gridgeo.store.frames import by_column
from gridgeo.store.selection import Selection
from gridgeo.store.writes import BATCH, Progress, WriteResult

__all__ = ["SQLiteStore"]


class SQLiteStore(Store):
    """A store in a single SQLite file (the default; no server, no SpatiaLite).

    Geometries are WKB blobs; spatial filtering and analysis happen in shapely on
    the frames read from it.
    """

    dialect = "sqlite"

    def _geom_select(self, column: str) -> str:
        return column

    def read_layer(  # type: ignore[override]
        self,
        layer: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        geometry: bool = True,
        where: Mapping[str, Iterable[Any]] | None = None,
        limit: int | None = None,
        offset: int = 0,
        ranges: Mapping[str, tuple[Any, Any]] | None = None,
        **kwargs: Any,
    ) -> pd.DataFrame:
        """:meth:`Store.read_layer`; bbox, column values, ranges and pages are kept in memory.

        Values and ranges are selected by vectorised comparisons on the columns read.
        """
        spec = get_layer(layer)
        selection = Selection.of(spec, bbox, where, limit, offset, ranges)
        if bbox is None:
            frame = super().read_layer(layer, geometry=geometry, **kwargs)
        else:
            frame = super().read_layer(layer, **kwargs)  # a layer with geometry (checked above)
            hit = shapely.intersects(frame.geometry.values, shapely.box(*bbox))
            frame = frame.loc[hit].reset_index(drop=True)
            if not geometry:
                frame = pd.DataFrame(frame.drop(columns="geometry"))
        if not selection.selects_rows and selection.limit is None and not selection.offset:
            return frame
        selected = [f for f, _ in selection.where] + [f for f, _, _ in selection.ranges]
        missing = [f.name for f in selected if f.name not in frame.columns]
        if missing:
            raise ValidationError(
                f"to select on {missing}, read them too (columns=...) or leave columns out"
            )
        return selection.keep(frame)

    def count_layer(
        self,
        layer: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        where: Mapping[str, Iterable[Any]] | None = None,
        ranges: Mapping[str, tuple[Any, Any]] | None = None,
    ) -> int:
        """:meth:`Store.count_layer`, counted in memory."""
        columns = [*(where or {}), *(ranges or {})]
        frame = self.read_layer(
            layer, bbox=bbox, where=where, ranges=ranges, columns=columns, geometry=False
        )
        return len(frame)

    def _fetch_columns(self, sql: str, params: dict[str, Any], ncols: int) -> list[list[Any]]:
        with self.engine.connect() as conn:
            return by_column(conn.exec_driver_sql(sql).all(), ncols)

    def _db_times(self, values: pd.Series) -> pd.Series:
        # SQLAlchemy's SQLite DateTime format, in UTC
        return values.dt.tz_localize(None).dt.strftime("%Y-%m-%d %H:%M:%S.%f")

    def _db_geometry(self, geoms: np.ndarray) -> Any:
        return shapely.to_wkb(geoms)

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
        others = [c for c in cols if c != "code"]
        if others:
            # a row without a geometry keeps the stored one
            update = ", ".join(
                f'"{c}" = coalesce(excluded."{c}", t."{c}")'
                if c == "geom"
                else f'"{c}" = excluded."{c}"'
                for c in others
            )
            changed = " OR ".join(
                f'(excluded."{c}" IS NOT NULL AND t."{c}" IS NOT excluded."{c}")'
                if c == "geom"
                else f't."{c}" IS NOT excluded."{c}"'
                for c in others
            )
            conflict = f"DO UPDATE SET {update} WHERE {changed}"
        else:
            conflict = "DO NOTHING"
        sql = (
            f'INSERT INTO "{spec.table}" AS t ({names}) VALUES ({", ".join("?" * len(cols))}) '
            f"ON CONFLICT (code) {conflict}"
        )
        raw = conn.connection.driver_connection
        count = f'SELECT count(*) FROM "{spec.table}"'
        before = raw.execute(count).fetchone()[0]  # type: ignore[union-attr]
        changes = raw.total_changes  # type: ignore[union-attr]
        n = len(table)
        for start in range(0, n, BATCH):
            chunk = table.iloc[start : start + BATCH]
            records = chunk.astype(object).where(chunk.notna(), None)
            raw.executemany(sql, records.itertuples(index=False, name=None))  # type: ignore[union-attr]
            if progress:
                progress(f"storing {spec.name}", min(start + BATCH, n), n)
        after = raw.execute(count).fetchone()[0]  # type: ignore[union-attr]
        written = raw.total_changes - changes  # type: ignore[union-attr]
        inserted = after - before
        updated = written - inserted
        return WriteResult(spec.name, inserted, updated, n - written)
