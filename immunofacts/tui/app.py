"""The full-screen browser: a list of claims or cases, filters, search, a detail pane,
the article with its quoted passages, and export. Read-only.

The list draws only the rows on screen (Textual's line API), so ten thousand
claims cost no more to show than ten. Search runs `query.search` in a worker
thread, one search at a time and always for the latest text, so typing never
waits for it.
"""

from __future__ import annotations

import threading
import webbrowser
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec
from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, VerticalScroll
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from .. import query
from ..errors import ImmunofactsError, named
from ..model import Claim, Dataset, Evidence, Rating, Reference
from ..query import Record, Span
from ..render import views
from ..render.base import Doc, Env, ExportFormat, clean
from ..render.terminal import renderable
from . import state
from .state import Filters, Tab

#: Row colours along the rating scale: green best, red worst, warmer at every step, grey
#: off the scale. True colours, not the tables' ANSI names: Textual draws those through its
#: theme, where green and bright green, or yellow and dark orange, come out alike.
SCORE_STYLES: dict[int | None, str] = {
    5: "bold #3fb950",  # green
    4: "#a3d977",  # light green
    3: "#e3b341",  # amber
    2: "#f0883e",  # orange
    1: "bold #f85149",  # red
    None: "#9ea7b3",  # grey: not a fact to rate
}
NOT_RATED_STYLE = "italic #6e7681"
#: The width at and above which the list and the detail sit side by side.
WIDE = 80
#: The width at and above which the source view keeps ids in a margin, and the margin's
#: least width.
MARGIN = 70
MARGIN_WIDTH = 28
#: The columns of a narrow source view that are not its text's: the article's padding
#: and its scroll bar.
NARROW_GUTTER = 4
#: The width at and above which the footer spaces its keys out (below, it squeezes them
#: to show more; help and quit come first either way).
ROOMY_FOOTER = 100
#: The list's columns: the rating and the evidence as wide as their longest label, and
#: the least the id and the text are given before the text, then the evidence, is dropped.
RATING_WIDTH = max(cell_len(v) for v in [*(r.value for r in Rating), state.NOT_RATED]) + 1
EVIDENCE_WIDTH = max(cell_len(e.value) for e in Evidence) + 1
ID_LEAST = 20
TEXT_LEAST = 20


def rating_style(rec: Record) -> str:
    """The colour of a record's rating."""
    if rec.review is None:
        return NOT_RATED_STYLE
    return SCORE_STYLES[rec.review.rating.score]


def _fit(text: str, width: int) -> str:
    """`text` on one line, cut with an ellipsis or padded to exactly `width` cells."""
    if width <= 0:
        return ""
    text = clean(text, oneline=True)
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def _fit_middle(text: str, width: int, head: int | None = None) -> str:
    """`text` on one line in exactly `width` cells, cut in the middle when too long (after
    `head` cells, half by default), so that ids which share a beginning
    (`claim-cell-banking-...`) stay apart by their end."""
    text = clean(text, oneline=True)
    if width <= 0 or cell_len(text) <= width:
        return _fit(text, width)
    start = set_cell_size(text, width // 2 if head is None else head).rstrip()
    room = width - 1 - cell_len(start)
    tail = ""
    for ch in reversed(text):
        if cell_len(ch) + cell_len(tail) > room:
            break
        tail = ch + tail
    return set_cell_size(start + "…" + tail, width)


def cut_ids(ids: Sequence[str], width: int) -> dict[str, str]:
    """Each id too long for `width` cells, cut in the middle; where two cuts would read
    the same, the later one is cut a little earlier or later until it reads apart."""
    cuts = {i: _fit_middle(i, width) for i in ids if cell_len(i) > width}
    if len(set(cuts.values())) == len(cuts):
        return cuts
    taken = Counter(cuts.values())
    half = width // 2
    for i, cut in cuts.items():
        if taken[cut] < 2:
            continue
        for shift in range(1, half):
            other = next(
                (
                    c
                    for h in (half - shift, half + shift)
                    if taken[c := _fit_middle(i, width, h)] == 0
                ),
                None,
            )
            if other is not None:
                taken[cut] -= 1
                taken[other] += 1
                cuts[i] = other
                break
    return cuts


def references_of(rec: Record) -> list[Reference]:
    """The record's references that have an address to open."""
    if rec.review is None:
        return []
    refs = list(rec.review.references)
    refs += [r for d in rec.review.later for r in d.references]
    return [r for r in refs if r.link()]


def record_doc(ds: Dataset, rec: Record) -> Doc:
    """Everything `show-claim` or `show-case` shows, its labels' definitions included."""
    return views.claim_doc(ds, rec) if isinstance(rec, Claim) else views.case_doc(ds, rec)


class Reflowing:
    """A Rich renderable laid out afresh for the width it is drawn at, so that a pane
    that changes width (a resized window, a scrollbar that comes or goes) reflows at once
    instead of showing lines wrapped for its old width. `make(width)` builds the layout
    for a width; the last one is kept."""

    def __init__(self, make: Callable[[int], RenderableType], *, least: int = 20) -> None:
        self.make = make
        self.least = least
        self._made: tuple[int, RenderableType] | None = None

    def at(self, width: int) -> RenderableType:
        """The layout for `width` cells (never narrower than `least`)."""
        width = max(self.least, width)
        if self._made is None or self._made[0] != width:
            self._made = (width, self.make(width))
        return self._made[1]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.at(options.max_width)


# --- the list -----------------------------------------------------------------------


class RecordList(ScrollView, can_focus=True):
    """Claims or cases, one line each: rating, evidence, id, and the claim's short form
    (else its statement) or the case's title."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"record-list--cursor", "record-list--dim"}
    DEFAULT_CSS = """
    RecordList { overflow-x: hidden; }
    RecordList > .record-list--cursor { background: $accent 40%; text-style: bold reverse; }
    RecordList:focus > .record-list--cursor { background: $accent; text-style: bold; }
    RecordList > .record-list--dim { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "move(-1000000000)", "First", show=False),
        Binding("end", "move(1000000000)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        """The cursor is on another record (or on none)."""

        def __init__(self, record: Record | None) -> None:
            self.record = record
            super().__init__()

    def __init__(self, *, ascii_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.records: Sequence[Record] = ()
        self.longest_id = 0
        self._cuts: tuple[tuple[int, int, int], dict[str, str]] | None = None
        self.mark = "*" if ascii_only else "●"

    @property
    def current(self) -> Record | None:
        """The record under the cursor."""
        return self.records[self.cursor] if 0 <= self.cursor < len(self.records) else None

    def set_records(self, records: Sequence[Record], keep: str | None = None) -> None:
        """Show these records; the cursor stays on `keep` if it is among them, else goes first."""
        self.records = records
        # Characters, not cells: ids are slugs, and ten thousand cell counts would cost
        # a keystroke's worth of time; a wider id is cut to its column anyway.
        self.longest_id = max((len(r.id) for r in records), default=0)
        self._cuts = None
        at = 0
        if keep is not None:
            for i, rec in enumerate(records):
                if rec.id == keep:
                    at = i
                    break
        self.virtual_size = Size(0, len(records))
        self.cursor = at
        self.refresh()

    def watch_cursor(self, old: int, new: int) -> None:
        if self.records:
            clamped = max(0, min(new, len(self.records) - 1))
            if clamped != new:
                self.cursor = clamped
                return
            self.scroll_to_region(Region(0, new, 1, 1), animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Highlighted(self.current))

    def on_resize(self) -> None:
        # Textual 1.0 keeps rows drawn at the old size where the list grew; draw them all.
        self.refresh()

    def action_move(self, by: int) -> None:
        self.cursor = max(0, min(self.cursor + by, len(self.records) - 1))

    def action_page(self, by: int) -> None:
        self.action_move(by * max(1, self.size.height - 1))

    def on_click(self, event: events.Click) -> None:
        row = event.y + self.scroll_offset.y
        if 0 <= row < len(self.records):
            self.cursor = row

    def columns(self, width: int) -> list[tuple[str, int]]:
        """(column, width) for a list `width` cells wide. The id gets room for the longest
        id on the list when the text keeps as much, else a fair share (cut in the middle);
        the text takes the rest. Narrow lists drop the evidence, then the text."""
        cols = [("mark", 2), ("rating", RATING_WIDTH)]
        rest = width - 2 - RATING_WIDTH
        if rest - EVIDENCE_WIDTH >= 2 * ID_LEAST:
            cols.append(("evidence", EVIDENCE_WIDTH))
            rest -= EVIDENCE_WIDTH
        idw = min(self.longest_id + 1, max(ID_LEAST, rest // 2))
        if rest - idw < TEXT_LEAST:
            return [*cols, ("id", max(0, rest))]
        return [*cols, ("id", idw), ("text", rest - idw)]

    def id_cell(self, record_id: str, width: int) -> str:
        """An id in `width` cells: whole, or cut so as to read apart from the others on
        screen (only those: a list of ten thousand costs no more than a screenful)."""
        top, height = self.scroll_offset.y, self.size.height
        if self._cuts is None or self._cuts[0] != (width, top, height):
            shown = [r.id for r in self.records[top : top + height]]
            self._cuts = ((width, top, height), cut_ids(shown, width))
        return self._cuts[1].get(record_id) or _fit(record_id, width)

    def _cells(self, rec: Record, width: int) -> list[Segment]:
        colour = Style.parse(rating_style(rec))
        out: list[Segment] = []
        for name, w in self.columns(width):
            if name == "mark":
                out.append(Segment(_fit(self.mark, w), colour))
            elif name == "rating":
                out.append(Segment(_fit(state.rating_of(rec), w - 1) + " ", colour))
            elif name == "evidence":
                out.append(Segment(_fit(rec.evidence.value, w - 1) + " "))
            elif name == "id":
                out.append(Segment(self.id_cell(rec.id, w - 1) + " " if w > 1 else ""))
            else:
                if isinstance(rec, Claim):
                    text = rec.claim_reviewed or rec.statement  # the short form, if any
                else:
                    text = rec.title
                out.append(Segment(_fit(text, w)))
        return out

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self.size.width
        base = self.rich_style
        if row >= len(self.records):
            return Strip.blank(width, base)
        # The columns fit beside the scrollbar, when there is one, not under it.
        room = self.scrollable_content_region.width
        strip = Strip(self._cells(self.records[row], room)).apply_style(base)
        if row == self.cursor:
            cursor = self.get_component_rich_style("record-list--cursor")
            strip = Strip(
                [Segment(t, (s or Style()) + cursor) for t, s, _ in strip] if cursor else strip
            )
        return strip.adjust_cell_length(width, base)


# --- modal screens --------------------------------------------------------------------


class Picker(ModalScreen[str | None]):
    """Choose one value from a list, each with its count; Escape leaves things as they were."""

    DEFAULT_CSS = """
    Picker { align: center middle; }
    Picker > Container { width: 60; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1; }
    Picker OptionList { height: auto; max-height: 20; border: none; }
    Picker Label { width: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    #: Cells around an option's text: the box's border and padding, the list's border,
    #: an option's padding and the scrollbar.
    FRAME = 10

    def __init__(self, title: str, options: list[tuple[str, str, int | None]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options

    @staticmethod
    def prompt(label: str, count: int | None) -> RenderableType:
        """One option on one line: its label (cut with an ellipsis when the box is too
        narrow) and its count at the right."""
        if count is None:
            return Text(label, no_wrap=True, overflow="ellipsis")
        grid = Table.grid(expand=True, padding=(0, 0, 0, 2))
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(Text(label), Text(str(count)))
        return grid

    def compose(self) -> ComposeResult:
        with Container():
            yield Label(self.title_text)
            yield OptionList(
                *(Option(self.prompt(label, n), id=value) for value, label, n in self.options)
            )

    def on_mount(self) -> None:
        # As wide as the longest option (the screen's edge permitting), not a fixed 60.
        widest = max(
            (cell_len(label) + (2 + len(str(n)) if n is not None else 0))
            for _, label, n in self.options
        )
        width = max(cell_len(self.title_text) + 4, widest + self.FRAME)
        self.query_one(Container).styles.width = width
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


#: What the export dialog offers: every format of `export` but ClaimReview, which needs
#: a publisher's name and address (`immunofacts export --format claimreview --claim ...`).
FORMATS = [f for f in ExportFormat if f is not ExportFormat.CLAIMREVIEW]
EXTENSIONS = {"sqlite": "db", "csl-json": "json", "bibtex": "bib"}


class ExportScreen(ModalScreen[str | None]):
    """Export the records on the list to a file, in a format `export` writes."""

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > #box { width: 64; max-width: 95%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1; }
    ExportScreen OptionList { height: auto; border: none; }
    ExportScreen Label { width: 1fr; }
    ExportScreen Input { margin: 1 0 0 0; }
    ExportScreen #error { color: $error; width: 1fr; height: auto; }
    ExportScreen #note { color: $text-muted; width: 1fr; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, count: int, write: Callable[[ExportFormat, Path], str]) -> None:
        super().__init__()
        self.count = count
        self.writer = write
        self.chosen = ExportFormat.JSON

    def compose(self) -> ComposeResult:
        # Scrolls on a short screen, the focused part in view, rather than run off it.
        with VerticalScroll(id="box"):
            yield Label(f"Export {self.count} records: pick a format, then a file name (Enter)")
            yield OptionList(*(Option(f.value, id=f.value) for f in FORMATS), id="formats")
            yield Label("ClaimReview needs a publisher: use `immunofacts export`.", id="note")
            yield Input(value=self._file_name(), id="file")
            yield Label("", id="error")

    def _file_name(self) -> str:
        return f"immunofacts-export.{EXTENSIONS.get(self.chosen.value, self.chosen.value)}"

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.chosen = ExportFormat(event.option.id or ExportFormat.JSON.value)
        box = self.query_one("#file", Input)
        if box.value.startswith("immunofacts-export.") or not box.value:
            box.value = self._file_name()
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if not name:
            self.query_one("#error", Label).update("give a file name")
            return
        try:
            message = self.writer(self.chosen, Path(name).expanduser())
        except ImmunofactsError as e:
            self.query_one("#error", Label).update(Text(clean(str(e))))
            return
        self.dismiss(message)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key, by where it works."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        # Keys in one column as wide as the longest, two cells from what they do, which
        # wraps in its own column on a narrow screen.
        widest = max((cell_len(key) for _, keys in self.sections for key, _ in keys), default=0)
        parts: list[RenderableType] = []
        for title, keys in self.sections:
            if parts:
                parts.append(Text(""))
            parts.append(Text(title, "bold underline"))
            grid = Table.grid(padding=(0, 0, 0, 2))
            grid.add_column(width=widest, no_wrap=True, style="bold")
            grid.add_column(ratio=1)
            for key, what in keys:
                grid.add_row(Text(key), Text(what))
            parts.append(grid)
        parts.append(Text("\nEscape, ? or q closes this help.", "italic"))
        with VerticalScroll():
            yield Static(Group(*parts), id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


def key_name(key: str) -> str:
    """A binding's key as a reader types it."""
    names = {
        "question_mark": "?",
        "slash": "/",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "escape": "Esc",
        "ctrl+c": "Ctrl-C",
        "pageup": "PgUp",
        "pagedown": "PgDn",
        "up": "Up",
        "down": "Down",
        "home": "Home",
        "end": "End",
    }
    return ", ".join(names.get(k, k) for k in key.split(","))


def bindings_help(bindings: Sequence[BindingType]) -> list[tuple[str, str]]:
    """(key, what it does) for each binding with a description."""
    out = []
    for b in bindings:
        if isinstance(b, Binding) and b.description:
            out.append((key_name(b.key), b.description))
    return out


# --- the source view ------------------------------------------------------------------------


class SourceScreen(Screen[None]):
    """The article, its quoted passages marked, the current one highlighted and in view."""

    DEFAULT_CSS = """
    SourceScreen #source-title { height: auto; padding: 0 1; background: $boost; }
    SourceScreen .para { height: auto; margin: 0 0 1 0; }
    SourceScreen .margin { height: auto; color: $text-muted; padding: 0 1 0 0; }
    SourceScreen .text { width: 1fr; height: auto; }
    SourceScreen.narrow .para { layout: vertical; }
    SourceScreen.narrow .margin { padding: 0; }
    SourceScreen #article { padding: 0 1; }
    """
    #: Help and quit first: the footer shows keys in this order, cut at the screen's edge.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
        Binding("n", "step(1)", "Next passage"),
        Binding("p", "step(-1)", "Previous passage"),
        Binding("escape,s", "back", "Back to the list"),
        Binding("y", "copy", "Copy id"),
    ]

    def __init__(self, ds: Dataset, at: str | None, *, color: bool) -> None:
        super().__init__()
        self.ds = ds
        self.text = ds.source_text or ""
        self.spans: list[Span] = query.quote_spans(ds)
        self.paras = query.paragraphs(self.text)
        self.color = color
        self.index = next((i for i, s in enumerate(self.spans) if s.record_id == at), 0)

    @property
    def current(self) -> Span | None:
        """The highlighted passage."""
        return self.spans[self.index] if self.spans else None

    def compose(self) -> ComposeResult:
        yield Static(id="source-title")
        with VerticalScroll(id="article"):
            for n in range(len(self.paras)):
                with Horizontal(classes="para", id=f"para-{n}"):
                    yield Static(classes="margin")
                    yield Static(classes="text")
        yield Footer()

    def on_mount(self) -> None:
        self.lay_out(self.app.size.width)
        self.draw()

    def on_resize(self, event: events.Resize) -> None:
        self.lay_out(event.size.width)
        self.show_title(event.size.width)

    def lay_out(self, width: int) -> None:
        """Ids in a margin, cut in the middle to fit it; on a narrow screen, above each
        paragraph, one longer than a line cut in the middle. The margin widens for whole
        ids once the text keeps 100 columns."""
        narrow = width < MARGIN
        self.set_class(narrow, "narrow")
        self.query_one(Footer).compact = width < ROOMY_FOOTER
        longest = max((len(s.record_id) for s in self.spans), default=0)
        margin = max(MARGIN_WIDTH, min(longest + 2, width - 100))
        # Narrow, the ids run across the line, each with a comma after it, and one longer
        # than a line is cut in the middle too, rather than broken across two lines: the
        # line is the screen's, less the article's padding and its scroll bar.
        room = max(8, width - NARROW_GUTTER) - 1 if narrow else margin - 1
        cuts = cut_ids([s.record_id for s in self.spans], room)
        for n, (a, b) in enumerate(self.paras):
            ids = [
                cuts.get(s.record_id, s.record_id).rstrip() for s in self.spans if a <= s.start < b
            ]
            box = self.query_one(f"#para-{n} .margin", Static)
            box.styles.width = "1fr" if narrow else margin
            box.update(Text(", ".join(ids) if narrow else "\n".join(ids)))

    def _para_of(self, span: Span) -> int:
        for n, (a, b) in enumerate(self.paras):
            if a <= span.start < b:
                return n
        return 0

    def draw(self) -> None:
        """Mark every passage, highlight the current one, and bring it into view."""
        cur = self.current
        quote = Style(underline=True)
        here = Style.parse("bold black on yellow") if self.color else Style(reverse=True, bold=True)
        for n, (a, b) in enumerate(self.paras):
            out = Text()
            pos = a
            for s in self.spans:
                if not (a <= s.start < b) or s.start < pos:
                    continue
                out.append(clean(self.text[pos : s.start]))
                style = here if s is cur else quote
                piece = clean(self.text[s.start : min(s.end, b)])
                out.append(f"⟦{piece}⟧" if s is cur and not self.color else piece, style)
                pos = min(s.end, b)
            out.append(clean(self.text[pos:b]))
            self.query_one(f"#para-{n} .text", Static).update(out)
        self.show_title(self.app.size.width)
        if cur is not None:
            para = self.query_one(f"#para-{self._para_of(cur)}")
            self.call_after_refresh(
                self.query_one("#article", VerticalScroll).scroll_to_widget,
                para,
                animate=False,
                top=True,
            )

    def show_title(self, width: int) -> None:
        """The title line: which passage is current, and whose (its id cut in the middle
        if it is longer than a line, rather than broken across two), or that none is."""
        cur = self.current
        title = Text()
        if cur is not None:
            title.append(f"Passage {self.index + 1} of {len(self.spans)}: ")
            room = max(8, width - 2)  # less the title's padding
            shown = cur.record_id
            if cell_len(shown) > room:
                shown = _fit_middle(shown, room)
            title.append(shown, "bold")
            title.append("  n next, p previous, Esc back", "dim")
        else:
            title.append(clean(self.ds.source.title), "bold")
            title.append("  no quoted passages found in the text")
        self.query_one("#source-title", Static).update(title)

    def action_step(self, by: int) -> None:
        if self.spans:
            self.index = (self.index + by) % len(self.spans)
            self.draw()

    def action_back(self) -> None:
        cur = self.current
        self.dismiss(None)
        if cur is not None and isinstance(self.app, Browser):
            if not self.app.select(cur.record_id, reveal=False):
                self.app.notify(
                    f"{cur.record_id} is hidden by the search or the filters; x clears them",
                    timeout=5,
                )

    def action_copy(self) -> None:
        if self.current is not None and isinstance(self.app, Browser):
            self.app.copy_id(self.current.record_id)

    def action_help(self) -> None:
        if isinstance(self.app, Browser):
            self.app.action_help()


# --- the app ----------------------------------------------------------------------------------


def _console_browser() -> bool:
    """Whether the web browser Python would start is a text one that takes over
    the terminal (lynx, w3m), or there is none: then a link is copied instead."""
    try:
        b = webbrowser.get()
    except webbrowser.Error:
        return True
    return type(b) is webbrowser.GenericBrowser


def open_in_browser(url: str) -> bool:
    """Open `url` in a graphical web browser; False when there is none."""
    if _console_browser():
        return False
    return webbrowser.open(url)


class Browser(App[int]):
    """Browse a dataset: list, filters, search, detail, source view, export."""

    TITLE = "immunofacts"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #tabs { height: 1; padding: 0 1; }
    #search { height: 1; border: none; padding: 0 1; background: $boost; }
    #search:focus { border: none; background: $accent 30%; }
    #status { height: 1; padding: 0 1; color: $text-muted; }
    #body { layout: horizontal; height: 1fr; }
    #list { width: 1fr; height: 1fr; border-right: vkey $panel; }
    #detail { width: 50%; max-width: 84; height: 1fr; padding: 0 1; }
    .narrow #body { layout: vertical; }
    .narrow #list { width: 1fr; height: 40%; border-right: none; border-bottom: hkey $panel; }
    .narrow #detail { width: 1fr; height: 1fr; padding: 0; }
    """
    #: Help and quit first: the footer shows keys in this order, cut at the screen's edge.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("slash", "search", "Search"),
        Binding("t", "tab", "Claims/cases"),
        Binding("r", "filter('rating')", "Rating filter"),
        Binding("k", "filter('kind')", "Kind filter", show=False),
        Binding("v", "filter('evidence')", "Evidence filter", show=False),
        Binding("n", "filter('entity')", "Entity filter", show=False),
        Binding("d", "filter('year')", "Year filter", show=False),
        Binding("x", "clear", "Clear filters and search", show=False),
        Binding("s", "source", "Source"),
        Binding("y", "copy", "Copy id", show=False),
        Binding("left_square_bracket", "link(-1)", "Previous link", show=False),
        Binding("right_square_bracket", "link(1)", "Next link", show=False),
        Binding("o", "open", "Open link", show=False),
        Binding("e", "export", "Export"),
        Binding("ctrl+c", "interrupt", "Quit (exit status 130)", show=False, priority=True),
    ]
    #: Keys that work in the search box.
    SEARCH_KEYS: ClassVar[list[tuple[str, str]]] = [
        ("typing", "filters the list as you type, with the `search` command's syntax"),
        ("Enter, Down, Esc", "back to the list"),
        ("Tab", "move between the search box, the list and the detail"),
    ]

    def __init__(
        self,
        ds: Dataset,
        *,
        data_path: Path | None = None,  # the file `ds` was read from: search uses its cache
        opener: Callable[[str], bool] = open_in_browser,
        ascii_only: bool = False,
    ) -> None:
        super().__init__()
        self.ds = ds
        self.data_path = data_path
        self.opener = opener
        self.ascii_only = ascii_only
        self.tab = Tab.CLAIMS
        self.filters = Filters()
        self.search_text = ""
        self.search_error: str | None = None
        self.hits: list[Record] | None = None
        self.shown: list[Record] = []
        self.current: Record | None = None
        self.link_index = 0
        #: Bumped each time the list is redrawn with new contents (for tests and benchmarks).
        self.generation = 0
        self.opened: list[str] = []
        self._allowed: dict[tuple[Tab, Filters], set[str] | None] = {}
        self.searcher = state.Searcher(ds, data_path)
        self._search_lock = threading.Lock()
        self._pending: str | None = None
        self._searching = False
        #: The search text whose results the list shows.
        self.searched_text = ""
        self._entities = ds.entity_map()
        # The widgets, held here so that the list screen's parts are reachable while
        # another screen is on top.
        self.tabs_line = Static(id="tabs")
        self.search_box = Input(placeholder="/ to search", id="search")
        self.status_line = Static(id="status")
        self.records_list = RecordList(id="list", ascii_only=ascii_only)
        self.detail = VerticalScroll(id="detail")
        self.doc = Static(id="doc")

    #: Actions of the list screen, off while another screen is on top.
    LIST_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        ("search", "tab", "filter", "clear", "source", "copy", "link", "open", "export", "help")
    )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """List keys work only on the list screen (so the footer shows only keys that work)."""
        if action in self.LIST_ACTIONS and len(self.screen_stack) > 1:
            return False
        return True

    # --- layout

    def compose(self) -> ComposeResult:
        yield self.tabs_line
        yield self.search_box
        yield self.status_line
        with Container(id="body"):
            yield self.records_list
            with self.detail:
                yield self.doc
        yield Footer()

    def on_mount(self) -> None:
        self.lay_out(self.size.width)
        self.refresh_list()
        self.records_list.focus()
        self.searcher.building()
        self.call_after_refresh(self.build_search_index)

    @work(thread=True, group="index", exit_on_error=False)  # else searches the slow way
    def build_search_index(self) -> None:
        """After the first screen, index where each word stands, for quicker searches."""
        self.searcher.build()

    def on_resize(self, event: events.Resize) -> None:
        self.lay_out(event.size.width)

    def lay_out(self, width: int) -> None:
        """Stack the list and the detail on a narrow screen, and squeeze its footer."""
        # The list's own screen, even while the help, a picker or the source view is on top.
        screen = self.records_list.screen
        screen.set_class(width < WIDE, "narrow")
        screen.query_one(Footer).compact = width < ROOMY_FOOTER

    # --- the list

    def allowed(self) -> set[str] | None:
        """Ids passing the filters on this tab (None: no filter), computed once per filter set."""
        return self.allowed_on(self.tab)

    def allowed_on(self, tab: Tab) -> set[str] | None:
        """Ids passing the filters on a tab (None: no filter), computed once per filter set."""
        if not self.filters.active():
            return None
        key = (tab, self.filters)
        if key not in self._allowed:
            self._allowed[key] = {r.id for r in state.filtered(self.ds, tab, self.filters)}
        return self._allowed[key]

    def refresh_list(self) -> None:
        """Recompute the list from the tab, filters and search hits, and redraw."""
        self.shown = state.visible(self.ds, self.tab, self.filters, self.hits, self.allowed())
        keep = self.current.id if self.current is not None else None
        self.generation += 1
        self.records_list.set_records(self.shown, keep)
        self.draw_header()

    def draw_header(self) -> None:
        """The tab line and the status line."""
        tabs = Text()
        for tab, count in ((Tab.CLAIMS, len(self.ds.claims)), (Tab.CASES, len(self.ds.cases))):
            label = f" {tab.value.capitalize()} ({count}) "
            tabs.append(label, "bold reverse" if tab is self.tab else "dim")
            tabs.append(" ")
        tabs.append(" t switches", "dim")
        self.tabs_line.update(tabs)
        total = len(state.records(self.ds, self.tab))
        status = Text(f"{len(self.shown)} of {total} {self.tab.value}")
        if self.searched_text.strip():
            status.append(f" · matching {self.searched_text.strip()!r}")
        if self.search_text != self.searched_text:
            status.append(" · searching…" if not self.ascii_only else " · searching...", "dim")
        for name, value in self.filters.active():
            status.append(" · ")
            status.append(f"{name} {value}", "bold")
        if self.search_error:
            status.append(f" · {self.search_error}", "bold red")
        if not self.filters.active() and not self.search_text.strip():
            status.append(" · r k v n d filter, / search, ? help", "dim")
        self.status_line.update(status)

    def on_record_list_highlighted(self, event: RecordList.Highlighted) -> None:
        moved = event.record is not self.current
        if moved:
            self.link_index = 0
        self.current = event.record
        self.show_detail()
        if moved:  # another record starts at its top, wherever the last was read to
            self.detail.scroll_home(animate=False)

    def show_detail(self) -> None:
        """Draw the detail of the record under the cursor."""
        doc = self.doc
        rec = self.current
        if rec is None:
            doc.update(Text("Nothing matches. x clears the filters and the search.", "italic"))
            return
        view = record_doc(self.ds, rec)
        color, ascii_only = not self.no_color, self.ascii_only

        def laid_out(width: int) -> RenderableType:
            env = Env(is_terminal=True, width=width, color=color, ascii_only=ascii_only)
            return renderable(view, env)

        parts: list[RenderableType] = [Reflowing(laid_out)]
        refs = references_of(rec)
        if refs:
            self.link_index %= len(refs)
            links = Text("Links ([ ] choose, o opens)\n", "bold underline")
            for i, ref in enumerate(refs):
                url = ref.link() or ""
                focused = i == self.link_index
                links.append("▸ " if focused and not self.ascii_only else "> " if focused else "  ")
                links.append(url, Style(link=url, bold=focused, underline=True))
                links.append(f"  {clean(ref.title, oneline=True)}\n", "dim")
            parts.append(links)
        doc.update(Group(*parts))

    def select(self, record_id: str, *, reveal: bool = True) -> bool:
        """Put the cursor on a record, switching tab if needed. When the search or the
        filters hide it, `reveal` clears them; else the list stays as it is. Whether the
        cursor is on it."""
        rec = next((r for r in self.ds.records() if r.id == record_id), None)
        if rec is None:
            return False
        tab = Tab.CLAIMS if isinstance(rec, Claim) else Tab.CASES
        if tab is not self.tab and not (reveal or self._would_show(tab, rec)):
            return False
        self.tab = tab
        self.current = rec
        self.refresh_list()
        if self.records_list.current is rec:
            return True
        if not reveal:
            return False
        self.filters = Filters()
        self.hits = None
        self.search_text = self.searched_text = ""
        self.search_box.value = ""
        self.refresh_list()
        return True

    def _would_show(self, tab: Tab, rec: Record) -> bool:
        shown = state.visible(self.ds, tab, self.filters, self.hits, self.allowed_on(tab))
        return rec in shown

    # --- search

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "search":
            return
        self.search_text = event.value
        self.draw_header()  # says "searching" until the results are in
        with self._search_lock:
            self._pending = event.value
            start = not self._searching
            self._searching = True
        if start:
            self.run_searches()

    @work(thread=True, group="search")
    def run_searches(self) -> None:
        """Search in one thread at a time, always for the box's latest text: what is typed
        while a search runs is searched next, and any text typed in between is skipped."""
        while True:
            with self._search_lock:
                text = self._pending
                self._pending = None
                if text is None:
                    self._searching = False
                    return
            hits: list[Record] | None = None
            error: str | None = None
            try:
                hits = self.searcher(text)
            except ImmunofactsError as e:
                error = str(e)
            try:
                self.call_from_thread(self._searched, text, hits, error)
            except RuntimeError:  # the app has closed
                return

    def _searched(self, text: str, hits: list[Record] | None, error: str | None) -> None:
        if text != self.search_text:
            return
        self.search_error = error
        if error is None:
            self.hits = hits
        self.searched_text = text
        self.refresh_list()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            self.records_list.focus()

    def on_key(self, event: events.Key) -> None:
        search = self.search_box
        if self.focused is search and event.key in ("escape", "down"):
            self.records_list.focus()
            event.stop()

    def action_search(self) -> None:
        self.search_box.focus()

    # --- filters and tabs

    def action_tab(self) -> None:
        self.tab = Tab.CASES if self.tab is Tab.CLAIMS else Tab.CLAIMS
        self.current = None
        self.refresh_list()

    def filter_options(self, name: str) -> list[tuple[str, str, int | None]]:
        """(value, label, count) choices for a filter on the current tab, `any` first."""
        out: list[tuple[str, str, int | None]] = [("", "any (no filter)", None)]
        for value, count in state.facet(self.ds, self.tab, name):
            label = value
            if name == "entity" and value in self._entities:
                label = f"{self._entities[value].name} ({value})"
            out.append((value, clean(label, oneline=True), count))
        return out

    def action_filter(self, name: str) -> None:
        def chosen(value: str | None) -> None:
            if value is None:
                return
            self.set_filter(name, value or None)

        title = f"Filter {self.tab.value} by {name} (Enter picks, Esc cancels)"
        self.push_screen(Picker(title, self.filter_options(name)), chosen)

    def set_filter(self, name: str, value: str | None) -> None:
        """Set one filter (None clears it) and redraw."""
        typed: Any = int(value) if name == "year" and value is not None else value
        self.filters = Filters(**{**msgspec.structs.asdict(self.filters), name: typed})
        self.refresh_list()

    def action_clear(self) -> None:
        self.filters = Filters()
        self.search_box.value = ""
        self.search_text = self.searched_text = ""
        self.hits = None
        self.search_error = None
        self.refresh_list()

    # --- actions on the current record

    def copy_id(self, record_id: str) -> None:
        """Copy an id to the terminal's clipboard (OSC 52)."""
        self.copy_to_clipboard(record_id)
        self.notify(f"copied {record_id}", timeout=3)

    def action_copy(self) -> None:
        if self.current is not None:
            self.copy_id(self.current.id)

    def action_link(self, by: int) -> None:
        if self.current is not None and references_of(self.current):
            self.link_index += by
            self.show_detail()

    def action_open(self) -> None:
        refs = references_of(self.current) if self.current is not None else []
        if not refs:
            self.notify("this record has no link to open", severity="warning", timeout=3)
            return
        url = refs[self.link_index % len(refs)].link() or ""
        self.opened.append(url)
        if self.opener(url):
            self.notify(f"opened {url}", timeout=3)
        else:
            self.copy_to_clipboard(url)
            self.notify(f"no web browser here; copied {url}", timeout=5)

    def action_source(self) -> None:
        if self.ds.source_text is None:
            self.notify("this dataset names no source text", severity="warning", timeout=3)
            return
        at = self.current.id if self.current is not None else None
        self.push_screen(SourceScreen(self.ds, at, color=not self.no_color))

    # --- export, help, quit

    def export_to(self, fmt: ExportFormat, path: Path) -> str:
        """Write the records on the list to `path` through `export`'s code; a message."""
        from ..errors import OutputError
        from ..output import OutputExistsError, check_target, write_atomic
        from ..paths import text_dir
        from ..render.export import export_text, relocated

        warnings: tuple[str, ...] = ()
        try:
            check_target(path, overwrite=False)
            sub = state.subset(self.ds, self.shown)
            if self.data_path is not None:
                sub = relocated(sub, text_dir(self.data_path), text_dir(path))
            if fmt is ExportFormat.SQLITE:
                from ..export.sqlite import write_sqlite

                write_sqlite(sub, str(path), overwrite=False)
            else:
                exported = export_text(sub, fmt)
                warnings = tuple(exported.warnings)
                write_atomic(path, exported.text, overwrite=False)
        except OutputExistsError:
            raise OutputError(f"{named(path)} exists; give another name") from None
        for warning in warnings:
            self.notify(f"warning: {warning}", severity="warning", timeout=8)
        whose = {
            ExportFormat.CSL_JSON: "the references of ",
            ExportFormat.BIBTEX: "the references of ",
            ExportFormat.RIS: "the references of ",
        }.get(fmt, "")  # a file of references is not one of records
        return f"wrote {whose}{len(self.shown)} {self.tab.value} to {path} ({fmt.value})"

    def action_export(self) -> None:
        if not self.shown:
            self.notify("nothing to export: the list is empty", severity="warning", timeout=3)
            return

        def done(message: str | None) -> None:
            if message:
                self.notify(message, timeout=5)

        self.push_screen(ExportScreen(len(self.shown), self.export_to), done)

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every key, grouped by where it works."""
        return [
            ("The list", bindings_help(self.BINDINGS) + bindings_help(RecordList.BINDINGS)),
            ("The search box", self.SEARCH_KEYS),
            ("The source view (s)", bindings_help(SourceScreen.BINDINGS)),
            ("Pickers and export", [("Up, Down, Enter", "choose"), ("Esc", "cancel")]),
        ]

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections()))

    async def action_quit(self) -> None:
        self.exit(0)

    def action_interrupt(self) -> None:
        self.exit(130, return_code=130)
