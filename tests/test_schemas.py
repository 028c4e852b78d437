"""JSON Schemas come from the structs, the files in docs/ are current, and data meets them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from immunofacts.render.formats import to_json
from immunofacts.schemas import dataset_schema

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "schema"
DATA = ROOT / "data" / "immunofacts.yaml"


def _validator(schema: dict[str, Any]) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_dataset_schema_file_is_current() -> None:
    want = to_json(dataset_schema())
    got = (DOCS / "dataset.json").read_text(encoding="utf-8")
    assert got == want, "stale: run `immunofacts schema dataset > docs/schema/dataset.json`"


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
