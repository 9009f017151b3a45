"""``gridgeo synth``: a synthetic district with deliberate defects, written or loaded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from gridgeo.cli.common import fails_cleanly, out, progress_bar, results_table

__all__ = ["synth"]


@fails_cleanly
def synth(
    scale: Annotated[str, typer.Option()] = "sample",
    seed: Annotated[int, typer.Option()] = 0,
    out_file: Annotated[Path | None, typer.Option("--out")] = None,
    db: Annotated[str | None, typer.Option("--db")] = None,
) -> None:
    """Generate a synthetic district with deliberate defects (and write or load it)."""
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
