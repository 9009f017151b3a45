"""Field writes: visits, council meetings, problems and each problem's lifecycle.

Every write is

- **validated** before anything is stored: the row goes through
  :func:`gridgeo.validate.prepare_layer` (types, choices, dates, lifecycle), its
  references must exist, a visit must lie within the member's assignments on its
  date, and a close needs feedback text;
- **idempotent**: with an idempotency key, the first result is stored under the key
  in the same transaction as the write, and a retry gets that result back instead of
  writing again (:mod:`gridgeo.store.idempotency`);
- **identified by the client**: a write may carry a ``uuid``, unique in the store; the
  same uuid with the same request gets the first result back, with another request
  it is a ``Conflict``. Visits, meetings and problems keep it in their ``uuid`` column;
- **versioned**: a problem's ``version`` is 1 when reported and one more with each
  step; a step given a ``version`` applies only to that version (``StaleVersion``);
- **audited**: each write and step adds a row to the audit log
  (:mod:`gridgeo.store.audit`) in its own transaction, with who, where, and the values
  before and after;
- **committed before it is acknowledged**: the functions return only after the
  transaction has committed, and they count the change of the layer
  (:meth:`gridgeo.store.Store.bump_version`) in that same transaction.

When a :class:`gridgeo.principal.Principal` is given, its role and area are checked too
(``PermissionDenied``), **before anything else**: every reference of the write (the
household, building, visit, responsible member, grid or problem it names) must lie in
the caller's area, and a code that exists elsewhere gets the same answer, word for word,
as a code that exists nowhere, so refusals tell nothing about other areas. Without a
principal (scripts, notebooks) only the data rules apply.

Each write answers with a :class:`WriteOutcome`: what it did (``created``, ``updated``,
or ``replayed`` for a retry) and the feature as stored.

The package: :mod:`~gridgeo.fieldwork.records` (visits, meetings, problems),
:mod:`~gridgeo.fieldwork.lifecycle` (resolve, escalate, close),
:mod:`~gridgeo.fieldwork.permissions` (role, member and area of the caller),
:mod:`~gridgeo.fieldwork.responsibility` (a member's assignments on a day),
:mod:`~gridgeo.fieldwork.places` (households and buildings referred to) and
:mod:`~gridgeo.fieldwork.rows` (one row: prepared, inserted, read back).
"""

from __future__ import annotations

from gridgeo.fieldwork.lifecycle import close_problem, escalate_problem, resolve_problem
from gridgeo.fieldwork.records import record_meeting, record_visit, report_problem
from gridgeo.fieldwork.responsibility import member_responsibility
from gridgeo.fieldwork.rows import CLOCK_SKEW, read_feature
from gridgeo.store.idempotency import WriteKind, WriteOutcome

__all__ = [
    "CLOCK_SKEW",
    "WriteKind",
    "WriteOutcome",
    "close_problem",
    "escalate_problem",
    "member_responsibility",
    "read_feature",
    "record_meeting",
    "record_visit",
    "report_problem",
    "resolve_problem",
]
