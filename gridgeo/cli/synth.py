"""``gridgeo synth``: a synthetic district with deliberate defects, written or loaded.

``gridgeo synth --scale province --out DIR`` (or ``--cities N``) writes a province of
cities to partitioned GeoParquet instead, one city at a time
(:func:`gridgeo.synth.province.write_province`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from gridgeo.cli.common import fails_cleanly, out, progress_bar, results_table

__all__ = ["synth"]

PROVINCE = "province"


@fails_cleanly
def synth(
    scale: Annotated[str | None, typer.Option()] = None,
    seed: Annotated[int, typer.Option()] = 0,
    out_file: Annotated[Path | None, typer.Option("--out")] = None,
    db: Annotated[str | None, typer.Option("--db")] = None,
    cities: Annotated[int | None, typer.Option("--cities")] = None,
    city_scale: Annotated[str | None, typer.Option("--city-scale")] = None,
) -> None:
    """Generate a synthetic district with deliberate defects, or a province of them."""
    if scale == PROVINCE or (scale is None and (cities is not None or city_scale is not None)):
        _province(out_file, db, cities, city_scale, seed)
        return
    if cities is not None or city_scale is not None:
        option = "--cities" if cities is not None else "--city-scale"
        raise typer.BadParameter(
            f"{option} is for a province: give --scale {PROVINCE} (each city is --city-scale)",
            param_hint=option,
        )
    _district(scale or "sample", seed, out_file, db)


def _district(scale: str, seed: int, out_file: Path | None, db: str | None) -> None:
    from gridgeo.store import open_store
    from gridgeo.synth import generate, write_gpkg

    if out_file is None and db is None:
        raise typer.BadParameter("give --out FILE.gpkg and/or --db URL")
    started = time.perf_counter()
    with progress_bar() as progress:
        district = generate(scale, seed=seed, progress=progress)
        if out_file is not None:
            write_gpkg(district, out_file, progress=progress)
        results = None
        if db is not None:
            store = open_store(db)
            try:
                results = store.write_layers(
                    district.layers, source=f"synth {scale}", progress=progress
                )
            finally:
                store.close()
    sizes = ", ".join(f"{len(f):,} {name}" for name, f in district.layers.items())
    out.print(f"{scale} district (seed {seed}): {sizes}", highlight=False)
    if out_file is not None:
        out.print(f"written to {out_file}", highlight=False)
    if results is not None:
        out.print(results_table(results, f"loaded into {db}"))
    out.print(f"done in {time.perf_counter() - started:.1f} s", highlight=False)


def _province(
    directory: Path | None, db: str | None, cities: int | None, city_scale: str | None, seed: int
) -> None:
    from gridgeo.synth.parameters import SCALES
    from gridgeo.synth.province import DEFAULT_CITIES, write_province

    if directory is None:
        raise typer.BadParameter(
            "a province is written to a directory: give --out DIR", param_hint="--out"
        )
    if db is not None:
        raise typer.BadParameter(
            "a province is not loaded into a store; write it with --out DIR", param_hint="--db"
        )
    cities = DEFAULT_CITIES if cities is None else cities
    if cities < 1:
        raise typer.BadParameter(f"{cities}: a province has at least 1 city", param_hint="--cities")
    city_scale = city_scale or "city"
    if city_scale not in SCALES:
        raise typer.BadParameter(
            f"{city_scale!r}: one of {', '.join(SCALES)}", param_hint="--city-scale"
        )
    started = time.perf_counter()
    with progress_bar() as progress:
        province = write_province(
            directory, cities=cities, city_scale=city_scale, seed=seed, progress=progress
        )
    sizes = ", ".join(f"{rows:,} {name}" for name, rows in province.rows.items())
    out.print(
        f"province of {province.cities} cities at {city_scale} scale (seed {seed}), "
        f"{len(province.partitions):,} partitions: {sizes}",
        highlight=False,
    )
    out.print(f"written to {province.directory}", highlight=False)
    out.print(f"done in {time.perf_counter() - started:.1f} s", highlight=False)
