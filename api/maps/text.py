"""The map pages' words (``messages.toml``: Chinese by default, English) and the language."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from gridgeo.render.templates import messages

__all__ = ["TEXT", "Lang", "LangQ", "other_lang", "pattern_label"]

Lang = Literal["zh", "en"]
LangQ = Annotated[Lang, Query(description="labels: zh (default) or en")]

#: language → key → text, read from ``api/maps/messages.toml``.
TEXT: dict[str, dict[str, str]] = messages("api.maps")


def other_lang(lang: Lang) -> Lang:
    """The language the page's language link switches to."""
    return "en" if lang == "zh" else "zh"


def pattern_label(pattern: str, kind: str, lang: Lang) -> str:
    """An emerging hot spot pattern's name, e.g. ``新增热点`` or ``new hot spot``.

    ``kind`` is ``hot`` or ``cold``.
    """
    if lang == "en":
        return f"{pattern} {kind} spot"
    from gridgeo.analysis.hotspots import PATTERNS

    return PATTERNS.get(pattern, pattern) + ("热点" if kind == "hot" else "冷点")
