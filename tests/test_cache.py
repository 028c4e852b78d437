"""The dataset cache: hits, invalidation, corruption, other versions, concurrent builds."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import TIMELINE_KEEPING, cache_file, timeline_kept
from forged import agree
from hypothesis import given, settings
from hypothesis import strategies as st

from immunofacts import cache, loading
from immunofacts.errors import DataError
from immunofacts.query import search

ROOT = Path(__file__).resolve().parent.parent


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
        cache.open_dataset(probe / "immunofacts.yaml")


def _edit(dataset: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Change the cache of `dataset` behind its back: each (SQL, arguments), committed;
    its change counter then forged to agree, so that the checks behind it are tested."""
    db = sqlite3.connect(cache_file(dataset))
    try:
        for sql, args in statements:
            db.execute(sql, args)
        db.commit()
    finally:
        db.close()
    agree(cache_file(dataset))


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = loading.parse_dataset

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loading, "parse_dataset", counting)
    return calls


def test_second_open_is_served_from_the_cache(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cache.open_dataset(dataset)
    assert cache_file(dataset).is_file()
    _forbid_parsing(monkeypatch, dataset)
    assert cache.open_dataset(dataset) == first


def test_cache_lives_under_xdg_cache_home(dataset: Path) -> None:
    cache.open_dataset(dataset)
    assert cache_file(dataset).parent == Path(os.environ["XDG_CACHE_HOME"]) / "immunofacts"


@pytest.mark.parametrize("name", ["100%", "a?b", "c#d", "%3f", "e f", "/x"])
def test_a_cache_directory_named_with_uri_characters_is_used(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """`%`, `?` and `#` mean something in the URI the cache is opened by: in the name of
    its directory they are the name's own, and the cache answers the second time."""
    home = "/" + str(tmp_path / name.lstrip("/")) if name == "/x" else str(tmp_path / name)
    monkeypatch.setenv("XDG_CACHE_HOME", home)  # "/x": a path starting "//"
    first = cache.open_dataset(dataset)
    assert cache_file(dataset).is_file()
    assert str(cache_file(dataset)).startswith(home)
    _forbid_parsing(monkeypatch, dataset)
    assert cache.open_dataset(dataset) == first


def test_changed_dataset_is_reparsed(dataset: Path) -> None:
    before = cache.open_dataset(dataset)
    text = dataset.read_text(encoding="utf-8")
    dataset.write_text(text.replace("The era of immune cell therapy has arrived.", "CHANGED."))
    after = cache.open_dataset(dataset)
    assert after != before
    assert any(c.statement == "CHANGED." for c in after.claims)


def test_same_content_with_new_mtime_is_not_reparsed(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cache.open_dataset(dataset)
    st = dataset.stat()
    os.utime(dataset, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    calls = _count_parses(monkeypatch)
    assert cache.open_dataset(dataset) == first
    assert calls == []
    # the new stamp was recorded, so the next open does not hash the file again
    hashed: list[Path] = []
    real_digest = cache._file_digest

    def digest(p: Path) -> str:
        hashed.append(p)
        return real_digest(p)

    monkeypatch.setattr(cache, "_file_digest", digest)
    assert cache.open_dataset(dataset) == first
    assert hashed == []


def test_changed_source_text_invalidates(dataset: Path) -> None:
    cache.open_dataset(dataset)
    article = dataset.parent / "article.txt"
    article.write_text("Nothing of the article is left.\n", encoding="utf-8")
    from immunofacts.errors import DataError

    with pytest.raises(DataError, match="not verbatim"):
        cache.open_dataset(dataset)


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "empty", "other-version", "flipped-blob", "missing-table"],
)
def test_damaged_cache_is_rebuilt_silently(dataset: Path, damage: str) -> None:
    good = cache.open_dataset(dataset)
    cpath = cache_file(dataset)
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
            (data,) = db.execute("SELECT data FROM blobs WHERE name = 'head'").fetchone()
            flipped = bytes([data[0] ^ 0xFF]) + data[1:]
            db.execute("UPDATE blobs SET data = ? WHERE name = 'head'", (flipped,))
        else:
            db.execute("DROP TABLE blobs")
        db.commit()
        db.close()
    assert cache.open_dataset(dataset) == good
    # and the rebuilt cache answers again
    assert cache.open_dataset(dataset) == good


def _warm_search(path: Path, query: str, *, found: bool = False) -> list[str]:
    def run(source: object) -> list[str]:
        return [h.record.id for h in search(source, query)]  # type: ignore[arg-type]

    def warm(c: cache.Cache) -> list[str]:
        return run(cache.CachedIndex(c, found={} if found else None))

    return cache.answer(path, None, None, warm, run)


@pytest.mark.parametrize("found", [False, True], ids=["claims", "found-claims"])
def test_corrupt_record_row_never_gives_a_wrong_search_answer(dataset: Path, found: bool) -> None:
    cache.open_dataset(dataset)
    db = sqlite3.connect(cache_file(dataset))
    db.execute("UPDATE bodies SET body = X'00' || substr(body, 2)")
    db.commit()
    db.close()
    agree(cache_file(dataset))
    cold = [h.record.id for h in search(loading.load_dataset(dataset), "lupus")]
    assert _warm_search(dataset, "lupus", found=found) == cold != []


def test_unwritable_cache_directory_still_works(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert len(cache.open_dataset(dataset).cases) == 3


def _build(path: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ds = cache.validate_dataset(Path(path))
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
    leftovers = [p for p in cache_file(dataset).parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers == []
    _forbid_parsing(monkeypatch, dataset)
    assert len(cache.open_dataset(dataset).claims) == counts.pop()


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
    cache.open_dataset(dataset)  # build the cache
    assert _warm_search(dataset, query) == [h.record.id for h in search(full, query)]


# --- keyed by content, trusted only when private -------------------------------------------


def test_same_size_and_mtime_with_new_content_is_reparsed(dataset: Path) -> None:
    before = cache.open_dataset(dataset)
    st = dataset.stat()
    text = dataset.read_text(encoding="utf-8")
    old = "The era of immune cell therapy has arrived."
    new = "The era of immune cell therapy HAS arrived."
    assert len(new) == len(old) and old in text
    dataset.write_text(text.replace(old, new), encoding="utf-8")  # as `cp -p` would
    os.utime(dataset, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert dataset.stat().st_size == st.st_size
    after = cache.open_dataset(dataset)
    assert after != before
    assert any(c.statement == new for c in after.claims)


def test_file_replaced_while_it_loads_is_not_stamped_with_the_old_content(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = dataset.read_text(encoding="utf-8")
    old = "The era of immune cell therapy has arrived."
    real = loading.parse_dataset
    replaced: list[int] = []

    def parse_then_replace(*args: object, **kwargs: object) -> object:
        if not replaced:  # the bytes are read; the file now changes under the load
            replaced.append(1)
            dataset.write_text(text.replace(old, "REPLACED."), encoding="utf-8")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loading, "parse_dataset", parse_then_replace)
    first = cache.open_dataset(dataset)
    assert any(c.statement == old for c in first.claims)  # what was read
    monkeypatch.setattr(loading, "parse_dataset", real)
    again = cache.open_dataset(dataset)
    assert any(c.statement == "REPLACED." for c in again.claims)


def _fabricate(cpath: Path) -> None:
    """Rewrite the cache's first record as a claim the dataset does not have."""
    import zlib

    import msgspec

    from immunofacts.model import Claim

    db = sqlite3.connect(cpath)
    zdict = zlib.decompress(db.execute("SELECT data FROM blobs WHERE name = 'zdict'").fetchone()[0])
    body = db.execute("SELECT body FROM bodies WHERE n = 0").fetchone()[0]
    raws = [bytes(raw) for raw in cache._unpack(body, zdict)]
    claim = msgspec.json.decode(b"{" + raws[0][cache._CLAIM_HEAD :], type=Claim)
    fake_claim = msgspec.structs.replace(claim, statement="FABRICATED")
    raws[0] = cache._claim_texts([fake_claim], msgspec.msgpack.Encoder())[0]
    fake = cache._pack(raws, zdict)
    db.execute("UPDATE bodies SET body = ?, crc = ? WHERE n = 0", (fake, zlib.crc32(fake)))
    db.commit()
    db.close()
    agree(cpath)


def test_fabricated_cache_is_served_only_as_a_control(dataset: Path) -> None:
    # The control: a cache of ours in a private directory is trusted as it is, when its
    # change counter was forged to agree.
    cache.open_dataset(dataset)
    _fabricate(cache_file(dataset))
    assert cache.open_dataset(dataset).claims[0].statement == "FABRICATED"


@pytest.mark.parametrize("where", ["file-writable", "dir-writable", "dir-other-owner"])
def test_cache_others_could_write_is_ignored(dataset: Path, where: str) -> None:
    good = cache.open_dataset(dataset)
    cpath = cache_file(dataset)
    _fabricate(cpath)
    if where == "file-writable":
        os.chmod(cpath, 0o666)
    elif where == "dir-writable":
        os.chmod(cpath.parent, 0o777)
    else:
        if os.geteuid() != 0:
            pytest.skip("needs root to give the directory to another user")
        os.chown(cpath.parent, 65534, 65534)
    assert cache.open_dataset(dataset) == good


def test_cache_directory_is_private(dataset: Path) -> None:
    cache.open_dataset(dataset)
    cpath = cache_file(dataset)
    assert cpath.parent.stat().st_mode & 0o777 == 0o700
    assert cpath.stat().st_mode & 0o077 == 0


def test_no_home_and_no_xdg_works_without_a_cache(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv("HOME", raising=False)
    assert cache.cache_dir() is None
    assert len(cache.open_dataset(dataset).cases) == 3
    ids = _warm_search(dataset, "lupus")
    assert ids and ids == _warm_search(dataset, "lupus")


def test_relative_xdg_cache_home_is_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / ".cache" / "immunofacts"


def test_number_beyond_64_bits_does_not_break_the_cache(tmp_path: Path) -> None:
    big = str(2**70)
    path = tmp_path / "big.yaml"
    path.write_text(
        "schema: 2\nsource: {id: s, title: T, publisher: P}\n"
        "claims:\n  - id: c\n    kind: statistic\n    statement: S\n    quote: Q\n"
        f"    evidence: unsourced\n    figures: [{{label: L, value: {big}, unit: u}}]\n",
        encoding="utf-8",
    )
    for _ in range(2):  # refused with its line, never an overflow while caching
        with pytest.raises(DataError, match=r"big.yaml:9: claims\[0\].figures\[0\].value: number"):
            cache.open_dataset(path)


def test_warm_search_finds_words_after_symbols_and_dotless_i(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "schema: 2\nsource: {id: s, title: T, publisher: P}\nclaims:\n"
        "  - id: c\n    kind: statistic\n    statement: Clinic in Diyarbakır, fee ₽500\n"
        "    quote: Q\n    evidence: unsourced\n",
        encoding="utf-8",
    )
    for query in ("diyarbakir", "Diyarbakır", "500", "fee"):
        cold = _warm_search(path, query)  # the first run parses
        assert cold == ["c"], query
        assert _warm_search(path, query) == cold, query


@pytest.mark.parametrize(
    ("since", "until"),
    [(None, None), ("2020-06", None), (None, "2020-03"), ("2020", "2020-06-15"), ("2030", None)],
)
@pytest.mark.parametrize("kept", TIMELINE_KEEPING)
def test_timeline_read_in_blocks_is_the_timeline(
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    since: str | None,
    until: str | None,
    kept: str,
) -> None:
    from immunofacts import query

    monkeypatch.setattr(cache, "TIMELINE_BLOCK", 3)
    timeline_kept(monkeypatch, kept)
    ds = cache.validate_dataset(dataset)
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        want = query.timeline(ds, since=since, until=until)
        assert list(warm.timeline(since=since, until=until)) == want
        blocks = warm.db.execute("SELECT count(*), sum(packed) FROM timeline").fetchone()
        assert blocks[0] == -(-len(query.timeline_events(ds)) // 3)
        assert blocks[1] == (0 if kept == "raw" else blocks[0])
    finally:
        warm.close()


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (None, None),
        ("2020-06", None),
        (None, "2020-03"),
        ("2020", "2020-06-15"),
        ("2019-12-31", "2021"),
        ("2030", None),
    ],
)
@pytest.mark.parametrize("size", [1, 2, 3, 512])
@pytest.mark.parametrize("kept", TIMELINE_KEEPING)
def test_timeline_blocks_written_as_they_are_are_the_json_of_the_timeline(
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    since: str | None,
    until: str | None,
    size: int,
    kept: str,
) -> None:
    """A block wholly within the range is written as its stored text (compressed, or as
    it is), the blocks at the range's edges event by event: byte for byte the JSON of the
    events themselves."""
    from immunofacts import query
    from immunofacts.jsontext import Encoded
    from immunofacts.render.formats import joined, json_array, to_json

    monkeypatch.setattr(cache, "TIMELINE_BLOCK", size)
    timeline_kept(monkeypatch, kept)
    ds = cache.validate_dataset(dataset)
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        want = query.timeline(ds, since=since, until=until)
        items = list(warm.timeline(since=since, until=until).json_items())
        assert joined(json_array(items)) == to_json(want)
        made = [str(item, "utf-8") for item in items if isinstance(item, Encoded | memoryview)]
        if since is None and until is None:  # every block is written as it is
            assert len(made) == len(items) == -(-len(want) // size)
        elif size == 1:  # a block of one event is in the range or not read at all
            assert len(made) == len(items) == len(want)
        elif size <= 3 and len(want) > 2 * size:  # some blocks lie wholly within the range
            assert made
        cut = (len(want) - sum(item.count("\n  {") + 1 for item in made)) if want else 0
        assert cut == len(items) - len(made)  # the other events are each their own item
    finally:
        warm.close()


@pytest.mark.parametrize("kept", TIMELINE_KEEPING)
@pytest.mark.parametrize("crc", ["kept", "made to agree"])
def test_damaged_timeline_block_is_answered_from_the_file(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, kept: str, crc: str
) -> None:
    import zlib

    from immunofacts import query

    timeline_kept(monkeypatch, kept)
    ds = cache.validate_dataset(dataset)
    db = sqlite3.connect(cache_file(dataset))
    (data,) = db.execute("SELECT data FROM timeline ORDER BY n LIMIT 1").fetchone()
    bad = bytes([data[0] ^ 0xFF]) + data[1:]
    db.execute(
        "UPDATE timeline SET data = ?, crc = ? WHERE n = 0",
        (bad, zlib.crc32(bad) if crc == "made to agree" else zlib.crc32(data)),
    )
    db.commit()
    db.close()
    agree(cache_file(dataset))
    got = cache.answer(dataset, None, None, lambda c: list(c.timeline()), query.timeline)
    assert got == query.timeline(ds)


def test_lookup_by_id_is_the_whole_dataset_lookup_and_reads_one_row_for_an_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from immunofacts import query
    from immunofacts.errors import NotFoundError

    claims = ["claim-a", "claim-a-k1", "claim-a-k10", "claim-a-k100", "case-b-note", "claim-x"]
    cases = ["case-a", "case-a-k1", "case-a-k10", "case-b"]
    text = "schema: 2\nsource: {id: s, title: T, publisher: P}\nclaims:\n"
    for cid in claims:
        text += f"  - {{id: {cid}, kind: statistic, statement: S, quote: Q, evidence: unsourced}}\n"
    text += "cases:\n"
    for cid in cases:
        text += (
            f"  - {{id: {cid}, title: T, quote: Q, patient: {{description: D}}, diagnosis: [D],"
            " therapy: T, outcome: O, evidence: unsourced, events: []}\n"
        )
    path = tmp_path / "ids.yaml"
    path.write_text(text, encoding="utf-8")
    ds = cache.validate_dataset(path)
    read: list[int] = []
    real = cache.Cache.records

    def counting(self: cache.Cache, *args: object) -> list[object]:
        found = real(self, *args)  # type: ignore[arg-type]
        read.append(len(found))
        return found  # type: ignore[return-value]

    monkeypatch.setattr(cache.Cache, "records", counting)
    keys = [*claims, *cases, "CLAIM-A-K1", " claim-a-k10 ", "a-k1", "a", "claim-a-k", "b",
            "case-b", "case-a", "claim-b", "x", "", "zzz", "k1", "CASE-A-K1"]  # fmt: skip

    def outcome(find: object, key: str) -> str:
        try:
            return find(key).id  # type: ignore[operator, no-any-return]
        except NotFoundError as e:
            return f"error: {e}"

    warm = cache.open_cache(path)
    assert warm is not None
    try:
        for key in keys:
            for name in ("find_claim", "find_case"):
                read.clear()
                got = outcome(getattr(warm, name), key)
                cold = getattr(query, name)
                assert got == outcome(lambda k, cold=cold: cold(ds, k), key), (name, key)
                if key in (claims if name == "find_claim" else cases):
                    assert read == [1], (name, key)
    finally:
        warm.close()


@pytest.mark.parametrize("budget", [1, 100, 250, 10_000])
def test_record_blocks_are_bounded_by_bytes_and_say_where_each_record_is(
    monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    monkeypatch.setattr(cache, "_BLOCK_BYTES", budget)
    raws = [bytes([i]) * size for i, size in enumerate([10, 90, 200, 5, 300, 1, 1, 40])]
    zdict = b"common words"
    bodies, places = cache._blocks(raws, zdict)
    assert [n for n, _, _ in bodies] == list(range(len(bodies)))
    blocks = [[bytes(r) for r in cache._unpack(body, zdict)] for _, body, _ in bodies]
    assert [r for block in blocks for r in block] == raws  # every record, in order
    assert [blocks[n][i] for n, i in places] == raws
    for block in blocks:  # over the budget only when one record alone is
        assert len(block) == 1 or sum(map(len, block)) <= budget
    for a, b in zip(blocks, blocks[1:], strict=False):  # a block is closed only when full
        assert sum(map(len, a)) + len(b[0]) > budget
    assert len(bodies) == {1: 8, 100: 5, 250: 4, 10_000: 1}[budget]
    for _, body, _ in bodies:  # a block read without its ends: the same, ends read later
        data, base, ends = cache._block(body, zdict)
        whole, at, none = cache._block(body, zdict, cut=False)
        assert (bytes(whole), at, none) == (bytes(data), base, ())
        assert cache._ends(whole) == ends
    # a block whose last record ends elsewhere than where its bytes do is Stale either way
    data, _, ends = cache._block(bodies[0][1], zdict)
    head = struct.pack(f"<I{len(ends)}I", len(ends), *ends[:-1], ends[-1] + 1)
    bad = cache._LZ4.compress(head + bytes(data[len(head) :]), dict=zdict)
    for cut in (True, False):
        with pytest.raises(cache.Stale):
            cache._block(bad, zdict, cut=cut)


def test_record_blocks_of_groups_hold_each_group_apart_in_order() -> None:
    raws = [bytes([i]) * 30 for i in range(12)]
    groups = ["a", "b", "a", "c", "b", "a", "a", "c", "b", "a", "a", "a"]
    zdict = b"common words"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cache, "_BLOCK_BYTES", 70)  # two records a block
        bodies, places = cache._blocks(raws, zdict, groups)
    blocks = [[bytes(r) for r in cache._unpack(body, zdict)] for _, body, _ in bodies]
    assert [blocks[n][i] for n, i in places] == raws
    owner = [{groups[raws.index(r)] for r in block} for block in blocks]
    assert all(len(o) == 1 for o in owner)  # no block mixes groups
    assert [o.pop() for o in owner] == ["a", "a", "a", "a", "b", "b", "c"]  # as first met
    for n in range(len(blocks)):  # each group's records in dataset order
        mine = [at for at, (m, _) in enumerate(places) if m == n]
        assert mine == sorted(mine)


def test_a_kind_reads_only_its_blocks_and_a_walk_reads_each_block_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from immunofacts import query
    from immunofacts.model import ClaimKind

    kinds = ["statistic", "opinion", "research", "policy"]
    text = "schema: 2\nsource: {id: s, title: T, publisher: P}\nclaims:\n"
    for i in range(200):
        text += (
            f"  - {{id: claim-{i}, kind: {kinds[i * 7 % 11 % 4]}, statement: S{i},"
            f" quote: Q, evidence: unsourced}}\n"
        )
    text += "cases:\n"
    for i in range(30):
        text += (
            f"  - {{id: case-{i}, title: T, quote: Q, patient: {{description: D}},"
            " diagnosis: [D], therapy: T, outcome: O, evidence: unsourced, events: []}\n"
        )
    path = tmp_path / "d.yaml"
    path.write_text(text)
    monkeypatch.setattr(cache, "_BLOCK_BYTES", 200)
    ds = cache.validate_dataset(path)
    warm = cache.open_cache(path)
    assert warm is not None
    read: list[int] = []
    real = cache.Cache._bodies

    def counting(self: cache.Cache, n: int) -> object:
        read.append(n)
        return real(self, n)

    monkeypatch.setattr(cache.Cache, "_bodies", counting)
    inflated: list[bytes] = []
    block = cache._block

    def inflating(body: bytes, zdict: bytes, *, cut: bool = True) -> object:
        inflated.append(body)
        return block(body, zdict, cut=cut)

    monkeypatch.setattr(cache, "_block", inflating)
    try:
        blocks = warm.db.execute("SELECT count(*) FROM bodies").fetchone()[0]
        assert blocks > 20
        assert list(warm.rows()) == list(ds.records())
        assert sorted(read) == list(range(blocks))  # each block once, in a walk of all
        inflated.clear()
        mine = [
            body
            for (body,) in warm.db.execute(
                "SELECT body FROM bodies WHERE n IN (SELECT blk FROM records WHERE l_kind = ?)"
                " ORDER BY n",
                (warm._label_codes()["kind"]["statistic"],),
            )
        ]
        for kind in ([ClaimKind.STATISTIC], [ClaimKind.STATISTIC, ClaimKind.STATISTIC]):
            inflated.clear()
            got = list(warm.claims(kind=kind))
            assert got == list(query.filter_claims(ds, kind=kind))
            # its own blocks, each once
            assert sorted(inflated) == sorted(mine) and len(set(inflated)) == len(mine)
        assert len(mine) < blocks / 3
    finally:
        warm.close()


@pytest.mark.parametrize(
    ("budget", "batch"), [(1, 2), (1, 16), (300, 3), (2_000, 16), (16_384, 16)]
)
def test_sparse_rows_are_the_rows_and_a_short_block_is_stale(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, budget: int, batch: int
) -> None:
    """Blocks inflated only as far as the records read give the same records as blocks
    inflated whole, for every few records and for all, however many blocks are read at
    once; a block cut short is Stale."""
    monkeypatch.setattr(cache, "_BLOCK_BYTES", budget)
    monkeypatch.setattr(cache, "_SPARSE_BATCH", batch)
    ds = cache.validate_dataset(dataset)
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        for where, args in [
            ("", ()),
            ("WHERE rowid % 3 = 1", ()),
            ("WHERE rowid % 7 = 0 OR rowid < 3", ()),
            ("WHERE is_case = ?", (1,)),
            ("WHERE rowid = ?", (len(ds.records()),)),  # the last record
        ]:
            assert list(warm.rows(where, args, sparse=True)) == list(warm.rows(where, args))
        assert list(warm.rows(sparse=True)) == list(ds.records())
        # the last block, cut short, with a checksum that agrees
        n, body = warm.db.execute("SELECT n, body FROM bodies ORDER BY n DESC").fetchone()
        (last,) = warm.db.execute("SELECT max(rowid) FROM records WHERE blk = ?", (n,)).fetchone()
    finally:
        warm.close()
    short = body[: len(body) // 2]
    _edit(
        dataset, ("UPDATE bodies SET body = ?, crc = ? WHERE n = ?", (short, zlib.crc32(short), n))
    )
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        with pytest.raises(cache.Stale):
            list(warm.rows("WHERE rowid = ?", (last,), sparse=True))
    finally:
        warm.close()


#: Characters JSON output escapes (and, first, none), of every length in UTF-8.
ESCAPED = "", "\x01", "\r", "\x7f", "\x85", "\u00ad", "\u061c", "\u2028", "\ufeff", "\U000e0001"


@pytest.mark.parametrize("odd", ESCAPED)
def test_claim_texts_escape_as_json_output_does(odd: str) -> None:
    """A claim is kept as the JSON its output writes, with every character that output
    escapes escaped, wherever it is among claims with other characters beyond ASCII."""
    import msgspec

    from immunofacts.jsontext import to_json
    from immunofacts.model import Claim, ClaimKind, Evidence

    def claim(i: int, statement: str) -> Claim:
        kind, evidence = ClaimKind.OPINION, Evidence.UNSOURCED
        return Claim(id=f"c{i}", kind=kind, statement=statement, quote="q", evidence=evidence)

    claims = [claim(i, "caf\u00e9 \u2013 \u7ec6\u80de") for i in range(50)]
    claims[17] = claim(17, f"caf\u00e9 {odd} end")
    texts = cache._claim_texts(claims, msgspec.msgpack.Encoder())
    for c, text in zip(claims, texts, strict=True):
        tagged = {"type": "claim", **msgspec.to_builtins(c)}
        assert text == to_json([tagged]).encode()[2:-3]  # the element, as written
        assert text.startswith(cache._CLAIM_START)
    assert odd == "" or odd not in texts[17].decode()


@pytest.mark.parametrize("size", [1, 300, 1 << 18])
def test_claims_as_json_are_their_stored_text_and_decode_to_the_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """The text a warm `list-claims --format json` writes, cut from the blocks without
    decoding a claim, is byte for byte the JSON of the claims themselves, escapes and
    all; the same rows decode to the claims."""
    from immunofacts import query
    from immunofacts.model import ClaimKind, Evidence
    from immunofacts.render.formats import joined, json_array, to_json
    from immunofacts.render.shapes import claim_json

    words = ["plain", "caf\u00e9 \u20bd500", "\u2066isolated\u2069", "\u7ec6\u80de", "x\U000f0000"]
    kinds = ["statistic", "opinion", "research"]
    text = "schema: 2\nsource: {id: s, title: T, publisher: P}\nclaims:\n"
    for i in range(40):
        text += (
            f'  - {{id: claim-{i}, kind: {kinds[i % 3]}, statement: "{words[i % 5]} {i}",'
            f' quote: "Q {words[i % 4]}", evidence: {"unsourced" if i % 2 else "news-report"},'
            f" figures: [{{value: {i}.5, unit: '%', label: w}}]}}\n"
        )
    text += "cases:\n  - {id: case-0, title: T, quote: Q, patient: {description: D},"
    text += " diagnosis: [D], therapy: T, outcome: O, evidence: unsourced, events: []}\n"
    path = tmp_path / "d.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(cache, "_BLOCK_BYTES", 700)
    monkeypatch.setattr(cache, "_JSON_BYTES", size)
    monkeypatch.setattr(cache, "_RUN", 3)
    ds = cache.validate_dataset(path)
    warm = cache.open_cache(path)
    assert warm is not None
    try:
        real = warm._claim
        decoded: list[object] = []

        class Counting:
            def decode(self, raw: bytes) -> object:
                decoded.append(raw)
                return real.decode(raw)

        monkeypatch.setattr(warm, "_claim", Counting())
        filtering: list[dict[str, Any]] = [
            {},
            {"kind": [ClaimKind.STATISTIC]},
            {"evidence": [Evidence.UNSOURCED]},
            {"kind": [ClaimKind.OPINION, ClaimKind.STATISTIC]},
            {"kind": [ClaimKind.OPINION], "evidence": [Evidence.UNSOURCED]},
        ]
        for filters in filtering:
            want = list(query.filter_claims(ds, **filters))
            assert want
            decoded.clear()
            items = list(warm.claims(**filters).json_items())
            assert len(decoded) == 1  # the first, checked when the rows were asked for
            assert joined(json_array(items)) == to_json([claim_json(c) for c in want])
            if size == 1:  # a run of claims at a time: at most 3, or a block's
                assert len(want) / 3 <= len(items) <= len(want)
            elif size > 1000:
                assert len(items) == 1
            assert list(warm.claims(**filters)) == want
    finally:
        warm.close()


@pytest.mark.parametrize("first", [None, 0, 1, 2, 3, 4, 5, 100])
def test_stats_read_in_part_are_the_first_figures_and_cases(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, first: int | None
) -> None:
    """A dashboard reads the first figures and cases, and counts the others."""
    from immunofacts import query

    monkeypatch.setattr(cache, "LIST_BLOCK", 2)
    ds = cache.validate_dataset(dataset)
    want = query.stats(ds)
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        got = warm.stats(first)
        blocks = warm.db.execute("SELECT count(*) FROM lists").fetchone()[0]
    finally:
        warm.close()
    n = len(want.figures) if first is None else first
    assert got.figures == want.figures[:n]
    assert got.more_figures == len(want.figures) - len(got.figures)
    assert got.cases == want.cases[: len(want.cases) if first is None else first]
    assert got.more_cases == len(want.cases) - len(got.cases)
    assert got.backing == {h.claim_id: want.backing[h.claim_id] for h in got.figures}
    assert blocks == -(-len(want.figures) // 2) - (-len(want.cases) // 2)
    everything = {"figures", "backing", "cases", "more_figures", "more_cases"}
    for field in set(want.__struct_fields__) - everything:
        assert getattr(got, field) == getattr(want, field), field


def test_work_done_ahead_in_threads_comes_in_order_and_stops_at_an_error() -> None:
    import threading
    import time

    def work(i: int) -> int:
        time.sleep(0.002 * (i % 3))  # later items finish first, now and then
        if i == 7:
            raise cache.Stale
        return i * i

    assert list(cache._ahead(work, range(7))) == [i * i for i in range(7)]
    got: list[int] = []
    with pytest.raises(cache.Stale):
        for value in cache._ahead(work, range(20)):
            got.append(value)
    assert got == [i * i for i in range(7)]  # everything before the error, in order

    def running() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "cache-ahead"]

    deadline = time.monotonic() + 5
    items = cache._ahead(work, range(5))
    assert next(items) == 0
    assert len(running()) >= 2
    items.close()  # the threads are told to stop, and do
    while running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not running()


@pytest.mark.parametrize("below", [1, cache.SMALL_PAGES_BELOW])
def test_page_size_follows_the_datasets_size_and_answers_alike(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, below: int
) -> None:
    from immunofacts import query
    from immunofacts.model import ClaimKind

    monkeypatch.setattr(cache, "SMALL_PAGES_BELOW", below)
    ds = cache.validate_dataset(dataset)
    db = sqlite3.connect(cache_file(dataset))
    try:
        (page,) = db.execute("PRAGMA page_size").fetchone()
    finally:
        db.close()
    assert page == (cache.SMALL_PAGE if below > 1 else 4096)
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        assert warm.dataset() == ds
        assert list(warm.claims(kind=ClaimKind.STATISTIC)) == query.filter_claims(
            ds, kind=ClaimKind.STATISTIC
        )
        assert list(warm.timeline()) == query.timeline(ds)
    finally:
        warm.close()


def _deflates() -> list[Any]:
    """The libraries the cache can compress with: zlib always, ISA-L's when installed."""
    isal = pytest.importorskip("isal.isal_zlib")
    return [zlib, isal]


@pytest.mark.parametrize("writer", [0, 1], ids=["zlib-writes", "isal-writes"])
@pytest.mark.parametrize("reader", [0, 1], ids=["zlib-reads", "isal-reads"])
def test_a_cache_written_with_either_deflate_is_read_with_the_other(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, writer: int, reader: int
) -> None:
    """Both write the same format: a cache built where ISA-L is installed is served,
    whole and in part, where only zlib is, and the other way round."""
    deflates = _deflates()
    cold = loading.load_dataset(dataset)
    monkeypatch.setattr(cache, "_z", deflates[writer])
    monkeypatch.setattr(cache, "_BLOCK_BYTES", 600)  # many blocks, some read in part
    cache.validate_dataset(dataset)
    monkeypatch.setattr(cache, "_z", deflates[reader])
    _forbid_parsing(monkeypatch, dataset)
    assert cache.open_dataset(dataset) == cold
    _every_third_is_served(dataset, cold)
    assert _warm_search(dataset, "lupus") == [h.record.id for h in search(cold, "lupus")] != []


@pytest.mark.parametrize("which", [0, 1], ids=["zlib", "isal"])
def test_a_block_that_does_not_inflate_is_stale_with_either_deflate(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, which: int
) -> None:
    """A damaged block whose checksum was made to agree is caught by the inflater, with
    either library: the answer comes from the file, never an error from the library."""
    monkeypatch.setattr(cache, "_z", _deflates()[which])
    cache.validate_dataset(dataset)
    bad = b"\xff" * 64
    _edit(
        dataset,
        ("UPDATE bodies SET body = ?, crc = ?", (bad, zlib.crc32(bad))),
        ("UPDATE blobs SET data = ?, crc = ? WHERE name = 'head'", (bad, zlib.crc32(bad))),
    )
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        with pytest.raises(cache.Stale):
            list(warm.rows())
        with pytest.raises(cache.Stale):
            list(warm.rows("WHERE rowid = 1", (), sparse=True))
        with pytest.raises(cache.Stale):
            warm.head()
    finally:
        warm.close()
    cold = [h.record.id for h in search(loading.load_dataset(dataset), "lupus")]
    assert _warm_search(dataset, "lupus") == cold != []


def test_labels_and_entities_kept_as_numbers_filter_as_the_reference(dataset: Path) -> None:
    from immunofacts import query
    from immunofacts.model import Evidence, Rating

    ds = cache.validate_dataset(dataset)
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        kept = warm.db.execute("SELECT DISTINCT typeof(l_evidence) FROM records").fetchall()
        assert kept == [("integer",)]
        assert warm.db.execute("SELECT DISTINCT typeof(entity) FROM names").fetchall() == [
            ("integer",)
        ]
        # every label, those no claim has among them (found by none), alone and together
        for evidence in Evidence:
            want = query.filter_claims(ds, evidence=evidence)
            assert list(warm.claims(evidence=evidence)) == want, evidence
        every = list(Rating)
        assert list(warm.claims(rating=every)) == query.filter_claims(ds, rating=every)
        assert list(warm.claims(rating=["no-such-rating"])) == []
        for entity in ds.entities:
            got = list(warm.claims(entity=entity.id))
            assert got == query.filter_claims(ds, entity=entity.id), entity.id
            assert warm.naming(entity.id) == query.records_naming(ds, entity.id), entity.id
        assert warm.naming("no-such-entity") == query.records_naming(ds, "no-such-entity")
    finally:
        warm.close()


def test_a_load_where_no_thread_can_start_hashes_the_file_itself(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's bytes are hashed by a thread of their own while they are parsed; where
    no thread can be had (a limit on threads), they are hashed in the loading thread
    instead: the load, and the cache it writes, are the same."""
    import threading

    def refused(self: threading.Thread) -> None:
        if self.name == "cache-hash":
            raise RuntimeError("can't start new thread")
        real(self)

    real = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", refused)
    ds = cache.validate_dataset(dataset)
    monkeypatch.setattr(threading.Thread, "start", real)
    assert ds == loading.load_dataset(dataset)
    _forbid_parsing(monkeypatch, dataset)
    assert cache.open_dataset(dataset) == ds  # the cache written is fresh, and answers


@pytest.mark.parametrize("share", [0.0, 0.5, 10.0])
def test_a_timeline_kept_uncompressed_takes_no_more_than_its_share_of_the_file(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    """Without LZ4, a large dataset's timeline is kept as the text it writes unless
    that text would take more than `RAW_TIMELINE_SHARE` of the dataset file's size: then
    it is compressed as a small dataset's is, and reads the same."""
    from immunofacts import query
    from immunofacts.jsontext import elements

    timeline_kept(monkeypatch, "raw")  # as a large dataset's without LZ4
    monkeypatch.setattr(cache, "RAW_TIMELINE_SHARE", share)
    ds = cache.validate_dataset(dataset)
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        assert list(warm.timeline()) == query.timeline(ds)
        count, packed = warm.db.execute("SELECT count(*), sum(packed) FROM timeline").fetchone()
        text = len(elements(query.timeline_events(ds)).encode())
    finally:
        warm.close()
    room = share * dataset.stat().st_size
    assert packed == (count if text > room else 0)
    assert count > 0 and (share != 0.0 or packed == count) and (share != 10.0 or packed == 0)


#: JSON values, with text that looks like the layout between two indented objects.
_JSON = st.recursive(
    st.none()
    | st.integers()
    | st.text(alphabet=st.sampled_from(list('{}[],: "\\\n\tab\u2028\u00e9')), max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=3), _JSON, min_size=1, max_size=4), max_size=6))
def test_objects_indented_together_are_each_its_element_of_the_array(
    objects: list[dict[str, Any]],
) -> None:
    """Objects indented together and cut apart are each the text an indented array of it
    alone holds (what `to_json` writes, before its escapes), however its strings mimic
    the layout between two."""
    import msgspec

    def elements(values: list[Any]) -> bytes:
        return msgspec.json.format(msgspec.json.encode(values), indent=2)[2:-2]  # "[\n" "\n]"

    got = cache._indented([msgspec.json.encode(o) for o in objects])
    assert got == [elements([o]) for o in objects]
    assert b",\n".join(got) == elements(objects)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x05\x00",
        (1 << 31).to_bytes(4, "little") + b"\x00" * 60,
        b"\x40\x00\x00\x00" + b"\xff" * 8,
    ],
    ids=["empty", "no size", "a size no block inflates to", "garbage"],
)
@pytest.mark.parametrize("codec", ["lz4", "deflate"])
def test_a_record_block_that_does_not_decompress_is_stale(
    body: bytes, codec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block of records that LZ4 cannot inflate, or whose head names a size it could
    not inflate to (which is never tried), is Stale; a block `_pack` wrote is not. The
    same with deflate, where LZ4 is not installed."""
    monkeypatch.setattr(cache, "_CODECS", [codec])
    zdict = b"common words " * 10
    raws = [b"common words, one", b"and two"]
    assert [bytes(r) for r in cache._unpack(cache._pack(raws, zdict), zdict)] == raws
    with pytest.raises(cache.Stale):
        cache._block(body, zdict)
    with pytest.raises(cache.Stale):
        cache._inflated_to(body, zlib.crc32(body), zdict, 0)


def test_without_lz4_blocks_are_deflate_and_a_cache_of_the_other_is_rebuilt(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where LZ4 is not installed, the blocks of records are deflated; the cache answers
    the same, whole, in part and for a search. A cache made by the other is rebuilt
    (its blocks would not inflate here), and answers the same."""
    cold = loading.load_dataset(dataset)
    monkeypatch.setattr(cache, "_CODECS", ["deflate"])
    monkeypatch.setattr(cache, "_BLOCK_BYTES", 600)  # many blocks, some read in part
    cache.validate_dataset(dataset)
    assert _meta(dataset)["blocks"] == "deflate"
    assert _served(dataset, monkeypatch) == cold
    assert _warm_search(dataset, "lupus") == [h.record.id for h in search(cold, "lupus")] != []
    _every_third_is_served(dataset, cold)
    monkeypatch.setattr(cache, "_CODECS", ["lz4"])
    assert cache.open_cache(dataset) is None  # made by deflate: not served here
    assert cache.open_dataset(dataset) == cold  # parsed, and the cache rebuilt
    assert _meta(dataset)["blocks"] == "lz4"
    assert _served(dataset, monkeypatch) == cold


def _every_third_is_served(dataset: Path, cold: Any) -> None:
    """The cache of `dataset` gives every third record as the file does, read sparsely
    (some blocks read only in part)."""
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        assert list(warm.rows("WHERE rowid % 3 = 1", (), sparse=True)) == [
            r for i, r in enumerate(cold.records(), 1) if i % 3 == 1
        ]
    finally:
        warm.close()


def _meta(dataset: Path) -> dict[str, str]:
    db = sqlite3.connect(cache_file(dataset))
    try:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()


def _served(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """The dataset as the cache gives it, with parsing forbidden (then allowed again)."""
    with monkeypatch.context() as m:
        _forbid_parsing(m, dataset)
        return cache.open_dataset(dataset)


@pytest.mark.parametrize("installed", [True, False])
def test_the_codec_is_lz4_only_where_it_is_installed(
    monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return real(name, package) if installed or name != "lz4" else None

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(cache, "_CODECS", [])
    assert cache._codec() == ("lz4" if installed else "deflate")
    monkeypatch.setattr(importlib.util, "find_spec", None)  # looked up once, then kept
    assert cache._codec() == ("lz4" if installed else "deflate")


def test_a_deflated_block_cut_short_or_with_more_after_it_is_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache, "_CODECS", ["deflate"])
    zdict = b"common words " * 10
    body = cache._pack([b"common words, one", b"and two"], zdict)
    whole = cache._inflated(body, zdict)
    with pytest.raises(cache.Stale):
        cache._inflated(body[:-2], zdict)
    # More after its end is Stale where the library says so (zlib, ISA-L from 1.9); ISA-L
    # before that inflates the block and says nothing of the rest: the block's own bytes,
    # whole, are what is read either way, never less and never more.
    try:
        assert cache._inflated(body + b"x", zdict) == whole
    except cache.Stale:
        pass


def test_with_lz4_the_timeline_is_compressed_at_any_size(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With LZ4, a large dataset's timeline is compressed too (LZ4 inflates it about as
    fast as SQLite reads it), and reads the same, whole and in part."""
    from immunofacts import query

    monkeypatch.setattr(cache, "_CODECS", ["lz4"])
    monkeypatch.setattr(cache, "PACKED_TIMELINE_BELOW", 0)  # as a large dataset's
    monkeypatch.setattr(cache, "TIMELINE_BLOCK", 3)
    ds = cache.validate_dataset(dataset)
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        count, packed = warm.db.execute("SELECT count(*), sum(packed) FROM timeline").fetchone()
        assert count > 1 and packed == count
        (data,) = warm.db.execute("SELECT data FROM timeline ORDER BY n LIMIT 1").fetchone()
        assert not data.startswith(b"  {")  # not the text as it is written
        assert list(warm.timeline()) == query.timeline(ds)
        assert list(warm.timeline(since="2020-06")) == query.timeline(ds, since="2020-06")
    finally:
        warm.close()


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE timeline SET first = NULL WHERE n = 0",
        "UPDATE timeline SET last = 'x' WHERE n = 1",
        "DELETE FROM timeline WHERE n = 1",
        "UPDATE timeline SET n = n + 100 WHERE n = 2",
        "INSERT INTO timeline SELECT n + 1000, first, last, final, packed, data, crc"
        " FROM timeline WHERE n = 0",
    ],
    ids=["null first", "text last", "row gone", "row renumbered", "row added"],
)
@pytest.mark.parametrize(("since", "until"), [(None, None), (None, "2020-12"), ("2020-06", None)])
def test_a_damaged_timeline_row_is_never_left_out(
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: str,
    since: str | None,
    until: str | None,
) -> None:
    """Which blocks a range reads is not left to a condition in SQL, which would pass
    over a block whose bounds are damaged: a timeline with a block's bounds damaged, or
    a block missing or added, is answered from the file, whatever the range."""
    from immunofacts import query

    monkeypatch.setattr(cache, "TIMELINE_BLOCK", 3)
    ds = cache.validate_dataset(dataset)
    _timeline_stale_after(dataset, damage, (), since=since, until=until)
    got = cache.answer(
        dataset,
        None,
        None,
        lambda c: list(c.timeline(since=since, until=until)),
        lambda d: query.timeline(d, since=since, until=until),
    )
    assert got == query.timeline(ds, since=since, until=until) != []


@pytest.mark.parametrize("kept", TIMELINE_KEEPING)
def test_a_timeline_block_must_inflate_to_elements_of_an_array(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, kept: str
) -> None:
    """A timeline block whose checksum agrees but whose text, inflated, does not end as
    the elements of an array of objects do (its last byte changed: with LZ4, the last
    byte of a block is the last of its text) is Stale, however it is kept."""
    timeline_kept(monkeypatch, kept)
    cache.validate_dataset(dataset)
    db = sqlite3.connect(cache_file(dataset))
    (data,) = db.execute("SELECT data FROM timeline ORDER BY n LIMIT 1").fetchone()
    if kept == "deflate":  # its own check would find a changed byte: made anew
        text = zlib.decompress(data)
        bad = zlib.compress(text[:-1] + b"]", 1)
    else:
        bad = data[:-1] + b"]"
    db.close()
    damage = "UPDATE timeline SET data = ?, crc = ? WHERE n = 0"
    _timeline_stale_after(dataset, damage, (bad, zlib.crc32(bad)))


def _timeline_stale_after(
    dataset: Path, damage: str, args: tuple[Any, ...], *, since: Any = None, until: Any = None
) -> None:
    """The cache of `dataset`, changed by the SQL `damage`, is Stale for its timeline in
    [since, until] as it is asked for (before anything is written)."""
    db = sqlite3.connect(cache_file(dataset))
    db.execute(damage, args)
    db.commit()
    db.close()
    agree(cache_file(dataset))
    warm = cache.open_cache(dataset)
    assert warm is not None
    try:
        with pytest.raises(cache.Stale):
            warm.timeline(since=since, until=until)
    finally:
        warm.close()


@pytest.mark.parametrize("codec", ["lz4", "deflate"])
def test_a_small_dataset_s_blocks_are_compressed_harder_and_read_the_same(
    dataset: Path, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    """Below HARD_PACKED_BELOW records, LZ4 compresses the blocks of records in its
    high-compression mode: smaller, read the same; deflate has one level either way."""
    monkeypatch.setattr(cache, "_CODECS", [codec])
    monkeypatch.setattr(cache, "_BLOCK_BYTES", 3000)  # many blocks
    cold = loading.load_dataset(dataset)
    sizes = []
    for below in (10**9, 0):
        monkeypatch.setattr(cache, "HARD_PACKED_BELOW", below)
        cache.validate_dataset(dataset)
        db = sqlite3.connect(cache_file(dataset))
        sizes.append(db.execute("SELECT sum(length(body)) FROM bodies").fetchone()[0])
        db.close()
        assert _served(dataset, monkeypatch) == cold
        _every_third_is_served(dataset, cold)
    hard, quick = sizes
    assert hard < quick if codec == "lz4" else hard == quick


@pytest.mark.parametrize(
    "damage",
    [
        ("UPDATE vocab SET df = -98 WHERE word = 'cell'", ()),
        ("UPDATE vocab SET df = 0 WHERE word = 'cell'", ()),
    ],
    ids=["negative", "zero"],
)
def test_a_word_count_no_record_can_have_is_damage(dataset: Path, damage: Any) -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    args = ["search", "cell", "-f", "json", "--data", str(dataset)]
    before = CliRunner().invoke(app, args)
    assert before.exit_code == 0, before.stderr
    _edit(dataset, damage)
    after = CliRunner().invoke(app, args)
    assert after.exit_code == 0 and after.stderr == "", after.stderr  # answered from the file
    assert after.stdout == before.stdout


@pytest.mark.parametrize("name", ["figures", "cases"])
@pytest.mark.parametrize(
    "damage",
    ["DELETE FROM lists WHERE name = ? AND n = 0", "UPDATE lists SET n = n + 5 WHERE name = ?"],
    ids=["lost", "misnumbered"],
)
def test_a_list_of_the_statistics_missing_a_block_is_damage(
    dataset: Path, name: str, damage: str
) -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    for fmt in ("json", "plain"):
        args = ["show-stats", "-f", fmt, "--data", str(dataset)]
        before = CliRunner().invoke(app, args)
        assert before.exit_code == 0, before.stderr
        _edit(dataset, (damage, (name,)))
        after = CliRunner().invoke(app, args)
        assert after.exit_code == 0 and after.stderr == "", after.stderr  # from the file
        assert after.stdout == before.stdout
        CliRunner().invoke(app, ["list-cases", "--data", str(dataset)])  # built again


def test_a_journal_left_beside_the_cache_goes_with_the_file_it_was_for(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A command killed while it recorded new stamps leaves the cache's rollback journal;
    # a read-only connection cannot roll it back, so the cache is built again: and the
    # journal, which is the old file's, must not stay beside the new one, or every
    # command after would build it again.
    cache.validate_dataset(dataset)
    cpath = cache_file(dataset)
    journal = Path(f"{cpath}-journal")
    journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + b"\x00" * 504)  # a journal's magic
    cache.validate_dataset(dataset)  # built again (the old one unreadable, or not)
    assert not journal.exists()
    calls = _count_parses(monkeypatch)
    assert cache.open_cache(dataset) is not None
    cache.open_dataset(dataset)
    assert calls == []


def test_only_the_caches_own_old_temporary_files_are_swept(dataset: Path) -> None:
    cache.validate_dataset(dataset)
    cpath = cache_file(dataset)
    folder = cpath.parent
    own = folder / f".{cpath.stem}.{'0123456789abcdef'}.tmp"  # a build killed long ago
    theirs = [folder / "notes.tmp", folder / ".draft.tmp", folder / f"{cpath.stem}.tmp"]
    for path in (own, *theirs):
        path.write_text("x")
        os.utime(path, (1, 1))
    young = folder / f".{cpath.stem}.{'fedcba9876543210'}.tmp"  # a build going on now
    young.write_text("x")
    dataset.write_text(dataset.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    cache.validate_dataset(dataset)  # a build, which sweeps
    assert not own.exists()
    assert young.exists()
    assert all(path.exists() for path in theirs)


def _answer_or_damage(args: list[str], dataset: Path) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    result = CliRunner().invoke(app, [*args, "--data", str(dataset)])
    return result.exit_code, result.stdout, result.stderr


DAMAGED = "immunofacts: error: the cache was damaged as it was read; run the command again\n"


@pytest.mark.parametrize(
    ("args", "damage"),
    [
        (
            ["export", "-f", "json"],
            ("UPDATE records SET is_case = 1 WHERE id = 'claim-noti-abdominal-fat-study'", ()),
        ),
        (
            ["list-claims", "-f", "json"],
            ("UPDATE records SET is_case = 1 WHERE id = 'claim-noti-abdominal-fat-study'", ()),
        ),
        (
            ["list-claims", "--kind", "background", "-f", "json"],
            (
                "UPDATE groups SET first = (SELECT first FROM groups WHERE grp = 'promotion'),"
                " last = (SELECT last FROM groups WHERE grp = 'promotion') WHERE grp = 'background'",
                (),
            ),
        ),
        (
            ["export", "-f", "yaml"],
            ("UPDATE records SET is_case = 0 WHERE id = 'case-uk-lymphoma-helen'", ()),
        ),
        (
            ["list-cases", "-f", "json"],
            ("UPDATE records SET is_case = 0 WHERE id = 'case-uk-lymphoma-helen'", ()),
        ),
    ],
    ids=[
        "export-claim-as-case",
        "list-claim-as-case",
        "kind-range",
        "export-case-as-claim",
        "list-case-as-claim",
    ],
)
def test_an_answer_the_statistics_count_is_never_short_of_a_record(
    dataset: Path, args: list[str], damage: tuple[str, tuple[object, ...]]
) -> None:
    # The rows that choose records carry no checksum: a damaged one would leave a record
    # out of every claim (or case, or claim of a kind) with no error. Such answers are
    # counted against the statistics: the right answer, or an error, never a short one.
    code, want, err = _answer_or_damage(args, dataset)
    assert code == 0, err
    _edit(dataset, damage)
    code, got, err = _answer_or_damage(args, dataset)
    assert (code, got, err) == (0, want, "") or (code == 1 and err == DAMAGED), (code, err)
