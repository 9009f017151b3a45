"""The whole `gridgeo check` on the benchmark city: the wire's floor, load, check, and SQL.

The targets, measured on the generated benchmark city (10,000 grids, 1,000,000
buildings, 5,000,000 households, 10,000,000 visits), for one run that measures

0. ``floor``: what PostgreSQL itself costs to hand over the check's inputs, a
   server-side ``COPY (SELECT …) TO '/dev/null' (FORMAT binary)`` of the columns the
   check reads of each table (references as their integer keys; no client, no network,
   no conversion), printed first;
1. ``load``: reading every layer from the store (``inputs_from_store``), the floor any
   check on the store pays; timed per layer as well;
2. ``check``: ``run_check`` on the loaded inputs, timed per step by the step names its
   progress callback is given, and ``end-to-end`` = load + check;
3. ``SQL``: the building → grid (largest overlap, ``DISTINCT ON`` + ``ST_Intersection``,
   with the ``ST_CoveredBy`` short-cut an analyst adds: a building inside a grid overlaps
   it by its own area) and unassigned-building queries a GIS analyst would write in PostGIS, results fetched
   to the client, in a fresh connection and a transaction that is rolled back;
4. ``pair``: gridgeo's way to the same two results only (read grids, buildings,
   households, assignments and members; ``building_grid`` + ``unassigned_buildings``),
   the like-for-like comparison with the SQL;

with the targets: end-to-end within 2.5x the floor, gridgeo's way to the SQL's two
results at least 3x faster than the SQL, peak memory under 4 GB. The SQL runs first in each run, so the peak RSS it reports
is that of the load and the check (the SQL's memory is in the server).

Run it::

    .venv/bin/python benchmarks/check_city.py --runs 1     # gridgeo_city, one run
    .venv/bin/python benchmarks/check_city.py --skip-sql   # load and check only

The database is only read: nothing is written to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from gridgeo.check import STEPS, Inputs, inputs_from_store, run_check
from gridgeo.check.inputs import CHECK_READS
from gridgeo.layers import LAYER_ORDER
from gridgeo.store import open_store

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/gridgeo_city"
DEFAULT_AS_OF = "2025-03-03"  # the benchmark city's period start
FLOOR_TARGET = 2.5  # end-to-end / floor at most
SQL_TARGET = 3.0  # SQL / gridgeo's same two results at least
RSS_TARGET_MB = 4 * 1024

# The analyst's building -> grid: every intersecting pair's overlap, the largest kept.
BUILDING_GRID_SQL = """
CREATE TEMP TABLE bench_building_grid AS
SELECT DISTINCT ON (b.id)
       b.id AS building_id, g.id AS grid_id,
       CASE WHEN ST_CoveredBy(b.geom, g.geom) THEN ST_Area(b.geom)
            ELSE ST_Area(ST_Intersection(b.geom, g.geom)) END AS area
FROM buildings b
JOIN grids g ON ST_Intersects(b.geom, g.geom)
ORDER BY b.id, area DESC
"""
BUILDING_GRID_FETCH = "SELECT building_id, grid_id, area FROM bench_building_grid"

# Unassigned buildings at as_of (R6): no active member_building assignment of a
# pairing member (role 'member'), and not every household (if any) covered by an active
# member_household assignment of one. Written with hash-joinable CTEs and NOT EXISTS:
# the form with correlated NOT EXISTS per household gets a nested-loop plan that does
# not finish when the tables have no statistics (never ANALYZEd).
UNASSIGNED_SQL = """
WITH active AS MATERIALIZED (
    SELECT a.kind, a.building_id, a.household_id
    FROM assignments a JOIN members m ON m.id = a.member_id
    WHERE a.kind IN ('member_building', 'member_household') AND m.role = 'member'
      AND a.valid_from <= %(as_of)s AND (a.valid_to IS NULL OR a.valid_to >= %(as_of)s)
), covered_households AS (
    SELECT DISTINCT household_id FROM active WHERE kind = 'member_household'
), per_building AS (
    SELECT h.building_id, count(*) AS n, count(c.household_id) AS n_covered
    FROM households h LEFT JOIN covered_households c ON c.household_id = h.id
    GROUP BY h.building_id
)
SELECT b.id, b.code
FROM buildings b
LEFT JOIN per_building p ON p.building_id = b.id
WHERE NOT EXISTS (
        SELECT 1 FROM active x WHERE x.kind = 'member_building' AND x.building_id = b.id)
  AND (p.n IS NULL OR p.n_covered < p.n)
"""

console = Console(highlight=False, width=None if sys.stdout.isatty() else 110)


def libpq_url(url: str) -> str:
    """The URL as libpq takes it (no ``+driver``)."""
    parsed = sa.make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return 0.0


def floor_queries() -> dict[str, str]:
    """The SELECT of each table the check reads, of the columns it reads.

    The columns of :data:`gridgeo.check.CHECK_READS` (each layer's, or all but personal
    ones), references as the integer keys they are stored as, the geometry where the
    check reads it, and the row's key.
    """
    from gridgeo.layers import LAYERS

    queries = {}
    for name, (columns, geometry) in CHECK_READS.items():
        spec = LAYERS[name]
        wanted = [
            f for f in spec.fields
            if (columns is None and not f.personal) or f.name == "code" or f.name in (columns or ())
        ]  # fmt: skip
        names = ["id"] + [f"{f.name}_id" if f.ref else (f.column or f.name) for f in wanted]
        if geometry and spec.geometry:
            names.append("geom")
        listed = ", ".join(f'"{c}"' for c in names)
        queries[name] = f'SELECT {listed} FROM "{spec.table}"'
    return queries


def run_floor(url: str) -> dict[str, float]:
    """Seconds of a server-side binary COPY of each input to ``/dev/null``.

    Needs a superuser (or ``pg_write_server_files``): the server writes the file.
    """
    seconds: dict[str, float] = {}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for name, query in floor_queries().items():
            t = time.perf_counter()
            conn.execute(f"COPY ({query}) TO '/dev/null' (FORMAT binary)")
            seconds[name] = time.perf_counter() - t
    return seconds


def run_sql(url: str, as_of: dt.date) -> dict[str, float | int]:
    """The analyst's two queries in a fresh connection, rolled back; seconds and rows."""
    out: dict[str, float | int] = {}
    t0 = time.perf_counter()
    with psycopg.connect(libpq_url(url)) as conn:
        try:
            with conn.cursor() as cur:
                t = time.perf_counter()
                cur.execute(BUILDING_GRID_SQL)
                cur.execute(BUILDING_GRID_FETCH)
                out["building_grid_rows"] = len(cur.fetchall())
                out["building_grid_seconds"] = time.perf_counter() - t
                t = time.perf_counter()
                cur.execute(UNASSIGNED_SQL, {"as_of": as_of})
                out["unassigned_rows"] = len(cur.fetchall())
                out["unassigned_seconds"] = time.perf_counter() - t
        finally:
            conn.rollback()
    out["seconds"] = time.perf_counter() - t0
    return out


def run_pair(store: Any, as_of: dt.date) -> dict[str, float | int]:
    """gridgeo's own way to the SQL's two results, end to end: read what they need, compute."""
    from gridgeo.analysis import building_grid, unassigned_buildings

    t = time.perf_counter()
    grids = store.read_layer("grids", columns=["community"])
    buildings = store.read_layer("buildings", columns=[])
    households = store.read_layer("households", columns=["building"], geometry=False)
    assignments = store.read_layer("assignments", geometry=False)
    members = store.read_layer("members", columns=["role"], geometry=False)
    bg = building_grid(buildings, grids)
    unassigned = unassigned_buildings(
        buildings, households, assignments, as_of=as_of, building_grid=bg, grids=grids,
        members=members,
    )  # fmt: skip
    return {
        "seconds": time.perf_counter() - t,
        "building_grid_rows": len(bg),
        "unassigned_rows": len(unassigned),
    }


def load_inputs(store: Any) -> tuple[Inputs, dict[str, float]]:
    """``inputs_from_store(store)``, with each layer's ``read_layer`` call timed."""
    per_layer: dict[str, float] = {}
    read_layer = store.read_layer

    def timed_read(layer: str, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return read_layer(layer, *args, **kwargs)
        finally:
            per_layer[layer] = per_layer.get(layer, 0.0) + time.perf_counter() - t

    store.read_layer = timed_read
    try:
        return inputs_from_store(store), per_layer
    finally:
        del store.read_layer  # back to the class's method


class StepClock:
    """run_check's progress callback: the seconds of each step, by the step names it is told.

    run_check calls ``progress("checking: <step>", done, total)`` as each step starts
    and ``progress("checking", total, total)`` at the end, so each step lasts until
    the next call.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.first: float | None = None
        self.last: float | None = None
        self._running: str | None = None

    def __call__(self, description: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if self._running is not None and self.last is not None:
            self.seconds[self._running] = self.seconds.get(self._running, 0.0) + now - self.last
        self.first = now if self.first is None else self.first
        self.last = now
        _, _, name = description.partition(": ")
        self._running = name or None


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB, help="PostGIS database URL (only read)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs")
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=dt.date.fromisoformat(DEFAULT_AS_OF),
        help=f"the check's date (default {DEFAULT_AS_OF}, the city's period start)",
    )
    parser.add_argument("--skip-sql", action="store_true", help="do not time the PostGIS SQL")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be positive")

    store = open_store(args.db, create=False)  # read only: never create or upgrade
    counts = store.counts()
    console.print(f"store: {store.url}")
    console.print(
        "city: " + ", ".join(f"{n:,} {name}" for name, n in counts.items() if n), soft_wrap=True
    )
    figures: dict[str, Any] = {
        "db": store.url,
        "runs": args.runs,
        "as_of": args.as_of.isoformat(),
        "counts": counts,
        "python": platform.python_version(),
    }
    times: dict[str, list[float]] = {
        "floor": [],
        "load": [],
        "check": [],
        "end_to_end": [],
        "sql": [],
        "pair": [],
    }
    layer_times: dict[str, list[float]] = {name: [] for name in LAYER_ORDER}
    step_times: dict[str, list[float]] = {}
    sql_runs: list[dict[str, float | int]] = []
    result_rows: dict[str, int] = {}
    rss_after: dict[str, float] = {}
    floor_layers: dict[str, list[float]] = {name: [] for name in CHECK_READS}
    for run in range(args.runs):
        floor = run_floor(args.db)
        for name, secs in floor.items():
            floor_layers[name].append(secs)
        times["floor"].append(sum(floor.values()))
        console.print(
            f"run {run + 1}/{args.runs}: floor (server-side binary COPY of the inputs to "
            f"/dev/null) {times['floor'][-1]:.2f} s"
        )
        if not args.skip_sql:
            sql = run_sql(args.db, args.as_of)
            sql_runs.append(sql)
            times["sql"].append(float(sql["seconds"]))
            rss_after["sql"] = max(rss_after.get("sql", 0.0), current_rss_mb())
            gc.collect()
            pair = run_pair(store, args.as_of)
            times["pair"].append(float(pair["seconds"]))
        gc.collect()
        t0 = time.perf_counter()
        inputs, per_layer = load_inputs(store)
        load = time.perf_counter() - t0
        rss_after["load"] = max(rss_after.get("load", 0.0), current_rss_mb())
        for name, secs in per_layer.items():
            layer_times[name].append(secs)
        clock = StepClock()
        t1 = time.perf_counter()
        results = run_check(inputs, as_of=args.as_of, progress=clock)
        check = time.perf_counter() - t1
        steps = dict(clock.seconds)
        if clock.first is not None and clock.last is not None:
            # run_check's own work around the steps (the inputs handed over, the results)
            steps["(outside the steps)"] = check - (clock.last - clock.first)
        rss_after["check"] = max(rss_after.get("check", 0.0), current_rss_mb())
        for name, secs in steps.items():
            step_times.setdefault(name, []).append(secs)
        result_rows = {name: len(frame) for name, frame in results.items()}
        times["load"].append(load)
        times["check"].append(check)
        times["end_to_end"].append(load + check)
        line = f"load {load:.1f} s, check {check:.1f} s, end-to-end {load + check:.1f} s"
        if not args.skip_sql:
            line += (
                f", SQL {sql_runs[-1]['seconds']:.1f} s (building→grid "
                f"{sql_runs[-1]['building_grid_seconds']:.1f} s, unassigned "
                f"{sql_runs[-1]['unassigned_seconds']:.1f} s)"
            )
        console.print(f"run {run + 1}/{args.runs}: {line}")
        del inputs, results
        gc.collect()
    store.close()

    medians = {name: _median(ts) for name, ts in times.items() if ts}
    peak = peak_rss_mb()
    table = Table(
        title=f"gridgeo check on the benchmark city, {args.runs} run(s), as of {args.as_of}"
    )
    for col in ("measure", "median s", "min s", "max s", "vs floor"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    labels = {
        "floor": "floor (server-side COPY of the inputs to /dev/null)",
        "load": "load (inputs_from_store)",
        "check": "check (run_check)",
        "end_to_end": "end-to-end (load + check)",
        "sql": "PostGIS SQL (building→grid + unassigned)",
        "pair": "gridgeo building→grid + unassigned (read + compute)",
    }
    for name, ts in times.items():
        if ts:
            table.add_row(
                labels[name],
                f"{medians[name]:.2f}",
                f"{min(ts):.2f}",
                f"{max(ts):.2f}",
                f"{medians[name] / medians['floor']:.2f}x",
            )
    console.print(table)

    detail = Table(title="median seconds per layer read and per check step")
    detail.add_column("part")
    detail.add_column("median s", justify="right")
    detail.add_column("rows", justify="right")
    for name, ts in floor_layers.items():
        detail.add_row(f"floor {name}", f"{_median(ts):.2f}", f"{counts.get(name, 0):,}")
    for name, ts in layer_times.items():
        if ts:  # the layers the check reads
            detail.add_row(f"read {name}", f"{_median(ts):.2f}", f"{counts.get(name, 0):,}")
    declared = {step.name: step for step in STEPS}
    for name, ts in sorted(step_times.items(), key=lambda kv: -_median(kv[1])):
        step = declared.get(name)
        rows = (
            ""
            if step is None or step.internal
            else sum(result_rows.get(o, 0) for o in step.outputs)
        )
        label = f"check {name}" + (" (internal)" if step is not None and step.internal else "")
        detail.add_row(label, f"{_median(ts):.2f}", f"{rows:,}" if rows != "" else "")
    if sql_runs:
        for part in ("building_grid", "unassigned"):
            detail.add_row(
                f"SQL {part}",
                f"{_median([float(r[f'{part}_seconds']) for r in sql_runs]):.2f}",
                f"{int(sql_runs[-1][f'{part}_rows']):,}",
            )
    console.print(detail)

    missed: list[str] = []
    floor_ratio = medians["end_to_end"] / medians["floor"]
    console.print(
        f"ratio end-to-end / floor (median): {floor_ratio:.2f}x (target: <= {FLOOR_TARGET:g}x)"
        + ("" if floor_ratio <= FLOOR_TARGET else "  MISSED")
    )
    if floor_ratio > FLOOR_TARGET:
        missed.append(f"end-to-end / floor is {floor_ratio:.2f}x, above {FLOOR_TARGET:g}x")
    console.print(
        f"ratio check / load (median): {medians['check'] / medians['load']:.2f}x (not a target)"
    )
    sql_ratio = None
    if "sql" in medians:
        sql_ratio = medians["sql"] / medians["pair"]
        console.print(
            f"ratio SQL / gridgeo on the same two results, read included (median): "
            f"{sql_ratio:.2f}x (target: >= {SQL_TARGET:g}x)"
            + ("" if sql_ratio >= SQL_TARGET else "  MISSED")
        )
        if sql_ratio < SQL_TARGET:
            missed.append(
                f"SQL / gridgeo's same two results is {sql_ratio:.2f}x, below {SQL_TARGET:g}x"
            )
        console.print(
            f"ratio SQL / end-to-end (median): {medians['sql'] / medians['end_to_end']:.2f}x"
            " (the SQL answers two of the check's questions; not a target)"
        )
    else:
        console.print("ratio SQL / gridgeo: not measured (--skip-sql)")
    console.print(
        f"peak RSS: {peak:,.0f} MiB (target: < {RSS_TARGET_MB:,} MiB)"
        + ("" if peak < RSS_TARGET_MB else "  MISSED")
        + f"; RSS after SQL {rss_after.get('sql', 0):,.0f}, after load "
        f"{rss_after['load']:,.0f}, after check {rss_after['check']:,.0f} MiB"
    )
    if peak >= RSS_TARGET_MB:
        missed.append(f"peak RSS is {peak:,.0f} MiB, not under {RSS_TARGET_MB:,} MiB")
    if missed:
        console.print("targets missed: " + "; ".join(missed))
    else:
        console.print("all targets met")

    figures.update(
        {
            "seconds": times,
            "median_seconds": medians,
            "layer_seconds": layer_times,
            "step_seconds": step_times,
            "sql": sql_runs,
            "result_rows": result_rows,
            "floor_layer_seconds": floor_layers,
            "ratio_end_to_end_over_floor": floor_ratio,
            "ratio_sql_over_pair": sql_ratio,
            "peak_rss_mb": peak,
            "rss_mb": rss_after,
            "targets_missed": missed,
        }
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
        console.print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
