"""The frames of the people: organisations, members and assignments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gridgeo.synth.assignments import AssignmentRows, Responsibility
from gridgeo.synth.columns import (
    codes_at,
    concat_text,
    date_column,
    sequential_codes,
    take_words,
)
from gridgeo.synth.frames import layer_frame
from gridgeo.synth.layout import GridPlan
from gridgeo.synth.names import person_names, phone_numbers, unique_combinations
from gridgeo.synth.people import Organisations, People
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["assignment_frame", "member_frame", "organisation_frame"]

#: ``members.role`` of each kind of member, in the order members are numbered.
ROLES = ("leader", "cadre", "grid_worker", "member")


def organisation_frame(
    rng: np.random.Generator,
    organisations: Organisations,
    community_codes: pa.Array,
    community_names: pa.Array,
    vocabulary: Vocabulary,
) -> tuple[pd.DataFrame, pa.Array]:
    """Organisations (``O001``): 华阳新村社区党委, 上海申通科技有限公司党支部."""
    count = organisations.count
    codes = sequential_codes("O", count, 3)
    partner = np.flatnonzero(organisations.kind == "partner_unit")
    region, brand, unit = unique_combinations(
        rng,
        (len(vocabulary.regions), len(vocabulary.brands), len(vocabulary.unit_kinds)),
        len(partner),
    )
    partner_names = concat_text(
        take_words(vocabulary.regions, region),
        take_words(vocabulary.brands, brand),
        take_words(vocabulary.unit_kinds, unit),
        take_words(vocabulary.unit_branches, unit),
    )
    community_party = concat_text(community_names.take(pa.array(organisations.community)), "党委")
    is_partner = np.zeros(count, bool)
    is_partner[partner] = True
    slot = np.zeros(count, np.int64)
    slot[partner] = np.arange(len(partner))
    names = pc.if_else(pa.array(is_partner), partner_names.take(pa.array(slot)), community_party)
    columns = {
        "code": codes,
        "name": names,
        "kind": pa.array(organisations.kind.tolist(), pa.large_string()),
        "community": community_codes.take(pa.array(organisations.community)),
    }
    return layer_frame("organisations", columns), codes


def member_frame(
    rng: np.random.Generator,
    plan: GridPlan,
    organisations: Organisations,
    people: People,
    responsibility: Responsibility,
    codes: dict[str, pa.Array],
    vocabulary: Vocabulary,
) -> tuple[pd.DataFrame, pa.Array]:
    """Members (``M00001``) with their role, organisation and community.

    ``codes`` holds the ``"organisations"`` and ``"communities"`` codes.
    """
    first_cadre, first_worker = people.first_cadre, people.first_worker
    first_partner = people.first_partner
    count = first_partner + responsibility.partner_count
    role = np.empty(count, object)
    for kind, (first, end) in zip(
        ROLES,
        (
            (0, first_cadre),
            (first_cadre, first_worker),
            (first_worker, first_partner),
            (first_partner, count),
        ),
        strict=True,
    ):
        role[first:end] = kind
    organisation = np.full(count, -1, np.int64)
    community = np.full(count, -1, np.int64)
    community[first_cadre:first_worker] = people.cadre_community
    community[first_worker:first_partner] = plan.grid_community[people.worker_first_grid]
    organisation[first_cadre:first_partner] = organisations.community_organisation[
        community[first_cadre:first_partner]
    ]
    organisation[first_partner:] = responsibility.partner_organisation
    community[first_partner:] = organisations.community[responsibility.partner_organisation]
    member_codes = sequential_codes("M", count, 5)
    columns = {
        "code": member_codes,
        "name": person_names(rng, count, vocabulary),
        "phone": phone_numbers(rng, count, vocabulary),
        "role": pa.array(role.tolist(), pa.large_string()),
        "organisation": codes_at(codes["organisations"], organisation),
        "community": codes_at(codes["communities"], community),
    }
    return layer_frame("members", columns), member_codes


def assignment_frame(
    rows: AssignmentRows, codes: dict[str, pa.Array]
) -> tuple[pd.DataFrame, pa.Array]:
    """Assignments (``A0000001``); ``codes`` holds the codes of the layers they refer to."""
    assignment_codes = sequential_codes("A", len(rows.kind), 7)
    columns = {
        "code": assignment_codes,
        "kind": pa.array(rows.kind, pa.large_string()),
        "member": codes_at(codes["members"], rows.member),
        "organisation": codes_at(codes["organisations"], rows.organisation),
        "community": codes_at(codes["communities"], rows.community),
        "grid": codes_at(codes["grids"], rows.grid),
        "building": codes_at(codes["buildings"], rows.building),
        "household": codes_at(codes["households"], rows.household),
        "valid_from": date_column(rows.valid_from),
        "valid_to": date_column(np.maximum(rows.valid_to, 0), rows.valid_to < 0),
    }
    return layer_frame("assignments", columns), assignment_codes
