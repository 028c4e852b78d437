"""The browser's layout at the widths and heights a terminal is likely to have: every pane,
list and picker uses the room it has, and a resized window looks as if it had started at
its new size.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from conftest import DATA
from textual.pilot import Pilot
from textual.widgets import OptionList

from immunofacts.loading import load_dataset
from immunofacts.model import Claim, Dataset
from immunofacts.tui.app import Browser, RecordList, _fit_middle, cut_ids

WIDTHS = (40, 80, 100, 120, 200)
HEIGHTS = (15, 40)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


def run(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(make())


def screen_lines(app: Browser) -> list[str]:
    """What the terminal shows, line by line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def region_text(app: Browser, selector: str) -> list[str]:
    """The lines of the screen inside one widget's region."""
    r = app.screen.query_one(selector).region
    return [line[r.x : r.right] for line in screen_lines(app)[r.y : r.bottom]]


def flat(lines: list[str]) -> str:
    """Lines as one, box drawing and runs of blanks squeezed, for `in` checks."""
    text = " ".join(lines)
    for ch in "│╭╮╰╯─▕▏▎▊▔▁":
        text = text.replace(ch, " ")
    return " ".join(text.split())


async def settle(pilot: Pilot[int]) -> None:
    """Wait until what a key or a resize set off has been drawn."""
    await pilot.pause()
    await pilot.pause()


@asynccontextmanager
async def browsing(
    ds: Dataset, size: tuple[int, int], **kwargs: Any
) -> AsyncIterator[tuple[Browser, Pilot[int]]]:
    app = Browser(ds, data_path=DATA, **kwargs)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        yield app, pilot


async def first_screen(ds: Dataset, size: tuple[int, int], keys: tuple[str, ...] = ()) -> str:
    async with browsing(ds, size) as (app, pilot):
        await pilot.press(*keys)
        await settle(pilot)
        return "\n".join(screen_lines(app))


# --- resizing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [((100, 30), (40, 30)), ((40, 30), (200, 30)), ((200, 40), (100, 15)), ((80, 15), (120, 40))],
)
def test_a_resized_window_looks_as_if_it_had_started_at_that_size(
    ds: Dataset, start: tuple[int, int], end: tuple[int, int]
) -> None:
    async def go() -> None:
        want = await first_screen(ds, end)
        async with browsing(ds, start) as (app, pilot):
            await pilot.resize_terminal(*end)
            await settle(pilot)
            assert "\n".join(screen_lines(app)) == want

    run(go)


@pytest.mark.parametrize("under", [(), ("s",)], ids=["list", "source"])
def test_a_resize_under_the_help_lays_out_the_screen_beneath(
    ds: Dataset, under: tuple[str, ...]
) -> None:
    async def go() -> None:
        want = await first_screen(ds, (40, 30), under)
        async with browsing(ds, (100, 30)) as (app, pilot):
            await pilot.press(*under, "question_mark")
            await settle(pilot)
            await pilot.resize_terminal(40, 30)
            await settle(pilot)
            await pilot.press("escape")
            await settle(pilot)
            assert "\n".join(screen_lines(app)) == want

    run(go)


# --- the list -------------------------------------------------------------------------

ID = re.compile(r"\b(?:claim|case)-\S*")


def shows_id(cell: str, record_id: str) -> bool:
    """Whether a cell of the list shows an id whole, or cut in the middle with an ellipsis."""
    if cell == record_id:
        return True
    head, sep, tail = cell.partition("…")
    return (
        bool(sep)
        and len(head) >= 5
        and len(tail) >= 5
        and (record_id.startswith(head) and record_id.endswith(tail))
    )


async def check_rows(app: Browser) -> None:
    """Each row on screen shows its record's id, whole or cut in the middle, and no two
    read the same."""
    listing = app.query_one(RecordList)
    room = listing.scrollable_content_region
    top = listing.scroll_offset.y
    lines = screen_lines(app)[room.y : room.bottom][: len(app.shown) - top]
    assert lines
    cells = []
    for i, line in enumerate(lines):
        rec = app.shown[top + i]
        found = ID.findall(line[room.x : room.right])
        assert found and shows_id(found[0], rec.id), (app.size, line, rec.id)
        cells.append(found[0])
    assert len(set(cells)) == len(cells), (app.size, cells)


@pytest.mark.parametrize("width", WIDTHS)
def test_each_row_shows_its_id_whole_or_cut_in_the_middle_beside_the_scrollbar(
    ds: Dataset, width: int
) -> None:
    async def go() -> None:
        async with browsing(ds, (width, 15)) as (app, pilot):
            await check_rows(app)  # claims, the first rows
            await pilot.press("end")
            await settle(pilot)
            await check_rows(app)  # the last rows
            await pilot.press("t")
            await settle(pilot)
            await check_rows(app)  # cases
            await pilot.resize_terminal(width, 40)
            await settle(pilot)
            await check_rows(app)  # cases, taller

    run(go)


def test_every_id_stays_apart_at_every_width(ds: Dataset) -> None:
    for records in (list(ds.claims), list(ds.cases)):
        all_ids = [r.id for r in records]
        for width in range(12, 60):
            cuts = cut_ids(all_ids, width)
            cells = [cuts.get(i, i) for i in all_ids]
            assert all(len(c) <= width for c in cells)
            assert all(shows_id(c.rstrip(), i) for c, i in zip(cells, all_ids, strict=True)), width
            assert len(set(cells)) == len(cells), (width, cells)


def test_ids_that_only_a_middle_cut_would_confuse_are_cut_elsewhere() -> None:
    ids = ["claim-cell-banking-aaa-popular-open", "claim-cell-banking-bbb-popular-open"]
    assert _fit_middle(ids[0], 20) == _fit_middle(ids[1], 20)
    cuts = cut_ids(ids, 20)
    assert cuts[ids[0]] != cuts[ids[1]] and all(shows_id(cuts[i], i) for i in ids)


def test_a_wide_list_gives_the_text_the_room_it_has(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds, (200, 40)) as (app, _):
            listing = app.query_one(RecordList)
            room = listing.scrollable_content_region
            lines = screen_lines(app)[room.y : room.bottom]
            for i, line in enumerate(lines[:10]):
                rec = app.shown[i]
                assert isinstance(rec, Claim)
                text = rec.claim_reviewed or rec.statement
                assert text[:38] in line[room.x : room.right], line
            # The detail keeps a reading width and leaves the rest to the list.
            assert listing.region.width > app.query_one("#detail").region.width

    run(go)


# --- the help -------------------------------------------------------------------------


@pytest.mark.parametrize("width", [40, 80, 200])
def test_help_keeps_a_gap_between_each_key_and_what_it_does(ds: Dataset, width: int) -> None:
    async def go() -> None:
        async with browsing(ds, (width, 90)) as (app, pilot):
            sections = app.help_sections()
            await pilot.press("question_mark")
            await settle(pilot)
            lines = region_text(app, "HelpScreen VerticalScroll")
            starts = set()
            for _, keys in sections:
                for key, what in keys:
                    first = what.split()[0]
                    pattern = re.compile(rf"(^|\s){re.escape(key)}\s{{2,}}{re.escape(first)}")
                    found = [m for m in map(pattern.search, lines) if m]
                    assert found, (key, what, width)
                    starts.add(found[0].end() - len(first))
            # The descriptions start in one column.
            assert len(starts) == 1, starts

    run(go)


# --- the footer -----------------------------------------------------------------------


def test_help_and_quit_stay_in_the_footer_at_every_width(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds, (40, 15)) as (app, pilot):
            for width in WIDTHS:
                for height in HEIGHTS:
                    await pilot.resize_terminal(width, height)
                    await settle(pilot)
                    footer = screen_lines(app)[-1]
                    assert "? Help" in footer and "q Quit" in footer, footer
            # The source view's footer is longer: narrow screens.
            for width in (40, 80):
                await pilot.resize_terminal(width, 15)
                await pilot.press("s")
                await settle(pilot)
                footer = screen_lines(app)[-1]
                assert "? Help" in footer and "q Quit" in footer, footer
                await pilot.press("escape")
                await settle(pilot)

    run(go)


# --- the pickers ----------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_pickers_count_stands_on_its_values_first_line(ds: Dataset, width: int) -> None:
    async def go() -> None:
        async with browsing(ds, (width, 40)) as (app, pilot):
            # The entity picker at every width (its values are the longest), the rating
            # picker and a short screen at the narrowest and the widest.
            plan = [(40, "n", "entity")]
            if width in (40, 200):
                plan += [(40, "r", "rating"), (15, "n", "entity")]
            for height, key, name in plan:
                await pilot.resize_terminal(width, height)
                await settle(pilot)
                await pilot.press(key)
                await settle(pilot)
                title = flat(region_text(app, "Picker Label"))
                assert title.endswith("(Enter picks, Esc cancels)"), title
                options = app.screen.query_one(OptionList)
                room = options.scrollable_content_region
                lines = [
                    line[room.x : room.right].strip()
                    for line in screen_lines(app)[room.y : room.bottom]
                ]
                assert not [ln for ln in lines if ln.isdigit()], lines
                checked = 0
                for _, label, count in app.filter_options(name)[1:]:
                    head = label[: min(12, room.width // 3)]
                    found = [ln for ln in lines if ln.startswith(head)]
                    if found:
                        assert found[0].endswith(f" {count}"), (label, found[0])
                        checked += 1
                assert checked >= min(3, room.height - 2), lines
                await pilot.press("escape")
                await settle(pilot)

    run(go)


def test_the_export_dialog_says_all_it_has_to_say_at_40_columns(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds, (40, 30)) as (app, pilot):
            await pilot.press("e")
            await settle(pilot)
            text = flat(region_text(app, "ExportScreen > #box"))
            assert "then a file name (Enter)" in text, text
            assert "use `immunofacts export`." in text, text

    run(go)


# --- the source view ------------------------------------------------------------------


def test_the_source_views_margin_shows_ids_whole_or_cut_in_the_middle(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds, (80, 40)) as (app, pilot):
            await pilot.press("s")
            await settle(pilot)
            for width in (80, 120, 200):
                await pilot.resize_terminal(width, 40)
                await settle(pilot)
                cells: list[str] = []
                article = app.screen.query_one("#article").region
                for margin in app.screen.query(".margin"):
                    r = margin.region.intersection(article)
                    if not r.height:
                        continue
                    lines = screen_lines(app)[r.y : r.bottom]
                    cells += [line[r.x : r.right].strip() for line in lines]
                cells = [c for c in cells if c]
                assert cells, width
                wanted = {s.record_id for s in app.screen.spans}  # type: ignore[attr-defined]
                for cell in cells:
                    assert any(shows_id(cell, i) for i in wanted), (width, cell)
                assert len(set(cells)) == len(cells), (width, cells)
                if width >= 200:
                    assert set(cells) <= wanted, width  # room for every id whole

    run(go)


@pytest.mark.parametrize("size", [(40, 15), (100, 15)])
def test_the_export_dialog_fits_a_short_screen(ds: Dataset, size: tuple[int, int]) -> None:
    async def go() -> None:
        async with browsing(ds, size) as (app, pilot):
            await pilot.press("e")
            await settle(pilot)
            box = app.screen.query_one("#box").region
            assert box.bottom <= size[1], box  # its bottom border is on screen
            await pilot.press("down", "enter")  # a format: the file name box has focus
            await settle(pilot)
            name = app.screen.query_one("#file").region
            assert name.height and name.bottom <= box.bottom, (name, box)
            assert "immunofacts-export.yaml" in flat(screen_lines(app))

    run(go)


def test_a_narrow_source_view_never_breaks_an_id_across_lines(ds: Dataset) -> None:
    """Narrow, the ids stand above each passage, across the line: each line holds whole
    ids (cut in the middle when longer than a line), never a piece of one; so does the
    title, which names the current passage's."""
    assert max(len(c.id) for c in ds.claims) > 40 - 4  # longer than a line at 40 columns

    async def go() -> None:
        async with browsing(ds, (40, 40)) as (app, pilot):
            await pilot.press("s")
            await settle(pilot)
            wanted = {s.record_id for s in app.screen.spans}  # type: ignore[attr-defined]
            for width in (40, 30, 60):
                await pilot.resize_terminal(width, 40)
                await settle(pilot)
                lines = screen_lines(app)
                article = app.screen.query_one("#article").region
                pieces: list[str] = []
                for margin in app.screen.query(".margin"):
                    r = margin.region.intersection(article)
                    pieces += [
                        piece
                        for line in lines[r.y : r.bottom]
                        for piece in line[r.x : r.right].strip().split(", ")
                        if piece
                    ]
                assert pieces, width
                for piece in pieces:
                    cell = piece.removesuffix(",")
                    assert any(shows_id(cell, i) for i in wanted), (width, piece)
                # the title names the current passage's id, whole or cut, on one line
                title = app.screen.query_one("#source-title").region
                named = [
                    word
                    for line in lines[title.y : title.bottom]
                    for word in line.split()
                    if word.startswith("claim-")
                ]
                assert len(named) == 1 and any(shows_id(named[0], i) for i in wanted), named

    run(go)
