"""`render`: a result as text in the format asked for, written as it is made.

JSON encodes the result's shapes; plain text, CSV and Markdown write its view
a row at a time; `table` hands the view to Rich (`terminal`), which needs it
whole.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ..jsontext import Elements, Encoded, Spread, plain
from ..jsontext import to_json as to_json  # where the commands have always found it
from .base import (
    Cell,
    Doc,
    Env,
    Format,
    Marked,
    Row,
    Table,
    clean,
    formula_guard,
)

if TYPE_CHECKING:
    from .results import Result

T = TypeVar("T")


def render(
    result: Result[Any], fmt: Format | None, env: Env
) -> Iterator[str | bytes | memoryview | Spread]:
    """The text of a result, in pieces to write as they come (a piece of JSON made
    before, in bytes: UTF-8).

    With no format, a table on a terminal and plain text elsewhere.
    """
    from .results import Many, One

    fmt = fmt or (Format.TABLE if env.is_terminal else Format.PLAIN)
    if fmt is Format.JSON:
        if isinstance(result, Many):
            return json_array(result.json_items())
        assert isinstance(result, One)
        return iter((to_json(result.data()),))
    view = result.view(fmt)
    if fmt is Format.TABLE:
        return _terminal(view, env)
    if fmt is Format.PLAIN:
        return to_plain(view, header=env.header)
    if fmt is Format.CSV:
        return to_csv(view, raw=env.csv_raw, terminal=env.is_terminal)
    return WRITERS[fmt](view)


def _terminal(view: Table | Doc, env: Env) -> Iterator[str]:
    if isinstance(view, Table):
        view = view.materialised()
        if not view.rows:  # an empty table says nothing the message on stderr does not
            return
    from .terminal import to_terminal

    yield to_terminal(view, env)


# --- JSON ----------------------------------------------------------------------------

#: At most how many elements of a JSON array are encoded together: few enough that memory
#: stays small, enough that encoding costs a call per chunk rather than per element.
JSON_CHUNK = 256


def _chunks(items: Iterable[T]) -> Iterator[list[T]]:
    """Items in lists of 1, 2, 4, ... up to `JSON_CHUNK`: a list is written a chunk at a
    time, which costs a write per chunk rather than per row, and the first item is written
    before the second is read."""
    it = iter(items)
    size = 1
    while chunk := list(itertools.islice(it, size)):
        yield chunk
        size = min(2 * size, JSON_CHUNK)


def json_elements(
    items: Iterable[Any], pad: str = ""
) -> Iterator[str | bytes | memoryview | Spread]:
    """The elements of an indented JSON array, comma-separated, without its brackets,
    a chunk at a time: each line starts with two spaces and then `pad` (the indent of
    the array itself, for an array inside an object). An item that is `Elements`, text
    already made, is written as it is; `Encoded`, the same in UTF-8, too (in bytes).

    The first chunk is one element, and each is twice the one before, up to `JSON_CHUNK`:
    the first element is written before the second is read.
    """
    sep = ""
    size = 1
    chunk: list[Any] = []
    for item in items:
        if isinstance(item, Encoded | memoryview | Spread):
            if not pad:  # in bytes, as it is: not decoded to be encoded again
                if chunk:
                    yield sep + _elements(chunk, pad)
                    sep, chunk = ",\n", []
                if sep:
                    yield sep
                yield item
                sep = ",\n"
                continue
            item = Elements(str(plain(item), "utf-8"))
        if isinstance(item, Elements):  # text already made: written as it is, at once
            if chunk:
                yield sep + _elements(chunk, pad)
                sep, chunk = ",\n", []
            yield sep + (pad + item.replace("\n", "\n" + pad) if pad else item)
            sep = ",\n"
            continue
        chunk.append(item)
        if len(chunk) == size:
            yield sep + _elements(chunk, pad)
            sep, chunk = ",\n", []
            size = min(2 * size, JSON_CHUNK)
    if chunk:
        yield sep + _elements(chunk, pad)


def _elements(chunk: list[Any], pad: str) -> str:
    body = to_json(chunk)[2:-3]  # "[\n" and "\n]\n" cut off
    return pad + body.replace("\n", "\n" + pad) if pad else body


def json_array(items: Iterable[Any]) -> Iterator[str | bytes | memoryview | Spread]:
    """An indented JSON array, a chunk of elements at a time: the same text as `to_json`
    of a list."""
    opening = "[\n"
    for piece in json_elements(items):
        if isinstance(piece, bytes | memoryview | Spread):
            if opening:
                yield opening
        else:
            piece = opening + piece
        yield piece
        opening = ""
    yield "[]\n" if opening else "\n]\n"


def joined(pieces: Iterable[str | bytes | memoryview | Spread]) -> str:
    """The text of pieces as `render` gives them, in one string."""
    return "".join(p if isinstance(p, str) else str(plain(p), "utf-8") for p in pieces)


# --- CSV -----------------------------------------------------------------------------


def csv_lines(
    columns: Iterable[str],
    rows: Iterable[Iterable[object]],
    *,
    raw: bool = False,
    terminal: bool = False,
) -> Iterator[str]:
    """CSV with a header row, a line at a time, quoted as CSV requires.

    Lines end in CRLF (RFC 4180), so a bare CR inside a value is quoted too.
    A cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
    ``@``) gets a leading apostrophe unless `raw`; on a `terminal`, control
    and invisible characters are shown as escapes, as in every other format.
    """
    import csv

    def cell(value: object) -> str:
        text = str(value)
        if not raw:
            text = formula_guard(text)
        return clean(text) if terminal else text

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([cell(c) for c in columns])
    yield buf.getvalue()
    for chunk in _chunks(rows):
        buf.seek(0)
        buf.truncate()
        w.writerows([cell(c) for c in row] for row in chunk)
        yield buf.getvalue()


#: The columns of a detail view in CSV: one row per field, the long format.
LONG_COLUMNS = ("record", "field", "value")


def long_rows(doc: Doc) -> Iterator[tuple[str, str, Cell]]:
    """A detail view as (record, field, value) rows: a field is `section.label`; a
    table inside the view gives a row per line, its cells joined by ` | `."""
    rec = doc.title
    if doc.subtitle:
        yield rec, "summary", doc.subtitle
    for sec in doc.sections:
        prefix = f"{sec.title}." if sec.title else ""
        for f in sec.fields:
            yield rec, prefix + f.label, f.value
        if sec.quote is not None:
            yield rec, prefix + "quote", sec.quote
        if sec.text is not None:
            yield rec, prefix + "text", sec.text
        if sec.table is not None:
            for r in sec.table.rows:
                yield rec, prefix + (sec.table.title or "row"), " | ".join(map(str, r))


def to_csv(view: Table | Doc, *, raw: bool = False, terminal: bool = False) -> Iterator[str]:
    """A table as CSV under its columns; a detail view in the long format (`LONG_COLUMNS`).

    See `csv_lines` for `raw` and `terminal`.
    """
    if isinstance(view, Table):
        return csv_lines(view.columns, view.rows, raw=raw, terminal=terminal)
    return csv_lines(LONG_COLUMNS, long_rows(view), raw=raw, terminal=terminal)


# --- plain text ------------------------------------------------------------------------


def _tsv(row: Row) -> str:
    return "\t".join(clean(str(c), oneline=True) for c in row)


def _tsv_lines(rows: list[Row]) -> str:
    """`_tsv` of each row, a line each: at once for rows whose every cell is printable
    (no tab, line break or control character, which `clean` would change), which most are."""
    lines = [list(map(str, row)) for row in rows]
    text = "\n".join(["\t".join(cells) for cells in lines])
    tabs = sum(len(cells) for cells in lines) - len(lines)
    if (
        text.count("\t") == tabs
        and text.count("\n") == len(lines) - 1
        and text.replace("\t", "").replace("\n", "").isprintable()
    ):
        return text + "\n"
    return "".join([_tsv(row) + "\n" for row in rows])


def to_plain(view: Table | Doc, *, header: bool = True) -> Iterator[str]:
    """Untruncated text for pipes: a tab-separated line per row under a line of column
    names (unless `header` is false, or there are no rows), or `label: value` lines."""
    if isinstance(view, Table):
        for n, chunk in enumerate(_chunks(view.rows)):
            if header and n == 0:  # no rows, no header: an empty answer stays empty
                yield _tsv(view.columns) + "\n"
            yield _tsv_lines(chunk)
        return
    yield clean(view.title, oneline=True) + "\n"
    if view.subtitle:
        yield clean(view.subtitle, oneline=True) + "\n"
    for sec in view.sections:
        lines = [""]
        indent = ""
        if sec.title:
            lines.append(clean(sec.title, oneline=True) + ":")
            indent = "  "
        for f in sec.fields:
            lines.append(f"{indent}{f.label}: {clean(str(f.value), oneline=True)}")
        if sec.quote is not None:
            lines.append(f"{indent}> {clean(sec.quote, oneline=True)}")
        if sec.text is not None:
            text = _bracketed(sec.text).replace("\r\n", "\n")  # a line break, as `clean` has it
            lines += [indent + clean(ln) for ln in text.split("\n")]
        if sec.table is not None:
            lines += [indent + _tsv(row) for row in sec.table.rows]
        yield "".join(line + "\n" for line in lines)


#: Spans that colour marks on a terminal, shown in plain text by these brackets.
PLAIN_MARKS = {"quote": ("⟦", "⟧"), "match": ("⟦", "⟧")}


def _bracketed(cell: Cell) -> str:
    """A cell's text with its quoted passages and matches bracketed, so that where
    each starts stays visible without colour (as on a terminal with NO_COLOR)."""
    if not isinstance(cell, Marked):
        return cell
    out, pos = [], 0
    for a, b, style in sorted(cell.spans):
        if a < pos or style not in PLAIN_MARKS:
            continue
        opening, closing = PLAIN_MARKS[style]
        out += [cell.text[pos:a], opening, cell.text[a:b], closing]
        pos = b
    out.append(cell.text[pos:])
    return "".join(out)


# --- Markdown ------------------------------------------------------------------------


def _md_escape(text: str, oneline: bool = True) -> str:
    out = clean(text, oneline=oneline).replace("\\", "\\\\")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out


#: The marks of a `Marked` cell that Markdown writes in bold: a label's value, a search
#: match, a passage quoted, what is known from outside the article. Others (a
#: definition shown dim, a link) are written plain.
_MD_STRONG = frozenset({"value", "match", "quote", "later"})


def _md_code(text: str, oneline: bool = True) -> str:
    """`text` as a code span, between the spaces it starts and ends with (kept outside,
    so that it stays apart from what is around it). Within a code span a backslash is shown as it
    is, so nothing is escaped: a backtick in it takes a longer fence instead."""
    raw = clean(text, oneline=oneline)
    body = raw.strip()
    lead = raw[: len(raw) - len(raw.lstrip())]
    trail = raw[len(raw.rstrip()) :]
    if not body:
        return raw
    fence = "`" * (max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    pad = " " if body[0] == "`" or body[-1] == "`" else ""
    return f"{lead}{fence}{pad}{body}{pad}{fence}{trail}"


def _md_cell(cell: Cell, oneline: bool = True) -> str:
    if isinstance(cell, Marked) and cell.spans:
        out, pos = [], 0
        for a, b, style in sorted(cell.spans):
            if a < pos:
                continue
            out.append(_md_escape(cell.text[pos:a], oneline))
            piece = _md_escape(cell.text[a:b], oneline)
            if style == "label":
                piece = _md_code(cell.text[a:b], oneline)
            elif style in _MD_STRONG or style.startswith("value:"):
                piece = f"**{piece}**"
            out.append(piece)  # a definition (dim), a link: as it is
            pos = b
        out.append(_md_escape(cell.text[pos:], oneline))
        return "".join(out)
    return _md_escape(str(cell), oneline)


def _md_table(columns: tuple[str, ...], rows: Iterable[Row]) -> Iterator[str]:
    yield "| " + " | ".join(_md_escape(c) for c in columns) + " |\n"
    yield "|" + "|".join("---" for _ in columns) + "|\n"
    for chunk in _chunks(rows):
        yield "".join(["| " + " | ".join([_md_cell(c) for c in row]) + " |\n" for row in chunk])


def to_markdown(view: Table | Doc) -> Iterator[str]:
    """GitHub-flavoured Markdown: a pipe table, or a titled document."""
    if isinstance(view, Table):
        if view.counted:
            view = view.materialised()  # the title counts the rows
        if view.title:
            yield f"## {_md_escape(view.title)}\n\n"
        yield from _md_table(view.columns, view.rows)
        return
    lines = [f"## {_md_escape(view.title)}"]
    if view.subtitle:
        lines += ["", f"*{_md_escape(view.subtitle)}*"]
    for sec in view.sections:
        lines.append("")
        if sec.title:
            lines += [f"### {_md_escape(sec.title)}", ""]
        for f in sec.fields:
            lines.append(f"- **{_md_escape(f.label)}**: {_md_cell(f.value)}")
        if sec.quote is not None:
            if sec.fields:
                lines.append("")
            lines.append(f"> {_md_escape(sec.quote)}")
        if sec.text is not None:
            if sec.fields or sec.quote is not None:
                lines.append("")
            # A single line break is a hard one (two spaces), as it is on screen.
            text = re.sub(r"(?<=[^\n])\n(?=[^\n])", "  \n", _md_cell(sec.text, oneline=False))
            lines.append(text)
        if sec.table is not None:
            lines += [line.rstrip("\n") for line in _md_table(sec.table.columns, sec.table.rows)]
    yield "\n".join(lines) + "\n"


#: The writer of each text format but `table` (Rich, in `terminal`).
WRITERS: dict[Format, Callable[[Table | Doc], Iterator[str]]] = {
    Format.PLAIN: to_plain,
    Format.CSV: to_csv,
    Format.MARKDOWN: to_markdown,
}
