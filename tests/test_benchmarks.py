"""Smoke tests of the benchmark harness (not timed): the generator and `run.py --quick`."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from immunofacts.loading import load_dataset

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

COMMANDS = (
    "search lupus",
    "show-claim",
    "show-case",
    "list-cases",
    "show-stats",
    "list-claims --kind statistic",
    "timeline",
    "entities",
    "list-claims --format json",
    "export --format json",
    "completion: show-claim claim-",
)
ROWS = (
    "startup: list-cases / floor",
    "startup: list-cases: peak RSS",
    "startup: show-stats / floor",
    "startup: python -c pass / floor",
    "startup: python -c pass: peak RSS",
    "completion: show-case case- / floor",
    *(
        row
        for label in ("synthetic", "shipped copies")
        for row in (
            f"{label} N=50: first load / PyYAML C",
            f"{label} N=50: first load / bare yaml-rs",
            f"{label} N=50: first load: peak RSS",
            f"{label} N=50: cache size / YAML size",
            *(
                r
                for name in COMMANDS
                for r in (f"{label} N=50: {name} / list-cases", f"{label} N=50: {name}: peak RSS")
            ),
        )
    ),
)


def _make_dataset() -> Callable[[int, Path], None]:
    spec = importlib.util.spec_from_file_location(
        "_bench_make_dataset", BENCHMARKS / "make_dataset.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    make: Callable[[int, Path], None] = module.make_dataset
    return make


def test_make_dataset_is_valid_and_deterministic(tmp_path: Path) -> None:
    make = _make_dataset()
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    make(50, first)
    make(50, second)
    assert first.read_bytes() == second.read_bytes()
    ds = load_dataset(first)
    assert len(ds.claims) == 50
    assert len(ds.entities) == 10
    assert len(ds.cases) == 3
    assert ds.source.text is None


def _run_py(*args: str, tmp_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("IMMUNOFACTS_DATA", None)
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_the_quick_run_plans_every_row() -> None:
    listed = _run_py("--quick", "--list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == list(ROWS)


@pytest.mark.slow
def test_run_quick(tmp_path: Path) -> None:
    """A real run of a few rows: the table has the rows `--list` plans for it, no more."""
    only = ("--only", "startup: list-cases,search lupus")
    result = _run_py(
        "--quick",
        "--quiet",
        *only,
        "--out-dir",
        str(tmp_path / "out"),
        "--json",
        str(tmp_path / "bench.json"),
    )
    assert result.returncode == 0, result.stderr
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    labels = [line.split("|")[1].strip() for line in table[1:]]
    assert labels == _run_py("--quick", "--list", *only).stdout.splitlines()
    assert labels == [r for r in ROWS if "startup: list-cases" in r or "search lupus" in r]
    assert len(labels) == 6
    assert (tmp_path / "bench.json").is_file()


def test_grown_dataset_is_the_shipped_text_copied(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("_bench_grow", BENCHMARKS / "make_dataset.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.grow_dataset(100, tmp_path / "g.yaml")
    ds = load_dataset(tmp_path / "g.yaml")  # every quote checked against the copied article
    shipped = load_dataset()
    assert len(ds.claims) == 100
    assert ds.source_text == shipped.source_text
    assert ds.claims[0].statement == shipped.claims[0].statement
    assert len({c.id for c in ds.claims}) == 100


def _run_module() -> Any:
    spec = importlib.util.spec_from_file_location("_bench_run", BENCHMARKS / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; Linux's rusage")
def test_a_child_peak_rss_is_its_own_not_the_runners(tmp_path: Path) -> None:
    """A command spawned by a process holding 64 MiB more reads its own few MiB, not that."""
    run = _run_module()
    launcher = run.Launcher(sys.executable, tmp_path)
    try:
        child_mib, runner_mib = run.self_check(launcher, sys.executable, tmp_path)
        seconds, rss_kib, code, killed, out, _ = launcher.run(
            [sys.executable, "-c", "print(len(bytearray(b'x') * (80 << 20)))"],
            dict(os.environ),
            tmp_path,
        )
    finally:
        launcher.close()
    assert runner_mib >= 64
    assert child_mib < 32
    assert launcher.peak_kib < 32 << 10
    # and a child that does hold 80 MiB reads at least that
    assert (code, killed, out) == (0, False, b"83886080\n")
    assert 80 <= rss_kib / 1024 < 200
    assert seconds > 0


def test_pyyaml_parse_time_is_remembered_by_the_file_hash(tmp_path: Path) -> None:
    run = _run_module()
    data = tmp_path / "d.yaml"
    data.write_text("a: 1\n", encoding="utf-8")
    launcher = run.Launcher(sys.executable, tmp_path)
    calls: list[object] = []
    try:
        bench = run.Bench(sys.executable, "immunofacts", dict(os.environ), tmp_path, launcher,
                          tmp_path / "out", verbose=False, pyver="3", pyyaml="6")  # fmt: skip
        real_run = bench.run

        def counted(cmd: Any) -> Any:
            calls.append(cmd)
            return real_run(cmd)

        bench.run = counted
        cmd = run.Cmd([sys.executable, "-c", "pass"], dict(os.environ))
        first, when = run.pyyaml_seconds(bench, data, cmd)
        again, when_again = run.pyyaml_seconds(bench, data, cmd)
        data.write_text("a: 2\n", encoding="utf-8")  # another file: timed again
        run.pyyaml_seconds(bench, data, cmd)
    finally:
        launcher.close()
    assert len(calls) == 2
    assert when == "this run" and when_again != "this run"
    assert again.seconds == first.seconds


@pytest.mark.slow
def test_hostile_runs_the_tests_inputs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "hostile.py"), "--no-huge", "--only", "alias-bomb,flow-12000",
         "--json", str(tmp_path / "h.json")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")][1:]
    assert [r.split("|")[1].strip() for r in rows] == [
        "corpus alias-bomb.yaml",
        "nesting flow-12000",
    ]
    assert all(r.rstrip().endswith("| yes |") for r in rows)


def test_the_benchmark_raises_the_cap_exactly_where_immunofacts_sets_it() -> None:
    from immunofacts.loading import MAX_BYTES

    assert _run_module().DEFAULT_CAP_BYTES == MAX_BYTES


def test_the_benchmark_expects_as_many_ids_as_completion_offers() -> None:
    from immunofacts.query import COMPLETION_LIMIT

    assert _run_module().COMPLETION_LIMIT == COMPLETION_LIMIT


def test_search_hits_are_counted_in_the_whole_output() -> None:
    """A search whose output is longer than the part kept for checks is counted from all of it."""
    run = _run_module()
    n = run.KEEP_BYTES // 1000 + 10
    code = f"import json; print(json.dumps([{{'id': 'x' * 1000}}] * {n}))"
    assert run._count_hits(run.Cmd([sys.executable, "-c", code], dict(os.environ))) == n
    assert run._count_hits(run.Cmd([sys.executable, "-c", "print('no')"], dict(os.environ))) == -1


def test_only_runs_the_rows_it_names(tmp_path: Path) -> None:
    """`--only` measures just the figures containing one of its substrings; nothing else
    runs (no dataset is generated)."""
    env = dict(os.environ)
    env.pop("IMMUNOFACTS_DATA", None)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--runs", "1", "--quiet",
         "--only", "python -c pass, N=7: list-cases", "--sizes", "7", "--shipped-sizes", "8",
         "--out-dir", str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [line.split("|")[1].strip() for line in table[1:]] == [
        "startup: python -c pass / floor",
        "startup: python -c pass: peak RSS",
        "synthetic N=7: list-cases / list-cases",
        "synthetic N=7: list-cases: peak RSS",
    ]
    assert "only: figures containing 'python -c pass' or 'N=7: list-cases'" in result.stdout
    assert [p.name for p in out.iterdir()] == ["claims-7-" + _make_dataset_digest()]


def _make_dataset_digest() -> str:
    import hashlib

    return hashlib.sha256((BENCHMARKS / "make_dataset.py").read_bytes()).hexdigest()[:10]


def test_only_must_name_something() -> None:
    run = _run_module()
    with pytest.raises(SystemExit):
        run.parse_args(["--only", " , "])
    assert run.parse_args(["--only", "startup, completion"]).only == ("startup", "completion")
    assert run.parse_args([]).only == ()
    bench = run.Bench("python", "immunofacts", {}, Path(), None, Path(), only=("show-",))
    assert bench.wants("startup: show-stats / floor")
    assert not bench.wants("startup: list-cases / floor", "startup: list-cases: peak RSS")
    assert run.Bench("python", "immunofacts", {}, Path(), None, Path()).wants("anything")


def test_search_targets_follow_the_other_commands_at_a_million() -> None:
    """Search with many hits may take 3x at 100,000 claims; at 1,000,000 it has the target
    of every other command (2x, 100 MiB)."""
    run = _run_module()
    assert run._cmd_targets(100_000, False, "search lupus") == (3.0, 60.0)
    assert run._cmd_targets(1_000_000, False, "search lupus") == (2.0, 100.0)
    assert run._cmd_targets(1_000_000, False, "show-claim") == (2.0, 100.0)
    assert run._cmd_targets(10_000, False, "search lupus") == (None, None)
