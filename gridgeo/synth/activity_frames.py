"""The frames of the activity: visits, meetings and problems."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from gridgeo.synth.columns import (
    codes_at,
    date_column,
    int_column,
    sequential_codes,
    take_words,
    utc_column,
)
from gridgeo.synth.frames import layer_frame
from gridgeo.synth.lifecycle import NEVER, STATUSES
from gridgeo.synth.meetings import Meetings
from gridgeo.synth.parameters import SECONDS_PER_DAY, UTC_OFFSET_SECONDS, Parameters
from gridgeo.synth.problems import Problems
from gridgeo.synth.projection import Geometries
from gridgeo.synth.visits import BY_LEADER, BY_WORKER, Visits
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["meeting_frame", "problem_frame", "visit_frame"]


def _epoch(params: Parameters) -> int:
    """UTC seconds since 1970 of local midnight on the period's first day."""
    return params.start_day * SECONDS_PER_DAY - UTC_OFFSET_SECONDS


def visit_frame(
    params: Parameters,
    visits: Visits,
    codes: dict[str, pa.Array],
    vocabulary: Vocabulary,
    geometries: Geometries,
) -> tuple[gpd.GeoDataFrame, pa.Array]:
    """Visits (``V00000001``) with a note of their kind: household, building round, leader."""
    household_notes, building_notes = vocabulary.household_notes, vocabulary.building_notes
    notes = [*household_notes, *building_notes, *vocabulary.leader_notes]
    first_note = np.array([0, len(household_notes), len(household_notes) + len(building_notes)])
    note_count = np.array([len(household_notes), len(building_notes), len(vocabulary.leader_notes)])
    kind = visits.kind
    pool = np.select([kind == BY_WORKER, kind == BY_LEADER], [1, 2], 0)
    pool = np.where((kind != BY_LEADER) & (visits.household < 0), 1, pool)
    note = first_note[pool] + visits.note_choice % note_count[pool]
    visit_codes = sequential_codes("V", visits.count, 8)
    columns = {
        "code": visit_codes,
        "member": codes["members"].take(pa.array(visits.member)),
        "household": codes_at(codes["households"], visits.household),
        "building": codes_at(codes["buildings"], visits.building),
        "visited_at": utc_column(_epoch(params) + visits.seconds),
        "note": take_words(notes, note, visits.note_missing),
    }
    return layer_frame("visits", columns, geometries.visits), visit_codes


def meeting_frame(meetings: Meetings, grid_codes: pa.Array, vocabulary: Vocabulary) -> pd.DataFrame:
    """Grid council meetings (``MT000001``)."""
    columns = {
        "code": sequential_codes("MT", len(meetings.grid), 6),
        "grid": grid_codes.take(pa.array(meetings.grid)),
        "held_on": date_column(meetings.day),
        "attendance": int_column(meetings.attendance),
        "topic": take_words(vocabulary.meeting_topics, meetings.topic),
    }
    return layer_frame("meetings", columns)


def problem_frame(
    params: Parameters,
    problems: Problems,
    codes: dict[str, pa.Array],
    vocabulary: Vocabulary,
    geometries: Geometries,
) -> tuple[gpd.GeoDataFrame, pa.Array]:
    """Problems (``P0000001``) with their lifecycle; ``codes`` of the layers referred to."""
    epoch = _epoch(params)
    descriptions = [text for group in vocabulary.descriptions for text in group]
    first_description = np.cumsum([0] + [len(group) for group in vocabulary.descriptions])[:-1]
    texts = [*vocabulary.feedback, *vocabulary.explanations]
    problem_codes = sequential_codes("P", problems.count, 7)

    def when(seconds: np.ndarray) -> pd.api.extensions.ExtensionArray:
        return utc_column(epoch + np.where(seconds < NEVER, seconds, 0), seconds >= NEVER)

    category = problems.category
    columns = {
        "code": problem_codes,
        "category": take_words(vocabulary.categories, category),
        "description": take_words(descriptions, first_description[category] + problems.description),
        "building": codes["buildings"].take(pa.array(problems.building)),
        "household": codes_at(codes["households"], problems.household),
        "visit": codes_at(codes["visits"], problems.visit),
        "responsible": codes_at(codes["members"], problems.responsible),
        "reported_at": utc_column(epoch + problems.reported),
        "deadline": date_column(params.start_day + problems.deadline, problems.no_deadline),
        "status": take_words(STATUSES, problems.lifecycle.status),
        "resolved_at": when(problems.lifecycle.resolved),
        "escalated_at": when(problems.lifecycle.escalated),
        "closed_at": when(problems.lifecycle.closed),
        "feedback_at": when(problems.lifecycle.feedback),
        "feedback": take_words(
            texts, problems.lifecycle.feedback_text, problems.lifecycle.feedback >= NEVER
        ),
    }
    return layer_frame("problems", columns, geometries.problems), problem_codes
