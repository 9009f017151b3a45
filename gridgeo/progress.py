"""How the library reports progress: ``progress(description, done, total)``.

A description ``"indexing buildings: ix_buildings_geom"`` belongs to the step before
``": "`` (``indexing buildings``); the command shows each step as one bar or line
(:mod:`gridgeo.cli.progress`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["Progress", "step"]

#: ``progress(description, done, total)``
Progress = Callable[[str, int, int], None]


@contextmanager
def step(progress: Progress | None, description: str) -> Iterator[None]:
    """A step of one unit, such as one long SQL statement: ``0/1`` at its start, ``1/1`` at its end."""
    if progress is not None:
        progress(description, 0, 1)
    yield
    if progress is not None:
        progress(description, 1, 1)
