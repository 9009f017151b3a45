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
   same weights and seed. Checked: G, z and the analytic p agree (they do not depend on
   the permutations); the pseudo p-values agree as two permutation estimates of each
   cell's p must whatever random stream drew them (no cell more than 6 sigma of the
   binomial apart), on the counts plus a seeded jitter below 1e-3 (no ties); without
   numba esda draws from NumPy's legacy stream, which gridgeo reproduces, and its
   pseudo-p must moreover be equal to gridgeo's on the counts too. With numba esda
   draws the same permutations (numba re-implements that stream: equal on the
   jittered values) but its fastmath kernels put some of the many exact ties of
   integer counts on the other side of the observed value, so on the counts the
   agreement (share equal, significant alike at 0.05, correlation) is reported only;
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


def numba_version() -> str | None:
    """numba's version when it is installed (esda then runs its numba engine, which
    draws its permutations from numba's own random stream), else None."""
    try:
        import numba
    except ImportError:
        return None
    return str(numba.__version__)


def engine(numba: str | None) -> str:
    """Which engine runs esda's conditional permutations."""
    if numba:
        return (
            f"numba {numba} (kernels compiled with fastmath; numba's np.random "
            "re-implements NumPy's legacy stream)"
        )
    return "pure Python (NumPy's legacy RandomState, the stream gridgeo reproduces)"


#: Two pseudo-p values of one cell from independent permutations differ by more than this
#: many standard deviations of their difference nowhere (for one cell the chance is
#: about 2e-9; the cells share their permutations, so the max over them is smaller still).
MAX_SIGMAS = 6.0
#: The significance level of the agreement that is reported.
ALPHA = 0.05
#: The largest jitter added to the counts for the tie-free comparison.
JITTER = 1e-3


def pseudo_p_agreement(ours: np.ndarray, theirs: np.ndarray, permutations: int) -> dict[str, Any]:
    """How gridgeo's pseudo p-values compare with esda's, in terms that hold for any stream.

    Each pseudo-p is ``(k + 1) / (P + 1)`` where ``k`` of the ``P`` permutations are at
    least as extreme: ``k`` is binomial (``P``, ``q``) with the cell's own ``q``, whatever
    generator drew the permutations. Two independent draws for one cell therefore differ
    by about ``sigma = sqrt(2 q (1 - q) / P)`` (``q`` estimated from both, at least
    ``1 / P``; plus one count for the rounding). ``max_sigmas`` is the largest difference
    in those units (at most :data:`MAX_SIGMAS` when both compute the same statistic,
    whatever their random streams; far more when they count another tail, another
    neighbourhood or ties otherwise); also the share of cells beyond 3 sigma, the share
    significant alike at :data:`ALPHA`, the Pearson correlation, the largest and mean
    difference and the share equal to 1e-6 (esda keeps float32).
    """
    both = np.isfinite(ours) & np.isfinite(theirs)
    a, b = ours[both], theirs[both]
    diff = np.abs(a - b)
    q = np.clip((a + b) / 2, 1.0 / permutations, 1 - 1.0 / permutations)
    sigma = np.sqrt(2 * q * (1 - q) / permutations) + 1.0 / (permutations + 1)
    sigmas = diff / sigma
    n = diff.size
    return {
        "cells_compared": int(n),
        "max_abs_diff_p_sim": float(diff.max(initial=0.0)),
        "mean_abs_diff_p_sim": float(diff.mean()) if n else 0.0,
        "share_within_1e-6": float((diff <= 1e-6).mean()) if n else 1.0,
        "max_sigmas": float(sigmas.max(initial=0.0)),
        "share_beyond_3_sigmas": float((sigmas > 3).mean()) if n else 0.0,
        "share_same_significance": float(((a < ALPHA) == (b < ALPHA)).mean()) if n else 1.0,
        "alpha": ALPHA,
        "significant_gridgeo": int((a < ALPHA).sum()),
        "significant_esda": int((b < ALPHA).sum()),
        "pearson_r": float(np.corrcoef(a, b)[0, 1]) if n > 1 else 1.0,
    }


def describe(agreement: dict[str, Any]) -> str:
    """One line of a :func:`pseudo_p_agreement`."""
    return (
        f"{agreement['share_within_1e-6']:.1%} equal, largest difference"
        f" {agreement['max_abs_diff_p_sim']:.1e} ({agreement['max_sigmas']:.1f} sigma;"
        f" {agreement['share_beyond_3_sigmas']:.2%} of cells beyond 3), mean"
        f" {agreement['mean_abs_diff_p_sim']:.1e}, {agreement['share_same_significance']:.1%}"
        f" significant alike at {agreement['alpha']} ({agreement['significant_gridgeo']:,} /"
        f" {agreement['significant_esda']:,} cells), r {agreement['pearson_r']:.4f}"
    )


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
    numba = numba_version()
    figures["numba"] = numba
    figures["esda_engine"] = engine(numba)
    console.print(
        f"esda {esda.__version__}, numba {numba or 'not installed'}, h3 {h3.__version__}, "
        f"{args.runs} runs; esda's permutations: {figures['esda_engine']}"
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
    if numba:  # numba compiles esda's engine on its first call: not timed
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
    # what does not depend on the permutations is compared exactly: G, z and analytic p
    dz = float(np.abs(ours["gi_z"].to_numpy() - ref.Zs).max())
    dg = float(np.abs(ours["gi"].to_numpy() - ref.Gs).max())
    dpn = float(np.abs(ours["gi_p"].to_numpy() - 2 * np.asarray(ref.p_norm, float)).max())
    assert max(dz, dg, dpn) < 1e-9, (dz, dg, dpn)
    counts = pseudo_p_agreement(ours["gi_p_sim"].to_numpy(), np.asarray(ref.p_sim, float), p)
    if not numba:  # esda's pure-Python engine counts ties as gridgeo does: equal
        assert counts["max_abs_diff_p_sim"] < 1e-6, counts
    # The counts are small integers: many permuted sums tie the observed one exactly,
    # and esda's numba kernels (fastmath: a division becomes a multiplication by the
    # reciprocal) put some ties an ulp to either side of it. On values without ties
    # (the counts plus a seeded jitter below JITTER) only the permutations can make a
    # difference: the two must agree as two estimates of the same p, whatever stream
    # drew them (and are equal when the permutations are the same). Not timed.
    jitter = np.random.default_rng(args.seed).uniform(0, JITTER, len(perm_cells))
    free_cells = perm_cells.assign(count=perm_cells["count"] + jitter)
    free_ours = gi_star(free_cells, weights=other, permutations=p, seed=7)["gi_p_sim"]
    free_ref = esda_gi(free_cells["count"].to_numpy(float), w, p, 7)
    tie_free = pseudo_p_agreement(free_ours.to_numpy(), np.asarray(free_ref.p_sim, float), p)
    assert tie_free["max_sigmas"] <= MAX_SIGMAS, tie_free
    same_permutations = tie_free["max_abs_diff_p_sim"] < 1e-6
    if not numba:
        assert same_permutations, tie_free
    table = new_table(f"Gi* with {p} permutations, {len(perm_cells):,} cells (queen)")
    base = statistics.median(t_ours)
    figures["gi_permutations"] = {
        "gridgeo": row(table, "gridgeo gi_star", t_ours, base),
        "esda": row(table, "esda G_Local (n_jobs=1)", t_esda, base),
        "cells": len(perm_cells),
        "max_abs_diff_z": dz,
        "max_abs_diff_g": dg,
        "max_abs_diff_p_norm": dpn,
        "pseudo_p_counts": counts,
        "pseudo_p_tie_free": tie_free,
        "same_permutations": same_permutations,
    }
    console.print(table)
    console.print(
        f"ratio esda / gridgeo (median), Gi* {p} permutations: "
        f"{statistics.median(t_esda) / base:.2f}x; G, z and analytic p agree to "
        f"{max(dz, dg, dpn):.1e}"
    )
    console.print(f"pseudo-p on the counts: {describe(counts)}")
    console.print(
        f"pseudo-p without ties (counts + jitter < {JITTER:g}): {describe(tie_free)}; "
        f"limit {MAX_SIGMAS:.0f} sigma: ok; esda drew "
        + ("the same permutations as gridgeo" if same_permutations else "other permutations")
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
