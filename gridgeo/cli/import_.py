"""``gridgeo import LAYER FILE``: one layer from a file, all or nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from gridgeo.cli.common import (
    CrsOption,
    DateFormatOption,
    DbOption,
    EncodingOption,
    fails_cleanly,
    note,
    out,
    parse_map,
    progress_bar,
    step,
)

__all__ = ["import_"]


@fails_cleanly
def import_(
    layer: Annotated[str, typer.Argument()],
    file: Annotated[Path, typer.Argument()],
    source_layer: Annotated[str | None, typer.Option("--layer")] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id-column"),
    ] = None,
    generate_ids: Annotated[
        str | None,
        typer.Option("--generate-ids"),
    ] = None,
    crs: CrsOption = None,
    repair: Annotated[bool, typer.Option("--repair")] = False,
    where: Annotated[
        str | None,
        typer.Option("--where"),
    ] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map")] = None,
    x: Annotated[str | None, typer.Option("--x")] = None,
    y: Annotated[str | None, typer.Option("--y")] = None,
    wkt: Annotated[str | None, typer.Option("--wkt")] = None,
    encoding: EncodingOption = None,
    date_format: DateFormatOption = None,
    db: DbOption = None,
) -> None:
    """Import one layer from a file, all or nothing; re-importing updates, never duplicates."""
    from gridgeo.io import read_file
    from gridgeo.layers import get_layer
    from gridgeo.store import open_store
    from gridgeo.validate import prepare_layer

    get_layer(layer)
    started = time.perf_counter()
    with progress_bar() as progress:
        progress(f"reading {file.name}", 0, 1)
        read = read_file(
            file,
            layer=source_layer,
            target=layer,
            crs=crs,
            where=where,
            x=x,
            y=y,
            wkt=wkt,
            encoding=encoding,
        )
        progress(f"reading {file.name}", 1, 1)
        with step(progress, f"checking {layer}"):
            prepared = prepare_layer(
                read.frame,
                layer,
                source=read.name,
                rows=read.rows,
                mapping=parse_map(mapping or []),
                id_columns=id_column.split(",") if id_column else (),
                generate_ids=generate_ids,
                repair=repair,
                date_format=date_format,
            )
        store = open_store(db)
        try:
            result = store.write_layers(
                {layer: prepared.written}, source=read.name, progress=progress
            )[layer]
        finally:
            store.close()
    _print_outcome(layer, read, prepared, result, time.perf_counter() - started)


def _print_outcome(layer: str, read: Any, prepared: Any, result: Any, seconds: float) -> None:
    """The notes of reading and checking, then what was written."""
    for line in read.notes + prepared.notes:
        note(line)
    if prepared.ignored_columns:
        note(f"columns not used: {', '.join(map(str, prepared.ignored_columns))}")
    out.print(
        f"{layer}: {prepared.rows_read:,} rows read from {read.name}"
        + (f" (layer {read.layer})" if read.layer else "")
        + f": {result.inserted:,} inserted, {result.updated:,} updated, {result.unchanged:,} unchanged"
        + (f", {prepared.repaired:,} repaired" if prepared.repaired else "")
        + f" in {seconds:.1f} s",
        highlight=False,
    )
