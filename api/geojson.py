"""GeoJSON of frames: values as JSON, features, pages with OGC API Features links."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely
from fastapi import Request
from fastapi.responses import JSONResponse

__all__ = ["frame_features", "frame_page", "geojson_page", "geojson_response", "json_column"]


def json_column(values: pd.Series) -> list[Any]:
    """The values of a column as JSON values (ISO times, no NaN, WKT for geometries)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return [None if pd.isna(v) else v.isoformat() for v in values]
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return [
            None if pd.isna(v) else (v.date().isoformat() if v == v.normalize() else v.isoformat())
            for v in values
        ]
    out = []
    for v in values.astype(object):
        if v is None or v is pd.NA or v is pd.NaT:
            out.append(None)
        elif isinstance(v, float | np.floating):
            out.append(float(v) if math.isfinite(v) else None)
        elif isinstance(v, np.integer):
            out.append(int(v))
        elif isinstance(v, np.bool_ | bool):
            out.append(bool(v))
        elif isinstance(v, dt.datetime | dt.date | pd.Timestamp):
            out.append(v.isoformat())
        elif isinstance(v, shapely.Geometry):
            out.append(shapely.to_wkt(v))
        else:
            out.append(v if isinstance(v, str | int) else str(v))
    return out


def frame_features(
    frame: pd.DataFrame, extra: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The rows of a frame as GeoJSON Features (``id``: the code), ``extra`` in each."""
    geom_col = frame.geometry.name if hasattr(frame, "geometry") else None
    cols = [c for c in frame.columns if c != geom_col]
    data = {c: json_column(frame[c]) for c in cols}
    geoms = frame[geom_col].to_numpy() if geom_col else [None] * len(frame)
    features = []
    for i, geom in enumerate(geoms):
        props = {c: data[c][i] for c in cols}
        if extra:
            props.update(extra)
        feature: dict[str, Any] = {
            "type": "Feature",
            "geometry": None
            if geom is None or shapely.is_empty(geom)
            else shapely.geometry.mapping(geom),
            "properties": props,
        }
        if "code" in props and props["code"] is not None:
            feature["id"] = props["code"]
        features.append(feature)
    return features


def geojson_page(
    request: Request,
    page: pd.DataFrame,
    limit: int,
    offset: int,
    matched: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The GeoJSON body of one page (rows ``offset`` to ``offset + limit`` of ``matched``)."""
    features = frame_features(page, extra)
    links = [{"rel": "self", "type": "application/geo+json", "href": str(request.url)}]
    params = dict(request.query_params)
    base = str(request.url.remove_query_params(list(params)))
    if offset + limit < matched:
        nxt = {**params, "offset": str(offset + limit), "limit": str(limit)}
        links.append(
            {"rel": "next", "type": "application/geo+json", "href": f"{base}?{urlencode(nxt)}"}
        )
    if offset > 0:
        prev = {**params, "offset": str(max(0, offset - limit)), "limit": str(limit)}
        links.append(
            {"rel": "prev", "type": "application/geo+json", "href": f"{base}?{urlencode(prev)}"}
        )
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "links": links,
        "features": features,
    }
    geoms = page.geometry.to_numpy() if hasattr(page, "geometry") else np.array([])
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    if len(geoms):
        body["bbox"] = [float(x) for x in shapely.total_bounds(geoms)]
    return body


def frame_page(request: Request, frame: pd.DataFrame, limit: int, offset: int) -> dict[str, Any]:
    """:func:`geojson_page` of the rows of a frame in memory."""
    return geojson_page(request, frame.iloc[offset : offset + limit], limit, offset, len(frame))


def geojson_response(body: dict[str, Any]) -> JSONResponse:
    """A GeoJSON body as an ``application/geo+json`` response."""
    return JSONResponse(content=body, media_type="application/geo+json")
