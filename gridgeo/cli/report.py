"""``gridgeo report``: the coverage report (HTML, PDF) and its static maps, from a store."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer

from gridgeo.cli.common import (
    DbOption,
    PolicyOption,
    date_option,
    fails_cleanly,
    out,
    progress_bar,
    step,
)

__all__ = ["report"]


@fails_cleanly
def report(
    out_dir: Annotated[Path, typer.Option("--out")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of"),
    ] = None,
    lang: Annotated[str, typer.Option("--lang")] = "zh",
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf")] = True,
    policy: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Write the coverage report (HTML and PDF) and its static maps, from a store."""
    from gridgeo.check import inputs_from_store, run_check
    from gridgeo.policy import load_policy
    from gridgeo.report import write_report
    from gridgeo.store import open_store

    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"{lang!r}: zh or en", param_hint="--lang")
    day = date_option(as_of, "--as-of") or dt.date.today()
    rules = load_policy(policy)
    started = time.perf_counter()
    store = open_store(db)
    try:
        with progress_bar() as progress:
            with step(progress, "reading the store"):
                inputs = inputs_from_store(store)
            results = run_check(inputs, policy=rules, as_of=day, progress=progress)
            with step(progress, "drawing and writing the report"):
                files = write_report(store, out_dir, results=results, as_of=day, lang=lang, pdf=pdf)
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
