"""``gridgeo token create|list|revoke``: the service's API tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gridgeo.cli.common import DbOption, err, fails_cleanly, out

__all__ = ["token_create", "token_list", "token_revoke"]


@fails_cleanly
def token_create(
    role: Annotated[str, typer.Option("--role")],
    member: Annotated[str | None, typer.Option("--member")] = None,
    community: Annotated[list[str] | None, typer.Option("--community")] = None,
    grid: Annotated[list[str] | None, typer.Option("--grid")] = None,
    label: Annotated[str | None, typer.Option("--label")] = None,
    db: DbOption = None,
) -> None:
    """Create an API token and print it once (only its SHA-256 is stored)."""
    from gridgeo.access import create_token
    from gridgeo.store import open_store

    store = open_store(db)
    try:
        secret, principal = create_token(
            store, role, member=member, communities=community or (), grids=grid or (), label=label
        )
    finally:
        store.close()
    err.print(
        f"token {principal.token_id} for {principal.describe()}; it is shown only this once:",
        highlight=False,
    )
    out.print(secret, highlight=False)


@fails_cleanly
def token_list(db: DbOption = None) -> None:
    """List the tokens (never the secrets)."""
    from gridgeo.store import open_store
    from gridgeo.tokens import list_tokens

    store = open_store(db)
    try:
        rows = list_tokens(store)
    finally:
        store.close()
    table = Table(title="API tokens")
    for col in ("id", "role", "member", "communities", "grids", "label", "created", "revoked"):
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


@fails_cleanly
def token_revoke(
    token_id: Annotated[int, typer.Argument()],
    db: DbOption = None,
) -> None:
    """Revoke a token: it is refused from now on."""
    from gridgeo.access import revoke_token
    from gridgeo.store import open_store

    store = open_store(db)
    try:
        revoke_token(store, token_id)
    finally:
        store.close()
    out.print(f"token {token_id} revoked", highlight=False)
