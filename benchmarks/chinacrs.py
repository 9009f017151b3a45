"""WGS-84 ↔ GCJ-02 ↔ BD-09 on 1,000,000 points: gridgeo.chinacrs against prcoords' loop.

This script measures, in one run (medians of ``--runs``):

1. each of the six conversions of ``gridgeo.chinacrs`` on N points (default 1,000,000)
   spread uniformly over China's mainland rectangle (73.5–135 E, 18–53.5 N, seeded);
2. ``convert_geometry`` on N/10 building-sized polygons of 10 coordinates each (N
   vertices), WGS-84 → GCJ-02 and BD-09 → WGS-84;
3. what an analyst would otherwise write: prcoords (the reference implementation, one
   point per call in plain Python) in a loop over ``--reference-n`` points, scaled to N;
4. accuracy: the round trips WGS → GCJ → WGS and WGS → BD → WGS on the N points, and on
   the reference points the error of prcoords' one-step inverse (``gcj_wgs``) and its
   iterative one (``gcj_wgs_bored``), all as geodesic distances on the WGS-84 ellipsoid.

Run it with::

    .venv/bin/python benchmarks/chinacrs.py                      # 1,000,000 points, 3 runs
    .venv/bin/python benchmarks/chinacrs.py --n 20000 --runs 1   # a second
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import prcoords
import shapely
from pyproj import Geod

from gridgeo import chinacrs

GEOD = Geod(ellps="WGS84")
MAINLAND = (73.5, 18.0, 135.0, 53.5)


def timed(func: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``runs`` calls (numpy runs on one core here,
    so on a busy machine the CPU time is the steadier figure)."""
    wall, cpu = [], []
    for _ in range(runs):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu)


def polygons(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """One 9-sided polygon of about 30 m (10 coordinates, closed) around every 10th point."""
    centres = np.column_stack([lon[::10], lat[::10]])
    angles = np.linspace(0, 2 * np.pi, 10)
    ring = 0.0003 * np.column_stack([np.cos(angles), np.sin(angles)])
    ring[-1] = ring[0]
    coords = (centres[:, None, :] + ring[None, :, :]).reshape(-1, 2)
    rings = shapely.linearrings(coords, indices=np.repeat(np.arange(len(centres)), 10))
    return shapely.polygons(rings)


def reference_loop(func: Callable, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    out = [func((la, lo)) for lo, la in zip(lon.tolist(), lat.tolist(), strict=True)]
    return np.array(out)[:, ::-1]  # (lon, lat)


def metres(lon, lat, other: tuple[np.ndarray, np.ndarray] | np.ndarray) -> np.ndarray:
    x, y = (other[:, 0], other[:, 1]) if isinstance(other, np.ndarray) else other
    return GEOD.inv(lon, lat, x, y)[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="points to convert")
    parser.add_argument(
        "--reference-n", type=int, default=100_000, help="points for prcoords' loop"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240614)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    x0, y0, x1, y1 = MAINLAND
    lon, lat = rng.uniform(x0, x1, args.n), rng.uniform(y0, y1, args.n)
    gcj = chinacrs.wgs84_to_gcj02(lon, lat)
    bd = chinacrs.wgs84_to_bd09(lon, lat)
    inputs = {"wgs84": (lon, lat), "gcj02": gcj, "bd09": bd}
    print(f"python {platform.python_version()}, numpy {np.__version__}, {args.n:,} points")

    figures: dict[str, Any] = {
        "n": args.n,
        "reference_n": args.reference_n,
        "seconds": {},
        "cpu_seconds": {},
    }
    print(f"{'conversion':<28} {'wall s':>8} {'CPU s':>8} {'M points/s (CPU)':>17}")
    conversions = {
        ("wgs84", "gcj02"): chinacrs.wgs84_to_gcj02,
        ("wgs84", "bd09"): chinacrs.wgs84_to_bd09,
        ("gcj02", "wgs84"): chinacrs.gcj02_to_wgs84,
        ("gcj02", "bd09"): chinacrs.gcj02_to_bd09,
        ("bd09", "wgs84"): chinacrs.bd09_to_wgs84,
        ("bd09", "gcj02"): chinacrs.bd09_to_gcj02,
    }
    for (source, target), func in conversions.items():
        wall, cpu = timed(lambda func=func, source=source: func(*inputs[source]), args.runs)
        figures["seconds"][f"{source}_to_{target}"] = wall
        figures["cpu_seconds"][f"{source}_to_{target}"] = cpu
        label = f"{source} -> {target}"
        print(f"{label:<28} {wall:8.3f} {cpu:8.3f} {args.n / cpu / 1e6:17.2f}")

    shapes = polygons(lon, lat)
    vertices = int(shapely.get_num_coordinates(shapes).sum())
    for source, target in [("wgs84", "gcj02"), ("bd09", "wgs84")]:
        wall, cpu = timed(
            lambda s=source, t=target: chinacrs.convert_geometry(shapes, source=s, target=t),
            args.runs,
        )
        figures["seconds"][f"polygons_{source}_to_{target}"] = wall
        figures["cpu_seconds"][f"polygons_{source}_to_{target}"] = cpu
        print(
            f"{len(shapes):,} polygons {source} -> {target}: wall {wall:.3f} s, CPU {cpu:.3f} s "
            f"({vertices / cpu / 1e6:.2f} M vertices per CPU second)"
        )

    m = min(args.reference_n, args.n)
    sub_lon, sub_lat = lon[:m], lat[:m]
    loops = {
        "wgs84_to_gcj02": (prcoords.wgs_gcj, (sub_lon, sub_lat)),
        "gcj02_to_wgs84": (prcoords.gcj_wgs_bored, (gcj[0][:m], gcj[1][:m])),
        "wgs84_to_bd09": (prcoords.wgs_bd, (sub_lon, sub_lat)),
        "bd09_to_wgs84": (prcoords.bd_wgs_bored, (bd[0][:m], bd[1][:m])),
    }
    figures["prcoords_cpu_seconds_scaled"] = {}
    for name, (func, (x, y)) in loops.items():
        _, cpu = timed(lambda func=func, x=x, y=y: reference_loop(func, x, y), 1)
        scaled = cpu * args.n / m
        figures["prcoords_cpu_seconds_scaled"][name] = scaled
        print(
            f"prcoords loop {name} ({m:,} points, scaled to {args.n:,}): CPU {scaled:.2f} s; "
            f"ratio prcoords / gridgeo (CPU) {scaled / figures['cpu_seconds'][name]:.1f}"
        )

    gcj_back = metres(lon, lat, chinacrs.gcj02_to_wgs84(*gcj))
    bd_back = metres(lon, lat, chinacrs.bd09_to_wgs84(*bd))
    one_step = metres(sub_lon, sub_lat, reference_loop(prcoords.gcj_wgs, gcj[0][:m], gcj[1][:m]))
    bored = metres(sub_lon, sub_lat, reference_loop(prcoords.gcj_wgs_bored, gcj[0][:m], gcj[1][:m]))
    offset = metres(lon, lat, gcj)
    figures["accuracy_m"] = {
        "gcj02_round_trip_max": float(gcj_back.max()),
        "bd09_round_trip_max": float(bd_back.max()),
        "prcoords_one_step_max": float(one_step.max()),
        "prcoords_one_step_median": float(np.median(one_step)),
        "prcoords_bored_max": float(bored.max()),
    }
    print(
        f"GCJ-02 offset: min {offset.min():.0f} m, median {np.median(offset):.0f} m, "
        f"max {offset.max():.0f} m"
    )
    print(
        f"round trip max: WGS -> GCJ -> WGS {gcj_back.max() * 1000:.1e} mm, "
        f"WGS -> BD -> WGS {bd_back.max() * 1000:.1e} mm"
    )
    print(
        f"prcoords GCJ -> WGS error on {m:,} points: one-step median {np.median(one_step):.2f} m, "
        f"max {one_step.max():.2f} m; iterative (bored) max {bored.max() * 1000:.2f} mm"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
