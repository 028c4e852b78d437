"""Time the full-screen browser: its first screen, and a keystroke in its search box.

Usage:
    python benchmarks/browse.py                 # 5 paired runs, N = 10,000 for typing
    python benchmarks/browse.py --runs 9 --n 10000
    python benchmarks/browse.py --quick         # 1 run, N = 200: a smoke test

First screen, side by side in a pseudo-terminal of 100x30: A is
`immunofacts browse` on the article's dataset (warm cache), B is a minimal
Textual app that shows a DataTable of three rows. Each is timed from spawn
until its first screen's text arrives on the terminal, interleaved A, B, A, B;
the figure is the ratio A / B (min / median / max). Target: 1.5 or less.

Typing: `immunofacts browse` runs in a pseudo-terminal on a synthetic dataset of
N claims served from a warm cache; the search box receives a word one key at a
time, then loses it one Backspace at a time, and each keystroke is timed from
the key sent until the terminal receives the screen with the new results (the
status line naming the search). Target: 100 ms or less.

Run it with the interpreter of the environment under test. `XDG_CACHE_HOME`
points at a temporary directory for the whole run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZE = (30, 100)  # rows, columns

MINIMAL_APP = '''\
"""The least a Textual app showing a table costs: a DataTable of three rows."""

from textual.app import App, ComposeResult
from textual.widgets import DataTable


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "title", "evidence")
        table.add_row("case-one", "first-screen-marker", "news-report")
        table.add_row("case-two", "Second case", "patient-report")
        table.add_row("case-three", "Third case", "peer-reviewed")
        table.focus()

    def on_key(self) -> None:
        self.exit()


if __name__ == "__main__":
    Minimal().run()
'''


def find_immunofacts() -> str:
    """The `immunofacts` script next to this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / "immunofacts"
    return str(beside) if beside.exists() else "immunofacts"


def first_screen(argv: list[str], marker: str, env: dict[str, str]) -> float:
    """Seconds from spawn until `marker` shows on a pseudo-terminal; then quit with q."""
    import pexpect

    start = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=SIZE, timeout=60)
    child.expect_exact(marker.encode())
    took = time.perf_counter() - start
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    if child.exitstatus != 0:
        raise RuntimeError(f"{argv} exited with {child.exitstatus}")
    return took


def bench_first_screen(
    runs: int, env: dict[str, str], tmp: Path
) -> tuple[list[float], float, float]:
    """Ratios browse / minimal app, and the median seconds of each."""
    script = tmp / "minimal_app.py"
    script.write_text(MINIMAL_APP, encoding="utf-8")
    exe = find_immunofacts()
    # Fill the cache and compile .pyc files before timing anything.
    subprocess.run([exe, "list-cases"], env=env, capture_output=True, check=True)
    browse = [exe, "browse"]
    minimal = [sys.executable, str(script)]
    first_screen(browse, "claims", env)
    first_screen(minimal, "first-screen-marker", env)
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        a.append(first_screen(browse, "claims", env))
        b.append(first_screen(minimal, "first-screen-marker", env))
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return ratios, statistics.median(a), statistics.median(b)


def _typing(data: Path, word: str, env: dict[str, str]) -> list[tuple[str, float]]:
    """Seconds from each key sent to `browse` in a pseudo-terminal until its status line
    shows the search of the text typed so far: the word typed, then deleted."""
    import pexpect

    child = pexpect.spawn(
        find_immunofacts(), ["browse", "--data", str(data)], env=env, dimensions=SIZE, timeout=60
    )
    child.delaybeforesend = None  # pexpect waits 50 ms before each send by default
    child.expect_exact(b" claims")
    child.send("/")
    time.sleep(0.5)
    out: list[tuple[str, float]] = []
    typed = ""
    keys = [*word, *["\x7f"] * len(word)]
    for key in keys:
        typed = typed[:-1] if key == "\x7f" else typed + key
        shown = f"matching {typed!r}" if typed.strip() else "r k v n d filter"
        start = time.perf_counter()
        child.send(key)
        child.expect_exact(shown.encode())
        out.append((typed or "(empty)", time.perf_counter() - start))
    child.send("\x1b")
    time.sleep(0.3)  # alone, or Escape and q arrive as Alt-q
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    return out


def bench_typing(
    n: int, tmp: Path, words: list[str], env: dict[str, str]
) -> list[tuple[str, float]]:
    """Seconds per keystroke, over every key of every word, on N claims from a warm cache."""
    sys.path.insert(0, str(HERE))
    from make_dataset import make_dataset

    data = tmp / f"claims-{n}.yaml"
    make_dataset(n, data)
    subprocess.run(
        [find_immunofacts(), "validate", str(data)], env=env, capture_output=True, check=True
    )
    out: list[tuple[str, float]] = []
    for word in words:
        out += _typing(data, word, env)
    return out


def _three(values: list[float], scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    return " / ".join(
        fmt.format(v * scale) for v in (min(values), statistics.median(values), max(values))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="paired runs of the first screen")
    parser.add_argument("--n", type=int, default=10_000, help="claims in the typing dataset")
    parser.add_argument("--quick", action="store_true", help="1 run, N = 200")
    args = parser.parse_args(argv)
    runs, n = (1, 200) if args.quick else (args.runs, args.n)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "cache"), "TERM": "xterm-256color"}
        for var in ("NO_COLOR", "IMMUNOFACTS_DATA", "COLUMNS", "LINES"):
            env.pop(var, None)
        ratios, a, b = bench_first_screen(runs, env, tmp)
        typed = bench_typing(n, tmp, ["lupus", "therapy"], env)
    keys = [t for _, t in typed]
    ratio_met = statistics.median(ratios) <= 1.5
    key_met = statistics.median(keys) <= 0.100 and max(keys) <= 0.100
    print("| figure | min / median / max | target | met |")
    print("|---|---|---|---|")
    print(
        f"| first screen: browse / minimal Textual DataTable app ({a * 1000:.0f} ms / "
        f"{b * 1000:.0f} ms) | {_three(ratios)} | ≤ 1.5 | {'yes' if ratio_met else 'no'} |"
    )
    print(
        f"| search box keystroke to updated list, N={n:,} ({len(keys)} keys), ms | "
        f"{_three(keys, 1000, '{:.0f}')} | ≤ 100 | {'yes' if key_met else 'no'} |"
    )
    print("\nEach keystroke, ms (the box's text after it): ", end="")
    print(" · ".join(f"{text} {t * 1000:.0f}" for text, t in typed))
    print(f"\n{runs} paired runs; python {sys.version.split()[0]}; {sys.platform}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
