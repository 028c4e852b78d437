"""A tight address-space limit (`ulimit -v`): one line and a non-zero exit, or the right
answer; never an abort, a traceback or a hang."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from immunofacts import loading

MIB = 1024 * 1024


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> object:
    """An address-space limit and a process size, both set by the test."""
    resource = pytest.importorskip("resource")
    state = {"limit": resource.RLIM_INFINITY, "size": 40 * MIB}
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (state["limit"], state["limit"]))
    monkeypatch.setattr(loading, "_mapped_bytes", lambda: state["size"])
    return state


def test_no_limit_always_leaves_room(limited: dict[str, int]) -> None:
    assert loading.address_space_left() is None
    assert loading.fast_parser_has_room(10**12)


def test_room_is_the_limit_less_the_process_size(limited: dict[str, int]) -> None:
    limited["limit"] = 100 * MIB
    assert loading.address_space_left() == 60 * MIB
    limited["size"] = 120 * MIB  # already over it (a limit lowered after start)
    assert loading.address_space_left() == 0


def test_fast_parser_needs_a_multiple_of_the_size_plus_a_spare(limited: dict[str, int]) -> None:
    size = 4 * MIB
    need = loading.FAST_ROOM_FACTOR * size + loading.FAST_SPARE
    limited["limit"] = limited["size"] + need
    assert loading.fast_parser_has_room(size)
    assert not loading.fast_parser_has_room(size + 1)
    limited["limit"] -= 1
    assert not loading.fast_parser_has_room(size)


def test_unknown_process_size_under_a_limit_leaves_no_room(
    limited: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    limited["limit"] = 10**12
    monkeypatch.setattr(loading, "_mapped_bytes", lambda: None)
    assert loading.address_space_left() == 0
    assert not loading.fast_parser_has_room(1)


def test_size_of_this_process_is_read() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("read from /proc/self/statm, on Linux only")
    size = loading._mapped_bytes()
    assert size is not None and size > MIB


def test_without_room_the_careful_parser_reads_the_text(
    limited: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same dataset from the careful path, and the fast one never called."""
    pytest.importorskip("yaml_rs")
    import yaml_rs

    def no(*args: object, **kwargs: object) -> object:
        raise AssertionError("yaml-rs must not be given the text")

    data_file = Path(__file__).resolve().parent.parent / "data" / "immunofacts.yaml"
    text = data_file.read_text(encoding="utf-8")
    expected = loading.parse_dataset(text, "x.yaml", data_file.parent)
    limited["limit"] = limited["size"] + 2 * len(text)
    monkeypatch.setattr(yaml_rs, "loads", no)
    data, why = loading._fast_parse(text)
    assert data is None and "ulimit -v" in why
    assert loading.parse_dataset(text, "x.yaml", data_file.parent) == expected
