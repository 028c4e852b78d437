"""Arguments and file names that are not UTF-8: a terminal in another encoding, or a
file named in one. Python reads such bytes as lone surrogates (U+DC80 to U+DCFF); they
are never a record's id or a word of the data, and UTF-8 cannot carry them. Each
command answers with one line and an exit status, from the cache and from the file
alike, and JSON names such a file by its escapes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from conftest import ARTICLE, DATA
from typer.testing import CliRunner

from immunofacts.cli import app
from immunofacts.jsontext import to_json

#: A word typed on a Latin-1 terminal ("xé"), as Python reads the bytes.
LATIN1 = os.fsdecode(b"x\xe9")

#: Each command with one argument or option that takes text: LATIN1 goes in its place.
ARGUMENTS = [
    ["show-claim", LATIN1],
    ["show-case", LATIN1],
    ["entities", LATIN1],
    ["labels", LATIN1],
    ["source", "--claim", LATIN1],
    ["list-claims", "--entity", LATIN1],
    ["list-claims", "--kind", LATIN1],
    ["list-claims", "--fields", LATIN1],
    ["search", LATIN1],
    ["search", "lupus", "--entity", LATIN1],
    ["timeline", "--since", LATIN1],
    ["schema", LATIN1],
    ["schema", "output", LATIN1],
    ["export", "--format", "claimreview", "--author", LATIN1],
]


@pytest.mark.parametrize("warm", [False, True], ids=["file", "cache"])
@pytest.mark.parametrize("args", ARGUMENTS, ids=lambda a: " ".join(a[:2]).replace(LATIN1, "xé"))
def test_an_argument_that_is_not_utf8_gets_one_line(
    dataset: Path, args: list[str], warm: bool
) -> None:
    if warm:
        built = CliRunner().invoke(app, ["list-cases", "--data", str(dataset)])
        assert built.exit_code == 0, built.stderr
    result = CliRunner().invoke(app, [*args, "--data", str(dataset)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (1, 2), (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("immunofacts: error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_an_id_that_is_not_utf8_is_refused_as_such_from_the_cache(dataset: Path) -> None:
    assert CliRunner().invoke(app, ["list-cases", "--data", str(dataset)]).exit_code == 0
    result = CliRunner().invoke(app, ["show-claim", LATIN1, "--data", str(dataset)])
    assert result.exit_code == 2
    assert result.stderr == "immunofacts: error: ID: not plain text: 'x\\\\udce9'\n"


def test_json_writes_a_name_that_is_not_utf8_as_its_escapes() -> None:
    payload = {"file": LATIN1 + ".yaml", "n": [1, 2.5, None], "text": "é\u202e"}
    text = to_json(payload)
    assert '"file": "x\\udce9.yaml"' in text
    assert "\\u202e" in text  # what a terminal would not show as itself, escaped as ever
    assert json.loads(text) == payload
    assert text.isascii() is False and "é" in text  # other characters as they are
    # with a part encoded before (a record, as the cache keeps it) read back as JSON
    mixed = to_json({"file": LATIN1, "record": msgspec.Raw(b'{"id": "claim-a"}')})
    assert json.loads(mixed) == {"file": LATIN1, "record": {"id": "claim-a"}}
    # laid out as any other answer: the same text as with a name in UTF-8
    plain = {**payload, "file": "x.yaml"}
    assert text.replace("x\\udce9.yaml", "x.yaml") == to_json(plain)


@pytest.mark.skipif(sys.platform != "linux", reason="a file name in bytes that are not UTF-8")
@pytest.mark.parametrize("command", ["validate", "diff"])
def test_a_file_named_in_latin1_is_read_and_named_in_json(tmp_path: Path, command: str) -> None:
    named = os.fsencode(tmp_path) + b"/donn\xe9es.yaml"
    shutil.copy(os.fsencode(DATA), named)
    shutil.copy(ARTICLE, tmp_path / ARTICLE.name)
    argv = [os.fsencode(sys.executable), b"-m", b"immunofacts", command.encode()]
    argv += [named] if command == "validate" else [os.fsencode(DATA), named]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMMUNOFACTS")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    proc = subprocess.run(
        [*argv, b"--format", b"json"], capture_output=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    answer = json.loads(proc.stdout)
    name = answer["file"] if command == "validate" else answer["new"]
    assert os.fsencode(name) == named
    assert b"\\udce9" in proc.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="a file name in bytes that are not UTF-8")
def test_a_dataset_in_a_folder_named_in_latin1_is_cached_and_watched(tmp_path: Path) -> None:
    from immunofacts import cache

    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/donn\xe9es"))
    folder.mkdir()
    shutil.copy(DATA, folder / DATA.name)
    shutil.copy(ARTICLE, folder / ARTICLE.name)
    data = folder / DATA.name
    cache.validate_dataset(data)
    assert cache.open_cache(data) is not None  # kept, and found again
    text = folder / ARTICLE.name
    text.write_text(text.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    assert cache.open_cache(data) is None  # its source text changed: stale
