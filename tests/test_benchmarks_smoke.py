"""Smoke runs of the benchmarks on small data: they run, check and report.

Timings are not asserted: the machine is shared and noisy. The full-scale figures
come from running the scripts themselves (see benchmarks/README.md).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.postgis, pytest.mark.slow]


def run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    return output


def test_read_layer_benchmark_runs(fresh_postgis: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    output = run(
        "read_layer.py",
        "--n",
        "20000",
        "--runs",
        "1",
        "--db",
        fresh_postgis,
        "--json",
        str(figures),
    )
    assert "ratio read_postgis / gridgeo" in output, output
    assert "attributes and WKB agree" in output, output
    assert figures.is_file()


def test_load_layers_benchmark_runs(postgis_url: str) -> None:
    scratch = f"gridgeo_load_smoke_{uuid.uuid4().hex[:10]}"
    output = run(
        "load_layers.py",
        "--fraction",
        "0.002",
        "--runs",
        "1",
        "--db",
        postgis_url,
        "--database",
        scratch,
    )
    assert "ratio row by row / bulk" in output, output
    assert "visits" in output


def test_check_city_benchmark_runs(fresh_postgis: str, tmp_path: Path) -> None:
    from gridgeo.store import open_store
    from gridgeo.synth import generate

    district = generate("tiny", seed=0)
    store = open_store(fresh_postgis)
    try:
        store.write_layers(district.layers)
    finally:
        store.close()
    figures = tmp_path / "figures.json"
    output = run(
        "check_city.py",
        "--db",
        fresh_postgis,
        "--runs",
        "1",
        "--as-of",
        "2025-03-03",
        "--json",
        str(figures),
    )
    assert re.search(
        r"floor \(server-side binary COPY of the inputs to /dev/null\) [\d.]+ s", output
    )
    assert "ratio end-to-end / floor" in output, output
    assert "ratio SQL / gridgeo on the same two results" in output, output
    assert "peak RSS" in output, output
    floor = json.loads(figures.read_text())["floor_layer_seconds"]
    assert set(floor) >= {"grids", "buildings", "visits"} and all(floor.values()), floor
    assert figures.is_file()


def test_hotspots_benchmark_runs(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    output = run("hotspots.py", "--scale", "0.01", "--runs", "1", "--json", str(figures))
    assert "ratio loop / gridgeo" in output and "counts agree" in output, output
    assert "ratio esda / gridgeo (median), Gi* 999 permutations" in output, output
    assert "G, z and analytic p agree" in output, output
    assert "pseudo-p on the counts:" in output, output
    assert "limit 6 sigma: ok" in output, output
    assert "ratio esda / gridgeo (median), analytic Gi*" in output, output
    assert figures.is_file()


def test_tiles_benchmark_runs(fresh_postgis: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    output = run("tiles.py", "--quick", "--url", fresh_postgis, "--json", str(figures))
    assert "ratio uncached / ST_AsMVT (median): z14" in output, output
    assert "cached tiles, 32 concurrent clients" in output, output
    assert "errors 0" in output, output
    if "tipg: not installed" not in output:  # tipg comes with the bench extra
        assert "ratio throughput uncached gridgeo / tipg (median)" in output, output
        same = re.search(r"the same features on (\d+) of (\d+)", output)
        assert same and same[1] == same[2] != "0", output
    assert figures.is_file()


def test_map_pages_benchmark_runs(fresh_postgis: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    output = run("map_pages.py", "--quick", "--url", fresh_postgis, "--json", str(figures))
    assert "medians over the runs, 32 concurrent clients" in output, output
    assert "pages  after" in output and "mix  after" in output, output
    assert ", errors 0" in output and not re.search(r"errors [1-9]", output), output
    assert figures.is_file()


def test_request_bodies_benchmark_runs(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    output = run("request_bodies.py", "--mb", "3", "--clients", "2", "--json", str(figures))
    assert "peak above idle (largest case)" in output, output
    assert "no token, Content-Length: status [413]" in output, output
    assert "member token, chunked: status [413]" in output, output
    assert figures.is_file()


def test_layer_filters_benchmark_runs() -> None:
    output = run("layer_filters.py", "--runs", "1")
    assert output.count("(same rows and page)") == 4, output


def test_progress_overhead_benchmark_runs(postgis_url: str) -> None:
    scratch = f"gridgeo_progress_smoke_{uuid.uuid4().hex[:10]}"
    output = run(
        "progress_overhead.py",
        "--fraction",
        "0.002",
        "--runs",
        "1",
        "--db",
        postgis_url,
        "--database",
        scratch,
    )
    assert "vs none" in output and "upserting visits" in output, output


def test_province_benchmark_runs(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    output = run("province.py", "--fraction", "0.002", "--cities", "1,2", "--json", str(figures))
    assert "peak of 2 cities vs 1" in output, output
    runs = json.loads(figures.read_text(encoding="utf-8"))
    assert [(r["kind"], r["cities"]) for r in runs] == [
        ("generate", 1),
        ("province", 1),
        ("province", 2),
    ]
    assert runs[2]["rows"]["buildings"] > runs[1]["rows"]["buildings"] > 0


def test_version_notify_benchmark_runs(postgis_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    output = run(
        "version_notify.py",
        "--url",
        postgis_url,
        "--writes",
        "5",
        "--tiles",
        "40",
        "--clients",
        "4",
        "--json",
        str(figures),
    )
    assert "commit → another connection's listener" in output, output
    assert re.search(r"listener\s+[\d.]+ ms .* 0\s+\d+\s+40", output), output
    assert figures.is_file()


def test_live_benchmark_runs(postgis_url: str, tmp_path: Path) -> None:
    """Visits written while leaders read: none lost, all shown, the same as a batch check."""
    figures_file = tmp_path / "live.json"
    output = run("live.py", "--smoke", "--admin-url", postgis_url, "--json", str(figures_file))
    figures = json.loads(figures_file.read_text())
    writes = figures["writes"]
    assert writes["sent"] > 0 and writes["stored"] == writes["sent"], output
    for kind in ("findings", "tile"):
        assert figures[kind]["errors"] == 0 and figures[kind]["never_shown"] == 0, output
        assert figures[kind]["commit_to_visible_s"]["n"] == writes["stored"], output
    counts = figures["finding_rows_served_vs_batch"]
    assert counts and all(served == batch for served, batch in counts.values()), counts
    assert "served findings equal a batch check" in output
    assert re.search(r"cleaned up: [\d,]+ visits deleted", output), output


def test_scaleout_benchmark_runs(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    figures = tmp_path / "figures.json"
    output = run(
        "scaleout.py", "--cities", "2", "--city-scale", "tiny", "--workers", "2", "--runs", "1",
        "--permutations", "99", "--cells", "h3:10", "--json", str(figures),
    )  # fmt: skip
    assert "hotspots: floor: pyarrow reads the problems files" in output, output
    assert "check: floor: pyarrow reads the grids and buildings" in output, output
    for job in ("hotspots", "check"):
        assert re.search(rf"{job} dask 2 +median +[\d.]+ s +ratio local / this", output), output
        assert f"{job}: layers of dask 2 equal to local: yes" in output, output
        assert json.loads(figures.read_text())["jobs"][job]["engines"]["dask 2"]["equal"] is True
    assert re.search(r"partition +\d+ tasks", output), output
    assert re.search(r"projection: 30,000,000 buildings on +8 workers: [\d.]+ h", output), output


def test_scaleout_stops_the_one_process_run_at_its_cap(tmp_path: Path) -> None:
    """A region past one machine: the local run stopped at the cap, the Dask run completes."""
    pytest.importorskip("distributed")
    figures = tmp_path / "figures.json"
    output = run(
        "scaleout.py", "--cities", "2", "--city-scale", "tiny", "--workers", "1", "--runs", "2",
        "--jobs", "check", "--local-cap", "60MB", "--json", str(figures),
    )  # fmt: skip
    assert re.search(r"check local +stopped after +[\d.]+ s at [\d,]+ MiB, past --local-cap 60MB",
                     output), output  # fmt: skip
    assert re.search(r"check dask 1 +median .* ratio local / this not computed", output), output
    assert "check: layers of dask 1 not compared: the local run was stopped" in output, output
    engines = json.loads(figures.read_text())["jobs"]["check"]["engines"]
    assert engines["local"]["stopped"] is True and len(engines["local"]["runs_s"]) == 1
    assert engines["local"]["peak_mb"] > 60 and engines["dask 1"]["equal"] is None
    assert len(engines["dask 1"]["runs_s"]) == 2
