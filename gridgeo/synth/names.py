"""Random Chinese names and phone numbers, and distinct combinations of words."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from gridgeo.synth.columns import concat_text, decimal_text, take_words
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["person_names", "phone_numbers", "unique_combinations"]


def person_names(rng: np.random.Generator, count: int, vocabulary: Vocabulary) -> pa.Array:
    """Plausible Chinese full names: a surname and one or two given characters."""
    weights = vocabulary.surname_weights / vocabulary.surname_weights.sum()
    surnames = vocabulary.surnames
    given = vocabulary.given_characters
    surname = take_words(surnames, rng.choice(len(surnames), count, p=weights))
    first = take_words(given, rng.integers(0, len(given), count))
    second_index = np.where(rng.random(count) < 0.3, len(given), rng.integers(0, len(given), count))
    second = take_words([*given, ""], second_index)
    return concat_text(surname, first, second)


def phone_numbers(rng: np.random.Generator, count: int, vocabulary: Vocabulary) -> pa.Array:
    """11-digit mobile numbers with real Chinese operator prefixes."""
    prefixes = vocabulary.phone_prefixes
    prefix = prefixes[rng.integers(0, len(prefixes), count)]
    return decimal_text(prefix * 100_000_000 + rng.integers(0, 100_000_000, count))


def unique_combinations(
    rng: np.random.Generator, sizes: tuple[int, ...], count: int
) -> list[np.ndarray]:
    """``n`` distinct random combinations of positions in lists of the given sizes.

    When ``count`` exceeds the number of combinations, they repeat (names need not be
    unique). Returns one index array per list.
    """
    total = math.prod(sizes)
    if count <= total:
        flat = rng.choice(total, count, replace=False)
    else:
        flat = rng.integers(0, total, count)
    positions = []
    for size in reversed(sizes):
        positions.append(flat % size)
        flat = flat // size
    return positions[::-1]
