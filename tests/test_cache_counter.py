"""A cache changed through SQLite after it was written is never answered from.

Its last write records SQLite's file change counter as that write leaves it; any write
since, whichever table it touched, moves the counter, and the cache is then stale: the
command answers from the file (and builds the cache again), exit 0, with the answer it
gives without a cache.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import cache_file
from typer.testing import CliRunner

from immunofacts import cache, loading
from immunofacts.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _sql(dataset: Path, script: str) -> None:
    db = sqlite3.connect(cache_file(dataset))
    try:
        db.executescript(script)
        db.commit()
    finally:
        db.close()


#: Edits of the tables whose cells carry no checksum of their own, each of which gave
#: another answer from the cache than from the file.
EDITS = {
    "record deleted": "DELETE FROM records WHERE id = 'claim-noti-abdominal-fat-study';"
    " DELETE FROM lists",
    "rating changed": "UPDATE records SET l_rating = (l_rating + 1) % 3",
    "year changed": "UPDATE records SET year = year + 1",
    "places swapped": "UPDATE records SET pos = (pos + 1) % 2",
    "names deleted": "DELETE FROM names",
    "vocabulary deleted": "DELETE FROM vocab",
    "timeline spans": "UPDATE timeline SET first = last, last = first",
    "groups": "DELETE FROM groups WHERE grp = 'statistic'",
    "in an exclusive lock": "PRAGMA locking_mode = EXCLUSIVE; DELETE FROM names; DELETE FROM vocab",
    "without a journal": "PRAGMA journal_mode = OFF; DELETE FROM names",
    "write-ahead log": "PRAGMA journal_mode = WAL; DELETE FROM names",
    "vacuumed": "VACUUM",
}

#: Commands that between them read every table above.
COMMANDS = [
    ["export", "--format", "json"],
    ["list-claims", "--rating", "mostly-accurate", "--year", "2020", "--format", "csv"],
    ["list-claims", "--entity", "ent-nhs", "--kind", "regulatory", "--format", "json"],
    ["search", "lupus", "--format", "json"],
    ["timeline", "--since", "2020-01", "--format", "json"],
]


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], str]:
    """Each command's answer from the file, with no cache."""
    here = tmp_path_factory.mktemp("cold")
    for name in ("immunofacts.yaml", "article.txt"):
        shutil.copy(ROOT / "data" / name, here / name)
    answers = {}
    for args in COMMANDS:
        got = CliRunner().invoke(
            app,
            [*args, "--data", str(here / "immunofacts.yaml")],
            env={"XDG_CACHE_HOME": None, "HOME": None},
        )
        assert got.exit_code == 0, got.output
        answers[tuple(args)] = got.stdout
    return answers


@pytest.mark.parametrize("edit", list(EDITS.values()), ids=list(EDITS))
def test_a_cache_edited_through_sqlite_is_stale_and_the_answer_is_the_files(
    dataset: Path, edit: str, cold: dict[tuple[str, ...], str]
) -> None:
    runner = CliRunner()
    cache.validate_dataset(dataset)
    good = cache_file(dataset).read_bytes()
    assert cache.open_cache(dataset) is not None
    _sql(dataset, edit)
    damaged = cache_file(dataset).read_bytes()
    assert damaged != good
    with pytest.raises(cache.Stale):
        cache._connect(dataset)
    for args in COMMANDS:
        cache_file(dataset).write_bytes(damaged)
        got = runner.invoke(app, [*args, "--data", str(dataset)])
        assert got.exit_code == 0, got.output
        assert got.stdout == cold[tuple(args)], (edit, args)
    # and the cache built again answers
    assert cache.open_cache(dataset) is not None


def test_a_cache_only_read_through_sqlite_still_answers(dataset: Path) -> None:
    cache.validate_dataset(dataset)
    _sql(dataset, "SELECT count(*) FROM records; PRAGMA integrity_check")
    assert cache.open_cache(dataset) is not None


def test_a_refreshed_stamp_keeps_the_counter_agreeing(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache's own write (new stamps for a file touched, not changed) records the
    counter it leaves: the cache answers on, without the file parsed again."""
    first = cache.validate_dataset(dataset)
    for step in range(3):
        st = dataset.stat()
        os.utime(dataset, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000 * (step + 1)))
        opened = cache.open_cache(dataset)
        assert opened is not None
        opened.close()
    parses: list[int] = []
    real = loading.load_dataset

    def counted(*args: object, **kwargs: object) -> object:
        parses.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loading, "load_dataset", counted)
    assert cache.open_dataset(dataset) == first
    assert parses == []
    meta = dict(sqlite3.connect(cache_file(dataset)).execute("SELECT key, value FROM meta"))
    assert meta["counter"] == str(cache._counter(cache_file(dataset)))


def test_an_edit_between_a_read_and_the_refresh_of_a_stamp_leaves_the_cache_stale(
    dataset: Path,
) -> None:
    """A write that comes between the check of the counter and the cache's own write of new
    stamps is not made good by that write: the counter it leaves is not the one recorded."""
    cache.validate_dataset(dataset)
    cpath = cache_file(dataset)
    db = sqlite3.connect(cpath)
    meta = dict(db.execute("SELECT key, value FROM meta"))
    db.close()
    _sql(dataset, "DELETE FROM names")
    cache._touch(cpath, {"dataset_stamp": "0:0:0:0:0"}, meta)
    with pytest.raises(cache.Stale):
        cache._counted(cpath, dict(sqlite3.connect(cpath).execute("SELECT key, value FROM meta")))


def test_a_cache_whose_counter_cannot_be_kept_is_not_put_in_place(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the counter found after the cache's last write is not the one it recorded
    (a SQLite that counts otherwise), no cache is kept: every command parses the file."""
    monkeypatch.setattr(cache, "_counter", lambda cpath: None)
    cache.validate_dataset(dataset)
    assert not cache_file(dataset).exists()
    assert list(cache_file(dataset).parent.iterdir()) == []
