"""Datasets as the commands get them: parsed once, then served from a cache.

The cache is one SQLite file per dataset path in ``$XDG_CACHE_HOME/immunofacts``
(``~/.cache/immunofacts`` by default). It holds the validated dataset as
msgpack, each claim and case as its own row, and an FTS5 word index of the
text that search looks in, so a search reads only the records that can match.

It is keyed by the dataset's path, size and modification time (and those of the
source text it names); when they change, a content hash decides whether to
rebuild. A cache that is corrupt, truncated, or written by another version is
rebuilt silently. Two processes building at once each write a private
temporary file and rename it into place, so readers never see a half-built one.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import stat
import time
import zlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from . import __version__
from .model import Case, Claim, Dataset, Entity, Source

#: Bump when the cache layout changes; a cache of another format is rebuilt.
CACHE_FORMAT = f"4:{__version__}"
#: Files at least this large show a progress indicator while they load (on a terminal).
PROGRESS_BYTES = 4 * 1024 * 1024

Status = Callable[[str], AbstractContextManager[object]]


class _Stale(Exception):
    """The cache cannot answer: missing, out of date, corrupt or of another version."""


def default_data_path() -> Path:
    """The dataset shipped with the package, or the checkout's ``data/`` file."""
    from .paths import bundled_data_path

    return bundled_data_path()


def cache_dir() -> Path:
    """Where cache files live: ``$XDG_CACHE_HOME/immunofacts`` or ``~/.cache/immunofacts``."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "immunofacts"


def cache_path(path: Path) -> Path:
    """The cache file for a dataset path."""
    full = os.fsencode(os.path.abspath(path))
    key = f"{zlib.crc32(full):08x}{zlib.adler32(full):08x}"
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)[:40]
    return cache_dir() / f"{stem}-{key}.sqlite"


def _stamp(path: Path) -> str:
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise _Stale  # replaced by a directory or a FIFO: the loader reports it
    return f"{st.st_size}:{st.st_mtime_ns}"


def _digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _source_path(path: Path, ds_source: Source) -> Path | None:
    if ds_source.text is None:
        return None
    p = Path(ds_source.text)
    return p if p.is_absolute() else path.parent / p


# --- reading ------------------------------------------------------------------------


def _connect_ro(cpath: Path) -> sqlite3.Connection:
    if not cpath.is_file():
        raise _Stale
    try:
        return sqlite3.connect(f"file:{cpath}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise _Stale from e


def _meta(db: sqlite3.Connection) -> dict[str, Any]:
    rows = db.execute("SELECT key, value FROM meta").fetchall()
    return dict(rows)


def _check_fresh(db: sqlite3.Connection, path: Path) -> dict[str, str]:
    """The stamps to refresh if the cache answers for the file as it is now, else _Stale.

    A file whose size or mtime changed but whose content hash did not is still
    answered for; its new stamp is returned so the caller can record it.
    """
    meta = _meta(db)
    if meta.get("format") != CACHE_FORMAT or meta.get("path") != os.path.abspath(path):
        raise _Stale
    touched: dict[str, str] = {}
    for key in ("dataset", "source"):
        file = meta.get(f"{key}_path")
        if not file:
            continue
        try:
            stamp = _stamp(Path(file))
        except OSError as e:
            raise _Stale from e
        if stamp != meta.get(f"{key}_stamp"):
            try:
                same = _digest(Path(file)) == meta.get(f"{key}_hash")
            except OSError as e:
                raise _Stale from e
            if not same:
                raise _Stale
            touched[f"{key}_stamp"] = stamp
    return touched


def _touch(cpath: Path, stamps: dict[str, str]) -> None:
    """Record new stamps for files whose content did not change (best effort)."""
    if not stamps:
        return
    with contextlib.suppress(sqlite3.Error, OSError):
        db = sqlite3.connect(cpath, timeout=0.1)
        try:
            db.executemany(
                "UPDATE meta SET value = ? WHERE key = ?", [(v, k) for k, v in stamps.items()]
            )
            db.commit()
        finally:
            db.close()


def _blob(db: sqlite3.Connection, name: str) -> bytes:
    row = db.execute("SELECT data, crc FROM blobs WHERE name = ?", (name,)).fetchone()
    if row is None or zlib.crc32(row[0]) != row[1]:
        raise _Stale
    data: bytes = row[0]
    return data


T = TypeVar("T")


def _read(cpath: Path, path: Path, read: Callable[[sqlite3.Connection], T]) -> T:
    """Answer from the cache with `read`, if the cache is fresh; else raise _Stale."""
    db = _connect_ro(cpath)
    try:
        touched = _check_fresh(db, path)
        result = read(db)
    except (sqlite3.Error, msgspec.DecodeError) as e:
        raise _Stale from e
    finally:
        db.close()
    _touch(cpath, touched)
    return result


def _full(db: sqlite3.Connection) -> Dataset:
    ds = msgspec.msgpack.decode(_blob(db, "dataset"), type=Dataset)
    if ds.source_text is None and ds.source.text is not None:
        raise _Stale
    return ds


_TOKEN = re.compile(r"[A-Za-z0-9]+")


def fts_query(terms: Sequence[str]) -> str | None:
    """An FTS5 query that every record matching all `terms` satisfies, or None.

    Search matches a term at the start of a word, so each ASCII word inside a
    term must begin some indexed word: ``"cynk"* AND "001"*`` for ``CYNK-001``.
    The index only narrows the records; search itself then checks each one.
    Terms with non-ASCII letters are left to that check.
    """
    tokens = [tok.lower() for t in terms if t.isascii() for tok in _TOKEN.findall(t)]
    if not tokens:
        return None
    return " AND ".join(f'"{tok}"*' for tok in dict.fromkeys(tokens))


def _candidates(match: str) -> Callable[[sqlite3.Connection], Dataset]:
    """A reader of the records the index returns for `match`, with every entity."""

    def read(db: sqlite3.Connection) -> Dataset:
        head = msgspec.msgpack.decode(_blob(db, "head"), type=_Head)
        rows = db.execute(
            "SELECT r.is_case, r.body, r.crc FROM records r JOIN fts ON fts.rowid = r.rowid "
            "WHERE fts MATCH ? ORDER BY r.rowid",
            (match,),
        ).fetchall()
        claims: list[Claim] = []
        cases: list[Case] = []
        claim_decoder = msgspec.msgpack.Decoder(Claim)
        case_decoder = msgspec.msgpack.Decoder(Case)
        for is_case, body, crc in rows:
            if zlib.crc32(body) != crc:
                raise _Stale
            if is_case:
                cases.append(case_decoder.decode(body))
            else:
                claims.append(claim_decoder.decode(body))
        return Dataset(
            schema=head.schema,
            source=head.source,
            entities=head.entities,
            claims=tuple(claims),
            cases=tuple(cases),
        )

    return read


class _Head(msgspec.Struct, frozen=True):
    schema: int
    source: Source
    entities: tuple[Entity, ...]


# --- writing --------------------------------------------------------------------------


def _write_cache(path: Path, ds: Dataset) -> None:
    """Build the cache for `ds` in a private file, then rename it into place."""
    import tempfile

    from .query import searchable_fields

    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    _sweep(directory)
    cpath = cache_path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{cpath.stem}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        try:
            db.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
                "CREATE TABLE blobs (name TEXT PRIMARY KEY, data BLOB, crc INTEGER);"
                "CREATE TABLE records (rowid INTEGER PRIMARY KEY, is_case INTEGER, body BLOB,"
                " crc INTEGER);"
                "CREATE VIRTUAL TABLE fts USING fts5(text, tokenize='unicode61', content='',"
                " detail='none');"
            )
            meta = {"format": CACHE_FORMAT, "path": os.path.abspath(path)}
            files = [("dataset", path)]
            src = _source_path(path, ds.source)
            if src is not None:
                files.append(("source", src))
            for key, file in files:
                meta[f"{key}_path"] = os.path.abspath(file)
                meta[f"{key}_stamp"] = _stamp(file)
                meta[f"{key}_hash"] = _digest(file)
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            head = _Head(schema=ds.schema, source=ds.source, entities=ds.entities)
            for name, obj in (("dataset", ds), ("head", head)):
                data = msgspec.msgpack.encode(obj)
                db.execute("INSERT INTO blobs VALUES (?, ?, ?)", (name, data, zlib.crc32(data)))
            entities = ds.entity_map()
            encoder = msgspec.msgpack.Encoder()
            records = []
            texts = []
            for i, rec in enumerate(ds.records(), start=1):
                body = encoder.encode(rec)
                records.append((i, int(isinstance(rec, Case)), body, zlib.crc32(body)))
                texts.append((i, "\n".join(t for _, t in searchable_fields(rec, entities))))
            db.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", records)
            db.executemany("INSERT INTO fts (rowid, text) VALUES (?, ?)", texts)
            db.commit()
        finally:
            db.close()
        os.replace(tmp, cpath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sweep(directory: Path, max_age: float = 3600.0) -> None:
    """Remove temporary files left by builds that were killed."""
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if entry.name.endswith(".tmp") and now - entry.stat().st_mtime > max_age:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _parse_and_cache(path: Path, label: str | None, status: Status | None) -> Dataset:
    """Parse the file itself, then refresh its cache (a cache that cannot be written is skipped)."""
    from .loading import load_dataset

    big = status is not None and _size(path) >= PROGRESS_BYTES
    with status(f"Loading {label or path}") if big and status else contextlib.nullcontext():
        ds = load_dataset(path, label=label)
        with contextlib.suppress(OSError, sqlite3.Error, _Stale):
            _write_cache(path, ds)
    return ds


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# --- the API the commands use ------------------------------------------------------------------


def open_dataset(path: Path, label: str | None = None, *, status: Status | None = None) -> Dataset:
    """The dataset at `path`, validated: from the cache when it is fresh, else parsed."""
    try:
        return _read(cache_path(path), path, _full)
    except _Stale:
        return _parse_and_cache(path, label, status)


def search_dataset(
    path: Path, terms: Sequence[str], label: str | None = None, *, status: Status | None = None
) -> Dataset:
    """A dataset holding at least every record that could match all `terms`.

    With a fresh cache and indexable terms, only the records the word index
    returns are read; otherwise the whole dataset.
    """
    match = fts_query(terms)
    if match is None:
        return open_dataset(path, label, status=status)
    try:
        return _read(cache_path(path), path, _candidates(match))
    except _Stale:
        return _parse_and_cache(path, label, status)


def validate_dataset(
    path: Path, label: str | None = None, *, status: Status | None = None
) -> Dataset:
    """Parse and validate the file itself, whatever the cache holds, and refresh the cache."""
    return _parse_and_cache(path, label, status)
