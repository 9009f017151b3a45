"""One row of a field write: prepared and validated, turned into values, inserted, read back.

Also the clock of field writes: times without an offset are local (``GRIDGEO_TIMEZONE``),
and a field time may lie at most :data:`CLOCK_SKEW` in the future.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa

from gridgeo.errors import Issue, ValidationError
from gridgeo.layers import LAYERS, get_layer
from gridgeo.localtime import local_date, utc_time
from gridgeo.settings import get_settings

__all__ = [
    "CLOCK_SKEW",
    "as_utc",
    "client_uuid",
    "from_db_time",
    "insert_row",
    "local_day",
    "new_code",
    "not_future",
    "now",
    "plain",
    "prepare_row",
    "read_feature",
    "row_values",
]

#: How far in the future a field time may lie (the phone's clock may be ahead).
CLOCK_SKEW = dt.timedelta(minutes=10)


# -- time ------------------------------------------------------------------------------------


def now() -> dt.datetime:
    """The present moment, in UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A time in UTC; one without an offset is local time in ``GRIDGEO_TIMEZONE``."""
    return utc_time(value, get_settings().timezone)


def from_db_time(value: Any) -> dt.datetime:
    """A stored time as an aware datetime (SQLite keeps UTC as text without an offset)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def local_day(ts: pd.Timestamp) -> dt.date:
    """The district's local date of an aware point in time."""
    return local_date(ts, get_settings().timezone)


def not_future(ts: pd.Timestamp, column: str, layer: str) -> None:
    """Refuse a time more than :data:`CLOCK_SKEW` ahead of now."""
    if pd.Timestamp(ts) > pd.Timestamp(now() + CLOCK_SKEW):
        raise ValidationError(
            Issue(
                f"{column} {pd.Timestamp(ts).isoformat()} is in the future",
                layer=layer,
                column=column,
                hint="check the device's clock",
            )
        )


# -- rows ------------------------------------------------------------------------------------


def new_code(prefix: str) -> str:
    """A new unique code: ``V-`` and 20 hex digits, say."""
    return f"{prefix}-{uuid.uuid4().hex[:20].upper()}"


def client_uuid(value: Any) -> str | None:
    """A write's client-generated UUID in canonical form (``8-4-4-4-12`` lower-case hex)."""
    if value is None:
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValidationError(
            Issue(
                "uuid is not a UUID",
                column="uuid",
                hint="send a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e, or none",
            )
        ) from None


def plain(data: Mapping[str, Any]) -> Any:
    """A JSON-able copy of a request, for its digest."""
    out = {}
    for k, v in data.items():
        if isinstance(v, shapely.Geometry):
            v = shapely.to_wkt(v, rounding_precision=9)
        elif isinstance(v, dt.date | dt.datetime):
            v = v.isoformat()
        out[k] = v
    return out


def prepare_row(row: dict[str, Any], layer: str) -> pd.DataFrame:
    """The row as a one-row frame, through :func:`gridgeo.validate.prepare_layer`."""
    from gridgeo.validate import prepare_layer

    spec = get_layer(layer)
    data = {k: [v] for k, v in row.items() if k in spec.field_names}
    geom = row.get("geometry")
    if spec.geometry:
        frame: pd.DataFrame = gpd.GeoDataFrame(data, geometry=[geom], crs=4326)
    else:
        frame = pd.DataFrame(data)
    prepared = prepare_layer(frame, layer, source=f"new {layer[:-1]}")
    return prepared.frame.reset_index(drop=True)


def row_values(frame: pd.DataFrame, layer: str) -> dict[str, Any]:
    """The prepared row as Python values the ORM types take."""
    spec = get_layer(layer)
    rec = frame.iloc[0]
    out: dict[str, Any] = {}
    for f in spec.fields:
        v = rec.get(f.name)
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out[f.name] = None
        elif f.kind == "int":
            out[f.name] = int(v)
        elif f.kind == "date":
            out[f.name] = pd.Timestamp(v).date()
        elif f.kind == "datetime":
            out[f.name] = pd.Timestamp(v).to_pydatetime()
        else:
            out[f.name] = v
    if spec.geometry:
        g = rec.get("geometry")
        out["geometry"] = g if isinstance(g, shapely.Geometry) and not g.is_empty else None
    return out


def insert_row(conn: sa.Connection, layer: str, values: dict[str, Any]) -> dict[str, Any]:
    """Insert the row (references given as codes); return it as stored, a GeoJSON Feature."""
    spec = get_layer(layer)
    table = spec.model.__table__
    row: dict[str, Any] = {}
    for f in spec.fields:
        value = values.get(f.name)
        if f.ref:
            if value is None:
                row[f.db_column] = None
                continue
            ref = LAYERS[f.ref].model.__table__
            found = conn.execute(sa.select(ref.c.id).where(ref.c.code == value)).scalar()
            if found is None:
                raise ValidationError(
                    Issue(f"unknown {f.name} {value!r}", layer=layer, column=f.name)
                )
            row[f.db_column] = found
        else:
            row[f.db_column] = value
    if spec.geometry:
        row["geom"] = values.get("geometry")
    if "uuid" in table.c:
        row["uuid"] = values.get("uuid")
    conn.execute(sa.insert(table).values(**row))
    feature = read_feature(conn, layer, values["code"])
    assert feature is not None
    return feature


#: Columns of field layers kept for writes, outside the layer's fields: the client's
#: uuid of the write that made the row, and a problem's version. A feature carries
#: them beside its properties (which are those ``/layers`` gives).
_WRITE_COLUMNS = ("uuid", "version")


def read_feature(conn: sa.Connection, layer: str, code: str) -> dict[str, Any] | None:
    """One stored row as a GeoJSON Feature (references as codes, no personal data).

    Its ``uuid`` (visits, meetings, problems) and ``version`` (problems) are members of
    the Feature beside ``properties``.
    """
    spec = get_layer(layer)
    table = spec.model.__table__
    cols: list[Any] = []
    joined: Any = table
    for i, f in enumerate(spec.fields):
        if f.personal:
            continue
        if f.ref:
            ref = LAYERS[f.ref].model.__table__.alias(f"r{i}")
            joined = joined.outerjoin(ref, ref.c.id == table.c[f.db_column])
            cols.append(ref.c.code.label(f.name))
        else:
            cols.append(table.c[f.db_column].label(f.name))
    extra = [c for c in _WRITE_COLUMNS if c in table.c]
    cols.extend(table.c[c].label(f"_{c}") for c in extra)
    if spec.geometry:
        cols.append(table.c.geom.label("geometry"))
    row = conn.execute(sa.select(*cols).select_from(joined).where(table.c.code == code)).first()
    if row is None:
        return None
    found = row._mapping
    props = {k: _json_value(v) for k, v in found.items() if k != "geometry" and k[0] != "_"}
    geom = found.get("geometry") if spec.geometry else None
    return {
        "type": "Feature",
        "id": code,
        "geometry": None if geom is None else shapely.geometry.mapping(geom),
        "properties": props,
        **{c: found[f"_{c}"] for c in extra},
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return as_utc(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
