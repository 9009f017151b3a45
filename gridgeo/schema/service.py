"""The service's own tables: data versions, API tokens, idempotency keys, the audit log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridgeo.schema.columns import Base, UTCDateTime

__all__ = ["API_ROLES", "ApiToken", "AuditEntry", "DataVersion", "IdempotencyKey"]


class DataVersion(Base):
    """How often each layer has changed: one counter per layer.

    Every write that inserts or updates rows of a layer adds one to its counter in
    the same transaction, so a cache keyed on the counter (tiles, maps, findings)
    never serves what a committed write has made stale.
    """

    __tablename__ = "data_versions"
    layer: Mapped[str] = mapped_column(String(50), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    #: when the layer last changed (the latest of these is the time of the store's version)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


#: Roles of API tokens: who may read which area and write what (see ``api.auth``).
API_ROLES = ("leader", "planner", "analyst", "grid_worker", "member")


class ApiToken(Base):
    """An API token: only its SHA-256 is kept, with the role and area it grants.

    ``communities`` and ``grids`` are comma-separated codes (empty: the whole
    district); ``member`` is the member code the token writes as (grid workers and
    members).
    """

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    member: Mapped[str | None] = mapped_column(String(100))
    communities: Mapped[str | None] = mapped_column(Text)
    grids: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (CheckConstraint(f"role IN {API_ROLES!r}", name="role_known"),)


class IdempotencyKey(Base):
    """The first result of a field write, kept under the client's ``Idempotency-Key``.

    It is stored in the same transaction as the write, so a key exists exactly when
    its write was committed; a retry with the same key gets this response back.
    """

    __tablename__ = "idempotency_keys"
    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(200), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class AuditEntry(Base):
    """One row of the append-only audit log: who changed what, when, from what to what.

    Written in the transaction of the change it records (a field write, a step of a
    problem's lifecycle, an import), so it exists exactly when the change was
    committed. ``token_id``, ``role`` and ``member`` say who (empty for scripts);
    ``layer``, ``code`` and ``action`` what; ``old`` and ``new`` hold the changed
    values as JSON text. ``community`` and ``grid`` say where, for reading the log by
    area.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    token_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(20))
    member: Mapped[str | None] = mapped_column(String(100), index=True)
    layer: Mapped[str] = mapped_column(String(50), nullable=False)
    code: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    community: Mapped[str | None] = mapped_column(String(100))
    grid: Mapped[str | None] = mapped_column(String(100))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
