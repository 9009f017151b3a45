"""``gridgeo apply PROPOSAL``: an accepted (perhaps edited) proposal into the store, all or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from gridgeo.cli.common import DbOption, date_option, fails_cleanly, out

__all__ = ["apply"]


@fails_cleanly
def apply(
    proposal: Annotated[
        Path,
        typer.Argument(),
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of"),
    ] = None,
    db: DbOption = None,
) -> None:
    """Apply a proposal of gridgeo fix: every row checked first, then one transaction."""
    from gridgeo.fix.apply import apply_file
    from gridgeo.store import open_store

    day = date_option(as_of, "--as-of") or dt.date.today()
    store = open_store(db)
    try:
        applied = apply_file(store, proposal, as_of=day)
    finally:
        store.close()
    if applied.kind == "grids":
        out.print(f"grids: {applied.changed:,} outline(s) changed", highlight=False)
    else:
        out.print(
            f"assignments: {applied.added:,} added, {applied.ended:,} ended "
            f"(from {day.isoformat()})",
            highlight=False,
        )
    if not (applied.changed or applied.added or applied.ended):
        out.print("nothing to change: the store already holds the proposal", highlight=False)
