"""``gridgeo db upgrade|current``: create the tables or migrate them."""

from __future__ import annotations

from gridgeo.cli.common import DbOption, fails_cleanly, out

__all__ = ["db_current", "db_upgrade"]


@fails_cleanly
def db_upgrade(db: DbOption = None) -> None:
    """Create the tables or migrate them to this gridgeo's schema."""
    from gridgeo.store import open_store

    store = open_store(db, create=False)
    try:
        before = store.revision()
        store.upgrade()
        out.print(
            f"{store.url}: schema {before or '(empty)'} → {store.revision()}", highlight=False
        )
    finally:
        store.close()


@fails_cleanly
def db_current(db: DbOption = None) -> None:
    """Print the store's schema revision and the one this gridgeo needs."""
    from gridgeo.store import open_store

    store = open_store(db, create=False)
    try:
        out.print(
            f"{store.url}: schema {store.revision() or '(empty)'}, head {store.head()}",
            highlight=False,
        )
    finally:
        store.close()
