"""Data is never read as terminal commands: no Rich markup, emoji codes, links or escapes.

A dataset whose names, statements and quotes hold Rich markup, emoji codes, ANSI/OSC
escape sequences, BEL, CR, C1 controls and a bidi override is shown by every view in
every human format; the markup must appear as text and no control character from the
data may reach the output. JSON and CSV keep the data exactly.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from immunofacts.cli import app
from immunofacts.loading import load_dataset

MARKUP = "[bold red]x[/]"
EMOJI = ":warning:"
LINK = "[link=https://evil.example]click[/link]"

NAME = f"Evil {MARKUP} {EMOJI} Corp\u202eproc"
ALIAS = "evilcorp \x1b]0;pwned\x07"
STATEMENT = f"Click {LINK} now {EMOJI} \x1b[31mred\x1b[0m {MARKUP} bell\x07"
QUOTE = (
    "Quote \x1b]8;;http://x\x1b\\osc8\x1b]8;;\x1b\\ title\x1b]0;pwned\x07 bell\x07 "
    f"cr\rX c1\x9b2J bidi\u202eevil nul\x00 del\x7f {MARKUP}"
)
NOTE = f"{MARKUP} note \x1b[2J\x1bc {EMOJI}"
TITLE = f"{MARKUP} case \x1b]0;pwned\x07 {EMOJI}"

#: Characters from the data that must never reach a human-format output raw.
RAW_CONTROLS = ["\x07", "\r", "\x9b", "\u202e", "\x00", "\x7f"]
SGR = re.compile(r"\x1b\[[0-9;]*m")


def q(s: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(s)


DATASET = f"""\
schema: 2
source:
  id: src-evil
  title: {q("Evil " + MARKUP)}
  publisher: {q(EMOJI)}
entities:
  - id: ent-evil
    name: {q(NAME)}
    type: organisation
    aliases: [{q(ALIAS)}]
    note: {q(NOTE)}
claims:
  - id: claim-evil
    kind: research
    statement: {q(STATEMENT)}
    quote: {q(QUOTE)}
    evidence: unsourced
    date: "2020-06"
    entities: [ent-evil]
    review:
      verdict: unconfirmed
      rating: unsupported
      note: {q(NOTE)}
cases:
  - id: case-evil
    title: {q(TITLE)}
    quote: {q(QUOTE)}
    patient:
      description: {q(NOTE)}
    diagnosis: [{q(MARKUP)}]
    therapy: {q(STATEMENT)}
    outcome: {q(NOTE)}
    evidence: news-report
    entities: [ent-evil]
    claims: [claim-evil]
"""


@pytest.fixture
def evil(tmp_path: Path) -> Path:
    path = tmp_path / "evil.yaml"
    path.write_text(DATASET, encoding="utf-8")
    return path


def test_the_dataset_loads_with_the_strings_intact(evil: Path) -> None:
    ds = load_dataset(evil)
    assert ds.claims[0].statement == STATEMENT
    assert ds.claims[0].quote == QUOTE
    assert ds.entities[0].name == NAME
    assert ds.entities[0].aliases == (ALIAS,)
    assert ds.cases[0].title == TITLE


VIEWS = {
    "show-claim": ["show-claim", "claim-evil"],
    "list-claims": ["list-claims"],
    "search": ["search", "click"],
    "search-quote": ["search", "pwned"],
    "entities": ["entities"],
    "entity": ["entities", "ent-evil"],
    "list-cases": ["list-cases"],
    "show-case": ["show-case", "case-evil"],
}
#: Environments for `--format table`: colour on, and a terminal layout without colour.
TABLE_ENVS: dict[str, dict[str, str | None]] = {
    "color": {"FORCE_COLOR": "1", "COLUMNS": "400"},
    "no-color": {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "400"},
}


def run(evil: Path, args: list[str], fmt: str, env: dict[str, str | None] | None = None) -> str:
    result = CliRunner().invoke(app, [*args, "--data", str(evil), "--format", fmt], env=env)
    assert result.exit_code == 0, (args, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr == ""
    return result.stdout


def assert_inert(out: str, *, color: bool) -> None:
    """No escape sequence but Rich's own SGR colour, no raw control, no OSC, no emoji."""
    assert "\x1b]" not in out  # no OSC: neither hyperlinks (OSC 8) nor a window title
    rest = SGR.sub("", out) if color else out
    assert "\x1b" not in rest, repr(rest[rest.find("\x1b") - 20 : rest.find("\x1b") + 20])
    for ch in RAW_CONTROLS:
        assert ch not in out, repr(ch)
    assert re.search(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x80-\x9f]", out) is None
    assert "\u26a0" not in out  # :warning: was not turned into an emoji
    assert EMOJI in out


@pytest.mark.parametrize("env_name", sorted(TABLE_ENVS))
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_table(evil: Path, view: str, env_name: str) -> None:
    out = run(evil, VIEWS[view], "table", TABLE_ENVS[env_name])
    color = env_name == "color"
    assert_inert(out, color=color)
    plain = SGR.sub("", out)
    assert MARKUP in plain
    assert "\\x1b" in plain or "\\x07" in plain or view in ("list-cases", "entities")
    if color:
        assert SGR.search(out), "FORCE_COLOR=1 should colour the table"
    else:
        assert "\x1b" not in out


def test_table_shows_link_markup_as_text(evil: Path) -> None:
    out = SGR.sub("", run(evil, ["show-claim", "claim-evil"], "table", TABLE_ENVS["color"]))
    assert LINK in out
    assert "\\x1b[31mred\\x1b[0m" in out  # the escape shown, not sent
    assert "\\u202e" in out  # the bidi override shown, not applied


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_plain(evil: Path, view: str) -> None:
    out = run(evil, VIEWS[view], "plain")
    assert_inert(out, color=False)
    assert MARKUP in out


def test_plain_shows_escapes_visibly(evil: Path) -> None:
    out = run(evil, ["show-claim", "claim-evil"], "plain")
    for shown in ("\\x1b]8;;http://x", "\\x1b]0;pwned\\x07", "\\x0d", "\\x9b", "\\u202e", "\\x00"):
        assert shown in out, shown
    assert LINK in out


MD_MARKUP = r"\[bold red\]x\[/\]"


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_markdown(evil: Path, view: str) -> None:
    out = run(evil, VIEWS[view], "markdown")
    assert_inert(out, color=False)
    assert MD_MARKUP in out
    assert "](https://evil.example" not in out


def test_markdown_escapes_the_link(evil: Path) -> None:
    out = run(evil, ["show-claim", "claim-evil"], "markdown")
    assert r"\[link=https://evil.example\]click\[/link\]" in out


# --- JSON and CSV keep the data exactly ----------------------------------------------


def json_of(evil: Path, args: list[str]) -> Any:
    return json.loads(run(evil, args, "json"))


def test_json_show_claim(evil: Path) -> None:
    data = json_of(evil, ["show-claim", "claim-evil"])
    assert data["statement"] == STATEMENT
    assert data["quote"] == QUOTE
    assert data["review"]["note"] == NOTE


def test_json_list_claims(evil: Path) -> None:
    (data,) = json_of(evil, ["list-claims"])
    assert data["statement"] == STATEMENT
    assert data["quote"] == QUOTE


def test_json_search(evil: Path) -> None:
    hits = json_of(evil, ["search", "pwned"])
    assert {h["id"] for h in hits} == {"claim-evil", "case-evil"}
    for hit in hits:
        assert {m["text"] for m in hit["matches"]} == {"pwned"}
    hits = json_of(evil, ["search", "click"])
    texts = {h["id"]: h["text"] for h in hits}
    assert texts["claim-evil"] == STATEMENT


def test_json_entities(evil: Path) -> None:
    (ent,) = json_of(evil, ["entities"])
    assert ent["name"] == NAME
    assert ent["aliases"] == [ALIAS]
    assert ent["note"] == NOTE
    one = json_of(evil, ["entities", "ent-evil"])
    assert one["name"] == NAME


def test_json_cases(evil: Path) -> None:
    (case,) = json_of(evil, ["list-cases"])
    assert case["title"] == TITLE
    assert case["quote"] == QUOTE


def csv_rows(evil: Path, args: list[str]) -> list[dict[str, str]]:
    out = run(evil, args, "csv")
    return list(csv.DictReader(io.StringIO(out, newline="")))


def test_csv_list_claims(evil: Path) -> None:
    (row,) = csv_rows(evil, ["list-claims"])
    assert row["statement"] == STATEMENT


def test_csv_list_cases_and_entities(evil: Path) -> None:
    (case,) = csv_rows(evil, ["list-cases"])
    assert case["case"] == TITLE
    (ent,) = csv_rows(evil, ["entities"])
    assert ent["name"] == NAME


def test_csv_show_claim_keeps_the_review(evil: Path) -> None:
    rows = csv_rows(evil, ["show-claim", "claim-evil"])
    values = {r["field"]: r["value"] for r in rows}
    assert values["Review.note"] == NOTE
    assert values["entities"] == f"{NAME} (ent-evil)"


CR_BUG = (
    "BUG: CSV is written with lineterminator='\\n', so Python's csv (QUOTE_MINIMAL) does not "
    "quote a value holding a bare '\\r'; a CSV reader then splits the row there"
)


def test_csv_show_claim_keeps_a_quote_with_cr(evil: Path) -> None:
    rows = csv_rows(evil, ["show-claim", "claim-evil"])
    assert all(None not in r for r in rows), rows
    values = {r["field"]: r["value"] for r in rows}
    assert values["The article's words.quote"] == QUOTE


def test_csv_export_keeps_a_quote_with_cr(evil: Path) -> None:
    result = CliRunner().invoke(app, ["export", "--format", "csv", "--data", str(evil)])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert [r["id"] for r in rows] == ["claim-evil"]
    assert rows[0]["quote"] == QUOTE
    assert rows[0]["statement"] == STATEMENT


def test_json_export_keeps_the_data(evil: Path) -> None:
    result = CliRunner().invoke(app, ["export", "--format", "json", "--data", str(evil)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["claims"][0]["quote"] == QUOTE
    assert data["entities"][0]["name"] == NAME


def test_csv_show_claim_keeps_the_statement(evil: Path) -> None:
    rows = csv_rows(evil, ["show-claim", "claim-evil"])
    values = [r["value"] for r in rows]
    assert STATEMENT in values
    assert {r["record"] for r in rows} == {"claim-evil"}  # the long format: record, field, value


def test_errors_are_cleaned_too(tmp_path: Path) -> None:
    # An id with controls in it is refused, and echoed in the error: its escapes must
    # not be sent.
    path = tmp_path / "evil.yaml"
    path.write_text(DATASET, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["show-claim", "\x1b]0;pwned\x07\x1b[31m", "--data", str(path)]
    )
    assert result.exit_code == 2
    assert "ID: not plain text: " in result.stderr
    assert "\x1b" not in result.stderr
    assert "\x07" not in result.stderr
    assert result.stderr.startswith("immunofacts: error: ")


def test_bad_file_name_is_cleaned_in_errors(tmp_path: Path) -> None:
    name = tmp_path / "evil\x1b]0;pwned\x07.yaml"
    name.write_text("schema: 2\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(name)])
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr
    assert "\x07" not in result.stderr
    assert "missing required field 'source'" in result.stderr


@pytest.mark.parametrize("how", ["missing", "invalid", "output", "written", "tables"])
def test_a_line_break_in_a_file_name_keeps_an_error_on_its_line(tmp_path: Path, how: str) -> None:
    name = tmp_path / "my\ndata.yaml"
    if how == "invalid":
        name.write_text("schema: 2\n", encoding="utf-8")
    args = {
        "missing": ["list-cases", "--data", str(name)],
        "invalid": ["validate", str(name)],
        "output": ["export", "-f", "json", "-o", str(tmp_path / "x\ny" / "z.json")],
        "written": ["export", "-f", "json", "-o", str(tmp_path / "x\ny.json")],
        "tables": ["export", "-f", "csv", "-o", str(tmp_path / "x\ny")],
    }[how]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == (0 if how in ("written", "tables") else 1)
    line, *warned = result.stderr.splitlines()  # one problem (or note), one line
    assert line.startswith("immunofacts: error: " if result.exit_code else "immunofacts: wrote ")
    # and, for a copy of the dataset away from its text, the one line that says so
    assert warned == [] or (how == "written" and warned[0].startswith("immunofacts: warning: "))
    assert "\\n" in line  # the name, its line break written as an escape
