"""The vocabulary file: read once from the package, checked for repeats and a bad category."""

from __future__ import annotations

from importlib.resources import files

import pytest

from gridgeo.errors import ConfigError
from gridgeo.synth.vocabulary import VOCABULARY_FILE, load_vocabulary, parse_vocabulary

TEXT = (files("gridgeo.synth") / VOCABULARY_FILE).read_text(encoding="utf-8")


def test_the_package_file_holds_every_list_the_generator_draws_from() -> None:
    words = load_vocabulary()
    assert load_vocabulary() is words  # read once
    assert len(words.surnames) == len(words.surname_weights) == 59
    assert words.surnames[:3] == ("王", "李", "张")
    assert len(words.given_characters) == 91
    assert words.categories == ("环境卫生", "停车", "噪音", "设施维修", "安全隐患", "邻里纠纷")
    assert words.category_weights.sum() == pytest.approx(1.0)
    assert [len(group) for group in words.descriptions] == [4, 4, 4, 5, 5, 4]
    assert words.emerging_category == "安全隐患"
    assert len(words.unit_kinds) == len(words.unit_branches) == 25
    assert set(words.unit_branches) == {"党支部", "党总支", "党委"}
    assert (words.phone_prefixes // 10 >= 13).all() and (words.phone_prefixes < 200).all()
    assert words.street_bases[0] == "南京" and words.street_suffixes[0] == "路"


def test_a_repeated_word_is_refused_with_the_list_named() -> None:
    text = TEXT.replace('"北京", "延安"', '"北京", "南京"', 1)
    with pytest.raises(ConfigError, match=r"vocabulary\.toml: street_bases repeats 南京"):
        parse_vocabulary(text)


def test_an_emerging_category_that_is_not_a_category_is_refused() -> None:
    text = TEXT.replace('emerging_category = "安全隐患"', 'emerging_category = "火灾"')
    with pytest.raises(ConfigError, match="emerging_category '火灾' is not one of"):
        parse_vocabulary(text)


def test_a_missing_list_and_bad_toml_are_named_errors() -> None:
    with pytest.raises(ConfigError, match="'leader_notes' is missing"):
        parse_vocabulary(TEXT.replace("leader_notes = [", "chief_notes = ["), "mine.toml")
    with pytest.raises(ConfigError, match=r"mine\.toml: not valid TOML"):
        parse_vocabulary(TEXT + "\n[streets\n", "mine.toml")
