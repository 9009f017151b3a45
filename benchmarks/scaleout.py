"""The hotspots and the check of a partitioned province on Dask workers against one process.

On a province folder (``gridgeo synth --scale province``; one is generated into a
scratch directory unless ``--folder`` names one), each job of ``--jobs`` runs

* ``local``: one process reads the whole folder and computes the layers;
* ``dask N``: ``--engine dask --scheduler`` on a cluster of N worker processes (one
  thread each, ``--memory-limit`` each). ``hotspots``: each partition's problems read
  and selected in a task of its own, the statistics over the whole area in the calling
  process. ``check``: a task per partition, one for the grids' borders and one per
  bucket of members (:mod:`gridgeo.check.partitioned`).

Each run is its own ``gridgeo`` process; the engines take turns, ``--runs`` times, and
the medians are printed with the ratio to ``local``. Peak memory is the calling
process's (``ru_maxrss``) and the largest worker's resident set, sampled every 50 ms
during the run. The cluster's start is timed apart (the engine's overhead, paid once
per cluster). First printed for each job, the floor: pyarrow reading the files the job
reads (geometry as WKB, undecoded) in this process. At the end every engine's layers
are compared with ``local``'s (same rows, values and geometries). With ``--local-cap``,
the one-process run is stopped once its resident set passes the cap: on a region larger
than one machine's memory, that run shows the need (its peak at the stop) without the
kernel's out-of-memory killer choosing what dies. The check's profile (compute seconds
of its tasks by kind, from the scheduler's task stream of the last run on the largest
cluster) gives the projection to ``--project`` buildings.

    python benchmarks/scaleout.py --cities 30 --city-scale sample --workers 1,2 --runs 3
    python benchmarks/scaleout.py --folder /province/p10 --cells h3:9 --jobs check
    python benchmarks/scaleout.py --folder /region/p3 --jobs check --workers 2 --runs 1 \
        --local-cap 16GB
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("cells", "lisa", "density", "emerging")
JOBS = ("hotspots", "check")
#: the layers each job reads, for its floor
READS = {
    "hotspots": ("problems",),
    "check": ("grids", "buildings", "households", "assignments", "visits", "meetings"),
}
#: the check's date: the end of the generated period (gridgeo.synth.parameters)
AS_OF = "2025-06-01"


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


def floor_seconds(folder: Path, job: str = "hotspots") -> tuple[float, int]:
    """pyarrow reading every file of the job's layers, geometry as WKB bytes: (seconds, rows)."""
    import pyarrow.dataset as ds

    start, rows = time.perf_counter(), 0
    for layer in READS[job]:
        if (folder / layer).is_dir():
            rows += (
                ds.dataset(folder / layer, format="parquet", partitioning="hive")
                .to_table()
                .num_rows
            )
    return time.perf_counter() - start, rows


def job_command(job: str, folder: Path, out: Path, args: argparse.Namespace) -> list[str]:
    """The ``gridgeo`` command of one local run of ``job``."""
    gridgeo = str(Path(sys.executable).parent / "gridgeo")
    if job == "check":
        return [gridgeo, "check", "--folder", str(folder), "--as-of", args.as_of, "--out", str(out)]
    return [gridgeo, "hotspots", "--problems", str(folder), "--cells", args.cells,
            "--permutations", str(args.permutations), "--out", str(out)]  # fmt: skip


def run_cli(cmd: list[str], scheduler: str | None, cap_mb: float | None = None) -> dict:
    """One ``gridgeo`` process: wall seconds and its peak RSS (MiB).

    With ``cap_mb``, the process is stopped once its resident set passes that many MiB
    (``stopped`` is then True): the way to show a run needs more memory than the machine
    can give it, without the kernel's out-of-memory killer choosing what dies.
    """
    import psutil

    if scheduler:
        cmd += ["--engine", "dask", "--scheduler", scheduler]
    start = time.perf_counter()
    stopped = threading.Event()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
        if cap_mb:
            watched = psutil.Process(proc.pid)

            def watch() -> None:
                while proc.returncode is None and not stopped.is_set():
                    try:
                        if watched.memory_info().rss > cap_mb * 2**20:
                            stopped.set()
                            proc.kill()
                            return
                    except psutil.Error:  # it has ended
                        return
                    time.sleep(0.05)

            threading.Thread(target=watch, daemon=True).start()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        if proc.returncode and not stopped.is_set():
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd[1:3])} failed ({proc.returncode}):\n{err.read()}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "stopped": stopped.is_set()}


def same_layers(a: Path, b: Path) -> bool:
    """Every layer of GeoPackage ``a`` equal to ``b``'s (and the workbooks beside them)."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    from geopandas.testing import assert_geodataframe_equal

    layers = [str(name) for name, _ in pyogrio.list_layers(a)]
    if layers != [str(name) for name, _ in pyogrio.list_layers(b)]:
        return False
    for layer in layers:
        one, two = gpd.read_file(a, layer=layer), gpd.read_file(b, layer=layer)
        try:
            if isinstance(one, gpd.GeoDataFrame):
                assert_geodataframe_equal(one, two)
            else:
                pd.testing.assert_frame_equal(one, two)
        except AssertionError:
            return False
    xa, xb = a.with_suffix(".xlsx"), b.with_suffix(".xlsx")
    if xa.exists() or xb.exists():
        sheets_a, sheets_b = pd.read_excel(xa, sheet_name=None), pd.read_excel(xb, sheet_name=None)
        if sheets_a.keys() != sheets_b.keys():
            return False
        try:
            for sheet in sheets_a:
                pd.testing.assert_frame_equal(sheets_a[sheet], sheets_b[sheet])
        except AssertionError:
            return False
    return True


def run_job(
    job: str, folder: Path, scratch: Path, args: argparse.Namespace, sizes: list[int],
    clusters: dict[int, Any],
) -> dict[str, Any]:  # fmt: skip
    """One job, every engine in turn: its floor, medians, peaks and the layers compared.

    A ``local`` run stopped at ``--local-cap`` is not repeated: its time is the time to the
    cap, its ratios are not computed and there are no local layers to compare with.
    """
    floor = [floor_seconds(folder, job)[0] for _ in range(args.runs)]
    names = " and ".join(READS[job])
    print(f"{job}: floor: pyarrow reads the {names} files (WKB undecoded), median "
          f"{statistics.median(floor):.2f} s")  # fmt: skip
    figures: dict[str, Any] = {"floor_s": statistics.median(floor), "engines": {}}
    engines = ["local", *[f"dask {n}" for n in sizes]]
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    cap = parse_mib(args.local_cap) if args.local_cap else None
    for r in range(args.runs):
        for engine in engines if r % 2 == 0 else engines[::-1]:
            if engine == "local" and any(x["stopped"] for x in runs["local"]):
                continue
            scheduler = None
            if engine != "local":
                cluster, client = clusters[int(engine.split()[1])]
                scheduler = cluster.scheduler_address
            out = scratch / f"{job}-{engine.replace(' ', '-')}.gpkg"
            pids = list(client.run(os.getpid).values()) if scheduler else []
            with PeakSampler(pids) as sampler, recording(scheduler and client) as stream:
                got = run_cli(
                    job_command(job, folder, out, args), scheduler,
                    cap if engine == "local" else None,
                )  # fmt: skip
            if scheduler:
                got["worker_peak_mb"] = sampler.peak / 2**20
                if job == "check" and engine == f"dask {max(sizes)}":
                    figures["profile"] = task_profile(stream.data, got["seconds"])
            runs[engine].append(got)
    stopped = any(x["stopped"] for x in runs["local"])
    base = None if stopped else statistics.median(x["seconds"] for x in runs["local"])
    for engine in engines:
        t = statistics.median(x["seconds"] for x in runs[engine])
        peak = max(x["peak_mb"] for x in runs[engine])
        entry = {"median_s": t, "runs_s": [x["seconds"] for x in runs[engine]], "peak_mb": peak}
        if engine == "local" and stopped:
            line = (f"{job} {'local':<8} stopped after {t:7.2f} s at {peak:,.0f} MiB, past "
                    f"--local-cap {args.local_cap}: one process needs more memory than that")  # fmt: skip
            entry["stopped"] = True
        else:
            ratio = "not computed" if base is None else f"{base / t:5.2f}"
            line = f"{job} {engine:<8} median {t:7.2f} s  ratio local / this {ratio}"
            line += f"  process peak {peak:,.0f} MiB"
        if engine != "local":
            worker = max(x["worker_peak_mb"] for x in runs[engine])
            line += f"  worker peak {worker:,.0f} MiB"
            entry["worker_peak_mb"] = worker
        print(line)
        figures["engines"][engine] = entry
    peak = max(x["peak_mb"] for r in runs.values() for x in r)
    print(f"{job}: peak RSS of the gridgeo processes (largest of all runs): {peak:,.0f} MiB")
    figures["process_peak_mb"] = peak
    for engine in engines[1:]:
        if stopped:
            print(f"{job}: layers of {engine} not compared: the local run was stopped")
            figures["engines"][engine]["equal"] = None
            continue
        equal = same_layers(
            scratch / f"{job}-local.gpkg", scratch / f"{job}-{engine.replace(' ', '-')}.gpkg"
        )
        print(f"{job}: layers of {engine} equal to local: {'yes' if equal else 'NO'}")
        figures["engines"][engine]["equal"] = equal
        if not equal:
            raise SystemExit(f"{job} {engine}: the layers differ from the local run")
    return figures


@contextlib.contextmanager
def recording(client: Any) -> Iterator[Any]:
    """The tasks the scheduler of ``client`` runs meanwhile, for whichever client sent them."""
    if not client:
        yield SimpleNamespace(data=[])
        return
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        yield stream


def parse_mib(text: str) -> float:
    """``16GB``, ``16GiB``, ``900MB`` or a number of MiB, in MiB."""
    import dask.utils

    if text.replace(".", "", 1).isdigit():
        return float(text)
    return dask.utils.parse_bytes(text) / 2**20


def task_profile(tasks: list[dict], wall: float) -> dict[str, Any]:
    """A run's wall time and its tasks' compute seconds by kind, from the scheduler's task stream."""
    from dask.utils import key_split

    kinds: dict[str, list[float]] = {}
    spans: list[tuple[float, float]] = []
    for task in tasks:
        computes = [s for s in task["startstops"] if s["action"] == "compute"]
        kinds.setdefault(key_split(task["key"]), []).append(
            sum(s["stop"] - s["start"] for s in computes)
        )
        spans += [(s["start"], s["stop"]) for s in computes]
    makespan = max(b for _, b in spans) - min(a for a, _ in spans) if spans else 0.0
    return {"wall_s": wall, "tasks_makespan_s": makespan, "task_s": kinds}


def projection(profile: dict[str, Any], buildings: int, target: int, workers: int) -> float:
    """Hours for ``target`` buildings on ``workers`` workers, from a profile of ``buildings``.

    The tasks' compute seconds scale with the buildings and divide among the workers; the
    border task (all the grids, one task) and the caller's own time (the wall time outside
    the tasks' span: reading the manifest and the small layers, the replay and the summary)
    scale with the buildings but do not divide.
    """
    scale = target / max(buildings, 1)
    tasks = sum(sum(v) for k, v in profile["task_s"].items() if k != "border")
    border = sum(profile["task_s"].get("border", []))
    caller = max(profile["wall_s"] - profile["tasks_makespan_s"], 0.0)
    return (tasks * scale / workers + (border + caller) * scale) / 3600


def print_profile(profile: dict[str, Any], buildings: int, target: int) -> dict[str, float]:
    print(f"check profile (the last run on the largest cluster): wall {profile['wall_s']:.2f} s, "
          f"tasks' span {profile['tasks_makespan_s']:.2f} s")  # fmt: skip
    for kind, secs in sorted(profile["task_s"].items(), key=lambda kv: -sum(kv[1])):
        print(f"  {kind:<12} {len(secs):5d} tasks  {sum(secs):8.2f} s in all  "
              f"median {statistics.median(secs):6.3f} s  max {max(secs):6.3f} s")  # fmt: skip
    hours = {}
    for workers in (2, 8, 32, 128):
        hours[str(workers)] = projection(profile, buildings, target, workers)
        print(f"  projection: {target:,} buildings on {workers:3d} workers: "
              f"{hours[str(workers)]:.2f} h")  # fmt: skip
    return hours


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
    parser.add_argument("--jobs", default=",".join(JOBS), help="comma-separated: hotspots,check")
    parser.add_argument("--as-of", default=AS_OF, help="the check's date")
    parser.add_argument(
        "--project", type=int, default=30_000_000, help="buildings of the projected province"
    )
    parser.add_argument(
        "--local-cap", default=None,
        help="stop the one-process run once its resident set passes this (e.g. 16GB)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    jobs = [j for j in args.jobs.split(",") if j]
    if unknown := [j for j in jobs if j not in JOBS]:
        parser.error(f"unknown job(s) {', '.join(unknown)}: give {', '.join(JOBS)}")

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
        sizes = [int(n) for n in args.workers.split(",") if n]
        clusters: dict[int, Any] = {}
        figures: dict[str, Any] = {"rows": rows, "jobs": {}}
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
        for job in jobs:
            figures["jobs"][job] = run_job(job, folder, scratch, args, sizes, clusters)
        if "check" in jobs and sizes:
            profile = figures["jobs"]["check"].pop("profile")
            figures["check_profile"] = profile
            figures["check_projection_h"] = print_profile(
                profile, rows.get("buildings", 0), args.project
            )
        for cluster, client in clusters.values():
            client.close()
            cluster.close()
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
