"""The bodies of the field writes, validated by pydantic before :mod:`gridgeo.fieldwork` sees them.

Codes and texts without NUL characters, ISO dates and times with years from 1900 to
2200, points in longitude/latitude; no field that a model does not name.

A body with a point says in ``crs`` what its coordinates are in: ``wgs84`` (the
default; ``EPSG:4326`` and CGCS2000 ``EPSG:4490`` are taken as it), ``gcj02`` (AMap,
Tencent, WeChat) or ``bd09`` (Baidu). :func:`row_of` converts the point to WGS-84, the
one system stored; an unknown name is a 422 naming ``crs``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid as uuid_module
from typing import Annotated, Any, Literal

import shapely
from fastapi import Header
from fastapi import Path as PathParam
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pyproj import CRS

from gridgeo.chinacrs import convert_geometry, parse_crs_name
from gridgeo.errors import CRSError

__all__ = [
    "CloseIn",
    "Code",
    "ClientId",
    "CrsName",
    "Day",
    "EscalateIn",
    "IdempotencyKey",
    "IfMatch",
    "MeetingIn",
    "PointIn",
    "ProblemCode",
    "ProblemIn",
    "ResolveIn",
    "Text",
    "Time",
    "Version",
    "VisitIn",
    "row_of",
]


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


def _sane_time(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and not (1900 <= value.year <= 2200):
        raise ValueError("the year must lie between 1900 and 2200")
    return value


def _sane_date(value: dt.date | None) -> dt.date | None:
    if value is not None and not (1900 <= value.year <= 2200):
        raise ValueError("the year must lie between 1900 and 2200")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) or (
        isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
    ):
        return value
    raise ValueError("write the date as YYYY-MM-DD")


def _iso_time(value: Any) -> Any:
    if isinstance(value, dt.datetime) or (
        isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value)
    ):
        return value
    raise ValueError("write the time as YYYY-MM-DDTHH:MM[:SS][+08:00] (ISO 8601)")


def _crs_name(value: Any) -> Any:
    """``wgs84``, ``gcj02`` or ``bd09``, as :func:`gridgeo.chinacrs.parse_crs_name` reads it.

    CGCS2000 longitude/latitude (EPSG:4490) is taken as WGS-84 (they agree to better than
    a metre); any other EPSG code, and what names no system, is refused.
    """
    kind: Any = None
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            kind = parse_crs_name(value)
        except CRSError:
            kind = None
    if isinstance(kind, CRS) and kind.to_epsg() == 4490:
        kind = "wgs84"
    if not isinstance(kind, str):
        raise ValueError(
            "unknown coordinate system: use wgs84 (also EPSG:4326, EPSG:4490), gcj02 (AMap, "
            "Tencent, WeChat) or bd09 (Baidu)"
        )
    return kind


Code = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
Text = Annotated[str, Field(max_length=4000), AfterValidator(_no_nul)]
Time = Annotated[dt.datetime, BeforeValidator(_iso_time), AfterValidator(_sane_time)]
Day = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_sane_date)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="A unique key per write (e.g. a UUID); a retry with the same key and "
        "body returns the first result instead of writing again. Required unless the "
        "body has a `uuid`.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=20,
        pattern=r'^(W/)?"?[0-9]{1,9}"?$',
        description="The version of the problem this step edits (as `version` in the "
        "body); a stale one is a 409.",
    ),
]
ClientId = Annotated[
    uuid_module.UUID,
    Field(
        description="The client's id of this write, unique in the store: a retry with "
        "the same uuid and body gets the first answer; another body with it is a 409."
    ),
]
Version = Annotated[
    int,
    Field(ge=1, le=1_000_000_000, description="The version of the problem this step edits."),
]
CrsName = Annotated[
    Literal["wgs84", "gcj02", "bd09"],
    BeforeValidator(_crs_name),
    Field(
        description="What the point's coordinates are in: wgs84 (also EPSG:4326 and "
        "CGCS2000 EPSG:4490), gcj02 (AMap, Tencent, WeChat) or bd09 (Baidu); stored as "
        "WGS-84. Points outside China are taken as they are."
    ),
]
ProblemCode = Annotated[str, PathParam(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")]


class PointIn(BaseModel):
    """A GeoJSON Point in longitude/latitude (the body's ``crs``, default WGS-84)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["Point"]
    coordinates: tuple[Lon, Lat]

    def shape(self) -> shapely.Point:
        return shapely.Point(*self.coordinates)


class VisitIn(BaseModel):
    """A visit: the member defaults to the token's member; the time to now."""

    model_config = ConfigDict(extra="forbid")
    uuid: ClientId | None = None
    code: Code | None = None
    member: Code | None = None
    household: Code | None = None
    building: Code | None = None
    visited_at: Time | None = Field(None, description="Without an offset: local time.")
    note: Text | None = None
    geometry: PointIn | None = None
    crs: CrsName = "wgs84"


class MeetingIn(BaseModel):
    """A grid council meeting."""

    model_config = ConfigDict(extra="forbid")
    uuid: ClientId | None = None
    code: Code | None = None
    grid: Code
    held_on: Day | None = None
    attendance: Annotated[int, Field(ge=0, le=100_000)] | None = None
    topic: Text | None = None


class ProblemIn(BaseModel):
    """A new problem (it starts open)."""

    model_config = ConfigDict(extra="forbid")
    uuid: ClientId | None = None
    code: Code | None = None
    category: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
    description: Text | None = None
    household: Code | None = None
    building: Code | None = None
    visit: Code | None = None
    responsible: Code | None = None
    reported_at: Time | None = None
    deadline: Day | None = None
    geometry: PointIn | None = None
    crs: CrsName = "wgs84"


class ResolveIn(BaseModel):
    """Solved on the spot."""

    model_config = ConfigDict(extra="forbid")
    uuid: ClientId | None = None
    version: Version | None = None
    at: Time | None = Field(None, description="When; default now.")


class EscalateIn(BaseModel):
    """Escalated to the community party committee."""

    model_config = ConfigDict(extra="forbid")
    uuid: ClientId | None = None
    version: Version | None = None
    at: Time | None = None
    deadline: Day | None = None


class CloseIn(BaseModel):
    """Closed, with the feedback given to the resident (required)."""

    model_config = ConfigDict(extra="forbid")
    uuid: ClientId | None = None
    version: Version | None = None
    feedback: Text | None = Field(None, description="What the resident was told; required.")
    at: Time | None = None


def row_of(model: BaseModel) -> dict[str, Any]:
    """A body as the row :mod:`gridgeo.fieldwork` takes (the point in WGS-84, as shapely).

    The point is converted from the body's ``crs`` here, once; the row has no ``crs``,
    so a retry of the same body gives the same row (and its digest).
    """
    row = model.model_dump(exclude_none=True)
    crs = row.pop("crs", "wgs84")
    if "uuid" in row:
        row["uuid"] = str(row["uuid"])
    geometry = getattr(model, "geometry", None)
    if geometry is not None:
        point = geometry.shape()
        if crs != "wgs84":
            point = convert_geometry(point, source=crs, target="wgs84")
        row["geometry"] = point
    return row
