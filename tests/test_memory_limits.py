"""A tight address-space limit (`ulimit -v`): one line and a non-zero exit, or the right
answer; never an abort, a traceback or a hang."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
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


def test_the_fast_parsers_own_reserve_is_room_for_its_copy_only(limited: dict[str, int]) -> None:
    """Its allocator's arena, reserved at import, counts for its own copy of the text,
    not for the Python objects it makes."""
    size = 4 * MIB
    reserve = 128 * MIB
    limited["limit"] = limited["size"] + loading.FAST_OBJECTS_FACTOR * size + loading.FAST_SPARE
    assert loading.fast_parser_has_room(size, reserved=reserve)
    assert not loading.fast_parser_has_room(size)
    assert not loading.fast_parser_has_room(size, reserved=8 * MIB)  # too small a reserve
    limited["limit"] -= 1  # too little outside it, however large it is
    assert not loading.fast_parser_has_room(size, reserved=1 << 40)


def test_what_the_fast_parsers_import_took_is_known() -> None:
    pytest.importorskip("yaml_rs")
    yaml_rs, took = loading._import_fast_parser()
    assert yaml_rs.loads("a: 1") == {"a": 1}
    assert took >= 0


def test_a_cache_is_written_only_with_room_for_its_threads_and_rows(
    limited: dict[str, int],
) -> None:
    from immunofacts import cache

    size = 4 * MIB
    assert cache._room_to_write(10**12)  # no limit
    need = 3 * cache._THREAD_ROOM + cache.CACHE_ROOM_FACTOR * size + cache.CACHE_SPARE
    limited["limit"] = limited["size"] + need
    assert cache._room_to_write(size)
    limited["limit"] -= 1
    assert not cache._room_to_write(size)


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


def test_memory_watch_stops_the_careful_parser_with_room_left(
    limited: dict[str, int],
) -> None:
    assert loading._memory_watch(MIB) is None  # no limit: nothing to watch
    limited["limit"] = limited["size"] + 10 * MIB
    watch = loading._memory_watch(8 * MIB)
    assert watch is not None
    watch()  # 10 MiB left: enough
    with pytest.raises(MemoryError):
        loading._memory_watch(11 * MIB)()  # type: ignore[misc]
    text = "claims:\n" + "".join(f"  - {{id: c{i}}}\n" for i in range(5000))
    with pytest.raises(MemoryError):  # the reserve for this text is over 16 MiB
        loading.parse_yaml(text, "x.yaml")
    limited["limit"] = 10**12
    data, _ = loading.parse_yaml(text, "x.yaml")
    assert len(data["claims"]) == 5000


def test_out_of_memory_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    def full(*args: object, **kwargs: object) -> object:
        raise MemoryError

    monkeypatch.setattr(loading, "parse_dataset", full)
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("immunofacts: error: out of memory"), lines
    assert "ulimit -v" in lines[0]


@contextlib.contextmanager
def _no_threads() -> Iterator[None]:
    """Every thread refused, as under a limit on threads or memory."""
    import threading

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    start = threading.Thread.start
    threading.Thread.start = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        threading.Thread.start = start  # type: ignore[method-assign]


def test_work_ahead_is_done_here_when_no_thread_starts() -> None:
    from immunofacts import cache

    with _no_threads():
        assert list(cache._ahead(lambda x: x * x, range(50))) == [x * x for x in range(50)]


COMMANDS = [
    ["list-claims", "-f", "json"],
    ["timeline", "-f", "json"],
    ["search", "the", "-f", "json"],
    ["show-stats"],
]


def test_commands_answer_alike_when_no_thread_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without threads, a first load (no cache is written: its writer is a thread) and a
    load from a cache written with them give the answers they give with them."""
    from typer.testing import CliRunner

    from immunofacts.cli import app

    runner = CliRunner()
    expected = {}
    for args in COMMANDS:  # the cache written here, with threads
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        expected[" ".join(args)] = result.stdout
    for cache_home in (None, "cold"):  # the cache written before, then none
        if cache_home is not None:
            monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / cache_home))
        with _no_threads():
            for args in COMMANDS:
                result = runner.invoke(app, args)
                assert result.exit_code == 0, (cache_home, args, result.output)
                assert result.stdout == expected[" ".join(args)], (cache_home, args)


# --- real commands under a real limit ----------------------------------------

needs_rlimit = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_AS as Linux counts it"
)


@pytest.fixture(scope="module")
def big_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic dataset of about 1.8 MB (5,000 claims)."""
    import importlib.util

    bench = Path(__file__).resolve().parent.parent / "benchmarks" / "make_dataset.py"
    spec = importlib.util.spec_from_file_location("_make_dataset_for_limits", bench)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path_factory.mktemp("big") / "syn5k.yaml"
    module.make_dataset(5000, path)
    return path


def _run_limited(args: list[str], limit_mib: int, cache_home: Path) -> tuple[int, str, str]:
    import os
    import subprocess

    def limit() -> None:
        import resource

        size = limit_mib * MIB
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home), "IMMUNOFACTS_PAGER": "cat"}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "immunofacts", *args],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=limit,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{args} under {limit_mib} MiB hung")
    return proc.returncode, proc.stdout, proc.stderr


def _check(code: int, out: str, err: str, expected: str | None) -> None:
    """An answer (the one expected) or one line, and never a crash."""
    assert "Traceback" not in err and "memory allocation of" not in err, err[-2000:]
    assert code in (0, 1), (code, err[-2000:])
    if code == 0:
        assert expected is None or out == expected
    else:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("immunofacts: error: "), lines


@needs_rlimit
@pytest.mark.parametrize("limit_mib", [60, 120])
def test_validate_under_a_limit_answers_or_says_one_line(
    big_dataset: Path, tmp_path: Path, limit_mib: int
) -> None:
    """Without a cache: on main, 60 and 120 MiB were an abort of yaml-rs or a hang."""
    before = big_dataset.read_bytes()
    code, out, err = _run_limited(["validate", str(big_dataset)], limit_mib, tmp_path)
    _check(code, out, err, None)
    if code == 0:
        assert "\tok\t" in out
    assert big_dataset.read_bytes() == before


@needs_rlimit
@pytest.mark.slow
@pytest.mark.parametrize("limit_mib", [100, 200])
def test_commands_under_many_limits_answer_or_say_one_line(
    big_dataset: Path, tmp_path: Path, limit_mib: int
) -> None:
    """Every command with a cache built without the limit, and a first load."""
    import subprocess

    commands = [
        ["validate", str(big_dataset)],
        ["search", "the", "-f", "json", "--data", str(big_dataset)],
        ["timeline", "-f", "json", "--data", str(big_dataset)],
        ["list-claims", "-f", "json", "--data", str(big_dataset)],
        ["export", "-f", "json", "--data", str(big_dataset)],
        ["show-stats", "--data", str(big_dataset)],
    ]
    expected = {}
    warm = tmp_path / "warm"
    for args in commands:
        proc = subprocess.run(
            [sys.executable, "-m", "immunofacts", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**__import__("os").environ, "XDG_CACHE_HOME": str(warm)},
        )
        assert proc.returncode == 0, proc.stderr
        expected[args[0]] = proc.stdout
    for args in commands:
        if args[0] in ("validate", "search"):  # a first load: the same for any command
            _check(*_run_limited(args, limit_mib, tmp_path / "cold"), expected[args[0]])
        _check(*_run_limited(args, limit_mib, warm), expected[args[0]])
