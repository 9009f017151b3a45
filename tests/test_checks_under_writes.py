"""While writes arrive, the service makes one check of the store at a time.

Each write makes a new data version; without care every request of a new version would
start a check of the whole store side by side with the others (at city scale, each one
the size of the check in memory). :class:`api.cache.Newest` lets one computation run per
store and day, and hands every caller results of the version it saw or a newer one.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from api import analysis_cache
from api.cache import Newest
from gridgeo.store import Store, open_store

AS_OF = "2025-06-01"


class _Concurrency:
    """How many calls of a function run at once, at most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.calls = 0

    def wrap(self, function: Callable) -> Callable:  # type: ignore[type-arg]
        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            with self.lock:
                self.now += 1
                self.calls += 1
                self.most = max(self.most, self.now)
            try:
                return function(*args, **kwargs)
            finally:
                with self.lock:
                    self.now -= 1

        return counted


def _hammer(
    callers: int, seconds: float, call: Callable[[], None], pause: float = 0.0
) -> list[BaseException]:
    """``call()`` from ``callers`` threads for ``seconds``, each pausing up to ``pause``."""
    errors: list[BaseException] = []
    stop = time.monotonic() + seconds

    def loop(seed: int) -> None:
        jitter = random.Random(seed)
        while time.monotonic() < stop:
            time.sleep(jitter.uniform(0, pause))  # requests arrive at their own times
            try:
                call()
            except BaseException as error:  # reported by the test
                errors.append(error)
                return

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def test_one_computation_at_a_time_never_older_than_the_callers_version() -> None:
    version = [0]
    newest = Newest()
    seen = _Concurrency()
    stale: list[tuple[int, int]] = []

    def compute() -> tuple[int, str]:
        now = version[0]
        time.sleep(0.02)  # a computation takes a while; versions move on meanwhile
        return now, f"results of {now}"

    counted = seen.wrap(compute)

    def call() -> None:
        wanted = version[0]
        got, value = newest.get(wanted, counted)
        if got < wanted or value != f"results of {got}":
            stale.append((wanted, got))

    def writer() -> None:
        for _ in range(40):
            version[0] += 1
            time.sleep(0.005)

    write = threading.Thread(target=writer)
    write.start()
    errors = _hammer(12, 0.6, call)
    write.join()
    assert errors == [] and stale == []
    assert seen.most == 1  # never two computations side by side
    assert 1 < newest.computations == seen.calls < 40  # writes shared computations


def test_a_failed_computation_lets_the_next_caller_compute() -> None:
    newest = Newest()

    def fail() -> tuple[int, str]:
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="went away"):
        newest.get(1, fail)
    assert newest.get(1, lambda: (1, "made")) == (1, "made")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, sample_frames: dict) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path_factory.mktemp('writes') / 'sample.sqlite'}"
    s = open_store(url)
    s.write_layers(sample_frames, source="sample")
    try:
        yield s
    finally:
        s.close()


def test_requests_during_writes_share_one_check_of_the_newest_version(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    import gridgeo.check

    day = dt.date.fromisoformat(AS_OF)
    checks = _Concurrency()
    monkeypatch.setattr(gridgeo.check, "run_check", checks.wrap(gridgeo.check.run_check))
    analysis_cache.checked(store, day)  # the first check, before the writes
    before = checks.calls
    stale: list[tuple[int, int]] = []

    def call() -> None:
        wanted = store.data_version()
        got = analysis_cache.checked(store, day).stamp.version
        if got < wanted:
            stale.append((wanted, got))

    def writer() -> None:
        for _ in range(15):  # a write every 0.1 s, faster than a check of the sample
            with store.engine.begin() as conn:
                Store.bump_version(conn, ["visits"])
            time.sleep(0.1)

    write = threading.Thread(target=writer)
    write.start()
    errors = _hammer(6, 2.5, call, pause=0.2)
    write.join()
    assert errors == [] and stale == []
    assert checks.most == 1  # one check at a time, whatever the versions requested
    assert 1 <= checks.calls - before < 15  # fewer checks than versions
    last = analysis_cache.checked(store, day)
    assert last.stamp.version == store.data_version()
    fresh = gridgeo.check.run_check(gridgeo.check.inputs_from_store(store), as_of=day)
    assert set(last.results) == set(fresh)
    for name, frame in fresh.items():
        assert len(last.results[name]) == len(frame), name
