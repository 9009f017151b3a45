"""``gridgeo lifecycle``: the problem list over time, per grid, community and district."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gridgeo.cli.common import (
    CrsOption,
    DbOption,
    LangOption,
    PolicyOption,
    date_option,
    fails_cleanly,
    out,
    progress_bar,
    step,
)

__all__ = ["lifecycle"]

#: the printed table's column headers (the others keep their name)
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


@fails_cleanly
def lifecycle(
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
        ),
    ] = None,
    problems: Annotated[Path | None, typer.Option("--problems")] = None,
    grids: Annotated[Path | None, typer.Option("--grids")] = None,
    buildings: Annotated[Path | None, typer.Option("--buildings")] = None,
    communities: Annotated[
        Path | None,
        typer.Option("--communities"),
    ] = None,
    crs: CrsOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of"),
    ] = None,
    level: Annotated[str, typer.Option("--level")] = "district",
    freq: Annotated[str, typer.Option("--freq")] = "M",
    lang: LangOption = "zh",
    policy: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Problem-list lifecycle by month per grid, community and district (R10, R11)."""
    from gridgeo.analysis.lifecycle import LEVELS
    from gridgeo.errors import ValidationError
    from gridgeo.lifecycle_run import (
        FREQUENCIES,
        check_lifecycle_out,
        run_lifecycle,
        write_lifecycle,
    )
    from gridgeo.policy import load_policy

    rules = load_policy(policy)
    if level not in LEVELS:
        raise typer.BadParameter(f"{level!r}: one of {', '.join(LEVELS)}", param_hint="--level")
    if freq not in FREQUENCIES:
        raise typer.BadParameter(f"{freq!r}: one of {', '.join(FREQUENCIES)}", param_hint="--freq")
    day = date_option(as_of, "--as-of") or dt.date.today()
    if out_file is not None:
        check_lifecycle_out(out_file)
    if grids is not None or buildings is not None or problems is not None:
        if (grids is None) != (buildings is None):
            raise typer.BadParameter("give both --grids and --buildings, or neither")
        if problems is None:
            raise typer.BadParameter("give --problems with --grids and --buildings")
    with progress_bar() as progress:
        results = run_lifecycle(
            db,
            problems=problems,
            grids=grids,
            buildings=buildings,
            communities=communities,
            crs=crs,
            freq=freq,
            as_of=day,
            policy=rules,
            progress=progress,
        )
        key = f"lifecycle_{level}"
        if key not in results:
            raise ValidationError(f"--level {level} needs --grids and --buildings (or a store)")
        files = []
        if out_file is not None:
            with step(progress, f"writing {out_file.name}"):
                files = write_lifecycle(results, out_file, level=level, lang=lang)
    _print_table(results[key], f"problem list (问题清单) as of {day}, per {level}")
    out.print(_counts(results), highlight=False)
    if files:
        out.print(f"written to {' and '.join(map(str, files))}", highlight=False)


def _counts(results: dict[str, Any]) -> str:
    """How many rows each finding has."""
    return ", ".join(
        f"{len(frame):,} {name.replace('_', ' ')}"
        for name, frame in results.items()
        if not name.startswith("lifecycle_")
    )


def _print_table(table: Any, title: str) -> None:
    """One level's table, wide enough for its 15 columns."""
    shown = Table(title=title)
    for col in table.columns:
        shown.add_column(
            _HEADERS.get(str(col), str(col)),
            justify="left" if col in (table.columns[0], table.columns[1]) else "right",
            no_wrap=True,
        )
    for row in table.itertuples(index=False):
        shown.add_row(*(_cell(name, value) for name, value in zip(table.columns, row, strict=True)))
    Console(soft_wrap=True, width=max(out.width, 190)).print(shown)


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
