"""``gridgeo load FILE.gpkg``: every gridgeo layer of a GeoPackage, in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridgeo.cli.common import (
    DateFormatOption,
    DbOption,
    fails_cleanly,
    out,
    progress_bar,
    results_table,
)
from gridgeo.errors import ValidationError

__all__ = ["load"]


@fails_cleanly
def load(
    file: Annotated[Path, typer.Argument()],
    date_format: DateFormatOption = None,
    db: DbOption = None,
) -> None:
    """Load every layer of a GeoPackage (such as shapes/sample_district.gpkg) in one transaction."""
    import pyogrio

    from gridgeo.io import read_file
    from gridgeo.layers import LAYER_ORDER
    from gridgeo.store import open_store
    from gridgeo.validate import prepare_layer

    if not file.exists():
        from gridgeo.errors import NotFound

        raise NotFound(f"{file}: no such file")
    from gridgeo.io import detect_format

    if detect_format(file) != "gpkg":
        raise ValidationError(
            f"{file.name} is not a GeoPackage; load reads a GeoPackage with gridgeo's layers, "
            "use `gridgeo import LAYER FILE` for other files"
        )
    available = {str(name) for name, _ in pyogrio.list_layers(file)}
    layers = [name for name in LAYER_ORDER if name in available]
    if not layers:
        raise ValidationError(
            f"{file.name} has none of gridgeo's layers ({', '.join(LAYER_ORDER)}); "
            "use `gridgeo import LAYER FILE --layer NAME` for other layer names"
        )
    frames = {}
    with progress_bar() as progress:
        for i, name in enumerate(layers):
            progress("reading and checking", i, len(layers))
            read = read_file(file, layer=name)
            frames[name] = prepare_layer(
                read.frame, name, source=read.name, rows=read.rows, date_format=date_format
            ).written
        progress("reading and checking", len(layers), len(layers))
        store = open_store(db)
        try:
            results = store.write_layers(frames, source=file.name, progress=progress)
        finally:
            store.close()
    out.print(results_table(results, f"{file.name} → {store.url}"))
