"""The one render path: typed JSON shapes, streaming writers, and the environment passed down."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest
from conftest import DATA, VIEW_COMMANDS
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from immunofacts import cli
from immunofacts.cli import app
from immunofacts.loading import load_dataset
from immunofacts.model import Dataset
from immunofacts.query import LABEL_FILTERS
from immunofacts.render import Env, Format, render
from immunofacts.render.formats import joined, json_array, to_json
from immunofacts.render.results import OUTPUTS, CaseList, ClaimList, Result, json_type

R = TypeVar("R")


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


def output_name(args: list[str]) -> str:
    """The key of `OUTPUTS` for a command line."""
    if args[0] == "entities" and len(args) > 1:
        return "entities NAME"
    if args[0] == "source" and "--claim" in args:
        return "source --claim"
    return args[0]


def test_every_command_has_a_result_type() -> None:
    assert {output_name(a) for a in VIEW_COMMANDS} == set(OUTPUTS)


@pytest.mark.parametrize("args", VIEW_COMMANDS, ids=" ".join)
def test_json_is_exactly_its_declared_shape(args: list[str]) -> None:
    """The JSON a command writes decodes strictly as its declared type, and that type
    encodes back to the same document: the shape in `shapes` is the whole truth."""
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    typ = json_type(OUTPUTS[output_name(args)])
    value = msgspec.json.decode(result.stdout, type=typ, strict=True)
    assert json.loads(msgspec.json.encode(value)) == json.loads(result.stdout)
    assert msgspec.json.schema(typ)  # a JSON Schema can be made from it


@pytest.mark.parametrize("items", [[], [{"a": 1}], [{"a": "x\ny"}, [1, {"b": None}], "\u2028"]])
def test_json_array_is_the_same_text_as_a_whole_list(items: list[Any]) -> None:
    assert joined(json_array(iter(items))) == to_json(items)


@pytest.mark.parametrize("copies", [0, 1, 3])
@pytest.mark.parametrize("ascii_only", [False, True])
def test_search_hits_made_a_few_at_a_time_are_the_json_of_every_hit(
    copies: int, ascii_only: bool
) -> None:
    """Hits made into JSON a few at a time, with text to escape or without, give the
    very text of the JSON of the list."""
    from immunofacts.query import search
    from immunofacts.render import render, shapes
    from immunofacts.render.base import Env, Format
    from immunofacts.render.results import HITS_AT_ONCE, SearchHits

    hits = search(load_dataset(DATA), "t")
    plain = [h for h in hits if to_json([shapes.hit(h)]).isascii()]
    assert 0 < len(plain) < len(hits)
    hits = (plain if ascii_only else hits) * copies
    assert copies < 3 or len(hits) > 2 * HITS_AT_ONCE
    env = Env.detect(io.StringIO())
    text = joined(render(SearchHits(hits, ["t"]), Format.JSON, env))
    assert text == to_json([shapes.hit(h) for h in hits])


@given(
    st.lists(st.one_of(st.text(), st.integers(), st.dictionaries(st.text(), st.text()))),
    st.lists(st.integers(0, 4)),
    st.sampled_from(["", "  ", "    "]),
)
def test_json_text_already_made_is_written_as_it_is(
    items: list[Any], cuts: list[int], pad: str
) -> None:
    """Runs of elements given as `Elements` give the same array as the elements themselves."""
    from immunofacts.jsontext import Encoded, elements
    from immunofacts.render.formats import json_elements

    mixed: list[Any] = []
    rest = list(items)
    for n, cut in enumerate(cuts):
        run, rest = rest[:cut], rest[cut:]
        if n % 2 and run:  # text already made, as text or in UTF-8
            mixed.append(elements(run) if n % 4 == 1 else Encoded(elements(run).encode()))
        else:
            mixed += run
    mixed += rest
    assert joined(json_array(iter(mixed))) == to_json(items)
    want = joined(json_elements(iter(items), pad))
    assert joined(json_elements(iter(mixed), pad)) == want


@given(
    st.lists(
        st.lists(st.text(max_size=6) | st.text(st.characters(max_codepoint=127), max_size=6)),
        min_size=1,
    )
)
def test_plain_lines_are_each_row_cleaned(rows: list[list[str]]) -> None:
    """Rows whose cells are all printable are joined at once; any other chunk row by row:
    the same text either way."""
    from immunofacts.render.base import clean
    from immunofacts.render.formats import _tsv_lines

    want = "".join("\t".join(clean(c, oneline=True) for c in row) + "\n" for row in rows)
    assert _tsv_lines([tuple(row) for row in rows]) == want


@given(st.text() | st.text(st.characters(max_codepoint=127)))
def test_json_escapes_the_same_characters_on_its_fast_path(text: str) -> None:
    """Text all in ASCII skips the escaping pass: it would have changed nothing."""
    from immunofacts.jsontext import _JSON_ESCAPE, _json_escape

    encoded = msgspec.json.format(msgspec.json.encode([text, {text: 1}]), indent=2).decode()
    assert to_json([text, {text: 1}]) == _JSON_ESCAPE.sub(_json_escape, encoded) + "\n"
    assert to_json("\x7f") == '"\\u007f"\n'


@given(st.text() | st.text(st.characters(max_codepoint=127)), st.booleans())
def test_clean_changes_nothing_it_skips(text: str, oneline: bool) -> None:
    """Printable text skips the escaping pass: it would have changed nothing."""
    from immunofacts.render.base import _UNSAFE, _visible, clean

    want = _UNSAFE.sub(_visible, text)
    if oneline:
        want = want.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    assert clean(text, oneline=oneline) == want


def test_a_list_is_written_record_by_record(ds: Dataset) -> None:
    """A list result reads its records as it writes them: the first rows come out
    before a record further on is even made. (Markdown and a terminal show a count
    in some titles, `Claims (55)`, and read the whole list for it.)"""

    def first_only(records: Sequence[R]) -> Iterator[R]:
        yield records[0]
        raise AssertionError("read past the first record")

    #: format, result, how many pieces come before the first record's end
    results: list[tuple[Format, Result[Any], int]] = [
        (Format.JSON, ClaimList(first_only(ds.claims)), 1),
        (Format.CSV, ClaimList(first_only(ds.claims)), 2),
        (Format.PLAIN, ClaimList(first_only(ds.claims)), 2),  # the header, then the row
        (Format.MARKDOWN, CaseList(first_only(ds.cases)), 4),
    ]
    for fmt, result, pieces in results:
        text = joined(itertools.islice(render(result, fmt, Env()), pieces))
        assert (ds.claims[0].id if fmt is not Format.MARKDOWN else ds.cases[0].id) in text, fmt


def test_env_is_read_once_per_command(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    detect = Env.detect

    def counting(stream: Any) -> Env:
        calls.append(stream)
        return detect(stream)

    monkeypatch.setattr(Env, "detect", counting)
    for args in (["list-cases"], ["search", "lupus"], ["timeline"]):
        calls.clear()
        assert CliRunner().invoke(app, args).exit_code == 0
        assert len(calls) == 1, args


def test_a_test_can_set_the_terminal_without_the_environment() -> None:
    """The environment is passed down, so a terminal of any width is simulated by
    handing the CLI an `Env`, with no variable set."""
    wide = CliRunner().invoke(app, ["list-cases"], obj=Env(is_terminal=True, width=120))
    narrow = CliRunner().invoke(app, ["list-cases"], obj=Env(is_terminal=True, width=40))
    piped = CliRunner().invoke(app, ["list-cases"], obj=Env())
    assert "╭" in wide.stdout and max(map(len, wide.stdout.splitlines())) <= 120
    assert max(map(len, narrow.stdout.splitlines())) <= 40
    assert "╭" not in piped.stdout and "\t" in piped.stdout
    ascii_only = CliRunner().invoke(
        app, ["show-claim", "claim-car-t"], obj=Env(is_terminal=True, width=60, ascii_only=True)
    )
    assert ascii_only.stdout.startswith("+-")


def test_an_empty_list_on_a_terminal_prints_nothing() -> None:
    """On a terminal an empty table says nothing the message on stderr does not."""
    terminal = Env(is_terminal=True, width=100)
    for args in (["list-claims", "--year", "1999"], ["search", "xyzzyplugh"]):
        result = CliRunner().invoke(app, args, obj=terminal)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr


@pytest.mark.parametrize(
    "args",
    [a for a in VIEW_COMMANDS if output_name(a) in ("show-claim", "show-case", "entities NAME")],
    ids=" ".join,
)
def test_a_record_in_csv_is_the_long_format(args: list[str]) -> None:
    out = CliRunner().invoke(app, [*args, "--format", "csv"]).stdout
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == ["record", "field", "value"]
    assert all(len(r) == 3 for r in rows)
    assert len({r[0] for r in rows[1:]}) == 1


def test_the_cli_never_branches_on_the_format() -> None:
    source = Path(cli.__file__).read_text(encoding="utf-8")
    uses = [ln.strip() for ln in source.splitlines() if "Format." in ln]
    assert uses == ["] = ExportFormat.JSON,"]  # export's default, and no branch


@pytest.mark.parametrize("name", sorted(LABEL_FILTERS))
@pytest.mark.parametrize("command", [["list-claims"], ["search", "cell"]], ids=" ".join)
def test_every_label_filter_is_an_option_of_the_list_commands(
    command: list[str], name: str
) -> None:
    """`query.LABEL_FILTERS` is the one list of label filters: each is an option of
    `list-claims` and `search`, taking every value of its vocabulary."""
    for value in LABEL_FILTERS[name].values:
        result = CliRunner().invoke(app, [*command, f"--{name}", value.value, "-f", "json"])
        assert result.exit_code in (0, 1), result.stderr  # 1: nothing has that label
        assert json.loads(result.stdout) is not None


def test_every_exit_code_is_an_exit_status() -> None:
    """Signals end in a member of ExitStatus too, so one enum lists every code."""
    from immunofacts.errors import ExitStatus
    from immunofacts.output import STOP_SIGNALS, Interrupted

    assert {Interrupted(s).exit_status for s in STOP_SIGNALS} <= set(ExitStatus)
    cli_source = Path(cli.__file__).read_text(encoding="utf-8")
    assert re.search(r"(Exit|exit)\(\s*\d", cli_source) is None  # no literal exit codes
