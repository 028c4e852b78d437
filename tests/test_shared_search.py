"""A search with many candidates shares its work with a forked child: the output is the
same bytes as one process alone gives, whatever the child does (fails, hangs, dies,
finds damage, answers nonsense), and no child is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from immunofacts import cache, forked, query
from immunofacts.cli import app
from immunofacts.loading import dump_yaml

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="work is shared on Linux only")

WORDS = [
    "lupus", "lupoid", "Lupus", "lymph", "lymphoma", "cell", "cells", "CAR-T", "car", "t",
    "remission", "patient", "café", "Diyarbakır", "ſtore", "细胞", "½", "—", "'", "2020",
]  # fmt: skip
TEXT = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join)
KINDS = ["statistic", "research", "opinion"]
QUERIES = ["lupus", "lup", "cell lupus", '"lupus cell"', "lupus -cell", "car-t", "café"]


@st.composite
def datasets(draw: st.DrawFn) -> dict[str, Any]:
    entities = [
        {"id": f"ent-{i}", "name": draw(TEXT), "type": "organisation"}
        for i in range(draw(st.integers(0, 3)))
    ]
    claims = []
    for i in range(draw(st.integers(1, 30))):
        claim: dict[str, Any] = {
            "id": f"claim-{i}",
            "kind": draw(st.sampled_from(KINDS)),
            "statement": draw(TEXT),
            "quote": draw(TEXT),
            "evidence": "unsourced",
            "entities": draw(st.lists(st.sampled_from([e["id"] for e in entities]), unique=True))
            if entities
            else [],
        }
        if claim["kind"] == "opinion" and draw(st.booleans()):
            claim["review"] = {
                "verdict": "not-checkable",
                "rating": "not-a-fact",
                "note": draw(TEXT),
            }
        claims.append(claim)
    cases = [
        {
            "id": f"case-{i}",
            "title": draw(TEXT),
            "quote": draw(TEXT),
            "patient": {"description": draw(TEXT)},
            "diagnosis": [draw(TEXT)],
            "therapy": draw(TEXT),
            "outcome": draw(TEXT),
            "evidence": "unsourced",
            "events": [{"date": "2020-05", "description": draw(TEXT)}],
        }
        for i in range(draw(st.integers(0, 2)))
    ]
    return {
        "schema": 2,
        "source": {"id": "src", "title": "T", "publisher": "P"},
        "entities": entities,
        "claims": claims,
        "cases": cases,
    }


def _search(path: Path, *args: str, cached: bool = True) -> tuple[int, str, str]:
    env = {} if cached else {"XDG_CACHE_HOME": None, "HOME": None}
    result = CliRunner().invoke(
        app, ["search", "--format", "json", "--data", str(path), *args], env=env
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


def _alone() -> None:
    """Let threads of earlier reads end: work is shared only when no other thread runs.
    (Those an earlier test left waiting for good are idle: a fork is safe with them, and
    the `forks` fixture lets it happen.)"""
    end = time.monotonic() + 0.2
    for t in threading.enumerate():
        if t is not threading.main_thread():
            t.join(max(0.0, end - time.monotonic()))


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every search shared (from one candidate on), and the pid of each child forked."""
    pids: list[int] = []
    made = forked.Forked.__init__

    def counted(self: forked.Forked, job: Any) -> None:
        made(self, job)
        if self.pid is not None:
            pids.append(self.pid)

    monkeypatch.setattr(forked.Forked, "__init__", counted)
    monkeypatch.setattr(forked, "available", lambda: True)  # see `_alone`
    monkeypatch.setattr(query, "SHARED_AT", 1)
    yield pids
    _reaped(*pids)


def _reaped(*pids: int | None) -> None:
    """Each of these children is gone, reaped."""
    for pid in pids:
        assert pid is not None
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def _slow(put: Any) -> None:
    time.sleep(60)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(datasets(), st.sampled_from(QUERIES), st.sampled_from([1, 3, 64]), st.booleans())
def test_shared_search_writes_the_bytes_of_one_process(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    forks: list[int],
    ds: dict[str, Any],
    q: str,
    run: int,
    labelled: bool,
) -> None:
    path = tmp_path_factory.mktemp("shared") / "d.yaml"
    path.write_text(dump_yaml(ds), encoding="utf-8")
    args = ["--kind", "research", "--kind", "opinion"] if labelled else []
    cold = _search(path, *args, "--", q, cached=False)
    monkeypatch.setattr(query, "SHARED_AT", 10**9)
    _search(path, "--", q)  # builds the cache
    alone = _search(path, *args, "--", q)
    monkeypatch.setattr(query, "SHARED_AT", 1)
    monkeypatch.setattr(cache, "_SHARED_RUN", run)
    before = len(forks)
    _alone()
    shared = _search(path, *args, "--", q)
    assert shared == alone == cold
    if shared[0] == 0:  # candidates, so a child was forked
        assert len(forks) == before + 1


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """A dataset where `lupus` has many candidates, of both kinds of text, cached."""
    claims = [
        {
            "id": f"claim-{i}",
            "kind": "opinion",
            "statement": f"{WORDS[i % len(WORDS)]} lupus {WORDS[(i * 7) % len(WORDS)]} "
            * (i % 4 + 1),
            "quote": f"quote {i} {WORDS[(i * 3) % len(WORDS)]}",
            "evidence": "unsourced",
            "review": {"verdict": "not-checkable", "rating": "not-a-fact", "note": f"lupus {i}"},
        }
        for i in range(60)
    ]
    ds = {"schema": 2, "source": {"id": "s", "title": "T", "publisher": "P"}, "claims": claims}
    path = tmp_path / "d.yaml"
    path.write_text(dump_yaml(ds), encoding="utf-8")
    assert _search(path, "lupus")[0] == 0
    return path


def _misbehave(how: str) -> None:
    """What a child does when things go wrong."""
    if how in ("damage", "damage-late"):
        raise cache.Stale
    if how in ("exits", "exits-late"):
        os._exit(0)
    if how in ("killed", "killed-late"):
        os.kill(os.getpid(), signal.SIGKILL)
    if how in ("hangs", "hangs-late"):
        time.sleep(60)
    if how in ("error", "error-late"):
        raise RuntimeError("a bug")


EARLY = ["damage", "exits", "killed", "hangs", "error", "nonsense", "no-fork"]
LATE = ["damage-late", "exits-late", "killed-late", "hangs-late", "error-late"]


@pytest.mark.parametrize("how", EARLY + LATE)
def test_a_child_that_fails_leaves_the_work_to_this_process(
    many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int], how: str
) -> None:
    """Early: as it opens the cache (only the child does). Late: once it has worked on
    runs of candidates, which this process then works on too (it is slowed down here,
    so that the child takes some; the child leaves a mark when it does)."""
    monkeypatch.setattr(query, "SHARED_AT", 10**9)
    alone = _search(many, "lupus")
    monkeypatch.setattr(query, "SHARED_AT", 1)
    monkeypatch.setattr(cache, "_SHARED_RUN", 1)
    reopened, found_at, framed = cache.Cache.reopened, cache.Cache.found_at, cache._framed
    mark = tmp_path / "the child worked"

    def opened(self: cache.Cache) -> cache.Cache:
        if how in EARLY:
            _misbehave(how)
        other = reopened(self)
        other.in_child = True  # type: ignore[attr-defined]
        return other

    def reading(self: cache.Cache, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "in_child", False):
            mark.touch()
        elif how in LATE:
            time.sleep(0.01)
        return found_at(self, *args, **kwargs)

    def sent(made: Any) -> bytes:
        _misbehave(how)
        return b"\x05" * 8 if how == "nonsense" else framed(made)

    monkeypatch.setattr(cache.Cache, "reopened", opened)
    monkeypatch.setattr(cache.Cache, "found_at", reading)
    monkeypatch.setattr(cache, "_framed", sent)
    if how == "no-fork":
        monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError("no memory")))
    _alone()
    began = time.monotonic()
    assert _search(many, "lupus") == alone
    assert len(forks) == (how != "no-fork")
    assert time.monotonic() - began < 30  # a hung child is stopped
    assert mark.exists() == (how in LATE + ["nonsense"])


def test_a_damaged_cache_is_answered_from_the_file_when_shared(
    many: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    cold = _search(many, "lupus", cached=False)
    cpath = cache.cache_path(many)
    assert cpath is not None
    import sqlite3

    db = sqlite3.connect(cpath)
    db.execute("UPDATE bodies SET body = X'00' || substr(body, 2)")
    db.commit()
    db.close()
    from forged import agree

    agree(cpath)  # (its change counter made to agree, for the checksums to find it)
    _alone()
    assert _search(many, "lupus") == cold
    assert forks  # both found the damage; the file answered


def test_a_cache_replaced_under_a_search_is_not_read_by_the_child(
    many: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    """The child opens the cache's file again: if it is another cache by then, the child
    finds that out (and this process does the work)."""
    opened = cache.Cache.reopened

    def other(self: cache.Cache) -> cache.Cache:
        self.meta = {**self.meta, "dataset_hash": "another"}
        return opened(self)

    monkeypatch.setattr(cache.Cache, "reopened", other)
    c = cache.open_cache(many)
    assert c is not None
    with pytest.raises(cache.Stale):
        c.reopened()
    c.close()


# --- the child itself ------------------------------------------------------------------


def _sending(*pieces: bytes) -> Any:
    """A job that answers these pieces, one after the other."""

    def job(put: Any) -> None:
        for piece in pieces:
            put(piece)

    return job


def _failing(put: Any) -> None:
    put(b"a")
    raise ZeroDivisionError


def _leaving(put: Any) -> None:
    put(b"a")
    os._exit(0)  # out without a word


def test_a_forked_child_answers_or_is_no_answer() -> None:
    _alone()
    pids = []
    for job, answer in [
        (_sending(b"one ", b"two"), b"one two"),
        (_sending(b"x" * (3 << 20)), b"x" * (3 << 20)),  # more than a pipe holds
        (_sending(), b""),
        (_failing, None),
        (_leaving, None),
    ]:
        with forked.Forked(job) as child:
            pids.append(child.pid)
            got = child.answer(10)
            assert (None if got is None else bytes(got)) == answer
    _reaped(*pids)


def test_no_room_or_no_child_is_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    _alone()
    monkeypatch.setattr(forked, "ROOM", 16)
    with forked.Forked(_sending(b"x" * 16)) as child:
        pid = child.pid
        got = child.answer(10)
        assert got is not None and bytes(got) == b"x" * 16
    with forked.Forked(_sending(b"x" * 16, b"y")) as child:  # more than the room
        assert child.answer(10) is None
    _reaped(pid)

    def no_fork() -> int:
        raise BlockingIOError("no more processes")

    monkeypatch.setattr(os, "fork", no_fork)
    with forked.Forked(_sending(b"x")) as child:
        assert child.pid is None
        assert child.answer(10) is None


def test_a_child_that_takes_too_long_is_stopped_and_reaped() -> None:
    _alone()
    with forked.Forked(_slow) as child:
        pid = child.pid
        began = time.monotonic()
        assert child.answer(0.3) is None
        assert time.monotonic() - began < 5
    _reaped(pid)


def test_ctrl_c_stops_the_child_and_this_process_reaps_it() -> None:
    _alone()
    with forked.Forked(_slow) as child:
        pid = child.pid
        assert pid is not None
        time.sleep(0.2)  # the child has set its signals
        os.kill(pid, signal.SIGINT)  # as a Ctrl-C reaches every process of the group
        assert child.answer(10) is None
    _reaped(pid)
    with pytest.raises(KeyboardInterrupt), forked.Forked(_slow) as child:
        pid = child.pid
        raise KeyboardInterrupt
    _reaped(pid)


def test_no_child_is_forked_while_another_thread_runs() -> None:
    _alone()
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not forked.available()
    finally:
        stop.set()
        t.join()
    assert forked.available() == (threading.active_count() == 1)


@pytest.mark.parametrize("processors", [1, 2, 8])
def test_no_child_is_forked_with_one_processor_to_run_on(
    monkeypatch: pytest.MonkeyPatch, processors: int
) -> None:
    _alone()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(processors)))
    assert forked.available() == (processors > 1 and threading.active_count() == 1)


def test_a_real_search_with_thousands_of_candidates(tmp_path: Path) -> None:
    """Run as a user runs it: a process of its own, with enough candidates to share."""
    n = query.SHARED_AT + 100
    claims = [
        {
            "id": f"claim-{i}",
            "kind": KINDS[i % 3],
            "statement": f"lupus {WORDS[i % len(WORDS)]} case {i}" + " lupus" * (i % 3),
            "quote": f"q {WORDS[(i * 7) % len(WORDS)]}",
            "evidence": "unsourced",
        }
        for i in range(n)
    ]
    ds = {"schema": 2, "source": {"id": "s", "title": "T", "publisher": "P"}, "claims": claims}
    path = tmp_path / "d.yaml"
    path.write_text(dump_yaml(ds), encoding="utf-8")
    argv = [sys.executable, "-m", "immunofacts", "search", "lupus", "--format", "json"]
    argv += ["--data", str(path)]
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "HOME")}
    cold = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=True).stdout
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    for _ in range(2):  # building the cache, then from it (shared)
        warm = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=True)
        assert warm.stdout == cold
        assert warm.stderr == b""
    assert cold.count(b'"id": "claim-') == n


@pytest.mark.parametrize("indented", [True, False])
def test_hit_elements_joined_are_the_hits_json(indented: bool) -> None:
    """A claim's review is put in as the cache keeps it when it is kept indented, and
    indented with the rest when not: the same text as `hits_json` either way, escapes
    and all."""
    import msgspec

    from immunofacts.render import shapes

    review = {
        "verdict": "reported",
        "rating": "misleading",
        "reasons": ["single-case"],
        "note": 'a "note" \u2066 with café, and \\n',
        "corrections": [],
        "references": [{"title": "T\u202e", "publisher": None}],
        "later": [],
    }
    hits = []
    for i, r in enumerate([review, None, review]):
        claim = {"type": "claim", "id": f"claim-{i}", "kind": "clinical", "statement": "s\u00e9",
                 "quote": "q", "evidence": "unsourced", "review": r}  # fmt: skip
        text = msgspec.json.encode(claim)
        if indented:
            text = msgspec.json.format(b"[" + text + b"]", indent=2)[2:-2]
        rec = msgspec.json.decode(text, type=cache.FoundClaim)
        matches = (query.Match("statement", 0, 1, "s"),)
        hits.append(query.Hit(rec, 1.0 / (i + 3), matches))  # type: ignore[arg-type]
    elements = shapes.hit_elements(hits)
    assert len(elements) == 3
    # the reference: every hit indented together, the review as kept, escaped at once
    from immunofacts.jsontext import escaped

    found: list[Any] = [h.record for h in hits]
    items = [
        shapes._FoundHitJSON(r.id, "claim", r.kind, r.evidence, r.review_json,
                             round(h.score, 3), r.statement, h.matches)
        for r, h in zip(found, hits, strict=True)
    ]  # fmt: skip
    whole = msgspec.json.format(msgspec.json.encode(items), indent=2)[2:-2]
    whole = escaped(whole.decode()).encode()
    assert b",\n".join(elements) == whole == bytes(shapes.hits_json(hits))
    assert b"\\u2066" in elements[0] and b'"review": null' in elements[1]


def test_runs_a_pipe_cannot_hold_mean_no_sharing_not_a_hang(
    many: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    """The runs' starts go into a pipe before the fork; one that holds less of them (a
    user over the system's share of pipe memory gets pipes of a page) is not waited
    on: the search is done alone, the same bytes."""
    import fcntl

    monkeypatch.setattr(query, "SHARED_AT", 10**9)
    alone = _search(many, "lupus")
    monkeypatch.setattr(query, "SHARED_AT", 1)
    monkeypatch.setattr(cache, "_SHARED_RUN", 1)
    real = os.pipe

    def small() -> tuple[int, int]:
        r, w = real()
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
        return r, w

    monkeypatch.setattr(os, "pipe", small)
    monkeypatch.setattr(cache, "_RUNS", 10**6)  # 60 runs; the pipe holds them: shared
    _alone()
    assert _search(many, "lupus") == alone
    assert len(forks) == 1
    real_write = os.write

    def short(fd: int, data: Any) -> int:  # a pipe that took only part of them
        return real_write(fd, bytes(data)[:8]) if len(data) == 240 else real_write(fd, data)

    monkeypatch.setattr(os, "write", short)
    assert _search(many, "lupus") == alone
    assert len(forks) == 1  # not shared


def test_runs_are_at_most_what_the_least_pipe_holds() -> None:
    assert cache._RUNS * 4 <= 4096


def test_a_stop_signal_at_the_fork_never_runs_this_process_handlers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop signal that reaches a child as it is forked is held back until the child
    has made it stop the child (not this process's handler, which would unwind this
    process's stack in the child, print and flush)."""
    marker = tmp_path / "handled"
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGINT)
        return pid

    def handler(signum: int, frame: object) -> None:
        marker.write_text(str(os.getpid()))

    monkeypatch.setattr(os, "fork", fork)
    old = signal.signal(signal.SIGINT, handler)
    try:
        with forked.Forked(_slow) as child:
            pid = child.pid
            assert child.answer(10) is None  # the child stopped by the signal
        _reaped(pid)
    finally:
        signal.signal(signal.SIGINT, old)
    assert not marker.exists()
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == set()  # nothing left held here
