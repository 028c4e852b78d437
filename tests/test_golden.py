"""Golden renders: what a user sees on a terminal, compared with files in tests/golden/.

Each render runs `immunofacts ... --format table` through Typer's CliRunner with

* ``NO_COLOR=1`` and ``FORCE_COLOR=1``: CliRunner's stdout is not a tty, so
  ``Env.detect`` would otherwise see a non-terminal. FORCE_COLOR turns the
  terminal layout on, NO_COLOR keeps the colour (and every escape sequence) off,
  so the render is deterministic and readable as plain text. (With FORCE_COLOR
  unset the render is the same text: `test_force_color_unset_renders_the_same`);
* ``COLUMNS`` fixed (100, and also 40 and 250 for the wide list/show views);
* ``TERM`` unset (a dumb terminal would switch to ASCII boxes).

To regenerate the files after an intended change of output, run::

    UPDATE_GOLDEN=1 pytest tests/test_golden.py

then read the diff of tests/golden/ before committing it: those files are the
product's terminal output.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunofacts.cli import app

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

#: (golden name, command line) rendered at 100 columns.
CASES: list[tuple[str, list[str]]] = [
    ("list-cases", ["list-cases"]),
    ("show-case-hong-kong-singer", ["show-case", "case-hong-kong-singer"]),
    ("list-claims", ["list-claims"]),
    ("show-claim-car-t-ind-applications", ["show-claim", "claim-car-t-ind-applications"]),
    ("show-stats", ["show-stats"]),
    ("search-lupus", ["search", "lupus"]),
    ("timeline", ["timeline"]),
    ("entities", ["entities"]),
    ("entities-lancet", ["entities", "Lancet"]),
    ("source-claim-cynk-001-fda-ind", ["source", "--claim", "claim-cynk-001-fda-ind"]),
]
#: Views also rendered narrow and wide.
WIDTH_CASES = [
    c for c in CASES if c[0] in ("list-cases", "show-case-hong-kong-singer", "list-claims")
]
WIDTHS = (40, 250)

BOX = re.compile("[\u2500-\u257f]")


def render(args: list[str], columns: int) -> str:
    """The terminal render of a command, colour off, layout on, at `columns` wide."""
    env = {"NO_COLOR": "1", "FORCE_COLOR": "1", "COLUMNS": str(columns), "TERM": None}
    result = CliRunner().invoke(app, [*args, "--format", "table"], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def check(name: str, text: str) -> None:
    """Compare `text` with golden file `name`, or rewrite it under UPDATE_GOLDEN=1."""
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing; run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"render differs from {path.name}; see UPDATE_GOLDEN in the docstring"


def line_widths(text: str) -> set[int]:
    return {len(line) for line in text.splitlines()}


@pytest.mark.parametrize(("name", "args"), CASES, ids=[c[0] for c in CASES])
def test_golden_100(name: str, args: list[str]) -> None:
    text = render(args, 100)
    assert "\x1b" not in text
    assert max(line_widths(text)) <= 100
    check(f"{name}.100", text)


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize(("name", "args"), WIDTH_CASES, ids=[c[0] for c in WIDTH_CASES])
def test_golden_widths(name: str, args: list[str], columns: int) -> None:
    text = render(args, columns)
    assert "\x1b" not in text
    assert max(line_widths(text)) <= columns
    check(f"{name}.{columns}", text)


def test_panels_fill_the_width() -> None:
    """A detail view is a panel as wide as the terminal: every line the same width."""
    for columns in (40, 100, 250):
        text = render(["show-case", "case-hong-kong-singer"], columns)
        assert line_widths(text) == {columns}


def test_no_color_wins_over_force_color() -> None:
    """NO_COLOR=1 with FORCE_COLOR=1: the terminal layout, but no escape sequences."""
    text = render(["show-claim", "claim-car-t-ind-applications"], 100)
    assert "\x1b" not in text
    coloured = CliRunner().invoke(
        app,
        ["show-claim", "claim-car-t-ind-applications", "--format", "table"],
        env={"FORCE_COLOR": "1", "COLUMNS": "100", "TERM": None},
    )
    assert coloured.exit_code == 0
    assert "\x1b[" in coloured.stdout
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.stdout) == text


def dumb(args: list[str], columns: int) -> str:
    env = {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": str(columns), "TERM": "dumb"}
    result = CliRunner().invoke(app, [*args, "--format", "table"], env=env)
    assert result.exit_code == 0
    return result.stdout


@pytest.mark.parametrize(
    "name", ["list-cases.100", "show-case-hong-kong-singer.100", "list-claims.40"]
)
def test_force_color_unset_renders_the_same(name: str) -> None:
    args = next(a for n, a in CASES if n == name.split(".")[0])
    columns = name.split(".")[1]
    env = {"NO_COLOR": "1", "FORCE_COLOR": None, "COLUMNS": columns, "TERM": None}
    result = CliRunner().invoke(app, [*args, "--format", "table"], env=env)
    assert result.exit_code == 0
    if not UPDATE:
        assert result.stdout == (GOLDEN / f"{name}.txt").read_text(encoding="utf-8")


def test_dumb_terminal_uses_ascii_boxes() -> None:
    for args in (["show-claim", "claim-car-t-ind-applications"], ["entities", "nhs"]):
        panel = dumb(args, 80)
        assert not BOX.search(panel)
        assert "\x1b" not in panel
        assert panel.startswith("+- ")
        assert panel.rstrip("\n").endswith("-+")
        assert line_widths(panel) == {80}


def test_dumb_terminal_nested_tables_use_ascii() -> None:
    text = dumb(["show-case", "case-hong-kong-singer"], 80)
    assert text.startswith("+- case-hong-kong-singer -")
    assert not BOX.search(text)


@pytest.mark.parametrize("columns", [60, 120])
def test_dumb_terminal_honours_columns(columns: int) -> None:
    assert line_widths(dumb(["show-case", "case-hong-kong-singer"], columns)) == {columns}


def test_narrow_terminal_keeps_every_value() -> None:
    """A table too wide for the terminal is shown as cards, never cropped."""
    for columns in (40, 60):
        text = render(["list-cases"], columns)
        flat = " ".join(text.split())
        for value in ("case-lupus-lymphoma-shenzhen", "case-uk-lymphoma-helen", "news-report"):
            assert value in flat
        assert "case-hong-kong-singer" in flat
        assert "patient-report" in flat
        assert "verdict reported" in flat
        assert "Later: News reports give her death" in flat
        assert "after CAR-T on the NHS" in flat


def test_ids_stay_on_one_line() -> None:
    """Ids are never folded mid-word, whether as a table column or a card heading."""
    for columns in (40, 100, 250):
        lines = render(["list-claims"], columns).splitlines()
        for cid in (
            "claim-era-of-immune-cell-therapy",
            "claim-wang-fusheng-lancet-pathology-report",
            "claim-abdominal-fat-immune-cells-reverse-aging",
        ):
            if len(cid) < columns:
                assert any(cid in line for line in lines), (columns, cid)
