"""``gridgeo export LAYER FILE``: a stored layer to a file QGIS or Excel opens.

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
    file: Annotated[Path, typer.Argument()],
    include_personal: Annotated[bool, typer.Option("--include-personal")] = False,
    crs: Annotated[str | None, typer.Option("--crs", callback=crs_value)] = None,
    db: DbOption = None,
) -> None:
    """Write a stored layer to a file that QGIS or Excel opens (no personal data by default)."""
    import geopandas as gpd

    from gridgeo.chinacrs import from_wgs84
    from gridgeo.io import write_file
    from gridgeo.store import open_store

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
            write_file(frame, file, layer=layer)
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
