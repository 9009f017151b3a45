"""Map pages under load: the coverage map page alone, and 10 % pages among 90 % tiles.

The targets, on the sample district with a planner's token and 32 concurrent clients
(uvicorn, one worker, PostGIS):

1. ``pages``: ``GET /maps/coverage`` only: the 95th percentile at most 200 ms;
2. ``mix``: one page in ten, the other nine the tiles the page itself asks for (its
   basemap and vector-tile layers at zooms 14–16 over the district): the 95th
   percentile at most 100 ms;
3. ``tiles``: those tiles alone, beside them (no target here: ``tiles.py`` has the
   tiles' own, on the benchmark city).

Both are measured side by side with the same scenarios on the code of another git
revision (``--before main``, unpacked with ``git archive`` into a temporary folder and
served by the same Python): the runs alternate between the two servers, and each figure
is the median over ``--runs`` runs. The tiles come from the page's own tile URLs (with
the page's tile key, as a browser asks for them); pages carry the token as an
``Authorization`` header. Every server is warmed first (one page, every tile once).

The load generator is ``wrk`` when installed (``apt-get install wrk``), else an
``httpx`` async client, as in ``tiles.py``.

Run it::

    .venv/bin/python benchmarks/map_pages.py --before main
    .venv/bin/python benchmarks/map_pages.py --duration 5 --runs 1       # this tree only
    .venv/bin/python benchmarks/map_pages.py --quick --url postgresql://postgres@127.0.0.1:5432/scratch

The sample district is loaded into ``--url`` (written to!) unless ``--reuse``; a
planner token is created in it each run. ``--quick`` is the smoke run (short runs, no
``--before``); it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tiles as tile_bench  # this folder's load generator and server runner

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gridgeo_map_pages"
PAGE = "/maps/coverage"
#: p95 targets of the pages alone and of the mix; the tiles alone are measured beside them
TARGETS_MS = {"pages": 200.0, "mix": 100.0, "tiles": None}
ZOOMS = (14, 15, 16)
_TILE_URL = re.compile(r'"(/tiles/[a-z_]+/\{z\}/\{x\}/\{y\}\.mvt[^"]*)"')


def planner_token(url: str) -> str:
    """A new planner token (the whole district) in the store at ``url``."""
    from gridgeo.store import open_store
    from gridgeo.tokens import create_token

    store = open_store(url)
    try:
        token, _ = create_token(store, "planner", label="benchmarks/map_pages.py")
    finally:
        store.close()
    return token


def district_bounds(url: str) -> tuple[float, float, float, float]:
    from gridgeo.store import open_store

    store = open_store(url)
    try:
        minx, miny, maxx, maxy = store.read_layer("grids", columns=[]).total_bounds
    finally:
        store.close()
    return float(minx), float(miny), float(maxx), float(maxy)


def tile_paths(html: str, bounds: tuple[float, float, float, float]) -> list[str]:
    """Every tile the page's tile URLs name over ``bounds`` at :data:`ZOOMS`."""
    import mercantile

    templates = sorted(set(_TILE_URL.findall(html)))
    if not templates:
        raise SystemExit(f"{PAGE}: the page names no tile URL")
    tiles = [t for z in ZOOMS for t in mercantile.tiles(*bounds, zooms=z)]
    return [
        t.replace("{z}", str(tile.z)).replace("{x}", str(tile.x)).replace("{y}", str(tile.y))
        for tile in tiles
        for t in templates
    ]


def mix_paths(tiles: Sequence[str], page: str = PAGE) -> list[str]:
    """One page in every ten requests, the tiles in turn between them."""
    out: list[str] = []
    for i, tile in enumerate(tiles):
        if i % 9 == 0:
            out.append(page)
        out.append(tile)
    return out


@contextmanager
def source_tree(ref: str | None) -> Iterator[Path]:
    """This repository (``ref`` None) or its revision ``ref`` unpacked in a temporary folder.

    The unpacked tree borrows this tree's vendored browser assets.
    """
    if ref is None:
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix="gridgeo-before-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", ref],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        vendor = ROOT / "api" / "static" / "vendor"
        if vendor.is_dir() and not (Path(tmp) / "api" / "static" / "vendor").exists():
            os.symlink(vendor, Path(tmp) / "api" / "static" / "vendor")
        yield Path(tmp)


def server(tree: Path, url: str) -> Any:
    """uvicorn of ``api.main:create_app`` from ``tree`` (one worker, no access log), auth on."""
    env = {**os.environ, "GRIDGEO_DATABASE_URL": url, "GRIDGEO_AUTH": "on",
           "PYTHONPATH": str(tree)}  # fmt: skip
    command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning",
               "--no-access-log"]  # fmt: skip
    return tile_bench.running(command, "/health", cwd=tree, env=env)


def warm(base: str, token: str, bounds: tuple[float, float, float, float]) -> list[str]:
    """Ask for the page and every tile once; return the tile paths."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=120, headers=headers) as http:
        page = http.get(PAGE)
        page.raise_for_status()
        tiles = tile_paths(page.text, bounds)
        for path in tiles:
            http.get(path).raise_for_status()
    return tiles


def run(args: argparse.Namespace, tool: str, token: str) -> dict[str, Any]:
    """The figures of every scenario on every tree, each a list over the runs."""
    bounds = district_bounds(args.url)
    headers = {"Authorization": f"Bearer {token}"}
    trees = {"after": None, **({"before": args.before} if args.before else {})}
    figures: dict[str, Any] = {name: {s: [] for s in TARGETS_MS} for name in trees}
    with source_tree(args.before) as before_tree:
        roots = {"after": ROOT, "before": before_tree}
        for rnd in range(args.runs):
            order = list(trees) if rnd % 2 == 0 else list(reversed(trees))
            for name in order:
                with server(roots[name], args.url) as base:
                    tiles = warm(base, token, bounds)
                    scenarios = {"pages": [PAGE], "mix": mix_paths(tiles), "tiles": tiles}
                    for scenario, paths in scenarios.items():
                        result = tile_bench.load(
                            base, paths, args.clients, args.duration, tool, headers
                        )
                        result["tiles"] = len(tiles)
                        figures[name][scenario].append(result)
                        _print_run(rnd, name, scenario, result)
    return figures


def _print_run(rnd: int, name: str, scenario: str, r: dict[str, Any]) -> None:
    print(f"  run {rnd + 1} {name:>6} {scenario:>5}: {r['requests']:>6,} requests, "
          f"{r['rps']:>7,.1f} req/s, p50 {r['p50_ms']:>7.1f} ms, p95 {r['p95_ms']:>7.1f} ms, "
          f"errors {r['errors']}", flush=True)  # fmt: skip


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p95_ms")}


def report(figures: dict[str, Any], clients: int) -> dict[str, Any]:
    """Print the medians side by side and the targets; return the medians."""
    out: dict[str, Any] = {}
    print(f"\nmedians over the runs, {clients} concurrent clients")
    print(f"{'scenario':>8} {'code':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}  target")
    for scenario, target in TARGETS_MS.items():
        for name in figures:
            m = medians(figures[name][scenario])
            out.setdefault(name, {})[scenario] = m
            mark = ""
            if name == "after" and target is not None:
                verdict = "ok" if m["p95_ms"] <= target else "MISSED"
                mark = f"p95 <= {target:.0f} ms: {verdict}"
            print(f"{scenario:>8} {name:>6} {m['rps']:>8,.1f} {m['p50_ms']:>8.1f} "
                  f"{m['p95_ms']:>8.1f}  {mark}")  # fmt: skip
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostGIS URL (written to)")
    parser.add_argument("--reuse", action="store_true", help="the sample is loaded already")
    parser.add_argument("--before", help="a git revision to measure side by side (e.g. main)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tool", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--quick", action="store_true", help="smoke run: short, this tree only")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.runs, args.before = 1.0, 1, None
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    if not args.reuse:
        tile_bench.load_sample(args.url)
    token = planner_token(args.url)
    print(f"{PAGE} on the sample district, planner token, {args.clients} clients, "
          f"{args.duration:.0f} s per run, {args.runs} run(s), load generator {tool}")  # fmt: skip
    figures = run(args, tool, token)
    summary = report(figures, args.clients)
    if args.json:
        args.json.write_text(json.dumps({"runs": figures, "medians": summary}, indent=2))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
