"""Rendering: a command's result as text, by one path for every format.

Architecture. A command asks `query` for its answer and wraps it in ONE result
object from `results` (`ClaimList`, `CaseDetail`, ...). `render(result, fmt, env)`
is the only thing that turns a result into text, and the CLI never looks at the
format:

* `--format json` encodes the result's JSON, which is made of the typed structs
  in `shapes` (the one place each command's JSON shape is defined, so a JSON
  Schema comes from its type: `results.json_type`);
* every other format writes the result's *view*, plain data from `views`: a
  `Table` (rows under columns) or a `Doc` (a titled record of sections);
  `formats` writes plain text, CSV and Markdown, and `terminal` (the only module
  that imports Rich) draws tables and panels.

`render` yields text in pieces. A list result walks its records once, so JSON,
CSV, plain text and Markdown are written record by record; only a terminal
table, which must measure its columns, is made whole first. `Env` says what the
output goes to (a terminal or not, its width, colour); the CLI reads it once.

To add a command: write its query function; add its JSON shape to `shapes`
and its view to `views`; add a result to `results` joining the two (most are a
line: a `Records` list, a `Detail` record, or a `Made` result whose JSON and
view come from its fields; else a `One` or `Many` with its own `data`/`items`
and `view`), and name it in `results.OUTPUTS`; in `cli.py`, build the result
and call `show(ctx, result, format)`. Its JSON Schema and docs follow.
"""

from __future__ import annotations

from .base import Cell, Doc, Env, Field, Format, Marked, Section, Table, clean
from .formats import render

__all__ = [
    "Cell",
    "Doc",
    "Env",
    "Field",
    "Format",
    "Marked",
    "Section",
    "Table",
    "clean",
    "render",
]
