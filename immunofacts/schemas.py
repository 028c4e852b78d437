"""JSON Schema for the dataset file and for every command's JSON output.

Generated from the msgspec structs that define them, so the schema cannot
drift from the code. Labels carry their one-line definitions. `docs/schema/`
holds the same schemas as files; a test fails when they are stale.
"""

from __future__ import annotations

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


def schema_of(tp: Any, *, title: str, description: str) -> dict[str, Any]:
    """A JSON Schema for a type, with labels defined and a title."""
    body = msgspec.json.schema(tp)
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
