"""Work shared with a second process: a child forked from this one, which does part of
a command's work on the machine's other core and sends back its answer as bytes.

Only where `os.fork` is Linux's and no other thread runs (a thread holding a lock at
the fork would leave it held in the child for good). The child shares nothing with
this process but what it was forked with: it opens its own files, writes only to its
pipe, and always leaves by `os._exit` (no `atexit`, no buffers of this process
flushed, nothing of this process's closed). Whatever goes wrong in it (an error, a
signal, a hang, an answer cut short) this process learns as no answer, and does that
part of the work itself.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable, Sequence
from types import TracebackType

#: The child's answer is its length (8 bytes, little-endian), then the answer.
_HEAD = struct.Struct("<Q")
#: How much the pipe holds: enough that the answer crosses it in a few turns.
_PIPE_BYTES = 1 << 20


def available() -> bool:
    """Whether work can be shared with a forked child here and now."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


class Forked:
    """`job` run in a child forked now, its answer the pieces it returns joined; see
    `answer`. Used as a context manager: on leaving, the child is stopped (if it still
    runs) and reaped."""

    def __init__(self, job: Callable[[], Sequence[bytes]]) -> None:
        read, write = os.pipe()
        try:
            import fcntl

            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        except (ImportError, AttributeError, OSError):
            pass  # a smaller pipe does too, in more turns
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _child(job, read, write)
        os.close(write)
        self.pid: int | None = pid
        self._read = read

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
        """What the job returned, waited for at most `timeout` seconds in all; None if
        the child failed, sent less or more than it said, or took too long (then it is
        stopped)."""
        import selectors
        import time

        if self.pid is None:
            return None
        end = time.monotonic() + timeout
        head = bytearray(_HEAD.size)
        got: memoryview | None = None
        at = 0
        with selectors.DefaultSelector() as waiting:
            waiting.register(self._read, selectors.EVENT_READ)
            while True:
                left = end - time.monotonic()
                if left <= 0 or not waiting.select(left):
                    self.stop()
                    return None
                into = memoryview(head)[at:] if got is None else got[at - _HEAD.size :]
                read = os.readv(self._read, [into]) if into else len(os.read(self._read, 1))
                if not read:
                    break  # the end: the child has exited, or is exiting
                at += read
                if got is None and at == _HEAD.size:
                    got = memoryview(bytearray(_HEAD.unpack(head)[0]))
        if self._reap(stop=False) != 0 or got is None or at != _HEAD.size + len(got):
            return None
        return got

    def stop(self) -> None:
        """Stop the child if it still runs, reap it, and close the pipe (once)."""
        self._reap(stop=True)

    def _reap(self, *, stop: bool) -> int | None:
        """The child reaped (killed first with `stop`) and the pipe closed; its exit
        status (None if reaped already)."""
        import signal

        pid, self.pid = self.pid, None
        if pid is None:
            return None
        os.close(self._read)
        if stop:  # one that has exited already is a zombie till reaped: no other's pid
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)


def _child(job: Callable[[], Sequence[bytes]], read: int, write: int) -> None:
    """The child's life: the job, its answer written, and out, whatever happens."""
    code = 1
    try:
        import signal

        # A stop signal ends the child at once (this process stops and reaps it).
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        os.close(read)
        pieces = job()
        answer = b"".join([_HEAD.pack(sum(len(p) for p in pieces)), *pieces])
        view = memoryview(answer)
        while view:
            view = view[os.write(write, view) :]
        code = 0
    except BaseException:  # noqa: BLE001, S110 - the parent does the work instead
        pass
    finally:
        os._exit(code)
