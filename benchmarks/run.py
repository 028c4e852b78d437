"""Benchmark the immunofacts CLI as a user runs it, and print a Markdown table.

Usage: python benchmarks/run.py [--sizes 1000,10000,100000] [--runs 5] [--quick] [--json FILE]

Every timing figure is the ratio of two commands timed side by side in the same
run, interleaved (A, B, A, B, ...), so that a noisy machine slows both alike;
each is reported as min / median / max over the runs, next to the absolute
medians. Every command is a fresh process with stdout to a pipe, timed from
spawn to exit; its peak RSS comes from os.wait4. XDG_CACHE_HOME points at a
temporary directory for the whole run; the user's cache is never touched.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
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

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.median <= self.target


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


@dataclass
class Bench:
    """Shared state of one benchmark run."""

    python: str
    immunofacts: str
    env: dict[str, str]
    work: Path
    verbose: bool = True
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def log(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)


#: How much of a command's output is kept for its checks (search hits, completion).
KEEP_BYTES = 4 << 20


def run_once(cmd: Cmd, cwd: Path) -> Sample:
    """Spawn `cmd` with stdout to a pipe; time it to exit and get its peak RSS."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
            env=cmd.env, cwd=cwd,
        )  # fmt: skip
        timer = threading.Timer(TIMEOUT_S, proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            # Read in chunks and keep at most KEEP_BYTES: a child's peak RSS cannot read
            # below its parent's, so this process must never hold a large output.
            kept = bytearray()
            while chunk := proc.stdout.read(1 << 16):
                if len(kept) < KEEP_BYTES:
                    kept += chunk[: KEEP_BYTES - len(kept)]
            out = bytes(kept)
            proc.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
            t1 = time.perf_counter()
        finally:
            timer.cancel()
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in cmd.ok_codes:
            err.seek(0)
            tail = err.read()[-2000:].decode("utf-8", "replace")
            raise BenchError(f"{cmd.label}: exit status {code}\n{tail}")
    problem = cmd.check(out) if cmd.check else None
    if problem:
        raise BenchError(f"{cmd.label}: {problem}")
    return Sample(t1 - t0, usage.ru_maxrss, code, out)


def paired(
    bench: Bench,
    figure: str,
    a: Cmd | Callable[[], Cmd],
    b: Cmd | Callable[[], Cmd],
    runs: int,
    target: float | None = None,
) -> tuple[Row, list[Sample]]:
    """Time A and B interleaved `runs` times; the row holds the ratios A/B."""
    a_s: list[Sample] = []
    b_s: list[Sample] = []
    for i in range(runs):
        a_s.append(run_once(a if isinstance(a, Cmd) else a(), bench.work))
        b_s.append(run_once(b if isinstance(b, Cmd) else b(), bench.work))
        bench.log(
            f"  {figure} [{i + 1}/{runs}]: {a_s[-1].seconds * 1e3:.0f} ms"
            f" vs {b_s[-1].seconds * 1e3:.0f} ms"
        )
    row = Row(
        figure=figure,
        unit="×",
        values=[x.seconds / y.seconds for x, y in zip(a_s, b_s, strict=True)],
        a_ms=statistics.median(x.seconds for x in a_s) * 1e3,
        b_ms=statistics.median(y.seconds for y in b_s) * 1e3,
        target=target,
    )
    return row, a_s


def _expect(text: str) -> Callable[[bytes], str | None]:
    def check(out: bytes) -> str | None:
        return None if text.encode() in out else f"expected {text!r} in its output"

    return check


def _json_list(out: bytes) -> str | None:
    try:
        value = json.loads(out)
    except ValueError as e:
        return f"output is not JSON: {e}"
    return None if isinstance(value, list) else "expected a JSON list"


def dataset_for(n: int, out_dir: Path, bench: Bench, *, shipped: bool = False) -> Path:
    """The dataset of `n` claims (synthetic, or grown from the shipped records),
    generated unless already there for this generator."""
    digest = hashlib.sha256((HERE / "make_dataset.py").read_bytes()).hexdigest()[:10]
    kind = "shipped" if shipped else "claims"
    folder = out_dir / f"{kind}-{n}-{digest}"  # a folder each: a grown one has its article
    path = folder / f"{kind}-{n}.yaml"
    if path.is_file():
        bench.log(f"reusing {path}")
    else:
        bench.log(f"generating {path} ...")
        t0 = time.perf_counter()
        # In a child process: on Linux a child's peak RSS starts from its parent's peak
        # (exec keeps the high-water mark), so this process must stay small.
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
    """A claim id from the middle of the file and the first case id, read line by line."""
    claims: list[int] = []
    claim, case = "", ""
    section = ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line[:1].isalpha():
                section = line.split(":", 1)[0]
            elif line.startswith("  - id: ") or line.startswith("- id: "):
                rid = line.split(":", 1)[1].strip().strip('"')
                if section == "claims":
                    claims.append(1)
                    if len(claims) == 1 or not claim:
                        claim = rid
                elif section == "cases" and not case:
                    case = rid
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
    bench.log("startup: warming up")
    for cmd in (floor, list_cases, show_stats, bare, complete):
        run_once(cmd, bench.work)
    rows = []
    for figure, cmd, target in (
        ("startup: list-cases / floor", list_cases, 1.0),
        ("startup: show-stats / floor", show_stats, 1.0),
        ("startup: python -c pass / floor", bare, None),
        ("completion: show-case case- / floor", complete, None),
    ):
        row, _ = paired(bench, figure, cmd, floor, runs, target)
        rows.append(row)
    return rows


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
)


def _cmd_targets(n: int, whole: bool, name: str) -> tuple[float | None, float | None]:
    """(time ratio target, peak RSS target in MiB) for a command at size n."""
    if name == "search lupus":
        return (3.0 if n >= 100_000 else None), (
            60.0 if n == 100_000 else 100.0 if n >= 1_000_000 else None
        )
    if whole:
        return None, (100.0 if n == 100_000 else None)
    if n >= 1_000_000:
        return 2.0, 100.0
    if n >= 100_000:
        return 1.3, 60.0
    return None, None


def size_rows(bench: Bench, n: int, data: Path, runs: int, label: str) -> list[Row]:
    """First load (empty cache) against PyYAML and yaml-rs; every command warm against
    list-cases on the article, with its peak RSS; the cache's size against the YAML's."""
    ifx, py = bench.immunofacts, bench.python
    fresh = [0]
    caches: list[Path] = []

    def validate() -> Cmd:
        fresh[0] += 1
        cache = bench.work / f"fresh-cache-{label}-{n}-{fresh[0]}"
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir()
        caches.append(cache)
        env = dict(bench.env, XDG_CACHE_HOME=str(cache))
        return Cmd([ifx, "validate", str(data)], env, label=f"validate {label} N={n}")

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
    # A parse of a file this large takes minutes: one run of each side.
    load_runs = 1 if data.stat().st_size > HUGE_BYTES else runs
    rows = []
    row, _ = paired(bench, f"{label} N={n}: first load / PyYAML C", validate, pyyaml, load_runs,
                    0.2 if big else None)  # fmt: skip
    rows.append(row)
    row, _ = paired(bench, f"{label} N={n}: first load / bare yaml-rs", validate, yamlrs, load_runs,
                    2.5 if big else None)  # fmt: skip
    rows.append(row)
    cache_files = [p for c in caches for p in (c / "immunofacts").glob("*.sqlite")]
    if cache_files:
        ratio = cache_files[-1].stat().st_size / data.stat().st_size
        rows.append(Row(f"{label} N={n}: cache size / YAML size", "×", [ratio], target=1.2))
    for c in caches:
        shutil.rmtree(c, ignore_errors=True)

    claim, case = _ids(data)
    list_cases = Cmd([ifx, "list-cases"], bench.env)
    run_once(Cmd([ifx, "validate", str(data)], bench.env), bench.work)  # fill the warm cache
    for name, args, whole in COMMANDS:
        argv = [a.format(claim=claim, case=case) for a in args]
        cmd = Cmd([ifx, *argv, "--data", str(data)], bench.env, ok_codes=(0, 1),
                  label=f"{name} {label} N={n}")  # fmt: skip
        run_once(cmd, bench.work)
        time_target, rss_target = _cmd_targets(n, whole, name)
        row, samples = paired(bench, f"{label} N={n}: {name} / list-cases", cmd, list_cases,
                              runs, time_target)  # fmt: skip
        if name == "search lupus":
            try:
                hits = len(json.loads(samples[-1].stdout))
            except ValueError:  # longer than KEEP_BYTES: count the hits' ids
                hits = samples[-1].stdout.count(b'\n    "id": ')
            row.note = f"{hits} hits ({hits / n:.2%} of claims)"
        rows.append(row)
        rows.append(Row(f"{label} N={n}: {name}: peak RSS", "MiB",
                        [s.rss_kib / 1024 for s in samples], target=rss_target))  # fmt: skip
    return rows


def header(sizes: Sequence[int], runs: int, python: str) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    uname = platform.uname()
    pyver = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "uname": f"{uname.system} {uname.release} {uname.machine}",
        "cpu": f"{cpu} ({os.cpu_count()} logical CPUs)",
        "python": pyver,  # the version only: a path would name this machine
        "sizes": ", ".join(str(n) for n in sizes)
        + " (synthetic, and grown from the shipped records)",
        "runs": f"{runs} (at most {BIG_RUNS} from N={BIG_N} on)",
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
        cells = [
            r.figure,
            *(_fmt(v, r.unit) for v in (min(r.values), r.median, max(r.values))),
            r.unit,
            _fmt(r.a_ms, "ms"),
            _fmt(r.b_ms, "ms"),
            target,
            met,
        ]
        lines.append(f"| {' | '.join(cells)} |")
    notes = [f"- {r.figure}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark the immunofacts CLI; print a table.")
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="claims per dataset")
    p.add_argument("--runs", type=int, default=5, help="paired runs per figure")
    p.add_argument("--quick", action="store_true", help="sizes 50, runs 1: a smoke test")
    p.add_argument("--large", action="store_true", help="add N = 1,000,000")
    p.add_argument(
        "--shipped-sizes",
        metavar="N,N",
        help="sizes of the datasets grown from the shipped records (default: --sizes)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument(
        "--out-dir", type=Path, default=HERE / "out", help="where datasets are kept and reused"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = list(QUICK_SIZES), 1
    else:
        try:
            args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        except ValueError:
            p.error("--sizes: expected comma-separated numbers")
    if args.large and not args.quick:
        args.sizes = [*args.sizes, 1_000_000]
    try:
        args.shipped_sizes = (
            [int(x) for x in args.shipped_sizes.split(",") if x.strip()]
            if args.shipped_sizes and not args.quick
            else list(args.sizes)
        )
    except ValueError:
        p.error("--shipped-sizes: expected comma-separated numbers")
    if args.runs < 1 or not args.sizes or min(args.sizes) < 1:
        p.error("--runs and every size must be at least 1")
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


#: Files larger than this get one first-load run (a PyYAML parse of one takes minutes).
HUGE_BYTES = 20_000_000
#: The first-load target (≤ 0.5 × PyYAML) is for datasets of this size and up.
FIRST_LOAD_TARGET_N = 100_000


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="immunofacts-bench-"))
    try:
        (work / "baseline").mkdir()
        (work / "baseline" / "floor.py").write_text(BASELINE_SCRIPT, encoding="utf-8")
        (work / "baseline" / "records.yaml").write_text(BASELINE_RECORDS, encoding="utf-8")
        (work / "cache").mkdir()
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
        bench = Bench(sys.executable, find_immunofacts(), env, work, verbose=not args.quiet)
        head = header(args.sizes, args.runs, bench.python)
        rows = startup_rows(bench, args.runs)
        for shipped in (False, True):
            label = "shipped copies" if shipped else "synthetic"
            for n in args.shipped_sizes if shipped else args.sizes:
                data = dataset_for(n, args.out_dir, bench, shipped=shipped)
                runs = min(args.runs, BIG_RUNS) if n >= BIG_N else args.runs
                rows += size_rows(bench, n, data, runs, label)
    except BenchError as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # A child's peak RSS cannot read below the peak of the process that spawned it.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    head["runner peak RSS"] = f"{own:.0f} MiB (a lower bound on every child's peak RSS)"
    sys.stdout.write(markdown(head, rows))
    if args.json:
        doc = {
            "header": head,
            "rows": [
                {**asdict(r), "min": min(r.values), "median": r.median, "max": max(r.values)}
                | {"met": r.met}
                for r in rows
            ],
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
