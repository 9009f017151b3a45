"""Live: field workers write visits to ``gridgeo serve`` while leaders read their findings.

Against a ``uvicorn api.main:app`` process (authentication on, version listener on) on
a PostGIS store, for ``--seconds``:

- ``--writers`` members of one community post visits to their own households, together
  ``--rate`` a second (``POST /visits``, each answer's ``X-Data-Version`` is the version
  its commit made);
- ``--readers`` clients with the community leader's token read, in turn, that
  community's ``/findings`` (100 rows) and its ``grid_coverage`` vector tile at z14.

It prints, for ``/findings`` and for the tile: the read latencies (median, p95, max),
the errors, and **commit → visible**: from a write's answer to the first answer that
carries its version or a newer one (writes still not shown when the run and its settling
time end are counted apart). Then it waits until the last write shows, compares the
count of every finding layer that ``/findings/{layer}`` serves with a batch check of
the same store (:func:`gridgeo.check.run_check`, as ``gridgeo check --db … --as-of …``),
and reports the server process's peak resident memory. Its visits are deleted and its
tokens revoked afterwards (the version then counts the deletion too), so the benchmark
city stays as it was built.

    .venv/bin/python benchmarks/live.py --db postgresql+psycopg://postgres@127.0.0.1:5432/gridgeo_city
    .venv/bin/python benchmarks/live.py --smoke     # the sample district in a scratch database
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from load_layers import scratch_database  # noqa: E402  (this folder's scratch database)
from version_notify import SAMPLE, percentile, tile_of, uvicorn_server  # noqa: E402

LABEL = "benchmarks/live.py"


@dataclass
class Answer:
    """One request: when it was sent and answered, its status and data version."""

    kind: str
    sent: float
    received: float
    status: int
    version: int | None
    detail: str = ""


@dataclass
class Plan:
    """Who writes and reads what."""

    community: str
    households: list[tuple[str, str]]  # (member, household) of each writer
    tile: tuple[int, int, int]
    tokens: dict[str, str] = field(default_factory=dict)  # writer member / "leader" → secret
    token_ids: list[int] = field(default_factory=list)


def make_plan(url: str, writers: int, community: str | None) -> Plan:
    """Members with a household of their own in one community, and their tokens."""
    from gridgeo.access import geography
    from gridgeo.store import open_store
    from gridgeo.tokens import create_token

    store = open_store(url)
    try:
        geo = geography(store)
        rows = store.read_layer(
            "assignments",
            where={"kind": ["member_household"]},
            columns=["member", "household", "valid_to"],
            geometry=False,
        )
        rows = rows[rows["valid_to"].isna() & rows["household"].notna()]
        grid = rows["household"].map(geo.building_of_household).map(geo.grid_of_building)
        rows = rows.assign(community=grid.map(geo.grid_of_code)).dropna(subset=["community"])
        chosen = community or str(rows["community"].value_counts().index[0])
        mine = rows[rows["community"] == chosen].drop_duplicates("member").head(writers)
        if mine.empty:
            raise SystemExit(f"no member of community {chosen!r} has a household of their own")
        area = store.read_layer("communities", where={"code": [chosen]})
        point = area.geometry.iloc[0].representative_point()
        plan = Plan(
            chosen, list(mine[["member", "household"]].itertuples(index=False, name=None)),
            tile_of(point.x, point.y, 14),
        )  # fmt: skip
        for member, _ in plan.households:
            secret, who = create_token(store, "member", member=member, label=LABEL)
            plan.tokens[member] = secret
            plan.token_ids.append(int(who.token_id))
        secret, who = create_token(store, "leader", communities=[chosen], label=LABEL)
        plan.tokens["leader"] = secret
        plan.token_ids.append(int(who.token_id))
        return plan
    finally:
        store.close()


def peak_memory_mib(pid: int) -> tuple[float, float]:
    """The process's peak and current resident memory (``VmHWM``, ``VmRSS``), MiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[name] = int(value.split()[0]) / 1024
    return found["VmHWM"], found["VmRSS"]


def _version(response: httpx.Response) -> int | None:
    value = response.headers.get("X-Data-Version")
    return int(value) if value is not None else None


def _ask(client: httpx.Client, kind: str, method: str, url: str, **kw: object) -> Answer:
    sent = time.perf_counter()
    try:
        r = client.request(method, url, **kw)  # type: ignore[arg-type]
        status, version = r.status_code, _version(r)
        detail = r.text[:300] if status >= 400 else ""
    except httpx.HTTPError as error:
        status, version, detail = 0, None, f"{type(error).__name__}: {error}"
    return Answer(kind, sent, time.perf_counter(), status, version, detail)


def run_load(base: str, plan: Plan, args: argparse.Namespace, tag: str) -> list[Answer]:
    """The writers and readers for ``args.seconds``; every answer."""
    answers: list[Answer] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.5
    stop = start + args.seconds
    findings = f"{base}/findings?community={plan.community}&as_of={args.as_of}&limit=100"
    z, x, y = plan.tile
    tile = f"{base}/tiles/grid_coverage/{z}/{x}/{y}.mvt?as_of={args.as_of}"
    leader = {"Authorization": f"Bearer {plan.tokens['leader']}"}

    def writer(k: int, member: str, household: str) -> None:
        interval = len(plan.households) / args.rate
        headers = {"Authorization": f"Bearer {plan.tokens[member]}"}
        with httpx.Client(timeout=60) as client:
            i = 0
            while True:
                due = start + (k / args.rate) + i * interval
                if due >= stop:
                    return
                time.sleep(max(0.0, due - time.perf_counter()))
                body = {"household": household, "code": f"{tag}-{k}-{i}", "uuid": str(uuid.uuid4())}
                a = _ask(client, "write", "POST", f"{base}/visits", json=body, headers=headers)
                with lock:
                    answers.append(a)
                i += 1

    def reader(k: int) -> None:
        with httpx.Client(timeout=args.settle) as client:
            time.sleep(max(0.0, start - time.perf_counter()))
            turn = k
            while time.perf_counter() < stop:
                kind, url = ("findings", findings) if turn % 2 == 0 else ("tile", tile)
                a = _ask(client, kind, "GET", url, headers=leader)
                with lock:
                    answers.append(a)
                turn += 1

    threads = [threading.Thread(target=writer, args=(k, m, h))
               for k, (m, h) in enumerate(plan.households)]  # fmt: skip
    threads += [threading.Thread(target=reader, args=(k,)) for k in range(args.readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def settle(base: str, plan: Plan, args: argparse.Namespace, version: int) -> list[Answer]:
    """``/findings`` and the tile asked again until both carry ``version`` (or time runs out)."""
    leader = {"Authorization": f"Bearer {plan.tokens['leader']}"}
    z, x, y = plan.tile
    urls = {
        "findings": f"{base}/findings?community={plan.community}&as_of={args.as_of}&limit=100",
        "tile": f"{base}/tiles/grid_coverage/{z}/{x}/{y}.mvt?as_of={args.as_of}",
    }
    answers: list[Answer] = []
    deadline = time.perf_counter() + args.settle
    with httpx.Client(timeout=args.settle) as client:
        for kind, url in urls.items():
            while time.perf_counter() < deadline:
                a = _ask(client, kind, "GET", url, headers=leader)
                answers.append(a)
                if a.status == 200 and a.version is not None and a.version >= version:
                    break
                time.sleep(0.05)
    return answers


def commit_to_visible(writes: list[Answer], reads: list[Answer]) -> tuple[list[float], int]:
    """Seconds from each write's answer to the first read answered after it with its version."""
    shown = sorted((r.received, r.version) for r in reads if r.status == 200 and r.version)
    delays, missing = [], 0
    for w in writes:
        first = next((t for t, v in shown if t >= w.received and v >= w.version), None)  # type: ignore[operator]
        if first is None:
            missing += 1
        else:
            delays.append(first - w.received)
    return delays, missing


def _figures(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": statistics.median(values),
            "p95": percentile(values, 0.95), "max": max(values)}  # fmt: skip


def compare_with_batch(base: str, url: str, as_of: str, planner: str) -> dict[str, list[int]]:
    """Rows of each finding layer: served by ``/findings/{layer}`` and of a batch check."""
    from gridgeo.check import inputs_from_store, run_check
    from gridgeo.store import open_store

    store = open_store(url)
    try:
        batch = run_check(inputs_from_store(store), as_of=dt.date.fromisoformat(as_of))
    finally:
        store.close()
    counts: dict[str, list[int]] = {}
    with httpx.Client(timeout=600, headers={"Authorization": f"Bearer {planner}"}) as client:
        for name, frame in batch.items():
            if not hasattr(frame, "columns") or "rule" not in frame.columns:
                continue
            r = client.get(f"{base}/findings/{name}?as_of={as_of}&limit=1")
            served = int(r.json()["numberMatched"]) if r.status_code == 200 else -1
            counts[name] = [served, len(frame)]
    return counts


def clean_up(url: str, plan: Plan, tag: str) -> int:
    """Delete the benchmark's visits (counted as a change of visits); revoke its tokens."""
    from gridgeo.store import Store, open_store
    from gridgeo.tokens import revoke_token

    store = open_store(url)
    try:
        with store.engine.begin() as conn:
            gone = conn.execute(
                sa.text("DELETE FROM visits WHERE code LIKE :tag"), {"tag": f"{tag}-%"}
            ).rowcount
            Store.bump_version(conn, ["visits"])
        for token_id in plan.token_ids:
            revoke_token(store, token_id)
        return int(gone)
    finally:
        store.close()


def report(figures: dict[str, object]) -> None:
    """The figures as a few lines of text."""
    w = figures["writes"]
    m = figures["server_memory_mib"]
    print(f"writes: {w['stored']:,} stored of {w['sent']:,} sent ({w['achieved_per_s']:.1f}/s), "
          f"{w['errors']} errors; server peak memory {m['peak']:,} MiB")  # type: ignore[index]  # fmt: skip
    print(f"{'':10}{'reads':>7}{'errors':>8}{'read median':>13}{'p95':>8}"
          f"{'commit→visible median':>23}{'p95':>8}{'max':>8}{'not shown':>11}")  # fmt: skip
    for kind in ("findings", "tile"):
        f = figures[kind]
        lat, vis = f["latency_s"], f["commit_to_visible_s"]  # type: ignore[index]

        def s(d: dict, q: str) -> str:  # type: ignore[type-arg]
            return f"{d[q]:.3f}" if d.get("n") else "-"

        print(f"{kind:10}{f['reads']:>7}{f['errors']:>8}{s(lat, 'median'):>11} s{s(lat, 'p95'):>7} s"
              f"{s(vis, 'median'):>21} s{s(vis, 'p95'):>7} s{s(vis, 'max'):>7} s"
              f"{f['never_shown']:>11}")  # type: ignore[index]  # fmt: skip
    counts = figures.get("finding_rows_served_vs_batch")
    if isinstance(counts, dict):
        differ = {name: c for name, c in counts.items() if c[0] != c[1]}
        print(f"served findings equal a batch check on all {len(counts)} finding layers"
              if not differ else f"served findings differ from a batch check: {differ}")  # fmt: skip
    if "first_error" in figures:
        print(f"first error: {figures['first_error']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="the PostGIS store (the benchmark city)")
    parser.add_argument("--smoke", action="store_true",
                        help="the sample district in a scratch database, a short light run")  # fmt: skip
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rate", type=float, default=200, help="visit writes a second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--writers", type=int, default=8, help="members writing")
    parser.add_argument("--readers", type=int, default=32, help="clients reading")
    parser.add_argument("--community", help="the community read (default: the largest)")
    parser.add_argument("--as-of", default=dt.date.today().isoformat())
    parser.add_argument("--settle", type=float, default=900,
                        help="seconds to wait at the end for the last write to show")  # fmt: skip
    parser.add_argument("--no-compare", action="store_true", help="skip the batch check")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.smoke:
        args.rate, args.seconds, args.writers, args.readers = 20, 4, 2, 4
    elif not args.db:
        parser.error("give --db (the benchmark city) or --smoke")

    tag = f"LIVE{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        url = args.db
        if args.smoke:
            from gridgeo.cli.load import load

            database = f"gridgeo_live_bench_{uuid.uuid4().hex[:8]}"
            url = stack.enter_context(scratch_database(args.admin_url, database))
            load(SAMPLE, db=url)
        print(f"choosing writers and a community on {sa.make_url(url).database} …", flush=True)
        plan = make_plan(url, args.writers, args.community)
        from gridgeo.store import open_store
        from gridgeo.tokens import create_token

        store = open_store(url)
        planner, who = create_token(store, "planner", label=LABEL)
        plan.token_ids.append(int(who.token_id))
        store.close()
        stack.callback(lambda: print(f"cleaned up: {clean_up(url, plan, tag):,} visits deleted"))
        base, proc = stack.enter_context(uvicorn_server(url, auth=True))
        print(f"community {plan.community}, {len(plan.households)} writers, "
              f"{args.readers} readers, {args.rate:g} writes/s for {args.seconds:g} s", flush=True)  # fmt: skip
        warm = time.perf_counter()
        leader = {"Authorization": f"Bearer {plan.tokens['leader']}"}
        r = httpx.get(f"{base}/findings?community={plan.community}&as_of={args.as_of}&limit=1",
                      headers=leader, timeout=args.settle)  # fmt: skip
        r.raise_for_status()
        print(f"first /findings (the check made at start): {time.perf_counter() - warm:.1f} s")
        answers = run_load(base, plan, args, tag)
        writes = [a for a in answers if a.kind == "write"]
        done = [w for w in writes if w.status == 201 and w.version is not None]
        last = max((w.version for w in done), default=0)  # type: ignore[type-var]
        answers += settle(base, plan, args, int(last))
        peak, rss = peak_memory_mib(proc.pid)
        figures: dict[str, object] = {
            "writes": {"sent": len(writes), "stored": len(done), "errors": len(writes) - len(done),
                       "achieved_per_s": len(done) / args.seconds},
            "server_memory_mib": {"peak": round(peak), "now": round(rss)},
        }  # fmt: skip
        for kind in ("findings", "tile"):
            reads = [a for a in answers if a.kind == kind]
            ok = [a for a in reads if a.status == 200]
            delays, missing = commit_to_visible(done, reads)
            figures[kind] = {
                "reads": len(reads), "errors": len(reads) - len(ok),
                "latency_s": _figures([a.received - a.sent for a in ok]),
                "commit_to_visible_s": _figures(delays), "never_shown": missing,
            }  # fmt: skip
        if not args.no_compare:
            figures["finding_rows_served_vs_batch"] = compare_with_batch(
                base, url, args.as_of, planner
            )
        failed = [a for a in answers if a.detail]
        if failed:
            figures["first_error"] = f"{failed[0].kind} {failed[0].status}: {failed[0].detail}"
        report(figures)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
