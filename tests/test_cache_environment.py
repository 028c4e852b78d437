"""A warm cache answers only where a parse would: the environment is checked alike.

A cache built under one environment must not answer under another that makes a parse
of the same file refuse it: a size cap or read timeout that is not a number, a cap the
file is over, a source text from a directory IMMUNOFACTS_TEXT_DIRS no longer names. The
command then parses the file, and says what a cold run says, exit 1.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunofacts import cache
from immunofacts.cli import app

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = [["list-cases"], ["show-claim", "claim-era-of"], ["search", "lupus"], ["timeline"]]


def _run(args: list[str], path: Path, env: dict[str, str | None]) -> tuple[int, str, str]:
    got = CliRunner().invoke(app, [*args, "--data", str(path)], env=env)
    assert isinstance(got.exception, SystemExit | None), got.exception
    return got.exit_code, got.stdout, got.stderr


def _cold_then_warm(path: Path, env: dict[str, str | None], built: dict[str, str | None]) -> None:
    """Each command gives, with a cache built under `built`, the answer it gives cold
    under `env`, and that answer is a refusal."""
    for args in COMMANDS:
        cold = _run(args, path, {**env, "XDG_CACHE_HOME": None, "HOME": None})
        assert cold[0] == 1, cold
        cache.validate_dataset(path)  # (with the test's own environment)
        assert _run(args, path, built)[0] == 0
        assert cache.open_cache(path) is not None
        assert _run(args, path, env) == cold, (args, env)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    for name in ("immunofacts.yaml", "article.txt"):
        shutil.copy(ROOT / "data" / name, tmp_path / name)
    return tmp_path / "immunofacts.yaml"


@pytest.mark.parametrize("cap", ["1e9", "-1", "100", " 12 x", "1" * 16])
def test_a_size_cap_a_parse_refuses_is_refused_warm(dataset: Path, cap: str) -> None:
    _cold_then_warm(dataset, {"IMMUNOFACTS_MAX_BYTES": cap}, {})


def test_a_cap_under_the_source_texts_size_is_refused_warm(dataset: Path) -> None:
    """The text is larger than the dataset: a cap between them refuses the text."""
    size = dataset.stat().st_size
    text = dataset.parent / "article.txt"
    with text.open("a", encoding="utf-8") as f:
        f.write("\n" + "padding " * (size // 4))
    assert text.stat().st_size > size
    _cold_then_warm(dataset, {"IMMUNOFACTS_MAX_BYTES": str(size)}, {})


@pytest.mark.parametrize("timeout", ["x", "0", "-5", "nan"])
def test_a_read_timeout_a_parse_refuses_is_refused_warm(dataset: Path, timeout: str) -> None:
    _cold_then_warm(dataset, {"IMMUNOFACTS_READ_TIMEOUT": timeout}, {})


def test_a_cap_the_files_are_under_still_answers_warm(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.validate_dataset(dataset)
    biggest = max(dataset.stat().st_size, (dataset.parent / "article.txt").stat().st_size)
    monkeypatch.setenv("IMMUNOFACTS_MAX_BYTES", str(biggest))  # (a file of the cap is read)
    monkeypatch.setenv("IMMUNOFACTS_READ_TIMEOUT", "5")
    assert cache.open_cache(dataset) is not None


@pytest.mark.parametrize("how", ["symlink", "absolute"])
def test_a_source_text_allowed_only_by_text_dirs_is_refused_warm_without_them(
    tmp_path: Path, how: str
) -> None:
    """Built while IMMUNOFACTS_TEXT_DIRS allowed a text outside the dataset's directory,
    the cache does not answer once it no longer does; and answers again when it does."""
    home, other = tmp_path / "d", tmp_path / "other"
    home.mkdir()
    other.mkdir()
    shutil.copy(ROOT / "data" / "immunofacts.yaml", home)
    shutil.copy(ROOT / "data" / "article.txt", other)
    path = home / "immunofacts.yaml"
    if how == "symlink":
        os.symlink(other / "article.txt", home / "article.txt")
    else:
        text = path.read_text(encoding="utf-8")
        assert "text: article.txt\n" in text
        path.write_text(
            text.replace("text: article.txt\n", f"text: {other / 'article.txt'}\n"),
            encoding="utf-8",
        )
    allowed: dict[str, str | None] = {"IMMUNOFACTS_TEXT_DIRS": str(other)}
    for args in COMMANDS:
        cold = _run(args, path, {"IMMUNOFACTS_TEXT_DIRS": None, "XDG_CACHE_HOME": None})
        assert cold[0] == 1 and "outside the dataset's directory" in cold[2], cold
        assert _run(args, path, allowed)[0] == 0
        assert _run(args, path, {"IMMUNOFACTS_TEXT_DIRS": None}) == cold, args
        assert _run(args, path, {"IMMUNOFACTS_TEXT_DIRS": str(tmp_path / "elsewhere")}) == cold
        # still there, and answered from once it is allowed again
        warm = _run(args, path, allowed)
        assert warm[0] == 0


def test_a_source_text_beside_the_dataset_needs_no_text_dirs(dataset: Path) -> None:
    cache.validate_dataset(dataset)
    assert cache.open_cache(dataset) is not None
