"""Every command documents itself, as sqlite-utils' tests/test_docs.py checks for its CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from immunofacts.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]
NAMES = sorted(COMMANDS)
EXPECTED = {
    "list-cases",
    "show-case",
    "list-claims",
    "show-claim",
    "show-stats",
    "search",
    "timeline",
    "entities",
    "source",
    "validate",
    "export",
}


def test_the_commands_are_registered() -> None:
    assert set(NAMES) == EXPECTED


@pytest.mark.parametrize("name", NAMES)
def test_help(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert result.stderr == ""
    assert f"immunofacts {name}" in result.stdout  # the usage line
    assert "Example:" in result.stdout
    example = result.stdout.split("Example:", 1)[1]
    assert example.split()[:2] == ["immunofacts", name]


@pytest.fixture(scope="module")
def top_help() -> str:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    return re.sub(r"\s+", " ", result.stdout)


@pytest.mark.parametrize("name", NAMES)
def test_docstring_summary(name: str, top_help: str) -> None:
    doc = COMMANDS[name].help or ""
    summary = doc.strip().splitlines()[0].strip()
    assert summary
    assert summary.endswith(".")
    assert summary[0].isupper()
    # the summary is what `immunofacts --help` lists
    assert summary in top_help


def test_short_help_alias() -> None:
    long = CliRunner().invoke(app, ["search", "--help"])
    short = CliRunner().invoke(app, ["search", "-h"])
    assert short.exit_code == 0
    assert short.stdout == long.stdout


def test_readme_mentions_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    # each command shown in use, not merely a word like "search" in the prose
    missing = [name for name in NAMES if not re.search(rf"immunofacts {re.escape(name)}\b", text)]
    assert missing == []
