"""Idempotent writes: the first result of a write kept under its key, in the write's transaction.

:func:`write_once` validates a write, then makes it in one transaction that also
claims the caller's key and counts the change of the layer
(:meth:`gridgeo.store.Store.bump_version`); a retry with a key seen before gets the
first result back (:class:`WriteOutcome` of kind ``replayed``) instead of writing
again. A write may also carry a client-generated UUID, claimed in the same table in
one namespace for the whole store (:data:`UUID_OWNER`): the same uuid with the same
request gets the first result back, with another request it is a ``Conflict``. The
key table's primary key makes concurrent duplicates wait for the first and then
replay it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import psycopg
import sqlalchemy as sa

from gridgeo.errors import Conflict, Issue, ValidationError, database_reason
from gridgeo.schema import IdempotencyKey
from gridgeo.store import Store
from gridgeo.store.versions import read_data_version

__all__ = ["UUID_OWNER", "WriteKind", "WriteOutcome", "write_once"]

T = TypeVar("T")

#: What a write did: made a new row, or changed one.
WriteKind = Literal["created", "updated"]

#: How the key table's ``status_code`` column records what the first write did (as it
#: always has, so keys stored before replay the same).
_RECORDED: dict[str, int] = {"created": 201, "updated": 200}
_KIND_OF = {code: kind for kind, code in _RECORDED.items()}


@dataclass(frozen=True)
class WriteOutcome:
    """What a write did, and the feature as stored.

    ``kind`` is ``created`` or ``updated``, or ``replayed`` when a retry got the first
    result back; ``first`` is what the write under the key did (``kind`` itself unless
    replayed). ``data_version`` is the store's change counter the write made, read in its
    transaction after the bump; for a replay, the counter when the retry came.
    """

    kind: Literal["created", "updated", "replayed"]
    feature: dict[str, Any]
    first: WriteKind
    data_version: int | None = None

    @property
    def replayed(self) -> bool:
        """Whether this is the first result given back to a retry."""
        return self.kind == "replayed"


def _digest(operation: str, payload: Any) -> str:
    text = json.dumps({"endpoint": operation, "payload": payload}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The namespace of client-generated write UUIDs in the key table: one for the whole
#: store, whoever writes.
UUID_OWNER = "uuid"


class _Taken(Exception):
    """A concurrent write with the same key or uuid committed first."""


def write_once(
    store: Store,
    *,
    owner: str,
    key: str | None,
    operation: str,
    layer: str,
    payload: Any,
    check: Callable[[], T],
    write: Callable[[sa.Connection, T], tuple[WriteKind, dict[str, Any]]],
    uuid: str | None = None,
    writer: str = "library",
) -> WriteOutcome:
    """Validate with ``check()``, then ``write`` in one transaction with the key and uuid.

    Parameters
    ----------
    store
        Where to write.
    owner, key
        Whose key (one namespace per token) and the key itself (None: no key).
    operation
        The request as the key table records it (``POST /visits``); with ``payload``
        (JSON-able) it makes the request's digest, which a retry must repeat.
    layer
        The layer the write changes (its change counter is bumped).
    check
        Validates the write before any transaction; returns what ``write`` takes.
    write
        Makes the write on the transaction's connection; returns its kind and feature.
    uuid
        The write's client-generated UUID (None: none), unique in the whole store: the
        same uuid with the same request by the same ``writer`` gets the first result
        back; with anything else it is a :class:`~gridgeo.errors.Conflict`.
    writer
        Who writes (a member's code), part of what a uuid's retry must repeat.

    Raises
    ------
    ValidationError
        The key was used for another request, or the database refused a value.
    Conflict
        The uuid was used for another write, or a row with the new row's code exists.
    """
    digest = _digest(operation, payload)
    uuid_digest = _digest(operation, {"writer": writer, "payload": payload})
    for _ in range(3):
        earlier = _earlier(store, owner, key, digest, uuid, uuid_digest)
        if earlier is not None:
            return earlier
        prepared = check()
        try:

            def made(conn: sa.Connection, prepared: T = prepared) -> Any:
                return write(conn, prepared)

            return _write(store, (owner, key, digest), (uuid, uuid_digest), operation, layer, made)
        except _Taken:
            continue  # the other write has committed: it is replayed on the next round
    raise Conflict(f"{operation}: the write's key or uuid is being written concurrently")


def _earlier(
    store: Store,
    owner: str,
    key: str | None,
    digest: str,
    uuid: str | None,
    uuid_digest: str,
) -> WriteOutcome | None:
    """The first result of the same write, by key and then by uuid (None: not made yet)."""
    if key is None and uuid is None:
        return None
    with store.engine.connect() as conn:
        by_key = _stored(conn, owner, key) if key is not None else None
        by_uuid = _stored(conn, UUID_OWNER, uuid) if uuid is not None else None
        now = read_data_version(conn) if by_key or by_uuid else None
    if by_key is not None:
        return _replay(by_key, digest, key, now)
    if by_uuid is not None:
        if by_uuid.request_hash != uuid_digest:
            raise Conflict(
                f"uuid {uuid} was used before for another write; a retry must repeat "
                "the first write exactly, and a new write needs a new uuid"
            )
        return _replay(by_uuid, uuid_digest, uuid, now)
    return None


def _write(
    store: Store,
    keyed: tuple[str, str | None, str],
    ided: tuple[str | None, str],
    operation: str,
    layer: str,
    write: Callable[[sa.Connection], tuple[WriteKind, dict[str, Any]]],
) -> WriteOutcome:
    """The write's transaction: claim the key and uuid, write, keep the first result."""
    claims = [(keyed[0], keyed[1], keyed[2]), (UUID_OWNER, ided[0], ided[1])]
    claims = [(o, k, d) for o, k, d in claims if k is not None]
    try:
        with store.engine.begin() as conn:
            for claim_owner, claim_key, claim_digest in claims:
                if not _claim(conn, claim_owner, claim_key, claim_digest, operation):
                    raise _Taken  # leaves the transaction, rolled back
            kind, feature = write(conn)
            text = json.dumps(feature, ensure_ascii=False)
            feature = json.loads(text)  # the same JSON a replay returns
            table = IdempotencyKey.__table__
            for claim_owner, claim_key, _ in claims:
                conn.execute(
                    sa.update(table)
                    .where(table.c.owner == claim_owner, table.c.key == claim_key)
                    .values(status_code=_RECORDED[kind], response=text)
                )
            version = store.bump_version(conn, [layer]).version  # last: see bump_versions
    except (sa.exc.IntegrityError, psycopg.IntegrityError, sqlite3.IntegrityError) as exc:
        raise _refused(operation, exc) from exc
    except sa.exc.DataError as exc:
        reason = database_reason(exc)
        raise ValidationError(
            Issue(f"the database refused a value: {reason}", hint="nothing was written")
        ) from exc
    return WriteOutcome(kind, feature, kind, version)


def _claim(conn: sa.Connection, owner: str, key: str, digest: str, operation: str) -> bool:
    """Claim the key for this write (False: a concurrent duplicate holds it)."""
    table = IdempotencyKey.__table__
    insert = _insert_ignore(conn)(table).values(
        owner=owner,
        key=key,
        request_hash=digest,
        endpoint=operation[:200],
        created_at=dt.datetime.now(dt.UTC),
    )
    insert = insert.on_conflict_do_nothing(index_elements=["owner", "key"])
    return conn.execute(insert.returning(table.c.key)).first() is not None


def _refused(operation: str, exc: Exception) -> Conflict | ValidationError:
    reason = database_reason(exc)
    if "unique" in reason.lower() or "duplicate" in reason.lower():
        return Conflict(
            f"{operation}: a row with this code exists already ({reason}); leave 'code' "
            "out to get a new one, or send the first request's Idempotency-Key to retry it"
        )
    return ValidationError(
        Issue(f"the database refused the write: {reason}", hint="nothing was written")
    )


def _insert_ignore(conn: sa.Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _stored(conn: sa.Connection, owner: str, key: str) -> sa.Row[Any] | None:
    table = IdempotencyKey.__table__
    return conn.execute(
        sa.select(
            table.c.request_hash, table.c.endpoint, table.c.status_code, table.c.response
        ).where(table.c.owner == owner, table.c.key == key)
    ).first()


def _replay(stored: sa.Row[Any], digest: str, key: str, now: int | None) -> WriteOutcome:
    if stored.request_hash != digest:
        raise ValidationError(
            Issue(
                f"Idempotency-Key {key!r} was used before for a different request "
                f"({stored.endpoint} with other data); a retry must repeat the first request "
                "exactly, and a new write needs a new key",
                column="Idempotency-Key",
            )
        )
    first: WriteKind = _KIND_OF[int(stored.status_code)]  # type: ignore[assignment]
    return WriteOutcome("replayed", json.loads(stored.response), first, now)
