"""Plain data that every output format renders, and the terminal-safety filter."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from ..jsontext import UNSAFE_CHARACTERS as UNSAFE_CHARACTERS  # the one list, kept below


class Format(enum.StrEnum):
    """Output formats. `table` is Rich on a terminal; `plain` is for pipes."""

    TABLE = "table"
    PLAIN = "plain"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


class ExportFormat(enum.StrEnum):
    """What `export` can write."""

    JSON = "json"
    YAML = "yaml"
    CSV = "csv"
    SQLITE = "sqlite"
    CLAIMREVIEW = "claimreview"
    CSL_JSON = "csl-json"
    BIBTEX = "bibtex"
    RIS = "ris"


class Env(msgspec.Struct, frozen=True):
    """What the output goes to: a terminal or not, its width, and colour."""

    is_terminal: bool = False
    width: int = 100
    color: bool = False
    ascii_only: bool = False
    #: Rows of the real terminal the output goes to (0 when it is not one: a pipe, a
    #: file, or a terminal layout forced by FORCE_COLOR). Output taller is paged.
    height: int = 0
    #: Whether plain (tab-separated) tables start with a line of column names.
    header: bool = True
    #: CSV cells exactly as they are (`--raw`): no guard against spreadsheet formulas.
    csv_raw: bool = False

    @classmethod
    def detect(cls, stream: Any) -> Env:
        """Read the environment: isatty, FORCE_COLOR, NO_COLOR, TERM=dumb, COLUMNS."""
        try:
            isatty = bool(stream.isatty())
        except (AttributeError, ValueError):
            isatty = False
        force = bool(os.environ.get("FORCE_COLOR"))
        term = os.environ.get("TERM", "")
        dumb = term.lower() in ("dumb", "unknown")
        width = 0
        cols = os.environ.get("COLUMNS", "")
        if cols.isdigit():
            width = int(cols)
        if width <= 0 and isatty:
            try:
                width = os.get_terminal_size(stream.fileno()).columns
            except (OSError, ValueError, AttributeError):
                width = 0
        width = width if width > 0 else 100
        color = (isatty or force) and not os.environ.get("NO_COLOR") and (force or not dumb)
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("_", "-")
        return cls(
            is_terminal=isatty or force,
            width=max(20, min(width, 1000)),
            color=color,
            ascii_only=dumb or not encoding.startswith("utf"),
            height=_rows(stream) if isatty else 0,
        )


def _rows(stream: Any) -> int:
    """The height of the terminal `stream` writes to: LINES, else the terminal's own."""
    lines = os.environ.get("LINES", "")
    if lines.isdigit() and int(lines) > 0:
        return int(lines)
    try:
        return max(0, os.get_terminal_size(stream.fileno()).lines)
    except (OSError, ValueError, AttributeError):
        return 0


class Marked(msgspec.Struct, frozen=True):
    """Text with styled spans: search matches, quoted passages, labels."""

    text: str
    spans: tuple[tuple[int, int, str], ...] = ()

    def __str__(self) -> str:
        return self.text


Cell = str | Marked
Row = tuple[Cell, ...]


class Table(msgspec.Struct, frozen=True):
    """Rows under named columns. `wide` columns may wrap; the rest stay on one line.

    `rows` may be a generator, read once: a writer that needs the rows twice, or
    their number, takes `materialised()`. A title that counts the rows is given
    as `counted`, a function of their number, and is set by `materialised()`.
    """

    title: str
    columns: tuple[str, ...]
    rows: Iterable[Row]
    wide: frozenset[str] = frozenset()
    counted: Callable[[int], str] | None = None

    def materialised(self) -> Table:
        """The same table with its rows in a tuple and its title set."""
        rows = tuple(self.rows)
        title = self.counted(len(rows)) if self.counted else self.title
        return Table(title, self.columns, rows, self.wide)


class Field(msgspec.Struct, frozen=True):
    """A labelled value in a Doc."""

    label: str
    value: Cell


class Section(msgspec.Struct, frozen=True):
    """Part of a Doc: a heading with fields, a quoted passage, text, or a table."""

    title: str | None = None
    fields: tuple[Field, ...] = ()
    quote: str | None = None
    text: Cell | None = None
    table: Table | None = None
    style: str = ""
    #: The fields are counts, which a terminal draws as a bar chart.
    chart: bool = False


class Doc(msgspec.Struct, frozen=True):
    """A detail view: one record, a set of figures, the source text.

    A `dashboard` is a set of separate panels, which a wide terminal puts side by side.
    """

    title: str
    sections: tuple[Section, ...]
    subtitle: str | None = None
    style: str = ""
    dashboard: bool = False


_UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")


def _visible(m: re.Match[str]) -> str:
    ch = m.group()
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def has_unsafe(text: str) -> bool:
    """Whether `clean` would change the text (tabs and newlines aside)."""
    return _UNSAFE.search(text) is not None


#: A cell a spreadsheet would read as a formula starts with one of these (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def formula_guard(value: str) -> str:
    """A CSV cell a spreadsheet will not run: one that starts like a formula gets a
    leading apostrophe, as OWASP advises (a plain number such as -5 is left alone)."""
    if value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def clean(text: str, *, oneline: bool = False) -> str:
    """Text safe for a terminal: control characters shown as escapes, never sent.

    With `oneline`, tabs and newlines become spaces, so a value fits one TSV field.
    Otherwise a carriage return that ends a line (CRLF, as Windows writes a text) is
    part of the line break, and goes as it does; any other is shown as an escape.
    """
    if text.isprintable():  # no control, format or separator character: nothing to do
        return text
    if not oneline and "\r\n" in text:
        text = text.replace("\r\n", "\n")
    out = _UNSAFE.sub(_visible, text)
    if oneline:
        out = out.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return out


def clean_marked(cell: Cell, *, oneline: bool = False) -> Marked:
    """`clean` for a cell, keeping its spans on the same characters."""
    if isinstance(cell, str):
        return Marked(clean(cell, oneline=oneline))
    if not _UNSAFE.search(cell.text):
        text = cell.text
        if oneline:
            text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
        return Marked(text, cell.spans)
    # Rebuild span offsets character by character after escaping.
    pieces: list[str] = []
    offsets = [0]
    text = cell.text
    for at, ch in enumerate(text):
        ends_line = ch == "\r" and not oneline and text[at + 1 : at + 2] == "\n"
        piece = "" if ends_line else clean(ch, oneline=oneline)  # as `clean` has it
        pieces.append(piece)
        offsets.append(offsets[-1] + len(piece))
    spans = tuple((offsets[a], offsets[b], s) for a, b, s in cell.spans)
    return Marked("".join(pieces), spans)
