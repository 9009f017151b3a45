"""``gridgeo import LAYER FILE``: one layer from a file, all or nothing.

``gridgeo import DIR`` reads every layer of a folder written by ``gridgeo export --format
geoparquet`` (:mod:`gridgeo.io.geoparquet`), checked as any import, in one transaction.
"""

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
    file: Annotated[Path | None, typer.Argument()] = None,
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

    if file is None:
        single = {"--layer": source_layer, "--id-column": id_column,
                  "--generate-ids": generate_ids, "--crs": crs, "--where": where,
                  "--map": mapping, "--x": x, "--y": y, "--wkt": wkt,
                  "--encoding": encoding}  # fmt: skip
        given = [name for name, value in single.items() if value]
        if given:
            raise typer.BadParameter(
                "applies to one file (gridgeo import LAYER FILE), not to a folder",
                param_hint=given[0],
            )
        _import_folder(Path(layer), repair=repair, date_format=date_format, db=db)
        return
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


def _import_folder(folder: Path, *, repair: bool, date_format: str | None, db: str | None) -> None:
    """Every layer of a partitioned GeoParquet folder, checked, in one transaction."""
    from gridgeo.errors import FileFormatError, Issue, NotFound
    from gridgeo.io.geoparquet import read_geoparquet
    from gridgeo.store import open_store
    from gridgeo.validate import prepare_layer

    if not folder.exists():
        raise NotFound(f"{folder}: no such file or folder")
    if not folder.is_dir():
        raise FileFormatError(
            Issue(
                "is a file: give the layer too (gridgeo import LAYER FILE), or a folder "
                "written by gridgeo export --format geoparquet",
                file=str(folder),
            )
        )
    started = time.perf_counter()
    with progress_bar() as progress:
        read = read_geoparquet(folder, progress=progress)
        prepared = {}
        names = list(read.frames)
        for i, name in enumerate(names):
            progress("reading and checking", i, len(names))
            prepared[name] = prepare_layer(
                read.frames[name], name, source=read.sources[name], repair=repair,
                date_format=date_format,
            )  # fmt: skip
        progress("reading and checking", len(names), len(names))
        store = open_store(db)
        try:
            results = store.write_layers(
                {name: p.written for name, p in prepared.items()},
                source=folder.name,
                progress=progress,
            )
        finally:
            store.close()
    seconds = time.perf_counter() - started
    for name, p in prepared.items():
        for line in p.notes:
            note(line)
        result = results[name]
        out.print(
            f"{name}: {p.rows_read:,} rows read from {read.sources[name]}"
            f": {result.inserted:,} inserted, {result.updated:,} updated, "
            f"{result.unchanged:,} unchanged"
            + (f", {p.repaired:,} repaired" if p.repaired else ""),
            highlight=False,
        )
    out.print(f"{len(prepared)} layers from {folder} in {seconds:.1f} s", highlight=False)


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
