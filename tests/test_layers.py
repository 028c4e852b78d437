"""The layering rules hold, and they have no hole: a planted import fails the lint.

The rules are import-linter contracts in pyproject.toml (run as `lint-imports`).
Each test copies the package to a temporary directory, plants one import that
breaks a rule, and runs the linter over the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` over the package copied to `tree`, with the project's contracts."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "immunofacts", tmp_path / "immunofacts", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def plant(tree: Path, module: str, line: str) -> None:
    path = tree / "immunofacts" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_package_keeps_every_contract(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


#: Imports that break a rule: (module, the line planted, the import as reported, contract id).
PLANTED = [
    ("cli.py", "import yaml", "immunofacts.cli -> yaml", "yaml"),
    ("cli.py", "import rich.console", "immunofacts.cli -> rich", "rich"),
    ("render/views.py", "import rich", "immunofacts.render.views -> rich", "rich"),
    ("query.py", "import typer", "immunofacts.query -> typer", "typer"),
    ("render/views.py", "import textual", "immunofacts.render.views -> textual", "textual"),
    (
        "render/formats.py",
        "from .. import cli",
        "immunofacts.render.formats -> immunofacts.cli",
        "layers",
    ),
    ("model.py", "from . import query", "immunofacts.model -> immunofacts.query", "layers"),
    (
        "query.py",
        "from .cache import open_dataset",
        "immunofacts.query -> immunofacts.cache",
        "layers",
    ),
]


def test_every_planted_import_fails_its_contract(tree: Path) -> None:
    """Each planted import is reported, and breaks the contract that forbids it.
    (One run over all of them: the linter reports every violation it finds.)"""
    for module, line, _, _ in PLANTED:
        plant(tree, module, line)
    result = lint(tree)
    assert result.returncode != 0, result.stdout
    report = " ".join(result.stdout.split())  # long names wrap in the report
    for _, _, reported, contract in PLANTED:
        assert f"{reported} (l." in report, (reported, report)
        assert f"{CONTRACTS[contract]} BROKEN" in report, (contract, report)
    assert f"0 kept, {len(CONTRACTS)} broken" in report


#: Each contract's name, by its id in pyproject.toml.
CONTRACTS = {
    c["id"]: c["name"]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
}
