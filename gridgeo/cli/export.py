"""``gridgeo export LAYER FILE``: a stored layer to a file QGIS or Excel opens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridgeo.cli.common import DbOption, fails_cleanly, out
from gridgeo.layers import LAYER_ORDER

__all__ = ["export"]


@fails_cleanly
def export(
    layer: Annotated[str, typer.Argument(help=f"One of: {', '.join(LAYER_ORDER)}.")],
    file: Annotated[Path, typer.Argument(help="Output .gpkg, .geojson, .shp, .csv or .xlsx.")],
    include_personal: Annotated[
        bool, typer.Option("--include-personal", help="Include household names and phone numbers.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Write a stored layer to a file that QGIS or Excel opens (no personal data by default)."""
    from gridgeo.io import write_file
    from gridgeo.store import open_store

    store = open_store(db)
    try:
        frame = store.read_layer(layer, include_personal=include_personal)
    finally:
        store.close()
    write_file(frame, file, layer=layer)
    out.print(f"{layer}: {len(frame):,} rows written to {file}", highlight=False)
