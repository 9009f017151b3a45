"""The PostGIS store: native geometry, GiST indexes, COPY in, binary WKB out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

from gridgeo.layers import LayerSpec
from gridgeo.schema import SRID
from gridgeo.store.base import _BATCH, Progress, Store, WriteResult, _columns

__all__ = ["PostGISStore"]


class PostGISStore(Store):
    """A store in a PostgreSQL database with the PostGIS extension.

    Layers are read through psycopg's binary protocol with ``ST_AsBinary`` and
    decoded by ``shapely.from_wkb`` in one vectorised call, and written with
    ``COPY`` into a staging table followed by one ``INSERT … ON CONFLICT``.
    """

    dialect = "postgresql"

    def _geom_select(self, column: str) -> str:
        return f"ST_AsBinary({column})"

    def _bbox_clause(self, column: str) -> str:
        return (
            f"ST_Intersects({column}, ST_MakeEnvelope(%(minx)s, %(miny)s, %(maxx)s, %(maxy)s,"
            f" {SRID}))"
        )

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
        updated = written - inserted
        return WriteResult(spec.name, inserted, updated, n - inserted - updated)
