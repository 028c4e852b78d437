"""Shared fixtures: every test runs with its own empty cache directory and a plain environment."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"
ARTICLE = ROOT / "data" / "article.txt"

#: Commands that render a list or a record, in every --format.
VIEW_COMMANDS: list[list[str]] = [
    ["list-cases"],
    ["show-case", "case-hong-kong-singer"],
    ["list-claims"],
    ["show-claim", "claim-car-t-ind-applications"],
    ["show-stats"],
    ["search", "lupus"],
    ["timeline"],
    ["entities"],
    ["entities", "Lancet"],
    ["source"],
    ["source", "--claim", "claim-cynk-001-fda-ind"],
    ["validate"],
    ["diff", str(DATA), str(DATA)],
    ["labels"],
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A private copy of the article's dataset and text."""
    import shutil

    for source in (DATA, ARTICLE):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path / DATA.name


def cache_file(dataset: Path) -> Path:
    """Where the cache of `dataset` is (or would be) kept."""
    from immunofacts import cache

    cpath = cache.cache_path(dataset)
    assert cpath is not None
    return cpath


#: How a cache may keep the timeline's blocks (see `timeline_kept`).
TIMELINE_KEEPING = ["lz4", "deflate", "raw"]


def timeline_kept(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """Caches built from now on keep the timeline's blocks compressed with LZ4 (where
    it is installed, always), with deflate (without it, a dataset of fewer records than
    PACKED_TIMELINE_BELOW), or as they are (without it, a larger dataset)."""
    from immunofacts import cache

    monkeypatch.setattr(cache, "_CODECS", ["lz4" if how == "lz4" else "deflate"])
    monkeypatch.setattr(cache, "PACKED_TIMELINE_BELOW", 0 if how == "raw" else 10**9)


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A private cache, no colour or terminal settings leaking in from the caller."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    for var in (
        "IMMUNOFACTS_DATA",
        "IMMUNOFACTS_MAX_BYTES",
        "NO_COLOR",
        "FORCE_COLOR",
        "COLUMNS",
        "TERM",
    ):
        monkeypatch.delenv(var, raising=False)
    yield


@functools.cache
def _built_once(app: Any) -> Any:
    import typer.main

    return typer.main.get_command(app)


@pytest.fixture(autouse=True)
def _one_command_group(request: pytest.FixtureRequest) -> Iterator[None]:
    """Typer's CliRunner builds the command group, and the command it runs, anew for
    each run: a few milliseconds, as much as a short command takes on a small dataset,
    and there are thousands of runs. One group, built once, serves every test; except
    in a module that says BUILDS_ITS_OWN_COMMANDS (test_startup.py, which counts what
    each run builds)."""
    if getattr(request.module, "BUILDS_ITS_OWN_COMMANDS", False):
        yield
        return
    from unittest import mock

    import typer.testing

    with mock.patch.object(typer.testing, "_get_command", _built_once):
        yield
