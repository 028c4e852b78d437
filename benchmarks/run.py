"""Benchmark the immunofacts CLI as a user runs it, and print a Markdown table.

Usage: python benchmarks/run.py [--sizes 1000,10000,100000] [--shipped-sizes N,N] [--large]
       [--runs 5] [--dataset KIND:N=FILE] [--only SUBSTRING[,SUBSTRING]] [--quick] [--json FILE]

Every timing figure is the ratio of two commands timed side by side in the same
run, interleaved (A, B, A, B, ...), so that a noisy machine slows both alike;
each is reported as min / median / max over the runs, next to the absolute
medians. Every command is a fresh process with stdout to a pipe, spawned by a
small launcher process (see LAUNCHER), timed from spawn to exit; its peak RSS is
its own, from wait4. XDG_CACHE_HOME points at a temporary directory for the
whole run; the user's cache is never touched.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import marshal
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

DEFAULT_SIZES = (1000, 10000, 100000)
QUICK_SIZES = (50,)
#: From this many claims on, at most BIG_RUNS runs (a PyYAML parse of 100k claims is ~15 s).
BIG_N = 50_000
BIG_RUNS = 3
#: A command running longer than this is killed and the benchmark fails.
TIMEOUT_S = 900.0
SEARCH_TERM = "lupus"
COMPLETE_WORDS = "immunofacts show-case case-"
#: A case id of the article's dataset that completion must offer.
COMPLETE_EXPECT = "case-hong-kong-singer"
#: What is completed at every size: every claim's id matches, so at scale the answer is
#: cut to immunofacts' completion limit.
COMPLETE_AT_SCALE = "claim-"
#: immunofacts.query.COMPLETION_LIMIT: the most ids a completion offers.
COMPLETION_LIMIT = 1000

BASELINE_SCRIPT = '''\
"""The framework floor: Typer, Rich and PyYAML (C loader); three records, one Rich table."""

from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

app = typer.Typer()


@app.command()
def main() -> None:
    with open(Path(__file__).with_name("records.yaml"), encoding="utf-8") as f:
        records = yaml.load(f, Loader=yaml.CSafeLoader)
    table = Table("id", "title", "evidence")
    for rec in records:
        table.add_row(rec["id"], rec["title"], rec["evidence"])
    Console().print(table)


if __name__ == "__main__":
    app()
'''

BASELINE_RECORDS = """\
- id: case-one
  title: "First case: a patient, a therapy and an outcome"
  evidence: news-report
- id: case-two
  title: "Second case, told by the patient"
  evidence: patient-report
- id: case-three
  title: "Third case, from a peer-reviewed trial"
  evidence: peer-reviewed
"""


class BenchError(RuntimeError):
    """A command failed or printed something unexpected."""


@dataclass
class Sample:
    """One run of one command."""

    seconds: float
    rss_kib: int
    returncode: int
    stdout: bytes


@dataclass
class Row:
    """One line of the table: min / median / max of `values`, in `unit`."""

    figure: str
    unit: str
    values: list[float]
    a_ms: float | None = None
    b_ms: float | None = None
    target: float | None = None
    note: str = ""
    error: str = ""  # the figure could not be measured: why

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def met(self) -> bool | None:
        if self.error:
            return False
        median = self.median
        return None if self.target is None or median is None else median <= self.target


@dataclass
class Cmd:
    """A command line with its environment, and what counts as success."""

    argv: list[str]
    env: dict[str, str]
    ok_codes: tuple[int, ...] = (0,)
    check: Callable[[bytes], str | None] | None = None  # returns an error message or None
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or " ".join(self.argv)


class Progress:
    """Progress with an ETA on stderr. Each step of the plan has an estimated cost in
    seconds; the ETA scales what is left by how the estimates compared with the clock so far."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.total = 0.0
        self.done = 0.0
        self.t0 = time.perf_counter()

    def plan(self, cost: float) -> None:
        self.total += cost

    def advance(self, cost: float) -> None:
        self.done = min(self.total, self.done + cost)

    def eta(self) -> str:
        elapsed = time.perf_counter() - self.t0
        if self.done <= 0:
            return f"{elapsed:.0f} s elapsed"
        left = elapsed * (self.total - self.done) / self.done
        return (
            f"{self.done / self.total:.0%}, {elapsed / 60:.1f} min elapsed, ETA {left / 60:.1f} min"
        )


@dataclass
class Bench:
    """Shared state of one benchmark run."""

    python: str
    immunofacts: str
    env: dict[str, str]
    work: Path
    launcher: Launcher
    out_dir: Path
    verbose: bool = True
    progress: Progress = field(default_factory=lambda: Progress(False))
    pyver: str = ""
    pyyaml: str = ""
    #: Run only the rows whose figure contains one of these (all rows when empty).
    only: tuple[str, ...] = ()

    def wants(self, *figures: str) -> bool:
        """Whether any of these figures is to be measured (see `--only`)."""
        return not self.only or any(s in f for f in figures for s in self.only)

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"{message}  [{self.progress.eta()}]", file=sys.stderr, flush=True)

    def run(self, cmd: Cmd) -> Sample:
        return run_once(cmd, self.work, self.launcher)


def _count_hits(cmd: Cmd) -> int:
    """How many hits a search command's JSON output holds (-1 if it cannot be read):
    run once more, untimed, keeping the whole output."""
    try:
        out = subprocess.run(cmd.argv, env=cmd.env, capture_output=True, timeout=900).stdout
        hits = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return -1
    return len(hits) if isinstance(hits, list) else -1


#: How much of a command's output is kept for its checks (search hits, completion).
KEEP_BYTES = 4 << 20


#: The launcher: a bare interpreter (no site, no imports beyond built-in modules) that
#: spawns every measured command on request. On Linux, a child's peak RSS (`ru_maxrss`)
#: starts from the resident size of the process that forked it (fork copies the page
#: tables and exec keeps the old high-water mark), so a command spawned by this runner
#: would read no lower than the runner itself; spawned by the launcher, it reads no lower
#: than the launcher's few MiB. A request is a length-prefixed marshal of (argv, env, cwd,
#: stdout file, stderr file, bytes of stdout to keep, timeout in s); the reply is
#: (seconds from spawn to exit, ru_maxrss in KiB, exit status, timed out, launcher's
#: own peak RSS in KiB). The child's stdout is a pipe that the launcher drains.
LAUNCHER = r"""
import marshal, os, signal, time

def read_exactly(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            raise SystemExit(0)
        data += chunk
    return data

def own_peak_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

state = {"pid": 0, "killed": False}

def on_alarm(signum, frame):
    if state["pid"]:
        state["killed"] = True
        os.kill(state["pid"], signal.SIGKILL)

signal.signal(signal.SIGALRM, on_alarm)
null = os.open(os.devnull, os.O_RDONLY)
while True:
    size = int.from_bytes(read_exactly(4), "little")
    argv, env, cwd, out_path, err_path, keep, timeout = marshal.loads(read_exactly(size))
    out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    r, w = os.pipe()
    state["killed"] = False
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(null, 0)
            os.dup2(w, 1)
            os.dup2(err, 2)
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    state["pid"] = pid
    os.close(w)
    signal.alarm(max(1, int(timeout)))
    kept = 0
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        if kept < keep:
            kept += os.write(out, chunk[: keep - kept])
    _, status, usage = os.wait4(pid, 0)
    t1 = time.perf_counter()
    signal.alarm(0)
    state["pid"] = 0
    for fd in (r, out, err):
        os.close(fd)
    reply = marshal.dumps(
        (t1 - t0, usage.ru_maxrss, os.waitstatus_to_exitcode(status), state["killed"],
         own_peak_kib())
    )
    os.write(1, len(reply).to_bytes(4, "little") + reply)
"""


class Launcher:
    """The small process that spawns every measured command (see LAUNCHER)."""

    def __init__(self, python: str, work: Path) -> None:
        self.work = work
        self.peak_kib = 0
        self.proc = subprocess.Popen(
            [python, "-I", "-S", "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def run(
        self, argv: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = TIMEOUT_S
    ) -> tuple[float, int, int, bool, bytes, bytes]:
        """(seconds, peak RSS in KiB, exit status, timed out, kept stdout, stderr's tail)."""
        exe = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0], path=env.get("PATH"))
        if exe is None:
            raise BenchError(f"{argv[0]}: command not found")
        out, err = self.work / "launcher.out", self.work / "launcher.err"
        request = marshal.dumps(
            ([exe, *argv[1:]], env, str(cwd), str(out), str(err), KEEP_BYTES, timeout)
        )
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(len(request).to_bytes(4, "little") + request)
        stdin.flush()
        head = stdout.read(4)
        if len(head) < 4:
            raise BenchError("the launcher died")
        seconds, rss_kib, code, killed, self.peak_kib = marshal.loads(
            stdout.read(int.from_bytes(head, "little"))
        )
        with open(err, "rb") as f:
            f.seek(max(0, err.stat().st_size - 2000))
            tail = f.read()
        return seconds, rss_kib, code, killed, out.read_bytes(), tail

    def close(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe:
                pipe.close()
        self.proc.wait()


def run_once(cmd: Cmd, cwd: Path, launcher: Launcher) -> Sample:
    """Spawn `cmd` through the launcher with stdout to a pipe; its time to exit, peak RSS."""
    seconds, rss_kib, code, killed, out, tail = launcher.run(cmd.argv, cmd.env, cwd)
    if killed:
        raise BenchError(f"{cmd.label}: killed after {TIMEOUT_S:.0f} s")
    if code not in cmd.ok_codes:
        raise BenchError(f"{cmd.label}: exit status {code}\n{tail.decode('utf-8', 'replace')}")
    problem = cmd.check(out) if cmd.check else None
    if problem:
        raise BenchError(f"{cmd.label}: {problem}")
    return Sample(seconds, rss_kib, code, out)


def self_check(launcher: Launcher, python: str, work: Path) -> tuple[float, float]:
    """Prove that a child's peak RSS is its own: with this process holding 64 MiB more than
    it needs, `python -c pass` spawned by the launcher must read well under that.
    Returns (the child's peak RSS, this process's peak RSS), in MiB."""
    ballast = bytearray(b"x") * (64 << 20)  # written, so resident
    try:
        seconds, rss_kib, code, _, _, _ = launcher.run(
            [python, "-c", "pass"], dict(os.environ), work
        )
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        del ballast
    if code != 0 or rss_kib >= own / 2:
        raise BenchError(
            f"self-check: python -c pass read {rss_kib / 1024:.0f} MiB peak RSS with the runner at"
            f" {own / 1024:.0f} MiB: the launcher does not isolate the child's peak"
        )
    return rss_kib / 1024, own / 1024


def paired(
    bench: Bench,
    figure: str,
    a: Cmd | Callable[[], Cmd],
    b: Cmd | Callable[[], Cmd],
    runs: int,
    target: float | None = None,
) -> tuple[Row, list[Sample], list[Sample]]:
    """Time A and B interleaved `runs` times; the row holds the ratios A/B."""
    a_s: list[Sample] = []
    b_s: list[Sample] = []
    for i in range(runs):
        a_s.append(bench.run(a if isinstance(a, Cmd) else a()))
        b_s.append(bench.run(b if isinstance(b, Cmd) else b()))
        bench.log(
            f"  {figure} [{i + 1}/{runs}]: {a_s[-1].seconds * 1e3:.0f} ms"
            f" vs {b_s[-1].seconds * 1e3:.0f} ms"
        )
    return ratio_row(figure, a_s, b_s, target), a_s, b_s


def ratio_row(figure: str, a_s: list[Sample], b_s: list[Sample], target: float | None) -> Row:
    return Row(
        figure=figure,
        unit="×",
        values=[x.seconds / y.seconds for x, y in zip(a_s, b_s, strict=True)],
        a_ms=statistics.median(x.seconds for x in a_s) * 1e3,
        b_ms=statistics.median(y.seconds for y in b_s) * 1e3,
        target=target,
    )


def _expect(text: str) -> Callable[[bytes], str | None]:
    def check(out: bytes) -> str | None:
        return None if text.encode() in out else f"expected {text!r} in its output"

    return check


def dataset_for(n: int, bench: Bench, *, shipped: bool = False) -> Path:
    """The dataset of `n` claims (synthetic, or grown from the shipped records),
    generated unless already there for this generator."""
    digest = hashlib.sha256((HERE / "make_dataset.py").read_bytes()).hexdigest()[:10]
    kind = "shipped" if shipped else "claims"
    folder = bench.out_dir / f"{kind}-{n}-{digest}"  # a folder each: a grown one has its article
    path = folder / f"{kind}-{n}.yaml"
    if path.is_file():
        bench.log(f"reusing {path}")
    else:
        bench.log(f"generating {path} ...")
        t0 = time.perf_counter()
        flags = ["--from-shipped"] if shipped else []
        made = subprocess.run(
            [bench.python, str(HERE / "make_dataset.py"), *flags, str(n), str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            raise BenchError(f"make_dataset.py {n} failed:\n{made.stderr[-2000:]}")
        bench.log(f"  {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
    return path


def _ids(path: Path) -> tuple[str, str]:
    """The first claim id and the first case id, read line by line."""
    claim, case = "", ""
    section = ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line[:1].isalpha():
                section = line.split(":", 1)[0]
            elif line.startswith("  - id: ") or line.startswith("- id: "):
                rid = line.split(":", 1)[1].strip().strip('"')
                if section == "claims" and not claim:
                    claim = rid
                elif section == "cases" and not case:
                    case = rid
                    break  # cases come after claims
    return claim, case


def startup_rows(bench: Bench, runs: int) -> list[Row]:
    """Startup on the article's dataset, and completion, against the framework floor."""
    ifx = bench.immunofacts
    baseline_py = bench.work / "baseline" / "floor.py"
    floor = Cmd([bench.python, str(baseline_py)], bench.env, check=_expect("case-three"))
    list_cases = Cmd([ifx, "list-cases"], bench.env, check=_expect(COMPLETE_EXPECT))
    show_stats = Cmd([ifx, "show-stats"], bench.env)
    bare = Cmd([bench.python, "-c", "pass"], bench.env)
    complete_env = dict(
        bench.env,
        _IMMUNOFACTS_COMPLETE="complete_bash",
        COMP_WORDS=COMPLETE_WORDS,
        COMP_CWORD="2",
    )
    complete = Cmd(
        [ifx], complete_env, check=_expect(COMPLETE_EXPECT), label=f"complete {COMPLETE_WORDS!r}"
    )
    commands = {
        "startup: list-cases / floor": (list_cases, 1.0),
        "startup: show-stats / floor": (show_stats, 1.0),
        "startup: python -c pass / floor": (bare, None),
        "completion: show-case case- / floor": (complete, None),
    }
    figures = [
        (figure, *commands[figure])
        for figure, rss in STARTUP_FIGURES
        if bench.wants(figure, rss or figure)
    ]
    rows = []
    if figures:
        bench.log("startup: warming up")
        for cmd in (floor, *(cmd for _, cmd, _ in figures)):
            bench.run(cmd)
    for figure, cmd, target in figures:
        row, a_s, b_s = paired(bench, figure, cmd, floor, runs, target)
        rows.append(row)
        if figure in STARTUP_RSS:
            rows.append(Row(STARTUP_RSS[figure], "MiB", [s.rss_kib / 1024 for s in a_s]))
    bench.progress.advance(STARTUP_COST * runs)
    return [r for r in rows if bench.wants(r.figure)]


#: The start-up figures, each with the name of the row of its command's peak RSS (where
#: it has one), in the order of the table.
STARTUP_FIGURES = (
    ("startup: list-cases / floor", "startup: list-cases: peak RSS"),
    ("startup: show-stats / floor", ""),
    ("startup: python -c pass / floor", "startup: python -c pass: peak RSS"),
    ("completion: show-case case- / floor", ""),
)
#: The start-up figures that also report the peak RSS of their command, and that row's name.
STARTUP_RSS = {figure: rss for figure, rss in STARTUP_FIGURES if rss}


#: Commands timed at every size, against `list-cases` on the article; the flag says whether
#: the command writes the whole dataset (exempt from the per-command target).
COMMANDS: tuple[tuple[str, list[str], bool], ...] = (
    ("search lupus", ["search", SEARCH_TERM, "--format", "json"], False),
    ("show-claim", ["show-claim", "{claim}"], False),
    ("show-case", ["show-case", "{case}"], False),
    ("list-cases", ["list-cases"], False),
    ("show-stats", ["show-stats"], False),
    (
        "list-claims --kind statistic",
        ["list-claims", "--kind", "statistic", "--format", "json"],
        False,
    ),
    ("timeline", ["timeline", "--format", "json"], False),
    ("entities", ["entities"], False),
    ("list-claims --format json", ["list-claims", "--format", "json"], True),
    ("export --format json", ["export", "--format", "json"], True),
    # Bash completion, as TAB runs it: the arguments go in the environment (see `_completion`).
    (f"completion: show-claim {COMPLETE_AT_SCALE}", ["show-claim", COMPLETE_AT_SCALE], False),
)


def _completion(
    argv: list[str], env: dict[str, str], n: int
) -> tuple[dict[str, str], Callable[[bytes], str | None]]:
    """The environment of bash completion of the command line `immunofacts ARGV` (its
    last word the one completed), and the check of its answer: the ids of every claim
    up to the completion limit, all starting with the word."""
    words = ["immunofacts", *argv]
    env = dict(env, _IMMUNOFACTS_COMPLETE="complete_bash", COMP_WORDS=" ".join(words),
               COMP_CWORD=str(len(words) - 1))  # fmt: skip

    def check(out: bytes) -> str | None:
        ids = out.decode().split()
        want = min(n, COMPLETION_LIMIT)
        if len(ids) != want or not all(i.startswith(words[-1]) for i in ids):
            return f"expected {want} ids starting with {words[-1]!r}, got {len(ids)}"
        return None

    return env, check


def _cmd_targets(n: int, whole: bool, name: str) -> tuple[float | None, float | None]:
    """(time ratio target, peak RSS target in MiB) for a command at size n."""
    if name == "search lupus" and 100_000 <= n < 1_000_000:
        return 3.0, 60.0  # with thousands of hits (the grown dataset's 8%), still streamed
    if whole:
        return None, (100.0 if n == 100_000 else None)
    if n >= 1_000_000:
        return 2.0, 100.0
    if n >= 100_000:
        return 1.3, 60.0
    return None, None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def pyyaml_seconds(bench: Bench, data: Path, cmd: Cmd) -> tuple[Sample, str]:
    """One PyYAML C parse of `data`, remembered in the output directory by the file's
    SHA-256 (and the Python and PyYAML versions): a parse of a 100 MB file takes minutes,
    and the same file gives the same parse. Returns the sample and when it was measured."""
    memo_path = bench.out_dir / "pyyaml-times.json"
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    key = f"{_sha256(data)} python {bench.pyver} pyyaml {bench.pyyaml}"
    if key in memo:
        seen = memo[key]
        return Sample(seen["seconds"], seen["rss_kib"], 0, b""), seen["date"]
    bench.log(f"  timing PyYAML's C parse of {data.name} once (it is remembered)")
    sample = bench.run(cmd)
    memo[key] = {
        "seconds": sample.seconds,
        "rss_kib": sample.rss_kib,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "file": data.name,
    }
    bench.out_dir.mkdir(parents=True, exist_ok=True)
    memo_path.write_text(json.dumps(memo, indent=2) + "\n", encoding="utf-8")
    return sample, "this run"


def _env_for(bench: Bench, data: Path, cache: Path | None = None) -> dict[str, str]:
    """The environment for commands on `data`: the default size cap raised for a file over
    it, as the README tells users with a large corpus to do."""
    env = dict(bench.env)
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    if data.stat().st_size > DEFAULT_CAP_BYTES:
        env["IMMUNOFACTS_MAX_BYTES"] = str(data.stat().st_size + 1)
    return env


def load_cost(size: int, runs: int) -> float:
    """Estimated seconds of the first-load rows of a file of `size` bytes."""
    return runs * size / 1e6 * (VALIDATE_S_PER_MB + YAMLRS_S_PER_MB) + size / 1e6 * 0.02


def commands_cost(size: int, runs: int) -> float:
    """Estimated seconds of the warm command rows of a file of `size` bytes."""
    per_run = len(COMMANDS) * 2 * 0.4 + 2 * size / 1e6 * WHOLE_S_PER_MB
    return VALIDATE_S_PER_MB * size / 1e6 + (runs + 1) * per_run


#: How the rows name each kind of dataset.
LABELS = {False: "synthetic", True: "shipped copies"}


def load_figures(prefix: str) -> tuple[str, ...]:
    """The figures of a dataset's first-load runs."""
    return tuple(
        f"{prefix}: {what}"
        for what in (
            "first load / PyYAML C",
            "first load / bare yaml-rs",
            "first load: peak RSS",
            "cache size / YAML size",
        )
    )


def command_figures(prefix: str, name: str) -> tuple[str, str]:
    """The figures of one warm command on a dataset: its time, its peak RSS."""
    return f"{prefix}: {name} / list-cases", f"{prefix}: {name}: peak RSS"


def size_figures(label: str, n: int) -> list[str]:
    """Every figure of the dataset of `n` claims of this kind."""
    prefix = f"{label} N={n}"
    return [*load_figures(prefix), *(f for c in COMMANDS for f in command_figures(prefix, c[0]))]


def size_rows(bench: Bench, n: int, data: Path, runs: int, label: str) -> list[Row]:
    """First load (empty cache) against PyYAML and yaml-rs; every command warm against
    list-cases on the article, with its peak RSS; the cache's size against the YAML's."""
    ifx, py = bench.immunofacts, bench.python
    size = data.stat().st_size
    caches: list[Path] = []

    def validate() -> Cmd:
        cache = bench.work / f"fresh-cache-{len(caches)}"
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(mode=0o700)
        caches.append(cache)
        return Cmd([ifx, "validate", str(data)], _env_for(bench, data, cache),
                   label=f"validate {label} N={n}")  # fmt: skip

    pyyaml = Cmd(
        [py, "-c", f"import yaml; yaml.load(open({str(data)!r}), Loader=yaml.CSafeLoader)"],
        bench.env,
        label=f"pyyaml {label} N={n}",
    )
    yamlrs = Cmd(
        [py, "-c", f"import yaml_rs; yaml_rs.loads(open({str(data)!r}).read())"],
        bench.env,
        label=f"yaml-rs {label} N={n}",
    )
    big = n >= FIRST_LOAD_TARGET_N
    huge = size > HUGE_BYTES
    load_runs = runs
    rows: list[Row] = []
    prefix = f"{label} N={n}"

    def failed(figure: str, e: BenchError) -> None:
        bench.log(f"  FAILED {figure}: {e}")
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        why = lines[0] if len(lines) == 1 else f"{lines[0]}: {lines[-1]}"
        rows.append(Row(figure, "", [], error=why[:300]))

    commands = [c for c in COMMANDS if bench.wants(*command_figures(prefix, c[0]))]
    warm_cache: Path | None = None
    v_s: list[Sample] = []
    try:
        if not bench.wants(*load_figures(prefix)):
            if commands:  # no first-load figure: one untimed run, for the warm cache
                bench.run(validate())
        elif huge:
            # validate and yaml-rs interleaved, as for any file; PyYAML's parse, which
            # takes minutes, once per file and remembered.
            y_s: list[Sample] = []
            for _ in range(load_runs):
                v_s.append(bench.run(validate()))
                y_s.append(bench.run(yamlrs))
            p_sample, when = pyyaml_seconds(bench, data, pyyaml)
            row = ratio_row(f"{prefix}: first load / PyYAML C", v_s, [p_sample] * len(v_s),
                            0.2 if big else None)  # fmt: skip
            row.note = (
                f"PyYAML's parse timed once per file and remembered (measured {when}),"
                " not interleaved"
            )
            rows.append(row)
            rows.append(ratio_row(f"{prefix}: first load / bare yaml-rs", v_s, y_s,
                                  2.5 if big else None))  # fmt: skip
        else:
            row, v_s, _ = paired(bench, f"{prefix}: first load / PyYAML C", validate, pyyaml,
                                 load_runs, 0.2 if big else None)  # fmt: skip
            rows.append(row)
            row, more, _ = paired(bench, f"{prefix}: first load / bare yaml-rs", validate, yamlrs,
                                  load_runs, 2.5 if big else None)  # fmt: skip
            rows.append(row)
            v_s += more
        if v_s:
            rows.append(
                Row(f"{prefix}: first load: peak RSS", "MiB", [s.rss_kib / 1024 for s in v_s])
            )
            cache_files = list((caches[-1] / "immunofacts").glob("*.sqlite"))
            if cache_files:
                ratio = cache_files[0].stat().st_size / size
                rows.append(Row(f"{prefix}: cache size / YAML size", "×", [ratio], target=1.2))
        if caches:
            warm_cache = caches[-1]  # the last first load's cache serves the warm commands
    except BenchError as e:
        failed(f"{prefix}: first load", e)
    for c in caches[:-1] if warm_cache else caches:
        shutil.rmtree(c, ignore_errors=True)
    bench.progress.advance(load_cost(size, load_runs))
    per_command = commands_cost(size, runs) / len(COMMANDS)
    if warm_cache is None:
        bench.progress.advance(per_command * len(COMMANDS))
        return rows

    claim, case = _ids(data)
    list_cases = Cmd([ifx, "list-cases"], bench.env)
    env = _env_for(bench, data, warm_cache)
    for name, args, whole in commands:
        argv = [a.format(claim=claim, case=case) for a in args]
        if name.startswith("completion: "):
            argv = [argv[0], "--data", str(data), *argv[1:]]
            cenv, check = _completion(argv, env, n)
            cmd = Cmd([ifx], cenv, check=check, label=f"{name} {label} N={n}")
        else:
            cmd = Cmd([ifx, *argv, "--data", str(data)], env, ok_codes=(0, 1),
                      label=f"{name} {label} N={n}")  # fmt: skip
        time_target, rss_target = _cmd_targets(n, whole, name)
        try:
            if not (whole and n >= BIG_N):  # a warm-up run, but not of a minute-long output
                bench.run(cmd)
            row, samples, _ = paired(bench, f"{prefix}: {name} / list-cases", cmd, list_cases,
                                     runs, time_target)  # fmt: skip
        except BenchError as e:
            failed(f"{prefix}: {name}", e)
            continue
        finally:
            bench.progress.advance(per_command)
        if name == "search lupus":
            try:
                hits = len(json.loads(samples[-1].stdout))
            except ValueError:  # longer than KEEP_BYTES: once more, untimed, all of it
                hits = _count_hits(cmd)
            row.note = (
                f"{hits} hits ({hits / n:.2%} of claims)" if hits >= 0 else "hits not counted"
            )
        rows.append(row)
        rows.append(Row(f"{prefix}: {name}: peak RSS", "MiB",
                        [s.rss_kib / 1024 for s in samples], target=rss_target))  # fmt: skip
    shutil.rmtree(warm_cache, ignore_errors=True)
    bench.progress.advance(per_command * (len(COMMANDS) - len(commands)))
    return [r for r in rows if r.error or bench.wants(r.figure)]


def header(sizes: dict[str, list[int]], runs: int, bench: Bench) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    uname = platform.uname()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "uname": f"{uname.system} {uname.release} {uname.machine}",
        "cpu": f"{cpu} ({os.cpu_count()} logical CPUs)",
        "python": bench.pyver,  # the version only: a path would name this machine
        "PyYAML": bench.pyyaml,
        "sizes": "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in sizes.items() if v),
        "runs": f"{runs} (at most {BIG_RUNS} from N={BIG_N} on; PyYAML's parse once over "
        f"{HUGE_BYTES // 1_000_000} MB)",
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "×":
        return f"{value:.2f}"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def markdown(head: dict[str, str], rows: Sequence[Row]) -> str:
    lines = [f"- {k}: {v}" for k, v in head.items()]
    lines += [
        "",
        "| figure | min | median | max | unit | A median ms | B median ms | target | met |",
        "|---|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for r in rows:
        met = {None: "", True: "yes", False: "**no**"}[r.met]
        target = f"≤ {_fmt(r.target, r.unit)}" if r.target is not None else ""
        stats = (min(r.values), r.median, max(r.values)) if r.values else (None, None, None)
        cells = [
            r.figure,
            *(_fmt(v, r.unit) for v in stats),
            r.unit,
            _fmt(r.a_ms, "ms"),
            _fmt(r.b_ms, "ms"),
            target,
            "**failed**" if r.error else met,
        ]
        lines.append(f"| {' | '.join(cells)} |")
    notes = [f"- {r.figure}: {r.note}" for r in rows if r.note]
    notes += [f"- {r.figure}: failed: {r.error}" for r in rows if r.error]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _sizes(p: argparse.ArgumentParser, text: str, what: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        p.error(f"{what}: expected comma-separated numbers")
    if any(n < 1 for n in sizes):
        p.error(f"{what}: every size must be at least 1")
    return sizes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark the immunofacts CLI; print a table.")
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="claims per dataset")
    p.add_argument("--runs", type=int, default=5, help="paired runs per figure")
    p.add_argument("--quick", action="store_true", help="sizes 50, runs 1: a smoke test")
    p.add_argument(
        "--list", action="store_true", help="print the figures the run would time, and stop"
    )
    p.add_argument(
        "--large",
        action="store_true",
        help="add N = 1,000,000 to --sizes (and to the grown sizes without --shipped-sizes)",
    )
    p.add_argument(
        "--shipped-sizes",
        metavar="N,N",
        help="sizes of the datasets grown from the shipped records (default: --sizes)",
    )
    p.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="KIND:N=FILE",
        help="use FILE as the dataset of N claims of KIND (synthetic or shipped) instead of"
        " generating it; a grown one needs its article beside it (repeatable)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument(
        "--out-dir",
        type=Path,
        default=HERE / "out",
        help="where datasets and PyYAML's remembered parse times are kept",
    )
    p.add_argument(
        "--only",
        metavar="SUBSTRING[,SUBSTRING]",
        help="run only the rows whose figure contains one of these, e.g. startup,completion",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    if args.only is not None:
        args.only = tuple(s.strip() for s in args.only.split(",") if s.strip())
        if not args.only:
            p.error("--only: expected comma-separated substrings of figure names")
    else:
        args.only = ()
    if args.quick:
        args.sizes, args.runs = list(QUICK_SIZES), 1
    else:
        args.sizes = _sizes(p, args.sizes, "--sizes")
    if args.quick:
        args.shipped_sizes = list(args.sizes)
    elif args.shipped_sizes is not None:
        args.shipped_sizes = _sizes(p, args.shipped_sizes, "--shipped-sizes")
    else:
        args.shipped_sizes = list(args.sizes) + ([1_000_000] if args.large else [])
    if args.large and not args.quick:
        args.sizes = [*args.sizes, 1_000_000]
    if args.runs < 1 or not (args.sizes or args.shipped_sizes):
        p.error("--runs must be at least 1, and some size given")
    given: dict[tuple[bool, int], Path] = {}
    for spec in args.dataset:
        kind, _, rest = spec.partition(":")
        n_text, _, file = rest.partition("=")
        if kind not in ("synthetic", "shipped") or not n_text.isdigit() or not file:
            p.error(f"--dataset {spec!r}: expected synthetic:N=FILE or shipped:N=FILE")
        if not Path(file).is_file():
            p.error(f"--dataset {spec!r}: no such file")
        given[(kind == "shipped", int(n_text))] = Path(file).resolve()
    args.given = given
    return args


def find_immunofacts() -> str:
    """The console script next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "immunofacts"
    if beside.is_file():
        return str(beside)
    found = shutil.which("immunofacts")
    if found is None:
        raise SystemExit("run.py: cannot find the `immunofacts` command")
    return found


#: PyYAML's parse of a file larger than this is timed once and remembered (a PyYAML parse
#: of one takes minutes); its first loads and bare yaml-rs parses are interleaved as any
#: file's (a first load's time varies by a tenth and more from one run to the next).
HUGE_BYTES = 20_000_000
#: The first-load targets are for datasets of this size and up.
FIRST_LOAD_TARGET_N = 100_000
#: The default size cap of immunofacts (files over it are run with IMMUNOFACTS_MAX_BYTES).
DEFAULT_CAP_BYTES = 32 * 1024 * 1024
#: Rough costs for the ETA (rescaled by the clock as the run goes).
STARTUP_COST = 8 * 0.5
VALIDATE_S_PER_MB = 0.15
YAMLRS_S_PER_MB = 0.05
WHOLE_S_PER_MB = 0.1
GENERATE_S_PER_CLAIM = 0.0002
BYTES_PER_CLAIM = {False: 370, True: 1430}


def planned_figures(args: argparse.Namespace) -> list[str]:
    """The figures a run with these arguments times, in the order of its table (`--list`):
    start-up, then each dataset's, each kept where `--only` wants it."""
    names = [figure for pair in STARTUP_FIGURES for figure in pair if figure]
    names += [
        figure
        for shipped in (False, True)
        for n in (args.shipped_sizes if shipped else args.sizes)
        for figure in size_figures(LABELS[shipped], n)
    ]
    return [f for f in names if not args.only or any(s in f for s in args.only)]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(planned_figures(args)))
        return 0
    work = Path(tempfile.mkdtemp(prefix="immunofacts-bench-"))
    launcher = Launcher(sys.executable, work)
    try:
        (work / "baseline").mkdir()
        (work / "baseline" / "floor.py").write_text(BASELINE_SCRIPT, encoding="utf-8")
        (work / "baseline" / "records.yaml").write_text(BASELINE_RECORDS, encoding="utf-8")
        (work / "cache").mkdir(mode=0o700)
        env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"))
        # PYTHONDONTWRITEBYTECODE would make every run compile immunofacts from
        # source, which an installed package never does: pip writes the .pyc files.
        for var in (
            "IMMUNOFACTS_DATA",
            "IMMUNOFACTS_MAX_BYTES",
            "PYTHONPROFILEIMPORTTIME",
            "PYTHONDONTWRITEBYTECODE",
        ):
            env.pop(var, None)
        import compileall

        package = Path(__file__).resolve().parent.parent / "immunofacts"
        compileall.compile_dir(str(package), quiet=1)
        bench = Bench(sys.executable, find_immunofacts(), env, work, launcher, args.out_dir,
                      verbose=not args.quiet, progress=Progress(not args.quiet),
                      only=args.only)  # fmt: skip
        ask = "import sys, yaml; print(sys.version.split()[0], yaml.__version__)"
        versions = subprocess.run(
            [bench.python, "-c", ask],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        bench.pyver, bench.pyyaml = versions[0], versions[1]
        child_mib, runner_mib = self_check(launcher, bench.python, work)
        plan = [(shipped, n) for shipped in (False, True)
                for n in (args.shipped_sizes if shipped else args.sizes)
                if bench.wants(*size_figures(LABELS[shipped], n))]  # fmt: skip
        bench.progress.plan(STARTUP_COST * args.runs)
        for shipped, n in plan:
            runs = min(args.runs, BIG_RUNS) if n >= BIG_N else args.runs
            size = n * BYTES_PER_CLAIM[shipped]
            given = args.given.get((shipped, n))
            if given is not None:
                size = given.stat().st_size
            bench.progress.plan(load_cost(size, runs))
            bench.progress.plan(commands_cost(size, runs))
            if given is None:
                bench.progress.plan(GENERATE_S_PER_CLAIM * n)
        head = header(
            {"synthetic": args.sizes, "grown from the shipped records": args.shipped_sizes},
            args.runs,
            bench,
        )
        if args.only:
            head["only"] = "figures containing " + " or ".join(map(repr, args.only))
        rows = startup_rows(bench, args.runs)
        for shipped, n in plan:
            label = LABELS[shipped]
            data = args.given.get((shipped, n))
            if data is None:
                data = dataset_for(n, bench, shipped=shipped)
                bench.progress.advance(GENERATE_S_PER_CLAIM * n)
            else:
                bench.log(f"using {data}")
            runs = min(args.runs, BIG_RUNS) if n >= BIG_N else args.runs
            rows += size_rows(bench, n, data, runs, label)
    except BenchError as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 1
    finally:
        launcher.close()
        shutil.rmtree(work, ignore_errors=True)
    head["children's peak RSS"] = (
        f"each command's own, from wait4 in a launcher of {launcher.peak_kib / 1024:.0f} MiB"
        f" (a child's peak reads no lower than that); self-check: `python -c pass` read"
        f" {child_mib:.0f} MiB with the runner at {runner_mib:.0f} MiB"
    )
    sys.stdout.write(markdown(head, rows))
    if args.json:
        doc = {
            "header": head,
            "rows": [
                {
                    **asdict(r),
                    "min": min(r.values, default=None),
                    "median": r.median,
                    "max": max(r.values, default=None),
                    "met": r.met,
                }  # fmt: skip
                for r in rows
            ],
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
