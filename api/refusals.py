"""Refusals: each gridgeo error as its HTTP status and body, in one table and one shape.

Every refusal is ``{"error": <kind>, "detail": <what is wrong and what to do>}``; a 422
from the checks of parameters and bodies adds ``fields`` and never echoes the input; a
``StaleVersion`` adds the row's current ``version``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse

from gridgeo.errors import (
    BadRequest,
    ConfigError,
    Conflict,
    CRSError,
    FileFormatError,
    GridGeoError,
    NotFound,
    PermissionDenied,
    RequestTooLarge,
    StaleVersion,
    StoreError,
    Unauthorized,
    UpstreamError,
    ValidationError,
)

__all__ = [
    "ERROR_STATUS",
    "SHOWN_FIELD_ERRORS",
    "VALIDATION_ERROR_SCHEMA",
    "field_name",
    "json_text",
    "refusal",
    "status_for",
    "validation_refusal",
]

#: HTTP status for each gridgeo error; the most specific class in the MRO wins.
ERROR_STATUS: dict[type[GridGeoError], int] = {
    BadRequest: 400,
    RequestTooLarge: 413,
    NotFound: 404,
    Unauthorized: 401,
    PermissionDenied: 403,
    Conflict: 409,
    ValidationError: 422,
    CRSError: 422,
    FileFormatError: 422,
    StoreError: 503,
    UpstreamError: 502,
    ConfigError: 500,
    GridGeoError: 500,
}


def status_for(exc: GridGeoError) -> int:
    """The HTTP status of a gridgeo error (that of its most specific class in the table)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500


def json_text(value: object, limit: int = 2000) -> str:
    """Text that can go into a JSON answer: lone surrogates escaped, at most ``limit`` long."""
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refusal(exc: GridGeoError) -> JSONResponse:
    """The answer to a gridgeo error: its status, ``{"error": kind, "detail": reason}``."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else {}
    if isinstance(exc, RequestTooLarge | BadRequest):
        headers["Connection"] = "close"  # the rest of the body is not read
    content: dict[str, Any] = {"error": type(exc).__name__, "detail": json_text(exc, 20_000)}
    if isinstance(exc, StaleVersion):
        content["version"] = exc.current  # the problem's current version
    return JSONResponse(status_code=status_for(exc), content=content, headers=headers or None)


#: The most field errors a 422 lists.
SHOWN_FIELD_ERRORS = 20

#: The OpenAPI schema of a 422 from the checks of parameters, headers and bodies.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ValidationRefusal",
    "type": "object",
    "properties": {
        "error": {"type": "string", "enum": ["ValidationError"]},
        "detail": {"type": "string", "description": "Each bad field and what it must be."},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "required": ["error", "detail"],
}


def field_name(loc: Sequence[Any]) -> str:
    """Where a request error is, in words: ``body geometry.coordinates[0]``."""
    if not loc:
        return "request"
    where, path = str(loc[0]), ""
    for part in loc[1:]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    names = {"body": "body", "query": "query parameter", "path": "path parameter",
             "header": "header", "cookie": "cookie"}  # fmt: skip
    return json_text(f"{names.get(where, where)} {path}".strip(), 120)


def validation_refusal(errors: Sequence[Any]) -> JSONResponse:
    """The answer to failed checks of parameters and bodies, without echoing the input back.

    A body that is not JSON is a 400; every other refusal a 422 whose detail names each
    bad field and what it must be, and whose ``fields`` list the same for programs.
    ``errors`` are pydantic's (``exc.errors()``), each ``loc`` starting where the value
    was (``body``, ``query``...).
    """
    broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if broken is not None:
        reason = (broken.get("ctx") or {}).get("error", "not JSON")
        position = broken["loc"][1] if len(broken.get("loc", ())) > 1 else "?"
        return refusal(
            BadRequest(
                f"the body is not valid JSON ({json_text(reason, 200)} at character {position}): "
                "send one JSON object with Content-Type: application/json"
            )
        )
    fields = []
    for error in errors[:SHOWN_FIELD_ERRORS]:
        message = str(error.get("msg", "invalid"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        fields.append(
            {"field": field_name(error.get("loc", ())), "message": json_text(message, 300)}
        )
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    if len(errors) > SHOWN_FIELD_ERRORS:
        detail += f"; ... and {len(errors) - SHOWN_FIELD_ERRORS} more"
    return JSONResponse(
        status_code=422, content={"error": "ValidationError", "detail": detail, "fields": fields}
    )
