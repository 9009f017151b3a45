"""``gridgeo info``: the rows per layer and the schema revision of a store."""

from __future__ import annotations

from rich.table import Table

from gridgeo.cli.common import DbOption, fails_cleanly, out

__all__ = ["info"]


@fails_cleanly
def info(db: DbOption = None) -> None:
    """Show what the store holds."""
    from gridgeo.store import open_store

    store = open_store(db)
    try:
        counts = store.counts()
        revision = store.revision()
    finally:
        store.close()
    table = Table(title=f"{store.url} (schema {revision})")
    table.add_column("layer")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    out.print(table)
