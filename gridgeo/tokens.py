"""API tokens: create, list, revoke and authenticate them; tile keys signed for them.

A token is a random secret shown once; the store keeps only its SHA-256 with the
role it grants, the member it writes as, and its area (community and grid codes,
none for the whole district).

A *tile key* (:func:`tile_key`) stands for a token's principal in tile URLs without
holding the token: its id and an expiry, signed with a server secret over the
principal's role, member and area. It is checked against the principal the id has
when it is used (:func:`tile_key_matches`), so it dies with its token. Neither tokens
nor tile keys are written to logs (:class:`gridgeo.redaction.RedactCredentials`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from gridgeo.areas import Geography, geography, member_assignments
from gridgeo.errors import NotFound, ValidationError
from gridgeo.principal import API_ROLES, WRITER_ROLES, Principal
from gridgeo.schema import ApiToken
from gridgeo.store import Store

__all__ = [
    "TOKEN_COLUMNS",
    "authenticate",
    "create_token",
    "hash_token",
    "list_tokens",
    "principal_of_id",
    "revoke_token",
    "tile_key",
    "tile_key_matches",
    "tile_key_parts",
]

#: The columns :func:`list_tokens` gives, in order.
TOKEN_COLUMNS = (
    "id",
    "role",
    "member",
    "communities",
    "grids",
    "label",
    "created_at",
    "revoked_at",
)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored.

    Examples
    --------
    >>> hash_token("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(sorted({c.strip() for c in (text or "").split(",") if c.strip()}))


def create_token(
    store: Store,
    role: str,
    *,
    member: str | None = None,
    communities: Iterable[str] = (),
    grids: Iterable[str] = (),
    label: str | None = None,
    as_of: dt.date | None = None,
) -> tuple[str, Principal]:
    """Create a token; return the secret (shown once, never stored) and its principal.

    Parameters
    ----------
    store
        Where the token's hash is kept.
    role
        One of :data:`gridgeo.schema.API_ROLES`.
    member
        The member the token writes as; required for ``grid_worker`` and ``member``.
    communities, grids
        The area. A leader needs one; planners and analysts default to the whole
        district; a grid worker's default is the grids of their ``worker_grid``
        assignments, a member's the grids holding their buildings and households
        (both in force on ``as_of``, default today).
    label
        A note for whoever manages tokens.

    Raises
    ------
    ValidationError
        Unknown role, member, community or grid, or a missing member or area.
    """
    if role not in API_ROLES:
        raise ValidationError(f"unknown role {role!r}; use one of {', '.join(API_ROLES)}")
    communities, grids = _token_area(
        store, role, member, _split(",".join(communities)), _split(",".join(grids)), as_of
    )
    secret = "ggt_" + secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        token_id = conn.execute(
            sa.insert(ApiToken)
            .values(
                token_hash=hash_token(secret),
                role=role,
                member=member,
                communities=",".join(communities) or None,
                grids=",".join(grids) or None,
                label=label,
                created_at=dt.datetime.now(dt.UTC),
            )
            .returning(ApiToken.id)
        ).scalar_one()
    return secret, Principal(role, member, communities, grids, token_id)


def _token_area(
    store: Store,
    role: str,
    member: str | None,
    communities: tuple[str, ...],
    grids: tuple[str, ...],
    as_of: dt.date | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The area of a new token, its codes and its member checked (see :func:`create_token`)."""
    geo = geography(store)
    unknown = [c for c in communities if c not in geo.community_codes]
    unknown += [g for g in grids if g not in geo.grid_of_code]
    if unknown:
        raise ValidationError(f"unknown community or grid code(s): {', '.join(unknown)}")
    if role in WRITER_ROLES:
        if not member:
            raise ValidationError(f"a {role} token needs --member: the member it writes as")
        with store.engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT role FROM members WHERE code = :code"), {"code": member}
            ).first()
        if found is None:
            raise ValidationError(f"unknown member {member!r}")
        if not communities and not grids:
            grids = _member_grids(store, geo, member, as_of or dt.date.today())
            if not grids:
                raise ValidationError(
                    f"member {member!r} has no grid, building or household assignment in "
                    "force: give the area with --grid or --community"
                )
    elif member:
        raise ValidationError(f"a {role} token does not write, so it takes no --member")
    if role == "leader" and not communities and not grids:
        raise ValidationError("a leader token needs an area: --community CODE (or --grid CODE)")
    return communities, grids


def revoke_token(store: Store, token_id: int) -> None:
    """Revoke a token by its id; it is refused from then on."""
    with store.engine.begin() as conn:
        done = conn.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC))
        ).rowcount
    if not done:
        raise NotFound(f"no active token with id {token_id}")


def list_tokens(store: Store) -> list[sa.Row[Any]]:
    """Every token, by id: the :data:`TOKEN_COLUMNS` of each (never a secret or its hash)."""
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(f"SELECT {', '.join(TOKEN_COLUMNS)} FROM api_tokens ORDER BY id")
            ).all()
        )


def authenticate(store: Store, token: str) -> Principal | None:
    """The principal of a token, or None when it is unknown or revoked."""
    return _principal_where(store, ApiToken.token_hash == hash_token(token))


def principal_of_id(store: Store, token_id: int) -> Principal | None:
    """The principal of the token with this id, or None when it is unknown or revoked."""
    return _principal_where(store, ApiToken.id == token_id)


def _principal_where(store: Store, condition: sa.ColumnElement[bool]) -> Principal | None:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(ApiToken).where(condition)).first()
    if row is None:
        return None
    t = row[0] if not hasattr(row, "role") else row
    if t.revoked_at is not None:
        return None
    return Principal(t.role, t.member, _split(t.communities), _split(t.grids), t.id)


# -- tile keys: a token's read access to tiles, signed and short-lived -----------------


def _tile_mac(principal: Principal, expires: int, secret: bytes) -> str:
    message = "|".join(
        (
            "gridgeo-tile-key-1",
            str(principal.token_id),
            principal.role,
            principal.member or "",
            ",".join(principal.communities),
            ",".join(principal.grids),
            str(expires),
        )
    ).encode("utf-8")
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def tile_key(principal: Principal, expires: int, secret: bytes) -> str:
    """A tile key: ``<token id>.<expiry>.<HMAC>`` for a token's principal.

    The HMAC-SHA256 (144 bits kept) covers the token id, its role, member and area, and
    the expiry (Unix seconds), under the server's ``secret``. A key tells the token
    apart from no other, holds no secret of the token, and is worth nothing once the
    token is revoked: :func:`tile_key_matches` is checked against the principal the
    token id has now.

    Raises
    ------
    ValueError
        A principal without a token (the open demo mode needs no key).

    Examples
    --------
    >>> key = tile_key(Principal("leader", communities=("C01",), token_id=7), 2_000_000_000, b"s")
    >>> key.split(".")[:2]
    ['7', '2000000000']
    """
    if principal.token_id is None:
        raise ValueError("only a token's principal has tile keys")
    return f"{principal.token_id}.{expires}.{_tile_mac(principal, expires, secret)}"


def tile_key_parts(key: str) -> tuple[int, int] | None:
    """The token id and expiry a tile key claims (None: not a tile key). Not verified."""
    token_id, _, rest = key.partition(".")
    expires, _, mac = rest.partition(".")
    if not mac or "." in mac or not _number(token_id) or not _number(expires):
        return None
    return int(token_id), int(expires)


def _number(text: str) -> bool:
    return 0 < len(text) <= 12 and text.isascii() and text.isdigit()


def tile_key_matches(key: str, principal: Principal, secret: bytes) -> bool:
    """Whether ``key`` was made by :func:`tile_key` for ``principal`` as it is now."""
    claimed = tile_key_parts(key)
    if claimed is None or principal.token_id != claimed[0]:
        return False
    expected = _tile_mac(principal, claimed[1], secret)
    return hmac.compare_digest(key.rsplit(".", 1)[1].encode("ascii", "replace"), expected.encode())


def _member_grids(store: Store, geo: Geography, member: str, day: dt.date) -> tuple[str, ...]:
    with store.engine.connect() as conn:
        rows = member_assignments(conn, member, day=day)
    grids = set()
    for row in rows:
        building = row.building
        if row.grid:
            grids.add(row.grid)
        if row.household:
            building = geo.building_of_household.get(row.household)
        if building and geo.grid_of_building.get(building):
            grids.add(geo.grid_of_building[building])
    return tuple(sorted(grids))
