"""Rendering: views as plain data, then text in the format asked for.

`views` turns query results into Tables and Docs (no Rich); `formats` writes
them as plain text, CSV, Markdown or JSON; `terminal` is the only module that
imports Rich. The CLI calls `render(...)` and writes the string it returns.
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
