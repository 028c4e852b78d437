"""Rich tables and panels for a terminal: the only module that imports Rich.

Every string from a dataset becomes a `rich.text.Text` after `clean`, so it is
never read as markup, emoji codes or links, and carries no control characters.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import msgspec
from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from ..model import NOT_REVIEWED
from .base import Cell, Doc, Env, Table, clean, clean_marked

SPAN_STYLES = {
    "match": "bold black on yellow",
    "quote": "underline",
    "label": "dim cyan",
    "value": "bold",
    "later": "bold magenta",
}
VALUE_STYLES = {
    "confirmed": "green",
    "confirmed-with-corrections": "yellow",
    "reported": "cyan",
    "unconfirmed": "bright_red",
    "not-identified": "red",
    "not-checked": "dim",
    NOT_REVIEWED: "dim",
    "peer-reviewed": "green",
    "regulatory": "green",
    "press-release": "yellow",
    "news-report": "cyan",
    "patient-report": "magenta",
    "opinion": "bright_red",
    "promotional": "bold red",
    "unsourced": "red",
}
STYLED_COLUMNS = frozenset(("verdict", "evidence"))


#: Spans that must stay visible without colour get these brackets then.
MARKED_SPANS = frozenset(("match", "quote"))


def marks(env: Env) -> tuple[str, str] | None:
    """Brackets that show marked spans when there is no colour to show them."""
    if env.color:
        return None
    return ("[[", "]]") if env.ascii_only else ("⟦", "⟧")


def text(
    cell: Cell, style: str = "", oneline: bool = False, brackets: tuple[str, str] | None = None
) -> Text:
    """A Rich Text for a cell: cleaned, never parsed as markup; spans styled, and
    bracketed too when `brackets` is given."""
    marked = clean_marked(cell, oneline=oneline)
    out = Text(style=style, no_wrap=False)
    pos = 0
    for a, b, span_style in sorted(marked.spans):
        if a < pos:
            continue
        out.append(marked.text[pos:a])
        show = brackets if brackets and span_style in MARKED_SPANS else ("", "")
        out.append(show[0] + marked.text[a:b] + show[1], SPAN_STYLES.get(span_style, span_style))
        pos = b
    out.append(marked.text[pos:])
    return out


def _console(env: Env, buf: io.StringIO) -> Console:
    return Console(
        file=buf,
        force_terminal=env.is_terminal,
        color_system="auto" if env.color else None,
        no_color=not env.color,
        width=env.width,
        height=25,
        emoji=False,
        markup=False,
        highlight=False,
        legacy_windows=False,
        safe_box=True,
        force_jupyter=False,
        force_interactive=False,
    )


def _box(env: Env) -> box.Box:
    return box.ASCII if env.ascii_only else box.ROUNDED


#: The narrowest a wrapping column may get before a table becomes a list of cards.
MIN_WIDE = 30


def _natural(table: Table, col: int) -> int:
    cells = [table.columns[col], *(str(r[col]) for r in table.rows)]
    return max(cell_len(c) for c in cells)


def fits(table: Table, width: int) -> bool:
    """Whether a table fits `width` with its narrow columns unbroken."""
    fixed = sum(_natural(table, i) for i, c in enumerate(table.columns) if c not in table.wide)
    wide = MIN_WIDE * sum(1 for c in table.columns if c in table.wide)
    return fixed + wide + 3 * len(table.columns) + 1 <= width


def _styled(col: str, cell: Cell, env: Env) -> Text:
    style = VALUE_STYLES.get(str(cell), "") if col in STYLED_COLUMNS else ""
    return text(cell, style, brackets=marks(env))


def _rich_table(table: Table, env: Env, title: bool = True) -> RichTable:
    t = RichTable(
        title=text(table.title, "bold") if title and table.title else None,
        box=_box(env),
        header_style="bold",
        expand=bool(table.wide),
    )
    for col in table.columns:
        wide = col in table.wide
        t.add_column(col, overflow="fold", no_wrap=not wide, ratio=1 if wide else None)
    for row in table.rows:
        t.add_row(*(_styled(c, cell, env) for c, cell in zip(table.columns, row, strict=True)))
    return t


def _cards(table: Table, env: Env, title: bool = True) -> RenderableType:
    """A table too wide for the terminal, as one card per row: id, facts, then text."""
    parts: list[RenderableType] = []
    if title and table.title:
        parts.append(text(table.title, "bold"))
    for row in table.rows:
        cells = list(zip(table.columns, row, strict=True))
        head = _styled(*cells[0], env)
        head.stylize("bold")
        parts.append(head)
        facts = Text()
        for col, cell in cells[1:]:
            if col in table.wide or not str(cell):
                continue
            if facts:
                facts.append(" · ", style="dim")
            facts.append(f"{col} ", style="dim")
            facts.append_text(_styled(col, cell, env))
        if facts:
            parts.append(Padding(facts, (0, 0, 0, 2), expand=False))
        for col, cell in cells[1:]:
            if col in table.wide and str(cell):
                parts.append(Padding(_styled(col, cell, env), (0, 0, 0, 2), expand=False))
    return Group(*parts)


def _table_or_cards(table: Table, env: Env, title: bool = True) -> RenderableType:
    table = table.materialised()
    if fits(table, env.width):
        return _rich_table(table, env, title)
    return _cards(table, env, title)


def _doc(doc: Doc, env: Env) -> RenderableType:
    parts: list[RenderableType] = []
    if doc.subtitle:
        parts.append(text(doc.subtitle, "italic"))
    for sec in doc.sections:
        if parts:
            parts.append(Text(""))
        if sec.title:
            parts.append(text(sec.title, "bold underline"))
        if sec.fields:
            grid = RichTable.grid(padding=(0, 2))
            # Labels may take a third of the width, so values always keep room.
            grid.add_column(style="bold cyan", max_width=max(8, env.width // 3), overflow="fold")
            grid.add_column(overflow="fold", ratio=1)
            for f in sec.fields:
                grid.add_row(text(f.label), _styled(f.label, f.value, env))
            parts.append(grid)
        if sec.quote is not None:
            parts.append(Padding(text(sec.quote, "italic"), (0, 0, 0, 2), expand=False))
        if sec.text is not None:
            parts.append(text(sec.text, sec.style, brackets=marks(env)))
        if sec.table is not None:
            inner = msgspec.structs.replace(env, width=env.width - 4)
            parts.append(_table_or_cards(sec.table, inner, title=False))
    return Panel(
        Group(*parts),
        title=text(doc.title, "bold"),
        title_align="left",
        box=_box(env),
        border_style=doc.style or "blue",
        expand=True,
    )


@contextlib.contextmanager
def spinner(message: str) -> Iterator[None]:
    """A progress indicator on stderr while something slow runs."""
    console = Console(stderr=True, emoji=False, markup=False, highlight=False)
    with console.status(Text(clean(message)), spinner="dots"):
        yield


def to_terminal(view: Table | Doc, env: Env) -> str:
    """Render a view with Rich, as the terminal described by `env` shows it."""
    buf = io.StringIO()
    console = _console(env, buf)
    if isinstance(view, Table):
        console.print(_table_or_cards(view, env))
    else:
        console.print(_doc(view, env))
    # Rich pads wrapped lines to the width; trailing spaces show nothing.
    return "\n".join(line.rstrip(" ") for line in buf.getvalue().split("\n"))
