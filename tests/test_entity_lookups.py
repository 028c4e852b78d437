"""An entity's name or alias may not be another entity's id.

Entities are looked up by id, name or alias alike, in any case, the first that matches
answering: an alias `ent-nhs` on an entity listed before ent-nhs answered for ent-nhs in
`entities ent-nhs`, `list-claims --entity ent-nhs` and `export --entity ent-nhs`, and
`validate` said ok. It is refused, on both parsers, with its line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from immunofacts import loading
from immunofacts.cli import app
from immunofacts.errors import DataError
from immunofacts.model import Entity, EntityType
from immunofacts.query import shared_names

ROOT = Path(__file__).resolve().parent.parent
DATA = (ROOT / "data" / "immunofacts.yaml").read_text(encoding="utf-8")
FIRST = "  - id: ent-wang-fusheng\n    name: Wang Fusheng\n    type: person\n    aliases:\n"
NHS = "  - id: ent-nhs\n    name: National Health Service (NHS)\n    type: organisation\n    aliases:\n"
assert FIRST in DATA and NHS in DATA


def _beside_the_article(tmp_path: Path, text: str) -> Path:
    """The dataset `text` written to a file with the article beside it."""
    shutil.copy(ROOT / "data" / "article.txt", tmp_path)
    path = tmp_path / "immunofacts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return text.count("\n", 0, text.index(needle)) + 1


#: (old, new, where, the text of the line it is on)
CHANGES = {
    "alias": (FIRST, FIRST + "      - ent-nhs\n", "entities[0].aliases[0]", "- ent-nhs\n"),
    "alias in another case": (
        FIRST,
        FIRST + "      - Wang\n      - ENT-NHS\n",
        "entities[0].aliases[1]",
        "- ENT-NHS",
    ),
    "alias of a later entity": (
        NHS,
        NHS + "      - ent-wang-fusheng\n",
        "entities[12].aliases[0]",
        "- ent-wang-fusheng\n",
    ),
    "name": (
        FIRST,
        FIRST.replace("name: Wang Fusheng", "name: Ent-NHS"),
        "entities[0].name",
        "name: Ent-NHS",
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "careful"])
def test_a_name_or_alias_that_is_another_entitys_id_is_refused(change: str, fast: bool) -> None:
    old, new, where, on = CHANGES[change]
    text = DATA.replace(old, new, 1)
    with pytest.raises(DataError) as e:
        loading.parse_dataset(text, "d.yaml", ROOT / "data", fast=fast)
    (problem,) = e.value.problems
    assert problem.where == where, str(problem)
    assert "is the id of entities[" in problem.what
    assert "ambiguous" in problem.what
    assert problem.line == _line_of(text, on), str(problem)


def test_its_own_id_and_other_entities_names_stay_allowed() -> None:
    """An alias that is its own entity's id or name, or another's name, takes nothing over
    (a lookup by that id finds the entity that has it)."""
    text = DATA.replace(FIRST, FIRST + "      - ent-wang-fusheng\n      - NHS\n      - Wang\n", 1)
    ds = loading.parse_dataset(text, "d.yaml", ROOT / "data")
    assert ds.entities[0].aliases[:3] == ("ent-wang-fusheng", "NHS", "Wang")


@pytest.mark.parametrize(
    "args",
    [["entities", "ent-nhs"], ["list-claims", "--entity", "ent-nhs"], ["validate"]],
)
def test_the_cli_says_where_and_answers_nothing(tmp_path: Path, args: list[str]) -> None:
    text = DATA.replace(FIRST, FIRST + "      - ent-nhs\n", 1)
    path = _beside_the_article(tmp_path, text)
    got = CliRunner().invoke(app, [*args, "--data", str(path)])
    assert got.exit_code == 1, got.output
    assert "\tok\t" not in got.stdout and "NHS" not in got.stdout
    line = _line_of(text, "- ent-nhs\n")
    assert f"{path}:{line}: entities[0].aliases[0]: 'ent-nhs' is the id of entities[" in got.stderr


# --- a name or alias two entities share: valid, with a warning ----------------------------


def _entity(i: int, name: str, *aliases: str) -> Entity:
    return Entity(id=f"ent-{i}", type=EntityType.ORGANISATION, name=name, aliases=aliases)


def test_shared_names_lists_each_name_after_its_first_in_any_case() -> None:
    ds = loading.parse_dataset(DATA, "d.yaml", ROOT / "data")
    entities = (
        _entity(0, "Alpha", "AB", "alpha"),  # its own name again: harmless
        _entity(1, "Beta", "ab"),
        _entity(2, "ALPHA", "Gamma"),
    )
    shared = shared_names(msgspec.structs.replace(ds, entities=entities))
    assert shared == [
        (
            ("entities", 1, "aliases", 0),
            "ab",
            "'ab' also names entities[0] (ent-0): a lookup by it names neither; give an id",
        ),
        (
            ("entities", 2, "name"),
            "ALPHA",
            "'ALPHA' also names entities[0] (ent-0): a lookup by it names neither; give an id",
        ),
    ]
    assert shared_names(ds) == []  # the shipped dataset's names are its own


def test_validate_warns_of_a_shared_alias_and_says_ok(tmp_path: Path) -> None:
    text = DATA.replace(FIRST, FIRST + "      - nhs\n", 1)  # ent-nhs has the alias NHS
    path = _beside_the_article(tmp_path, text)
    runner = CliRunner()
    got = runner.invoke(app, ["validate", str(path)])
    assert got.exit_code == 0, got.output
    assert "\tok\t" in got.stdout
    # the later of the two is the one reported, with the first that has it, on its line
    where = f"{path}:{_line_of(text, '      - NHS')}: entities[12].aliases[0]"
    assert got.stderr.splitlines() == [
        f"immunofacts: warning: {where}: 'NHS' also names entities[0] (ent-wang-fusheng):"
        " a lookup by it names neither; give an id"
    ]
    data = json.loads(runner.invoke(app, ["validate", str(path), "--format", "json"]).stdout)
    assert data["ok"] is True and data["problems"] == []
    assert [(w["where"], w["line"]) for w in data["warnings"]] == [
        ("entities[12].aliases[0]", _line_of(text, "      - NHS"))
    ]
    # what the warning says: the lookup names neither
    looked = runner.invoke(app, ["entities", "NHS", "--data", str(path)])
    assert looked.exit_code == 1 and "ent-wang-fusheng, ent-nhs" in looked.stderr
    assert json.loads(runner.invoke(app, ["validate", "--format", "json"]).stdout)["warnings"] == []


def test_validate_writes_the_first_warnings_and_counts_the_rest(tmp_path: Path) -> None:
    many = "".join(f"      - Shared {k}\n" for k in range(30))
    path = _beside_the_article(
        tmp_path, DATA.replace(FIRST, FIRST + many, 1).replace(NHS, NHS + many, 1)
    )
    runner = CliRunner()
    got = runner.invoke(app, ["validate", str(path)])
    assert got.exit_code == 0, got.output
    lines = got.stderr.splitlines()
    assert len(lines) == 21 and all(line.startswith("immunofacts: warning: ") for line in lines)
    assert lines[-1] == f"immunofacts: warning: {path}: and 10 more warnings"
    data = json.loads(runner.invoke(app, ["validate", str(path), "--format", "json"]).stdout)
    assert len(data["warnings"]) == 30


def test_a_warning_of_a_file_too_large_to_read_twice_has_no_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines are found by parsing the file again, with the careful parser: not for a
    file of a size that would take long (the warnings are said without them), nor where
    the file holds other text now than when it was loaded (a line would point wrong)."""
    text = DATA.replace(FIRST, FIRST + "      - nhs\n", 1)
    path = _beside_the_article(tmp_path, text)
    where = ("entities", 12, "aliases", 0)
    assert loading.lines_of(path, [(where, "NHS")]) == [_line_of(text, "      - NHS")]
    # a file changed since it was loaded: a path that holds other text now has no line
    assert loading.lines_of(path, [(where, "NHS (then)"), (("nowhere", 3), "x")]) == [None, None]
    monkeypatch.setattr(loading, "LINES_BELOW", len(text) // 2)
    assert loading.lines_of(path, [(where, "NHS")]) == [None]
    got = CliRunner().invoke(app, ["validate", str(path)])
    assert got.exit_code == 0
    assert got.stderr.startswith(f"immunofacts: warning: {path}: entities[12].aliases[0]: ")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_warning_stderr_cannot_take_leaves_the_answer_whole(tmp_path: Path) -> None:
    """A full stderr loses the warning, not the table on stdout, nor the exit status."""
    import os
    import subprocess
    import sys

    path = _beside_the_article(tmp_path, DATA.replace(FIRST, FIRST + "      - nhs\n", 1))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "immunofacts", "validate", str(path)],
            stdout=subprocess.PIPE,
            stderr=full,
            env=env,
            check=False,
        )
    assert done.returncode == 0
    assert b"\tok\t37\t" in done.stdout
