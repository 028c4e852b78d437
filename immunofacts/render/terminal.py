"""Rich tables and panels for a terminal: the only module that imports Rich.

Every string from a dataset becomes a `rich.text.Text` after `clean`, so it is
never read as markup, emoji codes or links, and carries no control characters.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator

import msgspec
from rich import box
from rich.cells import cell_len, chop_cells
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.style import Style
from rich.table import Table as RichTable
from rich.text import Text

from ..model import NOT_REVIEWED, Rating
from .base import Cell, Doc, Env, Field, Section, Table, clean, clean_marked
from .views import rating_legend

SPAN_STYLES = {
    "match": "bold black on yellow",
    "quote": "underline",
    "label": "dim cyan",
    "value": "bold",
    "later": "bold magenta",
    "dim": "dim",
}
#: Colours of label values. Ratings follow the scale, green (accurate) to red
#: (incorrect), with grey for not-a-fact, which is off the scale. Red is kept for
#: what records contradict: a verdict that found nothing either way is yellow,
#: never the red of "false".
VALUE_STYLES = {
    "accurate": "bold green",
    "mostly-accurate": "green",
    "unsupported": "yellow",
    "misleading": "dark_orange",
    "incorrect": "bold red",
    "not-a-fact": "grey62",
    "confirmed": "green",
    "confirmed-with-corrections": "green",
    "reported": "cyan",
    "unconfirmed": "yellow",
    "not-identified": "yellow",
    "not-checked": "dim",
    "not-checkable": "grey62",
    NOT_REVIEWED: "dim",
    "peer-reviewed": "green",
    "regulatory": "green",
    "press-release": "yellow",
    "news-report": "cyan",
    "patient-report": "magenta",
    "opinion": "grey62",
    "promotional": "magenta",
    "unsourced": "yellow",
}
#: Ratings coloured along their scale: green best, red worst; grey off the scale.
RATING_STYLES = {
    Rating.ACCURATE.value: "green",
    Rating.MOSTLY_ACCURATE.value: "bright_green",
    Rating.UNSUPPORTED.value: "yellow",
    Rating.MISLEADING.value: "dark_orange",
    Rating.INCORRECT.value: "red",
    Rating.NOT_A_FACT.value: "grey62",
}
VALUE_STYLES.update(RATING_STYLES)
STYLED_COLUMNS = frozenset(("verdict", "evidence", "rating", "label"))


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
        piece = marked.text[a:b]
        if span_style == "link":
            # Only an address the views marked, and only if it is one whole web
            # address: the visible text is always the address the link opens.
            url = URL.fullmatch(piece)
            out.append(piece, Style(link=piece) if url else "")
        elif span_style.startswith("value:"):
            out.append(piece, VALUE_STYLES.get(span_style.removeprefix("value:"), ""))
        else:
            out.append(show[0] + piece + show[1], SPAN_STYLES.get(span_style, span_style))
        pos = b
    out.append(marked.text[pos:])
    return out


#: A word: a run of anything but spaces and newlines, with the spaces after it. A
#: no-break space (U+00A0) glues a label to its value; it is shown as a plain space.
_WORD = re.compile(r"[^ \n]+ *")
#: The pieces of a long word (an id) it may wrap between: after each hyphen.
_PIECE = re.compile(r"[^-]*-+|[^-]+")
#: A web address: shown whole, and where the views mark it, as a hyperlink.
URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%\[\]]+")
GLUE = "\u00a0"


def _is_url(word: str) -> bool:
    return word.startswith(("http://", "https://"))


def unbreakable(plain: str) -> int:
    """The widest part of a text that `wrap` never breaks: a URL, or a piece of a word
    between hyphens."""
    widest = 0
    for m in _WORD.finditer(plain):
        word = m.group().rstrip(" ")
        pieces = [word] if _is_url(word) else _PIECE.findall(word)
        widest = max(widest, *(cell_len(p) for p in pieces))
    return widest


def _breaks(plain: str, width: int) -> list[int]:
    """Where to break one line of text to fit `width`: between words; inside a word
    too long for a line, after a hyphen (ids); never inside a web address, which
    gets a line of its own and may be wider than `width` (the terminal wraps it
    softly, and it stays whole to click or copy)."""
    out: list[int] = []
    col = 0
    for m in _WORD.finditer(plain):
        word, start = m.group(), m.start()
        size = cell_len(word.rstrip(" "))
        if col + size <= width:
            col += cell_len(word)
            continue
        if size <= width or _is_url(word):
            if col:
                out.append(start)
            col = cell_len(word)
            continue
        pos = start
        for piece in _PIECE.findall(word):
            size = cell_len(piece.rstrip(" "))
            if col and col + size > width:
                out.append(pos)
                col = 0
            for chunk in chop_cells(piece, width) if size > width else [piece]:
                if col and col + cell_len(chunk.rstrip(" ")) > width:
                    out.append(pos)
                    col = 0
                col += cell_len(chunk)
                pos += len(chunk)
    return out


def wrap(value: Text, width: int) -> list[Text]:
    """A text as lines of at most `width` cells, broken as `_breaks` says; styles kept."""
    width = max(width, 1)
    out: list[Text] = []
    for line in value.split("\n", allow_blank=True):
        # An indented line wraps under itself (a hanging indent).
        indent = len(line.plain) - len(line.plain.lstrip(" "))
        indent = indent if indent < width // 2 else 0
        body = line[indent:]
        parts = body.divide(_breaks(body.plain, width - indent)) if body.plain else [line]
        for part in parts:
            part.rstrip()
            if indent and body.plain:
                part = Text.assemble(" " * indent, part)
            shown = Text(part.plain.replace(GLUE, " "), style=part.style, spans=list(part.spans))
            shown.no_wrap, shown.overflow = True, "ignore"
            out.append(shown)
    return out


def _glued(value: str) -> str:
    return value.replace(" ", GLUE)


def _lines(lines: list[Text], indent: int = 0) -> Group:
    pad = " " * indent
    return Group(*(Text.assemble(pad, ln, no_wrap=True, overflow="ignore") for ln in lines))


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
    """A table too wide for the terminal, as one card per row: id, facts, then text.

    Each `column value` pair stays on one line; ids wrap only after a hyphen."""
    parts: list[RenderableType] = []
    if title and table.title:
        parts.append(_lines(wrap(text(table.title, "bold"), env.width)))
    for row in table.rows:
        cells = list(zip(table.columns, row, strict=True))
        head = _styled(*cells[0], env)
        head.stylize("bold")
        parts.append(_lines(wrap(head, env.width)))
        facts = Text()
        for col, cell in cells[1:]:
            if col in table.wide or not str(cell):
                continue
            if facts:
                facts.append(" · ", style="dim")
            facts.append(_glued(f"{col} "), style="dim")
            value = _styled(col, cell, env)
            facts.append_text(Text(_glued(value.plain), style=value.style, spans=value.spans))
        if facts:
            parts.append(_lines(wrap(facts, env.width - 2), 2))
        for col, cell in cells[1:]:
            if col in table.wide and str(cell):
                value = _styled(col, cell, env)
                parts.append(_lines(wrap(value, env.width - 2), 2))
    return Group(*parts)


def _table_or_cards(table: Table, env: Env, title: bool = True) -> RenderableType:
    table = table.materialised()
    if fits(table, env.width):
        return _rich_table(table, env, title)
    return _cards(table, env, title)


def _legend(table: Table, env: Env) -> RenderableType | None:
    """The line under a table that names the ratings it shows, on their scale."""
    if "rating" not in table.columns:
        return None
    col = table.columns.index("rating")
    legend = rating_legend(str(row[col]) for row in table.rows)
    return Group(Text(""), _lines(wrap(text(legend), env.width))) if legend else None


def _field_lines(fields: tuple[Field, ...], width: int, env: Env) -> list[Text]:
    """Labels beside their values, values wrapped under themselves. A value holding
    something too wide for its column (a web address) goes under its label instead."""
    labels = max(cell_len(f.label) for f in fields)
    label_width = min(labels, max(8, width // 3))
    value_width = width - label_width - 2
    out: list[Text] = []
    for f in fields:
        label = wrap(text(f.label, "bold cyan"), label_width)
        value = _styled(f.label, f.value, env)
        if unbreakable(value.plain) > value_width and value_width < width - 2:
            out += label
            out += [Text.assemble("  ", ln) for ln in wrap(value, width - 2)]
            continue
        values = wrap(value, value_width)
        for i in range(max(len(label), len(values))):
            left = label[i].copy() if i < len(label) else Text()
            left.pad_right(label_width - left.cell_len)
            right = values[i] if i < len(values) else Text()
            out.append(Text.assemble(left, "  ", right))
    return out


def _doc_parts(doc: Doc, env: Env, width: int) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if doc.subtitle:
        parts.append(_lines(wrap(text(doc.subtitle, "italic"), width)))
    for sec in doc.sections:
        if parts:
            parts.append(Text(""))
        if sec.title:
            heading = "bold underline " + SPAN_STYLES.get(sec.style, "")
            parts.append(_lines(wrap(text(sec.title, heading.strip()), width)))
        if sec.fields:
            parts.append(_lines(_field_lines(sec.fields, width, env)))
        if sec.quote is not None:
            parts.append(_lines(wrap(text(sec.quote, "italic"), width - 2), 2))
        if sec.text is not None:
            body = text(sec.text, sec.style, brackets=marks(env))
            parts.append(_lines(wrap(body, width)))
        if sec.table is not None:
            inner = msgspec.structs.replace(env, width=width)
            parts.append(_table_or_cards(sec.table, inner, title=False))
    return parts


#: Below this width, or when a web address would not fit inside, a record is shown
#: without its box, so that every column goes to the text.
MIN_BOXED = 50


def _doc_fits_box(doc: Doc, env: Env) -> bool:
    if env.width < MIN_BOXED:
        return False
    cells: list[str] = [str(doc.subtitle or "")]
    for sec in doc.sections:
        cells += [str(f.value) for f in sec.fields]
        cells += [str(sec.text or "")]
    widest = max((len(m.group()) for c in cells for m in URL.finditer(c)), default=0)
    return max(widest, cell_len(doc.title)) <= env.width - 6


def _bars(fields: tuple[Field, ...], width: int, env: Env) -> list[Text]:
    """Counts as a horizontal bar chart: label, bar, count; the longest bar fills the room."""
    counts = [int(str(f.value)) if str(f.value).isdigit() else 0 for f in fields]
    labels = max(cell_len(f.label) for f in fields)
    digits = max(len(str(n)) for n in counts)
    label_width = max(1, min(labels, width - digits - 2 - 10, max(8, width // 2)))
    label_width = min(labels, max(label_width, width - digits - 2 - 14))
    room = max(1, width - label_width - digits - 2)
    top = max(counts) or 1
    full, part = ("#", "") if env.ascii_only else ("█", "▌")
    out: list[Text] = []
    for f, n in zip(fields, counts, strict=True):
        label = wrap(text(f.label), label_width)
        halves = round(2 * room * n / top)
        halves = max(halves, 1 if n else 0)
        bar = full * (halves // 2) + (part if halves % 2 else "")
        if env.ascii_only and halves % 2:
            bar += full
        style = VALUE_STYLES.get(f.label, "cyan") if env.color else ""
        line = label[0].copy()
        line.pad_right(label_width - line.cell_len)
        line.append(" ")
        line.append(bar, style=style or None)
        line.append(" " + str(n).rjust(digits) if n else " " + "0".rjust(digits), style="bold")
        out.append(line)
        for extra in label[1:]:
            out.append(extra)
    return out


#: From this width on, a dashboard puts its charts side by side, two to a row.
SIDE_BY_SIDE = 100
#: The narrowest a dashboard panel keeps its box.
MIN_PANEL = 40


def _panel(sec: Section, env: Env, width: int) -> RenderableType:
    """One section of a dashboard in a box of `width` columns (unboxed when narrow)."""
    boxed = width >= MIN_PANEL
    inner = width - 4 if boxed else width
    if sec.chart and sec.fields:
        body: list[RenderableType] = []
        if sec.text is not None:
            body.append(_lines(wrap(text(sec.text, "italic"), inner)))
        body.append(_lines(_bars(sec.fields, inner, env)))
    else:
        untitled = msgspec.structs.replace(sec, title=None)
        body = _doc_parts(Doc("", (untitled,)), env, inner)
    title = text(sec.title or "", "bold")
    if not boxed:
        return Group(_lines(wrap(title, width)), *body)
    return Panel(
        Group(*body),
        title=title,
        title_align="left",
        box=_box(env),
        border_style="blue",
        width=width,
    )


def _dashboard(doc: Doc, env: Env) -> RenderableType:
    """Sections as panels: two to a row on a wide terminal, one under another otherwise."""
    head = Text.assemble(text(doc.title, "bold"), "  ", text(doc.subtitle or "", "italic"))
    parts: list[RenderableType] = [_lines(wrap(head, env.width))]
    if env.width < SIDE_BY_SIDE:
        for sec in doc.sections:
            parts.append(_panel(sec, env, env.width))
        return Group(*parts)
    # Text takes the whole width; charts go two to a row.
    half = (env.width - 1) // 2
    rows: list[list[Section]] = []
    for sec in doc.sections:
        if sec.chart and rows and rows[-1][0].chart and len(rows[-1]) < 2:
            rows[-1].append(sec)
        else:
            rows.append([sec])
    for row in rows:
        if len(row) == 1 and not row[0].chart:
            parts.append(_panel(row[0], env, env.width))
            continue
        grid = RichTable.grid(padding=(0, 1))
        for _ in row:
            grid.add_column(width=half)
        grid.add_row(*(_panel(sec, env, half) for sec in row))
        parts.append(grid)
    return Group(*parts)


def _doc(doc: Doc, env: Env) -> RenderableType:
    if doc.dashboard:
        return _dashboard(doc, env)
    if not _doc_fits_box(doc, env):
        heading = wrap(text(doc.title, f"bold {doc.style or 'blue'}"), env.width)
        rule = Text("─" * min(env.width, max(ln.cell_len for ln in heading)), style="dim")
        if env.ascii_only:
            rule = Text("-" * rule.cell_len, style="dim")
        return Group(_lines(heading), rule, *_doc_parts(doc, env, env.width))
    return Panel(
        Group(*_doc_parts(doc, env, env.width - 4)),
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


def renderable(view: Table | Doc, env: Env) -> RenderableType:
    """A view as a Rich renderable, for a host that draws Rich itself (the browser)."""
    return _table_or_cards(view, env) if isinstance(view, Table) else _doc(view, env)


def to_terminal(view: Table | Doc, env: Env) -> str:
    """Render a view with Rich, as the terminal described by `env` shows it."""
    buf = io.StringIO()
    console = _console(env, buf)
    if isinstance(view, Table):
        view = view.materialised()
        console.print(_table_or_cards(view, env), crop=False)
        legend = _legend(view, env)
        if legend is not None:
            console.print(legend, crop=False)
    else:
        console.print(_doc(view, env), crop=False)
    # Rich pads wrapped lines to the width; trailing spaces show nothing.
    return "\n".join(line.rstrip(" ") for line in buf.getvalue().split("\n"))
