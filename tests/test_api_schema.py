"""Property-based run of the OpenAPI document against the app (schemathesis).

Every operation of every tag (data, auth, maps, tiles, maps and reports) gets
generated requests (valid and invalid ones) with the tokens of a grid worker, a
member, a planner and a leader of one community on the sample district; no answer
may be a server error, and every answer must match what the document says. The map
pages and reports cost seconds each (a new check date or hotspot selection is a new
analysis, a PDF a Chromium run), so they get fewer examples than the rest.

The writes also run as a state machine: schemathesis follows the OpenAPI links from a
new problem (``POST /problems`` answers its ``id``) to its resolve, escalate and close
steps, as a grid worker and as a member, so the lifecycle's later states are reached
(15 scenarios of up to 6 steps each: about 25 s).
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import ignored_auth, positive_data_acceptance

from api.main import create_app
from gridgeo.areas import geography
from gridgeo.settings import Settings
from gridgeo.store import open_store
from gridgeo.tokens import create_token

# The schema is loaded when the module is imported (schemathesis's lazy fixture loader
# does not run under pytest 9), so the app is built here on an embedded store that the
# fixture below fills before the first request starts the app.
_DIR = Path(tempfile.mkdtemp(prefix="gridgeo-schema-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
_URL = f"sqlite:///{_DIR / 'sample.sqlite'}"
_TOKENS: list[str] = []
#: A household the grid worker's and the member's token may write for.
_HOUSEHOLDS: list[str] = []
app = create_app(Settings(database_url=_URL, auth="on"))
_all = schemathesis.openapi.from_asgi("/openapi.json", app)
#: pages and documents that take seconds to make
HEAVY = r"^/(maps/(coverage|hotspots)|reports/.*)$"
schema = _all.exclude(path_regex=HEAVY)
heavy = _all.include(path_regex=HEAVY)
writes = _all.include(tag="writes")
_turn = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def sample_store(sample_frames: dict) -> Iterator[None]:
    """The sample district in the app's store, and tokens of three roles."""
    store = open_store(_URL)
    try:
        store.write_layers(sample_frames)
        a = store.read_layer("assignments")
        worker = a[(a["kind"] == "worker_grid") & a["valid_to"].isna()].iloc[0]
        member = a[(a["kind"] == "member_household") & a["valid_to"].isna()].iloc[0]
        _TOKENS[:] = [
            create_token(store, "grid_worker", member=worker["member"], grids=[worker["grid"]])[0],
            create_token(store, "member", member=member["member"])[0],
            create_token(store, "planner")[0],
            create_token(store, "leader", communities=["C01"])[0],
        ]
        geo = geography(store)
        in_grid = sorted(
            h
            for h, b in geo.building_of_household.items()
            if geo.grid_of_building.get(b) == worker["grid"]
        )
        _HOUSEHOLDS[:] = [in_grid[0], member["household"]]
    finally:
        store.close()
    yield


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_answers_as_documented(case):
    _call(case)


@heavy.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_pages_and_reports_no_server_errors(case):
    _call(case)


def _call(case) -> None:
    token = _TOKENS[next(_turn) % len(_TOKENS)]
    # valid-looking requests are still refused for business reasons (unknown codes,
    # other areas), so "positive data must be accepted" does not apply here
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[positive_data_acceptance],
    )


class WriteFlows(writes.as_state_machine()):  # type: ignore[misc]
    """Sequences of writes linked by the problem's code, as one writer.

    A new problem is reported for a household of the writer's area (the generated
    codes would name none, and the links would never be followed), under a new code
    and a new ``Idempotency-Key`` (the generated ones would replay what an earlier run
    stored, and the runs would not repeat); everything else in the bodies is generated.
    """

    writer = 0  # the grid worker (0) or the member (1)

    def before_call(self, case):  # type: ignore[no-untyped-def]
        token = _TOKENS[self.writer]
        case.headers = {
            **(case.headers or {}),
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        if case.path == "/problems" and isinstance(case.body, dict):
            body = {k: v for k, v in case.body.items() if k not in _OTHER_PLACES}
            case.body = {**body, "household": _HOUSEHOLDS[self.writer]}

    def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
        case.validate_response(
            response,
            additional_checks=additional_checks,
            # the token is set in before_call, so "generated auth" is not what was sent;
            # the test above checks authentication
            excluded_checks=[positive_data_acceptance, ignored_auth],
            transport_kwargs=kwargs or None,
        )


_OTHER_PLACES = ("code", "building", "visit", "responsible")
_FLOW_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=6,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


class GridWorkerFlows(WriteFlows):
    writer = 0


class MemberFlows(WriteFlows):
    writer = 1


TestGridWorkerFlows = GridWorkerFlows.TestCase
TestGridWorkerFlows.settings = _FLOW_SETTINGS
TestMemberFlows = MemberFlows.TestCase
TestMemberFlows.settings = _FLOW_SETTINGS
