"""Smoke runs of benchmarks/fix_city.py on small data: it runs, checks again and reports.

Timings are not asserted (the machine is shared); the city figures come from running
the script on the benchmark city.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fix_city.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    return output


def test_fix_benchmark_on_a_generated_district(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    output = run("--generate", "tiny", "--check-again", "--json", str(figures))
    assert "ratio fix grids / check" in output, output
    assert "ratio fix assignments / check" in output, output
    data = json.loads(figures.read_text())
    assert data["grids"]["valid_coverage"] is True
    assert data["grids"]["overlaps_after"] == 0 and data["grids"]["slivers_after"] == 0
    assert data["check_again"]["all_listed_for_the_cadres"] is True


@pytest.mark.postgis
def test_fix_benchmark_reads_a_store(fresh_postgis: str) -> None:
    from gridgeo.store import open_store
    from gridgeo.synth import generate

    store = open_store(fresh_postgis)
    try:
        store.write_layers(generate("tiny", seed=0).layers)
    finally:
        store.close()
    output = run("--db", fresh_postgis, "--as-of", "2025-03-03")
    assert "fix assignments:" in output, output
    assert "all targets met" in output or "targets missed" in output, output
