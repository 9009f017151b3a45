"""The ``gridgeo`` command: parse the arguments, call the library, write the result."""

from __future__ import annotations

import datetime as dt
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
token_app = typer.Typer(help="API tokens: create, list and revoke them.", no_args_is_help=True)
app.add_typer(token_app, name="token")

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
        key = description.split(": ", 1)[0]  # "checking: gaps", "checking: overlaps": one bar
        if key not in tasks:
            tasks[key] = bar.add_task(description, total=total)
        bar.update(tasks[key], completed=done, total=total, description=description)

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


def _date_option(value: str | None, option: str) -> dt.date | None:
    """The date given to ``option`` (YYYY-MM-DD), or None when it was not given."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: write it as YYYY-MM-DD", param_hint=option) from None


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
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="Text encoding of a CSV/.dbf (default: detected)."),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option("--date-format", help="How days are written, e.g. %d/%m/%Y or %m/%d/%Y."),
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
        prepared = prepare_layer(
            read.frame,
            layer,
            source=read.name,
            rows=read.rows,
            mapping=_parse_map(mapping or []),
            id_columns=id_column.split(",") if id_column else (),
            generate_ids=generate_ids,
            repair=repair,
            date_format=date_format,
        )
        store = _open(db)
        try:
            result = store.write_layers(
                {layer: prepared.written}, source=read.name, progress=progress
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
    date_format: Annotated[
        str | None,
        typer.Option("--date-format", help="How days are written, e.g. %d/%m/%Y or %m/%d/%Y."),
    ] = None,
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
            frames[name] = prepare_layer(
                read.frame, name, source=read.name, rows=read.rows, date_format=date_format
            ).written
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
    from gridgeo.check import (
        inputs_from_store,
        read_inputs,
        run_check,
        summary_counts,
        write_results,
    )
    from gridgeo.policy import load_policy

    rules = load_policy(policy)
    day = _date_option(as_of, "--as-of")
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
    _print_not_computed(results.not_computed)
    district = results["summary_district"].iloc[0]
    out.print(
        f"district coverage score: {district['coverage_score']:.1f}% of {int(district['buildings']):,} "
        "buildings lie in one grid with exactly one responsible member",
        highlight=False,
    )
    out.print(f"written to {gpkg} and {xlsx}", highlight=False)


def _print_not_computed(not_computed: dict[str, str]) -> None:
    """The result layers the inputs did not allow, one line per reason."""
    by_reason: dict[str, list[str]] = {}
    for layer, reason in not_computed.items():
        by_reason.setdefault(reason, []).append(layer)
    for reason, layers in by_reason.items():
        out.print(f"not computed ({reason}): {', '.join(layers)}", highlight=False)


@app.command()
@_fails_cleanly
def lifecycle(
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help=".xlsx (a sheet per level and per finding), .gpkg (with an .xlsx beside) "
            "or .csv (the --level table).",
        ),
    ] = None,
    problems: Annotated[
        Path | None, typer.Option("--problems", help="Problems file (a store's otherwise).")
    ] = None,
    grids: Annotated[
        Path | None, typer.Option("--grids", help="Grid polygons (with their community).")
    ] = None,
    buildings: Annotated[
        Path | None, typer.Option("--buildings", help="Building polygons.")
    ] = None,
    communities: Annotated[
        Path | None,
        typer.Option("--communities", help="Community polygons (grids without a community)."),
    ] = None,
    crs: Annotated[
        str | None, typer.Option("--crs", help="CRS of input files that have none.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Local date the list is taken at (YYYY-MM-DD).")
    ] = None,
    level: Annotated[
        str, typer.Option("--level", help="Table printed (and written to a .csv).")
    ] = "district",
    freq: Annotated[str, typer.Option("--freq", help="M (months), Q or W (ISO weeks).")] = "M",
    policy: Annotated[
        Path | None, typer.Option("--policy", help="TOML file overriding the rules' numbers.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Problem-list lifecycle by month per grid, community and district (R10, R11)."""
    from gridgeo.analysis.coverage import building_grid
    from gridgeo.analysis.lifecycle import LEVELS, lifecycle_results
    from gridgeo.check import read_inputs, write_results
    from gridgeo.policy import load_policy
    from gridgeo.settings import get_settings

    rules = load_policy(policy)
    if level not in LEVELS:
        raise typer.BadParameter(f"{level!r}: one of {', '.join(LEVELS)}", param_hint="--level")
    if freq not in ("M", "Q", "W"):
        raise typer.BadParameter(f"{freq!r}: one of M, Q, W", param_hint="--freq")
    day = _date_option(as_of, "--as-of") or dt.date.today()
    if out_file is not None and out_file.suffix.lower() not in (".xlsx", ".gpkg", ".csv"):
        raise ValidationError(f"--out {out_file}: give a .xlsx, .gpkg or .csv path")
    with _progress() as progress:
        progress("reading", 0, 1)
        if grids is not None or buildings is not None or problems is not None:
            if (grids is None) != (buildings is None):
                raise typer.BadParameter("give both --grids and --buildings, or neither")
            if problems is None:
                raise typer.BadParameter("give --problems with --grids and --buildings")
            if grids is not None and buildings is not None:
                inputs = read_inputs(
                    grids=grids,
                    buildings=buildings,
                    crs=crs,
                    extra={"communities": communities, "problems": problems},
                )
                grid_frame, building_frame = inputs.grids, inputs.buildings
            else:
                inputs = _read_problems(problems, crs)
                grid_frame = building_frame = None
            layers = inputs.layers
        else:
            store = _open(db)
            try:
                grid_frame = store.read_layer("grids", columns=["community"])
                building_frame = store.read_layer("buildings", columns=[])
                layers = {"problems": store.read_layer("problems", columns=_PROBLEM_COLUMNS)}
            finally:
                store.close()
        progress("reading", 1, 1)
        progress("analysing", 0, 1)
        placement = (
            building_grid(building_frame, grid_frame, policy=rules)
            if grid_frame is not None and building_frame is not None
            else None
        )
        results = lifecycle_results(
            layers["problems"],
            grids=grid_frame,
            building_grid=placement,
            communities=layers.get("communities"),
            freq=freq,
            as_of=day,
            policy=rules,
            timezone=get_settings().timezone,
        )
        progress("analysing", 1, 1)
    key = f"lifecycle_{level}"
    if key not in results:
        raise ValidationError(f"--level {level} needs --grids and --buildings (or a store)")
    table = results[key]
    shown = Table(title=f"problem list (问题清单) as of {day}, per {level}")
    for col in table.columns:
        shown.add_column(
            _HEADERS.get(str(col), str(col)),
            justify="left" if col in (table.columns[0], table.columns[1]) else "right",
            no_wrap=True,
        )
    for row in table.itertuples(index=False):
        shown.add_row(*(_cell(name, value) for name, value in zip(table.columns, row, strict=True)))
    Console(soft_wrap=True, width=max(out.width, 190)).print(shown)  # wide: 15 columns
    counts = ", ".join(
        f"{len(frame):,} {name.replace('_', ' ')}"
        for name, frame in results.items()
        if not name.startswith("lifecycle_")
    )
    out.print(counts, highlight=False)
    if out_file is None:
        return
    suffix = out_file.suffix.lower()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gpkg":
        gpkg, xlsx = write_results(results, out_file)
        out.print(f"written to {gpkg} and {xlsx}", highlight=False)
        return
    if suffix == ".csv":
        table.to_csv(out_file, index=False, encoding="utf-8-sig")
    else:
        _write_sheets(results, out_file)
    out.print(f"written to {out_file}", highlight=False)


#: the problem columns `gridgeo lifecycle` reads from a store (no descriptions)
_PROBLEM_COLUMNS = ["category", "building", "responsible", "reported_at", "deadline", "status",
                    "resolved_at", "escalated_at", "closed_at", "feedback_at", "feedback"]  # fmt: skip


def _read_problems(problems: Path, crs: str | None) -> Any:
    """Only a problems file (district level): read and checked as ``gridgeo import`` does."""
    import geopandas as gpd

    from gridgeo.check import Inputs
    from gridgeo.io import read_file
    from gridgeo.store.base import ROW_COLUMN
    from gridgeo.validate import prepare_layer

    read = read_file(problems, crs=crs, target="problems")
    frame = prepare_layer(read.frame, "problems", source=read.name, rows=read.rows).frame
    empty = gpd.GeoDataFrame({"code": []}, geometry=[], crs=4326)
    return Inputs(empty, empty, layers={"problems": frame.drop(columns=ROW_COLUMN)})


_HEADERS = {
    "reported": "reported",
    "resolved_on_site_share": "on site",
    "escalated_share": "escalated",
    "closed": "closed",
    "close_days_median": "days p50",
    "close_days_p90": "days p90",
    "still_open": "open",
    "overdue": "overdue",
    "past_deadline": "past deadline",
    "closed_without_feedback": "no feedback",
    "no_responsible": "no owner",
    "no_deadline": "no deadline",
    "repeats": "repeats",
}


def _cell(name: str, value: Any) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if name.endswith("_share"):
        return f"{100 * value:.0f}%"
    if name.startswith("close_days"):
        return f"{value:.1f}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _write_sheets(results: dict[str, Any], path: Path) -> None:
    """One sheet per result; points as lon/lat, other geometries left out."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in results.items():
            table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
            if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.notna().any():
                geoms = frame.geometry.to_numpy()
                table["lon"], table["lat"] = shapely.get_x(geoms), shapely.get_y(geoms)
            for col in table.columns:
                if isinstance(table[col].dtype, pd.DatetimeTZDtype):
                    table[col] = table[col].dt.tz_localize(None)
            table.to_excel(writer, sheet_name=name[:31], index=False)


@app.command()
@_fails_cleanly
def report(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the report's HTML, PDF and maps/*.png.")
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date the check is made at (YYYY-MM-DD).")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh (default) or en.")] = "zh",
    pdf: Annotated[
        bool, typer.Option("--pdf/--no-pdf", help="Also print the PDF (needs chromium).")
    ] = True,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="TOML file overriding the rules' numbers.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the coverage report (HTML and PDF) and its static maps, from a store."""
    from gridgeo.check import inputs_from_store, run_check
    from gridgeo.policy import load_policy
    from gridgeo.report import write_report

    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"{lang!r}: zh or en", param_hint="--lang")
    day = _date_option(as_of, "--as-of") or dt.date.today()
    rules = load_policy(policy)
    started = time.perf_counter()
    store = _open(db)
    try:
        with _progress() as progress:
            results = run_check(
                inputs_from_store(store), policy=rules, as_of=day, progress=progress
            )
            progress("drawing the report", 0, 1)
            files = write_report(store, out_dir, results=results, as_of=day, lang=lang, pdf=pdf)
            progress("drawing the report", 1, 1)
    finally:
        store.close()
    out.print(f"report: {files.html}", highlight=False)
    if files.pdf is not None:
        out.print(f"report: {files.pdf}", highlight=False)
    out.print(
        f"maps: {len(files.maps)} PNG in {out_dir / 'maps'} "
        f"({time.perf_counter() - started:.1f} s)",
        highlight=False,
    )


@app.command()
@_fails_cleanly
def serve(
    db: DbOption = None,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
) -> None:
    """Start the web API (OpenAPI documentation at /docs) on the embedded store or PostGIS."""
    import os

    import sqlalchemy as sa
    import uvicorn

    from gridgeo.settings import Settings

    if db:
        os.environ["GRIDGEO_DATABASE_URL"] = db
    settings = Settings()  # the app reads the same environment
    url = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    auth = settings.auth
    out.print(
        f"serving {url} on http://{host}:{port} (docs at /docs, auth {auth})", highlight=False
    )
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port)


@token_app.command("create")
@_fails_cleanly
def token_create(
    role: Annotated[
        str, typer.Option("--role", help="leader, planner, analyst, grid_worker or member.")
    ],
    member: Annotated[
        str | None, typer.Option("--member", help="The member code it writes as.")
    ] = None,
    community: Annotated[
        list[str] | None, typer.Option("--community", help="A community of its area.")
    ] = None,
    grid: Annotated[list[str] | None, typer.Option("--grid", help="A grid of its area.")] = None,
    label: Annotated[str | None, typer.Option("--label", help="A note: whose it is.")] = None,
    db: DbOption = None,
) -> None:
    """Create an API token and print it once (only its SHA-256 is stored)."""
    from gridgeo.access import create_token

    store = _open(db)
    try:
        secret, principal = create_token(
            store, role, member=member, communities=community or (), grids=grid or (), label=label
        )
    finally:
        store.close()
    err.print(
        f"token {principal.token_id} for {principal.describe()}; it is shown only this once:",
        highlight=False,
    )
    out.print(secret, highlight=False)


@token_app.command("list")
@_fails_cleanly
def token_list(db: DbOption = None) -> None:
    """List the tokens (never the secrets)."""
    import sqlalchemy as sa

    store = _open(db)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, role, member, communities, grids, label, created_at, revoked_at "
                    "FROM api_tokens ORDER BY id"
                )
            ).all()
    finally:
        store.close()
    table = Table(title="API tokens")
    for col in ("id", "role", "member", "communities", "grids", "label", "created", "revoked"):
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


@token_app.command("revoke")
@_fails_cleanly
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `gridgeo token list`).")],
    db: DbOption = None,
) -> None:
    """Revoke a token: it is refused from now on."""
    from gridgeo.access import revoke_token

    store = _open(db)
    try:
        revoke_token(store, token_id)
    finally:
        store.close()
    out.print(f"token {token_id} revoked", highlight=False)


@app.command()
@_fails_cleanly
def hotspots(
    out_file: Annotated[Path, typer.Option("--out", help="GeoPackage to write.")],
    problems: Annotated[
        Path | None,
        typer.Option(
            "--problems", help="Problem points: GeoPackage, GeoJSON, or CSV with lon/lat."
        ),
    ] = None,
    layer: Annotated[
        str | None, typer.Option("--layer", help="Layer (or sheet) of the problems file.")
    ] = None,
    area: Annotated[
        Path | None, typer.Option("--area", help="Study area polygons (district boundary).")
    ] = None,
    cells: Annotated[
        str, typer.Option("--cells", help="h3:RES, square:METRES, grids (store) or grids:FILE.")
    ] = "h3:9",
    weights: Annotated[
        str, typer.Option("--weights", help="queen, knn:K or distance:METRES.")
    ] = "queen",
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Only this category (repeatable).")
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only this status (repeatable).")
    ] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (local time).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (included).")
    ] = None,
    x: Annotated[str | None, typer.Option("--x", help="Longitude/x column of a CSV.")] = None,
    y: Annotated[str | None, typer.Option("--y", help="Latitude/y column of a CSV.")] = None,
    time_column: Annotated[
        str | None, typer.Option("--time-column", help="Column with the report time.")
    ] = None,
    category_column: Annotated[
        str | None, typer.Option("--category-column", help="Column with the category.")
    ] = None,
    crs: Annotated[
        str | None, typer.Option("--crs", help="CRS of input files that have none.")
    ] = None,
    permutations: Annotated[
        int, typer.Option("--permutations", help="Permutations for the pseudo p-values.")
    ] = 999,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the permutations.")] = 0,
    interval: Annotated[
        str, typer.Option("--interval", help="Time slice of emerging hot spots: month, week, day.")
    ] = "month",
    bandwidth: Annotated[
        str,
        typer.Option("--bandwidth", help="Kernel density bandwidth: metres, silverman or scott."),
    ] = "silverman",
    db: DbOption = None,
) -> None:
    """Problem hotspots: Gi* hot and cold spots, LISA clusters, density and emerging hot spots."""
    from gridgeo.analysis.hotspots import hotspot_layers
    from gridgeo.hotspot_inputs import read_problems
    from gridgeo.io import read_file, write_file
    from gridgeo.settings import get_settings

    for name, value in (("--from", date_from), ("--to", date_to)):
        _date_option(value, name)
    band: float | str = bandwidth
    try:
        band = float(bandwidth)
    except ValueError:
        pass
    notes: list[str] = []
    timezone = get_settings().timezone
    grids_file = Path(cells[6:]) if cells.lower().startswith("grids:") else None
    with _progress() as progress:
        progress("reading inputs", 0, 1)
        area_frame = read_file(area, target="communities", crs=crs).frame if area else None
        grids_frame = None
        if grids_file is not None:
            grids_frame = read_file(grids_file, target="grids", crs=crs).frame
        if problems is not None:
            points, notes = read_problems(
                problems,
                layer=layer,
                x=x,
                y=y,
                time_column=time_column,
                category_column=category_column,
                crs=crs,
                timezone=timezone,
            )
        else:
            store = _open(db)
            try:
                points = store.read_layer("problems")
                if cells.lower() == "grids":
                    grids_frame = store.read_layer("grids")
                if area_frame is None and grids_frame is None:
                    communities = store.read_layer("communities")
                    present = communities[~communities.geometry.isna()]
                    area_frame = present if len(present) else store.read_layer("grids")
            finally:
                store.close()
        if grids_frame is not None and "code" not in grids_frame.columns:
            grids_frame = grids_frame.assign(code=[str(i + 1) for i in range(len(grids_frame))])
            notes.append("the grids have no 'code' column: cells are numbered by row")
        if cells.lower() == "grids" and grids_frame is None:
            raise typer.BadParameter("give grids:FILE with --problems", param_hint="--cells")
        progress("reading inputs", 1, 1)
        layers = hotspot_layers(
            points,
            area=area_frame,
            cells=grids_frame if grids_frame is not None else cells,
            category=category or None,
            status=status or None,
            start=date_from,
            end=date_to,
            permutations=permutations,
            seed=seed,
            weights=weights,
            bandwidth=band,
            interval=interval,
            timezone=timezone,
            progress=progress,
        )
        if out_file.exists():
            out_file.unlink()
        for name, frame in layers.items():
            progress("writing", list(layers).index(name), len(layers))
            write_file(frame, out_file, layer=name)
        progress("writing", len(layers), len(layers))
    for note in notes:
        err.print(f"note: {note}", highlight=False)
    gi, lisa, emerging = layers["cells"], layers["lisa"], layers["emerging"]
    table = Table(title="problem hotspots")
    table.add_column("layer")
    table.add_column("result")
    table.add_column("cells", justify="right")
    table.add_row("cells", f"{gi.attrs.get('problems', 0):,} problems", f"{len(gi):,}")
    for level, name in ((3, "99 %"), (2, "95 %"), (1, "90 %")):
        table.add_row("", f"hot spots {name}", f"{int((gi['gi_bin'] == level).sum()):,}")
    cold = int((gi["gi_bin"] < 0).sum())
    table.add_row("", "cold spots (90–99 %)", f"{cold:,}")
    for label, n in lisa["lisa_cluster"].value_counts().items():
        table.add_row("lisa", str(label), f"{n:,}")
    table.add_row("density", "contour bands", f"{len(layers['density']):,}")
    if "label" in emerging.columns:
        for label, n in emerging.loc[emerging["label"] != "", "label"].value_counts().items():
            table.add_row("emerging", str(label), f"{n:,}")
    out.print(table)
    outside = gi.attrs.get("outside", 0)
    if outside:
        out.print(f"{outside:,} problems outside the study area were not counted", highlight=False)
    out.print(f"written to {out_file} (layers cells, lisa, density, emerging)", highlight=False)


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
