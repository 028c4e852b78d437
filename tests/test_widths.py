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


# --- show-stats as a dashboard, timeline by year ------------------------------------------------


def terminal(args: list[str], columns: int, **extra: str) -> str:
    env = {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": str(columns), "TERM": None, **extra}
    result = CliRunner().invoke(app, [*args, "--data", str(DATA)], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_show_stats_at_100_columns_fits_one_screen_with_bar_charts() -> None:
    out = terminal(["show-stats"], 100)
    lines = out.splitlines()
    assert len(lines) <= 40
    assert max(len(line) for line in lines) <= 100
    bars = sum(len(re.findall("█+▌? +[0-9]+ ", line)) for line in lines)
    assert bars >= 25  # kind, evidence, verdict and rating charts
    # Charts side by side: two boxes on one line.
    assert any(line.count("╭") == 2 for line in lines)
    for heading in ("Claims by kind", "Claims by evidence", "Claims by rating", "Cases"):
        assert heading in out
    assert "reviewed" in out  # how many claims are reviewed, and how they hold up


def test_show_stats_bars_are_as_long_as_their_counts() -> None:
    out = terminal(["show-stats"], 100)
    row = re.compile(r"│ ([a-z-]+) +(█*)(▌?) +([0-9]+) ")
    charts: dict[tuple[int, int], list[tuple[int, float]]] = {}
    panel = 0
    for line in out.splitlines():
        if "╭" in line:
            panel += 1
        for m in row.finditer(line):
            size = len(m.group(2)) + 0.5 * len(m.group(3))
            charts.setdefault((panel, m.start()), []).append((int(m.group(4)), size))
    assert len(charts) == 4
    for bars in charts.values():
        top = max(bars)
        for count, size in bars:
            assert size > 0
            assert abs(size / top[1] - count / top[0]) < 0.1, bars


def test_show_stats_at_40_columns_is_stacked_and_ascii_with_term_dumb() -> None:
    out = terminal(["show-stats"], 40, TERM="dumb")
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 40
    assert not any(line.count("+-") >= 2 for line in lines)  # one panel to a row
    assert "█" not in out
    assert re.search(r"#+ +[0-9]+", out)
    assert not re.search("[\u2500-\u257f]", out)


def test_timeline_groups_by_year_and_sets_later_outcomes_apart() -> None:
    out = terminal(["timeline"], 100)
    lines = out.splitlines()
    headings = [line.strip("│ ") for line in lines if re.fullmatch(r"│ (\d{4}) +│", line)]
    assert headings == sorted(headings)
    assert len(headings) >= 3
    later = next(i for i, line in enumerate(lines) if "Later, from outside the source" in line)
    after = "\n".join(lines[later:])
    assert "Later:" in after
    assert "Later:" not in "\n".join(lines[:later])
    # Dates aligned: every event line starts its text in the same column.
    starts = {
        m.end() for line in lines if (m := re.match(r"│ \d{4}(?:-\d\d){0,2} +(?=[^│\s])", line))
    }
    assert len(starts) == 1
