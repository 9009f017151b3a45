"""Progress: named steps covering reading and writing, bars that move, lines in a log."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from frames import district
from rich.console import Console

from gridgeo.cli.progress import LineProgress
from gridgeo.store import PostGISStore, open_store

SAMPLE = Path(__file__).resolve().parent.parent / "shapes" / "sample_district.gpkg"
LINE = re.compile(r"^(?P<step>.+): (?P<done>[\d,]+)/(?P<total>[\d,]+) \((?P<s>[\d.]+) s\)$")


def _gridgeo(*args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process: stderr is a pipe, not a terminal."""
    environ = {k: v for k, v in os.environ.items() if k != "GRIDGEO_PROGRESS"}
    return subprocess.run(
        [sys.executable, "-m", "gridgeo", *map(str, args)],
        capture_output=True,
        text=True,
        env={**environ, **env},
        timeout=300,
        check=False,
    )


def _steps(stderr: str) -> list[tuple[str, int, int]]:
    lines = [LINE.match(line) for line in stderr.splitlines()]
    return [
        (m["step"], int(m["done"].replace(",", "")), int(m["total"].replace(",", "")))
        for m in lines
        if m
    ]


def test_without_a_terminal_a_check_logs_its_named_steps_from_reading_to_writing(
    tmp_path: Path,
) -> None:
    done = _gridgeo(
        "check", "--db", f"sqlite:///{tmp_path / 's.sqlite'}", "--out", tmp_path / "c.gpkg"
    )
    assert done.returncode != 0  # an empty store: refused, but only after reading started
    run = _gridgeo("load", SAMPLE, "--db", f"sqlite:///{tmp_path / 's.sqlite'}")
    assert run.returncode == 0, run.stderr
    assert _steps(run.stderr)[0][:2] == ("reading and checking", 0)
    run = _gridgeo(
        "check", "--db", f"sqlite:///{tmp_path / 's.sqlite'}", "--out", tmp_path / "c.gpkg"
    )
    assert run.returncode == 0, run.stderr
    steps = _steps(run.stderr)
    names = [name for name, _, _ in steps]
    assert names[0] == "reading the input files" and names[-1] == "writing c.gpkg"
    assert ("writing c.gpkg", 1, 1) in steps
    assert {"checking: gaps", "checking: overlaps"} <= set(names)
    assert len(steps) < 40  # a log, not a stream


def test_gridgeo_progress_0_silences_the_lines(tmp_path: Path) -> None:
    run = _gridgeo("synth", "--scale", "tiny", "--out", tmp_path / "t.gpkg", GRIDGEO_PROGRESS="0")
    assert run.returncode == 0, run.stderr
    assert _steps(run.stderr) == []
    run = _gridgeo("synth", "--scale", "tiny", "--out", tmp_path / "u.gpkg")
    assert run.returncode == 0, run.stderr
    assert any(name.startswith("writing ") for name, _, _ in _steps(run.stderr))


def test_lines_come_at_each_start_and_end_and_at_most_every_ten_seconds() -> None:
    now = [0.0]
    buffer = io.StringIO()
    lines = LineProgress(Console(file=buffer, width=200), clock=lambda: now[0])
    for i in range(1000):  # a bar advancing every 0.1 s for 100 s
        now[0] = i * 0.1
        lines("storing buildings", i, 1000)
    lines("storing buildings", 1000, 1000)
    lines("indexing buildings: ix_a", 0, 2)
    lines("indexing buildings: ix_b", 1, 2)
    now[0] = 130.0
    lines.beat()  # one long statement: a line although nothing reported
    text = buffer.getvalue().splitlines()
    assert text[0] == "storing buildings: 0/1,000 (0.0 s)"
    assert len([t for t in text if t.startswith("storing")]) == 11  # start, 9 timed, end
    assert text[-3:] == [
        "indexing buildings: ix_a: 0/2 (0.0 s)",
        "indexing buildings: ix_b: 1/2 (0.0 s)",
        "indexing buildings: ix_b: 1/2 (30.1 s)",
    ]


@pytest.mark.postgis
def test_a_bulk_load_into_postgis_reports_upsert_each_index_and_analyze(
    fresh_postgis: str,
) -> None:
    store = open_store(fresh_postgis)
    assert isinstance(store, PostGISStore)
    store.bulk_rows = 1  # every first load of a table takes the bulk path
    seen: list[tuple[str, int, int]] = []
    store.write_layers(district(), progress=lambda *a: seen.append(a))
    store.close()
    grids = [s for s in seen if "grids" in s[0] and "buildings" not in s[0]]
    assert ("preparing grids (2 rows)", 1, 1) in grids
    assert ("upserting grids (2 rows)", 0, 1) in grids
    assert ("upserting grids (2 rows)", 1, 1) in grids
    indexing = [s for s in grids if s[0].startswith("indexing grids")]
    assert indexing[-1][1] == indexing[-1][2] > 0  # the bar ends full
    assert [s[1] for s in indexing] == list(range(len(indexing)))
    assert all(": ix_" in s[0] or ": fk_" in s[0] or "done" in s[0] for s in indexing), indexing
    assert ("analysing grids", 1, 1) in grids
