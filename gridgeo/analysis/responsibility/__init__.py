"""Who is responsible for what: assignments at a date, and the rules R4–R7 and R12.

Inputs are layer frames as :meth:`gridgeo.store.Store.read_layer` returns them:
references are codes, ``assignments.valid_from``/``valid_to`` are naive dates
(``valid_to`` NaT = open-ended). Every function takes ``as_of`` (a date, default
today) and counts an assignment only when ``valid_from <= as_of <= valid_to``.

Responsibility of a household comes from a ``member_household`` assignment for it or
a ``member_building`` assignment for its building. A building is **assigned** when it
has a ``member_building`` assignment, or when it has households and *every* one of
them has a responsible member (a big building shared out by household is covered; a
building with only some households assigned is not, and its remaining households fall
back to the community's cadres). It is **multi_assigned** when two or more members
hold it through ``member_building``, or any of its households has two or more
responsible members (R7); a big building shared out among several members, each with
their own households, is not multi-assigned.

Modules
-------
assignments
    Assignments in force, each building's community.
links
    The household–member pairs as integer ids (:func:`household_links`).
buildings
    Responsibility per household and building; unassigned (R6) and multi-assigned
    (R7) buildings.
quotas
    Households per member (R5), grids per organisation (R4), linked leaders (R12).
"""

from gridgeo.analysis.responsibility.assignments import active_assignments, building_community
from gridgeo.analysis.responsibility.buildings import (
    building_responsibility,
    household_responsibility,
    multi_assigned_buildings,
    unassigned_buildings,
)
from gridgeo.analysis.responsibility.links import Links, household_links
from gridgeo.analysis.responsibility.quotas import (
    community_leaders,
    households_per_member,
    member_households,
    member_quota,
    organisation_quota,
    shared_grids,
)

__all__ = [
    "Links",
    "active_assignments",
    "building_community",
    "building_responsibility",
    "community_leaders",
    "household_links",
    "household_responsibility",
    "households_per_member",
    "member_households",
    "member_quota",
    "multi_assigned_buildings",
    "organisation_quota",
    "shared_grids",
    "unassigned_buildings",
]
