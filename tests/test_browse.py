"""The full-screen browser, driven headless with Textual's Pilot.

Each test starts the app at a fixed size, presses keys as a reader would, and
checks the app's state and the text on screen. Search is checked against the
`search` command itself: same ids, same order.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, ROOT
from textual.pilot import Pilot
from textual.widgets import Input, OptionList
from typer.testing import CliRunner

from immunofacts import query
from immunofacts.cli import app as cli_app
from immunofacts.errors import UsageError
from immunofacts.loading import load_dataset
from immunofacts.model import Case, Claim, Dataset, Rating
from immunofacts.render import views
from immunofacts.render.base import ExportFormat
from immunofacts.render.export import export_text
from immunofacts.tui import state
from immunofacts.tui.app import (
    SCORE_STYLES,
    Browser,
    ExportScreen,
    HelpScreen,
    Picker,
    RecordList,
    SourceScreen,
    rating_style,
    references_of,
)

WIDE = (80, 24)
NARROW = (40, 30)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


def screen_text(app: Browser) -> str:
    """What the terminal shows, as text, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def flat(app: Browser) -> str:
    """The screen's text with runs of blanks and box drawing squeezed, for `in` checks."""
    text = screen_text(app)
    for ch in "│╭╮╰╯─▕▏▎▊":
        text = text.replace(ch, " ")
    return " ".join(text.split())


@asynccontextmanager
async def browsing(
    ds: Dataset, size: tuple[int, int] = WIDE, **kwargs: Any
) -> AsyncIterator[tuple[Browser, Pilot[int]]]:
    app = Browser(ds, data_path=DATA, **kwargs)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        yield app, pilot


async def press(pilot: Pilot[int], *keys: str) -> None:
    """Press keys, then wait for search workers and for the screen to settle."""
    await pilot.press(*keys)
    if pilot.app.workers:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def type_search(pilot: Pilot[int], text: str) -> None:
    await press(pilot, "slash")
    await press(pilot, *(("space" if ch == " " else ch) for ch in text))


def run(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(make())


def ids(records: list[Any]) -> list[str]:
    return [r.id for r in records]


# --- start-up, layout ------------------------------------------------------------------------


def test_first_screen_at_80x24(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds, WIDE) as (app, _):
            assert not app.screen.has_class("narrow")
            assert app.tab is state.Tab.CLAIMS
            assert ids(app.shown) == ids(list(ds.claims))
            assert isinstance(app.focused, RecordList)
            text = screen_text(app)
            lines = text.split("\n")
            assert len(lines) == 24 and all(len(line) == 80 for line in lines)
            assert f"Claims ({len(ds.claims)})" in lines[0]
            assert f"Cases ({len(ds.cases)})" in lines[0]
            assert f"{len(ds.claims)} of {len(ds.claims)} claims" in lines[2]
            first = ds.claims[0]
            assert state.rating_of(first) in lines[3]
            # The detail pane sits beside the list and shows the first claim.
            assert first.id in lines[3]
            assert "Quit" in lines[-1] and "Search" in lines[-1]

    run(go)


def test_stacked_layout_at_40x30(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds, NARROW) as (app, pilot):
            assert app.screen.has_class("narrow")
            listing = app.query_one(RecordList)
            detail = app.query_one("#detail")
            assert listing.region.width == 40
            assert detail.region.y >= listing.region.bottom
            text = screen_text(app)
            assert all(len(line) == 40 for line in text.split("\n"))
            assert ds.claims[0].statement.split()[0] in flat(app)
            await press(pilot, "down")
            assert app.current is ds.claims[1]
            assert ds.claims[1].id[:20] in flat(app)

    run(go)


def test_resizing_switches_layout(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds, (100, 30)) as (app, pilot):
            assert not app.screen.has_class("narrow")
            await pilot.resize_terminal(50, 30)
            await pilot.pause()
            assert app.screen.has_class("narrow")

    run(go)


# --- moving, the detail pane -----------------------------------------------------------------


def test_keys_move_the_cursor_and_the_detail_follows(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds) as (app, pilot):
            listing = app.query_one(RecordList)
            await press(pilot, "down", "down")
            assert listing.cursor == 2 and app.current is ds.claims[2]
            await press(pilot, "end")
            assert app.current is ds.claims[-1]
            assert ds.claims[-1].id[:20] in flat(app)
            await press(pilot, "home")
            assert app.current is ds.claims[0]
            await press(pilot, "pagedown")
            assert listing.cursor == listing.size.height - 1
            await press(pilot, "pageup")
            assert listing.cursor == 0
            await press(pilot, "up")
            assert listing.cursor == 0

    run(go)


def test_the_next_record_starts_at_its_top_however_far_the_last_was_read(ds: Dataset) -> None:
    async def go() -> None:
        long = max(range(len(ds.claims) - 1), key=lambda i: len(str(ds.claims[i].review)))
        async with browsing(ds, (100, 20)) as (app, pilot):
            detail = app.query_one("#detail")
            await press(pilot, *["down"] * long)
            assert app.current is ds.claims[long]
            await press(pilot, "tab", "end")
            assert detail.scroll_offset.y > 0  # its detail, read to its end
            await press(pilot, "shift+tab", "down")
            assert app.current is ds.claims[long + 1]
            assert detail.scroll_offset.y == 0

    run(go)


def test_detail_shows_what_show_claim_shows_and_the_label_definitions(ds: Dataset) -> None:
    claim = next(c for c in ds.claims if c.review and c.review.references)

    async def go() -> None:
        async with browsing(ds, (160, 60)) as (app, pilot):
            app.select(claim.id)
            await pilot.pause()
            assert app.current is claim
            doc = views.claim_doc(ds, claim)
            text = flat(app)
            for section in doc.sections:
                for f in section.fields:
                    assert " ".join(str(f.value).split())[:30] in text, f.label
            assert " ".join(claim.quote.split())[:40] in text
            assert claim.review is not None
            from immunofacts.model import definition

            assert definition(claim.review.rating)[:30] in text
            assert definition(claim.evidence)[:30] in text
            assert definition(claim.review.verdict)[:30] in text

    run(go)


def test_case_detail_follows_show_case(ds: Dataset) -> None:
    case = ds.cases[0]

    async def go() -> None:
        async with browsing(ds, (160, 60)) as (app, pilot):
            await press(pilot, "t")
            assert app.tab is state.Tab.CASES
            assert ids(app.shown) == ids(list(ds.cases))
            assert f"{len(ds.cases)} of {len(ds.cases)} cases" in flat(app)
            assert app.current is case
            text = flat(app)
            for f in views.case_doc(ds, case).sections[0].fields:
                assert " ".join(str(f.value).split())[:30] in text
            await press(pilot, "t")
            assert app.tab.value == "claims"

    run(go)


def test_rating_colours_follow_the_scale(ds: Dataset) -> None:
    from rich.style import Style

    def rgb(style: str) -> tuple[int, int, int]:
        colour = Style.parse(style).color
        assert colour is not None
        t = colour.get_truecolor()
        return t.red, t.green, t.blue

    # Green at the top of the scale, red at the bottom, warmer at every step down; grey off it.
    warmth = [
        rgb(SCORE_STYLES[score])[0] - rgb(SCORE_STYLES[score])[1] for score in (5, 4, 3, 2, 1)
    ]
    assert warmth == sorted(warmth) and warmth[0] < 0 < warmth[-1]
    grey = rgb(SCORE_STYLES[None])
    assert max(grey) - min(grey) < 40
    scores = [r.score for r in Rating if r.score is not None]
    assert sorted(scores, reverse=True) == scores  # the enum runs best to worst
    for rec in ds.records():
        if rec.review is not None:
            assert rating_style(rec) == SCORE_STYLES[rec.review.rating.score]

    async def go() -> None:
        async with browsing(ds) as (app, _):
            listing = app.query_one(RecordList)
            row = listing.render_line(0)
            styles = [seg.style for seg in row if seg.text.strip()]
            first_colour = styles[0]
            assert first_colour is not None and first_colour.color is not None

    run(go)


# --- search ----------------------------------------------------------------------------------


def test_slash_focuses_search_and_typing_filters(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds) as (app, pilot):
            await press(pilot, "slash")
            assert isinstance(app.focused, Input)
            await press(pilot, "l", "u", "p")
            want = [r.id for r in state.searched(ds, "lup") or [] if isinstance(r, Claim)]
            assert want and ids(app.shown) == want
            await press(pilot, "u", "s")
            want = [r.id for r in state.searched(ds, "lupus") or [] if isinstance(r, Claim)]
            assert ids(app.shown) == want
            assert "matching 'lupus'" in flat(app)
            await press(pilot, "escape")
            assert isinstance(app.focused, RecordList)
            # Letters typed in the box never reach the list's keys.
            assert app.filters == state.Filters() and app.tab is state.Tab.CLAIMS
            await press(pilot, "t")
            assert ids(app.shown) == [
                r.id for r in state.searched(ds, "lupus") or [] if isinstance(r, Case)
            ]
            await press(pilot, "slash", "ctrl+u")
            assert ids(app.shown) == ids(list(ds.cases))
            await press(pilot, "z", "z", "q", "x", "enter")
            assert app.shown == [] and "Nothing matches" in flat(app)
            assert isinstance(app.focused, RecordList)
            await press(pilot, "x")
            assert ids(app.shown) == ids(list(ds.cases))
            assert app.query_one("#search", Input).value == ""

    run(go)


QUERIES = ["lupus", "CAR-T China", "cell", "mice fat", "Lancet", "NK", "bank", "2020 FDA"]


def cli_search_ids(query_text: str) -> list[str]:
    result = CliRunner().invoke(
        cli_app, ["search", *query_text.split(), "--format", "json", "--data", str(DATA)]
    )
    if result.exit_code == 1:
        return []
    assert result.exit_code == 0, result.output
    return [hit["id"] for hit in json.loads(result.stdout)]


@pytest.mark.parametrize("text", QUERIES)
def test_search_returns_what_the_search_command_returns(ds: Dataset, text: str) -> None:
    cli = cli_search_ids(text)
    cli_search_ids(text)  # the cache is built now: the second search is served from it
    assert cli
    for found in (
        state.searched(ds, text),
        state.Searcher(ds)(text),
        state.Searcher(ds, DATA)(text),
        indexed(ds)(text),
    ):
        assert found is not None
        assert ids(found) == cli


def indexed(ds: Dataset) -> state.Searcher:
    """A searcher whose index of where each word stands is built."""
    searcher = state.Searcher(ds)
    searcher.build()
    return searcher


def test_the_browsers_search_leaves_the_collector_as_it_is(ds: Dataset) -> None:
    """The browser runs on after a search, and searches in a thread: a search must not turn
    the cyclic collector off, nor move what it made out of the collector's reach."""
    import gc
    import threading

    # What this thread asks of the collector: a loader left running in a thread by an
    # earlier test may pause the collector meanwhile, which is not the search's doing.
    asked: list[str] = []
    here = threading.get_ident()

    def spy(name: str) -> Callable[[], None]:
        real = getattr(gc, name)

        def call() -> None:
            if threading.get_ident() == here:
                asked.append(name)
            real()

        return call

    searcher = state.Searcher(ds)
    with pytest.MonkeyPatch.context() as mp:
        for name in ("disable", "freeze"):
            mp.setattr(gc, name, spy(name))
        for text in ("lupus", "car-t", "the -mice"):  # before the index, and a phrase after
            assert searcher(text)
            searcher.build()
    assert asked == []


def test_a_box_without_words_is_no_search() -> None:
    for text in ("", "  ", "-lupus", '"', "- -"):
        assert state.parsed(text) is None, text
    assert state.parsed("lupus -mice") is not None
    with pytest.raises(UsageError):
        state.parsed(" ".join(f"w{i}" for i in range(query.MAX_TERMS + 1)))


def test_search_in_the_app_matches_the_command_on_both_tabs(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds) as (app, pilot):
            for text in QUERIES[:2]:
                cli = cli_search_ids(text)
                await press(pilot, "x")
                await type_search(pilot, text)
                claims = ids(app.shown)
                await press(pilot, "escape", "t")
                cases = ids(app.shown)
                await press(pilot, "t")
                assert claims == [i for i in cli if i.startswith("claim-")]
                assert cases == [i for i in cli if i.startswith("case-")]

    run(go)


# --- filters ---------------------------------------------------------------------------------


FILTER_KEYS = [("r", "rating"), ("k", "kind"), ("v", "evidence"), ("n", "entity"), ("d", "year")]


def test_each_filter_key_picks_a_value(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds) as (app, pilot):
            for key, name in FILTER_KEYS:
                values = state.facet(ds, state.Tab.CLAIMS, name)
                await press(pilot, key)
                assert isinstance(app.screen, Picker)
                options = app.screen.query_one(OptionList)
                assert options.option_count == len(values) + 1
                assert f"by {name}" in flat(app)
                await press(pilot, "down", "down", "enter")  # the second value
                value = values[1][0]
                assert dict(app.filters.active()) == {name: value}
                want = state.filtered(ds, state.Tab.CLAIMS, app.filters)
                assert ids(app.shown) == ids(want) and len(want) == values[1][1]
                assert f"{name} {value}" in flat(app)
                # Escape leaves the filter as it was; `any` clears it.
                await press(pilot, key, "escape")
                assert dict(app.filters.active()) == {name: value}
                await press(pilot, key, "enter")
                assert app.filters == state.Filters()
                assert ids(app.shown) == ids(list(ds.claims))

    run(go)


def test_filters_combine_with_search_and_clear_together(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds) as (app, pilot):
            app.set_filter("rating", "unsupported")
            await type_search(pilot, "cell")
            hits = state.searched(ds, "cell") or []
            want = [
                r.id for r in hits if isinstance(r, Claim) and state.rating_of(r) == "unsupported"
            ]
            assert want and ids(app.shown) == want
            await press(pilot, "escape", "x")
            assert app.filters == state.Filters() and app.search_text == ""
            assert ids(app.shown) == ids(list(ds.claims))

    run(go)


def test_filter_values_and_counts(ds: Dataset) -> None:
    ratings = state.facet(ds, state.Tab.CLAIMS, "rating")
    order = [r.value for r in Rating] + [state.NOT_RATED]
    assert [v for v, _ in ratings] == [v for v in order if v in dict(ratings)]
    assert sum(n for _, n in ratings) == len(ds.claims)
    years = [int(v) for v, _ in state.facet(ds, state.Tab.CLAIMS, "year")]
    assert years == sorted(years, reverse=True)
    case_years = state.facet(ds, state.Tab.CASES, "year")
    assert case_years and state.facet(ds, state.Tab.CASES, "kind") == []
    hospital = next(c.hospital for c in ds.cases if c.hospital)
    assert hospital in dict(state.facet(ds, state.Tab.CASES, "entity"))
    kept = state.filtered(ds, state.Tab.CASES, state.Filters(entity=hospital))
    assert kept and all(hospital in state.entities_of(c) for c in kept)


# --- acting on a record ----------------------------------------------------------------------


def test_y_copies_the_focused_id(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds) as (app, pilot):
            await press(pilot, "down", "y")
            assert app.clipboard == ds.claims[1].id

    run(go)


def test_links_are_chosen_and_opened(ds: Dataset) -> None:
    import msgspec

    from immunofacts.model import Reference

    base = next(c for c in ds.claims if c.review is not None)
    assert base.review is not None
    refs = (
        Reference(title="A paper", doi="10.1000/xyz123"),
        Reference(title="A trial", nct="NCT01234567"),
        Reference(title="No address"),
        Reference(title="A page", url="https://example.org/a"),
    )
    claim = msgspec.structs.replace(
        base, review=msgspec.structs.replace(base.review, references=refs)
    )
    data = msgspec.structs.replace(
        ds, claims=tuple(claim if c.id == claim.id else c for c in ds.claims)
    )
    links = [str(r.link()) for r in references_of(claim)]
    assert len(links) == 3
    opened: list[str] = []

    def opener(url: str) -> bool:
        opened.append(url)
        return True

    async def go() -> None:
        async with browsing(data, (160, 60), opener=opener) as (app, pilot):
            app.select(claim.id)
            await pilot.pause()
            assert links[0] in flat(app)
            await press(pilot, "o")
            assert opened == [links[0]]
            await press(pilot, "right_square_bracket", "o")
            assert opened[-1] == links[1]
            await press(pilot, "left_square_bracket", "left_square_bracket", "o")
            assert opened[-1] == links[-1]

    run(go)


def test_without_a_browser_the_link_is_copied(ds: Dataset) -> None:
    claim = next(c for c in ds.claims if c.review and c.review.references)

    async def go() -> None:
        async with browsing(ds, opener=lambda url: False) as (app, pilot):
            app.select(claim.id)
            await press(pilot, "o")
            assert app.clipboard == app.opened[-1]
            assert claim.review is not None
            assert app.opened[-1] == claim.review.references[0].link()
            app.select(ds.claims[0].id)
            if not (ds.claims[0].review and ds.claims[0].review.references):
                await press(pilot, "o")
                assert len(app.opened) == 1

    run(go)


# --- the source view -------------------------------------------------------------------------


def test_source_view_highlights_and_steps_through_passages(ds: Dataset) -> None:
    spans = query.quote_spans(ds)
    target = ds.claims[10]

    async def go() -> None:
        async with browsing(ds, (100, 30)) as (app, pilot):
            app.select(target.id)
            await press(pilot, "s")
            screen = app.screen
            assert isinstance(screen, SourceScreen)
            assert screen.current is not None and screen.current.record_id == target.id
            await pilot.pause(0.05)
            text = flat(app)
            assert target.id in text  # the title and the margin
            assert " ".join(target.quote.split())[:30] in text  # scrolled into view
            at = screen.index
            await press(pilot, "n")
            assert screen.index == at + 1
            nxt = spans[at + 1].record_id
            assert f"Passage {at + 2} of {len(spans)}: {nxt}" in flat(app)
            await press(pilot, "p", "p")
            assert screen.index == at - 1
            # List keys do nothing here.
            await press(pilot, "r")
            assert app.screen is screen
            await press(pilot, "escape")
            assert not isinstance(app.screen, SourceScreen)
            assert app.current is not None and app.current.id == spans[at - 1].record_id
            # Back from a passage the search hides, the list stays as the reader left it.
            await type_search(pilot, "lupus")
            shown = ids(app.shown)
            await press(pilot, "enter", "s")
            screen = app.screen
            assert isinstance(screen, SourceScreen)
            while spans[screen.index].record_id in shown:
                await press(pilot, "n")
            await press(pilot, "escape")
            assert ids(app.shown) == shown and app.search_text == "lupus"

    run(go)


def test_source_view_narrow_and_without_colour(
    ds: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def go() -> None:
        async with browsing(ds, NARROW) as (app, pilot):
            assert app.no_color
            await press(pilot, "s")
            assert app.screen.has_class("narrow")
            text = screen_text(app)
            assert "⟦" in text  # the current passage is bracketed when there is no colour
            assert all(len(line) == 40 for line in text.split("\n"))
            await press(pilot, "s")
            assert isinstance(app.focused, RecordList)

    run(go)


def test_source_view_needs_a_source_text(ds: Dataset) -> None:
    import msgspec

    bare = msgspec.structs.replace(ds, source_text=None)

    async def go() -> None:
        async with browsing(bare) as (app, pilot):
            await press(pilot, "s")
            assert not isinstance(app.screen, SourceScreen)

    run(go)


# --- help, export, quit ----------------------------------------------------------------------


def test_help_lists_every_key(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds, (100, 60)) as (app, pilot):
            await press(pilot, "question_mark")
            assert isinstance(app.screen, HelpScreen)
            text = flat(app)
            for binding in [*Browser.BINDINGS, *SourceScreen.BINDINGS]:
                assert binding.description in text  # type: ignore[union-attr]
            for key in ("/", "?", "[", "]", "Ctrl-C", "PgDn", "Esc"):
                assert f" {key} " in f" {text} " or f" {key}," in text
            await press(pilot, "escape")
            assert not isinstance(app.screen, HelpScreen)

    run(go)


def test_export_writes_the_filtered_set_through_export(ds: Dataset, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"

    async def go() -> None:
        async with browsing(ds) as (app, pilot):
            app.set_filter("rating", "mostly-accurate")
            shown = list(app.shown)
            await press(pilot, "e")
            assert isinstance(app.screen, ExportScreen)
            assert f"Export {len(shown)} records" in flat(app)
            await press(pilot, "down", "down", "enter")  # csv
            box = app.screen.query_one("#file", Input)
            assert box.value == "immunofacts-export.csv" and app.focused is box
            box.value = str(target)
            await press(pilot, "enter")
            assert not isinstance(app.screen, ExportScreen)
            want = export_text(state.subset(ds, shown), ExportFormat.CSV).text
            assert target.read_bytes().decode() == want
            # An existing file is never overwritten: the dialog says so and stays.
            await press(pilot, "e", "enter")
            app.screen.query_one("#file", Input).value = str(target)
            await press(pilot, "enter")
            assert isinstance(app.screen, ExportScreen)
            assert "exists; give another name" in flat(app)
            await press(pilot, "escape")
            assert not isinstance(app.screen, ExportScreen)
            # An empty list has nothing to export.
            await type_search(pilot, "zzzqqq")
            await press(pilot, "enter", "e")
            assert app.shown == [] and not isinstance(app.screen, ExportScreen)

    run(go)


@pytest.mark.parametrize(
    ("fmt", "said"),
    [
        (ExportFormat.BIBTEX, "the references of "),
        (ExportFormat.RIS, "the references of "),
        (ExportFormat.CSL_JSON, "the references of "),
        (ExportFormat.YAML, ""),
    ],
)
def test_the_export_message_says_what_the_file_holds(
    ds: Dataset, tmp_path: Path, fmt: ExportFormat, said: str
) -> None:
    # a file of references holds no record: "wrote 37 claims" for 26 references misled
    async def go() -> None:
        async with browsing(ds) as (app, _):
            out = tmp_path / f"out.{fmt.value}"
            message = app.export_to(fmt, out)
            n = len(app.shown)
            assert message == f"wrote {said}{n} claims to {out} ({fmt.value})"

    run(go)


def test_exported_subset_loads_back(
    ds: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The export points at the article where it is; let the loader read it there.
    monkeypatch.setenv("IMMUNOFACTS_TEXT_DIRS", str(DATA.parent))

    async def go() -> None:
        async with browsing(ds) as (app, pilot):
            await press(pilot, "t")
            out = tmp_path / "cases.yaml"
            app.export_to(ExportFormat.YAML, out)
            back = load_dataset(out)
            assert ids(list(back.cases)) == ids(list(ds.cases)) and back.claims == ()
            assert back.source_text == ds.source_text

    run(go)


def test_q_quits_and_ctrl_c_exits_130(ds: Dataset) -> None:
    async def go() -> None:
        async with browsing(ds) as (app, pilot):
            await press(pilot, "q")
        assert app.return_code == 0
        async with browsing(ds) as (app, pilot):
            await press(pilot, "slash", "ctrl+c")
        assert app.return_code == 130

    run(go)


# --- the command -----------------------------------------------------------------------------


def test_cli_and_list_cases_do_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from immunofacts.cli import app\n"
        "r = CliRunner().invoke(app, ['list-cases'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'immunofacts')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "textual" not in out.replace("immunofacts.", "")
    assert "immunofacts.tui" not in out
    timing = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "immunofacts", "list-cases"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert "textual" not in timing.stderr


@pytest.mark.parametrize("term", ["dumb", "unknown"])
def test_browse_refuses_a_dumb_terminal(term: str) -> None:
    result = CliRunner().invoke(cli_app, ["browse"], env={"TERM": term})
    assert result.exit_code == 1
    assert f"TERM={term}" in result.stderr and "list-claims" in result.stderr


def test_browse_refuses_a_pipe() -> None:
    result = CliRunner().invoke(cli_app, ["browse"], env={"TERM": "xterm"})
    assert result.exit_code == 1
    assert "needs a terminal" in result.stderr


def test_browse_with_stdin_closed_says_it_needs_a_terminal() -> None:
    # `immunofacts browse <&-`: Python has no sys.stdin at all
    proc = subprocess.run(
        ["sh", "-c", 'exec "$0" -m immunofacts browse <&-', sys.executable],
        capture_output=True,
        text=True,
        env={**os.environ, "TERM": "xterm"},
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        "immunofacts: error: browse needs a terminal on stdin and stdout; "
        "for pipes use list-claims, show-claim and search\n"
    )


def test_browse_reports_a_bad_dataset(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: 2\nsource: [\n", encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["browse", "--data", str(bad)], env={"TERM": "xterm"})
    assert result.exit_code == 1
    assert "Traceback" not in result.output


@pytest.mark.tty
@pytest.mark.slow
def test_browse_in_a_real_terminal_restores_it() -> None:
    pexpect = pytest.importorskip("pexpect")
    exe = Path(sys.executable).parent / "immunofacts"
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    for key, status in (("q", 0), ("\x03", 130)):
        child = pexpect.spawn(
            str(exe), ["browse"], env=env, dimensions=(30, 100), encoding="utf-8", timeout=20
        )
        child.expect("claims")
        child.expect("Quit")
        child.send(key)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == status
        tail = child.before or ""
        assert "\x1b[?1049l" in tail  # left the alternate screen
        assert "Traceback" not in tail


def test_docs_list_every_key() -> None:
    docs = (ROOT / "docs" / "browse.md").read_text(encoding="utf-8")
    app = Browser(load_dataset(DATA))
    for _, keys in app.help_sections()[:3]:
        for key, _ in keys:
            if key == "typing":
                continue
            for k in key.split(", "):
                assert f"`{k}`" in docs, k
