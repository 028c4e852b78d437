"""JSON Schema for the dataset file and for every command's JSON output.

Generated from the msgspec structs that define them, so the schema cannot
drift from the code. Labels carry their one-line definitions. `docs/schema/`
holds the same schemas as files; a test fails when they are stale.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .model import DEFINITIONS, SCHEMA_VERSION, VOCABULARIES, Dataset

DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: The vocabulary of each label enum, by the enum's name as msgspec titles it.
_VOCABULARY_OF = {enum.__name__: name for name, enum in VOCABULARIES.items()}


def _define_labels(defs: dict[str, Any]) -> None:
    """Give each label of each vocabulary enum its definition."""
    for name, schema in defs.items():
        vocab = _VOCABULARY_OF.get(name)
        if vocab is None or "enum" not in schema:
            continue
        definitions = DEFINITIONS[vocab]
        schema["oneOf"] = [
            {"const": value, "description": definitions[value]} for value in schema.pop("enum")
        ]


def _forbid_unknown(defs: dict[str, Any]) -> None:
    """Records refuse unknown fields: say so in the schema."""
    for schema in defs.values():
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)


def _null_last(node: Any) -> None:
    """Put `null` last in every anyOf, as msgspec 0.22 does and older versions do not."""
    if isinstance(node, dict):
        if "anyOf" in node:
            node["anyOf"].sort(key=lambda alt: alt == {"type": "null"})
        for value in node.values():
            _null_last(value)
    elif isinstance(node, list):
        for value in node:
            _null_last(value)


def schema_of(tp: Any, *, title: str, description: str) -> dict[str, Any]:
    """A JSON Schema for a type, with labels defined and a title."""
    body = msgspec.json.schema(tp)
    _null_last(body)
    defs = body.get("$defs", {})
    _define_labels(defs)
    return {"$schema": DRAFT, "title": title, "description": description, **body}


def dataset_schema() -> dict[str, Any]:
    """The schema of a dataset file (YAML or JSON), as loading checks it."""
    out = schema_of(
        Dataset,
        title="immunofacts dataset",
        description=(
            "A dataset file: a source, the entities it names, its claims and cases, each with "
            "the source's verbatim words and a review. Loading also checks what a schema cannot: "
            "that ids are unique and refer to records that exist, that quotes are verbatim in "
            "the source text, and that dates are real calendar dates."
        ),
    )
    defs = out["$defs"]
    _forbid_unknown(defs)
    top = defs["Dataset"]
    top["properties"].pop("source_text", None)  # read from source.text, never written
    top["properties"]["schema"] = {"const": SCHEMA_VERSION}
    return out


def output_name(name: str) -> str:
    """A command's key in `OUTPUTS` from its name or its slug (`entities-name`)."""
    from .render.results import OUTPUTS

    for key in OUTPUTS:
        if name in (key, slug(key)):
            return key
    from .errors import UsageError
    from .query import suggest

    near = suggest(name, [slug(k) for k in OUTPUTS])
    raise UsageError(
        f"no command {name!r} writes JSON; "
        + (f"did you mean {' or '.join(near)}? " if near else "")
        + "choose from: "
        + ", ".join(slug(k) for k in OUTPUTS)
    )


def slug(name: str) -> str:
    """A command's output name as a file name: ``entities NAME`` -> ``entities-name``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def output_schema(name: str) -> dict[str, Any]:
    """The schema of a command's `--format json` output (`name` as in `OUTPUTS`)."""
    from .render.results import OUTPUTS, json_type

    result = OUTPUTS[output_name(name)]
    doc = " ".join((result.__doc__ or "").split())
    out = schema_of(
        json_type(result),
        title=f"immunofacts {output_name(name)} --format json",
        description=f"The JSON output of {doc}",
    )
    _forbid_unknown(out.get("$defs", {}))
    return out


def schema_files() -> dict[str, dict[str, Any]]:
    """Every schema by its file name under docs/schema/."""
    from .render.results import OUTPUTS

    files = {"dataset.json": dataset_schema()}
    files.update({f"output/{slug(k)}.json": output_schema(k) for k in OUTPUTS})
    return files


def main(argv: list[str]) -> int:
    """Write every schema file under a folder: ``python -m immunofacts.schemas docs/schema``."""
    from pathlib import Path

    from .render.formats import to_json

    folder = Path(argv[0] if argv else "docs/schema")
    for name, schema in schema_files().items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_json(schema), encoding="utf-8")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
