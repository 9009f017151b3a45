"""The ``gridgeo`` command: parse the arguments, call the library, print the result.

One module per command; each command function parses its options, calls one library
function and prints what it returns. What they share (``--db``, clean errors, the
progress bar, the consoles) is in :mod:`gridgeo.cli.common`; every help text, in English
and Chinese, is in ``messages.toml`` (:mod:`gridgeo.cli.messages`); the progress a command
shows is :mod:`gridgeo.cli.progress`.

Modules
-------
import_, load, export, info
    Files in and out of a store.
synth
    Synthetic districts.
check, hotspots, lifecycle, report
    The analyses (:mod:`gridgeo.check`, :mod:`gridgeo.hotspot_run`,
    :mod:`gridgeo.lifecycle_run`, :mod:`gridgeo.report`).
fix, apply
    Proposals that fix the findings, and applying them (:mod:`gridgeo.fix`).
serve, token, db
    The web API, its tokens, the database schema.
basemap
    A basemap file of the district for the web API (:mod:`gridgeo.basemaps`).
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from gridgeo.cli.apply import apply
from gridgeo.cli.basemap import basemap_build
from gridgeo.cli.check import check
from gridgeo.cli.db import db_current, db_upgrade
from gridgeo.cli.export import export
from gridgeo.cli.fix import fix_app
from gridgeo.cli.hotspots import hotspots
from gridgeo.cli.import_ import import_
from gridgeo.cli.info import info
from gridgeo.cli.lifecycle import lifecycle
from gridgeo.cli.load import load
from gridgeo.cli.messages import language, localize, use_framework
from gridgeo.cli.report import report
from gridgeo.cli.serve import serve
from gridgeo.cli.synth import synth
from gridgeo.cli.token import token_create, token_list, token_revoke

__all__ = ["app", "main"]


def _flags_show_no_type() -> None:
    """Rich help shows ``--repair`` as a flag, not as an option taking a ``<bool>``."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "flags_without_type", False):
        return

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:
        if self.is_flag and not self.count:
            return None
        return shown(self, ctx)

    display_type_rich.flags_without_type = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()


class _Localized(TyperGroup):
    """gridgeo's command tree, its help and typer's words in the user's language."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        lang = language()
        localize(self, lang)
        use_framework(lang)
        return super().main(*args, **kwargs)


app = typer.Typer(
    cls=_Localized,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    """``--version``: print gridgeo's version and stop."""
    if value:
        from importlib.metadata import version

        typer.echo(f"gridgeo {version('gridgeo')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    """gridgeo: coverage, responsibility and problem hotspots of community grids."""


db_app = typer.Typer(no_args_is_help=True)
token_app = typer.Typer(no_args_is_help=True)
basemap_app = typer.Typer(no_args_is_help=True)

# the order of `gridgeo --help`: the commands, then the groups
app.command("import")(import_)
app.command()(load)
app.command()(export)
app.command()(info)
app.command()(synth)
app.command()(check)
app.command()(apply)
app.command()(lifecycle)
app.command()(report)
app.command()(serve)
app.command()(hotspots)
app.add_typer(fix_app, name="fix")
db_app.command("upgrade")(db_upgrade)
db_app.command("current")(db_current)
app.add_typer(db_app, name="db")
token_app.command("create")(token_create)
token_app.command("list")(token_list)
token_app.command("revoke")(token_revoke)
app.add_typer(token_app, name="token")
basemap_app.command("build")(basemap_build)
app.add_typer(basemap_app, name="basemap")


def main() -> None:
    """Entry point of the ``gridgeo`` command."""
    app()


if __name__ == "__main__":
    sys.exit(main())
