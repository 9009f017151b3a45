"""Load a generated district into PostGIS: gridgeo's bulk path vs row-by-row index upkeep.

Both runs write the same frames through ``Store.write_layers`` (COPY into a staging
table, then one ``INSERT … ON CONFLICT``) into a new, empty database. They differ in
one thing: with the bulk path, a first load of an empty table drops the table's foreign
keys and secondary indexes and builds them again afterwards (one bulk check and one
index build); without it, PostgreSQL checks every foreign key and updates every index
row by row. Prints seconds per layer, medians over ``--runs``, and the ratio.

    .venv/bin/python benchmarks/load_layers.py                 # 1/10 of the city, 3 runs
    .venv/bin/python benchmarks/load_layers.py --fraction 0.01 --runs 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from gridgeo.store import PostGISStore, make_engine, open_store
from gridgeo.synth import SCALES, generate

SIZES = ("communities", "grids", "buildings", "households", "visits", "problems")


@contextmanager
def scratch_database(admin_url: str, database: str) -> Iterator[str]:
    """A new ``database`` on the server of ``admin_url`` (its URL), dropped afterwards."""
    admin = make_engine(admin_url)

    def drop(conn: sa.Connection) -> None:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        drop(conn)
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    try:
        yield sa.make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            drop(conn)
        admin.dispose()


def load(admin_url: str, database: str, layers: dict, bulk: bool) -> dict[str, float]:
    with scratch_database(admin_url, database) as url:
        store = open_store(url)
        assert isinstance(store, PostGISStore)
        store.bulk_rows = PostGISStore.bulk_rows if bulk else sys.maxsize
        seconds = {}
        try:
            for name, frame in layers.items():
                started = time.perf_counter()
                store.write_layers({name: frame})
                seconds[name] = time.perf_counter() - started
        finally:
            store.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.1, help="share of the benchmark city")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--db",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="URL of a database to connect to for CREATE/DROP DATABASE",
    )
    parser.add_argument("--database", default="gridgeo_load_bench", help="scratch database name")
    args = parser.parse_args()
    console = Console()
    sizes = {k: max(2, int(SCALES["city"][k] * args.fraction)) for k in SIZES}
    district = generate(sizes, seed=1)
    console.print("district: " + ", ".join(f"{len(f):,} {n}" for n, f in district.layers.items()))
    runs: dict[str, list[dict[str, float]]] = {"row by row": [], "bulk": []}
    for i in range(args.runs):
        order = ["row by row", "bulk"] if i % 2 == 0 else ["bulk", "row by row"]
        for method in order:
            secs = load(args.db, args.database, district.layers, bulk=method == "bulk")
            runs[method].append(secs)
            console.print(f"run {i + 1}/{args.runs} {method}: {sum(secs.values()):.1f} s")
    table = Table(title=f"loading into PostGIS, median of {args.runs} run(s), seconds")
    table.add_column("layer")
    table.add_column("rows", justify="right")
    for method in runs:
        table.add_column(method, justify="right")
    medians = {
        m: {n: statistics.median(r[n] for r in rs) for n in district.layers}
        for m, rs in runs.items()
    }
    for name, frame in district.layers.items():
        table.add_row(name, f"{len(frame):,}", *(f"{medians[m][name]:.1f}" for m in runs))
    totals = {m: statistics.median(sum(r.values()) for r in rs) for m, rs in runs.items()}
    table.add_row("all", "", *(f"{totals[m]:.1f}" for m in runs))
    console.print(table)
    console.print(
        f"ratio row by row / bulk (median total): {totals['row by row'] / totals['bulk']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
