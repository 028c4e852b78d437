"""Where text goes: stdout, files written atomically, and the signals that stop a run.

Every failure of a stream becomes an error the command line reports in one
line: a full disk or a closed stdout is an `OutputError` (exit 1); the reader
of a pipe going away is `PipeClosed` (exit 141, nothing printed). A text that
the stream's encoding cannot carry degrades to replacement characters rather
than failing. SIGTERM and SIGHUP stop a run the way Ctrl-C does: an
`Interrupted` exception unwinds every ``finally`` (temporary files removed,
the cursor restored) and the exit code is 128 plus the signal's number.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from .errors import ExitStatus, OutputError, named
from .jsontext import ELEMENT_GAP, Spread, plain


class PipeClosed(Exception):
    """The reader of stdout went away (``| head``): stop quietly with exit 141."""


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """A signal (SIGINT, SIGTERM, SIGHUP) asked the run to stop.

    A BaseException, as KeyboardInterrupt is, so that no ``except Exception``
    swallows it on its way up.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signum)

    @property
    def exit_status(self) -> ExitStatus:
        """128 plus the signal's number, as a shell reports a process killed by it."""
        return ExitStatus(128 + self.signum)


#: The signals that stop a run cleanly.
STOP_SIGNALS = tuple(
    s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGHUP")) if s is not None
)


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def handle_signals() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise `Interrupted` (main thread only)."""
    for sig in STOP_SIGNALS:
        with contextlib.suppress(ValueError, OSError):  # not the main thread, or not allowed
            signal.signal(sig, _raise_interrupted)


def reserve_standard_fds() -> None:
    """Keep file descriptors 0-2 from being reused when the caller closed them.

    Run with ``>&-``, descriptor 1 is free, and the next file opened (a cache,
    an output file) would get it: anything written to "stdout" would land in
    that file. Each closed one is pointed at the null device; a closed stdout
    is then reported by `write` instead of written to, and a closed stderr (which
    Python leaves as None) takes the messages that would have gone to it.
    """
    global _STDOUT_CLOSED
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, os.O_RDWR)
            except OSError:
                continue
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if fd == 1:
                _STDOUT_CLOSED = True
                sys.stdout = None
    if sys.stderr is None:  # closed when Python started (2>&-): messages go nowhere
        with contextlib.suppress(OSError, ValueError):
            sys.stderr = open(2, "w", errors="backslashreplace", closefd=False)  # noqa: SIM115


_STDOUT_CLOSED = False


def _stdout() -> TextIO:
    stream = sys.stdout
    if stream is None or _STDOUT_CLOSED:
        raise OutputError("cannot write to stdout: it is closed")
    return stream


@functools.lru_cache(maxsize=8)
def _utf8(encoding: str) -> bool:
    """Whether `encoding` names UTF-8 (looked up once a name, not once a write)."""
    import codecs

    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


@functools.lru_cache(maxsize=8)
def _marked(encoding: str) -> bool:
    """Whether `encoding` starts what it encodes with a byte-order mark (UTF-16, UTF-32,
    UTF-8 with a signature): encoded a piece at a time, each piece would start with one."""
    import codecs

    try:
        return codecs.lookup(encoding).name in ("utf-16", "utf-32", "utf-8-sig")
    except LookupError:
        return False


#: The error handlers of a stream that deal with every character its encoding cannot
#: carry (as the user asked, as with PYTHONIOENCODING=ascii:ignore); with any other
#: ("strict", or "surrogateescape", which only writes back the bytes that a decoding
#: could not read, and is what stdout has in the C locale), such a character becomes "?".
_REPLACING = frozenset(
    {"replace", "backslashreplace", "xmlcharrefreplace", "namereplace", "ignore"}
)


def _put(stream: Any, text: str | bytes | memoryview) -> None:
    """Write all of `text` (or of text already encoded as UTF-8), through the byte
    layer when there is one.

    An unbuffered stdout (``python -u``, PYTHONUNBUFFERED) takes a partial
    write without a word and drops the rest; this loop does not. Characters
    that the stream's encoding cannot carry become replacement characters.
    """
    buffer = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    if encoding and _marked(encoding):
        buffer = None  # the text layer writes the mark once for the stream, not per piece
    if isinstance(text, bytes | memoryview):  # written as it is to a UTF-8 stream
        if buffer is None or not encoding or not _utf8(encoding):
            text = str(text, "utf-8", "replace")  # (a damaged cache's bytes: never a crash)
    if buffer is None or not encoding:
        assert isinstance(text, str)
        stream.write(text)
        return
    errors = getattr(stream, "errors", None)
    if errors not in _REPLACING:  # "strict", or "surrogateescape" (a C locale's stdout)
        errors = "replace"
    if isinstance(text, bytes | memoryview):
        data = memoryview(text)
    else:
        data = memoryview(text.encode(encoding, errors))
    while data:
        n = buffer.write(data)
        if n is None:  # a non-blocking descriptor that is full: wait a little
            import time

            time.sleep(0.01)
            continue
        data = data[n:]


#: The most pieces one `os.writev` is given (Linux's IOV_MAX).
_WRITEV_AT_ONCE = 1024


def _put_spread(stream: Any, pieces: Spread) -> None:
    """`_put` of `pieces` joined, written where they are (not joined first) when the
    stream's bytes go to a file descriptor in UTF-8."""
    buffer = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    fd = -1
    if buffer is not None and encoding and _utf8(encoding) and hasattr(os, "writev"):
        try:
            fd = buffer.fileno()
        except (AttributeError, OSError, ValueError):  # not a file (a test's stream)
            fd = -1
    if fd < 0 or buffer is None:
        _put(stream, plain(pieces))
        return
    buffer.flush()  # what went to the buffer first goes first
    views: list[memoryview] = []
    gap = memoryview(ELEMENT_GAP)
    for piece in pieces:
        if views:
            views.append(gap)
        views.append(memoryview(piece))
    at = 0
    while at < len(views):
        try:
            n = os.writev(fd, views[at : at + _WRITEV_AT_ONCE])
        except BlockingIOError:  # a non-blocking descriptor that is full: wait a little
            import time

            time.sleep(0.01)
            continue
        while n and n >= len(views[at]):  # the pieces written whole
            n -= len(views[at])
            at += 1
        if n:  # one written in part: the rest of it next
            views[at] = views[at][n:]
        while at < len(views) and not views[at]:
            at += 1


def silence_stdout() -> None:
    """Send whatever is left for stdout nowhere (the reader went away, or it failed).

    Python flushes stdout once more at exit; pointed at the null device, that
    flush cannot fail and print a second error.
    """
    stream = sys.stdout
    try:
        fd = stream.fileno() if stream is not None else 1
    except (OSError, ValueError, AttributeError):
        return
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)


@contextlib.contextmanager
def _stream_errors(stream: Any) -> Iterator[None]:
    """Turn a failure of the stream into `PipeClosed` or `OutputError`.

    Only a failure of stdout itself silences stdout; another stream that fails
    leaves the process's stdout as it is.
    """
    try:
        yield
    except BrokenPipeError:
        if stream is sys.stdout:
            silence_stdout()
        raise PipeClosed from None
    except UnicodeEncodeError as e:  # a stream that refused to degrade
        raise OutputError(f"cannot write to stdout: {e.reason} ({e.encoding})") from None
    except (OSError, ValueError) as e:
        if stream is sys.stdout:
            silence_stdout()
        reason = getattr(e, "strerror", None) or str(e)
        raise OutputError(f"cannot write to stdout: {reason}") from None


#: How many pieces of text have been handed to stdout (or to its pager) so far.
_PIECES = 0


def pieces_written() -> int:
    """How many pieces of text have gone to stdout (or its pager): a command that has
    written any of its answer cannot start that answer again."""
    return _PIECES


def write(
    text: str | Iterable[str | bytes | memoryview | Spread], stream: TextIO | None = None
) -> None:
    """Write data (a string, or chunks as they are made: strings, or text already
    encoded as UTF-8) to stdout or `stream`, then flush.

    Raises `PipeClosed` when the reader went away and `OutputError` when the
    stream cannot take the text (a full disk, a closed descriptor). An error
    raised while making a chunk is not the stream's and goes up as it is.
    """
    global _PIECES
    out = stream if stream is not None else _stdout()
    with _stream_errors(out):
        out.flush()  # whatever went through the text layer first goes first
    widened = isinstance(text, str)
    sent = 0
    for chunk in [text] if isinstance(text, str) else text:
        if out is sys.stdout:
            _PIECES += 1
        if not widened and isinstance(chunk, bytes | memoryview | Spread):
            sent += sum(map(len, chunk)) if isinstance(chunk, Spread) else len(chunk)
            if sent >= WIDEN_AFTER:  # a large answer: not one of a few lines
                widened = True
                _widen_pipe(out)
        with _stream_errors(out):
            if isinstance(chunk, Spread):
                _put_spread(out, chunk)
            else:
                _put(out, chunk)
    with _stream_errors(out):
        out.flush()
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            buffer.flush()


#: How much a pipe to stdout is made to hold once an answer read from the cache has
#: written WIDEN_AFTER bytes to it (Linux's most for a user, unless raised). The pipe may
#: be shared with other programs, and its size counts against the user's pipe pages: it
#: is widened only for a large answer.
PIPE_BYTES = 1 << 20
WIDEN_AFTER = 1 << 20


def _widen_pipe(stream: Any) -> None:
    """Let a pipe that `stream` writes to hold PIPE_BYTES, where the system allows it.

    Done when the first piece of text made before (an answer read from the cache, often
    megabytes) is written: with the 64 KB a pipe holds at first, the writer stops each
    time the reader has not read the last 64 KB yet; with 1 MB, both go on at once.
    """
    try:
        import fcntl

        fd = stream.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            if fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) < PIPE_BYTES:
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError, ValueError):
        pass  # not Linux, not a descriptor, or more than this user may have


# --- the pager ------------------------------------------------------------------------

#: The pager used when neither IMMUNOFACTS_PAGER nor PAGER names one: quit at once if
#: the text fits one screen (-F), keep colour (-R), leave the text on screen (-X).
DEFAULT_PAGER = "less -FRX"


def pager_command() -> list[str] | None:
    """The pager to run, from IMMUNOFACTS_PAGER, else PAGER, else `less -FRX`; None
    when paging is turned off (an empty value, or `cat`)."""
    import shlex

    chosen = os.environ.get("IMMUNOFACTS_PAGER")
    if chosen is None:
        chosen = os.environ.get("PAGER")
    if chosen is None:
        chosen = DEFAULT_PAGER
    try:
        argv = shlex.split(chosen)
    except ValueError:
        return None
    if not argv or argv == ["cat"]:
        return None
    return argv


def write_paged(text: str | Iterable[str | bytes | memoryview | Spread], height: int) -> None:
    """Write to stdout, through the pager when the text is taller than `height` rows.

    Only as much text is read ahead as it takes to know; a pager that cannot
    start (not installed, not executable) leaves the text written plainly.
    """
    argv = pager_command()
    if argv is None or height <= 0:
        write(text)
        return
    given = [text] if isinstance(text, str) else text
    chunks = (c if isinstance(c, str) else str(plain(c), "utf-8", "replace") for c in given)
    ahead: list[str] = []
    rows = 0
    for chunk in chunks:
        ahead.append(chunk)
        rows += chunk.count("\n")
        if rows >= height:  # the screen's last row is the prompt's
            break
    else:
        write(ahead)
        return
    import itertools

    if not _through_pager(argv, itertools.chain(ahead, chunks)):
        write(itertools.chain(ahead, chunks))


def _through_pager(argv: list[str], chunks: Iterable[str]) -> bool:
    """Feed `chunks` to a pager and wait for the reader to quit it; False if it
    could not start (nothing of `chunks` is used then)."""
    global _PIECES
    import subprocess

    env = dict(os.environ)
    env.setdefault("LESS", "FRX")  # as git does: a bare `less` keeps colour too
    env.setdefault("LV", "-c")
    stdout = _stdout()
    with _stream_errors(stdout):
        stdout.flush()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, env=env)
    except (OSError, ValueError):
        return False
    assert proc.stdin is not None
    encoding = getattr(stdout, "encoding", None) or "utf-8"
    # Ctrl-C belongs to the pager while it runs (less stops a search with it).
    with _ignoring_sigint():
        try:
            for chunk in chunks:
                _PIECES += 1
                proc.stdin.write(chunk.encode(encoding, "replace"))
        except (BrokenPipeError, OSError):
            pass  # the reader quit before the end: that is fine
        finally:
            with contextlib.suppress(BrokenPipeError, OSError):
                proc.stdin.close()
            proc.wait()
    return True


@contextlib.contextmanager
def _ignoring_sigint() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def prepare_stderr() -> None:
    """Let stderr carry any text: characters its encoding lacks become escapes."""
    stream = sys.stderr
    if stream is not None and hasattr(stream, "reconfigure"):
        with contextlib.suppress(Exception):
            stream.reconfigure(errors="backslashreplace")


class OutputExistsError(OutputError):
    """The output file exists and overwriting it was not allowed."""

    exit_status = ExitStatus.USAGE

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        super().__init__(f"{named(path)} exists")


#: Files that no command writes over, whatever --force says: the dataset it reads and
#: that dataset's source text, each as (device, inode), so that a link to one of them,
#: or another name of it, is found as well.
_KEPT: set[tuple[int, int]] = set()


def keep(*paths: Path | str | None) -> None:
    """Never write over these files (those of them that exist), in this process."""
    for path in paths:
        if path is None:
            continue
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue
        _KEPT.add((st.st_dev, st.st_ino))


def keep_only(*paths: Path | str | None) -> None:
    """`keep` these files, and no longer those kept before (a command starts afresh)."""
    _KEPT.clear()
    keep(*paths)


def _kept(raw: str) -> bool:
    try:
        st = os.stat(raw)
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) in _KEPT


def check_target(path: Path | str, *, overwrite: bool) -> Path:
    """The file to write for `path`, or an OutputError saying why not.

    A name ending in a separator, a directory, a FIFO, a device or a socket is
    never written over; a symbolic link to a regular file stands for its target.
    Nor is a file `keep` named (the dataset read, its source text), even with
    `overwrite`. Without `overwrite`, an existing file is an `OutputExistsError`.
    """
    raw = os.fspath(path)
    if not raw:
        raise OutputError("the output file name is empty")
    if raw.endswith((os.sep, "/")) or os.path.isdir(raw):
        raise OutputError(f"{named(raw)}: is a directory; give a file name")
    target = Path(raw)
    if not os.path.lexists(raw):
        return target
    if _kept(raw):
        raise OutputError(f"{named(raw)}: is the dataset read, or its source text; write elsewhere")
    if not overwrite:
        raise OutputExistsError(raw)
    try:
        st = os.stat(raw)
    except OSError as e:
        raise OutputError(f"{named(raw)}: cannot write: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(
            f"{named(raw)}: is not a regular file (a FIFO, device or socket); not replacing it"
        )
    return Path(os.path.realpath(raw))


def write_atomic(path: Path | str, text: str | Iterable[str], *, overwrite: bool) -> None:
    """Write `text` (UTF-8; a string, or chunks as they are made) to `path` through a
    temporary file and a rename (see `atomic_file`)."""
    with atomic_file(path, overwrite=overwrite) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.writelines([text] if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_file(path: Path | str, *, overwrite: bool) -> Iterator[Path]:
    """A temporary file beside `path` for the caller to fill, which then takes its place.

    Readers see the old file or the new one, never a half-written one; an
    interrupted write (an error, Ctrl-C, SIGTERM) leaves no temporary file
    behind. Without `overwrite`, an existing file is an `OutputExistsError`,
    even one that appears while writing; a target that is not a regular file
    is never replaced. The new file gets the mode of the one it replaces, or
    the mode a new file would get.
    """
    import tempfile

    target = check_target(path, overwrite=overwrite)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise OutputError(f"{named(path)}: cannot write: {e.strerror or e}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode) if overwrite else None
        except OSError:
            mode = None
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)  # mkstemp made it private
        if overwrite:
            check_target(target, overwrite=True)  # still a regular file, or gone
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the file appeared meanwhile: never clobber
            except FileExistsError:
                raise OutputExistsError(path) from None
            os.unlink(tmp)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{named(path)}: cannot write: {e.strerror or e}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
