"""One sanitiser for every output: a walk over every command and format.

The fixture dataset (which uses every field) is rewritten so that every string
field a person wrote carries the whole hostile set: terminal escapes (OSC
title, OSC 52 clipboard, clear screen, CSI, BEL, C1), carriage return,
bidirectional controls (U+202E, U+2066, U+061C), zero-width and invisible
characters (U+200B, U+2060, U+FEFF, U+180E), a tag character, a soft hyphen,
and a spreadsheet formula at the start. Every command, in every format, to a
terminal and to a pipe, must show none of those characters raw (JSON writes
them as \\u escapes; CSV to a pipe keeps the data exact) and must never write a
cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner

from immunofacts.cli import app
from immunofacts.loading import dump_yaml, load_dataset
from immunofacts.render.base import UNSAFE_CHARACTERS, ExportFormat, has_unsafe
from immunofacts.render.export import JSON_WRITTEN, export_text

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "fixture.yaml"

FORMULA = '=HYPERLINK("http://evil.example","x")'
HOSTILE = (
    " \x1b]0;pwned\x07 \x1b]52;c;cHduZWQ=\x07 \x1b[2J\x1bc \x9b31m \x07 \r"
    " \u202eevil\u202c \u2066iso\u2069 \u061c \u200b \u2060 \ufeff \u180e \U000e0041 \u00ad end"
)
UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")
#: Rich's own colour codes, and its hyperlinks around a dataset's web addresses
#: (which hold no control character: the model refuses them), the only escapes a
#: terminal format may hold.
SGR = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x00-\x1f\x7f-\x9f]*\x1b\\")

#: Fields whose values are not free text: ids, labels, dates, identifiers, paths.
NOT_TEXT = {
    "id",
    "kind",
    "evidence",
    "verdict",
    "rating",
    "reasons",
    "type",
    "qualifier",
    "date",
    "doi",
    "pmid",
    "nct",
    "url",
    "entities",
    "claims",
    "hospital",
    "text",
    "schema",
    "quote",
    "sex",
}


def poison(value: Any, key: str = "") -> Any:
    """Every free-text string with a formula in front and the hostile set behind."""
    if isinstance(value, dict):
        return {k: poison(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [poison(v, key) for v in value]
    if isinstance(value, str) and key not in NOT_TEXT:
        return FORMULA + value + HOSTILE
    return value


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ds = load_dataset(FIXTURE)
    data = msgspec.to_builtins(ds)
    data.pop("source_text", None)
    data = poison(data)
    quotes: list[str] = []
    for section in ("claims", "cases"):
        for rec in data.get(section, []):
            rec["quote"] = rec["quote"] + HOSTILE
            quotes.append(rec["quote"])
            for ev in rec.get("events", []):
                if ev.get("quote"):
                    ev["quote"] = ev["quote"] + HOSTILE
                    quotes.append(ev["quote"])
    folder = tmp_path_factory.mktemp("evil")
    article = (FIXTURE.parent / "article.txt").read_text(encoding="utf-8")
    (folder / "article.txt").write_text(
        article + "\n\n" + "\n\n".join(quotes) + "\n", encoding="utf-8", newline=""
    )

    def prune(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: prune(x) for k, x in v.items() if x is not None and x not in ([], ())}
        if isinstance(v, list | tuple):
            return [prune(x) for x in v]
        return v

    path = folder / "evil.yaml"
    path.write_text(dump_yaml(prune(data)), encoding="utf-8")
    loaded = load_dataset(path)  # every poisoned string survives loading
    assert loaded.claims[0].statement.endswith(HOSTILE)
    return path


def commands(path: Path) -> list[list[str]]:
    ds = load_dataset(path)
    claim, case, entity = ds.claims[0], ds.cases[0], ds.entities[0]
    return [
        ["list-cases"],
        ["show-case", case.id],
        ["list-claims"],
        ["show-claim", claim.id],
        ["show-stats"],
        ["search", "evil"],
        ["timeline"],
        ["entities"],
        ["entities", entity.id],
        ["source"],
        ["source", "--claim", claim.id],
        ["validate"],
        ["diff", str(path), str(path)],
    ]


FORMATS = ["table", "plain", "json", "csv", "markdown"]
#: Where the output goes: a terminal (wide, then narrow enough for cards) or a pipe.
TARGETS = {
    "terminal": {"FORCE_COLOR": "1", "COLUMNS": "120"},
    "narrow-terminal": {"FORCE_COLOR": "1", "COLUMNS": "40", "TERM": "dumb"},
    "pipe": {"NO_COLOR": "1", "COLUMNS": "100"},
}


def run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def offending(text: str) -> list[str]:
    return sorted({f"U+{ord(m.group()):04X}" for m in UNSAFE.finditer(SGR.sub("", text))})


def assert_no_formula(csv_text: str) -> None:
    for row in csv.reader(io.StringIO(csv_text)):
        for cell in row:
            assert not cell.startswith(("=", "@")), cell[:60]
            assert not (cell.startswith(("+", "-")) and not re.fullmatch(r"[-+][0-9.]+", cell))


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_command_in_every_format_shows_nothing_raw(evil: Path, fmt: str, target: str) -> None:
    env = TARGETS[target]
    for args in commands(evil):
        full = [*args, "--format", fmt]
        if args[0] not in ("diff",):
            full += ["--data", str(evil)]
        if args[0] == "validate":
            full = ["validate", str(evil), "--format", fmt]
        code, out, err = run(full, env)
        assert code in (0, 1), (full, err)
        assert not offending(err), (full, offending(err))
        if fmt == "csv" and target == "pipe":
            assert_no_formula(out)  # data exact, but no spreadsheet formula
            continue
        assert not offending(out), (full, target, offending(out))
        if fmt == "csv":
            assert_no_formula(out)


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv", "claimreview", "csl-json", "bibtex", "ris"])
def test_every_export_to_a_terminal_shows_nothing_raw(evil: Path, fmt: str) -> None:
    args = ["export", "--format", fmt, "--data", str(evil)]
    if fmt == "claimreview":
        args += ["--author", "Desk", "--url-template", "https://example.org/{id}"]
    code, out, err = run(args, TARGETS["terminal"])
    assert code == 0, err
    assert not offending(out), offending(out)  # JSON: escaped as \u, the data kept exact
    assert not offending(err), offending(err)
    if fmt == "csv":
        assert_no_formula(out)
    code, piped, _ = run(args, TARGETS["pipe"])
    assert code == 0
    if fmt in ("csv", "bibtex", "ris"):  # YAML and JSON escape it themselves
        assert "\x1b]0;pwned\x07" in piped  # to a pipe, the data exact


@pytest.mark.parametrize("fmt", [f for f in ExportFormat if f is not ExportFormat.SQLITE])
def test_every_export_format_has_its_terminal_text(evil: Path, fmt: ExportFormat) -> None:
    """The pure function: each format's text for a terminal shows nothing raw and keeps
    its line ends; every format `export` lists but the SQLite file is covered."""
    from immunofacts.export.claimreview import Publisher

    ds = load_dataset(evil)
    publisher = Publisher("Desk", "https://example.org/{id}", "2026-01-01", None, False)
    shown = export_text(ds, fmt, publisher=publisher, terminal=True).text
    assert not offending(shown.replace("\r\n", "\n")), offending(shown)
    exact = export_text(ds, fmt, publisher=publisher).text
    assert exact.count("\r\n") == shown.count("\r\n")
    assert exact.count("\n") == shown.count("\n")
    if fmt not in JSON_WRITTEN:
        assert offending(exact.replace("\r\n", "\n"))  # the data exact when not shown


def test_ris_on_a_terminal_keeps_its_line_ends(evil: Path) -> None:
    result = CliRunner().invoke(
        app, ["export", "--format", "ris", "--data", str(evil)], env=TARGETS["terminal"]
    )
    assert result.exit_code == 0
    text = result.stdout_bytes.decode("utf-8")
    assert text.endswith("ER  - \r\n") and "\n" not in text.replace("\r\n", "")
    assert not offending(text.replace("\r\n", "\n"))


@pytest.mark.parametrize("where", ["before", "after"])
def test_raw_turns_the_formula_guard_off(evil: Path, where: str) -> None:
    args = ["list-claims", "--format", "csv", "--data", str(evil)]
    code, out, _ = run(["--raw", *args] if where == "before" else [*args, "--raw"], {})
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert any(cell.startswith(FORMULA) for row in rows for cell in row)
    code, guarded, _ = run(["list-claims", "--format", "csv", "--data", str(evil)], {})
    assert any(
        cell.startswith("'" + FORMULA) for row in csv.reader(io.StringIO(guarded)) for cell in row
    )


def test_json_keeps_the_data_exact(evil: Path) -> None:
    import json

    code, out, _ = run(
        ["show-claim", load_dataset(evil).claims[0].id, "--format", "json", "--data", str(evil)], {}
    )
    assert code == 0
    assert json.loads(out)["statement"].endswith(HOSTILE)


@pytest.mark.parametrize(
    "char", ["\u061c", "\u200b", "\u2060", "\ufeff", "\U000e0041", "\u00ad", "\u2066", "\x9b"]
)
def test_clean_covers_each_character(char: str) -> None:
    assert has_unsafe(char)
