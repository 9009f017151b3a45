"""The words a synthetic district is made of, read from the package file ``vocabulary.toml``."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from gridgeo.errors import ConfigError

__all__ = ["NAME_LISTS", "VOCABULARY_FILE", "Vocabulary", "load_vocabulary", "parse_vocabulary"]

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
    emerging_category
        Category of the emerging hotspot (one of ``categories``).
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
    emerging_category: str
    feedback: tuple[str, ...]
    explanations: tuple[str, ...]


#: The lists names are put together from: a repeated entry would repeat names.
NAME_LISTS = (
    "street_bases",
    "street_suffixes",
    "community_words",
    "community_variants",
    "regions",
    "brands",
    "unit_kinds",
    "surnames",
    "given_characters",
)


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
        See :func:`parse_vocabulary`.

    Examples
    --------
    >>> words = load_vocabulary()
    >>> words.categories[:2], len(words.surnames) == len(words.surname_weights)
    (('环境卫生', '停车'), True)
    """
    text = (files("gridgeo.synth") / VOCABULARY_FILE).read_text(encoding="utf-8")
    return parse_vocabulary(text)


def parse_vocabulary(text: str, source: str = VOCABULARY_FILE) -> Vocabulary:
    """The word lists of a vocabulary file's text.

    Parameters
    ----------
    text
        TOML laid out as ``gridgeo/synth/vocabulary.toml``.
    source
        Name of the file, for messages.

    Returns
    -------
    Vocabulary
        The word lists.

    Raises
    ------
    ConfigError
        The text is not TOML, lacks a list, repeats an entry of a list names are made
        of, or its emerging category is not one of its categories.
    """
    try:
        vocabulary = _vocabulary(tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML ({error})") from None
    except KeyError as error:
        raise ConfigError(f"{source}: {error.args[0]!r} is missing") from None
    for name in NAME_LISTS:
        words = getattr(vocabulary, name)
        if len(set(words)) != len(words):
            repeated = sorted({word for word in words if words.count(word) > 1})
            raise ConfigError(f"{source}: {name} repeats {', '.join(repeated)}; keep one of each")
    if vocabulary.emerging_category not in vocabulary.categories:
        raise ConfigError(
            f"{source}: emerging_category {vocabulary.emerging_category!r} is not one of "
            f"the categories {', '.join(vocabulary.categories)}"
        )
    return vocabulary


def _vocabulary(data: dict) -> Vocabulary:
    streets, communities = data["streets"], data["communities"]
    organisations, people = data["organisations"], data["people"]
    problems = data["problems"]
    categories = problems["categories"]
    return Vocabulary(
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
        emerging_category=problems["emerging_category"],
        feedback=tuple(problems["feedback"]),
        explanations=tuple(problems["explanations"]),
    )
