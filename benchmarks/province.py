"""Writing a province: time and peak memory of `gridgeo synth --scale province` by cities.

Each run is its own process, so each peak RSS is that run's alone:

* ``generate``: one city generated (:func:`gridgeo.synth.generate`), nothing written:
  the generator's own peak, the floor of any writer that holds one city;
* ``province N``: :func:`gridgeo.synth.province.write_province` of ``N`` cities, each at
  ``--fraction`` of the benchmark city (1.0: 10,000 grids, 1,000,000 buildings,
  10,000,000 visits per city).

The claim it checks: the peak does not grow with the number of cities (the largest
province's peak is within 15 % of the one-city province's), because the writer holds one
city at a time. The time grows with the rows written.

    python benchmarks/province.py --fraction 0.1 --cities 1,2,4
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The largest province's peak may exceed the one-city province's by this share.
GROWTH_TOLERANCE = 0.15
SIZES = ("communities", "grids", "buildings", "households", "visits", "problems")


def peak_rss_mb() -> float:
    """This process's peak resident set size, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def city(fraction: float) -> dict[str, object]:
    """The benchmark city's parameters, sizes scaled by ``fraction``."""
    from gridgeo.synth import SCALES

    values = dict(SCALES["city"])
    for key in SIZES:
        values[key] = max(round(values[key] * fraction), 1)
    values["grids"] = max(values["grids"], 6, values["communities"])
    return values


def child(kind: str, cities: int, fraction: float, out: Path) -> dict[str, object]:
    """One measured run (in this process); what it wrote and what it cost."""
    from gridgeo.synth import generate
    from gridgeo.synth.province import city_name, city_seed, write_province

    started = time.perf_counter()
    if kind == "generate":
        district = generate(city(fraction), seed=city_seed(0, 0), district=city_name(0))
        rows = district.counts
        del district
    else:
        rows = write_province(out, cities=cities, city_scale=city(fraction), seed=0).rows
    return {
        "kind": kind,
        "cities": cities,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "rows": rows,
        "bytes": sum(f.stat().st_size for f in out.rglob("*") if f.is_file()),
    }


def run(kind: str, cities: int, fraction: float, out: Path) -> dict[str, object]:
    """:func:`child` in a fresh interpreter."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(cities), str(fraction), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {cities} failed:\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--cities", default="1,2,4", help="comma-separated province sizes")
    parser.add_argument("--out", type=Path, default=None, help="scratch directory")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, cities, fraction, out = args.child
        print(json.dumps(child(kind, int(cities), float(fraction), Path(out))))
        return 0
    sizes = sorted({int(n) for n in args.cities.split(",")})
    scratch = Path(args.out or tempfile.mkdtemp(prefix="gridgeo-province-"))
    try:
        results = [run("generate", 1, args.fraction, scratch / "generate")]
        for n in sizes:
            results.append(run("province", n, args.fraction, scratch / f"province-{n}"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"cities at {args.fraction:g} of the benchmark city")
    print(f"{'run':<14}{'buildings':>12}{'visits':>13}{'seconds':>10}{'s/city':>9}{'peak MiB':>10}")
    for r in results:
        label = "generate 1" if r["kind"] == "generate" else f"province {r['cities']}"
        rows = r["rows"]
        print(
            f"{label:<14}{rows['buildings']:>12,}{rows['visits']:>13,}{r['seconds']:>10.1f}"
            f"{r['seconds'] / r['cities']:>9.1f}{r['peak_rss_mb']:>10,.0f}"
        )
    provinces = [r for r in results if r["kind"] == "province"]
    growth = provinces[-1]["peak_rss_mb"] / provinces[0]["peak_rss_mb"] - 1
    over = provinces[0]["peak_rss_mb"] / results[0]["peak_rss_mb"] - 1
    print(
        f"peak of {provinces[-1]['cities']} cities vs 1: {growth:+.1%} "
        f"(tolerance {GROWTH_TOLERANCE:.0%}); writer over the generator alone: {over:+.1%}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if growth > GROWTH_TOLERANCE:
        print("MISSED: the peak grows with the number of cities")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
