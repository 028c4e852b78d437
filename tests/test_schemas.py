"""JSON Schemas come from the structs, the files in docs/ are current, and data meets them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import VIEW_COMMANDS

from immunofacts.render.formats import to_json
from immunofacts.schemas import dataset_schema, output_name, output_schema, schema_files, slug

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "schema"
DATA = ROOT / "data" / "immunofacts.yaml"


def _validator(schema: dict[str, Any]) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_schema_files_are_current() -> None:
    files = schema_files()
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.json")}
    assert on_disk == set(files), "run `python -m immunofacts.schemas docs/schema`"
    for name, schema in files.items():
        got = (DOCS / name).read_text(encoding="utf-8")
        assert got == to_json(schema), f"{name} is stale: run `python -m immunofacts.schemas`"


@pytest.mark.parametrize("args", VIEW_COMMANDS, ids=" ".join)
def test_every_json_output_meets_its_schema(args: list[str]) -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    name = output_name(
        " ".join(args[:1] + (["NAME"] if args[0] == "entities" and len(args) > 1 else []))
    )
    if args[0] == "source" and "--claim" in args:
        name = "source --claim"
    schema = json.loads(CliRunner().invoke(app, ["schema", "output", slug(name)]).stdout)
    assert schema == json.loads(to_json(output_schema(name)))
    errors = list(_validator(schema).iter_errors(json.loads(result.stdout)))
    assert errors == [], errors[0].message if errors else ""


def test_export_json_meets_the_dataset_schema() -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    result = CliRunner().invoke(app, ["export", "--format", "json"])
    assert result.exit_code == 0
    printed = CliRunner().invoke(app, ["schema", "dataset"]).stdout
    assert json.loads(printed) == json.loads(to_json(dataset_schema()))
    assert list(_validator(dataset_schema()).iter_errors(json.loads(result.stdout))) == []


def test_an_output_schema_refuses_what_the_command_never_writes() -> None:
    schema = output_schema("list-claims")
    validator = _validator(schema)
    assert not list(validator.iter_errors([]))
    assert list(validator.iter_errors([{"type": "claim", "id": "claim-x"}]))  # missing fields
    assert list(validator.iter_errors({"not": "a list"}))


def test_schema_command_usage() -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    for args in (["schema", "output"], ["schema", "output", "nope"], ["schema", "gossip"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, args
        assert "list-claims" in result.stderr or "expected" in result.stderr


def test_shipped_dataset_meets_its_schema() -> None:
    from immunofacts.loading import load_dataset
    from immunofacts.render.export import dataset_builtins

    data = json.loads(json.dumps(dataset_builtins(load_dataset(DATA))))
    validator = _validator(dataset_schema())
    errors = sorted(validator.iter_errors(data), key=str)
    assert errors == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["claims"][0].update(kind="gossip"),
        lambda d: d["claims"][0].update(colour="red"),
        lambda d: d["claims"][0].pop("quote"),
        lambda d: d["source"].update(url="ftp://x"),
        lambda d: d.update(schema=1),
    ],
)
def test_schema_refuses_what_loading_refuses(mutate: Any) -> None:
    from immunofacts.errors import DataError
    from immunofacts.loading import load_dataset, parse_dataset
    from immunofacts.render.export import dataset_builtins

    data = json.loads(json.dumps(dataset_builtins(load_dataset(DATA))))
    mutate(data)
    validator = _validator(dataset_schema())
    assert list(validator.iter_errors(data))
    with pytest.raises(DataError):
        parse_dataset(json.dumps(data), "x.json")


def test_labels_carry_their_definitions() -> None:
    from immunofacts.model import DEFINITIONS

    rating = dataset_schema()["$defs"]["Rating"]
    assert {o["const"]: o["description"] for o in rating["oneOf"]} == DEFINITIONS["rating"]


@pytest.mark.parametrize(
    "text",
    [
        "schema: 2\nsource:\n  id: src-x\n  title: T\n  publisher: P\n  colour: red\n",
        "schema: 2\nsource: {id: src-x, title: T, publisher: P}\nclaims:\n  - id: BAD ID\n",
        None,  # no such file
    ],
)
def test_validate_json_lists_problems_of_a_broken_file(text: str | None, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    path = tmp_path / "bad.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["problems"]
    for problem in report["problems"]:
        assert problem["file"] == str(path)
        assert (
            f"{problem['where']}: {problem['what']}" in result.stderr
            or problem["what"] in result.stderr
        )
    assert list(_validator(output_schema("validate")).iter_errors(report)) == []
    if text is not None:
        assert all(isinstance(p["line"], int) for p in report["problems"])
    good = CliRunner().invoke(app, ["validate", "--format", "json"])
    assert good.exit_code == 0 and json.loads(good.stdout)["problems"] == []


def test_show_stats_csv_is_numbers_matching_the_json() -> None:
    import csv
    import io

    from typer.testing import CliRunner

    from immunofacts.cli import app

    data = json.loads(CliRunner().invoke(app, ["show-stats", "-f", "json"]).stdout)
    rows = list(
        csv.DictReader(io.StringIO(CliRunner().invoke(app, ["show-stats", "-f", "csv"]).stdout))
    )
    counts = {(r["group"], r["label"]): float(r["value"]) for r in rows if r["group"] != "figure"}
    want = {
        (group, label): n
        for group, value in data.items()
        if isinstance(value, dict)
        for label, n in value.items()
    }
    assert counts == want
    figures = [r for r in rows if r["group"] == "figure"]
    assert [float(r["value"]) for r in figures] == [f["value"] for f in data["figures"]]
    assert [r["qualifier"] for r in figures] == [f["qualifier"] for f in data["figures"]]
