"""What every command shares: the consoles, ``--db``, clean errors, the progress bar."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from gridgeo.cli.messages import text
from gridgeo.cli.progress import progress_reporter
from gridgeo.errors import GridGeoError, ValidationError
from gridgeo.progress import step

__all__ = [
    "AssignmentsOption",
    "BuildingIdOption",
    "BuildingsOption",
    "CommunitiesOption",
    "CrsOption",
    "crs_value",
    "DateFormatOption",
    "DbOption",
    "EncodingOption",
    "GenerateIdsOption",
    "LayerOption",
    "MapOption",
    "WhereOption",
    "file_options",
    "parse_map",
    "DistrictOption",
    "GridIdOption",
    "GridsOption",
    "LangOption",
    "HouseholdsOption",
    "MaskOption",
    "PolicyOption",
    "VisitsOption",
    "date_option",
    "err",
    "fails_cleanly",
    "note",
    "out",
    "progress_bar",
    "results_table",
    "step",
]

#: what a command prints (results) and what it tells (notes, errors, progress)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db"),
]


def crs_value(value: str | None) -> str | None:
    """``--crs`` checked before anything is read: an unknown name is a usage error."""
    from gridgeo.errors import CRSError
    from gridgeo.io.crs import parse_input_crs

    try:
        parse_input_crs(value)
    except CRSError as exc:
        raise typer.BadParameter(str(exc), param_hint="--crs") from None
    return value


CrsOption = Annotated[str | None, typer.Option("--crs", callback=crs_value)]


def lang_value(value: str) -> str:
    """``--lang`` checked before anything is read or computed."""
    if value not in ("zh", "en"):
        raise typer.BadParameter(f"{value!r}: zh or en", param_hint="--lang")
    return value


#: the language of the sheet names, headings and field titles of the files written
LangOption = Annotated[str, typer.Option("--lang", callback=lang_value)]
EncodingOption = Annotated[
    str | None,
    typer.Option("--encoding"),
]
DateFormatOption = Annotated[
    str | None,
    typer.Option("--date-format"),
]
PolicyOption = Annotated[Path | None, typer.Option("--policy")]

# -- the input files of `check` and `fix` (without them: the store) --------------------------
GridsOption = Annotated[Path | None, typer.Option("--grids")]
BuildingsOption = Annotated[Path | None, typer.Option("--buildings")]
GridIdOption = Annotated[str | None, typer.Option("--grid-id")]
BuildingIdOption = Annotated[str | None, typer.Option("--building-id")]
CommunitiesOption = Annotated[Path | None, typer.Option("--communities")]
DistrictOption = Annotated[Path | None, typer.Option("--district")]
AssignmentsOption = Annotated[Path | None, typer.Option("--assignments")]
HouseholdsOption = Annotated[Path | None, typer.Option("--households")]
VisitsOption = Annotated[Path | None, typer.Option("--visits")]
MaskOption = Annotated[Path | None, typer.Option("--mask")]
# -- how each input file is selected and mapped, as `import` does it --------------------
LayerOption = Annotated[
    list[str] | None,
    typer.Option("--layer"),
]
WhereOption = Annotated[
    list[str] | None,
    typer.Option("--where"),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option("--map"),
]
GenerateIdsOption = Annotated[
    list[str] | None,
    typer.Option("--generate-ids"),
]
F = TypeVar("F", bound=Callable[..., Any])


def parse_map(values: list[str]) -> dict[str, str]:
    """``--map FILE_COLUMN=LAYER_COLUMN`` values as a dict."""
    mapping = {}
    for item in values:
        if "=" not in item:
            raise typer.BadParameter(
                f"{item!r}: write it as FILE_COLUMN=LAYER_COLUMN", param_hint="--map"
            )
        src, dst = item.split("=", 1)
        mapping[src.strip()] = dst.strip()
    return mapping


def _scoped(value: str, inputs: Sequence[str]) -> tuple[str | None, str]:
    """``"grids:multipolygons"`` as ``("grids", "multipolygons")``; unscoped: ``(None, value)``."""
    head, sep, tail = value.partition(":")
    if sep and head.strip() in inputs:
        return head.strip(), tail
    return None, value


def file_options(
    inputs: Sequence[str],
    *,
    layer: list[str] | None = None,
    where: list[str] | None = None,
    mapping: list[str] | None = None,
    generate_ids: list[str] | None = None,
    polygons: Sequence[str] = ("grids", "buildings"),
) -> dict[str, Any]:
    """Per input, its :class:`~gridgeo.check.FileOptions` from the command's options.

    A value ``INPUT:VALUE`` is for that input; unscoped ``--layer``, ``--where`` and
    ``--generate-ids`` are for the ``polygons`` inputs, an unscoped ``--map`` for every
    file that has its column.
    """
    from gridgeo.check import FileOptions

    opts = {name: FileOptions() for name in inputs}
    for attr, values in (("layer", layer), ("where", where), ("generate_ids", generate_ids)):
        for value in values or []:
            scope, text = _scoped(value, inputs)
            for name in [scope] if scope else polygons:
                setattr(opts[name], attr, text)
    for value in mapping or []:
        scope, text = _scoped(value, inputs)
        if scope:
            opts[scope].mapping.update(parse_map([text]))
        else:
            for o in opts.values():
                o.shared_mapping.update(parse_map([text]))
    return opts


def note(message: str) -> None:
    """A ``note:`` line on stderr (``提示：`` in Chinese)."""
    err.print(f"{text('note')} {message}", highlight=False, markup=False)


def fails_cleanly(func: F) -> F:
    """Print gridgeo's errors as messages (not tracebacks) and exit non-zero."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            err.print(
                f"[bold red]{text('error')}[/] {exc.summary or text('refused')}", highlight=False
            )
            for line in str(exc).splitlines()[1 if exc.summary else 0 :]:
                err.print(f"  {line}", highlight=False, markup=False)
            raise typer.Exit(1) from None
        except GridGeoError as exc:
            err.print(f"[bold red]{text('error')}[/] {exc}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """The command's ``progress(desc, done, total)``: bars, lines or nothing (see ``progress``)."""
    with progress_reporter(err) as progress:
        yield progress


def date_option(value: str | None, option: str) -> dt.date | None:
    """The date given to ``option`` (YYYY-MM-DD), or None when it was not given."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: write it as YYYY-MM-DD", param_hint=option) from None


def results_table(results: Mapping[str, Any], title: str) -> Table:
    """Rows inserted, updated and unchanged per layer, as ``Store.write_layers`` counts them."""
    table = Table(title=title)
    for col in ("layer", "inserted", "updated", "unchanged"):
        table.add_column(col, justify="right" if col != "layer" else "left")
    for name, r in results.items():
        table.add_row(name, f"{r.inserted:,}", f"{r.updated:,}", f"{r.unchanged:,}")
    return table
