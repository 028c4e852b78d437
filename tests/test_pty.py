"""The command in a real pseudo-terminal and in real pipes: tables, colour, Ctrl-C, `| head`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from immunofacts.loading import load_dataset

pexpect = pytest.importorskip("pexpect")

# Real terminals are slow to drive: `pytest -m "not slow"` leaves them out.
pytestmark = [pytest.mark.tty, pytest.mark.slow]

DATA = Path(__file__).resolve().parent.parent / "data" / "immunofacts.yaml"
BOX = re.compile("[\u2500-\u257f]")
SGR = re.compile(r"\x1b\[[0-9;]*m")
COLOUR_SGR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's own environment (conftest cleared colour settings) plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["PYTHONUNBUFFERED"] = "1"
    # Long output on a terminal is paged; tests of the pager turn it back on.
    env["IMMUNOFACTS_PAGER"] = "cat"
    env.pop("PAGER", None)
    env.pop("LESS", None)
    env.update(extra)
    return env


#: Wide enough for the claims table: narrower terminals get one card per claim instead.
WIDE = 250


def in_pty(
    tmp_path: Path, args: list[str], *, columns: int = WIDE, **extra: str
) -> tuple[str, int]:
    """Run immunofacts in a pseudo-terminal; its output (CRLF made LF) and exit status."""
    env = env_for(tmp_path, **{"COLUMNS": str(columns), "TERM": "xterm-256color", **extra})
    child = pexpect.spawn(
        sys.executable,
        ["-m", "immunofacts", *args],
        env=env,
        encoding="utf-8",
        dimensions=(50, columns),
        timeout=20,
    )
    out: str = child.read()
    child.close()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"
    return out.replace("\r\n", "\n"), int(child.exitstatus)


def test_default_on_a_terminal_is_a_rich_table(tmp_path: Path) -> None:
    out, status = in_pty(tmp_path, ["list-claims", "--data", str(DATA)])
    assert status == 0
    assert BOX.search(out), out[:500]
    assert "╭" in out
    assert "Traceback" not in out


def test_no_color_in_a_terminal(tmp_path: Path) -> None:
    out, status = in_pty(tmp_path, ["list-claims", "--data", str(DATA)], NO_COLOR="1")
    assert status == 0
    assert BOX.search(out)  # still a table
    assert not COLOUR_SGR.search(out)
    assert "\x1b[" not in out


def test_colour_in_a_terminal_by_default(tmp_path: Path) -> None:
    out, status = in_pty(tmp_path, ["list-claims", "--data", str(DATA)])
    assert status == 0
    assert COLOUR_SGR.search(out)


def test_term_dumb_has_no_colour_and_ascii_boxes(tmp_path: Path) -> None:
    out, status = in_pty(tmp_path, ["list-claims", "--data", str(DATA)], TERM="dumb")
    assert status == 0
    assert "\x1b[" not in out
    assert not BOX.search(out)
    assert "+--" in out or "|" in out


def piped(tmp_path: Path, args: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "immunofacts", *args],
        env=env_for(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_force_color_colours_a_pipe(tmp_path: Path) -> None:
    proc = piped(tmp_path, ["list-claims", "--data", str(DATA)], FORCE_COLOR="1", COLUMNS="250")
    assert proc.returncode == 0, proc.stderr
    assert COLOUR_SGR.search(proc.stdout)
    assert BOX.search(proc.stdout)


def test_piped_output_is_plain_and_whole_at_40_columns(tmp_path: Path) -> None:
    proc = piped(tmp_path, ["list-claims", "--data", str(DATA)], COLUMNS="40")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert not BOX.search(out)
    assert "\x1b" not in out
    assert "…" not in out
    ds = load_dataset(DATA)
    header, *lines = out.splitlines()
    assert header.split("\t")[0] == "id"
    assert len(lines) == len(ds.claims)
    longest = max(ds.claims, key=lambda c: len(c.statement))
    assert len(longest.statement) > 40
    for claim, line in zip(ds.claims, lines, strict=True):
        assert line.split("\t")[0] == claim.id
        assert line.endswith(claim.statement.replace("\n", " "))


def test_piped_show_claim_is_not_truncated(tmp_path: Path) -> None:
    ds = load_dataset(DATA)
    claim = max(ds.claims, key=lambda c: len(c.quote))
    proc = piped(tmp_path, ["show-claim", claim.id, "--data", str(DATA)], COLUMNS="40")
    assert proc.returncode == 0, proc.stderr
    assert claim.quote.replace("\n", " ") in proc.stdout
    assert "…" not in proc.stdout


# --- | head ------------------------------------------------------------------------


def big_dataset(path: Path, n: int) -> Path:
    """A valid dataset of `n` claims, written line by line."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("schema: 2\nsource:\n  id: src-big\n  title: Big\n  publisher: Generator\n")
        f.write("claims:\n")
        for i in range(n):
            f.write(
                f"  - id: claim-{i}\n    kind: opinion\n"
                f"    statement: Statement number {i} about immune cells and lupus.\n"
                f"    quote: Quote number {i}.\n    evidence: opinion\n"
            )
    return path


def head_1(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    cmd = " ".join([sys.executable, "-m", "immunofacts", *args])
    return subprocess.run(
        f"set -o pipefail; {cmd} | head -1",
        shell=True,
        executable="/bin/bash",
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [["list-claims"], ["export", "--format", "json"], ["source"], ["timeline"]],
    ids=lambda a: a[0] + ("-" + a[-1] if len(a) > 1 else ""),
)
def test_head_on_the_real_dataset_is_quiet(tmp_path: Path, args: list[str]) -> None:
    proc = head_1(tmp_path, [*args, "--data", str(DATA)])
    assert proc.returncode in (0, 141), proc.stderr
    assert proc.stderr == ""
    assert len(proc.stdout.splitlines()) == 1


def test_head_on_a_big_output_is_quiet(tmp_path: Path) -> None:
    big = big_dataset(tmp_path / "big.yaml", 20_000)
    for args in (["list-claims"], ["search", "lupus"], ["export", "--format", "csv"]):
        proc = head_1(tmp_path, [*args, "--data", str(big)])
        assert proc.returncode in (0, 141), (args, proc.stderr)
        assert proc.stderr == "", (args, proc.stderr)
        assert "BrokenPipeError" not in proc.stderr
        assert len(proc.stdout.splitlines()) == 1


# --- Ctrl-C ------------------------------------------------------------------------------


def test_ctrl_c_exits_130_without_a_traceback(tmp_path: Path) -> None:
    big = big_dataset(tmp_path / "big.yaml", 60_000)
    env = env_for(tmp_path, COLUMNS="100", TERM="xterm-256color")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "immunofacts", "search", "zzz-not-there", "--data", str(big)],
        env=env,
        encoding="utf-8",
        timeout=120,
    )
    child.expect("Loading")  # the spinner: mid-load, after imports, however slow the machine
    assert child.isalive(), "finished before the interrupt; make the dataset bigger"
    child.sendintr()
    out: str = child.read()
    child.close()
    assert child.signalstatus is None, f"killed by signal {child.signalstatus}"
    assert child.exitstatus == 130, out
    assert "Traceback" not in out
    assert "KeyboardInterrupt" not in out
    assert "interrupted" in out


def temp_files(cache: Path) -> list[Path]:
    """The temporary files a cache build writes before renaming (none once it stops)."""
    return sorted(cache.rglob("*.tmp")) if cache.exists() else []


def test_sigint_in_a_pipe_exits_130(tmp_path: Path) -> None:
    big = big_dataset(tmp_path / "big.yaml", 60_000)
    cache = tmp_path / "cache"
    proc = subprocess.Popen(
        [sys.executable, "-m", "immunofacts", "list-claims", "--data", str(big)],
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupt the first load while it writes the cache, however slow the machine is
    # to get there: the cache's temporary file is the sign.
    deadline = time.monotonic() + 120
    while not temp_files(cache) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGSTOP)  # stopped, it cannot finish before the interrupt
    if proc.poll() is not None:
        pytest.skip("finished before the cache was being written")
    assert time.monotonic() < deadline, "no cache being written after 120 s"
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGCONT)
    start = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err == "immunofacts: interrupted\n"
    assert time.monotonic() - start < 30  # the build stops, it does not run to its end
    assert temp_files(cache) == []


#: The command, with a Ctrl-C (or `sig`) arriving while its own modules are imported.
SIGNAL_DURING_IMPORTS = """\
import builtins, os, sys
sig = int(sys.argv[1])
real = builtins.__import__
def importing(name, *args, **kwargs):
    if name == "typer":
        os.kill(os.getpid(), sig)
    return real(name, *args, **kwargs)
builtins.__import__ = importing
from immunofacts.__main__ import main
sys.argv = ["immunofacts", *sys.argv[2:]]
main()
print("not interrupted")
"""


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_a_signal_during_start_up_exits_128_plus_n(tmp_path: Path, sig: signal.Signals) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SIGNAL_DURING_IMPORTS, str(int(sig)), "list-claims"],
        env=env_for(tmp_path, IMMUNOFACTS_DATA=str(DATA)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 128 + sig, proc.stderr
    assert proc.stderr == "immunofacts: interrupted\n"
    assert proc.stdout == ""


def test_narrow_terminal_gets_cards_not_a_broken_table(tmp_path: Path) -> None:
    out, status = in_pty(tmp_path, ["list-claims", "--data", str(DATA)], columns=60)
    assert status == 0
    ds = load_dataset(DATA)
    plain = SGR.sub("", out)
    for claim in ds.claims:
        assert claim.id in plain
    assert max(len(line) for line in plain.splitlines()) <= 60


# --- the pager ----------------------------------------------------------------------------

LESS = shutil.which("less")


def spawn(tmp_path: Path, args: list[str], rows: int, columns: int, **extra: str) -> Any:
    """immunofacts in a pseudo-terminal of `rows` x `columns`, with no COLUMNS or LINES set."""
    env = env_for(tmp_path, TERM="xterm-256color", **extra)
    for var in ("COLUMNS", "LINES"):
        env.pop(var, None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "immunofacts", *args],
        env=env,
        encoding="utf-8",
        dimensions=(rows, columns),
        timeout=20,
    )


def recorder(tmp_path: Path) -> tuple[str, Path]:
    """A pager that saves what it is given (and the LESS it sees) to a file."""
    saved = tmp_path / "paged.txt"
    script = tmp_path / "pager.py"
    script.write_text(
        "import os, sys\n"
        f"open({str(saved)!r}, 'w', encoding='utf-8').write("
        "os.environ.get('LESS', '') + '\\n' + sys.stdin.read())\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script}", saved


@pytest.mark.skipif(LESS is None, reason="less is not installed")
def test_source_on_80x24_opens_less_and_q_quits_with_0(tmp_path: Path) -> None:
    child = spawn(tmp_path, ["source", "--data", str(DATA)], 24, 80, IMMUNOFACTS_PAGER="less")
    # less shows one screen and waits at its prompt: the command has not finished.
    child.expect(r"\x1b\[[0-9;]*m")  # colour reached the screen through the pager
    time.sleep(0.5)
    assert child.isalive()
    screen = child.read_nonblocking(100_000, timeout=1) if child.isalive() else ""
    assert "Traceback" not in screen
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus is None
    assert child.exitstatus == 0


def test_long_output_goes_to_the_pager_with_colour_at_the_real_width(tmp_path: Path) -> None:
    pager, saved = recorder(tmp_path)
    child = spawn(tmp_path, ["source", "--data", str(DATA)], 24, 80, IMMUNOFACTS_PAGER=pager)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    less, paged = saved.read_text(encoding="utf-8").split("\n", 1)
    assert less == "FRX"  # a bare `less` would keep colour too
    assert COLOUR_SGR.search(paged)
    plain = SGR.sub("", paged)
    assert plain.splitlines()[0].startswith("╭")
    assert {len(line) for line in plain.splitlines() if line.startswith("│")} == {80}
    assert len(plain.splitlines()) > 24


def test_an_empty_immunofacts_pager_turns_paging_off(tmp_path: Path) -> None:
    pager, saved = recorder(tmp_path)
    child = spawn(
        tmp_path, ["source", "--data", str(DATA)], 24, 80, PAGER=pager, IMMUNOFACTS_PAGER=""
    )
    out = child.read()
    child.close()
    assert child.exitstatus == 0
    assert not saved.exists()  # an empty IMMUNOFACTS_PAGER turns paging off
    assert "claim-car-t-ind-applications" in out


def test_pager_falls_back_to_pager_variable(tmp_path: Path) -> None:
    pager, saved = recorder(tmp_path)
    env = env_for(tmp_path, TERM="xterm-256color", PAGER=pager)
    env.pop("IMMUNOFACTS_PAGER")
    env.pop("COLUMNS", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "immunofacts", "source", "--data", str(DATA)],
        env=env,
        encoding="utf-8",
        dimensions=(24, 80),
        timeout=20,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "claim-car-t-ind-applications" in saved.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("how", "args", "extra"),
    [
        ("--no-pager", ["--no-pager", "source"], {}),
        ("--no-pager after the command", ["source", "--no-pager"], {}),
        ("IMMUNOFACTS_PAGER=cat", ["source"], {"IMMUNOFACTS_PAGER": "cat"}),
        ("short output", ["show-claim", "claim-car-t-ind-applications"], {}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_no_pager(tmp_path: Path, how: str, args: list[str], extra: dict[str, str]) -> None:
    pager, saved = recorder(tmp_path)
    rows = 24 if how != "short output" else 200
    env = {"IMMUNOFACTS_PAGER": pager, **extra}
    child = spawn(tmp_path, [*args, "--data", str(DATA)], rows, 100, **env)
    out = child.read()
    child.close()
    assert child.exitstatus == 0
    assert not saved.exists(), how
    assert "claim-car-t-ind-applications" in SGR.sub("", out)


def test_a_pipe_is_never_paged(tmp_path: Path) -> None:
    pager, saved = recorder(tmp_path)
    proc = piped(tmp_path, ["source", "--data", str(DATA)], IMMUNOFACTS_PAGER=pager, LINES="5")
    assert proc.returncode == 0, proc.stderr
    assert not saved.exists()
    assert "\x1b" not in proc.stdout
    # Without colour the passages stay marked: where each quote starts and ends.
    assert "⟦The era of immune cell therapy has arrived!⟧" in proc.stdout


def test_a_pager_that_cannot_start_leaves_the_text_written(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-pager")
    child = spawn(tmp_path, ["source", "--data", str(DATA)], 24, 80, IMMUNOFACTS_PAGER=missing)
    out = child.read()
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in out
    plain = SGR.sub("", out)
    assert "claim-car-t-ind-applications" in plain
    assert "Immune cell therapy" in plain


# --- hyperlinks and narrow terminals ---------------------------------------------------------

OSC8 = re.compile(r"\x1b\]8;[^;]*;([^\x1b]*)\x1b\\([^\x1b]*)\x1b\]8;;\x1b\\")


def test_reference_addresses_are_hyperlinks_showing_the_full_address(tmp_path: Path) -> None:
    ds = load_dataset(DATA)
    claim = next(c for c in ds.claims if c.review and any(r.link() for r in c.review.references))
    out, status = in_pty(tmp_path, ["show-claim", claim.id, "--data", str(DATA)], columns=120)
    assert status == 0
    links = OSC8.findall(out)
    assert links, out[-800:]
    assert claim.review is not None
    wanted = {r.link() for r in claim.review.references if r.link()}
    for target, shown in links:
        assert target == shown  # the visible text is the address itself
    assert wanted <= {t for t, _ in links}


@pytest.mark.parametrize("columns", [40, 60])
def test_narrow_terminal_layouts(tmp_path: Path, columns: int) -> None:
    out, status = in_pty(tmp_path, ["list-claims", "--help"], columns=columns)
    assert status == 0
    for option in ("--kind", "--evidence", "--verdict", "--entity", "--year", "--data", "--format"):
        assert option in out
    assert "…" not in out
    ds = load_dataset(DATA)
    claim = max(ds.claims, key=lambda c: len(c.id))
    out, status = in_pty(tmp_path, ["show-claim", claim.id, "--data", str(DATA)], columns=columns)
    assert status == 0
    plain = SGR.sub("", OSC8.sub(lambda m: m.group(2), out))
    for line in plain.splitlines():
        assert len(line) <= columns or line.strip().startswith("https://"), line
    joined = "".join(
        ln.strip() if ln.rstrip().endswith("-") else ln.strip() + " " for ln in plain.splitlines()
    )
    assert claim.id in joined


@pytest.mark.skipif(LESS is None, reason="less is not installed")
def test_with_no_pager_named_less_pages_and_q_quits_with_0(tmp_path: Path) -> None:
    env = env_for(tmp_path, TERM="xterm-256color")
    for var in ("IMMUNOFACTS_PAGER", "PAGER", "COLUMNS", "LINES"):
        env.pop(var, None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "immunofacts", "source", "--data", str(DATA)],
        env=env,
        encoding="utf-8",
        dimensions=(24, 80),
        timeout=20,
    )
    child.expect(r"\x1b\[[0-9;]*m")
    time.sleep(0.5)
    assert child.isalive()  # waiting in less for the reader
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus is None
    assert child.exitstatus == 0


# --- a signal during the spinner ---------------------------------------------------------

#: The command with loading stalled: the spinner shows while the file "loads" for 30 s.
STALLED_LOAD = """\
import sys, time
import immunofacts.loading as loading
def stalled(*args, **kwargs):
    time.sleep(30)
    raise SystemExit("not interrupted")
loading.load_dataset = stalled
sys.argv = ["immunofacts", *sys.argv[1:]]
from immunofacts.cli import main
main()
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_during_the_spinner_shows_the_cursor_again(
    tmp_path: Path, sig: signal.Signals
) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("#" * (5 << 20) + "\n", encoding="utf-8")  # over the spinner's threshold
    env = env_for(tmp_path, COLUMNS="100", TERM="xterm-256color")
    child = pexpect.spawn(
        sys.executable,
        ["-c", STALLED_LOAD, "validate", str(big)],
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect("Loading")
    before = (child.before or "") + (child.after or "")
    assert "\x1b[?25l" in before  # the spinner hid the cursor
    assert "\x1b[?25h" not in before
    child.kill(sig)
    rest: str = child.read()
    child.close()
    assert child.signalstatus is None, f"killed by signal {child.signalstatus}"
    assert child.exitstatus == 128 + sig, rest
    assert "\x1b[?25h" in rest  # and shows it again
    assert "Traceback" not in rest
    assert "interrupted" in rest
