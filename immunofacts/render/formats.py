"""Write views as plain text, CSV, Markdown or JSON; hand `table` to Rich."""

from __future__ import annotations

import io
import re
from typing import Any

from .base import Cell, Doc, Env, Format, Marked, Table, clean


def render(view: Table | Doc, fmt: Format, env: Env, payload: Any = None) -> str:
    """The text of a view in a format. `payload` is what JSON output encodes."""
    if fmt is Format.JSON:
        return to_json(payload)
    if fmt is Format.CSV:
        return to_csv(view)
    if fmt is Format.MARKDOWN:
        return to_markdown(view)
    if fmt is Format.PLAIN:
        return to_plain(view)
    from .terminal import to_terminal

    return to_terminal(view, env)


# Characters JSON may carry raw but that YAML parsers refuse or read as line
# breaks; written as \u escapes, the JSON stays a valid YAML document.
_JSON_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def to_json(payload: Any) -> str:
    """Indented JSON, UTF-8, with a trailing newline; data kept exact."""
    import msgspec

    text = msgspec.json.format(msgspec.json.encode(payload), indent=2).decode()
    return _JSON_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _table_of(view: Table | Doc) -> Table:
    if isinstance(view, Table):
        return view
    rows: list[tuple[Cell, ...]] = [("id", view.title)]
    if view.subtitle:
        rows.append(("summary", view.subtitle))
    for sec in view.sections:
        prefix = f"{sec.title}." if sec.title else ""
        rows += [(prefix + f.label, f.value) for f in sec.fields]
        if sec.quote is not None:
            rows.append((prefix + "quote", sec.quote))
        if sec.text is not None:
            rows.append((prefix + "text", sec.text))
        if sec.table is not None:
            for r in sec.table.rows:
                rows.append((prefix + (sec.table.title or "row"), " | ".join(str(c) for c in r)))
    return Table(view.title, ("field", "value"), rows)


def to_csv(view: Table | Doc) -> str:
    """CSV with a header row; values exact (quoted as CSV requires)."""
    import csv

    table = _table_of(view)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; a bare CR in a value is quoted
    w.writerow(table.columns)
    for row in table.rows:
        w.writerow([str(c) for c in row])
    return buf.getvalue()


def to_plain(view: Table | Doc) -> str:
    """Untruncated text for pipes: a tab-separated line per row, or `label: value` lines."""
    if isinstance(view, Table):
        return "".join(
            "\t".join(clean(str(c), oneline=True) for c in row) + "\n" for row in view.rows
        )
    lines = [clean(view.title, oneline=True)]
    if view.subtitle:
        lines.append(clean(view.subtitle, oneline=True))
    for sec in view.sections:
        lines.append("")
        indent = ""
        if sec.title:
            lines.append(clean(sec.title, oneline=True) + ":")
            indent = "  "
        for f in sec.fields:
            lines.append(f"{indent}{f.label}: {clean(str(f.value), oneline=True)}")
        if sec.quote is not None:
            lines.append(f"{indent}> {clean(sec.quote, oneline=True)}")
        if sec.text is not None:
            lines += [indent + clean(ln) for ln in str(sec.text).split("\n")]
        if sec.table is not None:
            for row in sec.table.rows:
                lines.append(indent + "\t".join(clean(str(c), oneline=True) for c in row))
    return "\n".join(lines) + "\n"


def _md_escape(text: str, oneline: bool = True) -> str:
    out = clean(text, oneline=oneline).replace("\\", "\\\\")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out


def _md_cell(cell: Cell, oneline: bool = True) -> str:
    if isinstance(cell, Marked) and cell.spans:
        out, pos = [], 0
        for a, b, style in sorted(cell.spans):
            if a < pos:
                continue
            out.append(_md_escape(cell.text[pos:a], oneline))
            piece = _md_escape(cell.text[a:b], oneline)
            out.append(f"`{piece.strip()}`" if style == "label" else f"**{piece}**")
            pos = b
        out.append(_md_escape(cell.text[pos:], oneline))
        return "".join(out)
    return _md_escape(str(cell), oneline)


def _md_table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(_md_escape(c) for c in table.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    return lines


def to_markdown(view: Table | Doc) -> str:
    """GitHub-flavoured Markdown: a pipe table, or a titled document."""
    if isinstance(view, Table):
        lines = [f"## {_md_escape(view.title)}", ""] if view.title else []
        return "\n".join(lines + _md_table(view)) + "\n"
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
            lines.append(_md_cell(sec.text, oneline=False))
        if sec.table is not None:
            lines += _md_table(sec.table)
    return "\n".join(lines) + "\n"
