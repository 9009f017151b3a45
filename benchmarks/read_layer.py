"""Read 1,000,000 buildings from PostGIS: gridgeo's binary path vs geopandas.read_postgis.

The target is that reading a layer from PostGIS into a GeoDataFrame be
at least 3x faster than ``geopandas.read_postgis`` on the same table, measured side
by side in one run. This script

1. generates N building polygons (vectorised numpy + shapely) around Shanghai,
2. loads them with ``store.write_layer`` (COPY) and reports rows/s,
3. times, alternating the order each run, ``geopandas.read_postgis`` with a
   SQLAlchemy engine, ``store.read_layer("buildings")`` and a bare floor (psycopg
   binary cursor + ``shapely.from_wkb``, no frame),
4. checks that the readers return the same rows and geometries, and prints medians,
   the ratio read_postgis / gridgeo and the peak RSS.

Run it with::

    .venv/bin/python benchmarks/read_layer.py            # 1,000,000 buildings, 5 runs
    .venv/bin/python benchmarks/read_layer.py --reuse    # keep an already loaded table
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridgeo.layers import LAYERS
from gridgeo.store import open_store
from gridgeo.store.base import gc_paused

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/gridgeo_bench"
COLUMNS = ["code", "address", "units", "households", "floors"]
READ_POSTGIS_SQL = "SELECT code, address, units, households, floors, geom FROM buildings"
FLOOR_SQL = "SELECT code, address, units, households, floors, ST_AsBinary(geom) FROM buildings"
SAMPLE = 500

console = Console(highlight=False, width=None if sys.stdout.isatty() else 110)

# -- synthetic buildings --------------------------------------------------------------

LON0, LAT0 = 121.44, 31.22  # Xuhui, Shanghai
HALF_SIDE_M = 15_000.0  # a 30 x 30 km square
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(LAT0))

ROADS = np.array(
    [
        "漕溪北路",
        "天钥桥路",
        "肇嘉浜路",
        "衡山路",
        "宛平南路",
        "龙华中路",
        "田林路",
        "虹漕路",
        "钦州路",
        "凯旋路",
        "中山西路",
        "宜山路",
        "桂林路",
        "柳州路",
        "龙吴路",
        "华山路",
    ],
    dtype=object,
)
DISTRICTS = np.array(["徐汇区", "长宁区", "黄浦区", "静安区", "闵行区"], dtype=object)


def _templates(kind: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Closed rings of ``m`` footprints of one shape, in a unit square centred on 0."""
    a = rng.uniform(0.3, 0.7, m)[:, None]  # notch positions
    b = rng.uniform(0.3, 0.7, m)[:, None]
    lo, hi = -0.5 * np.ones((m, 1)), 0.5 * np.ones((m, 1))
    x1, y1 = a - 0.5, b - 0.5
    if kind == 0:  # rectangle: 5 coordinates
        xs = [lo, hi, hi, lo, lo]
        ys = [lo, lo, hi, hi, lo]
    elif kind == 1:  # L shape: 7 coordinates
        xs = [lo, hi, hi, x1, x1, lo, lo]
        ys = [lo, lo, y1, y1, hi, hi, lo]
    elif kind == 2:  # U shape: 9 coordinates
        q = a / 2  # half width of the courtyard
        xs = [lo, hi, hi, q, q, -q, -q, lo, lo]
        ys = [lo, lo, hi, hi, y1, y1, hi, hi, lo]
    else:  # plus / cross shape: 13 coordinates
        p, r = a / 2, b / 2
        xs = [-p, p, p, hi, hi, p, p, -p, -p, lo, lo, -p, -p]
        ys = [lo, lo, -r, -r, r, r, hi, hi, r, r, -r, -r, lo]
    return np.stack([np.hstack(xs), np.hstack(ys)], axis=-1)


def make_buildings(n: int, seed: int = 20240601) -> gpd.GeoDataFrame:
    """N building footprints (MultiPolygon, EPSG:4326) as a ``buildings`` layer frame."""
    rng = np.random.default_rng(seed)
    cx = rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, n)
    cy = rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, n)
    width = rng.uniform(10.0, 60.0, n)
    depth = rng.uniform(10.0, 60.0, n)
    angle = np.where(rng.random(n) < 0.35, rng.uniform(0.0, np.pi, n), 0.0)
    kind = rng.choice(4, size=n, p=[0.55, 0.25, 0.12, 0.08])
    polys = np.empty(n, dtype=object)
    for k in range(4):
        idx = np.flatnonzero(kind == k)
        if not len(idx):
            continue
        ring = _templates(k, len(idx), rng)  # (m, vertices, 2) in the unit square
        x = ring[..., 0] * width[idx, None]
        y = ring[..., 1] * depth[idx, None]
        cos, sin = np.cos(angle[idx])[:, None], np.sin(angle[idx])[:, None]
        xr, yr = x * cos - y * sin, x * sin + y * cos
        lon = LON0 + (cx[idx, None] + xr) / M_PER_DEG_LON
        lat = LAT0 + (cy[idx, None] + yr) / M_PER_DEG_LAT
        coords = np.round(np.stack([lon, lat], axis=-1), 7)  # ~1 cm, like surveyed data
        polys[idx] = shapely.polygons(coords)
    geoms = shapely.multipolygons(polys[:, None])

    numbers = np.arange(1, n + 1)
    codes = [f"B{i:07d}" for i in numbers]
    road = ROADS[rng.integers(0, len(ROADS), n)]
    district = DISTRICTS[rng.integers(0, len(DISTRICTS), n)]
    lane = rng.integers(1, 2000, n)
    house = rng.integers(1, 60, n)
    address = np.array(
        [
            f"上海市{d}{r}{la}弄{h}号"
            for d, r, la, h in zip(district, road, lane, house, strict=True)
        ],
        dtype=object,
    )
    address[rng.random(n) < 0.03] = None
    floors = rng.integers(1, 34, n)
    units = rng.integers(1, 7, n)
    households = units * floors * rng.integers(1, 5, n)

    def with_gaps(values: np.ndarray, share: float) -> pd.Series:
        ser = pd.Series(values, dtype="Int64")
        ser[rng.random(n) < share] = pd.NA
        return ser

    frame = pd.DataFrame(
        {
            "code": pd.Series(codes, dtype=object),
            "address": pd.Series(address, dtype=object),
            "units": with_gaps(units, 0.02),
            "households": with_gaps(households, 0.05),
            "floors": with_gaps(floors, 0.02),
        }
    )
    assert list(frame.columns) == LAYERS["buildings"].field_names
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


# -- the readers ----------------------------------------------------------------------


def sqlalchemy_url(url: str) -> str:
    """The URL with the psycopg 3 driver, as an analyst would pass to create_engine."""
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL as libpq takes it (no ``+driver``)."""
    parsed = sa.make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def read_floor(url: str) -> tuple[list[tuple[Any, ...]], np.ndarray]:
    """The least work that brings the same data into Python: rows + decoded geometry.

    No frame is built, and the cyclic GC is paused, so no reader can do much better.
    """
    with gc_paused():
        with psycopg.connect(libpq_url(url)) as conn, conn.cursor(binary=True) as cur:
            cur.execute(FLOOR_SQL)
            rows = cur.fetchall()
        wkb = np.fromiter((r[5] for r in rows), dtype=object, count=len(rows))
        return rows, shapely.from_wkb(wkb)


def read_adbc(url: str) -> gpd.GeoDataFrame:
    """The same frame as ``read_layer`` through ADBC (Arrow) instead of psycopg rows."""
    import adbc_driver_postgresql.dbapi as adbc  # optional: pip install adbc-driver-postgresql
    import pyarrow as pa

    ints = {pa.int16(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype(), pa.int64(): pd.Int64Dtype()}
    with gc_paused():
        with adbc.connect(libpq_url(url)) as conn, conn.cursor() as cur:
            cur.execute(f"{FLOOR_SQL} ORDER BY id")
            table = cur.fetch_arrow_table()
        cols = {}
        for name, col in zip(COLUMNS, table.columns, strict=False):
            if pa.types.is_integer(col.type):
                cols[name] = col.to_pandas(types_mapper=ints.get)
            else:
                cols[name] = pd.Series(col.to_numpy(zero_copy_only=False), dtype=object)
        geoms = shapely.from_wkb(table.column(len(COLUMNS)).to_numpy(zero_copy_only=False))
        frame = pd.DataFrame(cols)
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


class RssSampler:
    """Highest resident set size seen while a block runs (sampled every 10 ms, Linux)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss() -> int:
        try:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * resource.getpagesize()
        except OSError:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> RssSampler:
        self.start = self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def check_same(
    name: str, got: gpd.GeoDataFrame, want: gpd.GeoDataFrame, n: int, rng: np.random.Generator
) -> None:
    """Both frames have n rows and equal attributes and WKB on a random sample of codes."""
    if len(got) != n or len(want) != n:
        raise SystemExit(f"row counts differ: {name} {len(got)}, read_postgis {len(want)}, n={n}")
    sample = rng.choice(n, size=min(SAMPLE, n), replace=False)
    codes = got["code"].to_numpy()[sample]
    a = got.iloc[sample].set_index("code")
    b = want.set_index("code").loc[codes]
    if not shapely.to_wkb(a.geometry.to_numpy()).tolist() == (
        shapely.to_wkb(b.geometry.to_numpy()).tolist()
    ):
        raise SystemExit(f"{name}: geometries differ from read_postgis on the sampled rows")
    for col in COLUMNS[1:]:
        # read_postgis gives float64 with NaN for a nullable integer column: compare values.
        if [_plain(v) for v in a[col].tolist()] != [_plain(v) for v in b[col].tolist()]:
            raise SystemExit(f"{name}: column {col!r} differs from read_postgis on sampled rows")


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return int(value)
    return value


# -- main -----------------------------------------------------------------------------


def load(store: Any, frame: gpd.GeoDataFrame) -> float:
    """Empty the table, write the frame through ``write_layer`` (COPY); return seconds."""
    with store.engine.begin() as conn:
        conn.execute(sa.text('TRUNCATE "buildings" RESTART IDENTITY CASCADE'))
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("writing buildings", total=len(frame))

        def progress(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)

        t0 = time.perf_counter()
        result = store.write_layer("buildings", frame, progress=progress)
        elapsed = time.perf_counter() - t0
        bar.update(task, description="written (COPY + upsert committed)")
    if result.inserted != len(frame):
        raise SystemExit(f"expected {len(frame)} inserted rows, got {result}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of buildings")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each reader")
    parser.add_argument("--db", default=DEFAULT_DB, help="PostGIS database URL")
    parser.add_argument(
        "--reuse", action="store_true", help="skip loading if the table already has n rows"
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the bare psycopg floor")
    parser.add_argument(
        "--adbc",
        action="store_true",
        help="also time an ADBC (Arrow) reader; needs adbc-driver-postgresql installed",
    )
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.n < 1 or args.runs < 1:
        parser.error("--n and --runs must be positive")

    figures: dict[str, Any] = {"n": args.n, "runs": args.runs, "python": platform.python_version()}
    store = open_store(args.db)
    console.print(f"store: {store.url}")
    existing = store.counts()["buildings"]
    if args.reuse and existing == args.n:
        console.print(f"reusing the {existing:,} buildings already stored")
        figures["load_seconds"] = None
    else:
        t0 = time.perf_counter()
        frame = make_buildings(args.n)
        gen = time.perf_counter() - t0
        console.print(f"generated {args.n:,} buildings in {gen:.1f} s")
        figures["generate_seconds"] = gen
        secs = load(store, frame)
        figures["load_seconds"] = secs
        figures["load_rows_per_second"] = args.n / secs
        console.print(f"loaded {args.n:,} rows in {secs:.1f} s ({args.n / secs:,.0f} rows/s)")
        del frame
        gc.collect()
    # VACUUM sets hint bits and the visibility map, so no reader pays for them.
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text('VACUUM ANALYZE "buildings"'))
    figures["rss_before_reads_mb"] = peak_rss_mb()

    engine = sa.create_engine(sqlalchemy_url(args.db))
    readers: dict[str, Callable[[], Any]] = {
        "read_postgis": lambda: gpd.read_postgis(READ_POSTGIS_SQL, engine, geom_col="geom"),
        "gridgeo": lambda: store.read_layer("buildings"),
    }
    if not args.no_floor:
        readers["floor"] = lambda: read_floor(args.db)
    if args.adbc:
        readers["adbc"] = lambda: read_adbc(args.db)

    times: dict[str, list[float]] = {name: [] for name in readers}
    growth: dict[str, float] = dict.fromkeys(readers, 0.0)
    rng = np.random.default_rng(7)
    for run in range(args.runs):
        order = list(readers) if run % 2 == 0 else list(reversed(readers))
        results: dict[str, Any] = {}
        for name in order:
            gc.collect()
            with RssSampler() as rss:
                t0 = time.perf_counter()
                out = readers[name]()
                times[name].append(time.perf_counter() - t0)
            growth[name] = max(growth[name], rss.growth_mb)
            if run == 0 and name != "floor":
                results[name] = out
            elif name == "floor" and len(out[0]) != args.n:
                raise SystemExit(f"floor read {len(out[0])} rows, expected {args.n}")
            del out
        line = ", ".join(f"{name} {times[name][-1]:.2f} s" for name in order)
        console.print(f"run {run + 1}/{args.runs}: {line}")
        if run == 0:
            want = results["read_postgis"].rename_geometry("geometry")
            for name in results:
                if name != "read_postgis":
                    check_same(name, results[name], want, args.n, rng)
            console.print(
                f"check: {', '.join(results)} return {args.n:,} rows each; attributes and "
                f"WKB agree on {min(SAMPLE, args.n)} random rows"
            )
        del results
    engine.dispose()
    store.close()

    table = Table(title=f"reading {args.n:,} buildings, {args.runs} run(s) each")
    for col in ("method", "median s", "min s", "max s", "vs gridgeo", "RSS growth MiB"):
        table.add_column(col, justify="right" if col != "method" else "left")
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ts in times.items():
        table.add_row(
            name,
            f"{medians[name]:.2f}",
            f"{min(ts):.2f}",
            f"{max(ts):.2f}",
            f"{medians[name] / medians['gridgeo']:.2f}x",
            f"{growth[name]:,.0f}",
        )
    console.print(table)
    ratio = medians["read_postgis"] / medians["gridgeo"]
    peak = peak_rss_mb()
    console.print(f"ratio read_postgis / gridgeo (median): {ratio:.2f}x (requirement: >= 3x)")
    console.print(f"peak RSS: {peak:,.0f} MiB")
    figures.update(
        {
            "seconds": times,
            "median_seconds": medians,
            "ratio_read_postgis_over_gridgeo": ratio,
            "peak_rss_mb": peak,
            "rss_growth_mb": growth,
        }
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
        console.print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
