"""Problem hotspots at city scale: gridgeo's H3 counts and Gi* against the obvious ways.

The targets are that

* H3 resolution-9 aggregation of 1,000,000 problem points takes at most 5 s;
* Gi* with 999 conditional permutations is at least as fast as esda's own (without numba
  esda runs its pure-Python loop; the line "esda ..., numba ..." says which);
* the analytic Gi* is one vectorised sparse-matrix computation that equals esda's
  ``G_Local(star=True)``.

This script measures, side by side in one run (medians of ``--runs``, the runs of the
methods compared taking turns, so that the shared machine's load weighs on both alike):

1. H3 res-9 counts of N points (default 1,000,000) spread uniformly over 30 × 30 km
   around Shanghai (seeded): ``gridgeo.analysis.hotspots.aggregate`` (every cell of the
   area, empty ones included, with polygons) vs the plain loop an analyst writes
   (``h3.latlng_to_cell`` per point, then ``value_counts``; no empty cells, no polygons);
2. Gi* with 999 permutations on 50,000 square cells (queen weights): ``gi_star`` vs
   ``esda.G_Local(transform="B", star=True, keep_simulations=False, n_jobs=1)`` on the
   same weights and seed, checking that z agrees and, without numba, the pseudo
   p-values too (with numba installed esda draws its permutations from numba's own
   random stream: the pseudo-p agreement is then reported as figures, not checked);
3. analytic Gi* on 1,000,000 cells (KNN 8 weights): ``gi_star(permutations=0)`` vs esda's
   ``G_Local(permutations=0)``; esda (about a minute, plus building its ``W``) runs once,
   ``--skip-esda-1m`` leaves it out.

Run it with::

    .venv/bin/python benchmarks/hotspots.py                  # full size, 3 runs
    .venv/bin/python benchmarks/hotspots.py --skip-esda-1m   # without the slow esda 1M run
    .venv/bin/python benchmarks/hotspots.py --scale 0.01 --runs 1   # a few seconds
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import esda
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from libpysal.weights import W
from rich.console import Console
from rich.table import Table
from scipy.spatial import cKDTree

from gridgeo.analysis.hotspots import aggregate, gi_star, spatial_weights

console = Console(highlight=False, width=None if sys.stdout.isatty() else 110)

LON0, LAT0 = 121.44, 31.22  # Xuhui, Shanghai
HALF_SIDE_M = 15_000.0  # a 30 x 30 km square
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))
UTM = 32651
X0, Y0 = 350_000.0, 3_450_000.0


def alternating(jobs: dict[str, tuple[Callable[[], Any], int]]) -> dict[str, tuple[list, Any]]:
    """Time several jobs in turns (each job: a function and its number of runs).

    Round k runs every job that has runs left, in the order given on even rounds and in
    the reverse order on odd ones, so that a load on the shared machine that comes and
    goes weighs on every job alike rather than on whichever ran in its window.
    Returns each job's times and its last result.
    """
    out: dict[str, tuple[list, Any]] = {name: ([], None) for name in jobs}
    rounds = max(runs for _, runs in jobs.values())
    for k in range(rounds):
        names = list(jobs) if k % 2 == 0 else list(reversed(jobs))
        for name in names:
            func, runs = jobs[name]
            if k >= runs:
                continue
            gc.collect()
            started = time.perf_counter()
            result = func()
            out[name][0].append(time.perf_counter() - started)
            out[name] = (out[name][0], result)
    return out


def numba_installed() -> bool:
    """Whether esda runs its numba engine (which draws another random stream)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def pseudo_p_agreement(ours: np.ndarray, theirs: np.ndarray, numba: bool) -> dict[str, Any]:
    """How far gridgeo's pseudo p-values are from esda's.

    Without numba esda draws from NumPy's legacy stream, which gridgeo reproduces: the
    two must agree to 1e-6 (esda keeps float32). With numba esda draws from numba's own
    generator, so the permutations differ and only the distribution can agree: the
    share of cells within 1e-6 and the largest difference are reported, not checked.
    """
    both = np.isfinite(ours) & np.isfinite(theirs)
    diff = np.abs(ours[both] - theirs[both])
    figures = {
        "same_stream": not numba,
        "max_abs_diff_p_sim": float(diff.max(initial=0.0)),
        "mean_abs_diff_p_sim": float(diff.mean()) if diff.size else 0.0,
        "share_within_1e-6": float((diff <= 1e-6).mean()) if diff.size else 1.0,
    }
    if not numba:
        assert figures["max_abs_diff_p_sim"] < 1e-6, figures
    return figures


def city_points(n: int, seed: int) -> tuple[gpd.GeoDataFrame, shapely.Geometry]:
    rng = np.random.default_rng(seed)
    dlon = HALF_SIDE_M / M_PER_DEG_LON
    dlat = HALF_SIDE_M / M_PER_DEG_LAT
    lon = rng.uniform(LON0 - dlon, LON0 + dlon, n)
    lat = rng.uniform(LAT0 - dlat, LAT0 + dlat, n)
    frame = gpd.GeoDataFrame(geometry=shapely.points(lon, lat), crs=4326)
    return frame, shapely.box(LON0 - dlon, LAT0 - dlat, LON0 + dlon, LAT0 + dlat)


def h3_loop(points: gpd.GeoDataFrame) -> pd.Series:
    xy = shapely.get_coordinates(points.geometry.array)
    ids = [h3.latlng_to_cell(lat, lon, 9) for lon, lat in xy]
    return pd.Series(ids).value_counts()


def square_cells(n_cells: int, seed: int) -> gpd.GeoDataFrame:
    """About n_cells 100 m squares with Poisson counts and a few planted clusters."""
    side = max(3, round(math.sqrt(n_cells)))
    rng = np.random.default_rng(seed)
    ii, jj = (a.ravel() for a in np.indices((side, side)))
    counts = rng.poisson(2.0, side * side)
    for _ in range(max(1, side // 20)):
        ci, cj = rng.integers(0, side, 2)
        near = (ii - ci) ** 2 + (jj - cj) ** 2 <= 9
        counts[near] += rng.poisson(8, int(near.sum()))
    boxes = shapely.box(X0 + ii * 100, Y0 + jj * 100, X0 + ii * 100 + 100, Y0 + jj * 100 + 100)
    return gpd.GeoDataFrame(
        {"cell_id": [f"s{k}" for k in range(side * side)], "count": counts},
        geometry=gpd.GeoSeries(boxes, crs=UTM).to_crs(4326).array,
        crs=4326,
    )


def knn_cells(n_cells: int, seed: int) -> tuple[gpd.GeoDataFrame, sp.csr_matrix]:
    """n_cells point cells (centroids) with counts, and their KNN-8 weights."""
    rng = np.random.default_rng(seed)
    side = math.sqrt(n_cells) * 100
    xy = rng.uniform(0, side, (n_cells, 2)) + np.array([X0, Y0])
    counts = rng.poisson(3.0, n_cells).astype(np.int64)
    centre = rng.uniform(0, side, (max(1, n_cells // 20_000), 2)) + np.array([X0, Y0])
    for c in centre:
        near = np.hypot(*(xy - c).T) < 500
        counts[near] += rng.poisson(6, int(near.sum()))
    _, nb = cKDTree(xy).query(xy, k=9)
    rows = np.repeat(np.arange(n_cells), 8)
    other = sp.csr_matrix((np.ones(rows.size), (rows, nb[:, 1:].ravel())), (n_cells, n_cells))
    other.sort_indices()
    cells = gpd.GeoDataFrame(
        {"cell_id": np.arange(n_cells).astype(str), "count": counts},
        geometry=gpd.GeoSeries(shapely.points(xy), crs=UTM).to_crs(4326).array,
        crs=4326,
    )
    return cells, other


def esda_w(other: sp.csr_matrix) -> W:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return W.from_sparse((other + sp.identity(other.shape[0], format="csr")).tocsr())


def esda_gi(y: np.ndarray, w: W, permutations: int, seed: int) -> esda.G_Local:
    with warnings.catch_warnings():  # esda's note that its default alternative will change
        warnings.simplefilter("ignore", DeprecationWarning)
        return esda.G_Local(
            y,
            w,
            transform="B",
            star=True,
            permutations=permutations,
            keep_simulations=False,
            n_jobs=1,
            seed=seed,
        )


def row(table: Table, name: str, times: list[float], base: float | None) -> dict[str, float]:
    med = statistics.median(times)
    rel = f"{med / base:.2f}x" if base else "1.00x"
    table.add_row(name, f"{med:.3f}", f"{min(times):.3f}", f"{max(times):.3f}", rel)
    return {"median_s": med, "min_s": min(times), "max_s": max(times), "runs": len(times)}


def new_table(title: str) -> Table:
    table = Table(title=title)
    table.add_column("method")
    for col in ("median s", "min s", "max s", "vs gridgeo"):
        table.add_column(col, justify="right")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="problem points to aggregate")
    parser.add_argument("--perm-cells", type=int, default=50_000, help="cells for permutations")
    parser.add_argument("--cells", type=int, default=1_000_000, help="cells for analytic Gi*")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--seed", type=int, default=20250303)
    parser.add_argument("--skip-esda-1m", action="store_true", help="no esda on the big case")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    n_points = max(1000, int(args.n * args.scale))
    n_perm = max(100, int(args.perm_cells * args.scale))
    n_cells = max(1000, int(args.cells * args.scale))
    figures: dict[str, Any] = {
        "python": platform.python_version(),
        "esda": esda.__version__,
        "h3": h3.__version__,
        "sizes": {"points": n_points, "perm_cells": n_perm, "cells": n_cells},
    }
    figures["numba"] = numba_installed()
    console.print(
        f"esda {esda.__version__}, numba {'installed' if figures['numba'] else 'not installed'}"
        f", h3 {h3.__version__}, {args.runs} runs"
    )

    # 1. H3 res-9 aggregation --------------------------------------------------------
    points, box = city_points(n_points, args.seed)
    timings = alternating(
        {
            "gridgeo": (lambda: aggregate(points, area=box, cells="h3:9"), args.runs),
            "loop": (lambda: h3_loop(points), args.runs),
        }
    )
    (t_ours, cells), (t_loop, counts) = timings["gridgeo"], timings["loop"]
    got = cells.set_index("cell_id")["count"]
    assert int(got.sum()) == n_points, "every point lies in the area"
    assert (got[counts.index] == counts).all(), "the same counts as the plain loop"
    table = new_table(f"H3 res 9: {n_points:,} points → {len(cells):,} cells")
    base = statistics.median(t_ours)
    figures["h3_aggregate"] = {
        "gridgeo": row(table, "gridgeo aggregate (with empty cells, polygons)", t_ours, base),
        "loop": row(table, "h3.latlng_to_cell loop + value_counts", t_loop, base),
        "cells": len(cells),
        "empty_cells": int((cells["count"] == 0).sum()),
    }
    console.print(table)
    console.print(
        f"H3 aggregation of {n_points:,} points: median {base:.2f} s (limit 5 s at 1,000,000);"
        f" ratio loop / gridgeo (median): {statistics.median(t_loop) / base:.2f}x; counts agree"
    )

    # 2. Gi* with permutations -------------------------------------------------------
    if figures["numba"]:  # numba compiles esda's engine on its first call: not timed
        small = square_cells(100, args.seed)
        esda_gi(small["count"].to_numpy(float), esda_w(spatial_weights(small)), 9, 7)
    perm_cells = square_cells(n_perm, args.seed)
    other = spatial_weights(perm_cells, "queen")
    w = esda_w(other)
    y = perm_cells["count"].to_numpy(float)
    p = args.permutations
    timings = alternating(
        {
            "gridgeo": (
                lambda: gi_star(perm_cells, weights=other, permutations=p, seed=7),
                args.runs,
            ),
            "esda": (lambda: esda_gi(y, w, p, 7), args.runs),
        }
    )
    (t_ours, ours), (t_esda, ref) = timings["gridgeo"], timings["esda"]
    dz = float(np.abs(ours["gi_z"].to_numpy() - ref.Zs).max())
    assert dz < 1e-9, dz  # z does not depend on the permutations
    agreement = pseudo_p_agreement(
        ours["gi_p_sim"].to_numpy(), np.asarray(ref.p_sim, float), figures["numba"]
    )
    dp = agreement["max_abs_diff_p_sim"]
    table = new_table(f"Gi* with {p} permutations, {len(perm_cells):,} cells (queen)")
    base = statistics.median(t_ours)
    figures["gi_permutations"] = {
        "gridgeo": row(table, "gridgeo gi_star", t_ours, base),
        "esda": row(table, "esda G_Local (n_jobs=1)", t_esda, base),
        "cells": len(perm_cells),
        "max_abs_diff_z": dz,
        **agreement,
    }
    console.print(table)
    if agreement["same_stream"]:
        pseudo = f"pseudo-p to {dp:.1e}"
    else:
        pseudo = (
            f"pseudo-p from another random stream (esda with numba): "
            f"{agreement['share_within_1e-6']:.1%} of cells within 1e-6, "
            f"mean difference {agreement['mean_abs_diff_p_sim']:.1e}, largest {dp:.1e}"
        )
    console.print(
        f"ratio esda / gridgeo (median), Gi* {p} permutations: "
        f"{statistics.median(t_esda) / base:.2f}x; z agree to {dz:.1e}, {pseudo}"
    )

    # 3. analytic Gi* at 1M ----------------------------------------------------------
    started = time.perf_counter()
    big, other = knn_cells(n_cells, args.seed)
    build = time.perf_counter() - started
    jobs = {"gridgeo": (lambda: gi_star(big, weights=other, permutations=0), args.runs)}
    if not args.skip_esda_1m:
        started = time.perf_counter()
        w = esda_w(other)
        w_build = time.perf_counter() - started
        jobs["esda"] = (lambda: esda_gi(big["count"].to_numpy(float), w, 0, 0), 1)
    timings = alternating(jobs)
    t_ours, ours = timings["gridgeo"]
    table = new_table(f"analytic Gi*, {n_cells:,} cells (KNN 8)")
    base = statistics.median(t_ours)
    result: dict[str, Any] = {
        "gridgeo": row(table, "gridgeo gi_star (sparse, with FDR bins)", t_ours, base),
        "knn_weights_s": build,
    }
    if "esda" in timings:
        t_esda, ref = timings["esda"]
        dz = float(np.abs(ours["gi_z"].to_numpy() - ref.Zs).max())
        assert dz < 1e-9, dz
        result["esda"] = row(table, "esda G_Local analytic (once)", t_esda, base)
        result["esda_w_build_s"] = w_build
        result["max_abs_diff_z"] = dz
    figures["gi_analytic"] = result
    console.print(table)
    if "esda" in result:
        console.print(
            f"ratio esda / gridgeo (median), analytic Gi* at {n_cells:,} cells: "
            f"{result['esda']['median_s'] / base:.1f}x (esda's W took {result['esda_w_build_s']:.1f} s"
            f" more to build); z agree to {result['max_abs_diff_z']:.1e}"
        )
    else:
        console.print("esda at the big size skipped (--skip-esda-1m)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["peak_rss_mb"] = peak
    console.print(f"peak RSS {peak:,.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
