"""The browser's layout at the widths and heights a terminal is likely to have: every pane,
list and picker uses the room it has, and a resized window looks as if it had started at
its new size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from conftest import DATA
from textual.pilot import Pilot

from immunofacts.loading import load_dataset
from immunofacts.model import Dataset
from immunofacts.tui.app import Browser

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
