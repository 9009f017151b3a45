"""Date and time filters on ``/layers``: a range selected by the store vs reading the layer.

For each filter (``visits?visited_at=2025-03``, ``visits?visited_at=2025-03-04``,
``problems?reported_at=2025-03-04``, ``meetings?held_on=2025``) it times, alternately,

- ``route``: ``GET /layers/{layer}?{filter}&limit=100`` through the app (the store
  selects the range and reads one page, and counts the rest);
- ``whole``: what the route did before: the whole layer read with its geometry, then the
  ISO text of each value compared with the filter in Python, then the page cut.

and checks that both give the same number of rows and the same page. It prints the
median seconds of each and their ratio. By default it runs on the sample district in a
temporary embedded store; ``--db`` names another store (read only), e.g. PostGIS.

Run it::

    .venv/bin/python benchmarks/layer_filters.py
    .venv/bin/python benchmarks/layer_filters.py --db postgresql://postgres@127.0.0.1:5432/gridgeo_test
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "shapes" / "sample_district.gpkg"
FILTERS = [
    ("visits", "visited_at", "2025-03"),
    ("visits", "visited_at", "2025-03-04"),
    ("problems", "reported_at", "2025-03-04"),
    ("meetings", "held_on", "2025"),
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="a store URL (default: the sample in a temporary file)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db
        if url is None:
            from typer.testing import CliRunner

            from gridgeo.cli import app as cli

            url = f"sqlite:///{Path(tmp) / 'filters.sqlite'}"
            result = CliRunner().invoke(cli, ["load", str(SAMPLE), "--db", url])
            if result.exit_code != 0:
                raise SystemExit(f"loading the sample district failed:\n{result.output}")
        run(url, args.runs)
    return 0


def run(url: str, runs: int) -> None:
    from fastapi.testclient import TestClient

    from api.filters import apply_filters
    from api.main import create_app
    from gridgeo.settings import Settings

    settings = Settings(database_url=url, auth="off")
    with TestClient(create_app(settings)) as client:
        client.get("/layers/grids?limit=1")  # opens the store
        store = client.app.state.store
        print(f"store {store.url}")
        for layer, column, value in FILTERS:
            route: list[float] = []
            whole: list[float] = []
            for _ in range(runs):
                start = time.perf_counter()
                body = client.get(f"/layers/{layer}", params={column: value, "limit": 100}).json()
                route.append(time.perf_counter() - start)
                start = time.perf_counter()
                frame = store.read_layer(layer)
                frame = apply_filters(frame, {column: value}, settings.timezone)
                page = list(frame["code"].iloc[:100])
                whole.append(time.perf_counter() - start)
            assert body["numberMatched"] == len(frame), (layer, value)
            assert [f["id"] for f in body["features"]] == page, (layer, value)
            r, w = statistics.median(route), statistics.median(whole)
            print(
                f"{layer}?{column}={value}: {len(frame):,} rows; route {r:.3f} s, "
                f"whole layer {w:.3f} s, ratio {w / r:.1f}x (same rows and page)"
            )


if __name__ == "__main__":
    raise SystemExit(main())
