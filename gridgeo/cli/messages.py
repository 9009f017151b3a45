"""The command line's words in the user's language: help texts, headings, error framing.

Every help text is in ``messages.toml`` beside this module, in English and Chinese; the
command modules declare options without help texts. :func:`localize` writes the texts of
one language into the command tree before each run, and :func:`use_framework` puts
typer's and click's own words (``Options``, ``Usage:``, ``[default: …]``, the error
panel) into the same language.

The language is Chinese when ``GRIDGEO_LANG`` starts with ``zh``, or, without
``GRIDGEO_LANG``, when the locale does (``LC_ALL``, then ``LC_MESSAGES``, then
``LANG``, as POSIX programs read it); English otherwise.
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "LANGUAGES",
    "catalog",
    "help_key",
    "language",
    "localize",
    "step_text",
    "text",
    "use_framework",
]

LANGUAGES = ("en", "zh")
_FILE = Path(__file__).with_name("messages.toml")


def language(environ: Any = None) -> str:
    """``zh`` or ``en``: ``GRIDGEO_LANG`` first, then the locale."""
    env = os.environ if environ is None else environ
    chosen = env.get("GRIDGEO_LANG", "").strip()
    if not chosen:
        chosen = next(
            (env[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(v, "").strip()), ""
        )
    return "zh" if chosen.lower().startswith("zh") else "en"


@lru_cache
def catalog() -> dict[str, Any]:
    """The parsed ``messages.toml``."""
    with _FILE.open("rb") as f:
        return tomllib.load(f)


def text(key: str, lang: str | None = None) -> str:
    """The ``[text.KEY]`` message in ``lang`` (default: :func:`language`)."""
    return catalog()["text"][key][lang or language()]


def help_key(path: str, param: Any | None = None) -> list[str]:
    """The keys, most specific first, of a command's (or its parameter's) help text."""
    if param is None:
        return [path or "gridgeo"]
    if param.param_type_name == "argument":
        return [f"{path} {param.name.upper()}".strip()]
    name = max(param.opts, key=len)
    return [f"{path} {name}".strip(), name]


def _help(keys: list[str], lang: str) -> str | None:
    helps = catalog()["help"]
    for key in keys:
        if key in helps:
            return helps[key][lang]
    return None


def localize(command: Any, lang: str, path: str = "") -> None:
    """Write the help texts of ``lang`` into a (typer) command tree, in place."""
    command.help = _help(help_key(path), lang) or command.help
    command.short_help = None
    for param in command.params:
        found = _help(help_key(path, param), lang)
        if found is not None:
            param.help = found
    for name, sub in getattr(command, "commands", {}).items():
        localize(sub, lang, f"{path} {name}".strip())


def walk(command: Any, path: str = "") -> Any:
    """``(path, command, param)`` for every command (``param`` None) and parameter."""
    yield path, command, None
    for param in command.params:
        yield path, command, param
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, f"{path} {name}".strip())


# -- typer's and click's own words --------------------------------------------------------
_ENGLISH: dict[str, str] = {}  # rich_utils constant -> its English text, saved once
_RICH_CONSTANTS = (
    "DEPRECATED_STRING",
    "DEFAULT_STRING",
    "ENVVAR_STRING",
    "REQUIRED_LONG_STRING",
    "ARGUMENTS_PANEL_TITLE",
    "OPTIONS_PANEL_TITLE",
    "COMMANDS_PANEL_TITLE",
    "ERRORS_PANEL_TITLE",
    "ABORTED_TEXT",
    "RICH_HELP",
)
_state = {"lang": "en", "installed": False}


def framework_text(message: str) -> str:
    """Typer's (gettext) ``message`` in the current language."""
    if _state["lang"] == "en":
        return message
    return catalog()["framework"].get(message, message)


def error_text(message: str) -> str:
    """One of click's error messages in the current language."""
    if _state["lang"] == "en":
        return message
    for pattern, chinese in catalog()["errors"].items():
        message = re.sub(pattern, chinese, message, flags=re.S)
    return message


def step_text(description: str, lang: str | None = None) -> str:
    """A progress step's description in ``lang`` (default: :func:`language`)."""
    if (lang or language()) == "en":
        return description
    for pattern, chinese in catalog()["steps"].items():
        description = re.sub(pattern, chinese, description)
    return description


def use_framework(lang: str) -> None:
    """Put typer's and click's words (headings, usage, errors) into ``lang``."""
    from typer import core, rich_utils

    _install()
    _state["lang"] = lang
    for name in _RICH_CONSTANTS:
        _ENGLISH.setdefault(name, getattr(rich_utils, name))
        setattr(rich_utils, name, framework_text(_ENGLISH[name]))
    core._ = framework_text  # type: ignore[attr-defined]


def _install() -> None:
    """Once: route the usage prefix, the help option and error messages through the catalog."""
    if _state["installed"]:
        return
    from typer import _click, rich_utils
    from typer._click.formatting import HelpFormatter

    write_usage = HelpFormatter.write_usage

    def localized_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, text("usage", _state["lang"]) if prefix is None else prefix)

    get_help_option = _click.core.Command.get_help_option

    def localized_help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = text("help", _state["lang"])
        return option

    format_error = rich_utils.rich_format_error

    def localized_error(exc: Any) -> None:
        message = exc.format_message()
        exc.format_message = lambda: error_text(message)
        format_error(exc)

    HelpFormatter.write_usage = localized_usage  # type: ignore[method-assign]
    _click.core.Command.get_help_option = localized_help_option  # type: ignore[method-assign]
    rich_utils.rich_format_error = localized_error
    _state["installed"] = True
