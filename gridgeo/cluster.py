"""The Dask cluster a job runs on: the scheduler it is given, else a local one.

``--engine dask`` runs a job's per-partition tasks on ``dask.distributed`` workers.
:func:`dask_client` connects to ``--scheduler ADDRESS`` (an existing cluster, or the
``cluster`` profile of ``docker-compose.yml``), or starts a ``LocalCluster`` of worker
processes on this machine and closes it afterwards. Without the ``cluster`` extra, or
with a scheduler that does not answer, the job stops with a named error before it reads
anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gridgeo.errors import ConfigError, UpstreamError

__all__ = ["ENGINES", "LOCAL_HTTP", "dask_client", "gather"]

#: the engines of ``--engine``: one process, or tasks on a Dask cluster
ENGINES = ("local", "dask")
#: the local scheduler's HTTP server: no dashboard, a free port on the loopback
LOCAL_HTTP = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
#: seconds to wait for a scheduler to answer
CONNECT_TIMEOUT = 20


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "--engine dask needs dask.distributed, which is not installed: "
            "pip install 'gridgeo[cluster]'"
        ) from None
    return distributed


@contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    workers: int = 2,
    memory_limit: str | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler``, else to a new ``LocalCluster``.

    Parameters
    ----------
    scheduler
        ``tcp://HOST:PORT`` of a running scheduler; None starts a local cluster.
    workers, memory_limit
        The local cluster's worker processes (one thread each) and the memory each may
        use (Dask's ``memory_limit``, e.g. ``"4GB"``; None: Dask's share of the RAM).

    Raises
    ------
    ConfigError
        dask.distributed is not installed.
    UpstreamError
        The scheduler did not answer within :data:`CONNECT_TIMEOUT` seconds.
    """
    distributed = _distributed()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UpstreamError(
                f"cannot reach the Dask scheduler at {scheduler} ({reason}); start it "
                "(docker compose --profile cluster up -d) or give another --scheduler"
            ) from None
        try:
            _same_gridgeo(client, scheduler)
            yield client
        finally:
            client.close()
        return
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit or "auto",
        dashboard_address=None,
        # no dashboard; the scheduler's own HTTP routes (/health) on a free local port,
        # not on 8787, which another cluster may hold
        scheduler_kwargs=LOCAL_HTTP,
    )
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def _same_gridgeo(client: Any, scheduler: str) -> None:
    """Refuse a cluster whose workers run another gridgeo (their tasks would not match)."""
    import gridgeo

    versions = client.get_versions(packages=["gridgeo"])
    theirs = {
        str(info.get("packages", {}).get("gridgeo"))
        for info in (versions.get("workers") or {}).values()
    }
    if theirs and theirs != {gridgeo.__version__}:
        raise ConfigError(
            f"the workers of the Dask scheduler at {scheduler} run gridgeo "
            f"{', '.join(sorted(theirs))}, this is gridgeo {gridgeo.__version__}: install the "
            "same version on the workers (pip install 'gridgeo[cluster]=="
            f"{gridgeo.__version__}')"
        )


def gather(client: Any, futures: Any) -> Any:
    """``client.gather(futures)``; a worker lost or a scheduler gone is a named error.

    Raises
    ------
    UpstreamError
        A task's workers died (Dask's ``KilledWorker``: most often a worker over its
        memory limit), or the connection to the scheduler closed.
    """
    from concurrent.futures import CancelledError

    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    try:
        return client.gather(futures)
    except KilledWorker as exc:
        raise UpstreamError(
            f"the Dask workers running task {exc.task!r} died (most often: over their "
            "memory limit); give the workers more memory, or the check a folder of smaller "
            "partitions"
        ) from None
    except (CancelledError, CommClosedError) as exc:
        raise UpstreamError(
            f"the Dask scheduler went away during the job ({type(exc).__name__}); start it "
            "again and run the job again"
        ) from None
