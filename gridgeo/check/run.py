"""``run_check``: every step of the check its inputs allow, on the inputs given."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from gridgeo.check.engine import CheckResults, Step, run_steps
from gridgeo.check.files import FileOptions, read_inputs
from gridgeo.check.inputs import Inputs, inputs_from_store
from gridgeo.check.steps import STEPS
from gridgeo.errors import ValidationError
from gridgeo.policy import Policy
from gridgeo.store.base import Progress

__all__ = ["check_inputs", "run_check"]


def run_check(
    inputs: Inputs,
    *,
    policy: Policy | None = None,
    as_of: dt.date | None = None,
    timezone: str | None = None,
    progress: Progress | None = None,
    steps: Sequence[Step] = STEPS,
) -> CheckResults:
    """Run every analysis the inputs allow; return result layers by name.

    Always: ``gaps``, ``overlaps``, ``building_grid``, ``straddling_buildings``,
    ``buildings_outside``; with communities: ``grid_communities``; with assignments:
    ``unassigned_buildings``, ``multi_assigned_buildings``, ``member_quota``,
    ``organisation_quota``, ``shared_grids`` (and ``community_leaders`` with
    communities); with visits: ``last_visits``, the visit shares (with households),
    ``visit_weeks`` and ``leader_quarters``; with meetings: ``meeting_months``;
    ``input_issues`` when the inputs themselves had problems; then
    ``summary_grids``, ``summary_communities`` and ``summary_district``.

    Parameters
    ----------
    inputs
        What :func:`~gridgeo.check.read_inputs` or
        :func:`~gridgeo.check.inputs_from_store` returned.
    policy
        The rules' numbers; default the plan's.
    as_of
        The date assignments are in force at and the review period ends on; today
        by default.
    timezone
        The district's time zone; default the ``GRIDGEO_TIMEZONE`` setting.
    progress
        ``progress(description, done, total)``, told the name of each step
        (``"checking: gaps"``) as it starts.
    steps
        The steps to run (:data:`~gridgeo.check.steps.STEPS`).

    Returns
    -------
    CheckResults
        A dict of the result layers, with ``ran`` (the steps that ran) and
        ``skipped`` (step → why it did not run or had nothing to write).

    Raises
    ------
    ValidationError
        Assignments of members to households without the households.
    """
    if timezone is None:
        from gridgeo.settings import get_settings

        timezone = get_settings().timezone
    layers = {"grids": inputs.grids, "buildings": inputs.buildings, **inputs.layers}
    if inputs.input_findings:
        layers["input_findings"] = inputs.input_findings
    return run_steps(
        steps,
        layers,
        policy=policy or Policy(),
        as_of=as_of or dt.date.today(),
        timezone=timezone,
        sources=inputs.sources,
        progress=progress,
    )


def check_inputs(
    db: str | None = None,
    *,
    grids: Path | None = None,
    buildings: Path | None = None,
    grid_id: str | None = None,
    building_id: str | None = None,
    crs: str | None = None,
    extra: Mapping[str, Path | None] | None = None,
    options: Mapping[str, FileOptions] | None = None,
    folder: Path | None = None,
    engine: str = "local",
) -> Inputs:
    """What ``gridgeo check`` runs on: a folder, the files when grids and buildings are given, else a store.

    Parameters
    ----------
    db
        The store's URL (default ``GRIDGEO_DATABASE_URL``), read when no files are given.
    grids, buildings
        The grid and building files; both, or neither to read the store.
    grid_id, building_id, crs, extra, options
        As :func:`~gridgeo.check.read_inputs` takes them (``extra``: the other
        layers' files by layer name, None where not given).
    folder
        A partitioned exchange folder (:func:`~gridgeo.check.inputs.inputs_from_folder`),
        read instead of files or a store.
    engine
        ``dask``: the folder's layers stay in its partitions, for
        :func:`~gridgeo.check.partitioned.check_folder`; only what the outputs name
        (grids, buildings, communities, organisations, members) is read here.

    Returns
    -------
    Inputs
        The frames of the check.

    Raises
    ------
    ValidationError
        Only one of ``grids`` and ``buildings`` was given, or other files without them,
        or a folder with files or a store.
    NotFound
        No files and no store: the default store's file does not exist (it is not
        created).
    """
    given = [name for name, path in (extra or {}).items() if path is not None]
    if folder is not None:
        if grids is not None or buildings is not None or given or db is not None:
            raise ValidationError(
                "--folder holds every layer: give it without --db and without input files"
            )
        from gridgeo.check.inputs import inputs_from_folder

        return inputs_from_folder(folder, names_only=engine == "dask")
    if grids is not None and buildings is not None:
        return read_inputs(
            grids=grids,
            buildings=buildings,
            grid_id=grid_id,
            building_id=building_id,
            crs=crs,
            extra=extra,
            options=options,
        )
    if grids is not None or buildings is not None:
        raise ValidationError("give both the grids and the buildings files, or neither")
    if given:
        raise ValidationError(
            f"--{given[0]} is read with the grids and buildings files: give --grids and "
            "--buildings too (without files, everything comes from the store)"
        )
    _existing_store(db)
    from gridgeo.store import open_store

    store = open_store(db)
    try:
        return inputs_from_store(store)
    finally:
        store.close()


def _existing_store(db: str | None) -> None:
    """Refuse to check a SQLite store whose file does not exist (opening would create it)."""
    from sqlalchemy.engine import make_url

    from gridgeo.errors import NotFound
    from gridgeo.settings import get_settings

    url = make_url(db or get_settings().database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    if not Path(url.database).exists():
        raise NotFound(
            f"nothing to check: no --grids and --buildings files, and no store at {url.database}; "
            "give the files (gridgeo check --grids G --buildings B --out OUT) or load a store "
            "first (gridgeo import / gridgeo load)"
        )
