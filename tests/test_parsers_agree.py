"""The fast parser (yaml-rs, the `fast` extra) and the careful one (PyYAML) agree.

On every text the fast path takes, both parsers must give the same data, so
that a dataset loads the same, or is refused the same, whichever is
installed. Hypothesis writes YAML from pieces chosen to find where two YAML
implementations differ: number forms, special floats, null and boolean
spellings, escapes, block scalars, flow collections, comments, keys.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immunofacts.errors import DataError
from immunofacts.loading import _fast_parse, build_dataset, parse_dataset, parse_yaml

pytest.importorskip("yaml_rs")

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Plain scalars where YAML implementations are known to differ.
PLAIN = st.sampled_from(
    [
        "1",
        "-1",
        "+1",
        "01",
        "0",
        "-0",
        "1.5",
        "1.",
        ".5",
        "-.5",
        "1e3",
        "1E-3",
        "1e+3",
        "0x1F",
        "0o17",
        "0b11",
        "1_000",
        "0.1_0",
        "+0x1f",
        "0x",
        "0o8",
        ".inf",
        "-.Inf",
        "+.INF",
        ".nan",
        ".NaN",
        ".NAN",
        "nan",
        "inf",
        "null",
        "Null",
        "NULL",
        "~",
        "true",
        "True",
        "TRUE",
        "tRue",
        "false",
        "no",
        "yes",
        "on",
        "off",
        "y",
        "n",
        "2020-01-02",
        "2020",
        "12:30",
        "1:2:3",
        "1,000",
        "٣",
        "１２",
        "a b",
        "a#b",
        "a #b",
        "-",
        "+",
        ".",
        "e3",
        "1e",
        "12345678901234567890",
        "9" * 31,
        "1." + "5" * 40,
        "x_y",
        "é",
        "日本",
    ]
)
ALPHABET = st.sampled_from(list("ab1_.-+eExXoO: #'\"\\é日\t") + ["\u00a0", "\u2028", "\x85"])
RANDOM_PLAIN = st.text(ALPHABET, min_size=1, max_size=8)
ESCAPES = st.sampled_from(
    [
        "\\x41",
        "\\u00e9",
        "\\U0001F600",
        "\\N",
        "\\_",
        "\\L",
        "\\P",
        "\\e",
        "\\0",
        "\\a",
        "\\t",
        "\\n",
        "\\\\",
        '\\"',
        "\\/",
        "\\ ",
        "\\ud800",
        "\\x7f",
        "\\x9b",
        "\\u202e",
    ]
)
DOUBLE = st.lists(st.one_of(st.text(ALPHABET, max_size=4), ESCAPES), max_size=5).map(
    lambda parts: '"' + "".join(p.replace('"', "") for p in parts) + '"'
)
SINGLE = st.text(ALPHABET, max_size=6).map(lambda s: "'" + s.replace("'", "''") + "'")
SCALAR = st.one_of(PLAIN, RANDOM_PLAIN, DOUBLE, SINGLE)
KEY = st.one_of(
    st.sampled_from(["a", "b", "c", "1", "true", "null", "a b", '"q"', "'s'"]), RANDOM_PLAIN
)


@st.composite
def block(draw: st.DrawFn, indent: int = 0, depth: int = 0) -> str:
    """A block mapping or sequence, `indent` spaces in."""
    pad = " " * indent
    lines: list[str] = []
    if draw(st.booleans()):
        for key in draw(st.lists(KEY, min_size=1, max_size=4, unique=True)):
            lines += _entry(draw, f"{pad}{key}:", indent, depth)
    else:
        for _ in range(draw(st.integers(1, 4))):
            lines += _entry(draw, f"{pad}-", indent, depth)
    return "\n".join(lines)


def _entry(draw: st.DrawFn, head: str, indent: int, depth: int) -> list[str]:
    kind = draw(st.sampled_from(["scalar", "scalar", "flow", "literal", "nested", "comment"]))
    if kind == "nested" and depth < 3:
        return [head, draw(block(indent + 2, depth + 1))]
    if kind == "flow":
        items = draw(st.lists(SCALAR, max_size=3))
        if draw(st.booleans()):
            return [f"{head} [{', '.join(items)}]"]
        keys = draw(st.lists(KEY, max_size=3, unique=True))
        return [f"{head} {{{', '.join(f'{k}: {v}' for k, v in zip(keys, items, strict=False))}}}"]
    if kind == "literal":
        style = draw(st.sampled_from(["|", ">", "|-", ">+", "|2"]))
        body = draw(st.lists(st.text(ALPHABET, max_size=10), min_size=1, max_size=3))
        return [f"{head} {style}", *(" " * (indent + 2) + b for b in body)]
    if kind == "comment":
        return [f"{head} {draw(SCALAR)} # {draw(st.text(ALPHABET, max_size=5))}"]
    return [f"{head} {draw(SCALAR)}"]


def same(a: Any, b: Any) -> bool:
    """Equal data, with NaN equal to NaN and a float never equal to an int."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@SETTINGS
@given(block())
def test_on_what_the_fast_parser_takes_both_read_the_same_data(text: str) -> None:
    fast, _ = _fast_parse(text)
    if fast is None:
        return  # the careful parser alone decides
    try:
        careful, _ = parse_yaml(text, "t.yaml")
    except DataError:
        # yaml-rs takes a few forms libyaml refuses (`- :`, a null key); what it
        # reads from them is never a dataset, so the careful parser reports them.
        with pytest.raises(DataError):
            build_dataset(fast, "t.yaml", None)
        return
    assert same(fast, careful), f"{text!r}\nfast:    {fast!r}\ncareful: {careful!r}"


DATASET = """\
schema: 2
source:
  id: src
  title: {title}
  publisher: {publisher}
claims:
  - id: c
    kind: statistic
    statement: {statement}
    quote: {quote}
    evidence: unsourced
    figures:
      - label: l
        value: {value}
        unit: u
"""


@SETTINGS
@given(SCALAR, SCALAR, SCALAR, SCALAR, st.one_of(PLAIN, RANDOM_PLAIN))
def test_a_dataset_loads_or_is_refused_the_same_on_both_paths(
    title: str, publisher: str, statement: str, quote: str, value: str
) -> None:
    text = DATASET.format(
        title=title, publisher=publisher, statement=statement, quote=quote, value=value
    )
    fast, _ = _fast_parse(text)
    if fast is None:
        return
    try:
        got: Any = build_dataset(fast, "t.yaml", None)
    except DataError as e:
        got = sorted((p.where, p.what) for p in e.problems)
    try:
        want: Any = parse_dataset(text, "t.yaml", fast=False)
    except DataError as e:
        want = sorted((p.where, p.what) for p in e.problems)
    assert got == want, text
