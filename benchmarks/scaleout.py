"""Hotspots of a partitioned province on Dask workers against one process, side by side.

On a province folder (``gridgeo synth --scale province``; one is generated into a
scratch directory unless ``--folder`` names one), ``gridgeo hotspots`` runs

* ``local``: one process reads the whole folder and computes the four layers;
* ``dask N``: ``--engine dask --scheduler`` on a cluster of N worker processes (one
  thread each, ``--memory-limit`` each): each partition's problems read and selected in
  a task of its own, the statistics over the whole area in the calling process.

Each run is its own ``gridgeo`` process; the engines take turns, ``--runs`` times, and
the medians are printed with the ratio to ``local``. Peak memory is the calling
process's (``ru_maxrss``) and the largest worker's resident set, sampled every 50 ms
during the run. The cluster's start is timed apart (the engine's overhead, paid once
per cluster). First printed, the floor: pyarrow reading the problems files' columns
(geometry as WKB, undecoded) in this process. At the end every engine's layers are
compared with ``local``'s (same rows, values and geometries).

    python benchmarks/scaleout.py --cities 30 --city-scale sample --workers 1,2 --runs 3
    python benchmarks/scaleout.py --folder /province/p10 --cells h3:9
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("cells", "lisa", "density", "emerging")


class PeakSampler:
    """The largest resident set of some processes, sampled every 50 ms in a thread."""

    def __init__(self, pids: list[int]) -> None:
        import psutil

        self.processes = [psutil.Process(pid) for pid in pids]
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for p in self.processes:
                try:
                    self.peak = max(self.peak, p.memory_info().rss)
                except Exception:  # a worker that is gone has no memory to report
                    pass
            self._stop.wait(0.05)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def make_province(out: Path, cities: int, city_scale: str) -> None:
    cmd = [str(Path(sys.executable).parent / "gridgeo"), "synth", "--cities", str(cities),
           "--city-scale", city_scale, "--out", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def floor_seconds(folder: Path) -> tuple[float, int]:
    """pyarrow reading every problems file, geometry as WKB bytes: (seconds, rows)."""
    import pyarrow.dataset as ds

    start = time.perf_counter()
    table = ds.dataset(folder / "problems", format="parquet", partitioning="hive").to_table()
    return time.perf_counter() - start, table.num_rows


def run_cli(folder: Path, out: Path, cells: str, permutations: int, scheduler: str | None) -> dict:
    """One ``gridgeo hotspots`` process: wall seconds and its peak RSS (MiB)."""
    cmd = [str(Path(sys.executable).parent / "gridgeo"), "hotspots", "--problems", str(folder),
           "--cells", cells, "--permutations", str(permutations), "--out", str(out)]  # fmt: skip
    if scheduler:
        cmd += ["--engine", "dask", "--scheduler", scheduler]
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"gridgeo hotspots failed ({proc.returncode}):\n{err.read()}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024}


def same_layers(a: Path, b: Path) -> bool:
    import geopandas as gpd
    from geopandas.testing import assert_geodataframe_equal

    for layer in LAYERS:
        try:
            assert_geodataframe_equal(gpd.read_file(a, layer=layer), gpd.read_file(b, layer=layer))
        except AssertionError:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=None, help="a province folder")
    parser.add_argument("--cities", type=int, default=30)
    parser.add_argument("--city-scale", default="sample")
    parser.add_argument("--cells", default="h3:9")
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--workers", default="1,2", help="comma-separated cluster sizes")
    parser.add_argument("--memory-limit", default="4GB", help="each worker's")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)  # the cluster's closing chatter

    from gridgeo.cluster import LOCAL_HTTP

    scratch = Path(tempfile.mkdtemp(prefix="gridgeo-scaleout-"))
    try:
        folder = args.folder
        if folder is None:
            folder = scratch / "province"
            start = time.perf_counter()
            make_province(folder, args.cities, args.city_scale)
            print(f"province of {args.cities} cities at {args.city_scale} scale generated "
                  f"in {time.perf_counter() - start:.1f} s: {folder}")  # fmt: skip
        manifest = json.loads((folder / "gridgeo-parquet.json").read_text(encoding="utf-8"))
        rows = {k: v["rows"] for k, v in manifest["layers"].items()}
        print(f"{len(manifest['partitions'])} partitions, {rows.get('buildings', 0):,} "
              f"buildings, {rows.get('problems', 0):,} problems; cells {args.cells}, "
              f"{args.permutations} permutations")  # fmt: skip
        floor = [floor_seconds(folder)[0] for _ in range(args.runs)]
        print(f"floor: pyarrow reads the problems files (WKB undecoded), median "
              f"{statistics.median(floor):.2f} s")  # fmt: skip
        sizes = [int(n) for n in args.workers.split(",") if n]
        clusters: dict[int, Any] = {}
        figures: dict[str, Any] = {"floor_s": statistics.median(floor), "engines": {}}
        for n in sizes:
            start = time.perf_counter()
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                memory_limit=args.memory_limit,
                dashboard_address=None,
                scheduler_kwargs=LOCAL_HTTP,
                silence_logs=logging.ERROR,
            )
            clusters[n] = (cluster, Client(cluster))
            figures[f"cluster_start_{n}_s"] = time.perf_counter() - start
            print(f"cluster of {n} worker(s), {args.memory_limit} each, started in "
                  f"{figures[f'cluster_start_{n}_s']:.1f} s")  # fmt: skip
        engines = ["local", *[f"dask {n}" for n in sizes]]
        runs: dict[str, list[dict]] = {e: [] for e in engines}
        for r in range(args.runs):
            for engine in engines if r % 2 == 0 else engines[::-1]:
                scheduler = None
                if engine != "local":
                    cluster, client = clusters[int(engine.split()[1])]
                    scheduler = cluster.scheduler_address
                out = scratch / f"{engine.replace(' ', '-')}.gpkg"
                pids = list(client.run(os.getpid).values()) if scheduler else []
                with PeakSampler(pids) as sampler:
                    got = run_cli(folder, out, args.cells, args.permutations, scheduler)
                if scheduler:
                    got["worker_peak_mb"] = sampler.peak / 2**20
                runs[engine].append(got)
        base = statistics.median(x["seconds"] for x in runs["local"])
        for engine in engines:
            t = statistics.median(x["seconds"] for x in runs[engine])
            line = f"{engine:<8} median {t:7.2f} s  ratio local / this {base / t:5.2f}"
            entry = {"median_s": t, "runs_s": [x["seconds"] for x in runs[engine]]}
            if engine != "local":
                peak = max(x["worker_peak_mb"] for x in runs[engine])
                line += f"  worker peak {peak:,.0f} MiB"
                entry["worker_peak_mb"] = peak
            print(line)
            figures["engines"][engine] = entry
        peak = max(x["peak_mb"] for r in runs.values() for x in r)
        print(f"peak RSS of the gridgeo processes (largest of all runs): {peak:,.0f} MiB")
        figures["process_peak_mb"] = peak
        for engine in engines[1:]:
            equal = same_layers(
                scratch / "local.gpkg", scratch / f"{engine.replace(' ', '-')}.gpkg"
            )
            print(f"layers of {engine} equal to local: {'yes' if equal else 'NO'}")
            figures["engines"][engine]["equal"] = equal
            if not equal:
                raise SystemExit(f"{engine}: the layers differ from the local run")
        for cluster, client in clusters.values():
            client.close()
            cluster.close()
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
