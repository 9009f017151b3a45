"""``gridgeo basemap build``: a basemap file of the district drawn from a store's data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridgeo.cli.common import DbOption, fails_cleanly, out

__all__ = ["basemap_build"]


@fails_cleanly
def basemap_build(
    out_path: Annotated[Path, typer.Option("--out")],
    db: DbOption = None,
    zooms: Annotated[str, typer.Option("--zooms")] = "12-17",
    bbox: Annotated[
        str | None,
        typer.Option("--bbox"),
    ] = None,
) -> None:
    """Draw the district's communities, grids and buildings into a basemap file.

    Point GRIDGEO_BASEMAP_FILE at the file to serve it as the map pages' basemap.
    """
    from gridgeo.basemaps import build_basemap, parse_zooms
    from gridgeo.errors import ValidationError
    from gridgeo.store import open_store

    bounds = None
    if bbox is not None:
        try:
            w, s, e, n = (float(v) for v in bbox.split(","))
        except ValueError:
            raise ValidationError(f"--bbox {bbox!r}: give west,south,east,north") from None
        bounds = (w, s, e, n)
    first_last = parse_zooms(zooms)
    store = open_store(db)
    try:
        built = build_basemap(store, out_path, zooms=first_last, bounds=bounds)
    finally:
        store.close()
    z0, z1 = built.zooms
    out.print(f"wrote {built.tiles} tiles (zooms {z0}-{z1}) to {built.path}", highlight=False)
