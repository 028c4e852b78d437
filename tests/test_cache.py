"""The dataset cache: hits, invalidation, corruption, other versions, concurrent builds."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from immunofacts import loading, store
from immunofacts.query import search, split_terms

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A private copy of the article's dataset and text."""
    for name in ("immunofacts.yaml", "article.txt"):
        shutil.copy(ROOT / "data" / name, tmp_path / name)
    return tmp_path / "immunofacts.yaml"


def _forbid_parsing(monkeypatch: pytest.MonkeyPatch, dataset: Path) -> None:
    """Make every parse of a dataset fail, and prove that it does.

    The patch would be silently vacuous if the cache stopped calling the patched
    names (say, an import that binds them elsewhere), so a fresh copy of the
    dataset, which nothing has cached, must hit it.
    """

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the dataset was parsed, not read from the cache")

    monkeypatch.setattr(loading, "load_dataset", boom)
    monkeypatch.setattr(loading, "parse_dataset", boom)
    probe = dataset.parent / "uncached"
    probe.mkdir(exist_ok=True)
    for name in ("immunofacts.yaml", "article.txt"):
        shutil.copy(ROOT / "data" / name, probe / name)
    with pytest.raises(AssertionError, match="was parsed"):
        store.open_dataset(probe / "immunofacts.yaml")


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = loading.load_dataset

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loading, "load_dataset", counting)
    return calls


def test_second_open_is_served_from_the_cache(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = store.open_dataset(dataset)
    assert store.cache_path(dataset).is_file()
    _forbid_parsing(monkeypatch, dataset)
    assert store.open_dataset(dataset) == first


def test_cache_lives_under_xdg_cache_home(dataset: Path) -> None:
    store.open_dataset(dataset)
    assert store.cache_path(dataset).parent == Path(os.environ["XDG_CACHE_HOME"]) / "immunofacts"


def test_changed_dataset_is_reparsed(dataset: Path) -> None:
    before = store.open_dataset(dataset)
    text = dataset.read_text(encoding="utf-8")
    dataset.write_text(text.replace("The era of immune cell therapy has arrived.", "CHANGED."))
    after = store.open_dataset(dataset)
    assert after != before
    assert any(c.statement == "CHANGED." for c in after.claims)


def test_same_content_with_new_mtime_is_not_reparsed(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = store.open_dataset(dataset)
    st = dataset.stat()
    os.utime(dataset, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    calls = _count_parses(monkeypatch)
    assert store.open_dataset(dataset) == first
    assert calls == []
    # the new stamp was recorded, so the next open does not hash the file again
    hashed: list[Path] = []
    real_digest = store._digest

    def digest(p: Path) -> str:
        hashed.append(p)
        return real_digest(p)

    monkeypatch.setattr(store, "_digest", digest)
    assert store.open_dataset(dataset) == first
    assert hashed == []


def test_changed_source_text_invalidates(dataset: Path) -> None:
    store.open_dataset(dataset)
    article = dataset.parent / "article.txt"
    article.write_text("Nothing of the article is left.\n", encoding="utf-8")
    from immunofacts.errors import DataError

    with pytest.raises(DataError, match="not verbatim"):
        store.open_dataset(dataset)


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "empty", "other-version", "flipped-blob", "missing-table"],
)
def test_damaged_cache_is_rebuilt_silently(dataset: Path, damage: str) -> None:
    good = store.open_dataset(dataset)
    cpath = store.cache_path(dataset)
    raw = cpath.read_bytes()
    if damage == "garbage":
        cpath.write_bytes(b"this is not a database" * 100)
    elif damage == "truncated":
        cpath.write_bytes(raw[: len(raw) // 3])
    elif damage == "empty":
        cpath.write_bytes(b"")
    else:
        db = sqlite3.connect(cpath)
        if damage == "other-version":
            db.execute("UPDATE meta SET value = 'older' WHERE key = 'format'")
        elif damage == "flipped-blob":
            (data,) = db.execute("SELECT data FROM blobs WHERE name = 'dataset'").fetchone()
            flipped = bytes([data[0] ^ 0xFF]) + data[1:]
            db.execute("UPDATE blobs SET data = ? WHERE name = 'dataset'", (flipped,))
        else:
            db.execute("DROP TABLE blobs")
        db.commit()
        db.close()
    assert store.open_dataset(dataset) == good
    # and the rebuilt cache answers again
    assert store.open_dataset(dataset) == good


def test_corrupt_record_row_never_gives_a_wrong_search_answer(dataset: Path) -> None:
    store.open_dataset(dataset)
    db = sqlite3.connect(store.cache_path(dataset))
    db.execute("UPDATE records SET body = X'00' || substr(body, 2)")
    db.commit()
    db.close()
    ds = store.search_dataset(dataset, ["lupus"])
    assert {h.record.id for h in search(ds, ["lupus"])} == {
        h.record.id for h in search(loading.load_dataset(dataset), ["lupus"])
    }


def test_unwritable_cache_directory_still_works(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert len(store.open_dataset(dataset).cases) == 3


def _build(path: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ds = store.validate_dataset(Path(path))
    out.put(len(ds.claims))


def test_two_processes_building_at_once(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_build, args=(str(dataset), out)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    counts = {out.get(timeout=5) for _ in procs}
    assert len(counts) == 1
    leftovers = [p for p in store.cache_path(dataset).parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers == []
    _forbid_parsing(monkeypatch, dataset)
    assert len(store.open_dataset(dataset).claims) == counts.pop()


@pytest.mark.parametrize(
    "query",
    [
        "lupus",
        "CYNK-001",
        "lymph",
        "rhesus monkeys",
        "the",
        "t",
        "Noti",
        "“super",
        "68",
        "lancet respiratory",
        "café",
        "NCT04365101",
        "doi",
        "ph",
    ],
)
def test_indexed_search_finds_what_a_full_scan_finds(dataset: Path, query: str) -> None:
    full = loading.load_dataset(dataset)
    store.open_dataset(dataset)  # build the cache
    terms = split_terms([query])
    narrowed = store.search_dataset(dataset, terms)
    assert [h.record.id for h in search(narrowed, terms)] == [
        h.record.id for h in search(full, terms)
    ]


def test_fts_query_uses_ascii_words_only() -> None:
    assert store.fts_query(["CYNK-001"]) == '"cynk"* AND "001"*'
    assert store.fts_query(["café"]) is None
    assert store.fts_query(["--"]) is None
    assert store.fts_query(['a"b']) == '"a"* AND "b"*'
