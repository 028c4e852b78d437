"""A source text written with CRLF line breaks (as on Windows) reads as the same article:
the same paragraphs, the same coverage, the same view, its line breaks shown as line
breaks; only JSON keeps each character as it is. A lone CR is a character of its line
(on a terminal it would go back over the line), shown as an escape."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunofacts.cli import app
from immunofacts.loading import load_dataset
from immunofacts.query import paragraphs, quote_spans
from immunofacts.render.views import source_doc

FIXTURES = Path(__file__).resolve().parent / "fixtures"
UNQUOTED = "An uncovered paragraph of substance, long enough to count: more than sixty characters."


def _copy(tmp_path: Path, name: str, newline: str, lead: str = "") -> Path:
    """The fixture dataset beside its text with a paragraph no record quotes first, the
    text's line breaks written as `newline`, and `lead` before everything."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(FIXTURES / "fixture.yaml", folder / "ds.yaml")
    text = lead + UNQUOTED + "\n\n" + (FIXTURES / "article.txt").read_text(encoding="utf-8")
    (folder / "article.txt").write_bytes(text.replace("\n", newline).encode())
    return folder / "ds.yaml"


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("text", ["a\nb\n\nc", "a\r\nb\r\n\r\nc", "a\r\nb\n\r\nc"])
def test_paragraphs_are_split_at_an_empty_line_whatever_ends_the_lines(text: str) -> None:
    found = [re.sub("[\r\n]+", " ", text[a:b]) for a, b in paragraphs(text)]
    assert found == ["a b", "c"]


def test_a_line_of_spaces_still_belongs_to_its_paragraph() -> None:
    assert [(0, 7)] == paragraphs("a\n   \nb")
    assert [(0, 9)] == paragraphs("a\r\n   \r\nb")


def test_a_lone_carriage_return_is_a_character_of_its_line() -> None:
    assert paragraphs("a\rb\r\rc") == [(0, 6)]
    assert paragraphs("\r\n\ra\r\r\n\r\nb\r") == [(2, 5), (9, 11)]


def test_paragraphs_of_long_runs_of_line_breaks_and_carriage_returns() -> None:
    assert paragraphs("\r\n" * 500_000) == []
    assert paragraphs("\r" * 500_000 + "\n") == [(0, 499_999)]  # the last ends the line


def test_a_text_with_crlf_line_breaks_reads_as_the_same_article(tmp_path: Path) -> None:
    newline = "\r\n"
    lf, other = _copy(tmp_path, "lf", "\n"), _copy(tmp_path, "other", newline)
    for data in (lf, other):
        checked = json.loads(_run("validate", "--data", str(data), "-f", "json"))
        assert checked["uncovered_paragraphs"] == [UNQUOTED]
        assert "\t1 paragraph not quoted\n" in _run("validate", "--data", str(data), "-f", "plain")
    args = ["source", "--claim", "claim-zeta-mice", "-f", "json"]
    passage = json.loads(_run(*args, "--data", str(other)))["paragraph"]
    assert passage == json.loads(_run(*args, "--data", str(lf)))["paragraph"]
    for fmt in ("plain", "markdown", "table"):
        for command in (["source"], ["source", "--claim", "claim-zeta-mice"]):
            shown = _run(*command, "-f", fmt, "--data", str(other))
            assert "\\x0d" not in shown and "\r" not in shown, (fmt, command)
            # the share of the text quoted counts the carriage returns among its characters
            share = re.compile(r"\d+% of the text")
            assert share.sub("", shown) == share.sub(
                "", _run(*command, "-f", fmt, "--data", str(lf))
            )
    whole = json.loads(_run("source", "-f", "json", "--data", str(other)))["text"]
    assert whole.count(newline) > 10  # JSON keeps the text as it is


def test_a_carriage_return_inside_a_line_is_still_shown_as_an_escape(tmp_path: Path) -> None:
    data = _copy(tmp_path, "cr", "\n")
    text = data.parent / "article.txt"
    text.write_text(text.read_text(encoding="utf-8") + "over\rwritten\n", encoding="utf-8")
    shown = _run("source", "-f", "plain", "--data", str(data))
    assert "over\\x0dwritten" in shown


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_the_marks_of_a_text_that_starts_with_blank_lines_fall_on_the_quotes(
    tmp_path: Path, newline: str
) -> None:
    ds = load_dataset(_copy(tmp_path, "lead", newline, lead="\n\n\n"))
    doc = source_doc(ds, quote_spans(ds))
    (marked,) = [sec.text for sec in doc.sections if sec.text is not None]
    assert not isinstance(marked, str)
    quoted = [marked.text[a:b] for a, b, style in marked.spans if style == "quote"]
    wanted = {c.quote for c in ds.claims} | {c.quote for c in ds.cases}
    assert quoted and set(quoted) <= wanted
