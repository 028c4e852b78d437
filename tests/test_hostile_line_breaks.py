"""NEL (U+0085), U+2028 and U+2029: line breaks to YAML 1.1, text to YAML 1.2.

Both parsers break lines at them, so a comment could end at one and what follows be read
as a field, and every line reported after one would be wrong. They are refused anywhere
in a file, by both parsers and whether a cache exists or not, with the line and column
of the first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunofacts import cache, loading
from immunofacts.cli import app
from immunofacts.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
DATA = (ROOT / "data" / "immunofacts.yaml").read_text(encoding="utf-8")
LINE = "  - id: claim-era-of-immune-cell-therapy\n"
STATEMENT = "    statement: The era of immune cell therapy has arrived.\n"
assert LINE in DATA and STATEMENT in DATA

BREAKS = {"nel": "\x85", "line separator": "\u2028", "paragraph separator": "\u2029"}
#: Where one may hide: (old, new) with the character as {c}; the column it is at.
PLACES = {
    "comment then a field": (LINE, LINE[:-1] + " # c{c}    claim_reviewed: Smuggled\n"),
    "plain scalar": (STATEMENT, STATEMENT.replace("era of", "era{c}of")),
    "double-quoted": (STATEMENT, STATEMENT.replace("The era of", '"The era{c}of').rstrip() + '"\n'),
    "single-quoted": (STATEMENT, STATEMENT.replace("The era of", "'The era{c}of").rstrip() + "'\n"),
    "block scalar": (STATEMENT, "    statement: |\n      The era{c}of immune cell therapy.\n"),
    "alone on a line": (LINE, "{c}\n" + LINE),
}


def _hidden(char: str, place: str) -> tuple[str, int, int]:
    """The dataset with `char` hidden at `place`, and the line and column it is at."""
    old, new = PLACES[place]
    new = new.format(c=char)
    text = DATA.replace(old, new, 1)
    at = text.index(char)
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at)
    return text, line, column


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("char", list(BREAKS.values()), ids=list(BREAKS))
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "careful"])
def test_a_yaml_11_line_break_is_refused_where_it_is(char: str, place: str, fast: bool) -> None:
    text, line, column = _hidden(char, place)
    with pytest.raises(DataError) as e:
        loading.parse_dataset(text, "d.yaml", ROOT / "data", fast=fast)
    assert len(e.value.problems) == 1
    message = str(e.value)
    assert message.startswith(f"d.yaml:{line}:{column}: "), message
    assert f"U+{ord(char):04X} is not allowed" in message


def test_the_line_counts_a_lone_carriage_return_as_a_line_break() -> None:
    text = "schema: 2\r# x\r\nsource: \u2028\n"
    with pytest.raises(DataError) as e:
        loading.parse_dataset(text, "d.yaml")
    assert str(e.value).startswith("d.yaml:3:9: "), str(e.value)


@pytest.mark.parametrize("char", list(BREAKS.values()), ids=list(BREAKS))
def test_escaped_they_are_text_and_export_writes_them_so(tmp_path: Path, char: str) -> None:
    """Written as escapes they are the text of a value, and an export of such a dataset
    loads back (it escapes them)."""
    escape = {"\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P"}[char]
    text = DATA.replace(STATEMENT, f'    statement: "The era{escape}of"\n', 1)
    ds = loading.parse_dataset(text, "d.yaml", ROOT / "data")
    claim = next(c for c in ds.claims if c.id == "claim-era-of-immune-cell-therapy")
    assert claim.statement == f"The era{char}of"
    dumped = loading.dump_yaml({"statement": claim.statement})
    assert char not in dumped
    assert loading.parse_yaml(dumped, "x")[0] == {"statement": claim.statement}


@pytest.mark.parametrize("char", list(BREAKS.values()), ids=list(BREAKS))
@pytest.mark.parametrize("cached", [False, True], ids=["cold", "warm"])
def test_the_cli_refuses_them_with_a_cache_or_without(
    tmp_path: Path, char: str, cached: bool
) -> None:
    shutil.copy(ROOT / "data" / "article.txt", tmp_path)
    path = tmp_path / "immunofacts.yaml"
    path.write_text(DATA, encoding="utf-8")
    if cached:
        cache.validate_dataset(path)
        assert cache.open_cache(path) is not None
    text, line, column = _hidden(char, "comment then a field")
    path.write_text(text, encoding="utf-8")
    for args in (["show-claim", "claim-era-of", "-f", "json"], ["validate"], ["list-cases"]):
        got = CliRunner().invoke(app, [*args, "--data", str(path)])
        assert got.exit_code == 1, got.output
        assert "Smuggled" not in got.stdout
        assert got.stderr.startswith(f"immunofacts: error: {path}:{line}:{column}: "), got.stderr
