"""Work shared with a second process: a child forked from this one, which does part of
a command's work on the machine's other core and answers in bytes.

Only where `os.fork` is Linux's and no other thread runs (a thread holding a lock at
the fork would leave it held in the child for good). The child shares nothing with
this process but what it was forked with: it opens its own files, writes only its
answer (into memory shared with this process, mapped before the fork) and the
answer's length (to a pipe, once it is all there), and always leaves by `os._exit`
(no `atexit`, no buffers of this process flushed, nothing of this process's
closed). Whatever goes wrong in it (an error, a signal, a hang, an answer too large)
this process learns as no answer, and does that part of the work itself.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

#: What the child sends through its pipe: the length of its answer (8 bytes,
#: little-endian). The answer itself it writes into memory shared with this process.
_HEAD = struct.Struct("<Q")
#: The most a child may answer: memory only reserved, used as it is written.
ROOM = 1 << 30
#: The signals that stop a command (`output.STOP_SIGNALS` less those a child ignores).
_STOPS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


def available() -> bool:
    """Whether work can be shared with a forked child here and now: on Linux, with no
    other thread running, and with at least two processors this process may run on
    (on one, a child only takes turns with its parent, and forking it is a cost)."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() != 1:
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except (AttributeError, OSError):
        return False


class Forked:
    """`job` run in a child forked now, given a function that adds a piece to its answer
    (written at once into memory this process sees); see `answer`. A child that cannot
    be forked (no memory, too many processes) is no answer. Used as a context manager:
    on leaving, the child is stopped (if it still runs) and reaped."""

    def __init__(self, job: Callable[[Callable[[bytes], None]], None]) -> None:
        import mmap

        self.pid: int | None = None
        self._room: mmap.mmap | None = None
        try:
            room = mmap.mmap(-1, ROOM)  # anonymous and shared: what the child writes, seen here
        except (OSError, ValueError, OverflowError):
            return
        try:
            read, write = os.pipe()
        except OSError:
            return
        # Stop signals are held back across the fork: a child must not run this
        # process's handlers (they raise, and would unwind its stack, print and flush
        # what this process has buffered) before it has made them its own (`_child`).
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: never returns
            _child(job, room, read, write, held)
        os.close(write)
        self.pid = pid
        self._room = room
        self._read = read
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a signal held back runs now
        except BaseException:
            self.stop()  # not yet in a `with`: stopped and reaped here
            raise

    def __enter__(self) -> Forked:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def answer(self, timeout: float) -> memoryview | None:
        """What the job answered, waited for at most `timeout` seconds in all; None if
        there is no child, or it failed, or took too long (then it is stopped)."""
        import selectors
        import time

        if self.pid is None or self._room is None:
            return None
        end = time.monotonic() + timeout
        got = b""
        with selectors.DefaultSelector() as waiting:
            waiting.register(self._read, selectors.EVENT_READ)
            while True:
                left = end - time.monotonic()
                if left <= 0 or not waiting.select(left):
                    self.stop()
                    return None
                more = os.read(self._read, _HEAD.size + 1)
                if not more:
                    break  # the end: the child has exited, or is exiting
                got += more
        if self._reap(stop=False) != 0 or len(got) != _HEAD.size:
            return None
        (size,) = _HEAD.unpack(got)
        return memoryview(self._room)[:size] if size <= ROOM else None

    def stop(self) -> None:
        """Stop the child if it still runs, reap it, and close the pipe (once)."""
        self._reap(stop=True)

    def _reap(self, *, stop: bool) -> int | None:
        """The child reaped (killed first with `stop`) and the pipe closed; its exit
        status (None if reaped already)."""

        pid, self.pid = self.pid, None
        if pid is None:
            return None
        os.close(self._read)
        if stop:  # one that has exited already is a zombie till reaped: no other's pid
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)


def _child(
    job: Callable[[Callable[[bytes], None]], None],
    room: Any,
    read: int,
    write: int,
    held: set[Any],
) -> None:
    """The child's life: the job, its answer written, and out, whatever happens."""
    code = 1
    try:
        import signal

        # A stop signal ends the child at once (this process stops and reaps it); those
        # held back since the fork (see `Forked`) are let through only then.
        for sig in _STOPS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(read)
        at = 0

        def put(piece: bytes) -> None:
            nonlocal at
            room[at : at + len(piece)] = piece  # IndexError past the room
            at += len(piece)

        job(put)
        os.write(write, _HEAD.pack(at))  # less than a pipe's atomic write
        code = 0
    except BaseException:  # noqa: BLE001, S110 - the parent does the work instead
        pass
    finally:
        os._exit(code)
