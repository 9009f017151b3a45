"""The command line in English and Chinese: every help text in both, chosen by the locale."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from gridgeo.cli import app
from gridgeo.cli.messages import LANGUAGES, catalog, help_key, language, walk

CJK = re.compile(r"[\u4e00-\u9fff]")
runner = CliRunner()


def _tree() -> list[tuple[str, object, object]]:
    return list(walk(typer.main.get_command(app)))


def test_every_help_text_has_both_languages() -> None:
    for section in ("help", "text"):
        for key, texts in catalog()[section].items():
            assert set(texts) == set(LANGUAGES), key
            assert texts["en"].strip() and texts["zh"].strip(), key
            assert not CJK.search(texts["en"]) or "网格号" in texts["en"], key
            assert CJK.search(texts["zh"]), f"{key}: the zh text is not Chinese"


def test_the_layer_arguments_name_every_layer_in_order() -> None:
    from gridgeo.layers import LAYER_ORDER

    for key in ("import LAYER", "export LAYER"):
        for lang in LANGUAGES:
            assert ", ".join(LAYER_ORDER) in catalog()["help"][key][lang], (key, lang)


def test_every_command_option_and_argument_has_a_help_text_and_none_is_stale() -> None:
    helps = catalog()["help"]
    used: set[str] = set()
    missing = []
    for path, _command, param in _tree():
        if param is not None and param.param_type_name == "option" and "--help" in param.opts:
            continue
        keys = [k for k in help_key(path, param) if k in helps]
        if keys:
            used.add(keys[0])
        else:
            missing.append(help_key(path, param)[0])
    assert not missing, f"add these to gridgeo/cli/messages.toml: {missing}"
    assert set(helps) - used == set(), "texts of no command or option"


def test_no_command_module_writes_its_own_help_text() -> None:
    from pathlib import Path

    import gridgeo.cli

    for module in Path(gridgeo.cli.__file__).parent.glob("*.py"):
        assert not re.search(r"\bhelp=", module.read_text(encoding="utf-8")), module.name


@pytest.mark.parametrize(
    ("env", "want"),
    [
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "GRIDGEO_LANG": "en"}, "en"),
        ({"LANG": "C", "GRIDGEO_LANG": "zh"}, "zh"),
        ({"LC_ALL": "", "LANG": "zh_SG"}, "zh"),
    ],
)
def test_the_language_is_gridgeo_lang_else_the_locale(env: dict[str, str], want: str) -> None:
    assert language(env) == want


def _help(*args: str, **env: str) -> str:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GRIDGEO_LANG", "LANG", "LC_ALL", "LC_MESSAGES")
    }
    done = subprocess.run(
        [sys.executable, "-m", "gridgeo", *args],
        capture_output=True,
        text=True,
        env={**environ, "COLUMNS": "120", **env},
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


def test_gridgeo_lang_zh_check_h_shows_chinese() -> None:
    text = _help("check", "-h", GRIDGEO_LANG="zh")
    assert "用法：" in text and "选项" in text and "Options" not in text
    assert "查找空白、重叠" in text and "要写出的 GeoPackage" in text
    assert "[默认：zh]" in text and "[必填]" in text and "显示本帮助并退出" in text
    assert "GeoPackage to write" not in text


def test_a_chinese_locale_gives_chinese_help_and_errors_an_english_one_english() -> None:
    text = _help("import", "-h", LANG="zh_CN.UTF-8")
    assert "参数" in text and "以下之一：communities, grids" in text
    text = _help("check", LANG="zh_CN.UTF-8")
    assert "缺少选项 '--out'" in text and "错误" in text and "查看帮助" in text
    text = _help("check", "-h", LANG="C.UTF-8")
    assert "Usage:" in text and "Options" in text and "GeoPackage to write" in text
    assert not CJK.search(text.replace("网格号", ""))


def test_one_process_switches_language_between_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_LANG", "zh")
    zh = runner.invoke(app, ["report", "-h"]).output
    monkeypatch.setenv("GRIDGEO_LANG", "en")
    en = runner.invoke(app, ["report", "-h"]).output
    assert "报告" in zh and "选项" in zh
    assert "coverage report" in en and "Options" in en and "选项" not in en


def test_gridgeo_s_own_errors_and_notes_are_framed_in_the_language(tmp_path) -> None:
    args = ("check", "--out", tmp_path / "x.gpkg", "--grids", tmp_path / "no.gpkg")
    zh = runner.invoke(app, [str(a) for a in (*args, "--buildings", tmp_path / "no2.gpkg")],
                       env={"GRIDGEO_LANG": "zh"})  # fmt: skip
    en = runner.invoke(app, [str(a) for a in (*args, "--buildings", tmp_path / "no2.gpkg")],
                       env={"GRIDGEO_LANG": "en"})  # fmt: skip
    assert zh.exit_code == en.exit_code == 1
    assert "错误： " in zh.output and "no.gpkg: no such file" in zh.output
    assert "error: " in en.output and "错误" not in en.output


def test_progress_steps_are_named_in_the_language(tmp_path) -> None:
    from gridgeo.cli.messages import step_text
    from gridgeo.synth.district import STAGES

    assert step_text("reading the input files", "zh") == "读取输入文件"
    assert step_text("writing c.gpkg", "zh") == "写出 c.gpkg"
    assert step_text("upserting buildings (50,583 rows)", "zh") == "写入 buildings（50,583 行）"
    assert step_text("indexing buildings: ix_buildings_geom", "zh").startswith("重建索引 buildings: ")
    assert step_text("fix grids: reading the inputs", "zh") == "fix grids: 读取输入"
    assert all(CJK.search(step_text(stage, "zh")) for stage in STAGES)
    assert step_text("writing c.gpkg", "en") == "writing c.gpkg"
    run = _help("synth", "--scale", "tiny", "--out", str(tmp_path / "t.gpkg"), GRIDGEO_LANG="zh")
    assert "布置街巷、网格和社区: 1/1" in run and "写出 communities: " in run
