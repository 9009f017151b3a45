"""Writes both stores share: codes to ids, values as databases take them, one transaction.

A write touches only the columns its frames have: a column left out keeps the stored
values, and a row without a geometry keeps the stored one. Every text length and
integer range is checked here, by :mod:`gridgeo.validate.bounds`, the same way for
both stores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import sqlalchemy as sa

from gridgeo.errors import Issue, ValidationError, database_reason
from gridgeo.layers import LAYER_ORDER, LAYERS, ROW_COLUMN, Field, LayerSpec, get_layer
from gridgeo.progress import step
from gridgeo.store.audit import Actor, record
from gridgeo.validate.bounds import check_frame
from gridgeo.validate.issues import Issues

__all__ = ["BATCH", "Progress", "WriteResult", "Writes"]

#: ``progress(description, done, total)``
Progress = Callable[[str, int, int], None]

#: rows sent to the database in one batch
BATCH = 50_000


@dataclass
class WriteResult:
    """What a write did to one layer."""

    layer: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: the store's data version the write made (:meth:`~gridgeo.store.Store.bump_version`)
    data_version: int | None = None

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged

    @property
    def changed(self) -> bool:
        """Whether the write inserted or updated any row."""
        return self.inserted + self.updated > 0


class Writes:
    """The writing half of :class:`~gridgeo.store.base.Store`."""

    engine: sa.Engine

    def codes(self, layer: str, conn: sa.Connection | None = None) -> pd.Series:
        raise NotImplementedError

    def bump_version(self, conn: sa.Connection, layers: list[str]) -> Any:
        raise NotImplementedError

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
                    # codes to ids, geometries to WKB: seconds per million rows
                    with step(progress, f"preparing {name} ({len(frame):,} rows)"):
                        table = self._db_frame(conn, spec, frame, rows, source)
                    results[name] = self._upsert(conn, spec, table, rows, progress)
                for name in order:  # one line of the audit log per layer imported
                    done = results[name]
                    counts = {"source": source, "inserted": done.inserted, "updated": done.updated}
                    record(conn, Actor(), layer=name, code=None, action="import", new=counts)
                # last in the transaction (see gridgeo.store.versions.bump_versions)
                stamp = self.bump_version(conn, [n for n in order if results[n].changed])
                for done in results.values():
                    done.data_version = stamp.version
        except (
            sa.exc.IntegrityError,
            sa.exc.DataError,
            psycopg.IntegrityError,
            psycopg.DataError,
            sqlite3.IntegrityError,
        ) as exc:
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
        bounds = Issues(source, spec.name, rows, codes)
        check_frame(spec, frame.reset_index(drop=True), bounds, thorough=False)
        if bounds.items:
            raise ValidationError(
                bounds.items,
                summary=f"{spec.name}: {len(bounds.items)} value(s) the store cannot hold:",
            )
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
        self._fill_defaults(conn, spec, frame["code"], out)
        if spec.geometry and "geometry" in frame.columns:
            geoms = np.asarray(
                frame.geometry.values if hasattr(frame, "geometry") else frame["geometry"]
            )
            out["geom"] = self._db_geometry(np.asarray(geoms, dtype=object))
        return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))

    def _fill_defaults(
        self, conn: sa.Connection, spec: LayerSpec, codes: pd.Series, out: dict[str, Any]
    ) -> None:
        """Give the required columns that have a default (a member's role...) a value.

        A column the frame leaves out keeps the stored values, and new rows take the
        default; an empty cell takes the default (the column cannot be empty).
        """
        table = spec.model.__table__
        for f in spec.fields:
            column = table.c[f.db_column]
            default = getattr(column.default, "arg", None)
            if column.nullable or f.ref or default is None or callable(default):
                continue
            given = out.get(f.db_column)
            if given is not None:
                out[f.db_column] = given.where(given.notna(), default)
                continue
            stored = dict(conn.execute(sa.select(table.c.code, column)).all())
            found = codes.reset_index(drop=True).map(stored).astype(object)
            out[f.db_column] = found.where(found.notna(), default)

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
