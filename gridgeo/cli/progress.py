"""The progress a long command shows: bars on a terminal, plain lines in a log, or nothing.

The library reports progress as ``progress(description, done, total)``; a description
``"checking: gaps"`` belongs to the step ``checking``. On a terminal each step is a Rich
bar with its clock. When stderr is not a terminal (a cron job, CI), each step prints a
line when it starts and when it ends, and a line every :data:`EVERY` seconds while it
runs, so a log shows what ran and for how long. ``GRIDGEO_PROGRESS=0`` silences both.
Step names are in the command line's language (:func:`gridgeo.cli.messages.step_text`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gridgeo.progress import Progress as Report

__all__ = ["EVERY", "LineProgress", "progress_mode", "progress_reporter"]

#: at most one line per this many seconds while a step runs (start and end lines aside)
EVERY = 10.0


def progress_mode(console: Console) -> str:
    """``bars`` on a terminal, ``lines`` otherwise, ``off`` with ``GRIDGEO_PROGRESS=0``."""
    from gridgeo.settings import get_settings

    shown = get_settings().progress
    if shown is False:
        return "off"
    return "bars" if console.is_terminal else "lines"


def _key(description: str) -> str:
    """The step a description belongs to: ``"checking: gaps"`` → ``"checking"``."""
    return description.split(": ", 1)[0]


@dataclass
class _Step:
    description: str
    done: int
    total: int
    started: float
    finished: bool = False


@dataclass
class LineProgress:
    """Progress as plain lines: each step's start and end, and at most one line per ``every``.

    A step that runs long without reporting (one SQL statement) still gets a line per
    ``every`` seconds from a background thread, with its elapsed time.
    """

    console: Console
    every: float = EVERY
    clock: Callable[[], float] = time.monotonic
    steps: dict[str, _Step] = field(default_factory=dict)
    last_line: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, description: str, done: int, total: int) -> None:
        now = self.clock()
        with self._lock:
            key = _key(description)
            step = self.steps.get(key)
            started = step is None or step.finished or step.description != description
            if step is None or step.finished:
                step = self.steps[key] = _Step(description, done, total, now)
            step.description, step.done, step.total = description, done, total
            finished = total > 0 and done >= total
            step.finished = finished
            if started or finished or now - self.last_line >= self.every:
                self._print(step, now)

    def _print(self, step: _Step, now: float) -> None:
        self.last_line = now
        self.console.print(
            f"{step.description}: {step.done:,}/{step.total:,} ({now - step.started:.1f} s)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )

    def beat(self) -> None:
        """A line for each unfinished step when no line was printed for ``every`` seconds."""
        now = self.clock()
        with self._lock:
            if now - self.last_line < self.every:
                return
            for step in self.steps.values():
                if not step.finished:
                    self._print(step, now)

    @contextmanager
    def running(self) -> Iterator[LineProgress]:
        """Beat in a background thread while the block runs."""
        stop = threading.Event()

        def beating() -> None:
            while not stop.wait(min(self.every, 1.0)):
                self.beat()

        thread = threading.Thread(target=beating, name="gridgeo-progress", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()


@contextmanager
def progress_reporter(console: Console) -> Iterator[Report]:
    """The ``progress(description, done, total)`` callback of a command, as its mode shows it."""
    from gridgeo.cli.messages import language, step_text

    mode, lang = progress_mode(console), language()
    if mode == "lines":
        with LineProgress(console).running() as lines:
            yield lambda description, done, total: lines(step_text(description, lang), done, total)
        return
    bar = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=mode == "off",
    )
    tasks: dict[str, Any] = {}

    def update(description: str, done: int, total: int) -> None:
        description = step_text(description, lang)
        key = _key(description)  # "checking: gaps", "checking: overlaps": one bar
        if key not in tasks:
            tasks[key] = bar.add_task(description, total=total)
        bar.update(tasks[key], completed=done, total=total, description=description)

    with bar:
        yield update
