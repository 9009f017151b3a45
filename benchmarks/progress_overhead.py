"""What progress costs: a generated district loaded into PostGIS without progress, with plain
lines (no terminal) and with Rich bars (a terminal), and the steps each load reports.

On a shared machine the load times vary by more than the progress costs, so the script
also times the reports themselves (microseconds each, times the reports of one load).

Each run loads the same frames through ``Store.write_layers`` (the bulk path for tables of
100,000 rows or more) into a new, empty database. Prints seconds per mode, medians over
``--runs``, and every step the load reports with its time and whether it advances.

    .venv/bin/python benchmarks/progress_overhead.py                 # 1/20 of the city
    .venv/bin/python benchmarks/progress_overhead.py --fraction 0.01 --runs 1
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from load_layers import scratch_database  # this folder's scratch PostGIS database
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridgeo.cli.progress import LineProgress
from gridgeo.store import open_store
from gridgeo.synth import SCALES, generate

SIZES = ("communities", "grids", "buildings", "households", "visits", "problems")


class Recorder:
    """Every step's first and last report, for the table of steps."""

    def __init__(self, inner: Callable[[str, int, int], None] | None) -> None:
        self.inner = inner
        self.steps: dict[str, list[Any]] = {}
        self.calls = 0

    def __call__(self, description: str, done: int, total: int) -> None:
        self.calls += 1
        key = description.split(": ", 1)[0]
        now = time.perf_counter()
        step = self.steps.setdefault(key, [now, now, 0, total, set()])
        step[1], step[2], step[3] = now, done, total
        step[4].add(done)
        if self.inner is not None:
            self.inner(description, done, total)


def _reporter(mode: str) -> tuple[AbstractContextManager[Any], Callable | None]:
    """The context to run in and the callback of a mode."""
    if mode == "none":
        return nullcontext(), None
    if mode == "lines":
        lines = LineProgress(Console(file=io.StringIO(), width=120))
        return lines.running(), lines
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn())
    sink = Console(file=io.StringIO(), force_terminal=True, width=120)
    bar = Progress(*columns, TimeElapsedColumn(), console=sink)
    tasks: dict[str, Any] = {}

    def update(description: str, done: int, total: int) -> None:
        key = description.split(": ", 1)[0]
        if key not in tasks:
            tasks[key] = bar.add_task(description, total=total)
        bar.update(tasks[key], completed=done, total=total, description=description)

    return bar, update


def per_call(mode: str, n: int = 20_000) -> float:
    """Seconds one progress report costs in ``mode``, over ``n`` reports of one step."""
    context, callback = _reporter(mode)
    assert callback is not None
    with context:
        started = time.perf_counter()
        for i in range(n):
            callback("storing visits", i, n)
        return (time.perf_counter() - started) / n


def load(admin_url: str, database: str, layers: dict, mode: str) -> tuple[float, Recorder]:
    context, callback = _reporter(mode)
    recorder = Recorder(callback)
    with scratch_database(admin_url, database) as url:
        store = open_store(url)
        try:
            started = time.perf_counter()
            with context:
                store.write_layers(layers, progress=recorder if mode != "none" else None)
            seconds = time.perf_counter() - started
        finally:
            store.close()
    return seconds, recorder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.05, help="share of the benchmark city")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="gridgeo_progress_bench")
    args = parser.parse_args()
    console = Console()
    sizes = {k: max(2, int(SCALES["city"][k] * args.fraction)) for k in SIZES}
    district = generate(sizes, seed=1)
    console.print("district: " + ", ".join(f"{len(f):,} {n}" for n, f in district.layers.items()))
    modes = ("none", "lines", "bars")
    runs: dict[str, list[float]] = {m: [] for m in modes}
    recorded = None
    for i in range(args.runs):
        for mode in modes[i % 3 :] + modes[: i % 3]:
            seconds, recorder = load(args.db, args.database, district.layers, mode)
            runs[mode].append(seconds)
            recorded = recorder if mode == "bars" else recorded
            console.print(f"run {i + 1}/{args.runs} {mode}: {seconds:.1f} s")
    table = Table(title=f"loading into PostGIS, median of {args.runs} run(s)")
    for col in ("progress", "seconds", "vs none"):
        table.add_column(col, justify="left" if col == "progress" else "right")
    base = statistics.median(runs["none"])
    for mode in modes:
        median = statistics.median(runs[mode])
        table.add_row(mode, f"{median:.2f}", f"{100 * (median / base - 1):+.1f} %")
    console.print(table)
    calls = recorded.calls if recorded else 0
    cost = Table(title=f"cost of the {calls:,} progress reports of one load")
    for col in ("progress", "µs per report", "ms per load"):
        cost.add_column(col, justify="left" if col == "progress" else "right")
    for mode in ("lines", "bars"):
        seconds = per_call(mode)
        cost.add_row(mode, f"{seconds * 1e6:.1f}", f"{seconds * calls * 1e3:.1f}")
    console.print(cost)
    steps = Table(title="steps of the last run with bars")
    for col in ("step", "seconds", "last", "distinct counts"):
        steps.add_column(col, justify="left" if col == "step" else "right")
    for key, (first, last, done, total, seen) in (recorded.steps if recorded else {}).items():
        steps.add_row(key, f"{last - first:.2f}", f"{done:,}/{total:,}", str(len(seen)))
    console.print(steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
