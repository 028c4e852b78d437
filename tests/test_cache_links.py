"""A dataset or source text named through a link and ``..``: the cache watches the very
files the loader reads (the system follows the link, then goes up from its target), and
an export points its copy at the text the loader read. A path cut as text
(``link/../x.yaml`` read as ``x.yaml``) would watch another file and answer, warm, for a
file that has since changed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunofacts.cli import app
from immunofacts.model import Source
from immunofacts.render.export import relocated_source

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")


def _ids(*args: str) -> list[str]:
    result = CliRunner().invoke(app, [*args, "--fields", "id", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return [r["id"] for r in json.loads(result.stdout)]


def _renamed(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert f"id: {old}\n" in text
    path.write_text(text.replace(f"id: {old}\n", f"id: {new}\n", 1), encoding="utf-8")


def test_a_dataset_named_through_a_link_and_dotdot_is_the_file_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for where in (tmp_path / "a", tmp_path):  # the file read, and a copy where the text leads
        shutil.copy(FIXTURES / "fixture.yaml", where / "x.yaml")
        shutil.copy(FIXTURES / "article.txt", where / "article.txt")
    (tmp_path / "link").symlink_to(tmp_path / "a" / "b")
    monkeypatch.chdir(tmp_path)
    named = "link/../x.yaml"  # a/x.yaml, as the system reads it
    first = _ids("list-cases", "--data", named)
    assert _ids("list-cases", "--data", named) == first  # warm
    _renamed(tmp_path / "a" / "x.yaml", first[0], "case-renamed")
    assert _ids("list-cases", "--data", named) == ["case-renamed", *first[1:]]
    assert _ids("list-cases", "--data", "x.yaml") == first  # the copy, unchanged


def test_a_source_text_named_through_a_link_and_dotdot_is_the_text_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "deep" / "deeper").mkdir(parents=True)
    shutil.copy(FIXTURES / "article.txt", tmp_path / "deep" / "article.txt")
    shutil.copy(FIXTURES / "article.txt", tmp_path / "article.txt")  # where the text leads
    text = (FIXTURES / "fixture.yaml").read_text(encoding="utf-8")
    assert "  text: article.txt\n" in text
    data = tmp_path / "ds.yaml"
    data.write_text(text.replace("  text: article.txt\n", "  text: sub/../article.txt\n"))
    (tmp_path / "sub").symlink_to(tmp_path / "deep" / "deeper")
    monkeypatch.chdir(tmp_path)
    args = ["validate", "--data", str(data)]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert CliRunner().invoke(app, args).exit_code == 0  # warm
    # the text read is deep/article.txt: changed, its quotes no longer hold
    read = tmp_path / "deep" / "article.txt"
    read.write_text(read.read_text(encoding="utf-8").replace("Zeta", "Theta"), encoding="utf-8")
    for command in (["list-claims"], ["source"]):
        result = CliRunner().invoke(app, [*command, "--data", str(data)])
        assert result.exit_code == 1, (command, result.stdout)
        assert "quote is not verbatim in the source text" in result.stderr


def test_an_export_of_a_linked_dataset_points_at_the_text_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("A", "B", "out"):
        (tmp_path / name).mkdir()
    shutil.copy(FIXTURES / "fixture.yaml", tmp_path / "B" / "ds.yaml")
    shutil.copy(FIXTURES / "article.txt", tmp_path / "A" / "article.txt")  # beside the link
    (tmp_path / "A" / "ds.yaml").symlink_to(tmp_path / "B" / "ds.yaml")
    monkeypatch.chdir(tmp_path)
    for fmt, name in (("json", "x.json"), ("yaml", "x.yaml")):
        out = tmp_path / "out" / name
        made = CliRunner().invoke(app, ["export", "-f", fmt, "--data", "A/ds.yaml", "-o", str(out)])
        assert made.exit_code == 0, made.stderr
        assert "text: ../A/article.txt" in out.read_text().replace('"', "").replace(",", "")
        allowed = {"IMMUNOFACTS_TEXT_DIRS": str(tmp_path / "A")}  # outside the copy's directory
        checked = CliRunner().invoke(app, ["validate", str(out)], env=allowed)
        assert checked.exit_code == 0, (fmt, checked.stderr)


def test_a_relocated_text_leads_to_the_file_past_a_link(tmp_path: Path) -> None:
    (tmp_path / "deep" / "deeper").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "sub").symlink_to(tmp_path / "deep" / "deeper")
    source = Source(id="src-x", title="T", publisher="P", text="sub/../article.txt")
    moved = relocated_source(source, tmp_path, tmp_path / "out")
    assert moved.text == os.path.join("..", "deep", "article.txt")


def test_an_export_keeps_a_link_that_is_the_texts_own_name(tmp_path: Path) -> None:
    # data/article.txt -> v2/article.txt: the copy names the link, and follows it as the
    # dataset does when the link is moved to another version
    (tmp_path / "data" / "v2").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "data" / "article.txt").symlink_to(Path("v2") / "article.txt")
    source = Source(id="src-x", title="T", publisher="P", text="article.txt")
    moved = relocated_source(source, tmp_path / "data", tmp_path / "out")
    assert moved.text == os.path.join("..", "data", "article.txt")


def test_an_absolute_dataset_path_works_where_the_working_directory_is_gone(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    gone = tmp_path / "gone"
    gone.mkdir()
    shutil.copy(FIXTURES / "fixture.yaml", tmp_path / "x.yaml")
    shutil.copy(FIXTURES / "article.txt", tmp_path / "article.txt")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    script = f'cd "{gone}" && rmdir "{gone}" && exec "$0" -m immunofacts list-cases --data "$1"'
    for _ in ("cold", "warm"):
        proc = subprocess.run(
            ["sh", "-c", script, sys.executable, str(tmp_path / "x.yaml")],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        gone.mkdir()


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_an_export_whose_text_is_outside_its_folder_says_what_to_allow(
    tmp_path: Path, fmt: str
) -> None:
    data = tmp_path / "a" / "deep" / "ds.yaml"
    data.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "fixture.yaml", data)
    shutil.copy(FIXTURES / "article.txt", data.parent / "article.txt")
    copy = tmp_path / "out" / f"copy.{fmt}"
    copy.parent.mkdir()
    made = CliRunner().invoke(app, ["export", "-f", fmt, "--data", str(data), "-o", str(copy)])
    assert made.exit_code == 0, made.stderr
    where = os.path.realpath(data.parent)
    assert made.stderr.splitlines() == [
        f"immunofacts: wrote {copy}",
        f"immunofacts: warning: its source text is outside its folder; to load it, add {where}"
        " to IMMUNOFACTS_TEXT_DIRS, or put the text beside it",
    ]
    refused = CliRunner().invoke(app, ["validate", str(copy)])
    assert refused.exit_code == 1
    assert f"(to allow this one, add {where} to IMMUNOFACTS_TEXT_DIRS)" in refused.stderr
    allowed = CliRunner().invoke(app, ["validate", str(copy)], env={"IMMUNOFACTS_TEXT_DIRS": where})
    assert allowed.exit_code == 0, allowed.stderr
    beside = CliRunner().invoke(
        app, ["export", "-f", fmt, "--data", str(data), "-o", str(data.parent / f"c.{fmt}")]
    )
    assert beside.stderr == f"immunofacts: wrote {data.parent / f'c.{fmt}'}\n"  # no warning
