"""Where text goes: stream failures, signals, pipes and output files.

Each failure of stdout (a full disk, a closed descriptor, an encoding that
cannot carry the text, a reader that went away) and each stop signal must give
one line on stderr and a documented exit code, never a traceback; an output
file is written atomically and never replaces what is not a regular file.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from immunofacts import output
from immunofacts.cli import app
from immunofacts.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"


def run(
    args: list[str], *, env: dict[str, str] | None = None, shell: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command in a child process (stdin closed), with a hang guard."""
    full = {**os.environ, **(env or {})}
    cmd = shell if shell is not None else [sys.executable, "-m", "immunofacts", *args]
    return subprocess.run(
        cmd,
        shell=shell is not None,
        capture_output=shell is None,
        stdout=subprocess.PIPE if shell is not None else None,
        stderr=subprocess.PIPE if shell is not None else None,
        text=True,
        env=full,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(stderr: str, *needles: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("immunofacts: error: "), stderr
    for n in needles:
        assert n in lines[0], stderr
    assert "Traceback" not in stderr


# --- usage errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["list-claims", "--bogus"],
        ["list-claims", "--kind", "nope"],
        ["nosuch"],
        ["show-claim"],
        ["list-claims", "--year", "x"],
        ["list-claims", "--year", "9223372036854775808"],  # more than SQL takes
        ["export", "--format", "claimreview", "--year", "-1"],
        *(["list-claims", "--year", y] for y in ("+2020", "2_020", "２０２０", " 2020", "020")),
        ["validate", ""],  # an empty path is a mistake, not the default dataset
        ["list-cases", "--data", ""],
        ["diff", "", "data/immunofacts.yaml"],
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    one_error_line(result.stderr)
    assert not any(ch in result.stderr for ch in "╭│╰─")
    assert result.stdout == ""


def test_usage_error_of_the_real_command() -> None:
    proc = run(["list-claims", "--bogus"])
    assert proc.returncode == 2
    one_error_line(proc.stderr, "--bogus")


# --- stdout failures ----------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_stdout_on_a_full_disk() -> None:
    proc = run([], shell=f"{sys.executable} -m immunofacts export > /dev/full")
    assert proc.returncode == 1
    one_error_line(proc.stderr, "No space left")


def test_stdout_closed() -> None:
    proc = run([], shell=f"{sys.executable} -m immunofacts list-cases >&-")
    assert proc.returncode == 1
    one_error_line(proc.stderr, "stdout", "closed")


def test_stdout_closed_never_lands_in_another_file(tmp_path: Path) -> None:
    """With fd 1 free, the cache file must not become "stdout"."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = run([], shell=f"{sys.executable} -m immunofacts list-claims --format json >&-", env=env)
    assert proc.returncode == 1
    for file in (tmp_path / "cache").rglob("*"):
        if file.is_file():
            assert b'"claim-' not in file.read_bytes()[:64], file


@pytest.mark.parametrize(
    ("args", "code"),
    [("list-claims", 0), ("labels", 0), ("export --format json", 0), ("show-claim nope", 1)],
)
def test_stderr_closed_changes_nothing_but_where_messages_go(
    tmp_path: Path, args: str, code: int
) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    for _ in ("cold", "warm"):
        closed = run([], shell=f"{sys.executable} -m immunofacts {args} 2>&-", env=env)
        assert closed.returncode == code, closed.stdout[:200]
        same = run(args.split(), env=env)
        assert closed.stdout == same.stdout and same.returncode == code
        assert (closed.stdout != "") == (code == 0)


def test_ascii_stdout_degrades_instead_of_crashing() -> None:
    env = {"PYTHONIOENCODING": "ascii"}
    proc = run(["show-claim", "claim-wang-fusheng-lancet-pathology-report"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "claim-wang-fusheng" in proc.stdout


def test_ascii_stdout_replaces_what_it_cannot_carry() -> None:
    buf = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    output.write("fee ₽500 — é\n", buf)
    buf.seek(0)
    assert buf.buffer.getvalue() == b"fee ?500 ? ?\n"


@pytest.mark.parametrize(
    ("encoding", "want"),
    [("ascii", b"[fee ?500 ? ?\n"), ("utf-8", "[fee ₽500 — é\n".encode()), ("UTF8", None)],
)
def test_text_already_encoded_is_written_as_text_is(encoding: str, want: bytes | None) -> None:
    """UTF-8 bytes go to a UTF-8 stream as they are, and as their text to any other."""
    buf = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    output.write(["[", "fee ₽500 — é\n".encode()], buf)
    assert buf.buffer.getvalue() == (want or "[fee ₽500 — é\n".encode())
    plain = io.StringIO()  # no byte layer: written as text
    output.write(["[", "é".encode()], plain)
    assert plain.getvalue() == "[é"


def _spread() -> Any:
    from immunofacts.jsontext import Spread

    whole = bytes(range(256)) * 40
    return Spread([b"[1]", memoryview(whole)[5:9000], "é".encode(), b"", whole, b"{}"] * 300)


@pytest.mark.parametrize("most", [None, 1, 7, 4096])
def test_pieces_spread_are_written_as_joined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, most: int | None
) -> None:
    """Pieces written where they are (to a file descriptor) give the bytes of the pieces
    joined, after what was written before them, however little each write takes."""
    spread = _spread()
    if most is not None:
        writev = os.writev
        calls = []

        def short(fd: int, views: list[Any]) -> int:  # writes at most `most` bytes
            calls.append(len(views))
            if len(calls) % 3 == 0:
                raise BlockingIOError
            return writev(fd, [b"".join(bytes(v) for v in views)[:most]])

        monkeypatch.setattr(os, "writev", short)
        monkeypatch.setattr(time, "sleep", lambda seconds: None)
        spread = type(spread)(spread[:40])
    with open(tmp_path / "out", "w", encoding="utf-8") as f:
        output.write(["[", spread, "]\n"], f)
    want = b"[" + spread.joined() + b"]\n"
    assert (tmp_path / "out").read_bytes() == want
    # and to a stream that is no file, or not in UTF-8: joined first
    buf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    output.write(["[", spread, "]\n"], buf)
    assert buf.buffer.getvalue() == want


def test_ascii_stderr_carries_any_error() -> None:
    env = {"PYTHONIOENCODING": "ascii"}
    proc = run(["show-claim", "claim-ünknown-é"], env=env)
    assert proc.returncode == 1
    one_error_line(proc.stderr, "no claim with id")


class _Broken(io.StringIO):
    def __init__(self, error: OSError) -> None:
        super().__init__()
        self.error = error

    def flush(self) -> None:
        raise self.error

    def fileno(self) -> int:
        raise io.UnsupportedOperation


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EBADF", "EIO"])
def test_every_stream_error_is_an_output_error(errno_name: str) -> None:
    import errno

    code = getattr(errno, errno_name)
    with pytest.raises(OutputError, match="cannot write to stdout"):
        output.write("x", _Broken(OSError(code, os.strerror(code))))


def test_broken_pipe_is_pipe_closed() -> None:
    with pytest.raises(output.PipeClosed):
        output.write("x", _Broken(BrokenPipeError(32, "Broken pipe")))


def big_dataset(tmp_path: Path, n: int = 3000) -> Path:
    """A valid dataset whose JSON listing is far larger than a pipe's buffer."""
    lines = [
        "schema: 2",
        "source: {id: src, title: Big, publisher: Me}",
        "claims:",
    ]
    for i in range(n):
        lines += [
            f"  - id: claim-{i}",
            "    kind: statistic",
            f"    statement: Statement number {i} says something long enough to fill a pipe.",
            f"    quote: Quote number {i}, again long enough to fill a pipe buffer quickly.",
            "    evidence: unsourced",
        ]
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "command",
    [
        "list-claims --format json",
        "list-claims --format plain",
        "search statement --format csv",
        "export --format yaml",
    ],
)
def test_a_large_output_into_head_exits_141(tmp_path: Path, command: str) -> None:
    data = big_dataset(tmp_path)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    run(["validate", str(data)], env=env)  # build the cache first
    shell = (
        f"{sys.executable} -m immunofacts {command} --data {data} | (head -c 1 >/dev/null; "
        "exec 0<&-; sleep 0.5); echo ${PIPESTATUS[0]}"
    )
    proc = subprocess.run(
        ["bash", "-c", shell],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout.strip() == "141", proc.stderr
    assert proc.stderr == ""


# --- signals ------------------------------------------------------------------------------

#: Runs the command with a slow fsync, saying "ready" on stderr when the write has begun.
SLOW_WRITE = textwrap.dedent(
    """
    import os, sys, time
    real = os.fsync
    def slow(fd):
        sys.stderr.write("ready\\n"); sys.stderr.flush()
        time.sleep(30)
        real(fd)
    os.fsync = slow
    sys.argv = ["immunofacts", *sys.argv[1:]]
    from immunofacts.cli import main
    main()
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_mid_write_leaves_nothing_and_exits_128_plus_n(
    tmp_path: Path, sig: signal.Signals
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "export.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITE, "export", "--output", str(target)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline() == "ready\n"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, err
    assert err.strip() == "immunofacts: interrupted"
    assert list(out_dir.iterdir()) == []


# --- output files -------------------------------------------------------------------------


def test_force_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = CliRunner().invoke(app, ["export", "-o", str(fifo), "--force"])
    assert result.exit_code == 2
    one_error_line(result.stderr, "not a regular file")
    assert os.path.exists(fifo) and not fifo.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["fifo"]


def test_write_atomic_refuses_a_device() -> None:
    with pytest.raises(OutputError, match="not a regular file"):
        output.write_atomic("/dev/null", "x", overwrite=True)


def test_write_atomic_refuses_a_target_that_turns_into_a_fifo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    real_fsync = os.fsync

    def fsync_then_swap(fd: int) -> None:
        real_fsync(fd)
        target.unlink()
        os.mkfifo(target)

    monkeypatch.setattr(os, "fsync", fsync_then_swap)
    with pytest.raises(OutputError, match="not a regular file"):
        output.write_atomic(target, "new\n", overwrite=True)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    assert not target.is_file()


def test_force_through_a_symlink_writes_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = CliRunner().invoke(app, ["export", "-o", str(link), "--force"])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert real.read_text().startswith("{")


@pytest.mark.parametrize("name", ["newdir/", "existing-dir", "existing-dir/"])
def test_output_naming_a_directory_writes_nothing(tmp_path: Path, name: str) -> None:
    (tmp_path / "existing-dir").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    target = str(tmp_path / name) + ("/" if name.endswith("/") else "")
    for extra in ([], ["--force"]):
        result = CliRunner().invoke(app, ["export", "-o", target, *extra])
        assert result.exit_code == 2, result.stderr
        one_error_line(result.stderr, "is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_empty_output_name_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "-o", ""])
    assert result.exit_code == 2
    one_error_line(result.stderr, "empty")


def test_output_file_written_and_reported(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["export", "-o", str(target)])
    assert time.perf_counter() - start < 60  # a hang guard
    assert result.exit_code == 0
    # (the bundled dataset's text lies elsewhere: the export says so on the next line)
    assert result.stderr.splitlines()[0] == f"immunofacts: wrote {target}"
    assert result.stderr.count("\n") == 2 and "IMMUNOFACTS_TEXT_DIRS" in result.stderr
    assert target.read_text(encoding="utf-8").startswith("{")


def test_a_broken_stream_that_is_not_stdout_leaves_stdout_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    silenced: list[bool] = []
    monkeypatch.setattr(output, "silence_stdout", lambda: silenced.append(True))
    for error in (OSError(5, "Input/output error"), BrokenPipeError(32, "Broken pipe")):
        with pytest.raises((OutputError, output.PipeClosed)):
            output.write("x", _Broken(error))
    assert silenced == []


def _fake_pager(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A pager that keeps what it is fed (the list returned), in place of a real one."""
    fed: list[str] = []

    def pager(argv: list[str], chunks: Any) -> bool:
        fed.extend(chunks)
        return True

    monkeypatch.setattr(output, "_through_pager", pager)
    monkeypatch.setenv("IMMUNOFACTS_PAGER", "less")
    return fed


def test_the_pager_gets_text_already_encoded_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces in UTF-8 (JSON kept by the cache) reach the pager as the text they are."""
    fed = _fake_pager(monkeypatch)
    output.write_paged(["[\n", b"  1,\n  2,\n", "  \u00e9\n]\n".encode()], 2)
    assert fed == ["[\n", "  1,\n  2,\n", "  \u00e9\n]\n"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's")
@pytest.mark.parametrize(
    ("pieces", "widened"),
    [
        ([b"  {}\n"] * 10, False),  # a few lines read from the cache
        (["x" * 4096] * 600, False),  # text made on the spot, however long
        ([b"y" * 4096] * 600, True),  # megabytes read from the cache
    ],
    ids=["short-answer", "made-on-the-spot", "large-answer"],
)
def test_a_pipe_is_widened_only_for_a_large_answer_read_from_the_cache(
    pieces: list[str | bytes], widened: bool
) -> None:
    """JSON written as the cache keeps it (megabytes, for a large dataset) goes to a pipe
    made to hold 1 MB once the first megabyte has gone, so that the writer does not wait
    on the reader every 64 KB; a short answer, or text made on the spot, leaves the pipe
    (which other programs may share) as it is."""
    import fcntl
    import threading

    r, w = os.pipe()
    got: list[bytes] = []

    def drain() -> None:
        while chunk := os.read(r, 65536):
            got.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        before = fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)
        with open(w, "w", encoding="utf-8", closefd=False) as stream:
            output.write(pieces, stream=stream)
        after = fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)
    finally:
        os.close(w)
        reader.join()
        os.close(r)
    want = b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces)
    assert b"".join(got) == want
    if widened and before < output.PIPE_BYTES:
        assert after == output.PIPE_BYTES
    else:
        assert after == before


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "ascii"])
def test_text_encoded_before_is_written_as_text_whatever_its_type(encoding: str) -> None:
    """Pieces already encoded as UTF-8, as bytes or as a memoryview of them (a timeline
    block read from the cache), are the same text as a string, on any stream."""
    text = "caf\u00e9 \u7ec6\u80de\n"
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="replace")
    output.write(["[", text.encode(), memoryview(text.encode()), "]"], stream)
    want = io.BytesIO()
    plain = io.TextIOWrapper(want, encoding=encoding, errors="replace")
    output.write("[" + text + text + "]", plain)
    assert raw.getvalue() == want.getvalue()


@pytest.mark.parametrize(
    ("errors", "want"),
    [
        ("strict", b"caf? ??"),
        ("surrogateescape", b"caf? ??"),
        ("ignore", b"caf "),
        ("backslashreplace", b"caf\\xe9 \\u7ec6\\u80de"),
    ],
)
def test_what_the_stream_cannot_carry_becomes_what_its_handler_says_or_a_question_mark(
    errors: str, want: bytes
) -> None:
    """A character that the stream's encoding cannot carry is written as the stream's
    error handler writes it, when that handler writes something for any character; with
    "strict" or "surrogateescape" (stdout in the C locale), which would raise, as "?"."""
    text = "caf\u00e9 \u7ec6\u80de"
    for piece in (text, text.encode(), memoryview(text.encode())):
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding="ascii", errors=errors)
        output.write([piece], stream)
        assert raw.getvalue() == want


def test_a_c_locale_stdout_gets_the_answer_with_question_marks_not_an_error(
    tmp_path: Path,
) -> None:
    """In the C locale (no UTF-8 coercion), stdout is ASCII with "surrogateescape": a
    claim's non-ASCII text comes out with "?" for each such character, cold and warm."""
    env = {
        **os.environ,
        "LC_ALL": "C",
        "LANG": "C",
        "PYTHONCOERCECLOCALE": "0",
        "PYTHONUTF8": "0",
        "XDG_CACHE_HOME": str(tmp_path),
    }
    env.pop("PYTHONIOENCODING", None)
    args = [sys.executable, "-m", "immunofacts", "list-claims", "--format", "json"]
    answers = []
    for _ in range(2):  # building the cache, then answered from it
        done = subprocess.run(args, env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.isascii() and b"?" in done.stdout
        answers.append(done.stdout)
    assert answers[0] == answers[1]
    utf8 = subprocess.run(
        args, env={**env, "PYTHONIOENCODING": "utf-8"}, capture_output=True, timeout=60
    )
    assert not utf8.stdout.isascii()  # the shipped claims do hold such characters
    assert len(answers[0].splitlines()) == len(utf8.stdout.splitlines())


def test_bytes_that_are_not_utf8_are_written_with_replacements_never_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pieces kept as UTF-8 (the cache's JSON) that are not UTF-8 after all (a cache
    edited by hand): to a stream of another encoding, and to the pager, they are written
    with replacement characters, not an error of the stream or a traceback."""
    import io

    bad = b'  {"a": "\xff\xfe"}\n'
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="latin-1", errors="replace")
    output.write(["[\n", bad, "]\n"], stream=stream)
    assert raw.getvalue() == b'[\n  {"a": "??"}\n]\n'
    fed = _fake_pager(monkeypatch)
    output.write_paged(["[\n", bad, "]\n"], 1)
    assert fed == ["[\n", '  {"a": "\ufffd\ufffd"}\n', "]\n"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_an_encoding_with_a_byte_order_mark_gets_one_for_the_whole_output(encoding: str) -> None:
    """Pieces written one after another (text made on the spot, and UTF-8 the cache
    keeps) to a stream in UTF-16, UTF-32 or UTF-8 with a signature: one mark at the start
    of the stream, not one before each piece."""
    import codecs
    import io

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding)
    output.write(["[\n", b'  "caf\xc3\xa9",\n', '  "\u00e9t\u00e9"\n', "]\n"], stream=stream)
    data = raw.getvalue()
    assert data.decode(encoding) == '[\n  "caf\u00e9",\n  "\u00e9t\u00e9"\n]\n'
    marks = {codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF8}
    mark = next(m for m in sorted(marks, key=len, reverse=True) if data.startswith(m))
    assert data.count(mark) == 1
