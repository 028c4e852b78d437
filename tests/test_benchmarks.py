"""Smoke tests of the benchmark harness (not timed): the generator and `run.py --quick`."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

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
)
ROWS = (
    "startup: list-cases / floor",
    "startup: show-stats / floor",
    "startup: python -c pass / floor",
    "completion: show-case case- / floor",
    *(
        row
        for label in ("synthetic", "shipped copies")
        for row in (
            f"{label} N=50: first load / PyYAML C",
            f"{label} N=50: first load / bare yaml-rs",
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


@pytest.mark.slow
def test_run_quick(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("IMMUNOFACTS_DATA", None)
    result = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "run.py"),
            "--quick",
            "--quiet",
            "--out-dir",
            str(tmp_path / "out"),
            "--json",
            str(tmp_path / "bench.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    labels = [line.split("|")[1].strip() for line in table[1:]]
    assert labels == list(ROWS)
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
