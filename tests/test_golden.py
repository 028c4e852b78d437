"""Golden renders: what a user sees on a terminal, compared with files in tests/golden/.

The renders are of the small fixture dataset in tests/fixtures/ (five records
that use every field of the schema), so an edit of the shipped dataset never
touches them; the shipped dataset is covered by the grounding and property
tests instead. Like Rich's own table tests, each render is at a fixed width,
through Typer's CliRunner with

* ``NO_COLOR=1`` and ``FORCE_COLOR=1``: CliRunner's stdout is not a tty, so
  the terminal layout would otherwise be off. FORCE_COLOR turns it on, NO_COLOR
  keeps the colour (and every escape sequence) off, so the render is
  deterministic and readable as plain text. (With FORCE_COLOR unset the render
  is the same text: `test_force_color_unset_renders_the_same`);
* ``COLUMNS`` fixed (100, and also 40 and 250 for the wide views);
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

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
FIXTURE = HERE / "fixtures" / "fixture.yaml"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

#: (golden name, command line) rendered at 100 columns.
CASES: list[tuple[str, list[str]]] = [
    ("list-cases", ["list-cases"]),
    ("show-case", ["show-case", "case-northtown-teacher"]),
    ("show-case-bare", ["show-case", "case-southport-man"]),
    ("list-claims", ["list-claims"]),
    ("show-claim", ["show-claim", "claim-zeta-mice"]),
    ("show-claim-not-a-fact", ["show-claim", "claim-banking-gift"]),
    ("show-stats", ["show-stats"]),
    ("search", ["search", "zeta"]),
    ("timeline", ["timeline"]),
    ("entities", ["entities"]),
    ("entities-one", ["entities", "Fixture Bio"]),
    ("source", ["source"]),
    ("source-claim", ["source", "--claim", "claim-zeta-mice"]),
]
#: Views also rendered narrow and wide.
WIDTH_CASES = [c for c in CASES if c[0] in ("list-cases", "show-case", "list-claims", "show-claim")]
WIDTHS = (40, 250)

BOX = re.compile("[\u2500-\u257f]")


def invoke(args: list[str], env: dict[str, str | None]) -> str:
    """stdout of a command on the fixture in table format; it must succeed quietly."""
    result = CliRunner().invoke(app, [*args, "--data", str(FIXTURE), "--format", "table"], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def render(args: list[str], columns: int) -> str:
    """The terminal render of a command, colour off, layout on, at `columns` wide."""
    return invoke(
        args, {"NO_COLOR": "1", "FORCE_COLOR": "1", "COLUMNS": str(columns), "TERM": None}
    )


def dumb(args: list[str], columns: int) -> str:
    """The render on a dumb terminal: ASCII boxes, no colour."""
    return invoke(
        args, {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": str(columns), "TERM": "dumb"}
    )


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
    """The widths of the lines, but for a line holding only a web address: a terminal
    shows an address whole (wrapping it softly) rather than break it."""
    return {len(line) for line in text.splitlines() if not line.strip().startswith("https://")}


def test_the_fixture_uses_every_field() -> None:
    """Every field of every record type has a value somewhere in the fixture."""
    import msgspec

    from immunofacts import model
    from immunofacts.loading import load_dataset

    ds = load_dataset(FIXTURE)
    unused: set[str] = set()

    def walk(value: object, cls: type[msgspec.Struct]) -> None:
        for name in cls.__struct_fields__:
            if name == "source_text":
                continue
            seen = [v for v in _values(value, cls) if getattr(v, name) not in (None, ())]
            if not seen:
                unused.add(f"{cls.__name__}.{name}")

    for cls in (
        model.Dataset, model.Source, model.Entity, model.Claim, model.Figure, model.Review,
        model.Correction, model.Reference, model.Development, model.Case, model.Patient,
        model.Event, model.Measurement,
    ):  # fmt: skip
        walk(ds, cls)
    assert unused == set()
    assert len(ds.records()) == 5


def _values(root: object, cls: type) -> list[object]:
    """Every instance of `cls` reachable from `root`."""
    import msgspec

    found: list[object] = []
    stack = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, cls):
            found.append(item)
        if isinstance(item, msgspec.Struct):
            stack.extend(getattr(item, f) for f in item.__struct_fields__)
        elif isinstance(item, tuple):
            stack.extend(item)
    return found


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
    """A detail view is a panel as wide as the terminal: every line the same width;
    below 50 columns it drops the box and gives every column to the text."""
    for columns in (50, 100, 250):
        text = render(["show-case", "case-northtown-teacher"], columns)
        assert line_widths(text) == {columns}
    text = render(["show-case", "case-northtown-teacher"], 40)
    assert not text.startswith("╭")
    assert max(line_widths(text)) <= 40


def test_no_color_wins_over_force_color() -> None:
    """NO_COLOR=1 with FORCE_COLOR=1: the terminal layout, but no escape sequences."""
    text = render(["show-claim", "claim-zeta-mice"], 100)
    assert "\x1b" not in text
    coloured = invoke(
        ["show-claim", "claim-zeta-mice"], {"FORCE_COLOR": "1", "COLUMNS": "100", "TERM": None}
    )
    assert "\x1b[" in coloured
    # Colour and hyperlinks (OSC 8, around a reference's address) are all that differ.
    plain = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\", "", coloured)
    assert re.sub(r"\x1b\[[0-9;]*m", "", plain) == text


@pytest.mark.parametrize("name", ["list-cases.100", "show-case.100", "list-claims.40"])
def test_force_color_unset_renders_the_same(name: str) -> None:
    args = next(a for n, a in CASES if n == name.split(".")[0])
    columns = name.split(".")[1]
    text = invoke(args, {"NO_COLOR": "1", "FORCE_COLOR": None, "COLUMNS": columns, "TERM": None})
    if not UPDATE:
        assert text == (GOLDEN / f"{name}.txt").read_text(encoding="utf-8")


def test_dumb_terminal_uses_ascii_boxes() -> None:
    for args in (["show-claim", "claim-zeta-mice"], ["entities", "Northtown"]):
        panel = dumb(args, 80)
        assert not BOX.search(panel)
        assert "\x1b" not in panel
        assert panel.startswith("+- ")
        assert panel.rstrip("\n").endswith("-+")
        assert line_widths(panel) == {80}


def test_dumb_terminal_nested_tables_use_ascii() -> None:
    text = dumb(["show-case", "case-northtown-teacher"], 80)
    assert text.startswith("+- case-northtown-teacher -")
    assert not BOX.search(text)


@pytest.mark.parametrize("columns", [60, 120])
def test_dumb_terminal_honours_columns(columns: int) -> None:
    assert line_widths(dumb(["show-case", "case-northtown-teacher"], columns)) == {columns}


def test_narrow_terminal_keeps_every_value() -> None:
    """A table too wide for the terminal is shown as cards, never cropped."""
    for columns in (40, 60):
        flat = " ".join(render(["list-cases"], columns).split())
        for value in (
            "case-northtown-teacher",
            "case-southport-man",
            "patient-report",
            "news-report",
            "Teacher in Northtown reports her tumour shrank after Zeta cells",
            "Man in Southport declared free of leukaemia",
        ):
            assert value in flat, (columns, value)


def test_ids_stay_on_one_line() -> None:
    """Ids are never folded mid-word, whether as a table column or a card heading."""
    for columns in (40, 100, 250):
        lines = render(["list-claims"], columns).splitlines()
        for cid in ("claim-zeta-mice", "claim-regulator-approvals", "claim-banking-gift"):
            assert any(cid in line for line in lines), (columns, cid)
