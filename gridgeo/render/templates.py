"""The Jinja templates of the pages gridgeo writes (``gridgeo/templates/``) and message catalogues.

One environment for the coverage report and the service's map pages: HTML-escaped,
and a name missing from the context is an error rather than an empty string.
Catalogues are TOML files of ``[lang]`` tables, read once per process.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = ["environment", "messages", "render_template", "template_source"]


@cache
def environment() -> Any:
    """The :class:`jinja2.Environment` over ``gridgeo/templates/``."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def template_source(name: str) -> str:
    """The text of the template ``name`` (for engines that compile it themselves, e.g. folium)."""
    return (files("gridgeo") / "templates" / name).read_text(encoding="utf-8")


def render_template(name: str, **context: Any) -> str:
    """Render the template ``name`` (e.g. ``coverage_report.html.j2``) with ``context``."""
    return str(environment().get_template(name).render(**context))


@cache
def messages(package: str, name: str = "messages.toml") -> dict[str, Any]:
    """The message catalogue ``name`` of ``package``: language → key → text.

    Examples
    --------
    >>> messages("gridgeo.report")["en"]["title"]
    'Grid coverage report'
    """
    text = (files(package) / name).read_text(encoding="utf-8")
    return tomllib.loads(text)
