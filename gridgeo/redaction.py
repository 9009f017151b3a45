"""Credentials kept out of logs: ``?token=`` and ``?tile_key=`` values written as ``***``."""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

__all__ = ["CREDENTIAL_PARAMETERS", "RedactCredentials", "redact_credentials"]

#: Query parameters that carry a credential: never written to a log in clear.
CREDENTIAL_PARAMETERS = frozenset({"token", "tile_key"})


def redact_credentials(target: str) -> str:
    """A URL or request target with the values of :data:`CREDENTIAL_PARAMETERS` as ``***``.

    Parameter names are compared after percent-decoding, as the service reads them.

    Examples
    --------
    >>> redact_credentials("/maps/coverage?token=ggt_abc&lang=en&%74oken=x")
    '/maps/coverage?token=***&lang=en&%74oken=***'
    """
    path, sep, query = target.partition("?")
    if not sep:
        return target
    parts = []
    for part in query.split("&"):
        name = part.partition("=")[0]
        parts.append(f"{name}=***" if unquote_plus(name) in CREDENTIAL_PARAMETERS else part)
    return f"{path}?{'&'.join(parts)}"


class RedactCredentials(logging.Filter):
    """A logging filter: credentials in request targets of access-log lines become ``***``.

    It rewrites every string argument of a record (uvicorn's access log passes the
    request target as one) and the message itself.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_credentials(a) if isinstance(a, str) and "?" in a else a for a in record.args
            )
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = redact_credentials(record.msg)
        return True
