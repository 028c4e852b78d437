"""A stop signal during a cache build: the writer thread stops, nothing more is written,
and the signal is raised again once that thread is gone, whenever it arrives."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from collections.abc import Iterator

import pytest
from conftest import DATA

from immunofacts import cache, loading, tokens
from immunofacts.output import STOP_SIGNALS, Interrupted, handle_signals

REAL = loading.load_dataset(DATA)


@pytest.fixture
def stops_raise() -> Iterator[None]:
    """The command's handlers (a signal raises `Interrupted`), pytest's own afterwards."""
    kept = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    handle_signals()
    try:
        yield
    finally:
        for s, handler in kept.items():
            signal.signal(s, handler)


def new_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)  # as the build opens it
    columns = ", ".join(f"{c} INTEGER" for c in cache._label_columns())
    db.executescript(cache._SCHEMA.format(labels=columns))
    return db


def writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cache-writer"]


def rows(db: sqlite3.Connection, table: str) -> int:
    (n,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(n)


@pytest.mark.usefixtures("stops_raise")
def test_a_signal_before_the_writer_starts_stops_it_at_its_first_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = tokens.index_texts

    def index_then_signal(*args: object) -> object:  # the build's work before its writer
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tokens, "index_texts", index_then_signal)
    db = new_db()
    with pytest.raises(Interrupted) as caught:
        cache._fill_deferring_signals(db, REAL)
    assert caught.value.signum == signal.SIGTERM
    assert writers() == []
    # (The word index is counted by its segments: it keeps no row count to read.)
    for table in ("fts_idx", "records", "bodies", "blobs"):
        assert rows(db, table) == 0, table  # not built to its end, then thrown away


@pytest.mark.usefixtures("stops_raise")
def test_a_signal_during_a_write_skips_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    stopped = threading.Event()
    stop = cache._Writer.stop

    def stop_and_tell(self: cache._Writer) -> None:
        stop(self)
        stopped.set()

    real = cache._index_words

    def signal_then_index(*args: object) -> None:  # the writer thread's first write
        os.kill(os.getpid(), signal.SIGINT)
        # The handler runs in the main thread, at its next chance: the rest of the
        # writes, quick on this dataset, must not be done by then.
        assert stopped.wait(60), "the signal did not stop the writer"
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cache._Writer, "stop", stop_and_tell)
    monkeypatch.setattr(cache, "_index_words", signal_then_index)
    db = new_db()
    with pytest.raises(Interrupted) as caught:
        cache._fill_deferring_signals(db, REAL)
    assert caught.value.signum == signal.SIGINT
    assert writers() == []
    for table in ("names", "records", "bodies", "blobs"):
        assert rows(db, table) == 0, table  # every write after the first skipped


def test_the_handlers_are_given_back(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    cache._fill_deferring_signals(new_db(), REAL)
    assert {s: signal.getsignal(s) for s in STOP_SIGNALS} == kept
    assert writers() == []


def signal_before_the_writer(monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    real = tokens.index_texts

    def index_then_signal(*args: object) -> object:
        os.kill(os.getpid(), signum)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tokens, "index_texts", index_then_signal)


def test_a_signal_ignored_before_the_build_is_ignored_during_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        signal_before_the_writer(monkeypatch, signal.SIGHUP)
        db = new_db()
        cache._fill_deferring_signals(db, REAL)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, kept)
    assert rows(db, "records") == len(REAL.claims) + len(REAL.cases)  # built to its end


def test_a_cut_short_build_is_not_kept_when_the_handler_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []
    sent: list[int] = []  # once: the handler may see it only after the next install
    kept = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    real = signal.signal

    def install_then_signal(sig: int, handler: object) -> object:
        old = real(sig, handler)  # type: ignore[arg-type]
        if sig == signal.SIGHUP and handler is not kept and not sent:
            sent.append(signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)  # as soon as the build holds signals
        return old

    monkeypatch.setattr(signal, "signal", install_then_signal)
    db = new_db()
    try:
        with pytest.raises(cache.Stale):  # so the caller throws the file away
            cache._fill_deferring_signals(db, REAL)
    finally:
        real(signal.SIGTERM, kept)
    assert seen == [signal.SIGTERM]  # the caller's own handler still saw it, once
    assert rows(db, "records") == 0  # nothing was built
