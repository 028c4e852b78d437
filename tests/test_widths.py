"""Every width from 40 to 250 columns reads well: help, tables, records, links.

Each command is rendered at several widths, and the rules are checked mechanically:
no line wider than the terminal, no id or address split across lines, no value
clipped with an ellipsis.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunofacts.cli import app

DATA = Path(__file__).resolve().parent.parent / "data" / "immunofacts.yaml"
COMMANDS = [
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
    "diff",
    "schema",
]
LONG_OPTION = re.compile(r"--[a-z][a-z-]+")


def help_text(args: list[str], columns: int) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


def option_names(args: list[str]) -> set[str]:
    """Every long option a command takes, from its parameters (not from any help text)."""
    import typer.main

    group = typer.main.get_command(app)
    command = group.commands[args[0]] if args else group  # type: ignore[attr-defined]
    return {o for p in command.params for o in p.opts if o.startswith("--")} | {"--help"}


@pytest.mark.parametrize("columns", [40, 60])
@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)], ids=lambda c: c[0] if c else "")
def test_narrow_help_names_every_option_in_full(command: list[str], columns: int) -> None:
    text = help_text(command, columns)
    assert "…" not in text
    assert not re.search("[\u2500-\u257f]", text), "a boxed layout at a narrow width"
    for line in text.splitlines():
        assert len(line.rstrip()) <= columns, line
    shown = set(LONG_OPTION.findall(text))
    assert option_names(command) <= shown


def test_narrow_help_shows_every_command_summary_in_full() -> None:
    text = help_text([], 40)
    assert "..." not in text.replace("[ARGS]...", "")
    assert "Export the dataset" in text
    flat = " ".join(text.split())
    assert "its reviews, or its references." in flat


@pytest.mark.parametrize("columns", [80, 120])
def test_wide_help_keeps_the_rich_layout(columns: int) -> None:
    text = help_text(["list-claims"], columns)
    assert "╭" in text
    assert {"--kind", "--evidence", "--verdict", "--entity", "--year"} <= set(
        LONG_OPTION.findall(text)
    )
