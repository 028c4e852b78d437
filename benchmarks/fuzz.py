"""Fuzz the loader and every command with generated YAML, for as long as you like.

Usage: python benchmarks/fuzz.py [--seconds 600] [--seed N] [--out DIR]

Each round takes a valid dataset (the test fixture, which uses every field)
and mutates its text: hostile pieces put into scalars (terminal escapes,
bidi and invisible characters, formulas, odd numbers, escapes, surrogates),
lines duplicated, dropped, re-indented or cut, keys misspelt, deep nesting
and long runs inserted. Then it checks:

* loading gives a Dataset or a DataError, nothing else, in bounded time;
* on text the fast parser takes, both parsers read the same data;
* for a text that loads, every command in every format (to a terminal and to
  a pipe) exits 0 or 1, writes errors as single `immunofacts: error:` lines,
  and shows no unsafe character raw (JSON as escapes, CSV guarded).

A failing input is saved in --out (default: fuzz-findings/) and the run goes
on; the summary line gives rounds, commands run and findings. The tests run
the same checks briefly on every run (tests/test_parsers_agree.py,
tests/test_hostile_walk.py); this script is for long runs.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "fixture.yaml"

PIECES = [
    "\\x1b]0;pwned\\x07",
    "\\x1b[2J",
    "\\e]52;c;eA==\\a",
    "\\x9b31m",
    "\\u202e",
    "\\u061c",
    "\\u200b",
    "\\u2060",
    "\\ufeff",
    "\\U000e0041",
    "\\u00ad",
    "\\r",
    "\\0",
    "\\ud800",
    "=cmd|' /C calc'!A0",
    "@SUM(1)",
    "+1+1",
    "-1+1",
    "[bold]x[/]",
    ":warning:",
    "[link=https://evil.example]x[/link]",
    "\\N",
    "\\L",
    "\\P",
    "\\_",
]
SCALARS = [
    "0.1_0",
    "1_000",
    "0b11",
    "+0x1f",
    "0o17",
    "0x1F",
    "1e400",
    "-1e400",
    ".nan",
    ".inf",
    "99999999999999999999",
    "9" * 5000,
    "-1",
    "151",
    "-0",
    "1e3",
    "~",
    "null",
    "NO",
    "yes",
    "2020-02-30",
    "2020-13",
    "'x'",
    '"y"',
    "&a x",
    "*a",
    "!!str z",
    "! z",
    "[]",
    "{}",
    "-",
    "?",
    "|",
    ">",
    "%",
    "---",
    "...",
    "#c",
]
STRUCTURES = [
    "- " * 50 + "x",
    "[" * 60 + "]" * 60,
    "{a: " * 40 + "1" + "}" * 40,
    "? " * 40 + "x",
    "\n".join(" " * i + "-" for i in range(60)),
]


def mutate(text: str, rnd: random.Random) -> str:
    """A mutation of a dataset's text: one to four edits."""
    lines = text.split("\n")
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(lines))
        line = lines[i]
        op = rnd.randrange(9)
        if op == 0 and ": " in line:  # a hostile piece inside a double-quoted value
            key, _, _ = line.partition(": ")
            lines[i] = f'{key}: "{rnd.choice(PIECES)}{rnd.choice(PIECES)} text"'
        elif op == 1 and ": " in line:  # an odd scalar
            key, _, _ = line.partition(": ")
            lines[i] = f"{key}: {rnd.choice(SCALARS)}"
        elif op == 2:
            lines.insert(i, line)  # duplicate a line (duplicate keys, repeated items)
        elif op == 3:
            del lines[i]
        elif op == 4:
            lines[i] = " " * rnd.randint(0, 6) + line.lstrip()
        elif op == 5 and ":" in line:  # misspell a key
            key, sep, rest = line.partition(":")
            lines[i] = key[:-1] + key[-1:] * 2 + sep + rest
        elif op == 6 and ": " in line:
            key, _, _ = line.partition(": ")
            lines[i] = f"{key}: {rnd.choice(STRUCTURES)}"
        elif op == 7:
            lines[i] = line[: rnd.randrange(len(line) + 1)]
        else:
            lines.insert(i, rnd.choice(STRUCTURES))
    return "\n".join(lines)


def commands(ds: Any, path: Path) -> list[list[str]]:
    """Every command that reads a dataset, on this one."""
    out = [
        ["list-cases"],
        ["list-claims"],
        ["show-stats"],
        ["timeline"],
        ["entities"],
        ["search", "cell"],
        ["validate"],
        ["source"],
    ]
    if ds.claims:
        out += [["show-claim", ds.claims[0].id], ["source", "--claim", ds.claims[0].id]]
    if ds.cases:
        out.append(["show-case", ds.cases[0].id])
    if ds.entities:
        out.append(["entities", ds.entities[0].id])
    return out


class Fuzzer:
    def __init__(self, seed: int, out: Path) -> None:
        from immunofacts.render.base import UNSAFE_CHARACTERS

        self.rnd = random.Random(seed)
        self.out = out
        self.unsafe = re.compile(f"[{UNSAFE_CHARACTERS}]")
        self.sgr = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x00-\x1f\x7f-\x9f]*\x1b\\")
        self.rounds = 0
        self.runs = 0
        self.findings = 0
        self.base = FIXTURE.read_text(encoding="utf-8")
        self.work = out / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "article.txt").write_text(
            (FIXTURE.parent / "article.txt").read_text(encoding="utf-8"), encoding="utf-8"
        )

    def finding(self, text: str, what: str) -> None:
        self.findings += 1
        name = self.out / f"finding-{self.findings:03d}.yaml"
        name.write_text(f"# {what}\n{text}", encoding="utf-8", errors="backslashreplace")
        print(f"finding {self.findings}: {what.splitlines()[0][:200]} -> {name}", flush=True)

    def round(self) -> None:
        from immunofacts.errors import DataError
        from immunofacts.loading import _fast_parse, parse_dataset, parse_yaml

        self.rounds += 1
        text = mutate(self.base, self.rnd)
        path = self.work / "fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        start = time.perf_counter()
        try:
            ds = parse_dataset(text, str(path), base_dir=self.work)
        except DataError as e:
            ds = None
            if any("\n" in p.what for p in e.problems):
                self.finding(text, f"a problem over several lines: {e}")
        except Exception:
            self.finding(text, "loading raised:\n" + traceback.format_exc())
            return
        if time.perf_counter() - start > 5:
            self.finding(text, f"loading took {time.perf_counter() - start:.1f}s")
        fast, _ = _fast_parse(text)
        if fast is not None:
            try:
                careful, _ = parse_yaml(text, "x")
                if repr(careful) != repr(fast):
                    self.finding(text, f"the parsers differ: {fast!r} != {careful!r}")
            except DataError as e:
                self.finding(text, f"fast took what careful refuses: {e}")
        if ds is not None and self.rounds % 5 == 0:
            self.commands(ds, path, text)

    def commands(self, ds: Any, path: Path, text: str) -> None:
        from typer.testing import CliRunner

        from immunofacts.cli import app

        env_sets = [{"FORCE_COLOR": "1", "COLUMNS": "80"}, {"NO_COLOR": "1"}]
        for args in commands(ds, path):
            fmt = self.rnd.choice(["table", "plain", "json", "csv", "markdown"])
            env = self.rnd.choice(env_sets)
            full = [*args, "--format", fmt, "--data", str(path)]
            if args[0] == "validate":
                full = ["validate", str(path), "--format", fmt]
            self.runs += 1
            result = CliRunner().invoke(app, full, env=env)
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                self.finding(text, f"{full} raised {result.exception!r}")
                continue
            if result.exit_code not in (0, 1):
                self.finding(text, f"{full} exited {result.exit_code}: {result.stderr}")
            for line in result.stderr.splitlines():
                if not line.startswith("immunofacts: "):
                    self.finding(text, f"{full} wrote to stderr: {line!r}")
                    break
            shown = self.sgr.sub("", result.stdout + result.stderr)
            raw_ok = fmt == "csv" and "NO_COLOR" in env  # CSV to a pipe keeps data exact
            if not raw_ok and self.unsafe.search(shown):
                bad = self.unsafe.search(shown)
                assert bad is not None
                self.finding(text, f"{full} {env} showed U+{ord(bad.group()):04X} raw")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to run")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"), help="findings here")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    import os
    import tempfile

    os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="fuzz-cache-"))
    fuzzer = Fuzzer(seed, args.out)
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        fuzzer.round()
    took = time.monotonic() - start
    print(
        f"seed {seed}: {fuzzer.rounds:,} inputs and {fuzzer.runs:,} command runs in "
        f"{took:.0f} s; {fuzzer.findings} findings"
    )
    return 1 if fuzzer.findings else 0


if __name__ == "__main__":
    sys.exit(main())
