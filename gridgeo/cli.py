"""The ``gridgeo`` command: parse the arguments, call the library, write the result."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridgeo.errors import GridGeoError, ValidationError
from gridgeo.layers import LAYER_ORDER

__all__ = ["app", "main"]

app = typer.Typer(
    help="gridgeo: coverage, responsibility and problem hotspots of community grids.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema: create or upgrade the tables.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Store URL (sqlite:///FILE or postgresql://...); default GRIDGEO_DATABASE_URL."
    ),
]
F = TypeVar("F", bound=Callable[..., Any])


def _fails_cleanly(func: F) -> F:
    """Print gridgeo's errors as messages (not tracebacks) and exit non-zero."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            err.print(
                f"[bold red]error:[/] {exc.summary or 'the input was refused:'}", highlight=False
            )
            for line in str(exc).splitlines()[1 if exc.summary else 0 :]:
                err.print(f"  {line}", highlight=False, markup=False)
            raise typer.Exit(1) from None
        except GridGeoError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar driven by the library's ``progress(desc, done, total)``."""
    bar = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and not _force_progress(),
    )
    tasks: dict[str, Any] = {}

    def update(description: str, done: int, total: int) -> None:
        if description not in tasks:
            tasks[description] = bar.add_task(description, total=total)
        bar.update(tasks[description], completed=done, total=total)

    with bar:
        yield update


def _force_progress() -> bool:
    import os

    return os.environ.get("GRIDGEO_PROGRESS", "") == "1"


def _open(db: str | None):  # type: ignore[no-untyped-def]
    from gridgeo.store import open_store

    return open_store(db)


def _parse_map(values: list[str]) -> dict[str, str]:
    mapping = {}
    for item in values:
        if "=" not in item:
            raise typer.BadParameter(
                f"{item!r}: write it as FILE_COLUMN=LAYER_COLUMN", param_hint="--map"
            )
        src, dst = item.split("=", 1)
        mapping[src.strip()] = dst.strip()
    return mapping


def _results_table(results: dict[str, Any], title: str) -> Table:
    table = Table(title=title)
    for col in ("layer", "inserted", "updated", "unchanged"):
        table.add_column(col, justify="right" if col != "layer" else "left")
    for name, r in results.items():
        table.add_row(name, f"{r.inserted:,}", f"{r.updated:,}", f"{r.unchanged:,}")
    return table


@app.command("import")
@_fails_cleanly
def import_(
    layer: Annotated[str, typer.Argument(help=f"One of: {', '.join(LAYER_ORDER)}.")],
    file: Annotated[
        Path, typer.Argument(help="GeoPackage, Shapefile, GeoJSON, OSM PBF, CSV or XLSX.")
    ],
    source_layer: Annotated[
        str | None, typer.Option("--layer", help="Layer (or XLSX sheet) of the file to read.")
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column", help="Column with the codes; several, comma-separated: first non-empty."
        ),
    ] = None,
    generate_ids: Annotated[
        str | None,
        typer.Option("--generate-ids", help="No code column: number rows PREFIX1, PREFIX2..."),
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option("--crs", help="CRS of a file that has none, e.g. 4326, 4490, 4547."),
    ] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix invalid polygons with make_valid.")
    ] = False,
    where: Annotated[
        str | None,
        typer.Option("--where", help="Attribute filter (OGR SQL), e.g. \"admin_level='8'\"."),
    ] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="FILE_COLUMN=LAYER_COLUMN (repeatable).")
    ] = None,
    x: Annotated[str | None, typer.Option("--x", help="Longitude/x column of a CSV/XLSX.")] = None,
    y: Annotated[str | None, typer.Option("--y", help="Latitude/y column of a CSV/XLSX.")] = None,
    wkt: Annotated[
        str | None, typer.Option("--wkt", help="WKT geometry column of a CSV/XLSX.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Import one layer from a file, all or nothing; re-importing updates, never duplicates."""
    from gridgeo.io import read_file
    from gridgeo.layers import get_layer
    from gridgeo.validate import prepare_layer

    get_layer(layer)
    started = time.perf_counter()
    with _progress() as progress:
        progress(f"reading {file.name}", 0, 1)
        read = read_file(
            file, layer=source_layer, target=layer, crs=crs, where=where, x=x, y=y, wkt=wkt
        )
        progress(f"reading {file.name}", 1, 1)
        prepared = prepare_layer(
            read.frame,
            layer,
            source=read.name,
            rows=read.rows,
            mapping=_parse_map(mapping or []),
            id_columns=id_column.split(",") if id_column else (),
            generate_ids=generate_ids,
            repair=repair,
        )
        store = _open(db)
        try:
            result = store.write_layers(
                {layer: prepared.frame}, source=read.name, progress=progress
            )[layer]
        finally:
            store.close()
    for note in read.notes + prepared.notes:
        err.print(f"note: {note}", highlight=False)
    if prepared.ignored_columns:
        err.print(
            f"note: columns not used: {', '.join(map(str, prepared.ignored_columns))}",
            highlight=False,
        )
    out.print(
        f"{layer}: {prepared.rows_read:,} rows read from {read.name}"
        + (f" (layer {read.layer})" if read.layer else "")
        + f": {result.inserted:,} inserted, {result.updated:,} updated, {result.unchanged:,} unchanged"
        + (f", {prepared.repaired:,} repaired" if prepared.repaired else "")
        + f" in {time.perf_counter() - started:.1f} s",
        highlight=False,
    )


@app.command()
@_fails_cleanly
def load(
    file: Annotated[
        Path, typer.Argument(help="A GeoPackage with layers named like gridgeo's layers.")
    ],
    db: DbOption = None,
) -> None:
    """Load every layer of a GeoPackage (such as shapes/sample_district.gpkg) in one transaction."""
    import pyogrio

    from gridgeo.io import read_file
    from gridgeo.validate import prepare_layer

    if not file.exists():
        from gridgeo.errors import NotFound

        raise NotFound(f"{file}: no such file")
    available = {str(name) for name, _ in pyogrio.list_layers(file)}
    layers = [name for name in LAYER_ORDER if name in available]
    if not layers:
        raise ValidationError(
            f"{file.name} has none of gridgeo's layers ({', '.join(LAYER_ORDER)}); "
            "use `gridgeo import LAYER FILE --layer NAME` for other layer names"
        )
    frames = {}
    with _progress() as progress:
        for i, name in enumerate(layers):
            progress("reading and checking", i, len(layers))
            read = read_file(file, layer=name)
            frames[name] = prepare_layer(read.frame, name, source=read.name, rows=read.rows).frame
        progress("reading and checking", len(layers), len(layers))
        store = _open(db)
        try:
            results = store.write_layers(frames, source=file.name, progress=progress)
        finally:
            store.close()
    out.print(_results_table(results, f"{file.name} → {store.url}"))


@app.command()
@_fails_cleanly
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

    store = _open(db)
    try:
        frame = store.read_layer(layer, include_personal=include_personal)
    finally:
        store.close()
    write_file(frame, file, layer=layer)
    out.print(f"{layer}: {len(frame):,} rows written to {file}", highlight=False)


@app.command()
@_fails_cleanly
def info(db: DbOption = None) -> None:
    """Show what the store holds."""
    store = _open(db)
    try:
        counts = store.counts()
        revision = store.revision()
    finally:
        store.close()
    table = Table(title=f"{store.url} (schema {revision})")
    table.add_column("layer")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    out.print(table)


@app.command()
@_fails_cleanly
def synth(
    scale: Annotated[
        str, typer.Option(help="tiny, sample or city (10,000 grids, 1,000,000 buildings).")
    ] = "sample",
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same district.")
    ] = 0,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write a GeoPackage.")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Also load it into this store.")] = None,
) -> None:
    """Generate a synthetic district with deliberate defects (and write or load it)."""
    from gridgeo.synth import generate, write_gpkg

    if out_file is None and db is None:
        raise typer.BadParameter("give --out FILE.gpkg and/or --db URL")
    started = time.perf_counter()
    with _progress() as progress:
        district = generate(scale, seed=seed, progress=progress)
        if out_file is not None:
            write_gpkg(district, out_file, progress=progress)
        results = None
        if db is not None:
            store = _open(db)
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
        out.print(_results_table(results, f"loaded into {db}"))
    out.print(f"done in {time.perf_counter() - started:.1f} s", highlight=False)


@app.command()
@_fails_cleanly
def check(
    out_file: Annotated[
        Path, typer.Option("--out", help="GeoPackage to write (an .xlsx is written beside it).")
    ],
    grids: Annotated[
        Path | None, typer.Option("--grids", help="Grid polygons (check files without a store).")
    ] = None,
    buildings: Annotated[
        Path | None, typer.Option("--buildings", help="Building polygons.")
    ] = None,
    grid_id: Annotated[
        str | None, typer.Option("--grid-id", help="Code column of the grids file.")
    ] = None,
    building_id: Annotated[
        str | None, typer.Option("--building-id", help="Code column of the buildings file.")
    ] = None,
    communities: Annotated[
        Path | None, typer.Option("--communities", help="Community polygons.")
    ] = None,
    district: Annotated[
        Path | None, typer.Option("--district", help="District boundary polygon(s).")
    ] = None,
    assignments: Annotated[
        Path | None, typer.Option("--assignments", help="Assignments (CSV/XLSX).")
    ] = None,
    households: Annotated[
        Path | None, typer.Option("--households", help="Households (else buildings' counts).")
    ] = None,
    visits: Annotated[Path | None, typer.Option("--visits", help="Visits.")] = None,
    mask: Annotated[
        Path | None, typer.Option("--mask", help="Areas never reported as gaps (rivers, parks).")
    ] = None,
    crs: Annotated[
        str | None, typer.Option("--crs", help="CRS of input files that have none.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date assignments are checked at (YYYY-MM-DD).")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="TOML file overriding the rules' numbers.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Find gaps, overlaps, straddling, unassigned and double-assigned buildings, quota shortfalls."""
    import datetime as dt

    from gridgeo.check import (
        inputs_from_store,
        read_inputs,
        run_check,
        summary_counts,
        write_results,
    )
    from gridgeo.policy import load_policy

    rules = load_policy(policy)
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise typer.BadParameter(
            f"{as_of!r}: write it as YYYY-MM-DD", param_hint="--as-of"
        ) from None
    with _progress() as progress:
        if grids is not None or buildings is not None:
            if grids is None or buildings is None:
                raise typer.BadParameter(
                    "give both --grids and --buildings (or neither, to check a store)"
                )
            extra = {
                "communities": communities,
                "district": district,
                "assignments": assignments,
                "households": households,
                "visits": visits,
                "mask": mask,
            }
            inputs = read_inputs(
                grids=grids,
                buildings=buildings,
                grid_id=grid_id,
                building_id=building_id,
                crs=crs,
                extra=extra,
            )
        else:
            store = _open(db)
            try:
                inputs = inputs_from_store(store)
            finally:
                store.close()
        results = run_check(inputs, policy=rules, as_of=day, progress=progress)
    gpkg, xlsx = write_results(results, out_file)
    table = Table(title="findings")
    for col in ("layer", "rows", "rules"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for row in summary_counts(results).itertuples(index=False):
        table.add_row(str(row.layer), f"{row.rows:,}", str(row.rules))
    out.print(table)
    district = results["summary_district"].iloc[0]
    out.print(
        f"district coverage score: {district['coverage_score']:.1f}% of {int(district['buildings']):,} "
        "buildings lie in one grid with exactly one responsible member",
        highlight=False,
    )
    out.print(f"written to {gpkg} and {xlsx}", highlight=False)


@db_app.command("upgrade")
@_fails_cleanly
def db_upgrade(db: DbOption = None) -> None:
    """Create the tables or migrate them to this gridgeo's schema."""
    from gridgeo.store import open_store

    store = open_store(db, create=False)
    try:
        before = store.revision()
        store.upgrade()
        out.print(
            f"{store.url}: schema {before or '(empty)'} → {store.revision()}", highlight=False
        )
    finally:
        store.close()


@db_app.command("current")
@_fails_cleanly
def db_current(db: DbOption = None) -> None:
    """Print the store's schema revision and the one this gridgeo needs."""
    from gridgeo.store import open_store

    store = open_store(db, create=False)
    try:
        out.print(
            f"{store.url}: schema {store.revision() or '(empty)'}, head {store.head()}",
            highlight=False,
        )
    finally:
        store.close()


def main() -> None:
    """Entry point of the ``gridgeo`` command."""
    app()


if __name__ == "__main__":
    sys.exit(main())
