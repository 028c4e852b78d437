"""Every width from 40 to 250 columns reads well: help, tables, records, links.

Each command is rendered at several widths, and the rules are checked mechanically:
no line wider than the terminal, no id or address split across lines, no value
clipped with an ellipsis.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from immunofacts.cli import app

DATA = Path(__file__).resolve().parent.parent / "data" / "immunofacts.yaml"
#: Every command the app registers, so a new one is checked without being listed here.
COMMANDS = sorted(c.name or "" for c in typer.main.get_command(app).commands.values())  # type: ignore[attr-defined]
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
    assert "Later (outside the article):" in after
    assert "Later (outside" not in "\n".join(lines[:later])
    # Dates aligned: every event line starts its text in the same column.
    starts = {
        m.end() for line in lines if (m := re.match(r"│ \d{4}(?:-\d\d){0,2} +(?=[^│\s])", line))
    }
    assert len(starts) == 1


# --- every command at every width: the rules, checked mechanically ---------------------------

#: The narrowest and the usual widths run always; the others with the slow tests.
WIDTHS = [
    40,
    pytest.param(60, marks=pytest.mark.slow),
    pytest.param(80, marks=pytest.mark.slow),
    100,
    pytest.param(250, marks=pytest.mark.slow),
]
BORDER = re.compile(r"^[│|] ?|[ ]?[│|]$")
URL = re.compile(r"https?://\S+")
ID = re.compile(r"\b(?:claim|case|ent|src)-[a-z0-9]+(?:-[a-z0-9]+)*")
CARD_LABELS = ("kind", "evidence", "verdict", "rating", "date", "type", "claims", "cases")


def _records() -> list[list[str]]:
    from immunofacts.loading import load_dataset

    ds = load_dataset(DATA)
    longest = max(ds.claims, key=lambda c: len(c.id))
    linked = [c for c in ds.claims if c.review and any(r.link() for r in c.review.references)]
    return [
        ["show-claim", longest.id],
        *(["show-claim", c.id] for c in linked[:3]),
        *(["show-case", c.id] for c in ds.cases),
        ["entities", max(ds.entities, key=lambda e: len(e.id)).id],
        ["search", "CAR-T"],
    ]


def _all_commands() -> list[list[str]]:
    from conftest import VIEW_COMMANDS

    out: list[list[str]] = []
    for args in [*VIEW_COMMANDS, *_records()]:
        if args not in out:
            out.append(args)
    return out


def plain_of(args: list[str]) -> str:
    result = CliRunner().invoke(app, [*args, "--data", str(DATA), "--format", "plain"])
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def inner_lines(text: str) -> list[str]:
    """The lines of a render with box borders and indentation taken off."""
    return [BORDER.sub("", line.rstrip()).strip() for line in text.splitlines()]


def joined(lines: list[str]) -> str:
    """Lines rejoined the way a reader reads them: a line ending in a hyphen runs on."""
    out = ""
    for line in lines:
        out += line if line.endswith("-") else line + " "
    return out


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("args", _all_commands(), ids=lambda a: "-".join(a)[:40])
def test_every_command_reads_well_at_every_width(args: list[str], columns: int) -> None:
    result = CliRunner().invoke(
        app,
        [*args, "--data", str(DATA), "--format", "table"],
        env={"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": str(columns), "TERM": None},
    )
    assert result.exit_code in (0, 1), result.output
    out = result.stdout
    plain = plain_of(args)
    lines = inner_lines(out)
    # Nothing wider than the terminal but a web address that could not fit any line.
    for raw, line in zip(out.splitlines(), lines, strict=True):
        assert len(raw) <= columns or URL.fullmatch(line), raw
    # No id broken but after a hyphen, and no id cut short.
    text = joined(lines)
    for rid in set(ID.findall(plain)):
        assert rid in text, f"{rid} is split or missing at {columns} columns"
    assert not re.search(ID.pattern + "…", out)
    # Web addresses whole on one line.
    for url in set(URL.findall(plain)):
        url = url.rstrip(".,;)]")
        assert any(url in line for line in lines), f"{url} is split at {columns} columns"
    # Nothing clipped with an ellipsis, but search snippets, which are cut on purpose.
    if args[0] != "search":
        assert out.count("…") <= plain.count("…")
    # In cards, a column name never ends a line without its value.
    for line in lines:
        for label in CARD_LABELS:
            assert not line.endswith(f"· {label}") and line != label, line


def test_markdown_keeps_the_line_breaks_of_a_text_section() -> None:
    result = CliRunner().invoke(app, ["show-stats", "--data", str(DATA), "--format", "markdown"])
    assert result.exit_code == 0
    figures = result.stdout.split("### The article's figures\n\n", 1)[1].split("\n\n", 1)[0]
    lines = figures.split("\n")
    assert len(lines) >= 2
    assert all(line.endswith("  ") for line in lines[:-1])


@pytest.mark.parametrize("args", [["show-claim", "claim-barouch"], ["show-case", "case-hong"]])
def test_markdown_bolds_a_label_and_leaves_its_definition_plain(args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--data", str(DATA), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "****" not in text  # two bold runs glued into one broken one
    verdict = next(line for line in text.splitlines() if line.startswith("- **verdict**: "))
    value, definition = verdict.removeprefix("- **verdict**: ").split(" — ", 1)
    assert re.fullmatch(r"\*\*[a-z-]+\*\*", value), verdict
    assert "*" not in definition, verdict
    for line in text.splitlines():  # every bold run is closed on its line
        assert line.replace("\\*", "").count("**") % 2 == 0, line


def test_markdown_writes_a_label_as_a_code_span_apart_from_the_text() -> None:
    result = CliRunner().invoke(app, ["source", "--data", str(DATA), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "** `[claim-era-of-immune-cell-therapy]`" in text  # a space before it, no escapes
    assert "`\\[" not in text


def test_the_source_says_first_what_a_reader_should_know_of_it() -> None:
    runner = CliRunner()
    for fmt in ("table", "plain", "markdown"):
        result = runner.invoke(app, ["source", "--format", fmt], env={"COLUMNS": "100"})
        assert result.exit_code == 0, result.output
        flat = " ".join(result.stdout.replace("│", " ").split())
        assert "About the source" in flat, fmt
        assert "machine translation of a Chinese original" in flat, fmt
        assert "no author and no citations" in flat, fmt
        assert flat.index("About the source") < flat.index(
            "The era of immune cell therapy has arrived!"
        )


def test_markdown_keeps_the_space_after_a_label() -> None:
    result = CliRunner().invoke(app, ["search", "McMahan", "--data", str(DATA), "-f", "markdown"])
    assert result.exit_code == 0, result.output
    assert "`(matched in review:` " in result.stdout  # a space between it and the words
    assert "`(matched in review:`T" not in result.stdout
