"""No command writes to the dataset; export writes atomically and never clobbers."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import VIEW_COMMANDS
from typer.testing import CliRunner

import immunofacts.output as output
from immunofacts.cli import app
from immunofacts.errors import OutputError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file in `directory`: its sha256 and mode."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
        for p in sorted(directory.iterdir())
    }


@pytest.fixture
def data(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    for name in ("immunofacts.yaml", "article.txt"):
        shutil.copy2(DATA_DIR / name, directory / name)
    return directory / "immunofacts.yaml"


def test_every_command_leaves_the_data_alone(data: Path, tmp_path: Path) -> None:
    before = snapshot(data.parent)
    mtimes = {p.name: p.stat().st_mtime_ns for p in data.parent.iterdir()}
    assert {"immunofacts.yaml", "article.txt"} <= set(before)
    runner = CliRunner()
    for args in VIEW_COMMANDS:
        for fmt in ([], ["--format", "json"]) if args[0] != "export" else ([],):
            result = runner.invoke(app, [*args, *fmt, "--data", str(data)])
            assert result.exit_code == 0, (args, result.stderr)
    out = tmp_path / "out" / "export.json"
    out.parent.mkdir()
    result = runner.invoke(app, ["export", "--data", str(data), "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    assert out.is_file()
    result = runner.invoke(app, ["export", "--data", str(data), "-o", str(out), "--force"])
    assert result.exit_code == 0, result.stderr
    assert snapshot(data.parent) == before
    assert {p.name: p.stat().st_mtime_ns for p in data.parent.iterdir()} == mtimes
    assert sorted(p.name for p in out.parent.iterdir()) == ["export.json"]


def test_every_command_leaves_the_data_alone_with_a_warm_cache(data: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["validate", str(data)])
    before = snapshot(data.parent)
    for args in VIEW_COMMANDS:
        result = runner.invoke(app, [*args, "--data", str(data)])
        assert result.exit_code == 0, (args, result.stderr)
    assert snapshot(data.parent) == before


def test_read_only_data_directory_works(data: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes to read-only directories anyway")
    data.parent.chmod(0o555)
    try:
        result = CliRunner().invoke(app, ["list-claims", "--data", str(data)])
        assert result.exit_code == 0, result.stderr
    finally:
        data.parent.chmod(0o755)


def test_export_refuses_to_overwrite(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "exists.json"
    out.write_text("precious\n")
    result = CliRunner().invoke(app, ["export", "--data", str(data), "--output", str(out)])
    assert result.exit_code != 0
    assert "exists" in result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_text() == "precious\n"


@pytest.mark.parametrize("warm", [False, True], ids=["file", "cache"])
@pytest.mark.parametrize("fmt", ["json", "yaml", "sqlite", "claimreview", "bibtex"])
@pytest.mark.parametrize("over", ["dataset", "link", "text"])
def test_export_never_writes_over_the_dataset_or_its_text_even_with_force(
    data: Path, fmt: str, over: str, warm: bool
) -> None:
    if warm:
        assert CliRunner().invoke(app, ["list-cases", "--data", str(data)]).exit_code == 0
    link = data.parent / "link.yaml"
    link.symlink_to(data.name)
    before = snapshot(data.parent)
    target = {"dataset": data, "link": link, "text": data.parent / "article.txt"}[over]
    args = ["export", "-f", fmt, "--data", str(data), "-o", str(target), "--force"]
    args += ["--author", "Desk", "--url-template", "https://example.org/{id}"] * (
        fmt == "claimreview"
    )
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.stdout
    assert result.stderr == (
        f"immunofacts: error: {target}: is the dataset read, or its source text; write elsewhere\n"
    )
    assert snapshot(data.parent) == before
    assert sorted(p.name for p in data.parent.iterdir()) == sorted(before)  # no temporary file


def test_the_files_an_export_keeps_are_kept_for_that_command_only(data: Path) -> None:
    out = data.parent.parent / "out.json"
    result = CliRunner().invoke(app, ["export", "--data", str(data), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert output._KEPT == set()  # a later command of this process (the browser) starts afresh


@pytest.mark.parametrize("table", ["claims.csv", "entities.csv", "source.csv"])
def test_export_of_csv_tables_never_writes_over_the_source_text(data: Path, table: str) -> None:
    # the tables' names are fixed: a source text named as one of them is kept all the
    # same, and found before any table is written
    text = data.read_text(encoding="utf-8")
    data.write_text(text.replace("text: article.txt\n", f"text: {table}\n"), encoding="utf-8")
    (data.parent / "article.txt").rename(data.parent / table)
    before = snapshot(data.parent)
    args = ["export", "-f", "csv", "--data", str(data), "-o", str(data.parent), "--force"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert f"{table}: is the dataset read, or its source text" in result.stderr
    assert snapshot(data.parent) == before  # nothing written


def test_export_refuses_to_follow_a_dangling_symlink(data: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = CliRunner().invoke(app, ["export", "--data", str(data), "--output", str(link)])
    assert result.exit_code != 0
    assert not target.exists()


def test_export_into_a_missing_directory_is_a_clean_error(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir.json"
    result = CliRunner().invoke(app, ["export", "--data", str(data), "--output", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith("immunofacts: error: ")
    assert "Traceback" not in result.stderr
    assert not out.exists()


# --- write_atomic ------------------------------------------------------------------


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_write_atomic_writes(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    output.write_atomic(target, "héllo\n", overwrite=False)
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert listing(tmp_path) == ["out.txt"]
    output.write_atomic(target, "again\n", overwrite=True)
    assert target.read_text(encoding="utf-8") == "again\n"
    assert listing(tmp_path) == ["out.txt"]


def _interrupt(*args: Any, **kwargs: Any) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("where", ["fsync", "replace", "link"])
def test_interrupted_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, overwrite: bool
) -> None:
    (tmp_path / "other.txt").write_text("unrelated\n")
    target = tmp_path / "out.txt"
    if overwrite:
        target.write_text("old\n")
    before = listing(tmp_path)
    monkeypatch.setattr(os, where, _interrupt)
    try:
        output.write_atomic(target, "new\n" * 1000, overwrite=overwrite)
    except KeyboardInterrupt:
        pass
    else:
        # This step is not used in this mode (link: no overwrite; replace: overwrite).
        assert (where, overwrite) in (("replace", False), ("link", True))
        monkeypatch.undo()
        assert target.read_text() == "new\n" * 1000
        return
    monkeypatch.undo()
    assert listing(tmp_path) == before
    if overwrite:
        assert target.read_text() == "old\n"


def test_write_atomic_failure_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OutputError):
        output.write_atomic(tmp_path / "out.txt", "x", overwrite=False)
    monkeypatch.undo()
    assert listing(tmp_path) == []


def test_write_atomic_never_clobbers(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("precious\n")
    with pytest.raises(OutputError, match="exists"):
        output.write_atomic(target, "new\n", overwrite=False)
    assert target.read_text() == "precious\n"
    assert listing(tmp_path) == ["out.txt"]


def test_write_atomic_race_is_not_clobbered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The destination appears after the caller checked and before the rename."""
    target = tmp_path / "out.txt"
    real_fsync = os.fsync

    def fsync_then_race(fd: int) -> None:
        real_fsync(fd)
        target.write_text("someone else's\n")

    monkeypatch.setattr(os, "fsync", fsync_then_race)
    assert not target.exists()
    with pytest.raises(OutputError):
        output.write_atomic(target, "mine\n", overwrite=False)
    monkeypatch.undo()
    assert target.read_text() == "someone else's\n"
    assert listing(tmp_path) == ["out.txt"]


def test_export_race_through_the_cli(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "race.json"
    real_fsync = os.fsync

    def fsync_then_race(fd: int) -> None:
        real_fsync(fd)
        out.write_text("someone else's\n")

    monkeypatch.setattr(os, "fsync", fsync_then_race)
    result = CliRunner().invoke(app, ["export", "--data", str(data), "--output", str(out)])
    monkeypatch.undo()
    assert result.exit_code == 2  # the same as when the file was there before the command ran
    assert "exists; use --force" in result.stderr
    assert out.read_text() == "someone else's\n"
    assert listing(tmp_path) == ["data", "race.json"]
