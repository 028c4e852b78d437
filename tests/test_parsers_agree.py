"""The fast parser (yaml-rs, the `fast` extra) and the careful one (PyYAML) agree.

On every text the fast path takes, both parsers must give the same data, so
that a dataset loads the same, or is refused the same, whichever is
installed. Hypothesis writes YAML from pieces chosen to find where two YAML
implementations differ: number forms, special floats, null and boolean
spellings, escapes, block scalars, flow collections, comments, keys.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
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


#: Characters of block scalar text (the line breaks of ALPHABET never take the fast path).
BODY = st.sampled_from(list("abc  1_.-+e:#'\"\\é日\t") + ["\u00a0"])
#: Block scalar headers: both styles, chomping, indentation indicators, and what
#: may follow on the line (spaces, a tab, a comment).
HEADER = st.builds(
    lambda style, chomp, after: style + chomp + after,
    st.sampled_from(["|", ">"]),
    st.sampled_from(["", "", "-", "-", "+", "1", "2", "2-", "-1", "+2"]),
    st.sampled_from(["", "", "", "", " ", "\t", " # c", "\t# c", "#c", "  "]),
)


@st.composite
def _body_line(draw: st.DrawFn, indent: int) -> str:
    """A line of a block scalar `indent` spaces in: mostly text, else more or less
    indented, blank, spaces only, a tab at its start or end, a comment, trailing spaces."""
    word = draw(st.text(BODY, min_size=1, max_size=8).filter(lambda w: w.strip() == w))
    shapes = ["text"] * 10 + ["more", "less", "blank", "spaces", "tab", "trailing", "comment"]
    shape = draw(st.sampled_from(shapes))
    if shape == "more":
        return " " * (indent + draw(st.integers(1, 3))) + word
    if shape == "less":
        return " " * max(0, indent - draw(st.integers(1, 2))) + word
    if shape == "blank":
        return ""
    if shape == "spaces":
        return " " * draw(st.integers(1, indent + 3))
    if shape == "tab":
        return " " * indent + "\t" + word
    if shape == "trailing":
        return " " * indent + word + draw(st.sampled_from([" ", "  ", "\t"]))
    if shape == "comment":
        return " " * indent + "# " + word
    return " " * indent + word


@st.composite
def document(draw: st.DrawFn) -> str:
    """A block document, ending with a line break or not, with LF or CRLF line ends."""
    text = draw(block())
    text += draw(st.sampled_from(["", "\n", "\n\n", "\n  \n"]))
    return text.replace("\n", "\r\n") if draw(st.integers(0, 4)) == 0 else text


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
    kind = draw(
        st.sampled_from(["scalar", "scalar", "flow", "literal", "literal", "nested", "comment"])
    )
    if kind == "nested" and depth < 3:
        return [head, draw(block(indent + 2, depth + 1))]
    if kind == "flow":
        items = draw(st.lists(SCALAR, max_size=3))
        if draw(st.booleans()):
            return [f"{head} [{', '.join(items)}]"]
        keys = draw(st.lists(KEY, max_size=3, unique=True))
        return [f"{head} {{{', '.join(f'{k}: {v}' for k, v in zip(keys, items, strict=False))}}}"]
    if kind == "literal":
        return [f"{head} {draw(HEADER)}", *draw(st.lists(_body_line(indent + 2), max_size=5))]
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
@given(document())
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


@st.composite
def block_scalars(draw: st.DrawFn) -> str:
    """A document of block scalars under keys, list dashes and both, at two depths:
    of every shape, most of them ordinary (as a dataset's notes are)."""
    lines: list[str] = []
    for i in range(draw(st.integers(1, 3))):
        indent = draw(st.sampled_from([0, 0, 2]))
        if indent:
            lines.append(f"top{i}:")
        lead = draw(st.sampled_from([f"k{i}:", "-", f"- k{i}:", "- -", f"-  k{i}:"]))
        ordinary = st.sampled_from([">-", ">", "|", "|-", "|+", ">+"])
        header = draw(st.one_of(ordinary, ordinary, HEADER))
        lines.append(f"{' ' * indent}{lead} {header}")
        inner = indent + draw(st.sampled_from([2, 2, 4, 1, 0, 5, 6]))
        lines += draw(
            st.lists(_body_line(inner), min_size=draw(st.sampled_from([1, 1, 0])), max_size=4)
        )
    return "\n".join(lines) + draw(st.sampled_from(["\n", "\n", "", "\n\n", "\n   \n"]))


@settings(SETTINGS, max_examples=500)
@given(block_scalars())
def test_block_scalars_read_the_same_when_the_fast_parser_takes_them(text: str) -> None:
    test_on_what_the_fast_parser_takes_both_read_the_same_data.hypothesis.inner_test(text)  # type: ignore[attr-defined]


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


def test_the_shipped_dataset_takes_the_fast_path() -> None:
    from immunofacts.paths import bundled_data_path

    text = bundled_data_path().read_text(encoding="utf-8")
    assert ": >" in text  # its notes are folded block scalars
    fast, why = _fast_parse(text)
    assert why == ""
    careful, _ = parse_yaml(text, "t.yaml")
    assert same(fast, careful)


def test_a_dataset_grown_from_the_shipped_records_takes_the_fast_path(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "_grow", Path(__file__).parents[1] / "benchmarks" / "make_dataset.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.grow_dataset(200, tmp_path / "g.yaml")
    text = (tmp_path / "g.yaml").read_text(encoding="utf-8")
    fast, why = _fast_parse(text)
    assert why == ""
    assert same(fast, parse_yaml(text, "g.yaml")[0])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("k: >\n", "no content line: yaml-rs reads a line break"),
        ("k: >\nn: 1\n", "no content line before the next key"),
        ("k: |\n  a", "no final line break: yaml-rs adds one"),
        ("k: |\n\n  a\n", "a blank first line"),
        ("k: |\n    \n  a\n", "a first line of spaces only"),
        ("k: |2\n   a\n", "an indentation indicator"),
        ("k: |\n  \ta\n", "a tab at the start of a line"),
        ("k: |\r  a\r", "a lone carriage return"),
        ("k: x - > y\n", "a header inside another scalar"),
        ("k:\n  |\n   a\n", "a header on a line of its own"),
        ("- k: |\n  a\n", "content not inside the key's column"),
    ],
)
def test_block_scalars_the_parsers_may_read_differently_take_the_careful_path(
    text: str, why: str
) -> None:
    assert _fast_parse(text)[0] is None, why


@pytest.mark.parametrize(
    "text",
    [
        "k: >-\n  folded\n  text\nn: 1\n",
        "k: |+\n  kept\n\n\nn: 1\n",
        "k: > # a comment\n  a\n\n    more\n   \n  b\n",
        "- - |\n    a\n  - >-\n   b\r\n",
        "top:\n  - k: |\n      a\n    n: 1\n",
    ],
)
def test_ordinary_block_scalars_take_the_fast_path(text: str) -> None:
    fast, why = _fast_parse(text)
    assert why == ""
    assert same(fast, parse_yaml(text, "t.yaml")[0])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a: b\x01\n", "a C0 control"),
        ("a: b\x9b\n", "a C1 control"),
        ("a: b\x85c\n", "NEL, a line break to PyYAML only"),
        ("a: b\u2028c\n", "a line separator"),
        ("a: b\ufffe\n", "a non-character"),
        ("a: 1\n---\nb: 2\n", "a second document"),
        ("%YAML 1.2\n---\na: 1\n", "a directive"),
        ("a: &x 1\nb: *x\n", "an anchor and an alias"),
        ("a: !!str 1\n", "a tag"),
        ("a: 1_000\n", "a digit separator"),
        ("a: 0b101\n", "a binary number"),
        ("a: " + "1" * 31 + "\n", "an integer too long to hold"),
        ("a: " + "1_" * 40 + "1\n", "a long token of number characters"),
        ("a: " + "[[]" * 41 + "]" * 41 + "\n", "flow nesting 42 deep, never 41 brackets in a row"),
        ("a: " + "[" * 41 + "]" * 41 + "\n", "flow nesting 41 deep"),
        ("- " * 9 + "a\n", "compact nesting 9 deep"),
        ("a:\n" + " " * 40 + "b: 1\n", "indented 40 spaces"),
    ],
)
def test_the_pre_scan_refuses_what_the_fast_parser_may_read_differently(
    text: str, why: str
) -> None:
    assert _fast_parse(text)[0] is None, why


@pytest.mark.parametrize(
    "text",
    [
        "a: R&D, 5*3 and a!\n",
        "a: https://example.org/13_Supplement/0x-files\n",
        "a: [[x], [y, [z]]]\n",
        "a: p > 0.05 | q\n",
        "a: " + "é日\u00a0" * 10 + "\n",
    ],
)
def test_the_pre_scan_lets_ordinary_text_through(text: str) -> None:
    fast, why = _fast_parse(text)
    assert why == ""
    assert same(fast, parse_yaml(text, "t.yaml")[0])


def test_the_careful_parser_reads_json_surrogate_pair_escapes() -> None:
    """JSON writes a character beyond U+FFFF (a tag character, say) as two escapes, as our
    JSON export does; read back as a dataset by the careful parser, it is one character."""
    import msgspec

    text = '{"a": "x\\udb40\\udc01y", "b": "\\\\udb40 \\u00e9", "c": ["\\ud83d\\ude00"]}'
    assert parse_yaml(text, "t.json")[0] == msgspec.json.decode(text)
    # A lone half is still refused, and YAML that is not JSON is read as it is.
    with pytest.raises(DataError):
        parse_yaml('{"a": "\\udb40"}', "t.json")
    assert parse_yaml("a: x\\udb40\\udc01\n", "t.yaml")[0] == {"a": "x\\udb40\\udc01"}
