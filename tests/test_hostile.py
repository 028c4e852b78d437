"""Hostile input: every bad dataset gives a one-line `file:line: where: what`, exit 1, fast.

Each case runs through ``immunofacts.loading.load_dataset`` (which must raise
DataError and nothing else) and through the CLI (``validate PATH`` and
``list-claims --data PATH``), which must print one error line per problem on
stderr, nothing on stdout, exit 1, and never a traceback.

The small files live in tests/hostile/ (tests/hostile/ok/ holds odd files that
must load); big and binary inputs are generated into tmp_path here. Every file
is copied next to a copy of data/article.txt, so ``source.text: article.txt``
works.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner, Result

from immunofacts.cli import app
from immunofacts.errors import DataError, Problem
from immunofacts.loading import load_dataset, parse_dataset
from immunofacts.model import Dataset

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "hostile"
DATA = HERE.parent / "data" / "immunofacts.yaml"
ARTICLE = HERE.parent / "data" / "article.txt"

#: A hang guard, not a benchmark: a small bad file is refused in well under a
#: second, and the failures it guards against took minutes. Generous, so that a
#: loaded machine running the suite on several workers does not trip it.
FAST = 20.0


@dataclass(frozen=True)
class Want:
    """One expected problem: its line (None: the message has no line), where, and what."""

    line: int | None
    where: str
    what: str  # a substring of the message


# --- the corpus and what each file must report ----------------------------------

EXPECTED: dict[str, list[Want]] = {
    "empty.yaml": [Want(None, "", "file is empty")],
    "whitespace-only.yaml": [Want(None, "", "file is empty")],
    "comment-only.yaml": [Want(None, "", "file is empty")],
    "syntax-error.yaml": [Want(10, "", "YAML syntax error")],
    "tabs.yaml": [Want(3, "", "YAML syntax error")],
    "top-list.yaml": [Want(1, "", "expected a mapping with schema, source")],
    "top-scalar.yaml": [Want(1, "", "got a string")],
    "top-null.yaml": [Want(2, "", "got null")],
    "date-month-13.yaml": [Want(6, "source.date", "expected YYYY, YYYY-MM or YYYY-MM-DD")],
    "date-feb-30.yaml": [Want(12, "claims[0].date", "'2020-02-30' is not a calendar date")],
    "date-yesterday.yaml": [Want(6, "source.date", "got 'yesterday'")],
    "norway-evidence.yaml": [
        Want(
            11,
            "claims[0].evidence",
            "expected one of peer-reviewed, regulatory, press-release, news-report, patient-report, opinion, promotional, unsourced; got 'no'",
        )
    ],
    "duplicate-ids.yaml": [Want(13, "cases[0].id", "duplicate id 'rec-a'")],
    "duplicate-key.yaml": [Want(11, "claims[0].statement", "duplicate key")],
    "unknown-field-qoute.yaml": [
        Want(7, "claims[0]", "missing required field 'quote'"),
        Want(10, "claims[0].qoute", "unknown field 'qoute'"),
    ],
    "dangling-entity.yaml": [Want(18, "claims[0].entities[1]", "unknown entity 'ent-ghost'")],
    "dangling-case-claim.yaml": [Want(24, "cases[0].claims[1]", "unknown claim 'claim-ghost'")],
    "unknown-hospital.yaml": [Want(16, "cases[0].hospital", "unknown entity 'ent-nowhere'")],
    "quote-not-in-source.yaml": [
        Want(16, "claims[1].quote", "quote is not verbatim in the source text")
    ],
    "tag-python-object.yaml": [Want(6, "claims", "YAML tags are not allowed")],
    "tag-custom.yaml": [Want(6, "source.note", "YAML tags are not allowed (!custom)")],
    "tag-binary.yaml": [Want(6, "source.note", "YAML tags are not allowed")],
    "alias-bomb.yaml": [Want(2, "b[0]", "aliases (*name) are not allowed")],
    "anchor-alias.yaml": [Want(11, "entities[1]", "aliases (*name) are not allowed")],
    "three-problems.yaml": [
        Want(
            11,
            "claims[0].evidence",
            "expected one of peer-reviewed, regulatory, press-release, news-report, patient-report, opinion, promotional, unsourced; got 'no'",
        ),
        Want(
            13,
            "claims[1].kind",
            "expected one of statistic, research, regulatory, clinical, policy, background, prediction, opinion, promotion; got 'guess'",
        ),
        Want(17, "claims[2].id", "expected an id of lowercase letters"),
    ],
}
#: Files in the corpus that are tested on their own below, not by EXPECTED.
SPECIAL = {"tag-str-explicit.yaml"}


def corpus_files() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.yaml"))


def test_corpus_and_expectations_match() -> None:
    assert set(corpus_files()) == set(EXPECTED) | SPECIAL


# --- helpers ----------------------------------------------------------------------


def stage(tmp_path: Path, name: str, content: str | bytes) -> Path:
    """Write a dataset file into tmp_path, next to a copy of the article."""
    shutil.copy(ARTICLE, tmp_path / "article.txt")
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def load_problems(path: Path) -> tuple[Problem, ...]:
    """The problems load_dataset raises for `path`; fails on any other outcome."""
    start = time.perf_counter()
    try:
        load_dataset(path)
    except DataError as e:
        problems = e.problems
    else:
        pytest.fail(f"{path.name} loaded, but should have been refused")
    assert time.perf_counter() - start < FAST
    assert problems
    return problems


def assert_problems(problems: tuple[Problem, ...], wants: list[Want], exact: bool) -> None:
    if exact:
        assert len(problems) == len(wants), problems
    for want in wants:
        assert any(
            p.line == want.line and p.where == want.where and want.what in p.what for p in problems
        ), f"{want} not among {[str(p) for p in problems]}"


def invoke(args: list[str], env: dict[str, str | None] | None = None) -> tuple[Result, float]:
    start = time.perf_counter()
    result = CliRunner().invoke(app, args, env=env)
    return result, time.perf_counter() - start


ERROR_LINE = re.compile(r"immunofacts: error: (?P<loc>.+?): (?P<rest>.*)")


def assert_cli_refuses(
    path: Path,
    wants: list[Want],
    *,
    exact: bool = True,
    env: dict[str, str | None] | None = None,
    limit: float = FAST,
) -> None:
    """`validate PATH` and `list-claims --data PATH` print the problems and exit 1."""
    label = str(path)
    for args in (["validate", label], ["list-claims", "--data", label]):
        result, took = invoke(args, env)
        assert took < limit, f"{args} took {took:.2f}s"
        assert result.exit_code == 1, (args, result.stdout, result.stderr)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.stdout + result.stderr
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines, args
        for line in lines:
            assert line.startswith(f"immunofacts: error: {label}"), line
        if exact:
            assert len(lines) == len(wants), lines
        for want in wants:
            loc = label if want.line is None else f"{label}:{want.line}"
            head = f"immunofacts: error: {loc}: " + (f"{want.where}: " if want.where else "")
            assert any(ln.startswith(head) and want.what in ln[len(head) :] for ln in lines), (
                f"{head}…{want.what} not in {lines}"
            )


# --- the corpus -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_is_refused(name: str, tmp_path: Path) -> None:
    path = stage(tmp_path, name, (CORPUS / name).read_bytes())
    assert_problems(load_problems(path), EXPECTED[name], exact=True)
    assert_cli_refuses(path, EXPECTED[name])


def test_norway_sex_stays_the_string_no(tmp_path: Path) -> None:
    path = stage(tmp_path, "n.yaml", (CORPUS / "ok" / "norway-sex.yaml").read_bytes())
    ds = load_dataset(path)
    patient = ds.cases[0].patient
    assert patient.sex == "no"
    assert patient.name == "yes"
    assert patient.place == "off"


def test_unquoted_iso_dates_load_as_strings(tmp_path: Path) -> None:
    path = stage(tmp_path, "d.yaml", (CORPUS / "ok" / "date-unquoted.yaml").read_bytes())
    ds = load_dataset(path)
    assert ds.source.date == "2020-01-05"
    assert isinstance(ds.source.date, str)
    assert ds.claims[0].date == "2020-06"


def test_unquoted_dates_are_strings_on_the_careful_path_too(tmp_path: Path) -> None:
    # A tag-like "!" sends the text to the PyYAML path; dates must still be strings.
    text = (CORPUS / "ok" / "date-unquoted.yaml").read_text()
    text = text.replace("  date: 2020-01-05\n", "  date: 2020-01-05\n  note: careful !path\n")
    ds = load_dataset(stage(tmp_path, "d.yaml", text))
    assert ds.source.date == "2020-01-05"
    assert ds.claims[0].date == "2020-06"


def test_an_anchor_that_nothing_refers_to_is_harmless(tmp_path: Path) -> None:
    path = stage(tmp_path, "a.yaml", (CORPUS / "ok" / "anchor-unused.yaml").read_bytes())
    assert load_dataset(path).source.note == "an anchor nobody refers to"


def test_explicit_str_tag_is_honoured(tmp_path: Path) -> None:
    """`!!str 2020` is the core schema's own way to say "the string 2020": it loads as that."""
    path = stage(tmp_path, "t.yaml", (CORPUS / "tag-str-explicit.yaml").read_bytes())
    assert load_dataset(path).source.note == "2020"


def test_python_tag_runs_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "pwned"
    text = (
        "schema: 2\nsource: !!python/object/apply:os.system\n"
        f"  - touch {marker}\n"
        "claims: !!python/object/apply:subprocess.check_output [[echo, hi]]\n"
    )
    path = stage(tmp_path, "p.yaml", text)
    problems = load_problems(path)
    assert problems[0].line == 2
    assert "YAML tags are not allowed" in problems[0].what
    assert not marker.exists()
    assert "hi" not in capfd.readouterr().out


# --- encodings and bytes, generated -----------------------------------------------

MINIMAL = "schema: 2\nsource:\n  id: src-test\n  title: A test source\n  publisher: Test\n"


def test_invalid_utf8(tmp_path: Path) -> None:
    data = MINIMAL.encode() + b"  note: caf\xe9 latin-1\n"
    path = stage(tmp_path, "latin1.yaml", data)
    wants = [Want(6, "", "not valid UTF-8 (byte 0xe9)")]
    assert_problems(load_problems(path), wants, exact=True)
    assert_cli_refuses(path, wants)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16(tmp_path: Path, encoding: str) -> None:
    path = stage(tmp_path, "u16.yaml", DATA.read_text(encoding="utf-8").encode(encoding))
    problems = load_problems(path)
    assert len(problems) == 1
    assert problems[0].line == 1
    # With a BOM the loader names the encoding; without, the NUL bytes give it away.
    assert "UTF-16" in problems[0].what or "NUL byte" in problems[0].what
    assert_cli_refuses(path, [Want(1, "", problems[0].what)])


def test_utf8_bom_on_a_valid_dataset_loads(tmp_path: Path) -> None:
    path = stage(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + DATA.read_bytes())
    ds = load_dataset(path)
    assert ds == load_dataset(stage(tmp_path, "plain.yaml", DATA.read_bytes()))
    result, _ = invoke(["validate", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr


def test_utf8_bom_keeps_line_numbers(tmp_path: Path) -> None:
    text = "\ufeff" + MINIMAL + "  qoute: x\n"
    path = stage(tmp_path, "bom-bad.yaml", text)
    wants = [Want(6, "source.qoute", "unknown field 'qoute'")]
    assert_problems(load_problems(path), wants, exact=True)
    assert_cli_refuses(path, wants)


def test_nul_bytes(tmp_path: Path) -> None:
    path = stage(tmp_path, "nul.yaml", MINIMAL.encode() + b"  note: a\x00b\n")
    wants = [Want(6, "", "NUL byte")]
    assert_problems(load_problems(path), wants, exact=True)
    assert_cli_refuses(path, wants)


def test_crlf_line_endings_load(tmp_path: Path) -> None:
    text = DATA.read_text(encoding="utf-8").replace("\n", "\r\n")
    ds = load_dataset(stage(tmp_path, "crlf.yaml", text))
    assert ds == load_dataset(stage(tmp_path, "lf.yaml", DATA.read_bytes()))


def test_raw_control_character_gives_one_located_line(tmp_path: Path) -> None:
    path = stage(tmp_path, "bel.yaml", MINIMAL + '  note: "ding\x07"\n  qoute: x\n')
    problems = load_problems(path)
    assert all(p.line is not None for p in problems), problems
    assert all("\n" not in str(p) for p in problems), problems


# --- nesting, size ----------------------------------------------------------------

DEPTH = 10_000


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[" * DEPTH + "]" * DEPTH + "\n", id="flow-list"),
        pytest.param("{a: " * DEPTH + "1" + "}" * DEPTH + "\n", id="flow-map"),
        pytest.param(MINIMAL + "  note: " + "[" * DEPTH + "]" * DEPTH + "\n", id="flow-in-field"),
        pytest.param("- " * DEPTH + "x\n", id="block-list-compact"),
        pytest.param(
            MINIMAL + "  note:\n" + "".join(" " * (i + 3) + "-\n" for i in range(1000)),
            id="block-list-1000-indented",
        ),
        pytest.param(
            MINIMAL + "  note:\n" + "".join(" " * (i + 3) + f"k{i}:\n" for i in range(1000)),
            id="block-map-1000-indented",
        ),
    ],
)
def test_deep_nesting_is_refused(tmp_path: Path, text: str) -> None:
    path = stage(tmp_path, "deep.yaml", text)
    problems = load_problems(path)
    assert len(problems) == 1
    assert "deep" in problems[0].what or "nest" in problems[0].what
    assert_cli_refuses(path, [Want(problems[0].line, problems[0].where, problems[0].what)])


def test_one_megabyte_line_in_a_string_field_loads(tmp_path: Path) -> None:
    note = "x" * 1_000_000
    path = stage(tmp_path, "big.yaml", MINIMAL + f"  note: {note}\n")
    start = time.perf_counter()
    ds = load_dataset(path)
    assert time.perf_counter() - start < FAST
    assert ds.source.note == note


def test_one_megabyte_line_with_an_error_is_refused_fast(tmp_path: Path) -> None:
    text = MINIMAL + f'  note: "{"y" * 1_000_000}"\n  qoute: x\n'
    path = stage(tmp_path, "big-bad.yaml", text)
    wants = [Want(7, "source.qoute", "unknown field 'qoute'")]
    assert_problems(load_problems(path), wants, exact=True)
    assert_cli_refuses(path, wants)


def test_file_over_the_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = stage(tmp_path, "over.yaml", MINIMAL + "  note: " + "z" * 2000 + "\n")
    monkeypatch.setenv("IMMUNOFACTS_MAX_BYTES", "1000")
    wants = [Want(None, "", "over the limit of 1,000 bytes")]
    assert_problems(load_problems(path), wants, exact=True)
    assert_cli_refuses(path, wants, env={"IMMUNOFACTS_MAX_BYTES": "1000"})


def test_source_text_over_the_size_cap(tmp_path: Path) -> None:
    path = stage(tmp_path, "s.yaml", MINIMAL + "  text: article.txt\n")
    env: dict[str, str | None] = {"IMMUNOFACTS_MAX_BYTES": "1000"}
    wants = [Want(6, "source.text", "over the limit of 1,000 bytes")]
    assert_cli_refuses(path, wants, env=env)


# --- paths that are not dataset files ----------------------------------------------


def test_path_is_a_directory(tmp_path: Path) -> None:
    wants = [Want(None, "", "is a directory")]
    assert_problems(load_problems(tmp_path), wants, exact=True)
    assert_cli_refuses(tmp_path, wants)


def test_path_is_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    wants = [Want(None, "", "is not a regular file")]
    assert_problems(load_problems(fifo), wants, exact=True)
    assert_cli_refuses(fifo, wants)


def test_source_text_is_a_fifo_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    path = stage(tmp_path, "s.yaml", MINIMAL + "  text: pipe.txt\n")
    wants = [Want(6, "source.text", "is not a regular file")]
    assert_problems(load_problems(path), wants, exact=True)
    assert_cli_refuses(path, wants)


def test_missing_file(tmp_path: Path) -> None:
    wants = [Want(None, "", "no such file")]
    missing = tmp_path / "nowhere" / "missing.yaml"
    assert_problems(load_problems(missing), wants, exact=True)
    assert_cli_refuses(missing, wants)


def test_missing_source_text(tmp_path: Path) -> None:
    path = stage(tmp_path, "s.yaml", MINIMAL + "  text: no-such-article.txt\n")
    wants = [Want(6, "source.text", "no such file")]
    assert_problems(load_problems(path), wants, exact=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_unreadable_file(tmp_path: Path) -> None:
    path = stage(tmp_path, "secret.yaml", DATA.read_bytes())
    path.chmod(0)
    try:
        wants = [Want(None, "", "permission denied")]
        assert_problems(load_problems(path), wants, exact=True)
        assert_cli_refuses(path, wants)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_symlink_loop(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.symlink_to(b)
    b.symlink_to(a)
    wants = [Want(None, "", "cannot open")]
    assert_problems(load_problems(a), wants, exact=True)
    assert_cli_refuses(a, wants)


def test_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / "dangling.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    wants = [Want(None, "", "no such file")]
    assert_problems(load_problems(link), wants, exact=True)


# --- a template dataset: every required field missing, every wrong type ------------

TEMPLATE = """\
# a small valid dataset that the cases below break one field at a time
schema: 2
source:
  id: src-test
  title: A test source
  publisher: Test Publisher
  date: "2020-06"
  text: article.txt
entities:
  -
    id: ent-a
    name: Entity A
    type: organisation
claims:
  -
    id: claim-a
    kind: statistic
    statement: Something is said.
    quote: "The era of immune cell therapy has arrived!"
    evidence: unsourced
    date: "2020"
    entities:
      - ent-a
    figures:
      - label: a count
        value: 50
        unit: things
cases:
  -
    id: case-a
    title: A case
    quote: "Several studies have been conducted."
    patient:
      description: A patient.
      sex: female
      age: 31
    diagnosis:
      - lymphoma
    therapy: CAR-T
    outcome: Better.
    evidence: news-report
    hospital: ent-a
    events:
      - date: "2020-06"
        description: Re-examined.
    claims:
      - claim-a
"""


def test_template_is_valid(tmp_path: Path) -> None:
    ds = load_dataset(stage(tmp_path, "t.yaml", TEMPLATE))
    assert [c.id for c in ds.claims] == ["claim-a"]
    assert ds.cases[0].hospital == "ent-a"


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the only line that contains `fragment` (`^x`: that starts with x)."""
    lines = enumerate(text.splitlines(), 1)
    if fragment.startswith("^"):
        found = [i for i, ln in lines if ln.startswith(fragment[1:])]
    else:
        found = [i for i, ln in lines if fragment in ln]
    assert len(found) == 1, (fragment, found)
    return found[0]


def drop_field(text: str, section: str, field: str) -> tuple[str, int]:
    """Remove `field` (and its block) from the top level, `source`, or a section's record.

    Returns the new text and the line the problem belongs on: the first line of
    the mapping the field was removed from.
    """
    lines = text.splitlines(keepends=True)
    if section == "":
        start, indent = 0, 0
    else:
        start = next(i for i, ln in enumerate(lines) if ln == f"{section}:\n")
        indent = 2 if section == "source" else 4
        start += 1 if section == "source" else 2  # skip the section key (and the "-")
    pos = next(
        i for i in range(start, len(lines)) if lines[i].startswith(" " * indent + f"{field}:")
    )
    end = pos + 1
    while end < len(lines) and len(lines[end]) - len(lines[end].lstrip(" ")) > indent:
        end += 1
    del lines[pos:end]
    if section == "source":
        return "".join(lines), start  # a nested mapping is placed at its key's line
    first = start
    while lines[first].lstrip().startswith("#"):
        first += 1
    return "".join(lines), first + 1


REQUIRED = [
    *(("", f) for f in ("schema", "source")),
    *(("source", f) for f in ("id", "title", "publisher")),
    *(("entities", f) for f in ("id", "name", "type")),
    *(("claims", f) for f in ("id", "kind", "statement", "quote", "evidence")),
    *(
        ("cases", f)
        for f in (
            "id",
            "title",
            "quote",
            "patient",
            "diagnosis",
            "therapy",
            "outcome",
            "evidence",
        )
    ),
]


@pytest.mark.parametrize(("section", "field"), REQUIRED, ids=lambda v: v or "top")
def test_missing_required_field(tmp_path: Path, section: str, field: str) -> None:
    text, line = drop_field(TEMPLATE, section, field)
    where = {"": "", "source": "source"}.get(section, f"{section}[0]")
    path = stage(tmp_path, "m.yaml", text)
    wants = [Want(line, where, f"missing required field '{field}'")]
    # An invalid record is dropped, so references to it also dangle: more problems
    # (see test_invalid_record_does_not_also_dangle). Only the first one is checked here.
    assert_problems(load_problems(path), wants, exact=False)
    assert_cli_refuses(path, wants, exact=False)


def test_missing_nested_required_field(tmp_path: Path) -> None:
    text = TEMPLATE.replace("      description: A patient.\n", "")
    path = stage(tmp_path, "m.yaml", text)
    wants = [Want(line_of(text, "patient:"), "cases[0].patient", "'description'")]
    assert_problems(load_problems(path), wants, exact=True)


@dataclass(frozen=True)
class Swap:
    """Replace `old` by `new` in TEMPLATE; the problem is on the line holding `mark`."""

    old: str
    new: str
    mark: str
    where: str
    what: str


WRONG_TYPES = {
    "list-for-string": Swap(
        "statement: Something is said.",
        "statement: [a, b]",
        "statement: [a, b]",
        "claims[0].statement",
        "expected a string, got a list",
    ),
    "mapping-for-string": Swap(
        "  title: A test source",
        "  title: {a: b}",
        "title: {a: b}",
        "source.title",
        "got a mapping",
    ),
    "bool-for-string": Swap(
        "therapy: CAR-T",
        "therapy: true",
        "therapy: true",
        "cases[0].therapy",
        "expected a string, got true",
    ),
    "mapping-for-list": Swap(
        "    entities:\n      - ent-a\n",
        "    entities: {ent-a: x}\n",
        "entities: {ent-a: x}",
        "claims[0].entities",
        "expected a list, got a mapping",
    ),
    "string-for-list": Swap(
        "    diagnosis:\n      - lymphoma\n",
        "    diagnosis: lymphoma\n",
        "diagnosis: lymphoma",
        "cases[0].diagnosis",
        "expected a list, got the string",
    ),
    "mapping-for-section": Swap(
        "entities:\n  -\n    id: ent-a\n    name: Entity A\n    type: organisation\n",
        "entities:\n  ent-a: {name: Entity A}\n",
        "^entities:",
        "entities",
        "expected a list, got a mapping",
    ),
    "number-for-id": Swap(
        "id: src-test", "id: 42", "id: 42", "source.id", "expected a string, got the number"
    ),
    "number-for-id-reference": Swap(
        "      - claim-a\n",
        "      - 7\n",
        "      - 7",
        "cases[0].claims[0]",
        "expected a string, got the number",
    ),
    "string-for-figure-value": Swap(
        "value: 50", "value: fifty", "value: fifty", "claims[0].figures[0].value", "'fifty'"
    ),
    "string-for-int-age": Swap(
        "age: 31",
        "age: thirty-one",
        "age: thirty-one",
        "cases[0].patient.age",
        "expected a whole number or null, got the string",
    ),
    "list-for-enum": Swap(
        "kind: statistic",
        "kind: [statistic]",
        "kind: [statistic]",
        "claims[0].kind",
        "got a list",
    ),
    "string-for-mapping": Swap(
        "    patient:\n      description: A patient.\n      sex: female\n      age: 31\n",
        "    patient: A patient.\n",
        "patient: A patient.",
        "cases[0].patient",
        "expected a mapping, got the string",
    ),
    "string-schema": Swap(
        "schema: 2",
        "schema: one",
        "schema: one",
        "schema",
        "expected the whole number 2, got the string 'one'",
    ),
    "far-past-schema": Swap(  # the changes since are listed without counting up to 2
        "schema: 2",
        "schema: -1000000000000000000",
        "schema: -1000000000000000000",
        "schema",
        "unsupported schema version -1000000000000000000; this version reads 2 (since",
    ),
    "bool-schema": Swap(
        "schema: 2",
        "schema: true",
        "schema: true",
        "schema",
        "expected the whole number 2, got true",
    ),
    "bad-id-pattern": Swap(
        "id: ent-a\n", "id: Ent A\n", "id: Ent A", "entities[0].id", "expected an id"
    ),
    "unknown-top-field": Swap(
        "schema: 2\n", "schema: 2\nschemas: 2\n", "schemas: 2", "schemas", "unknown field"
    ),
    "int-for-date": Swap(
        '  date: "2020-06"',
        "  date: 2020",
        "  date: 2020",
        "source.date",
        "expected a string or null, got the number 2020",
    ),
    "empty-string-for-text": Swap(
        "outcome: Better.", 'outcome: ""', 'outcome: ""', "cases[0].outcome", "length >= 1"
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG_TYPES))
def test_wrong_type(tmp_path: Path, name: str) -> None:
    swap = WRONG_TYPES[name]
    assert TEMPLATE.count(swap.old) == 1, swap.old
    text = TEMPLATE.replace(swap.old, swap.new)
    path = stage(tmp_path, "w.yaml", text)
    wants = [Want(line_of(text, swap.mark), swap.where, swap.what)]
    # An invalid record also leaves references to it dangling: more problems.
    assert_problems(load_problems(path), wants, exact=False)
    assert_cli_refuses(path, wants, exact=False)


# --- mutations of the real dataset ------------------------------------------------


def real_text() -> str:
    return DATA.read_text(encoding="utf-8")


def test_real_dataset_loads(tmp_path: Path) -> None:
    ds = load_dataset(stage(tmp_path, "immunofacts.yaml", DATA.read_bytes()))
    assert isinstance(ds, Dataset)
    assert ds.source_text == ARTICLE.read_text(encoding="utf-8")


def test_real_dataset_all_problems_at_once(tmp_path: Path) -> None:
    text = real_text()
    edits = [
        # a claim's evidence: the Norway problem
        (
            '    quote: "More and more patients will benefit from it."\n    evidence: opinion\n',
            '    quote: "More and more patients will benefit from it."\n    evidence: no\n',
        ),
        # a claim's quote, reworded
        (
            'quote: "Several studies have been conducted."',
            'quote: "Several studies have been done."',
        ),
        # a case's id, duplicating a claim's
        ("  - id: case-lupus-lymphoma-shenzhen", "  - id: claim-era-of-immune-cell-therapy"),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = stage(tmp_path, "immunofacts.yaml", text)
    lines = text.splitlines()
    evidence_line = lines.index("    evidence: no") + 1
    quote_line = line_of(text, "Several studies have been done.")
    dup_line = [i for i, ln in enumerate(lines, 1) if "id: claim-era-of-immune-cell" in ln][1]
    problems = load_problems(path)
    by_where = {p.where: p for p in problems}
    assert by_where["claims[1].evidence"].line == evidence_line
    assert by_where["cases[0].id"].line == dup_line
    assert "duplicate id" in by_where["cases[0].id"].what
    quote = [p for p in problems if p.line == quote_line]
    assert quote and "not verbatim" in quote[0].what
    result, took = invoke(["validate", str(path)])
    assert took < FAST
    assert result.exit_code == 1
    for line in (evidence_line, quote_line, dup_line):
        assert f"{path}:{line}: " in result.stderr
    assert "Traceback" not in result.stderr


def test_real_dataset_unknown_field_typo(tmp_path: Path) -> None:
    text = real_text().replace(
        '    quote: "Several studies have been conducted."',
        '    qoute: "Several studies have been conducted."',
    )
    path = stage(tmp_path, "immunofacts.yaml", text)
    problems = load_problems(path)
    line = line_of(text, "qoute:")
    assert any(p.line == line and "unknown field 'qoute'" in p.what for p in problems)


# --- the loader never raises anything but DataError: fast and careful path agree -----


def careful(text: str) -> str:
    """The same text, forced onto the careful (PyYAML) path by a harmless '!' in a comment."""
    return text + "# careful !\n"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_careful_path_reports_the_same(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    if not raw.strip():
        return
    text = raw.decode("utf-8")
    base = HERE.parent / "data"
    outcomes = []
    for variant in (text, careful(text)):
        try:
            parse_dataset(variant, "x.yaml", base_dir=base)
        except DataError as e:
            outcomes.append([(p.line, p.where) for p in e.problems])
        else:
            outcomes.append([])
    assert outcomes[0] == outcomes[1]
    assert outcomes[0]


@pytest.mark.parametrize("value", [".inf", ".nan", "0x10", "0o17", "0b11", "1_000"])
def test_fast_and_careful_paths_agree_on_numbers(value: str) -> None:
    text = TEMPLATE.replace("value: 50", f"value: {value}").replace("  text: article.txt\n", "")
    results = []
    for variant in (text, careful(text)):
        try:
            ds = parse_dataset(variant, "x.yaml")
            results.append(repr(ds.claims[0].figures[0].value))
        except DataError as e:
            results.append("error: " + e.problems[0].where)
    assert results[0] == results[1], results


def test_non_finite_figure_is_refused(tmp_path: Path) -> None:
    text = TEMPLATE.replace("value: 50", "value: .inf")
    path = stage(tmp_path, "inf.yaml", text)
    problems = load_problems(path)
    assert problems[0].where == "claims[0].figures[0].value"


def test_invalid_record_does_not_also_dangle(tmp_path: Path) -> None:
    text = TEMPLATE.replace("value: 50", "value: fifty")
    problems = load_problems(stage(tmp_path, "w.yaml", text))
    assert [p.where for p in problems] == ["claims[0].figures[0].value"]


# --- a dataset path that changes kind after the cache was built ---------------------


def _cached_copy(tmp_path: Path) -> Path:
    path = stage(tmp_path, "immunofacts.yaml", DATA.read_bytes())
    result, _ = invoke(["validate", str(path)])  # parses and builds the cache
    assert result.exit_code == 0, result.stderr
    return path


def test_dataset_replaced_by_a_directory_after_caching(tmp_path: Path) -> None:
    path = _cached_copy(tmp_path)
    path.unlink()
    path.mkdir()
    assert_cli_refuses(path, [Want(None, "", "is a directory")])


@pytest.mark.slow
@pytest.mark.parametrize("which", ["immunofacts.yaml", "article.txt"])
def test_file_replaced_by_a_fifo_after_caching_does_not_hang(tmp_path: Path, which: str) -> None:
    import subprocess
    import sys

    path = _cached_copy(tmp_path)
    (tmp_path / which).unlink()
    os.mkfifo(tmp_path / which)
    cmd = [sys.executable, "-m", "immunofacts", "list-claims", "--data", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=FAST)
    except subprocess.TimeoutExpired:
        pytest.fail("hung on a FIFO")
    assert proc.returncode == 1
    assert "not a regular file" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- crashes: nesting, numbers, odd paths and settings ------------------------------------

NESTED = [
    pytest.param("- " * 12_000 + "x\n", id="block-compact-12000"),
    pytest.param("? " * 12_000 + "x\n", id="complex-keys-12000"),
    pytest.param("- ? " * 6_000 + "x\n", id="mixed-compact"),
    pytest.param("[" * 12_000 + "]" * 12_000 + "\n", id="flow-12000"),
    pytest.param("a: " + "{b: " * 12_000 + "c" + "}" * 12_000 + "\n", id="flow-map-12000"),
    pytest.param("".join(" " * i + "-\n" for i in range(3_000)), id="block-indent-3000"),
]


@pytest.mark.parametrize("text", NESTED)
def test_deep_nesting_never_reaches_a_parser(text: str) -> None:
    with pytest.raises(DataError) as e:
        parse_dataset(text)
    assert len(e.value.problems) == 1
    what = e.value.problems[0].what
    assert "nest" in what or "deep" in what or "mapping keys must be plain strings" in what


@pytest.mark.parametrize("text", NESTED[:2] + NESTED[3:4])
def test_deep_nesting_with_a_small_stack_is_one_line(tmp_path: Path, text: str) -> None:
    """The crash was a native stack overflow: a smaller stack must not bring it back."""
    path = stage(tmp_path, "deep.yaml", text)
    import subprocess
    import sys

    proc = subprocess.run(
        [
            "bash",
            "-c",
            f'ulimit -s 1024; exec "{sys.executable}" -m immunofacts validate "$0"',
            path,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr[-500:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("immunofacts: error: "), lines


def test_nesting_scan_lets_ordinary_datasets_take_the_fast_path() -> None:
    from immunofacts.loading import nesting_is_shallow

    assert nesting_is_shallow(DATA.read_text(encoding="utf-8"))
    assert nesting_is_shallow(TEMPLATE)


NUMBER_FIELDS = [
    ("claims[0].figures[0].value", "        value: 50\n", "        value: {}\n"),
    ("cases[0].patient.age", "      age: 31\n", "      age: {}\n"),
]


@pytest.mark.parametrize("where,old,new", NUMBER_FIELDS)
@pytest.mark.parametrize(
    "number", ["99999999999999999999", "-99999999999999999999", "9" * 5000, "1e400", "1e16"]
)
def test_every_number_field_is_bounded(
    tmp_path: Path, where: str, old: str, new: str, number: str
) -> None:
    assert old in TEMPLATE
    path = stage(tmp_path, "n.yaml", TEMPLATE.replace(old, new.format(number)))
    problems = load_problems(path)
    assert [p.where for p in problems] == [where], problems
    what = problems[0].what
    assert "number out of range" in what or "finite" in what or "expected a whole number" in what
    assert len(str(problems[0])) < 300
    assert_cli_refuses(path, [Want(problems[0].line, where, problems[0].what)])


def test_measurements_are_bounded(tmp_path: Path) -> None:
    text = TEMPLATE.replace(
        "    claims:\n      - claim-a\n",
        "    claims:\n      - claim-a\n    measurements:\n      - label: l\n"
        "        before: 99999999999999999999\n        after: -1e300\n        unit: u\n",
    )
    path = stage(tmp_path, "m.yaml", text)
    problems = load_problems(path)
    assert [p.where for p in problems] == [
        "cases[0].measurements[0].before",
        "cases[0].measurements[0].after",
    ]
    assert all("number out of range" in p.what for p in problems)


@pytest.mark.parametrize("age", ["-1", "151"])
def test_ages_are_bounded(tmp_path: Path, age: str) -> None:
    path = stage(tmp_path, "a.yaml", TEMPLATE.replace("      age: 31\n", f"      age: {age}\n"))
    problems = load_problems(path)
    assert [(p.where, "number out of range (from 0 to 150)" in p.what) for p in problems] == [
        ("cases[0].patient.age", True)
    ]


@pytest.mark.parametrize("value", ["0.1_0", "1_000", "0b11", "+0x1f"])
def test_number_forms_outside_the_core_schema_are_strings(tmp_path: Path, value: str) -> None:
    path = stage(
        tmp_path, "n.yaml", TEMPLATE.replace("        value: 50\n", f"        value: {value}\n")
    )
    problems = load_problems(path)
    assert [p.where for p in problems] == ["claims[0].figures[0].value"]
    assert f"got the string '{value}'" in problems[0].what


def test_lone_surrogate_escape_is_refused(tmp_path: Path) -> None:
    path = stage(tmp_path, "s.yaml", MINIMAL + '  note: "a\\ud800b"\n')
    problems = load_problems(path)
    assert [p.line for p in problems] == [6]
    assert "surrogate" in problems[0].what or "invalid Unicode character escape" in problems[0].what


@pytest.mark.parametrize("field", ["doi", "url"])
@pytest.mark.parametrize("char", ["\\x1b", "\\x07", "\\x9b", "\\u202e", "\\u200b", "\\U000e0041"])
def test_identifiers_refuse_invisible_characters(tmp_path: Path, field: str, char: str) -> None:
    value = {"doi": "10.1038/abc", "url": "https://example.org/a"}[field] + char + "x"
    text = TEMPLATE.replace(
        "    figures:\n",
        f"    review:\n      verdict: confirmed\n      rating: accurate\n      references:\n"
        f'        - title: t\n          {field}: "{value}"\n    figures:\n',
    )
    path = stage(tmp_path, "r.yaml", text)
    problems = load_problems(path)
    assert [p.where for p in problems] == [f"claims[0].review.references[0].{field}"]


def test_nul_in_source_text_path(tmp_path: Path) -> None:
    path = stage(tmp_path, "s.yaml", MINIMAL + '  text: "article.txt\\0.secret"\n')
    problems = load_problems(path)
    assert [(p.where, "control character" in p.what) for p in problems] == [("source.text", True)]
    assert_cli_refuses(path, [Want(6, "source.text", "control character")])


@pytest.mark.parametrize("value", ["²", "1e9", "-5", "lots", "9" * 40])
def test_max_bytes_that_is_not_a_number(tmp_path: Path, value: str) -> None:
    path = stage(tmp_path, "ok.yaml", TEMPLATE)
    result, _ = invoke(["validate", str(path)], env={"IMMUNOFACTS_MAX_BYTES": value})
    assert result.exit_code == 1
    assert result.stderr.startswith("immunofacts: error: IMMUNOFACTS_MAX_BYTES: expected")
    assert len(result.stderr.splitlines()) == 1


def test_max_bytes_can_raise_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from immunofacts import loading

    monkeypatch.setenv("IMMUNOFACTS_MAX_BYTES", str(loading.MAX_BYTES * 2))
    assert loading.max_bytes() == loading.MAX_BYTES * 2


def test_a_file_over_the_default_cap_is_refused_at_once_and_says_how_to_load_it(
    tmp_path: Path,
) -> None:
    """A big file (a hostile one, or a corpus loaded without asking) costs no parse and no
    memory: it is refused before it is read, with the way to load it on purpose."""
    from immunofacts import loading

    path = tmp_path / "big.yaml"
    with path.open("wb") as f:  # sparse: the size without the bytes
        f.truncate(loading.MAX_BYTES + 1)
    result, seconds = invoke(["validate", str(path)])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert f"over the limit of {loading.MAX_BYTES:,} bytes" in result.stderr
    assert "IMMUNOFACTS_MAX_BYTES" in result.stderr
    assert seconds < FAST
    # A default cap keeps a load of a file that size under about 500 MiB.
    assert loading.MAX_BYTES * 13 <= 500 * 1024 * 1024


def test_careful_path_has_a_lower_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the fast parser cannot take is refused above the careful cap, not parsed."""
    from immunofacts import loading

    monkeypatch.setattr(loading, "CAREFUL_MAX_BYTES", 1000)
    path = stage(tmp_path, "anchor.yaml", MINIMAL + "  note: &x " + "y" * 2000 + "\n")
    problems = load_problems(path)
    assert len(problems) == 1
    assert "the most the careful parser reads" in problems[0].what
    assert "anchor" in problems[0].what


def test_large_file_with_a_typo_is_reported_without_a_second_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from immunofacts import loading

    pytest.importorskip("yaml_rs")
    monkeypatch.setattr(loading, "CAREFUL_MAX_BYTES", 1000)
    text = TEMPLATE.replace("    kind: statistic\n", "    kind: statistic\n    knd: x\n")
    text += "# " + "padding " * 200 + "\n"
    monkeypatch.setattr(loading, "parse_yaml", None)  # the careful parser must not run
    path = stage(tmp_path, "big.yaml", text)
    problems = load_problems(path)
    assert [(p.line, p.where, p.what) for p in problems] == [
        (None, "claims[0].knd", "unknown field 'knd'")
    ]


def test_kernel_file_does_not_block(tmp_path: Path) -> None:
    if not os.path.exists("/proc/kmsg"):
        pytest.skip("no /proc/kmsg here")
    path = stage(tmp_path, "k.yaml", MINIMAL + "  text: /proc/kmsg\n")
    start = time.perf_counter()
    problems = load_problems(path)  # outside the dataset's directory
    assert [p.where for p in problems] == ["source.text"]
    os.environ["IMMUNOFACTS_TEXT_DIRS"] = "/proc"
    try:
        problems = load_problems(path)  # allowed, but it would wait: refused at once
    finally:
        del os.environ["IMMUNOFACTS_TEXT_DIRS"]
    assert [p.where for p in problems] == ["source.text"]
    assert time.perf_counter() - start < FAST
    result, took = invoke(["validate", "/proc/kmsg"])
    assert result.exit_code == 1 and took < FAST


def test_a_read_that_never_returns_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source text on a stalled mount: its read blocks for good. The load gives up after
    IMMUNOFACTS_READ_TIMEOUT seconds with the field's line, and so does `validate`."""
    import threading

    text = tmp_path / "stalled.txt"
    text.write_text("The words of the article.\n", encoding="utf-8")
    stalled = os.stat(text).st_ino
    release = threading.Event()
    real_read = os.read

    def read(fd: int, n: int) -> bytes:
        if os.fstat(fd).st_ino == stalled:
            release.wait(60)  # a read that does not come back
        return real_read(fd, n)

    path = stage(tmp_path, "s.yaml", MINIMAL + "  text: stalled.txt\n")
    monkeypatch.setattr(os, "read", read)
    monkeypatch.setenv("IMMUNOFACTS_READ_TIMEOUT", "0.5")
    try:
        start = time.perf_counter()
        problems = load_problems(path)
        took = time.perf_counter() - start
        result, _ = invoke(["validate", str(path)])
    finally:
        release.set()
    assert [(p.line, p.where) for p in problems] == [(6, "source.text")]
    assert "reading timed out after 0.5 s" in problems[0].what
    assert 0.5 <= took < 5
    assert result.exit_code == 1
    assert f"{path}:6: source.text: " in result.stderr
    assert "timed out after 0.5 s" in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon", "1e400"])
def test_a_read_timeout_that_is_not_a_number_of_seconds_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    path = stage(tmp_path, "d.yaml", MINIMAL + "claims: []\n")
    monkeypatch.setenv("IMMUNOFACTS_READ_TIMEOUT", value)
    problems = load_problems(path)
    assert [p.file for p in problems] == ["IMMUNOFACTS_READ_TIMEOUT"]
    assert "expected a number of seconds" in problems[0].what


def test_a_slow_read_that_keeps_going_is_not_cut_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timeout is for a read that stalls, not for a large file read slowly."""
    text = tmp_path / "slow.txt"
    text.write_text("word " * 1_000_000, encoding="utf-8")
    slow = os.stat(text).st_ino
    real_read = os.read

    def read(fd: int, n: int) -> bytes:  # a slow mount: 1 MiB at a time, 0.3 s each
        if os.fstat(fd).st_ino == slow:
            time.sleep(0.3)
            return real_read(fd, min(n, 1 << 20))
        return real_read(fd, n)

    path = stage(tmp_path, "s.yaml", MINIMAL + "  text: slow.txt\nclaims: []\n")
    monkeypatch.setattr(os, "read", read)
    # Each read takes 0.3 s, well within the timeout even on a loaded machine; all of
    # them together (six reads, 1.8 s) take longer than it.
    monkeypatch.setenv("IMMUNOFACTS_READ_TIMEOUT", "1.0")
    started = time.monotonic()
    ds = load_dataset(path)
    assert ds.source_text is not None and len(ds.source_text) == 5_000_000
    assert time.monotonic() - started > 1.0


# --- the door: source.text stays beside the dataset ---------------------------------------


@pytest.mark.parametrize("target", ["../outside/secret.env", "SECRET_ABS", "link.txt"])
def test_source_text_outside_the_dataset_directory_is_not_read(tmp_path: Path, target: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.env"
    secret.write_text("API_TOKEN=s3cr3t-value\n")
    home = tmp_path / "data"
    home.mkdir()
    (home / "link.txt").symlink_to(secret)
    target = str(secret) if target == "SECRET_ABS" else target
    text = TEMPLATE.replace("  text: article.txt\n", f"  text: {target}\n").replace(
        '"The era of immune cell therapy has arrived!"', '"API_TOKEN=s3cr3t-WRONG"'
    )
    path = home / "d.yaml"
    path.write_text(text)
    problems = load_problems(path)
    assert [p.where for p in problems] == ["source.text"]
    assert "IMMUNOFACTS_TEXT_DIRS" in problems[0].what
    for args in (["validate", str(path)], ["source", "--data", str(path)]):
        result, _ = invoke(args)
        assert result.exit_code == 1
        assert "s3cr3t" not in result.stdout + result.stderr.replace("s3cr3t-WRONG", "")
    # Allowed by the user: read, but a mismatch tells nothing of what the file holds.
    result, _ = invoke(["validate", str(path)], env={"IMMUNOFACTS_TEXT_DIRS": str(outside)})
    assert result.exit_code == 1
    assert "quote is not verbatim in the source text" in result.stderr
    assert "API_TOKEN=s3cr3t-'" not in result.stderr and "matches up to" not in result.stderr


def test_source_text_beside_the_dataset_still_explains_mismatches(tmp_path: Path) -> None:
    path = stage(tmp_path, "q.yaml", (CORPUS / "quote-not-in-source.yaml").read_bytes())
    problems = load_problems(path)
    assert "matches up to" in problems[0].what or "first character" in problems[0].what


# --- bounded work ----------------------------------------------------------------------


#: Forks the command and reports its peak RSS from wait4. A bare interpreter in between,
#: because on Linux a child's peak RSS starts from the resident size of the process that
#: forked it: spawned by this (large) test process, any command would read as large.
PEAK_LAUNCHER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    try:\n"
    "        os.execv(sys.argv[1], sys.argv[1:])\n"
    "    finally:\n"
    "        os._exit(127)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "sys.stderr.write('PEAK %d\\n' % usage.ru_maxrss)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def peak_run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, float, float]:
    """Run the command in a child; (exit code, stderr, seconds, peak RSS in MiB)."""
    import subprocess
    import sys

    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            PEAK_LAUNCHER,
            sys.executable,
            "-m",
            "immunofacts",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    took = time.perf_counter() - start
    lines = proc.stderr.splitlines()
    peak = int(lines[-1].split()[1]) / 1024
    return proc.returncode, "\n".join(lines[:-1]), took, peak


def test_peak_run_reads_the_commands_own_peak() -> None:
    """Even from a process holding 200 MiB, a small command reads its own few tens of MiB."""
    ballast = bytearray(b"x") * (200 << 20)
    try:
        code, _, _, peak = peak_run(["--version"])
    finally:
        del ballast
    assert code == 0
    assert peak < 100


def test_at_most_100_problems_are_reported(tmp_path: Path) -> None:
    claims = "".join(
        f"  - {{id: c{i}, kind: guess, statement: s, quote: q, evidence: none}}\n"
        for i in range(300)
    )
    path = stage(tmp_path, "many.yaml", MINIMAL + "claims:\n" + claims)
    result, took = invoke(["validate", str(path)])
    lines = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(lines) == 101
    assert lines[-1] == f"immunofacts: error: {path}: and 500 more problems"


@pytest.mark.slow
def test_300000_unknown_keys_are_bounded(tmp_path: Path) -> None:
    keys = "".join(f"  k{i}: v\n" for i in range(300_000))
    path = stage(tmp_path, "keys.yaml", MINIMAL + keys)
    code, err, took, peak = peak_run(["validate", str(path)])
    assert code == 1
    assert len(err.splitlines()) == 101
    assert took < 60 and peak < 500, (took, peak)


@pytest.mark.parametrize("section", ["claims", "cases", "entities"])
def test_many_empty_records_read_each_record_types_fields_once(
    tmp_path: Path, section: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # msgspec.structs.fields reads a type's annotations afresh at every call (most of a
    # millisecond): asked again for each bad record, 20,000 empty cases took 7 s.
    from immunofacts import loading

    loading._fields_of.cache_clear()
    asked: list[type] = []
    fields = msgspec.structs.fields

    def counted(cls: Any) -> Any:
        asked.append(cls)
        return fields(cls)

    monkeypatch.setattr(msgspec.structs, "fields", counted)
    path = stage(
        tmp_path, "empty.yaml", MINIMAL + f"{section}: [" + ",".join(["{}"] * 2000) + "]\n"
    )
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 101 and lines[-1].endswith("more problems"), lines[-1]
    assert f"{section}[1999]" not in result.stderr  # past the first hundred: counted only
    assert asked and len(asked) == len(set(asked)), asked  # each type once


@pytest.mark.slow
def test_a_2mb_list_in_a_string_field_is_bounded(tmp_path: Path) -> None:
    items = ",".join(["1"] * 1_000_000)
    path = stage(tmp_path, "list.yaml", MINIMAL + f"  note: [{items}]\n")
    code, err, took, peak = peak_run(["validate", str(path)])
    assert code == 1
    assert len(err.splitlines()) == 1 and "source.note" in err
    assert took < 60 and peak < 500, (took, peak)


def near_miss_dataset(tmp_path: Path, text: str, n: int = 2000) -> Path:
    """A dataset of `n` quotes from `text`, each one character off at the end."""
    import json
    import random

    (tmp_path / "big.txt").write_text(text, encoding="utf-8")
    rnd = random.Random(7)
    claims = []
    for i in range(n):
        start = rnd.randrange(0, 20_000)
        quote = text[start : start + rnd.randrange(20, 280)] + "\u2060!"
        claims.append(
            f"  - {{id: c{i}, kind: opinion, statement: s, quote: {json.dumps(quote)}, "
            "evidence: opinion}\n"
        )
    return stage(tmp_path, "q.yaml", MINIMAL + "  text: big.txt\nclaims:\n" + "".join(claims))


def prose(size: int) -> str:
    """Text of the article's words in a random order: a long text that does not repeat."""
    import random

    words = ARTICLE.read_text(encoding="utf-8").split()
    rnd = random.Random(3)
    return " ".join(rnd.choices(words, k=size // 6))[:size]


@pytest.mark.slow
def test_quote_checking_is_linear_in_the_text(tmp_path: Path) -> None:
    """2,000 near-miss quotes against a 20 MB text: seconds, not minutes."""
    path = near_miss_dataset(tmp_path, prose(20_000_000))
    code, err, took, peak = peak_run(["validate", str(path)])
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 101 and "quote is not verbatim" in lines[0]
    assert "matches up to" in lines[0]
    assert took < 60 and peak < 500, (took, peak)


@pytest.mark.slow
def test_quote_checking_of_a_repetitive_text_is_bounded(tmp_path: Path) -> None:
    """A text of one paragraph repeated defeats any index: the work stops at a budget."""
    article = ARTICLE.read_text(encoding="utf-8")
    path = near_miss_dataset(tmp_path, (article * 2400)[:20_000_000])
    code, err, took, peak = peak_run(["validate", str(path)])
    assert code == 1
    assert took < 60 and peak < 500, (took, peak)
    assert len(err.splitlines()) <= 101


def test_quote_index_finds_every_quote() -> None:
    from immunofacts.loading import _TextIndex

    article = ARTICLE.read_text(encoding="utf-8")
    text = (article * 300)[:2_500_000]
    index = _TextIndex(text)
    assert index.index  # the text is long enough to be indexed
    for start in range(0, len(article) - 200, 97):
        for length in (1, 20, 35, 60, 200):
            quote = text[start : start + length]
            assert index.contains(quote) is True
            assert index.contains(quote + "\u2060") is (quote + "\u2060" in text)


def test_repeated_search_terms_count_once() -> None:
    result, took = invoke(["search", *(["the"] * 30_000), "--format", "json"])
    assert took < 60
    assert result.exit_code in (0, 1)
    assert len(result.stdout) < 1_000_000


def test_too_many_search_terms_is_a_usage_error() -> None:
    result, _ = invoke(["search", *(f"w{i}" for i in range(100))])
    assert result.exit_code == 2
    assert "at most 32" in result.stderr


@pytest.mark.parametrize("arg", ["\udcff", "a\x1b]0;x\x07", "b\u202e"])
def test_text_arguments_that_are_not_text_are_usage_errors(arg: str) -> None:
    review = ["export", "-f", "claimreview", "--author", "A"]
    for args in (
        [*review, "--url-template", "https://e.org/{id}" + arg],
        [*review, "--url-template", "https://e.org/{id}", "--author-url", arg],
        ["export", "-f", "claimreview", "--url-template", "https://e.org/{id}", "--author", arg],
        ["search", arg],
    ):
        result, _ = invoke(args)
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stderr.startswith("immunofacts: error: ")
        assert "\x1b" not in result.stderr and "\u202e" not in result.stderr


def test_the_core_loads_without_the_fast_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """yaml-rs is an optional extra: without it, the careful parser reads everything."""
    import sys

    from immunofacts.loading import _fast_parse, fast_parser_available

    with_fast = load_dataset(DATA)
    monkeypatch.setitem(sys.modules, "yaml_rs", None)  # import yaml_rs now fails
    assert not fast_parser_available()
    assert _fast_parse(TEMPLATE)[0] is None
    assert load_dataset(DATA) == with_fast
