"""Exceptions raised by gridgeo.

Every error gridgeo raises derives from :class:`GridGeoError`. The CLI turns them
into a message and a non-zero exit status; the API maps them to HTTP statuses in
one table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "database_reason",
    "AmbiguousCredentials",
    "BadRequest",
    "CRSError",
    "ConfigError",
    "Conflict",
    "FileFormatError",
    "GridGeoError",
    "Issue",
    "NotFound",
    "PermissionDenied",
    "RequestTooLarge",
    "StaleVersion",
    "StoreError",
    "Unauthorized",
    "UpstreamError",
    "ValidationError",
]


class GridGeoError(Exception):
    """Root of every error gridgeo raises."""


class ConfigError(GridGeoError):
    """A setting or policy value is missing or wrong."""


class StoreError(GridGeoError):
    """The store cannot be reached, created or migrated."""


class UpstreamError(GridGeoError):
    """A server gridgeo relies on (a basemap provider) did not answer, or not with a tile."""


class NotFound(GridGeoError):
    """A named entity, layer or file does not exist."""


class PermissionDenied(GridGeoError):
    """The caller is not entitled to the requested data or action."""


class Unauthorized(GridGeoError):
    """The caller gave no credentials, or credentials that are not valid."""


class BadRequest(GridGeoError):
    """A request that cannot be read as sent (duplicate headers, a malformed length)."""


class AmbiguousCredentials(BadRequest):
    """The request carries credentials twice, or two that disagree (HTTP 400)."""


class RequestTooLarge(GridGeoError):
    """A request body larger than the service accepts."""


class Conflict(GridGeoError):
    """The request clashes with the stored state (e.g. closing a problem twice)."""


class StaleVersion(Conflict):
    """A change names a version of a row that is no longer its current one."""

    def __init__(self, message: str, *, current: int) -> None:
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class Issue:
    """One problem found in an input: where it is, what is wrong, what to do.

    ``row`` is the 1-based position of the record as the user sees it: the feature
    number for vector files, the sheet/line number (header counted) for CSV and XLSX.
    """

    message: str
    file: str | None = None
    layer: str | None = None
    row: int | None = None
    column: str | None = None
    value: object = None
    hint: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.layer:
            where.append(f"layer {self.layer!r}")
        if self.row is not None:
            row = f"row {self.row}"
            if self.key is not None:
                row += f" ({self.key})"
            where.append(row)
        if self.column:
            where.append(f"column {self.column!r}")
        text = " ".join(where)
        text = f"{text}: {self.message}" if text else self.message
        if self.value is not None:
            text += f" (value {_short(self.value)!r})"
        if self.hint:
            text += f"; {self.hint}"
        return text


def database_reason(exc: BaseException) -> str:
    """The first line of a database error's message (the driver's, under SQLAlchemy's)."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ValidationError(GridGeoError):
    """Input data breaks a rule; ``issues`` lists every problem found.

    The message shows the first ``shown`` issues and how many more there are, so a
    file with 10,000 bad rows still gives a readable error.
    """

    shown = 20

    def __init__(self, issues: list[Issue] | Issue | str, *, summary: str | None = None):
        if isinstance(issues, str):
            issues = [Issue(issues)]
        elif isinstance(issues, Issue):
            issues = [issues]
        self.issues: list[Issue] = list(issues)
        self.summary = summary
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [str(i) for i in self.issues[: self.shown]]
        if len(self.issues) > self.shown:
            lines.append(f"... and {len(self.issues) - self.shown} more")
        if self.summary:
            lines.insert(0, self.summary)
        return "\n".join(lines)


class CRSError(ValidationError):
    """A file has no coordinate reference system, or one that cannot be used."""


class FileFormatError(ValidationError):
    """A file cannot be read, or is not what its extension says."""
