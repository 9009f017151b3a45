"""The words a synthetic district is made of, read from the package file ``vocabulary.toml``."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from gridgeo.errors import ConfigError

__all__ = ["VOCABULARY_FILE", "Vocabulary", "load_vocabulary"]

#: Name of the package data file in :mod:`gridgeo.synth`.
VOCABULARY_FILE = "vocabulary.toml"


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Word lists, in the order the generator draws positions in them.

    Attributes
    ----------
    street_bases, street_suffixes
        A street's name is a base and a suffix (南京 + 西路).
    community_words, community_variants
        A community's name is a word, a variant and 社区 (华阳 + 新村 + 社区).
    regions, brands, unit_kinds, unit_branches
        A partner unit's organisation: region + brand + kind of unit + its branch
        (``unit_kinds[k]`` goes with ``unit_branches[k]``).
    surnames, surname_weights
        Surnames and their relative frequencies.
    given_characters
        Characters of given names, one per entry.
    phone_prefixes
        First three digits of mobile numbers.
    household_notes, building_notes, leader_notes
        Notes of household visits, building rounds and leaders' visits.
    meeting_topics
        Topics of grid council meetings.
    categories, category_weights, descriptions
        Problem categories, their frequencies outside the hotspots, and what residents
        report in each (``descriptions[k]`` belongs to ``categories[k]``).
    feedback, explanations
        What a resident is told when a problem is closed, or cannot be solved.
    """

    street_bases: tuple[str, ...]
    street_suffixes: tuple[str, ...]
    community_words: tuple[str, ...]
    community_variants: tuple[str, ...]
    regions: tuple[str, ...]
    brands: tuple[str, ...]
    unit_kinds: tuple[str, ...]
    unit_branches: tuple[str, ...]
    surnames: tuple[str, ...]
    surname_weights: np.ndarray
    given_characters: tuple[str, ...]
    phone_prefixes: np.ndarray
    household_notes: tuple[str, ...]
    building_notes: tuple[str, ...]
    leader_notes: tuple[str, ...]
    meeting_topics: tuple[str, ...]
    categories: tuple[str, ...]
    category_weights: np.ndarray
    descriptions: tuple[tuple[str, ...], ...]
    feedback: tuple[str, ...]
    explanations: tuple[str, ...]


@functools.cache
def load_vocabulary() -> Vocabulary:
    """Read ``vocabulary.toml`` from the package (once per process).

    Returns
    -------
    Vocabulary
        The word lists.

    Raises
    ------
    ConfigError
        The file repeats an entry in a list, which would repeat names.

    Examples
    --------
    >>> words = load_vocabulary()
    >>> words.categories[:2], len(words.surnames) == len(words.surname_weights)
    (('环境卫生', '停车'), True)
    """
    text = (files("gridgeo.synth") / VOCABULARY_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    streets, communities = data["streets"], data["communities"]
    organisations, people = data["organisations"], data["people"]
    categories = data["problems"]["categories"]
    vocabulary = Vocabulary(
        street_bases=tuple(streets["bases"]),
        street_suffixes=tuple(streets["suffixes"]),
        community_words=tuple(communities["words"]),
        community_variants=tuple(communities["variants"]),
        regions=tuple(organisations["regions"]),
        brands=tuple(organisations["brands"]),
        unit_kinds=tuple(unit["kind"] for unit in organisations["units"]),
        unit_branches=tuple(unit["branch"] for unit in organisations["units"]),
        surnames=tuple(people["surnames"]),
        surname_weights=np.array(list(people["surnames"].values()), float),
        given_characters=tuple(people["given_characters"]),
        phone_prefixes=np.array(people["phone_prefixes"], np.int64),
        household_notes=tuple(data["visits"]["household_notes"]),
        building_notes=tuple(data["visits"]["building_notes"]),
        leader_notes=tuple(data["visits"]["leader_notes"]),
        meeting_topics=tuple(data["meetings"]["topics"]),
        categories=tuple(category["name"] for category in categories),
        category_weights=np.array([category["weight"] for category in categories], float),
        descriptions=tuple(tuple(category["descriptions"]) for category in categories),
        feedback=tuple(data["problems"]["feedback"]),
        explanations=tuple(data["problems"]["explanations"]),
    )
    for name in ("street_bases", "community_words", "brands", "surnames", "given_characters"):
        words = getattr(vocabulary, name)
        if len(set(words)) != len(words):
            repeated = sorted({word for word in words if words.count(word) > 1})
            raise ConfigError(
                f"{VOCABULARY_FILE}: {name} repeats {', '.join(repeated)}; keep one of each"
            )
    return vocabulary
