"""``gridgeo export LAYER FILE``: a stored layer to a file QGIS or Excel opens.

``gridgeo export --format geoparquet DIR`` writes every layer instead, as the partitioned
exchange format (:mod:`gridgeo.io.geoparquet`) that ``gridgeo import DIR`` and Dask read.

``gridgeo export audit FILE`` writes the audit log instead: CSV (``old`` and ``new`` as
JSON text) or JSON Lines (``.jsonl``), oldest change first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridgeo.cli.common import DbOption, crs_value, fails_cleanly, note, out, progress_bar, step

__all__ = ["export"]


@fails_cleanly
def export(
    layer: Annotated[str, typer.Argument()],
    file: Annotated[Path | None, typer.Argument()] = None,
    format_: Annotated[str | None, typer.Option("--format")] = None,
    include_personal: Annotated[bool, typer.Option("--include-personal")] = False,
    crs: Annotated[str | None, typer.Option("--crs", callback=crs_value)] = None,
    lang: Annotated[str, typer.Option("--lang")] = "zh",
    db: DbOption = None,
) -> None:
    """Write a stored layer to a file that QGIS or Excel opens (no personal data by default)."""
    import geopandas as gpd

    from gridgeo.chinacrs import from_wgs84
    from gridgeo.io import write_file
    from gridgeo.store import open_store

    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"{lang!r}: zh or en", param_hint="--lang")
    if format_ is not None:
        if format_ != "geoparquet":
            raise typer.BadParameter(f"{format_!r}: geoparquet", param_hint="--format")
        if file is not None:
            raise typer.BadParameter(
                "--format geoparquet writes every layer: give only the folder, "
                "gridgeo export --format geoparquet DIR",
                param_hint="DIR",
            )
        if crs:
            raise typer.BadParameter(
                "the geoparquet format is always in EPSG:4326", param_hint="--crs"
            )
        _export_geoparquet(Path(layer), include_personal, db)
        return
    if file is None:
        raise typer.BadParameter(
            "give the file to write (or --format geoparquet and a folder)", param_hint="FILE"
        )
    if layer == "audit":
        _export_audit(file, db)
        return
    with progress_bar() as progress:
        with step(progress, f"reading {layer}"):
            store = open_store(db)
            try:
                frame = store.read_layer(layer, include_personal=include_personal)
            finally:
                store.close()
            if crs and isinstance(frame, gpd.GeoDataFrame):
                frame = from_wgs84(frame, crs)
        with step(progress, f"writing {file.name}"):
            write_file(frame, file, layer=layer, lang=lang)
    out.print(
        f"{layer}: {len(frame):,} rows written to {file}"
        + (f" (coordinates in {crs})" if crs else ""),
        highlight=False,
    )
    if file.suffix.lower() == ".shp":
        note(
            "a Shapefile cuts column names to 10 characters and text to 254 bytes, and "
            "a layer without geometry is only its .dbf; import reads the cut names back, but "
            "for an exact round trip export to .gpkg, .geojson, .csv or .xlsx",
        )


def _export_geoparquet(folder: Path, include_personal: bool, db: str | None) -> None:
    """Every stored layer to the partitioned GeoParquet folder ``folder``."""
    from gridgeo.io.geoparquet import write_geoparquet
    from gridgeo.layers import LAYER_ORDER
    from gridgeo.store import open_store

    with progress_bar() as progress:
        store = open_store(db)
        try:
            frames = {}
            for i, name in enumerate(LAYER_ORDER):
                progress("reading the store", i, len(LAYER_ORDER))
                frames[name] = store.read_layer(name, include_personal=include_personal)
            progress("reading the store", len(LAYER_ORDER), len(LAYER_ORDER))
        finally:
            store.close()
        manifest = write_geoparquet(frames, folder, progress=progress)
    total = sum(info["rows"] for info in manifest["layers"].values())
    out.print(
        f"{len(manifest['layers'])} layers, {total:,} rows in "
        f"{len(manifest['partitions']):,} partitions written to {folder}",
        highlight=False,
    )


def _export_audit(file: Path, db: str | None) -> None:
    """The whole audit log to a CSV or JSON Lines file."""
    import json

    import pandas as pd

    from gridgeo.errors import ValidationError
    from gridgeo.store import open_store
    from gridgeo.store.audit import AUDIT_COLUMNS, read_audit

    suffix = file.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise ValidationError(f"{file}: the audit log is written as .csv or .jsonl")
    store = open_store(db)
    try:
        rows = read_audit(store.engine, limit=None).rows
    finally:
        store.close()
    if suffix == ".jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        file.write_text(text, encoding="utf-8")
    else:
        frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
        for column in ("old", "new"):
            frame[column] = [None if v is None else json.dumps(v, ensure_ascii=False)
                             for v in frame[column]]  # fmt: skip
        frame.to_csv(file, index=False, encoding="utf-8-sig")
    out.print(f"audit: {len(rows):,} rows written to {file}", highlight=False)
