"""A value of the wrong type says so: a quoted number is a string, not a number out of
range, and the schema version is the whole number it must be (not "2", 2.0 or 2e0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from immunofacts import loading
from immunofacts.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
DATA = (ROOT / "data" / "immunofacts.yaml").read_text(encoding="utf-8")
VALUE = "        value: 50\n"
assert "schema: 2\n" in DATA and VALUE in DATA

LONG = "1" * (loading.MAX_INT_DIGITS + 5)
CASES = {
    "quoted number": (VALUE, '        value: "40"\n', "expected a number, got the string '40'"),
    "single-quoted number": (VALUE, "        value: '40'\n", "expected a number, got the string"),
    "a number too long to read": (VALUE, f"        value: {LONG}\n", "number out of range"),
    "schema as a string": (
        "schema: 2\n",
        'schema: "2"\n',
        "expected the whole number 2, got the string '2'",
    ),
    "schema 2.0": (
        "schema: 2\n",
        "schema: 2.0\n",
        "expected the whole number 2, got the number 2.0",
    ),
    "schema 2e0": (
        "schema: 2\n",
        "schema: 2e0\n",
        "expected the whole number 2, got the number 2.0",
    ),
    "schema true": ("schema: 2\n", "schema: true\n", "expected the whole number 2, got true"),
    "schema 3": (
        "schema: 2\n",
        "schema: 3\n",
        "unsupported schema version 3; this version reads 2",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "careful"])
def test_a_value_of_the_wrong_type_says_what_was_expected(case: str, fast: bool) -> None:
    old, new, said = CASES[case]
    text = DATA.replace(old, new, 1)
    with pytest.raises(DataError) as e:
        loading.parse_dataset(text, "d.yaml", ROOT / "data", fast=fast)
    (problem,) = e.value.problems
    assert said in problem.what, str(problem)
    assert problem.line == text.count("\n", 0, text.index(new)) + 1


#: Each field with a pattern, as the shipped dataset first writes it, and its value again
#: with a line break at its end (as a quoted scalar can write it).
LINE_BREAK_AT_END = {
    "source date": ('  date: "2021"\n', '  date: "2021\\n"\n'),
    "claim id": (
        "  - id: claim-era-of-immune-cell-therapy\n",
        '  - id: "claim-era-of-immune-cell-therapy\\n"\n',
    ),
    "entity named": ("      - ent-chinanet\n", '      - "ent-chinanet\\n"\n'),
    "doi": (
        "          doi: 10.1038/s41423-020-00555-x\n",
        '          doi: "10.1038/s41423-020-00555-x\\n"\n',
    ),
    "pmid": ('          pmid: "33276369"\n', '          pmid: "33276369\\n"\n'),
    "url": (
        "          url: https://www.ncbi.nlm.nih.gov/pmc/articles/PMC7736111/\n",
        '          url: "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC7736111/\\n"\n',
    ),
    "nct": ("          nct: NCT04365101\n", '          nct: "NCT04365101\\n"\n'),
}


@pytest.mark.parametrize("field", list(LINE_BREAK_AT_END))
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "careful"])
def test_a_line_break_at_the_end_of_a_patterned_value_is_refused(field: str, fast: bool) -> None:
    # Python's `$` also matches before a line break that ends the text: "claim-a\n" would
    # pass for an id, and "2021-02-30\n" for a date that the calendar check never sees.
    old, new = LINE_BREAK_AT_END[field]
    text = DATA.replace(old, new, 1)
    assert text != DATA
    with pytest.raises(DataError) as e:
        loading.parse_dataset(text, "d.yaml", ROOT / "data", fast=fast)
    problem = e.value.problems[0]
    assert problem.line == text.count("\n", 0, text.index(new)) + 1, str(problem)
    assert "\\n" in problem.what, str(problem)
