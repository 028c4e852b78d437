"""Datasets as the commands get them: parsed once, then served from a cache.

This is the only module that knows SQLite. The cache is one file per dataset
path in ``$XDG_CACHE_HOME/immunofacts`` (``~/.cache/immunofacts`` by default),
a directory only its owner may enter. It holds each claim and case as its own
row, the dataset's head (source, entities, the source text), and a word index
of the text that search looks in: the words of `tokens.words`, the same
function that splits a query, stored so that SQLite cannot split them again
another way.

The cache is keyed by content: it records a hash of the very bytes that were
parsed (and of the source text read with them). A file's device, inode, size,
modification and change times are a cheap first check; when any differ, the
file is hashed again, and only the same content is answered for. A cache that
is corrupt, truncated, of another version, not owned by the user, or writable
by others is ignored and rebuilt; so is one changed through SQLite since it was
written, whose file change counter is no longer the one it recorded (`_counter`).
Two processes building at once each write a private temporary file and rename it
into place, so readers never see a half-built one. With nowhere to keep a cache,
every command parses the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import sqlite3
import stat
import struct
import time
import zlib
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from . import __version__
from .jsontext import ELEMENT_GAP, Encoded, Spread, elements
from .model import Case, Claim, Dataset, Entity, Figure, Source
from .tokens import WordStats

if TYPE_CHECKING:
    import zlib as _z
else:
    try:
        # ISA-L's deflate: the same format, written and read about twice as fast (the
        # `fast` extra). A cache written with either is read by the other.
        from isal import isal_zlib as _z
    except ImportError:
        import zlib as _z

#: What a damaged block raises, with either library.
_INFLATE_ERRORS = (zlib.error, _z.error)


def _numbers(row: Sequence[object]) -> bool:
    """Whether every cell of a row read from the cache is a whole number, as written."""
    return all(type(v) is int for v in row)


def _intact(data: object, crc: object) -> bool:
    """Whether a stored block is bytes with the checksum stored beside it: a cell of
    another type (NULL, text, a number) is damage too, not an error of the checksum."""
    return type(data) is bytes and type(crc) is int and _z.crc32(data) == crc


#: Bump when the cache layout changes, or what a load accepts (a cache holds only what
#: the loader passed, and is not checked again); a cache of another format is rebuilt.
CACHE_FORMAT = f"35:{__version__}"
#: Files at least this large show a progress indicator while they load (on a terminal).
PROGRESS_BYTES = 4 * 1024 * 1024
#: Shell completion loads a dataset that has no fresh cache only when its file is smaller
#: than this (some 3,000 claims, loaded and cached in about a third of a second); for a
#: larger one it offers nothing, until a command has loaded it, rather than keep TAB
#: waiting for seconds. For the same reason, when a file's stamp changed, completion
#: reads it to compare its content with the cache's only when it is this small.
COMPLETION_LOAD_BYTES = 1024 * 1024

Status = Callable[[str], AbstractContextManager[object]]
T = TypeVar("T")


#: A record's bytes as read from a block (a slice of it, or a copy).
_Raw = Any


def _lasting(meta: Mapping[str, str]) -> dict[str, str]:
    """What a cache's `meta` says that stays as long as the cache: all but the stamps
    (and the change counter that goes with them, see `_counter`)."""
    return {k: v for k, v in meta.items() if not k.endswith("_stamp") and k != "counter"}


#: What a cache file starts with: SQLite's header, as `_counter` reads it.
_HEADER = b"SQLite format 3\0"


def _counter(cpath: Path) -> int | None:
    """The file change counter in the header of the SQLite file `cpath` (None if it has
    none to go by: not a database, or one in WAL mode, whose writes do not count).

    SQLite adds one to it with every write transaction in the rollback-journal modes a
    cache is written in (whatever journal mode or locking mode the writer chose): a cache
    records, in its last write, the value the counter has after it (key "counter" of
    `meta`), so that a change made to it since, through SQLite, whatever table it
    touched, shows as a counter that no longer agrees. Reading the first 100 bytes of
    the file costs next to nothing. The file must be read while this process holds no
    lock on it through SQLite: closing another descriptor of a file lets go of the
    process's POSIX locks on it."""
    try:
        fd = os.open(cpath, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        head = os.read(fd, 100)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(head) < 100 or not head.startswith(_HEADER) or head[18:20] != b"\x01\x01":
        return None
    return int.from_bytes(head[24:28], "big")


def _counted(cpath: Path, meta: Mapping[str, str]) -> None:
    """Stale unless the cache file's change counter is the one its last write recorded:
    it was changed since (or is in WAL mode, which does not count changes)."""
    found = _counter(cpath)
    if found is None or meta.get("counter") != str(found):
        raise Stale


class Stale(Exception):
    """The cache cannot answer: missing, out of date, corrupt, unsafe or of another version."""


# --- where, and whether it is safe ----------------------------------------------------------


def cache_dir() -> Path | None:
    """Where cache files live: ``$XDG_CACHE_HOME/immunofacts`` or ``$HOME/.cache/immunofacts``;
    None when neither names an absolute directory (then nothing is cached)."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if os.path.isabs(base):
        return Path(base) / "immunofacts"
    home = os.environ.get("HOME") or ""
    if not os.path.isabs(home) or home == "/":
        return None
    return Path(home) / ".cache" / "immunofacts"


def cache_path(path: Path) -> Path | None:
    """The cache file for a dataset path (None when there is nowhere to keep one)."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        full = os.fsencode(_named(path))
    except Stale:
        return None
    key = hashlib.sha256(full).hexdigest()[:16]
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)[:40]
    return directory / f"{stem}-{key}.sqlite"


def _owned(st: os.stat_result) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or st.st_uid == getuid()


def _private_dir(directory: Path, *, create: bool) -> bool:
    """Whether `directory` is a directory of ours that no one else may write to or enter.

    With `create`, make it (mode 0700), and tighten the mode of one of ours.
    """
    if create:
        with contextlib.suppress(OSError):
            directory.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            directory.mkdir(mode=0o700)
    try:
        st = os.lstat(directory)
        if not stat.S_ISDIR(st.st_mode) or not _owned(st):
            return False
        if st.st_mode & 0o077:
            if not create:
                return False
            os.chmod(directory, 0o700)
    except OSError:
        return False
    return True


def _safe_file(cpath: Path) -> bool:
    """Whether a cache file may be trusted: a regular file of ours, written by no one else,
    in a private directory of ours."""
    try:
        st = os.lstat(cpath)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or not _owned(st) or st.st_mode & 0o022:
        return False
    return _private_dir(cpath.parent, create=False)


# --- stamps and content hashes ------------------------------------------------------------


def _stamp(st: os.stat_result) -> str:
    """The cheap check: the same file, untouched since (any write changes ctime)."""
    if not stat.S_ISREG(st.st_mode):
        raise Stale  # replaced by a directory or a FIFO: the loader reports it
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _source_digest(path: Path) -> str:
    """The hash of a source text file as the loader reads it (decoded text)."""
    from .loading import read_text

    return _text_digest(read_text(path))


def _named(path: Path) -> str:
    """The dataset file `path` names (`paths.as_found`): the file read, whose directory
    its source text is found from, so one name means one cache. Stale where it cannot be
    found (a relative path, and the working directory gone)."""
    from .paths import as_found

    try:
        return as_found(path)
    except (OSError, ValueError) as e:
        raise Stale from e


def _kept_path(path: str) -> str:
    """An absolute path as the cache keeps it, in text SQLite takes: as it is, or, if its
    bytes are not UTF-8 (a name Python reads with lone surrogates, which UTF-8 cannot
    carry), ``hex:`` and its bytes in hexadecimal (no absolute path starts so)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "hex:" + os.fsencode(path).hex()
    return path


def _path_kept(kept: str) -> str:
    """The path `_kept_path` kept."""
    return os.fsdecode(bytes.fromhex(kept[4:])) if kept.startswith("hex:") else kept


def _source_path(path: Path, ds_source: Source) -> Path | None:
    """Where the source text of the dataset at `path` is read from, as the loader finds
    it (an absolute path, whose links the system follows when it is opened)."""
    from .paths import text_place

    if ds_source.text is None:
        return None
    return text_place(ds_source.text, path.parent)[0]


# --- reading ------------------------------------------------------------------------


class _Head(msgspec.Struct, frozen=True):
    schema: int
    source: Source
    entities: tuple[Entity, ...]


class _Id(msgspec.Struct, frozen=True):
    id: str


class _HeadIds(msgspec.Struct, frozen=True):
    """The head, read for the ids of its entities only."""

    entities: tuple[_Id, ...]


#: The condition on `records` of the ids in a range (see `_id_range`) of either kind, read
#: off the index of ids by kind, (is_case, id).
_ID_RANGE = "(is_case IN (0, 1) AND id >= ? AND id < ?)"


def _id_range(prefix: str) -> tuple[str, str]:
    """The range [low, high) of the strings that start with `prefix`: ids are ASCII
    (`model.Id`), and none holds U+10FFFF."""
    return prefix, prefix + "\U0010ffff"


class _Figure(msgspec.Struct, frozen=True, array_like=True):
    """A headline figure as kept in the cache: with how its claim is backed."""

    claim_id: str
    figure: Figure
    backing: tuple[str, str, str]  # (evidence, verdict, rating)


class Cache:
    """An open cache that answers for the dataset file as it is now."""

    def __init__(
        self, db: sqlite3.Connection, meta: dict[str, str], file: Path | None = None
    ) -> None:
        self.db = db
        self.meta = meta
        #: The cache's own file (to open it again in another process).
        self.file = file
        self._head: _Head | None = None
        self._zdict: bytes | None = None
        self._claim = msgspec.json.Decoder(Claim)
        self._case = msgspec.msgpack.Decoder(Case)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def _blob(self, name: str) -> bytes:
        row = self.db.execute("SELECT data, crc FROM blobs WHERE name = ?", (name,)).fetchone()
        if row is None or not _intact(row[0], row[1]):
            raise Stale
        try:
            return _z.decompress(row[0])
        except _INFLATE_ERRORS as e:
            raise Stale from e

    def head(self) -> _Head:
        """Schema, source, entities and source text."""
        if self._head is None:
            self._head = msgspec.msgpack.decode(self._blob("head"), type=_Head)
        return self._head

    def _body(self, n: int) -> bytes:
        """The `n`th block of bodies, as stored (checked)."""
        row = self.db.execute("SELECT body, crc FROM bodies WHERE n = ?", (n,)).fetchone()
        if row is None or not _intact(row[0], row[1]):
            raise Stale
        body: bytes = row[0]
        return body

    def reopened(self) -> Cache:
        """The same cache by a connection of its own (as a forked child must: it may not
        use this one's); Stale if its file is another cache now."""
        if self.file is None or not _safe_file(self.file):
            raise Stale
        try:
            db = _read_only(self.file)
        except sqlite3.Error as e:
            raise Stale from e
        try:
            meta: dict[str, str] = dict(db.execute("SELECT key, value FROM meta").fetchall())
            _counted(self.file, meta)
        except (sqlite3.Error, Stale) as e:
            db.close()
            raise Stale from e
        if _lasting(meta) != _lasting(self.meta):  # stamps are refreshed as files are touched
            db.close()
            raise Stale
        return Cache(db, meta, self.file)

    def _dictionary(self) -> bytes:
        """The dictionary the blocks of bodies are compressed with (read once)."""
        if self._zdict is None:
            self._zdict = self._blob("zdict")
        return self._zdict

    def _bodies(self, n: int) -> tuple[memoryview, int, tuple[int, ...]]:
        """The `n`th block of bodies, as `_block` gives it."""
        return _block(self._body(n), self._dictionary())

    def rows(
        self, where: str = "", args: Sequence[Any] = (), *, sparse: bool = False
    ) -> Iterator[Claim | Case]:
        """Records in dataset order, those matching an SQL condition on `records`,
        decoded one at a time as they are read (a block of bodies at a time). With
        `sparse` (few records of each block wanted, as a search's hits are), the blocks
        are read only for the records wanted (see `_sparse_at`)."""
        claim, case = self._claim.decode, self._case.decode
        for is_case, raw in self._raws(where, args, sparse=sparse):
            if is_case:
                yield case(raw)
            elif raw[:_CLAIM_HEAD] == _CLAIM_START:
                yield claim(b"{" + raw[_CLAIM_HEAD:])  # without the tag
            else:
                raise Stale

    def _raws(
        self, where: str, args: Sequence[Any], *, sparse: bool = False
    ) -> Iterator[tuple[int, _Raw]]:
        """`rows` as they are kept: whether each is a case, and its bytes (see `_fill`)."""
        sql = f"SELECT records.is_case, records.blk, records.pos FROM records {where}"
        sql += " ORDER BY records.rowid"
        if sparse:
            yield from self._sparse_raws(sql, args)
            return
        at, data, base = -1, memoryview(b""), 0
        ends: tuple[int, ...] = ()
        # The blocks of each group of records (see `_blocks`) are read in turn: the
        # blocks last used are kept, so that each is read once in a walk of them all.
        kept: dict[int, tuple[memoryview, int, tuple[int, ...]]] = {}
        for is_case, n, i in self.db.execute(sql, args):
            if n != at:
                at = n
                block = kept.pop(n, None)
                if block is None:
                    block = self._bodies(n)
                    if len(kept) >= _KEPT_BLOCKS:
                        del kept[next(iter(kept))]
                kept[n] = block
                data, base, ends = block
            if type(i) is not int or not 0 <= i < len(ends):
                raise Stale
            yield is_case, data[base + ends[i - 1] + _GAP if i else base : base + ends[i]]

    def _sparse_raws(self, sql: str, args: Sequence[Any]) -> Iterator[tuple[int, _Raw]]:
        """`_raws` with `sparse`: the records' places read first, then `_sparse_at`."""
        yield from self._sparse_at(self.db.execute(sql, args).fetchall())

    def _sparse_at(
        self, places: Sequence[tuple[int, int, int]], *, ahead: bool = True
    ) -> Iterator[tuple[int, _Raw]]:
        """Records by their places (is_case, block, position), as `_raws` gives them:
        their blocks read `_SPARSE_BATCH` at a time by one query each, in the order they
        are first needed, each inflated once (see `_inflated_to`); with `ahead`, by two
        threads ahead of this one (LZ4, zlib and ISA-L let go of Python's lock as they
        inflate)."""
        if not places:
            return
        last: dict[int, int] = {}  # each block's last record read, in order of first need
        done: dict[int, int] = {}  # where in `places` each block is read for the last time
        for at, (_, n, i) in enumerate(places):
            if type(i) is not int or i < 0:
                raise Stale
            if last.get(n, -1) < i:
                last[n] = i
            done[n] = at
        zdict = self._dictionary()
        order = list(last)

        def batches() -> Iterator[list[tuple[int, bytes, int, int]]]:
            for k in range(0, len(order), _SPARSE_BATCH):
                wanted = order[k : k + _SPARSE_BATCH]
                marks = ",".join("?" * len(wanted))
                sql = f"SELECT n, body, crc FROM bodies WHERE n IN ({marks})"
                got = {n: (body, crc) for n, body, crc in self.db.execute(sql, wanted)}
                if len(got) != len(wanted):
                    raise Stale
                yield [(n, *got[n], last[n]) for n in wanted]

        def inflate(batch: list[tuple[int, bytes, int, int]]) -> list[Any]:
            return [(n, _inflated_to(body, crc, zdict, i)) for n, body, crc, i in batch]

        blocks = _ahead(inflate, batches(), depth=2) if ahead else map(inflate, batches())
        live: dict[int, tuple[bytes, int, tuple[int, ...]]] = {}
        for at, (is_case, n, i) in enumerate(places):
            block = live.get(n)
            if block is None:
                for m, got in next(blocks):
                    live[m] = got
                block = live[n]  # blocks come in the order they are first needed
            data, base, ends = block
            yield is_case, data[base + ends[i - 1] + _GAP if i else base : base + ends[i]]
            if done[n] == at:
                del live[n]

    def _runs(self, where: str, args: Sequence[Any]) -> Iterator[_Run]:
        """The claims `_raws` gives, a few at a time."""
        run: list[_Raw] = []
        for is_case, raw in self._raws(where, args):
            if is_case:
                raise Stale
            run.append(raw)
            if len(run) >= _RUN:
                yield _Run(run)
                run = []
        if run:
            yield _Run(run)

    def _group(self, key: str) -> Iterator[_Run]:
        """Every record of a group of claims (see `_blocks`), a block at a time, each
        inflated as it is asked for. Not by other threads ahead of this one: LZ4
        inflates a block in the time it takes to hand it over, and on a busy machine
        threads that wait for Python's lock made it slower (one kind's JSON at 100k
        claims, read and written: 33 ms with two threads, 19 ms without)."""
        row = self.db.execute("SELECT first, last FROM groups WHERE grp = ?", (key,)).fetchone()
        if row is None:
            return
        if not _numbers(row):
            raise Stale
        zdict = self._dictionary()
        sql = "SELECT n, body, crc FROM bodies WHERE n BETWEEN ? AND ? ORDER BY n"
        at = row[0]
        crc32 = _z.crc32
        for n, body, crc in self.db.execute(sql, row):
            if n != at or type(body) is not bytes or crc32(body) != crc:  # see `_intact`
                raise Stale
            at += 1
            # each record's end read only if a record is (`_Run.raws`)
            yield _Run(None, _block(body, zdict, cut=False))
        if at != row[1] + 1:
            raise Stale

    def streamed(self, where: str = "", args: Sequence[Any] = ()) -> Iterator[Claim | Case]:
        """`rows`, the first read now: a damaged cache is found before anything is written
        (and the command answers from the file instead); a row found damaged later, with
        part of the output written, is an error."""
        rows = self.rows(where, args)
        return _streamed(next(rows, None), rows)

    def every_case(self) -> Iterator[Claim | Case]:
        """Every case, in dataset order, as many as the statistics count (see
        `_as_counted`); the first read now, as `streamed` reads it."""
        from .query import Stats

        rows = self.rows("WHERE is_case = 1")
        rows = _as_counted(rows, self._decoded("stats", Stats).counts.get("cases"))
        return _streamed(next(rows, None), rows)

    def records(self, where: str = "", args: Sequence[Any] = ()) -> list[Claim | Case]:
        """Records in dataset order, those matching an SQL condition on `records`."""
        return list(self.rows(where, args))

    def source_text(self) -> str | None:
        """The text of the source document, if the dataset names one."""
        text: str | None = msgspec.msgpack.decode(self._blob("source_text"), type=str | None)
        return text

    def partial(self, records: Iterable[Claim | Case] = ()) -> Dataset:
        """The dataset's head (source and entities) with only the records given."""
        head = self.head()
        recs = list(records)
        return Dataset(
            schema=head.schema,
            source=head.source,
            entities=head.entities,
            claims=tuple(r for r in recs if isinstance(r, Claim)),
            cases=tuple(r for r in recs if isinstance(r, Case)),
        )

    def dataset(self) -> Dataset:
        """The whole dataset."""
        full = self.partial(self.rows())
        return msgspec.structs.replace(full, source_text=self.source_text())

    def _decoded(self, name: str, type: Any) -> Any:
        return msgspec.msgpack.decode(self._blob(name), type=type)

    # --- what each command needs, read from the rows it needs -------------------------

    def cases(self) -> list[Case]:
        """Every case."""
        return [r for r in self.every_case() if isinstance(r, Case)]

    def _found(self, key: str, is_case: int, find: Callable[[Dataset, str], T]) -> T:
        """`find` (`query.find_claim` when `is_case` is 0, `query.find_case` when 1) asked
        of only the records `key` can name: the one whose id it is, in any case, when
        there is one of that kind (ids are lowercase, so that is one row); else those it
        names as a prefix, with or without `claim-`/`case-`. Failing that, it is asked
        of every record, which its suggestions are chosen from."""
        from .query import _match_id

        low = key.casefold().strip()
        found = self.records("WHERE id IN (?, ?) AND is_case = ?", (key, low, is_case))
        if found:
            return find(self.partial(found), key)
        if low:
            where: list[str] = []
            args: list[Any] = []
            for prefix in ("", "claim-", "case-"):
                where.append(_ID_RANGE)
                args += _id_range(prefix + low)
            found = self.records("WHERE " + " OR ".join(where), args)
            # What `find` picks from, or names in its error, is among these: unless it
            # finds none of them and suggests ids from all.
            kinds = ("case", "claim") if is_case else ("claim", "case")
            mine = [r for r in found if isinstance(r, Case) == bool(is_case)]
            theirs = [r for r in found if isinstance(r, Case) != bool(is_case)]
            if _match_id(key, mine, ("", f"{kinds[0]}-")) or (
                len(_match_id(key, theirs, ("", f"{kinds[1]}-"))) == 1
            ):
                return find(self.partial(found), key)
        return find(self.partial(self.rows()), key)

    def find_claim(self, key: str) -> Claim:
        """`query.find_claim`, reading only the rows the key can name."""
        from .query import find_claim

        return self._found(key, 0, find_claim)

    def find_case(self, key: str) -> Case:
        """`query.find_case`, reading only the rows the key can name."""
        from .query import find_case

        return self._found(key, 1, find_case)

    def completion_ids(self, kind: str, prefix: str, limit: int) -> list[str]:
        """`query.completion_ids`, read off the index of ids: at most `limit + 1` ids of
        each kind asked for, and the last, whatever the size of the dataset."""
        from .query import capped_ids

        if limit < 2:
            raise ValueError("a completion limit must be at least 2")
        if kind == "entity":
            head = msgspec.msgpack.decode(self._blob("head"), type=_HeadIds)
            return capped_ids([e.id for e in head.entities if e.id.startswith(prefix)], limit)
        kinds = {"claim": (0,), "case": (1,), "record": (0, 1)}[kind]
        low, high = _id_range(prefix)
        first: list[tuple[int, str]] = []
        for is_case in kinds:
            first += self.db.execute(
                "SELECT rowid, id FROM records WHERE is_case = ? AND id >= ? AND id < ?"
                " ORDER BY id LIMIT ?",
                (is_case, low, high, limit + 1),
            ).fetchall()
        if len(first) <= limit:  # every id that matches: in dataset order
            return [rid for _, rid in sorted(first)]
        last = max(
            row[0]
            for is_case in kinds
            for row in self.db.execute(
                "SELECT max(id) FROM records WHERE is_case = ? AND id >= ? AND id < ?",
                (is_case, low, high),
            )
            if row[0] is not None
        )
        return [*sorted(rid for _, rid in first)[: limit - 1], last]

    def claims(
        self,
        *,
        entity: str | Collection[str] | None = None,
        year: int | Collection[int] | None = None,
        **labels: Any,
    ) -> ClaimRows:
        """`query.filter_claims`, read one row at a time: the rows are chosen in SQL, on
        the very labels, year and entities that `query.claim_test` checks."""
        from . import query

        names = sorted({entity} if isinstance(entity, str) else set(entity or ()))
        # The head (source and entities) is decoded only to look entities up: 13 ms at
        # 1,000,000 claims, for the check alone. (A label filter of another name is
        # refused by SQLite: the file, answering instead, refuses it as the check does.)
        head = self.partial() if any(names) else None
        if head is not None:
            query.claim_test(head, entity=entity, year=year, **labels)  # refuses what it would
        # Not by the index of ids, which starts with is_case: the claims it gives would
        # then be sorted back into dataset order (twice the time of a walk of the table).
        where, args = _label_where(labels, self._label_codes())
        where.insert(0, "+is_case = 0")
        years = None if year is None else [year] if isinstance(year, int) else list(year)
        if years:
            where.append(f"year IN ({', '.join('?' * len(years))})")
            args += years
        ids = sorted({query.find_entity(head, e).id for e in names if e}) if head else []
        if ids:
            where.append(
                "records.rowid IN"
                f" (SELECT rec FROM names WHERE entity IN ({', '.join('?' * len(ids))}))"
            )
            args += [self._entity_code(i) for i in ids]
        # Every claim, or every claim of one kind: as many as the statistics (checked
        # themselves) count, or the rows that chose them were damaged (see `_as_counted`).
        if where[1:] == ["l_kind IN (?)"]:
            # Every claim of one kind: the blocks of its group, each read whole.
            (kind,) = _wanted(labels["kind"])
            st = self._decoded("stats", query.Stats)
            return ClaimRows(self, _as_counted(self._group(kind), st.by_kind.get(kind, 0)))
        runs = self._runs("WHERE " + " AND ".join(where), args)
        if where == ["+is_case = 0"]:
            runs = _as_counted(runs, self._decoded("stats", query.Stats).counts.get("claims"))
        return ClaimRows(self, runs)

    def found(self, where: str, args: Sequence[Any]) -> Iterator[FoundClaim | Case]:
        """`rows` with `sparse`, each claim read as a `FoundClaim`."""
        return self.found_at(self.places(where, args))

    def places(self, where: str, args: Sequence[Any]) -> list[tuple[int, int, int]]:
        """Where the records matching an SQL condition on `records` are kept (is_case,
        block, position), in dataset order: for `found_at`."""
        sql = "SELECT records.is_case, records.blk, records.pos FROM records"
        return self.db.execute(f"{sql} {where} ORDER BY records.rowid", args).fetchall()

    def found_at(
        self, places: Sequence[tuple[int, int, int]], *, ahead: bool = True
    ) -> Iterator[FoundClaim | Case]:
        """`found` of the records at `places` (see `_sparse_at` for `ahead`)."""
        found, case = _FOUND.decode, self._case.decode
        for is_case, raw in self._sparse_at(places, ahead=ahead):
            if is_case:
                yield case(raw)
            elif raw[:_CLAIM_HEAD] == _CLAIM_START:
                # a copy: what the claim keeps of it (its review) keeps the block otherwise
                yield found(bytes(raw))
            else:
                raise Stale

    def naming(self, entity_id: str) -> list[Claim | Case]:
        """`query.records_naming`: every claim and case that names an entity."""
        from . import query

        rows = self.rows(
            "WHERE records.rowid IN (SELECT rec FROM names WHERE entity = ?)",
            (self._entity_code(entity_id),),
        )
        return query.records_naming(self.partial(rows), entity_id)

    def _label_codes(self) -> dict[str, dict[str, int]]:
        """The code of each label in its column of `records`, by filter name (see `_fill`)."""
        try:
            codes: dict[str, dict[str, int]] = msgspec.json.decode(
                self.meta["labels"], type=dict[str, dict[str, int]]
            )
        except (KeyError, msgspec.DecodeError) as e:
            raise Stale from e
        return codes

    def _entity_code(self, entity_id: str) -> int:
        """How the table `names` keeps an entity: its place in the head (-1, which no
        entity has, for an id the head has not)."""
        places = {e.id: i for i, e in enumerate(self.head().entities)}
        return places.get(entity_id, -1)

    def stats(self, first: int | None = None) -> Any:
        """`query.stats` of the whole dataset, computed when the cache was built; with
        `first`, only the first so many figures and cases are read, and the others
        counted (`more_figures`, `more_cases`)."""
        from .query import CaseOutcome, HeadlineFigure, Stats

        st = self._decoded("stats", Stats)  # with every figure and case left out
        figures = self._list("figures", _Figure, first, st.more_figures)
        cases = self._list("cases", CaseOutcome, first, st.more_cases)
        return msgspec.structs.replace(
            st,
            figures=tuple(HeadlineFigure(f.claim_id, f.figure) for f in figures),
            backing={f.claim_id: f.backing for f in figures},
            cases=tuple(cases),
            more_figures=st.more_figures - len(figures),
            more_cases=st.more_cases - len(cases),
        )

    def _list(self, name: str, type: Any, first: int | None, total: object) -> list[Any]:
        """The first `first` items (all of them if None) of a list of `total` items kept
        in blocks; Stale unless its blocks are all there, numbered in order, and hold as
        many items as the statistics (checked themselves) count."""
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise Stale
        sql = "SELECT n, data, crc FROM lists WHERE name = ? ORDER BY n"
        decoder = msgspec.msgpack.Decoder(list[type])
        out: list[Any] = []
        for at, (n, data, crc) in enumerate(self.db.execute(sql, (name,))):
            if first is not None and len(out) >= first:
                break
            if n != at or not _intact(data, crc):
                raise Stale
            try:
                out += decoder.decode(_z.decompress(data))
            except _INFLATE_ERRORS as e:
                raise Stale from e
        if len(out) < (total if first is None else min(first, total)) or len(out) > total:
            raise Stale  # blocks lost (a damaged index), or more than were counted
        return out if first is None else out[:first]

    def timeline(self, *, since: str | None = None, until: str | None = None) -> TimelineBlocks:
        """`query.timeline`, from the events sorted when the cache was built, read a block
        at a time: only the blocks whose dates can fall within [since, until]. As with
        `claims`, the first block is read now."""
        return TimelineBlocks(self.db, since, until, self.meta.get("timeline_blocks"))

    def entity_counts(self) -> Any:
        """`query.entity_counts`, computed when the cache was built."""
        from .query import EntityCount

        return self._decoded("entity_counts", list[EntityCount])


def _wanted(values: Any) -> list[str]:
    """The labels a label filter is given (one, several, or None for none)."""
    return [str(v) for v in ([values] if isinstance(values, str) else values or ())]


def _label_where(
    labels: Mapping[str, Any], codes: Mapping[str, Mapping[str, int]]
) -> tuple[list[str], list[Any]]:
    """SQL conditions on `records` (and their arguments) that keep the records passing
    the label filters given, as `query.label_test` does: the table keeps each record's
    labels as the filters read them, each as its number in `codes` (see `_fill`)."""
    where: list[str] = []
    args: list[Any] = []
    for name, values in labels.items():
        wanted = _wanted(values)
        if wanted:
            where.append(f"l_{name} IN ({', '.join('?' * len(wanted))})")
            # A label no record has matches none (-1 is no label's number).
            args += [codes.get(name, {}).get(w, -1) for w in wanted]
    return where, args


class _FoundCorrection(msgspec.Struct, frozen=True, gc=False):
    article: str
    correct: str


class _FoundReference(msgspec.Struct, frozen=True, gc=False):
    title: str
    authors: tuple[str, ...] = ()


class _FoundDevelopment(msgspec.Struct, frozen=True, gc=False):
    description: str


class FoundReview(msgspec.Struct, frozen=True, gc=False):
    """What search reads of a review (see `tokens.search_fields`)."""

    note: str | None = None
    corrections: tuple[_FoundCorrection, ...] = ()
    references: tuple[_FoundReference, ...] = ()
    later: tuple[_FoundDevelopment, ...] = ()


_FOUND_REVIEW = msgspec.json.Decoder(FoundReview | None)


class FoundClaim(msgspec.Struct, frozen=True, gc=False):
    """A claim as a search written as JSON reads it from the cache: the fields it looks
    in and shows, and its review as the JSON the cache keeps, which the hit writes as it
    is. Decoded without the rest of the claim (about half the time of a `Claim`)."""

    id: str
    kind: str
    statement: str
    quote: str
    evidence: str
    entities: tuple[str, ...] = ()
    review_json: msgspec.Raw = msgspec.field(name="review", default=msgspec.Raw(b"null"))

    @property
    def review(self) -> FoundReview | None:
        """What search reads of the review (decoded each time it is asked for)."""
        review: FoundReview | None = _FOUND_REVIEW.decode(self.review_json)
        return review


_FOUND = msgspec.json.Decoder(FoundClaim)


def _as_counted(items: Iterator[T], count: object) -> Iterator[T]:
    """`items` (records, or runs of them), Stale at their end unless they hold `count`
    records. The rows that choose records carry no checksum (damage there, a byte of a
    label or of `is_case`, would leave a record out with no error): an answer that the
    statistics count, every claim, every case or every claim of one kind, is checked."""
    if not isinstance(count, int) or isinstance(count, bool):
        raise Stale
    seen = 0
    for item in items:
        seen += item.count() if isinstance(item, _Run) else 1
        if seen > count:
            raise Stale
        yield item
    if seen != count:
        raise Stale


class _Run:
    """Claims read together, in dataset order: some records of a block, or all of one."""

    __slots__ = ("_raws", "_block", "_indented")

    def __init__(
        self, raws: list[_Raw] | None, block: tuple[memoryview, int, tuple[int, ...]] | None = None
    ) -> None:
        self._raws = raws
        self._block = block
        self._indented: memoryview | None = None

    def count(self) -> int:
        """How many claims."""
        if self._raws is not None:
            return len(self._raws)
        assert self._block is not None
        return (self._block[1] - 4) // 4  # the block's head: the count, then each end

    def raws(self) -> list[_Raw]:
        """Each claim's bytes."""
        if self._raws is None:
            assert self._block is not None
            data, base, ends = self._block
            ends = ends or _ends(data)  # not read yet (see `Cache._group`)
            starts = (base, *(base + e + _GAP for e in ends[:-1]))
            self._raws = [data[a : base + b] for a, b in zip(starts, ends, strict=True)]
        return self._raws

    def indented(self) -> memoryview:
        """The claims as `to_json` of a list writes them between its brackets (see
        `jsontext.Elements`): each is kept as that text, and a block's records are
        kept separated as they are written (see `_pack`)."""
        if self._indented is None:
            if self._block is None:
                raws = self.raws()
                for raw in raws:
                    if raw[:_CLAIM_HEAD] != _CLAIM_START:
                        raise Stale
                self._indented = memoryview(_SEP.join(raws))
            else:
                data, base, _ = self._block
                text = data[base:]
                if text[:_CLAIM_HEAD] != _CLAIM_START or bytes(text[-4:]) != b"\n  }":
                    raise Stale
                self._indented = text
        return self._indented


class ClaimRows:
    """Claims chosen in SQL, in dataset order: decoded one at a time, or for JSON output,
    as the text they are written as, which the cache keeps (see `_claim_texts`).
    Iterated once, either way; the first is read when it is made, so that a damaged
    cache is found before anything is written (and the command answers from the file
    instead); a row found damaged later, with part of the output written, is an error."""

    def __init__(self, cache: Cache, runs: Iterator[_Run]) -> None:
        self._decode = cache._claim.decode
        self._runs = runs
        first = next(self._runs, None)
        if first is not None:
            self._claim(first.raws()[0])
            self._runs = itertools.chain((first,), self._runs)

    def _claim(self, raw: _Raw) -> Claim:
        if raw[:_CLAIM_HEAD] != _CLAIM_START:
            raise Stale
        claim: Claim = self._decode(b"{" + raw[_CLAIM_HEAD:])  # without the tag
        return claim

    def __iter__(self) -> Iterator[Claim]:
        claims = map(self._claim, itertools.chain.from_iterable(r.raws() for r in self._runs))
        return _streamed(next(claims, None), claims)

    def json_items(self) -> Iterator[Spread]:
        """The claims' text as `json_elements` takes it, a few hundred KB of it at a
        time (read when first asked for)."""
        items = self._pieces()
        yield from _streamed(next(items, None), items)

    def dataset_json(self) -> Iterator[Encoded]:
        """The claims' text as an export of the dataset writes them in its "claims"
        array (`render.export.dataset_json`): without their tag, each line indented by
        four spaces, a few hundred KB of it at a time (the first read now)."""
        items = self._pieces(untagged=True)
        return _streamed(next(items, None), items)

    def _pieces(self, *, untagged: bool = False) -> Iterator[Any]:  # Encoded | Spread
        """The claims indented, a few hundred KB at a time: `Encoded` if `untagged`, else
        a `Spread` of the blocks' texts (written where they lie, not copied together)."""
        parts: list[Any] = []
        size = 0
        for run in self._runs:
            text = run.indented()
            parts.append(text)
            size += len(text)
            if size >= _JSON_BYTES:
                yield _nested(parts) if untagged else Spread(parts)
                parts, size = [], 0
        if parts:
            yield _nested(parts) if untagged else Spread(parts)


def _nested(parts: list[Any]) -> Encoded:
    """Claims as kept (`_Run.indented`), as `to_json` writes them in an array that is a
    value of an object: without their tag, each line indented two spaces more. Only
    a tag is a line of that text at a claim's own level that names "type" (a claim
    has no such field), and a newline in it is only ever layout."""
    text = _SEP.join(parts).replace(_TAG_LINE, b"")
    return Encoded(b"  " + text.replace(b"\n", b"\n  "))


#: At most how many claims `Cache._runs` gives together.
_RUN = 64
#: About how many bytes of claims `ClaimRows.json_items` writes at a time.
_JSON_BYTES = 1 << 18


class TimelineBlocks:
    """The timeline's events within [since, until], from its blocks: as events, or for
    JSON output, with each block that lies wholly within the range as the text it is
    written as (the edges of the range are read event by event). Iterated once, either
    way; the first block is read when it is made, so that a damaged cache is found
    before anything is written."""

    def __init__(
        self, db: sqlite3.Connection, since: str | None, until: str | None, count: str | None
    ) -> None:
        from .query import date_bounds

        self.since, self.until = since, until
        self.lo = _day(date_bounds(since)[0]) if since else None
        self.hi = _day(date_bounds(until)[1]) if until else None
        # Which blocks can hold events in the range is found here, not by SQL: a
        # condition on a damaged cell (NULL, text) would leave its block out without a
        # word. Every block's bounds are read (a few thousand numbers at a million
        # claims) and checked: as many as were written, numbered without a gap.
        bounds = db.execute("SELECT n, first, last FROM timeline ORDER BY n").fetchall()
        if str(len(bounds)) != count or any(
            not _numbers(b) or b[0] != n for n, b in enumerate(bounds)
        ):
            raise Stale
        # The blocks are in order of their first event's first day, so those that can
        # hold an event in the range are one run of them (see `_timeline_rows`).
        wanted = [
            n
            for n, first, last in bounds
            if (self.lo is None or last >= self.lo) and (self.hi is None or first <= self.hi)
        ]
        self._blocks: Iterator[tuple[bool, bytes]] = iter(())
        if wanted:
            sql = "SELECT n, first, final, packed, data, crc FROM timeline"
            sql += " WHERE n BETWEEN ? AND ? ORDER BY n"
            rows = db.execute(sql, (wanted[0], wanted[-1]))
            self._blocks = self._read(rows, wanted[0], wanted[-1])
        first = next(self._blocks, None)
        self._blocks = itertools.chain((first,) if first else (), self._blocks)

    def _read(self, rows: Iterator[Any], start: int, end: int) -> Iterator[tuple[bool, bytes]]:
        """Each block from number `start` to `end`: whether it lies wholly within the
        range, and its text (inflated ahead by other threads if the blocks are deflated:
        LZ4 inflates one in less time than it takes to hand it over)."""
        lo, hi = self.lo, self.hi

        def numbered(rows: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
            at = start
            for n, *row in rows:
                if n != at:
                    raise Stale
                at += 1
                yield tuple(row)
            if at != end + 1:
                raise Stale

        blocks = numbered(rows)
        top = next(blocks, None)
        if top is None:
            raise Stale
        blocks = itertools.chain((top,), blocks)
        ahead = top[2] and _codec() == "deflate"
        for first, final, text in _ahead(_inflate, blocks) if ahead else map(_inflate, blocks):
            whole = (lo is None or first >= lo) and (hi is None or final <= hi)
            yield whole, text

    def _events(self, whole: bool, text: bytes) -> list[Any]:
        from .query import between

        events = _EVENTS.decode(b"[" + text + b"]")
        return events if whole else between(events, since=self.since, until=self.until)

    def __iter__(self) -> Iterator[Any]:
        for whole, text in self._blocks:
            yield from self._events(whole, text)

    def json_items(self) -> Iterator[Any]:
        """The events as `json_elements` takes them: a block wholly within the range as
        its text as it is written (a memoryview of it, which is not copied as `Encoded`
        would be: 115 MB for a million claims); the events of the others one by one."""
        for whole, text in self._blocks:
            if whole:
                yield memoryview(text)
            else:
                yield from self._events(whole, text)


def _inflate(row: tuple[int, int, int, bytes, int]) -> tuple[int, int, bytes]:
    """A row of `timeline` (first, final, packed, data, crc): its text, checked."""
    first, final, packed, data, crc = row
    if not _intact(data, crc) or not _numbers((first, final, packed)):
        raise Stale
    text = _unsqueezed(data) if packed else data
    if text[:3] != b"  {" or text[-1:] != b"}":  # elements of an array of objects
        raise Stale
    return first, final, text


def _ahead(
    work: Callable[[Any], T], items: Iterable[Any], depth: int = 4
) -> Generator[T, None, None]:
    """`work` of each item, in order, done up to `depth` items ahead by two threads: LZ4,
    zlib and ISA-L let go of Python's lock as they compress and inflate, so two blocks
    are worked on at once, while this thread goes on with the one before."""
    import queue
    import threading

    jobs: queue.SimpleQueue[tuple[Any, queue.SimpleQueue[Any]] | None] = queue.SimpleQueue()

    def run() -> None:
        while (job := jobs.get()) is not None:
            item, out = job
            try:
                out.put((True, work(item)))
            except BaseException as e:  # raised again in this thread
                out.put((False, e))

    threads: list[threading.Thread] = []
    with _stop_signals_blocked():  # a stop signal goes to the main thread, never waits
        for _ in range(2):
            t = threading.Thread(target=run, name="cache-ahead", daemon=True)
            try:
                t.start()
            except RuntimeError:  # no thread to be had (a limit on threads or memory)
                break
            threads.append(t)
    if not threads:  # all the work in this thread, in order
        yield from map(work, items)
        return
    pending: list[queue.SimpleQueue[Any]] = []
    try:
        it = iter(items)
        for item in it:
            out: queue.SimpleQueue[Any] = queue.SimpleQueue()
            jobs.put((item, out))
            pending.append(out)
            if len(pending) > depth:
                ok, value = pending.pop(0).get()
                if not ok:
                    raise value
                yield value
        while pending:
            ok, value = pending.pop(0).get()
            if not ok:
                raise value
            yield value
    finally:
        for _ in threads:
            jobs.put(None)


class _LazyDecoder:
    """A JSON decoder of timeline blocks, made when first used."""

    def __init__(self) -> None:
        self._decoder: Any = None

    def decode(self, data: bytes) -> list[Any]:
        if self._decoder is None:
            from .query import TimelineEvent

            self._decoder = msgspec.json.Decoder(list[TimelineEvent])
        events: list[Any] = self._decoder.decode(data)
        return events


_EVENTS = _LazyDecoder()


def _streamed(first: T | None, rest: Iterator[T]) -> Iterator[T]:
    """`first` (read already, so that damage there is found before anything is written),
    then the rest. Damage found later goes up as it is: `answer` knows whether output
    has begun."""
    if first is None:
        return
    yield first
    yield from rest


class CachedIndex:
    """The search index of a cache (a `query.SearchIndex`). Records in `known` (by id,
    as parsed from the same file) are taken from there instead of decoded."""

    def __init__(
        self,
        cache: Cache,
        known: Mapping[str, Claim | Case] | None = None,
        *,
        found: Mapping[str, Any] | None = None,
    ) -> None:
        self.cache = cache
        self.known = known
        #: With label filters (`query.label_test`'s) here, the candidates are only the
        #: records passing them, chosen in SQL, and each claim is a `FoundClaim`: what a
        #: search written as JSON needs, read in about half the time.
        self.found = found

    def stats(self) -> WordStats:
        return msgspec.msgpack.decode(self.cache._blob("wordstats"), type=WordStats)

    def words_starting(self, prefix: str) -> Iterable[tuple[str, int]]:
        rows = self.cache.db.execute(
            "SELECT word, df FROM vocab WHERE word >= ? AND word < ? ORDER BY word",
            (prefix, prefix + "\U0010ffff"),
        ).fetchall()
        return [(w, n) for w, n in _word_counts(rows) if w.startswith(prefix)]

    def words_rooted(self, root: str) -> Iterable[tuple[str, int]]:
        rows = self.cache.db.execute(
            "SELECT word, df FROM vocab WHERE root = ? UNION SELECT word, df FROM vocab"
            " WHERE word = ? AND root IS NULL ORDER BY word",
            (root, root),
        ).fetchall()
        return _word_counts(rows)

    def word(self, word: str) -> int:
        row = self.cache.db.execute("SELECT df FROM vocab WHERE word = ?", (word,)).fetchone()
        if row is None:
            return 0
        if not _numbers(row) or row[0] < 1:  # a word of the index is held by a record
            raise Stale
        df: int = row[0]
        return df

    def candidates(
        self, needed: Sequence[tuple[str | None, frozenset[str]]]
    ) -> Iterator[Any]:  # a Claim or a Case; with `found`, a FoundClaim or a Case
        match = _match(needed)
        if match is None:
            return
        where = "WHERE records.rowid IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
        if self.found is not None or self.known is None:
            # the candidates' blocks are read once each: SQLite's page cache kept small
            self.cache.db.execute("PRAGMA cache_size = -256")
        if self.found is not None:
            yield from self.cache.found_at(self._found_places(match))
            return
        if self.known is None:
            yield from self.cache.rows(where, (match,), sparse=True)
            return
        sql = f"SELECT id FROM records {where} ORDER BY rowid"
        for (rid,) in self.cache.db.execute(sql, (match,)):
            rec = self.known.get(rid)
            if rec is None:
                raise Stale
            yield rec

    def _found_places(self, match: str) -> list[tuple[int, int, int]]:
        """The places of the candidates (see `Cache.places`), the labels of `found` kept."""
        assert self.found is not None
        labels, args = _label_where(self.found, self.cache._label_codes())
        where = "WHERE records.rowid IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
        return self.cache.places(" AND ".join([where, *labels]), (match, *args))

    def shared(
        self,
        needed: Sequence[tuple[str | None, frozenset[str]]],
        work: Callable[[Iterable[tuple[int, Any]]], list[tuple[float, int, bytes]]],
        at_least: int,
    ) -> list[tuple[float, int, bytes | memoryview]]:
        """`work` of the candidates, each numbered by its place in the dataset, as
        `candidates` gives them with `found`: what it makes of them, each (a score, a
        number, bytes), in no set order; the bytes may come back as a view.

        With at least `at_least` candidates, where a child can be forked (see
        `forked`), the work is shared: the candidates are cut into runs, and this
        process and a child (with a connection of its own) each take the next run
        not yet taken until none is left, so that neither waits for the other for
        long, however the machine shares its time between them. Whatever runs a
        child took and did not answer for (it failed, found damage, or took much
        longer than this process did, and was stopped), this process works on too:
        the same results, or Stale as found."""
        import time

        from . import forked

        assert self.found is not None
        match = _match(needed)
        if match is None:
            return []
        self.cache.db.execute("PRAGMA cache_size = -256")  # as `candidates`
        places = self._found_places(match)
        if len(places) < at_least or not forked.available():
            return [*work(enumerate(self.cache.found_at(places)))]
        run = max(_SHARED_RUN, -(-len(places) // _RUNS))
        starts = range(0, len(places), run)

        def done(cache: Cache, taken: Iterable[int]) -> list[tuple[float, int, bytes]]:
            out: list[tuple[float, int, bytes]] = []
            for k in taken:
                out += work(enumerate(cache.found_at(places[k : k + run], ahead=False), k))
            return out

        # Each run's start, 4 bytes, in a pipe: a read of 4 bytes takes one run, which
        # no other read then gets. All are written before the fork, and the pipe is
        # closed for writing: a read finds its end once every run is taken. At most
        # `_RUNS` of them: 4 KB, what a pipe holds at the least (a user over the
        # system's share of pipe memory gets pipes of one page); and written without
        # waiting, so that a pipe that holds less all the same means no sharing.
        heads = b"".join(k.to_bytes(4, "little") for k in starts)
        runs, writing = os.pipe()
        try:
            os.set_blocking(writing, False)
            written = os.write(writing, heads)
        except OSError:
            written = -1
        finally:
            os.close(writing)
        if written != len(heads):
            os.close(runs)
            return [*work(enumerate(self.cache.found_at(places)))]

        def taking() -> Iterator[int]:
            while len(got := os.read(runs, 4)) == 4:
                yield int.from_bytes(got, "little")

        def job(put: Callable[[bytes], None]) -> None:
            other = self.cache.reopened()
            other.db.execute("PRAGMA cache_size = -256")
            made: list[tuple[float, int, int]] = []
            for k in taking():  # each run's bytes sent as soon as they are made
                for score, order, b in done(other, (k,)):
                    put(b)
                    made.append((score, order, len(b)))
            put(_framed(made))

        mine: list[tuple[float, int, bytes | memoryview]] = []
        taken: set[int] = set()
        try:
            with forked.Forked(job) as child:
                began = time.monotonic()
                for k in taking():
                    taken.add(k)
                    mine += done(self.cache, (k,))
                answer = child.answer(1.0 + 4 * (time.monotonic() - began))
        finally:
            os.close(runs)
        if answer is not None:
            try:
                theirs = _unframed(answer, len(places))
                if not any(order // run * run in taken for _, order, _ in theirs):
                    return [*mine, *theirs]
            except (struct.error, ValueError):
                pass
        return [*mine, *done(self.cache, [k for k in starts if k not in taken])]

    def names(self) -> dict[str, str]:
        # kept apart from the entities (at a million claims, ten thousand of them): a
        # search reads only these
        names: dict[str, str] = msgspec.msgpack.decode(
            self.cache._blob("names"), type=dict[str, str]
        )
        return names

    def vocabulary(self) -> Iterable[str]:
        return [w for (w,) in self.cache.db.execute("SELECT word FROM vocab ORDER BY word")]


def _framed(made: list[tuple[float, int, int]]) -> bytes:
    """What `CachedIndex.shared` sends after the bytes of the work of a child, for each
    result (score, number, length of its bytes): their scores, their numbers and their
    lengths, then how many."""
    n = len(made)
    return struct.pack(
        f"<{n}d{n}Q{n}QQ",
        *[s for s, _, _ in made],
        *[order for _, order, _ in made],
        *[size for _, _, size in made],
        n,
    )


def _unframed(data: memoryview, n: int) -> list[tuple[float, int, memoryview]]:
    """A child's work read back from what it sent (its bytes as views of `data`), see
    `_framed`; ValueError (or struct.error) if it is not that of candidates numbered
    below `n`, in order."""
    (count,) = struct.unpack_from("<Q", data, max(0, len(data) - 8))
    head = len(data) - 8 - 24 * count
    if head < 0:
        raise ValueError("not the work of a child")
    scores = struct.unpack_from(f"<{count}d", data, head)
    numbers = struct.unpack_from(f"<{count}Q", data, head + 8 * count)
    sizes = struct.unpack_from(f"<{count}Q", data, head + 16 * count)
    out = []
    at = 0
    for score, order, size in zip(scores, numbers, sizes, strict=True):
        out.append((score, order, data[at : at + size]))
        at += size
    if at != head or list(numbers) != sorted(set(numbers)) or numbers and numbers[-1] >= n:
        raise ValueError("not the work of a child")
    return out


def _match(needed: Sequence[tuple[str | None, frozenset[str]]]) -> str | None:
    """The full-text query of a search's words (see `query.SearchIndex.candidates`), or
    None when a word has no alternatives (nothing can match)."""
    clauses = []
    for prefix, extra in needed:
        alts = [f'"{prefix}"*'] if prefix is not None else []
        alts += [f'"{w}"' for w in sorted(extra)]
        if not alts:
            return None
        clauses.append("(" + " OR ".join(alts) + ")")
    return " AND ".join(clauses)


def _word_counts(rows: list[Any]) -> list[tuple[str, int]]:
    """Rows of `vocab` (word, how many records hold it: one at least), checked to be as
    written."""
    if not all(type(w) is str and type(n) is int and n > 0 for w, n in rows):
        raise Stale
    return [(w, n) for w, n in rows]


def _read_only(cpath: Path) -> sqlite3.Connection:
    """A read-only connection to the cache file `cpath`, named by a URI: in its path a
    `%`, `?` or `#` is escaped, as SQLite would read them as an escape, the start of the
    query or of the fragment (a cache directory may have any of them in its name); and
    an absolute path follows an empty authority, so that one starting "//" is a path."""
    name = str(cpath).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    if name.startswith("/"):  # "file:" then "//" would start an authority: "file:///" does not
        name = "//" + name
    return sqlite3.connect(f"file:{name}?mode=ro", uri=True)


def _connect(path: Path, hash_below: int | None = None) -> Cache:
    """The cache of `path` if it is safe and answers for the file as it is now, else Stale
    (see `_check_fresh` for `hash_below`)."""
    cpath = cache_path(path)
    if cpath is None or not _safe_file(cpath):
        raise Stale
    try:
        db = _read_only(cpath)
    except sqlite3.Error as e:
        raise Stale from e
    try:
        meta: dict[str, str] = dict(db.execute("SELECT key, value FROM meta").fetchall())
        _counted(cpath, meta)  # (no statement is open: this connection holds no lock)
        touched = _check_fresh(meta, path, hash_below)
    except (sqlite3.Error, OSError, ValueError) as e:
        db.close()
        raise Stale from e
    except Stale:
        db.close()
        raise
    _touch(cpath, touched, meta)
    return Cache(db, meta, cpath)


def _check_fresh(meta: dict[str, str], path: Path, hash_below: int | None = None) -> dict[str, str]:
    """The stamps to refresh if the cache answers for the files as they are now, else Stale.

    A file whose stamp changed but whose content did not is still answered for;
    its new stamp is returned so the caller can record it. With `hash_below`, a file
    whose stamp changed is read to compare its content only when it is smaller than
    that; a larger one is taken as changed.
    """
    if (
        meta.get("format") != CACHE_FORMAT
        or meta.get("blocks") != _codec()
        or meta.get("path") != _kept_path(_named(path))
    ):
        raise Stale
    cap = _allowed(meta)
    touched: dict[str, str] = {}
    for key, digest in (("dataset", _file_digest), ("source", _source_digest)):
        kept = meta.get(f"{key}_path")
        if not kept:
            continue
        try:
            file = _path_kept(kept)
            st = os.stat(file)
            stamp = _stamp(st)
            if st.st_size > cap:  # a parse refuses it now (a lower cap)
                raise Stale
            if stamp != meta.get(f"{key}_stamp"):
                if hash_below is not None and st.st_size >= hash_below:
                    raise Stale
                if digest(Path(file)) != meta.get(f"{key}_hash"):
                    raise Stale
                touched[f"{key}_stamp"] = stamp
        except Stale:
            raise
        except Exception as e:  # unreadable now, or a DataError from the loader
            raise Stale from e
    return touched


def _allowed(meta: Mapping[str, str]) -> int:
    """The size cap in force, if the environment lets a parse read what the cache was
    built from; else Stale, so that the command parses the file and refuses it as a parse
    does (a cap or a read timeout that is not a number; a source text from a directory
    IMMUNOFACTS_TEXT_DIRS named then and does not now). The cache answers only where a
    parse of the same files would."""
    from .errors import DataError
    from .paths import max_bytes, read_timeout, text_place

    try:
        cap = max_bytes()
        read_timeout()
    except DataError as e:
        raise Stale from e
    text = meta.get("source_text")
    if text is not None:
        _, _, refused = text_place(text, Path(_path_kept(meta["path"])).parent)
        if refused:
            raise Stale
    return cap


def _touch(cpath: Path, stamps: dict[str, str], meta: Mapping[str, str]) -> None:
    """Record new stamps for files whose content did not change (best effort), in a
    cache whose `meta` was read with its change counter agreeing (see `_counter`).

    The write records the counter it leaves, one more than the one read: unless
    another write came between (then the counter is more, and the cache is stale)."""
    if not stamps:
        return
    counter = str(int(meta["counter"]) + 1)
    with contextlib.suppress(sqlite3.Error, OSError, ValueError):
        db = sqlite3.connect(cpath, timeout=0.1, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            now = db.execute("SELECT value FROM meta WHERE key = 'counter'").fetchone()
            if now != (meta["counter"],):  # touched meanwhile: left as it is
                db.execute("ROLLBACK")
                return
            db.executemany(
                "UPDATE meta SET value = ? WHERE key = ?",
                [*((v, k) for k, v in stamps.items()), (counter, "counter")],
            )
            db.execute("COMMIT")
        finally:
            db.close()


# --- writing --------------------------------------------------------------------------

_SCHEMA = """
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE blobs (name TEXT PRIMARY KEY, data BLOB, crc INTEGER);
CREATE TABLE records (
  rowid INTEGER PRIMARY KEY, is_case INTEGER, id TEXT, year INTEGER, {labels},
  blk INTEGER, pos INTEGER
);
CREATE TABLE bodies (n INTEGER PRIMARY KEY, body BLOB, crc INTEGER);
CREATE TABLE groups (grp TEXT PRIMARY KEY, first INTEGER, last INTEGER) WITHOUT ROWID;
CREATE TABLE names (entity INTEGER, rec INTEGER, PRIMARY KEY (entity, rec)) WITHOUT ROWID;
CREATE TABLE vocab (word TEXT PRIMARY KEY, root TEXT, df INTEGER) WITHOUT ROWID;
CREATE TABLE timeline (
  n INTEGER PRIMARY KEY, first INTEGER, last INTEGER, final INTEGER, packed INTEGER,
  data BLOB, crc INTEGER
);
CREATE TABLE lists (name TEXT, n INTEGER, data BLOB, crc INTEGER, PRIMARY KEY (name, n));
CREATE VIRTUAL TABLE fts USING fts5(
  text, tokenize='ascii', content='', detail='none', columnsize=0
);
"""
_INDEXES = """
CREATE UNIQUE INDEX records_id ON records (is_case, id);
CREATE INDEX vocab_root ON vocab (root) WHERE root IS NOT NULL;
"""


#: A dataset of fewer records than this is cached in pages of SMALL_PAGE bytes instead of
#: SQLite's 4 KB: most tables of a small cache fill a page or two, and a row's spill into
#: an overflow page leaves less unused (at 1,000 synthetic claims the cache is 1.30x the
#: YAML instead of 1.55x; at 10,000, 1.10x instead of 1.14x). A larger cache keeps 4 KB:
#: it saves little there, and reads that span blocks (a timeline) follow longer chains.
SMALL_PAGES_BELOW = 20_000
SMALL_PAGE = 1024


def _label_columns() -> list[str]:
    from .query import LABEL_FILTERS

    return [f"l_{name}" for name in LABEL_FILTERS]


def _write_cache(
    path: Path, ds: Dataset, stamp: str, digest: str, source: tuple[str, str] | None
) -> None:
    """Build the cache for `ds` in a private file, then rename it into place."""
    import secrets

    cpath = cache_path(path)
    if cpath is None or not _private_dir(cpath.parent, create=True):
        return
    _sweep(cpath.parent)
    # The file's name is chosen before it is made, so that a signal's exception that
    # comes as it is made (mkstemp gives its name only once it returns) removes it too.
    tmp = str(cpath.parent / f".{cpath.stem}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return  # another's file of that name (64 random bits): no cache this time
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # made, and a signal came before it was said so
        raise
    try:  # from here on, a signal's exception removes the file
        os.close(fd)
        # The word index is built by a second thread while this one does the rest.
        db = sqlite3.connect(tmp, check_same_thread=False)
        try:
            columns = _label_columns()
            if len(ds.claims) + len(ds.cases) < SMALL_PAGES_BELOW:
                db.execute(f"PRAGMA page_size = {SMALL_PAGE}")  # before the first table
            db.executescript(_SCHEMA.format(labels=", ".join(f"{c} INTEGER" for c in columns)))
            meta = {
                "format": CACHE_FORMAT,
                "blocks": _codec(),
                "path": _kept_path(_named(path)),
                "dataset_path": _kept_path(_named(path)),
                "dataset_stamp": stamp,
                "dataset_hash": digest,
            }
            if source is not None:
                src = _source_path(path, ds.source)
                assert src is not None
                meta["source_path"] = _kept_path(str(src))
                meta["source_stamp"], meta["source_hash"] = source
                # as the dataset names it: where it may be read from is asked again
                # of the environment by every command (see `_allowed`)
                assert ds.source.text is not None
                meta["source_text"] = ds.source.text
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            room = int(RAW_TIMELINE_SHARE * os.stat(path).st_size)
            _fill_deferring_signals(db, ds, room=room)
            db.commit()
            # The last write: the change counter it will leave (see `_counter`), which
            # must be the one found after it, or the cache would never be answered from.
            before = _counter(Path(tmp))
            if before is None:
                raise Stale
            db.execute("INSERT INTO meta VALUES ('counter', ?)", (str(before + 1),))
            db.commit()
            if _counter(Path(tmp)) != before + 1:
                raise Stale
        finally:
            db.close()
        os.chmod(tmp, 0o600)
        # A journal left beside the cache this one replaces (a command killed while it
        # recorded new stamps, see `_touch`) is that file's: SQLite would roll it back
        # into this one, and a read-only connection, which cannot, would find every cache
        # written here unreadable (and build it again at every command).
        with contextlib.suppress(OSError):
            os.unlink(f"{cpath}-journal")
        os.replace(tmp, cpath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fill_deferring_signals(
    db: sqlite3.Connection, ds: Dataset, *, room: int | None = None
) -> None:
    """`_fill`, with SIGINT, SIGTERM and SIGHUP held until its writer thread has stopped.

    A signal's exception must not unwind past `_fill` (and close the database) while
    that thread still writes: SQLite would use freed memory. A signal that arrives
    meanwhile stops the running write and skips the rest, and is raised again, with
    its own handler, once the thread has stopped."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        _fill(db, ds, room=room)  # handlers can only be set from the main thread
        return
    pending: list[int] = []
    writers: list[_Writer] = []

    def hold(signum: int, frame: object) -> None:
        if kept.get(signal.Signals(signum)) is signal.SIG_IGN:
            return  # ignored before the build (as under nohup): ignored during it too
        pending.append(signum)
        for w in writers:
            w.stop()

    def started(writer: _Writer) -> None:
        writers.append(writer)
        if pending:  # a signal came before the writer did: stop it at its first write
            writer.stop()

    kept = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        kept[sig] = signal.signal(sig, hold)
    try:
        if not pending:
            _fill(db, ds, started, room=room)
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)
        if pending:
            signal.raise_signal(pending[0])
            # Its handler let it pass (one that returns): the build was cut short all the
            # same, and an unfinished cache must not be kept.
            raise Stale


#: How many records' texts go to the word index in one statement.
_INDEX_CHUNK = 8192


def _index_words(db: sqlite3.Connection, first: int, texts: str) -> None:
    """Add records' texts to the word index: `texts` a JSON array of them, the first
    being record number `first` + 1. One SQL statement, during which SQLite holds no
    lock Python needs: run in a thread, this overlaps with the Python work of the build."""
    db.execute(
        "INSERT INTO fts (rowid, text) SELECT ? + key, value FROM json_each(?)", (first + 1, texts)
    )


def _count_words(db: sqlite3.Connection) -> None:
    """Fill the vocabulary from the word index: how many records hold each word, counted
    by the index itself; and the root of each word that has one of its own (see `root`:
    a word of three ASCII letters or more; a word that is its own root has none
    recorded). The words are read as one JSON array, and their roots written as one:
    a thread reading or writing them row by row takes Python's lock back at every row,
    which it gets only every few milliseconds while the main thread runs Python code."""
    from .tokens import root

    db.execute("CREATE VIRTUAL TABLE temp.fts_words USING fts5vocab(main, fts, row)")
    db.execute("INSERT INTO vocab SELECT term, NULL, doc FROM temp.fts_words")
    db.execute("DROP TABLE temp.fts_words")
    (found,) = db.execute(
        "SELECT json_group_array(word) FROM vocab"
        " WHERE word GLOB '[a-z][a-z][a-z]*' AND word NOT GLOB '*[^a-z]*'"
    ).fetchone()
    roots = [(w, r) for w in msgspec.json.decode(found) if (r := root(w)) != w]
    # Not `UPDATE ... FROM`, which needs SQLite 3.33 (2020): the roots go through a
    # table keyed by word, which the update looks each word up in.
    db.execute("CREATE TEMP TABLE roots (word TEXT PRIMARY KEY, root TEXT) WITHOUT ROWID")
    db.execute(
        "INSERT INTO temp.roots SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
        " FROM json_each(?)",
        (msgspec.json.encode(roots).decode(),),
    )
    db.execute(
        "UPDATE vocab SET root = (SELECT root FROM temp.roots r WHERE r.word = vocab.word)"
        " WHERE word IN (SELECT word FROM temp.roots)"
    )
    db.execute("DROP TABLE temp.roots")


@contextlib.contextmanager
def _stop_signals_blocked() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP blocked in this thread meanwhile (and in the threads it
    starts, for good); those that arrive meanwhile are delivered when it ends."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    stops = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    kept = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, kept)


class _Writer:
    """Writes to a database in the order given, in a thread of its own: SQLite does most
    of its work without Python's lock, alongside the Python work of the thread that
    prepares the rows. The first write that fails stops the rest; `finish` raises it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        import queue
        import threading

        self._db = db
        self._stopped = False
        self._jobs: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._failed: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name="cache-writer", daemon=True)
        # The thread starts with the stop signals blocked, so that they always reach the
        # main thread, where their handlers run: one the kernel gave this thread would
        # wait, unhandled, until the main thread next woke, the whole write long.
        with _stop_signals_blocked():
            self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if not self._failed:
                try:
                    job()
                except BaseException as e:  # raised again by `finish`
                    self._failed.append(e)

    def __call__(self, job: Callable[[], object]) -> None:
        if self._stopped:
            raise Stale  # stopped by a signal: `_fill` stops too
        self._jobs.put(job)

    def stop(self) -> None:
        """Stop the running write, skip the rest, and refuse new ones (from a signal
        handler: it only sets flags and asks SQLite to stop)."""
        self._stopped = True
        self._cancel()

    def _cancel(self) -> None:
        """Skip the writes not yet begun, and stop the one running."""
        self._failed.append(Stale())
        self._db.interrupt()

    def finish(self, *, cancel: bool = False) -> None:
        """Wait for every write given (with `cancel`, skip those not yet begun). The
        thread has always stopped when this returns or raises, whatever signal arrives
        meanwhile: the caller closes the database next, which must not happen under a
        running write (SQLite would use freed memory)."""
        if cancel:
            self._cancel()
        self._jobs.put(None)
        interrupted: BaseException | None = None
        while True:
            try:
                self._thread.join()
                break
            except BaseException as e:  # a signal while waiting: stop, then raise it
                interrupted = interrupted or e
                self._cancel()
        if interrupted is not None:
            raise interrupted
        if self._failed and not cancel:
            raise self._failed[0]


def _fill(
    db: sqlite3.Connection,
    ds: Dataset,
    started: Callable[[_Writer], None] | None = None,
    *,
    room: int | None = None,
) -> None:
    """Write every row of the cache for `ds`, in one pass over its records. The rows are
    written by a second thread: `db` must be open with ``check_same_thread=False``, and
    is not used by this one until they are. `room`: how many bytes the timeline may take
    uncompressed (see `_timeline_rows`)."""
    from functools import partial

    from . import query
    from .tokens import entity_names, finish_stats, index_texts

    recs = ds.records()
    entities = ds.entity_map()
    names = entity_names(entities)
    # The word index is written a chunk of records at a time, from the first chunk on,
    # so that the writer thread starts on it at once.
    texts, lengths = index_texts(recs[:_INDEX_CHUNK], entities, names)
    write = _Writer(db)
    if started is not None:
        started(write)
    try:
        for at in range(0, len(recs), _INDEX_CHUNK):
            if at:
                texts, more = index_texts(recs[at : at + _INDEX_CHUNK], entities, names)
                lengths.update(more)
            write(partial(_index_words, db, at, msgspec.json.encode(texts).decode()))
        write(partial(_count_words, db))
        del texts
        claims, cases = ds.claims, ds.cases
        count = len(recs)
        # The labels of `records` are kept as small numbers (a byte, not a word, a label):
        # each label's the order it is first met in, in its column (see `_label_codes`).
        labels = [_coded(list(map(f.label, recs))) for f in query.LABEL_FILTERS.values()]
        found = {name: codes for name, (_, codes) in zip(query.LABEL_FILTERS, labels, strict=True)}
        write(
            partial(
                db.execute,
                "INSERT INTO meta VALUES ('labels', ?)",
                (msgspec.json.encode(found).decode(),),
            )
        )
        # The rows of `records`, made column by column (each label's function mapped
        # over the records), after the row number: is it a case, its id, year and labels.
        columns = [
            [0] * len(claims) + [1] * len(cases),
            [rec.id for rec in recs],
            [*map(query.year_of, [c.date for c in claims]), *[None] * len(cases)],
            *[column for column, _ in labels],
        ]
        del labels
        write(partial(_insert_rows, db, "names", _naming(claims, cases, ds.entities)))
        encoder = msgspec.msgpack.Encoder()
        raws = _claim_texts(recs, encoder)
        zdict = _zdict(raws)
        groups = [rec.kind._value_ if isinstance(rec, Claim) else "" for rec in recs]
        bodies, places = _blocks(raws, zdict, groups, hard=count < HARD_PACKED_BELOW)
        spans: dict[str, list[int]] = {}  # each group's first and last block
        for g, (n, _) in zip(groups, places, strict=True):
            if g in spans:
                spans[g][1] = n
            else:
                spans[g] = [n, n]
        write(
            partial(
                db.executemany,
                "INSERT INTO groups VALUES (?, ?, ?)",
                ((g, *s) for g, s in spans.items()),
            )
        )
        del groups
        del raws
        # then where each record is kept: a block, and its place in it
        columns += [[p[0] for p in places], [p[1] for p in places]]
        del places
        placed = list(zip(*columns, strict=True))
        del columns
        write(partial(_insert_rows, db, "records", placed, numbered=True))
        # The records and the vocabulary are written: their indexes are made while this
        # thread goes on, not after it is done.
        write(partial(db.executescript, _INDEXES))
        write(partial(db.executemany, "INSERT INTO bodies VALUES (?, ?, ?)", bodies))
        del placed, bodies
        head = _Head(ds.schema, ds.source, ds.entities)
        stats, lists = _stats_rows(query.stats(ds), encoder)
        blobs = {
            "head": encoder.encode(head),
            "source_text": encoder.encode(ds.source_text),
            "wordstats": encoder.encode(finish_stats(count, lengths)),
            "names": encoder.encode(names),
            "stats": encoder.encode(stats),
            "entity_counts": encoder.encode(query.entity_counts(ds)),
        }
        events = query.timeline_events(ds)
        timeline = _timeline_rows(events, packed=_timeline_packed(count), room=room)
        sql = "INSERT INTO timeline VALUES (?, ?, ?, ?, ?, ?, ?)"
        write(partial(db.executemany, sql, timeline))
        blocks = str(len(timeline))
        write(partial(db.execute, "INSERT INTO meta VALUES ('timeline_blocks', ?)", (blocks,)))
        del timeline
        blobs = {k: _z.compress(v, 1) for k, v in blobs.items()}
        blobs["zdict"] = _z.compress(zdict)
        write(partial(db.executemany, "INSERT INTO lists VALUES (?, ?, ?, ?)", lists))
        rows = [(k, v, _z.crc32(v)) for k, v in blobs.items()]
        write(partial(db.executemany, "INSERT INTO blobs VALUES (?, ?, ?)", rows))
    except BaseException:
        write.finish(cancel=True)
        raise
    write.finish()


def _coded(column: list[str | None]) -> tuple[list[int | None], dict[str, int]]:
    """A column of labels as numbers, each label's the order it is first met in (None
    stays None), and the number of each label."""
    found: dict[str, int] = {}
    codes: dict[str | None, int | None] = {None: None}
    for label in dict.fromkeys(column):
        if label is not None:
            found[label] = codes[label] = len(found)
    return list(map(codes.__getitem__, column)), found


def _naming(
    claims: Sequence[Claim], cases: Sequence[Case], entities: Sequence[Entity]
) -> list[tuple[int, int]]:
    """The rows of `names` in the table's key order: (entity, record number) for each
    entity a record names, a claim through `entities`, a case through `entities` or
    `hospital` (records are numbered from 1, claims then cases, as in `records`). An
    entity is kept as its place among `entities` (see `Cache._entity_code`); an id none
    of them has (the loader refuses one) is never looked up, and left out."""
    naming: dict[str, list[int]] = {}  # entity id -> the records naming it, in order
    named: Iterable[str]
    for i, c in enumerate(claims, start=1):
        for e in set(c.entities) if len(c.entities) > 1 else c.entities:
            if e in naming:
                naming[e].append(i)
            else:
                naming[e] = [i]
    for i, case in enumerate(cases, start=len(claims) + 1):
        named = {*case.entities, case.hospital} if case.hospital else set(case.entities)
        for e in named:
            if e in naming:
                naming[e].append(i)
            else:
                naming[e] = [i]
    places = {e.id: at for at, e in enumerate(entities)}
    known = sorted((places[e], e) for e in naming if e in places)
    return [(at, i) for at, e in known for i in naming[e]]


#: How many rows `_insert_rows` writes with one statement.
_ROWS_CHUNK = 65536


def _insert_rows(
    db: sqlite3.Connection, table: str, rows: Sequence[Sequence[Any]], *, numbered: bool = False
) -> None:
    """Insert rows of strings, integers and None into `table`, after a number counting
    them from 1 when `numbered`. They go in as JSON arrays, each read by one statement,
    during which SQLite holds no lock Python needs: `executemany` takes it back at every
    row, and from a thread of its own, while the main thread runs Python code, gets it
    only every few milliseconds (`sys.getswitchinterval`)."""
    if not rows:
        return
    values = [f"json_extract(value, '$[{j}]')" for j in range(len(rows[0]))]
    sql = f"INSERT INTO {table} SELECT {'? + key, ' if numbered else ''}{', '.join(values)}"
    for at in range(0, len(rows), _ROWS_CHUNK):
        chunk = msgspec.json.encode(rows[at : at + _ROWS_CHUNK]).decode()
        db.execute(f"{sql} FROM json_each(?)", (at + 1, chunk) if numbered else (chunk,))


#: How a claim starts as it is kept: its JSON as `list-claims --format json` writes it
#: (`render.shapes.claim_json`), an element of the array, with its tag, which `Claim`
#: has not. What follows it is the claim's JSON without its opening brace.
_CLAIM_START = b'  {\n    "type": "claim",'
_CLAIM_HEAD = len(_CLAIM_START)
#: The line of a claim's tag, after the newline that starts it.
_TAG_LINE = _CLAIM_START[3:]


def _claim_texts(recs: Sequence[Claim | Case], encoder: msgspec.msgpack.Encoder) -> list[bytes]:
    """How each record is kept: a claim as the very text `list-claims --format json`
    writes for it, an element of its array, indented, in UTF-8, with what JSON output
    escapes escaped (so that it is written as it is; indented JSON compresses about as
    well as compact, and decodes about as fast); a case in msgpack."""
    from .query import RecordType

    tag = b'{"type":' + msgspec.json.encode(RecordType.CLAIM.value) + b","
    json = msgspec.json.Encoder()
    out: list[bytes] = []
    for at in range(0, len(recs), _TEXTS_CHUNK):
        chunk = recs[at : at + _TEXTS_CHUNK]
        raws = [tag + json.encode(r)[1:] for r in chunk if isinstance(r, Claim)]
        texts = iter(_indented(raws, _escaped_json))
        out += (next(texts) if isinstance(r, Claim) else encoder.encode(r) for r in chunk)
    return out


def _escaped_json(text: bytes) -> bytes:
    """JSON text in UTF-8 with what JSON output escapes escaped (`jsontext.escaped`,
    which leaves whitespace alone: the text may be indented already). Mostly ASCII,
    which is never escaped: what may need it is looked for first in what is left of
    the text without the ASCII that never does (a few bytes a record, UTF-8 still)."""
    from .jsontext import escaped

    if text.isascii() and b"\x7f" not in text:
        return text
    rest = text.translate(None, _NEVER_ESCAPED).decode()
    if escaped(rest) == rest:
        return text
    return escaped(text.decode()).encode()


def _indented(raws: list[bytes], escape: Callable[[bytes], bytes] | None = None) -> list[bytes]:
    """Compact JSON objects, each as the element of an array that `to_json` writes
    (its text passed through `escape` first, if given). They are indented together,
    and cut apart where one ends and the next begins: only there does a line of an
    element's text start with its braces (the lines within it are indented further,
    and a newline in JSON is only ever layout)."""
    from .jsontext import objects_apart

    if not raws:
        return []
    text = msgspec.json.format(b"[" + b",".join(raws) + b"]", indent=2)[2:-2]  # "[\n" "\n]"
    if escape is not None:
        text = escape(text)
    return objects_apart(text, len(raws))


#: ASCII that JSON output never escapes (`jsontext.escaped`): printable, tab, line feed.
_NEVER_ESCAPED = bytes(range(0x20, 0x7F)) + b"\t\n"
#: How many records `_claim_texts` makes at a time.
_TEXTS_CHUNK = 4096


#: How many headline figures, or case outcomes, of `show-stats` are kept together.
LIST_BLOCK = 256


def _stats_rows(
    st: Any, encoder: msgspec.msgpack.Encoder
) -> tuple[Any, list[tuple[str, int, bytes, int]]]:
    """`query.stats` with its figures and cases left out (and counted in `more_figures`
    and `more_cases`), and the rows of `lists` that keep them in blocks, so that a
    dashboard reads only the first few."""
    figures = [_Figure(h.claim_id, h.figure, st.backing[h.claim_id]) for h in st.figures]
    rows = []
    for name, items in (("figures", figures), ("cases", st.cases)):
        for n, at in enumerate(range(0, len(items), LIST_BLOCK)):
            data = _z.compress(encoder.encode(items[at : at + LIST_BLOCK]), 1)
            rows.append((name, n, data, _z.crc32(data)))
    head = msgspec.structs.replace(
        st,
        figures=(),
        backing={},
        cases=(),
        more_figures=len(st.figures),
        more_cases=len(st.cases),
    )
    return head, rows


#: How many timeline events are kept together, as one block.
TIMELINE_BLOCK = 512
#: Without LZ4, the timeline's blocks of a dataset of fewer records than this are
#: deflated; those of a larger one are kept as they are, the text `timeline --format json`
#: writes: inflating them would be most of its work (about 20 ms for the 11 MB of 100,000
#: synthetic claims). With LZ4 they are always compressed (see `_timeline_packed`).
PACKED_TIMELINE_BELOW = 20_000
#: At most this share of the dataset file's size is taken by a timeline kept
#: uncompressed; a larger one is compressed all the same, so that the cache stays small
#: next to the YAML whatever the dataset (all its claims dated and short, say). The
#: timeline's text is 0.31x the YAML of synthetic claims and 0.13x of claims grown from
#: the shipped ones.
RAW_TIMELINE_SHARE = 0.35


def _timeline_packed(count: int) -> bool:
    """Whether the timeline's blocks of a dataset of `count` records are compressed:
    always with LZ4, which inflates them as fast as SQLite reads them (read, checked and
    inflated, the 40 MB they make of the 115 MB timeline of a million synthetic claims
    take 45 ms, as the 115 MB do as they are); with deflate, below
    PACKED_TIMELINE_BELOW records."""
    return _codec() == "lz4" or count < PACKED_TIMELINE_BELOW


def _squeezed(data: bytes) -> bytes:
    """A block of the timeline compressed: LZ4 (its quick mode, with the inflated size
    at its head) where it is installed, else zlib at its quickest level."""
    if _codec() == "deflate":
        return _z.compress(data, 1)
    packed: bytes = _LZ4.compress(data)
    return packed


def _unsqueezed(data: bytes) -> bytes:
    """A block written by `_squeezed`, inflated (Stale if it does not inflate)."""
    if _codec() == "deflate":
        try:
            return _z.decompress(data)
        except _INFLATE_ERRORS as e:
            raise Stale from e
    return _lz4_inflated(data)


def _lz4_inflated(data: bytes, zdict: bytes = b"") -> bytes:
    """A block compressed by LZ4 (with its inflated size at its head; against `zdict`,
    if given), inflated; Stale if it does not inflate, or names a size it could not
    inflate to (which is not allocated)."""
    if len(data) < 4 or int.from_bytes(data[:4], "little") > _LZ4_RATIO * len(data):
        raise Stale
    try:
        inflated: bytes = _LZ4.decompress(data, dict=zdict)  # an empty one is none
    except (_LZ4.LZ4BlockError, ValueError) as e:
        raise Stale from e
    return inflated


def _day(date: tuple[int, int, int]) -> int:
    """A day (year, month, day) as one sortable number."""
    return date[0] * 10000 + date[1] * 100 + date[2]


def _timeline_rows(
    events: Sequence[Any], *, packed: bool = True, room: int | None = None
) -> list[tuple[int, int, int, int, int, bytes, int]]:
    """The timeline's events in date order, in blocks of the very text `--format json`
    writes for them (compressed if `packed`, or if they take more than `room` bytes),
    that each note the first day of their first and last events (the events are sorted
    by it) and the latest last day of any, so that a range of dates reads only the blocks
    it can hold, and writes those wholly within it as they are."""
    from .query import date_bounds

    rows = []
    last_days: dict[str, int] = {}  # the last day of each date met (events share dates)
    for n, at in enumerate(range(0, len(events), TIMELINE_BLOCK)):
        block = events[at : at + TIMELINE_BLOCK]
        data = elements(block).encode()
        first, last = (_day(date_bounds(e.date)[0]) for e in (block[0], block[-1]))
        dates = {e.date for e in block}
        for date in dates.difference(last_days):
            last_days[date] = _day(date_bounds(date)[1])
        final = max(map(last_days.__getitem__, dates))
        rows.append((n, first, last, final, data))
    if room is not None and sum(len(r[-1]) for r in rows) > room:
        packed = True
    out = []
    for n, first, last, final, data in rows:
        if packed:
            data = _squeezed(data)
        out.append((n, first, last, final, int(packed), data, _z.crc32(data)))
    return out


#: Records are compressed together, in dataset order, in blocks of at most this many
#: bytes (encoded; a larger record is a block alone): a block compresses better and far
#: faster than each record on its own, and a small one is quick to read for one record.
#: Bounded by bytes, not by a count, so that a command reading a few records of large ones
#: does not decompress most of the cache. Not much smaller: a compressed block of 2 to 4
#: KB fills a 4 KB page of SQLite's alone (a larger one spills whole pages of it).
_BLOCK_BYTES = 16384
#: What separates two records in a block: what separates two elements of an indented
#: JSON array (see `_pack`), and its length.
_SEP = ELEMENT_GAP
_GAP = len(_SEP)
#: The blocks of records of a dataset of fewer records than this are compressed with
#: LZ4's high-compression mode (at its quickest level); those of a larger one with its
#: quick mode, both with the same preset dictionary as deflate (records' field names and
#: common words recur in every block). The quick mode takes a quarter of the time (0.17 s
#: against 0.67 s for the 61 MB of 100,000 synthetic claims, most of a first load's work
#: after the parse), for blocks a fifth larger: the cache of 1,000 synthetic claims is
#: 1.25x the YAML in the quick mode and 1.16x compressed hard (of 10,000, 1.07x and
#: 0.95x), where the time saved is a few milliseconds. Without the dictionary, blocks
#: inflate a fifth faster, but the cache of 1,000 synthetic claims is 1.38x the YAML.
HARD_PACKED_BELOW = 20_000

#: At most how many times its size a block of LZ4 inflates to (each byte of a match's
#: length stands for at most 255 bytes): a larger size at its head is damage, not an
#: allocation to try.
_LZ4_RATIO = 256


#: Without LZ4 (the `fast` extra: it has no wheel for some platforms, such as musl's
#: Linux), blocks are raw deflate with the same dictionary, at the quickest level.
_WBITS = -15
_LEVEL = 1


class _Lz4:
    """`lz4.block`, imported when first used (reading or writing blocks of records or
    of the timeline), each name, once looked up, kept as an attribute of its own. An
    LZ4 that is found but does not import makes the cache Stale (the file answers)."""

    def __getattr__(self, name: str) -> Any:
        try:
            import lz4.block
        except ImportError as e:
            raise Stale from e
        value = getattr(lz4.block, name)
        setattr(self, name, value)
        return value


_LZ4 = _Lz4()
#: What compresses the blocks of records: "lz4" where it is installed, else "deflate".
#: A cache records it (`blocks` in `meta`); one made by the other is rebuilt.
_CODECS: list[str] = []


def _codec() -> str:
    """The compression of blocks of records here: "lz4" if LZ4 is installed (looked up
    once, without importing it: about a tenth of a millisecond), else "deflate"."""
    if not _CODECS:
        from importlib.util import find_spec

        try:
            found = find_spec("lz4") is not None
        except (ImportError, ValueError):
            found = False
        _CODECS.append("lz4" if found else "deflate")
    return _CODECS[0]


#: How many blocks of records a walk over them keeps decompressed: more than there are
#: groups of records (a case, and each kind of claim), so that a walk of every record in
#: dataset order decompresses each block once.
_KEPT_BLOCKS = 16
#: How many blocks a sparse read (`Cache.rows` with `sparse`) asks for with one query.
_SPARSE_BATCH = 16
#: How many candidates a search shared with a child (`CachedIndex.shared`) cuts into a
#: run, at least; and into how many runs at most.
_SHARED_RUN = 64
_RUNS = 1024


def _blocks(
    raws: Sequence[bytes],
    zdict: bytes,
    groups: Sequence[str] | None = None,
    *,
    hard: bool = False,
) -> tuple[list[tuple[int, bytes, int]], list[tuple[int, int]]]:
    """The rows of `bodies` (number, block, crc) for encoded records, and where each
    record is: (block number, position in it), compressed as `_pack` does (`hard` or
    not). With `groups` (one per record), each
    group's records are packed apart, in dataset order, its blocks after those of the
    groups met before it: a filter on the group (the kind of a claim) reads only its
    own blocks."""
    order: dict[str, list[int]] = {}
    for i, g in enumerate(groups if groups is not None else itertools.repeat("", len(raws))):
        if g in order:
            order[g].append(i)
        else:
            order[g] = [i]
    blocks: list[list[bytes]] = []
    places: list[tuple[int, int]] = [(0, 0)] * len(raws)
    for members in order.values():
        block: list[bytes] = []
        size = 0
        for at in members:
            raw = raws[at]
            if block and size + len(raw) > _BLOCK_BYTES:
                blocks.append(block)
                block, size = [], 0
            places[at] = (len(blocks), len(block))
            block.append(raw)
            size += len(raw)
        if block:
            blocks.append(block)

    def packed(batch: list[list[bytes]]) -> list[bytes]:
        return [_pack(block, zdict, hard=hard) for block in batch]

    # compressed by two threads (LZ4 lets go of Python's lock as it compresses)
    batches = (blocks[k : k + _PACK_BATCH] for k in range(0, len(blocks), _PACK_BATCH))
    bodies: list[tuple[int, bytes, int]] = []
    for batch in _ahead(packed, batches):
        bodies += [(n, body, _z.crc32(body)) for n, body in enumerate(batch, len(bodies))]
    return bodies, places


#: How many blocks of records one thread compresses at a time as the cache is built.
_PACK_BATCH = 32


def _pack(raws: Sequence[bytes], zdict: bytes, *, hard: bool = False) -> bytes:
    """A block of encoded records, compressed: their count, where each ends, then each,
    separated by `_SEP`: a block of claims (see `_claim_texts`) is then the very text
    `to_json` of a list of them writes between its brackets (`_Run.indented`), with the
    preset dictionary `zdict`; with LZ4, in its high-compression mode if `hard`."""
    ends = []
    end = -_GAP
    for raw in raws:
        end += len(raw) + _GAP
        ends.append(end)
    head = struct.pack(f"<I{len(ends)}I", len(ends), *ends)
    data = head + _SEP.join(raws)
    if _codec() == "deflate":
        packer = _z.compressobj(_LEVEL, _z.DEFLATED, _WBITS, zdict=zdict)
        return packer.compress(data) + packer.flush()
    mode = {"mode": "high_compression", "compression": 1} if hard else {}
    packed: bytes = _LZ4.compress(data, dict=zdict, **mode)  # the inflated size at its head
    return packed


def _inflated(body: bytes, zdict: bytes) -> bytes:
    """A block written by `_pack`, decompressed (Stale if it does not decompress)."""
    if _codec() == "deflate":
        try:
            inflater = _z.decompressobj(_WBITS, zdict=zdict)
            inflated: bytes = inflater.decompress(body)
        except _INFLATE_ERRORS as e:
            raise Stale from e
        if not inflater.eof or inflater.unused_data:
            raise Stale  # cut short, or more after its end
        return inflated
    return _lz4_inflated(body, zdict)


def _block(
    body: bytes, zdict: bytes, *, cut: bool = True
) -> tuple[memoryview, int, tuple[int, ...]]:
    """A block written by `_pack`, decompressed (Stale if it is not one): its bytes, where
    its records start, and where each ends from there. Record i is
    ``data[base + ends[i - 1] + _GAP if i else base : base + ends[i]]`` (`_SEP` between
    two); only the records read are cut out. The records, separators and all, are
    ``data[base:]``. Without `cut`, only where the last ends is read (to check the
    block), and the ends given are ``()``: `_ends` reads them if they are wanted."""
    try:
        data = memoryview(_inflated(body, zdict))
        (count,) = struct.unpack_from("<I", data)
        base = 4 + 4 * count
        if cut or not count:
            ends = struct.unpack_from(f"<{count}I", data, 4)
            last = ends[-1] if ends else 0
        else:
            ends = ()
            (last,) = struct.unpack_from("<I", data, base - 4)
    except struct.error as e:
        raise Stale from e
    if base + last != len(data):
        raise Stale
    return data, base, ends


def _ends(data: memoryview) -> tuple[int, ...]:
    """Where each record of an inflated block ends (see `_block`)."""
    (count,) = struct.unpack_from("<I", data)
    ends: tuple[int, ...] = struct.unpack_from(f"<{count}I", data, 4)
    return ends


def _inflated_to(
    body: bytes, crc: int, zdict: bytes, last: int
) -> tuple[memoryview, int, tuple[int, ...]]:
    """A block written by `_pack` that holds a record `last`, checked, as `_block` gives
    it (Stale if it is not such a block). Inflated whole: LZ4 inflates a block in a few
    microseconds, less than deflate took to inflate part of one (and a block without
    LZ4 is deflated whole too, for one way of reading both)."""
    if not _intact(body, crc):
        raise Stale
    data, base, ends = _block(body, zdict)
    if not 0 <= last < len(ends):
        raise Stale
    return data, base, ends


def _unpack(body: bytes, zdict: bytes) -> list[memoryview]:
    """The encoded records of a block written by `_pack` (Stale if it is not one)."""
    data, base, ends = _block(body, zdict)
    out = []
    start = base
    for end in ends:
        out.append(data[start : base + end])
        start = base + end + _GAP
    return out


#: The preset dictionary's size: all that deflate can use (its window). Blocks of
#: 16 KB compress worse alone than blocks of 64 records did; a dictionary this large
#: makes up for it (at 100k synthetic claims the cache is 1.07x the YAML; 1.11x with 4 KB).
_ZDICT_BYTES = 32768


def _zdict(raws: Sequence[bytes]) -> bytes:
    """A preset dictionary for compressing blocks of records: a few records spread over
    the dataset (their field names and common words recur in every one)."""
    step = max(1, len(raws) // 256)
    return b"".join(raws[::step][:256])[-_ZDICT_BYTES:]


#: The name of a cache being built (see `_build`): nothing else in the directory is
#: taken for one, whatever its name ends with.
_TEMPORARY = re.compile(r"\.[\w-]{0,40}-[0-9a-f]{16}\.[0-9a-f]{16}\.tmp")


def _sweep(directory: Path, max_age: float = 3600.0) -> None:
    """Remove temporary files left by builds that were killed."""
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if _TEMPORARY.fullmatch(entry.name) and now - entry.stat().st_mtime > max_age:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _source_stamp(path: Path, ds: Dataset) -> tuple[str, str] | None:
    """The stamp and hash of the source text file, if it still holds the text parsed;
    raises Stale when it changed while the dataset loaded."""
    src = _source_path(path, ds.source)
    if src is None or ds.source_text is None:
        return None
    stamp = _stamp(os.stat(src))
    parsed = _text_digest(ds.source_text)
    if _source_digest(src) != parsed:
        raise Stale
    return stamp, parsed


#: The address space a thread may take: its stack (8 MiB, as a rule) and the arena C's
#: allocator reserves for it (64 MiB on 64-bit Linux).
_THREAD_ROOM = 72 * 1024 * 1024


#: What writing a cache takes of the address space, besides the dataset loaded: the
#: threads that write and compress (`_Writer`, `_ahead`), and this many times the
#: file's size, plus CACHE_SPARE.
CACHE_ROOM_FACTOR = 8
CACHE_SPARE = 32 * 1024 * 1024


def _room_to_write(size: int) -> bool:
    """Whether a cache for a file of `size` bytes may be written within the address
    space left under a limit (`ulimit -v`; always, with none). A process that runs out
    of it midway may not fail cleanly (a stack that cannot grow is a segmentation
    fault); without a cache, the command answers from the file all the same."""
    from .loading import address_space_left

    left = address_space_left()
    return left is None or left >= 3 * _THREAD_ROOM + CACHE_ROOM_FACTOR * size + CACHE_SPARE


class _Ahead:
    """`_bytes_digest` of a file's bytes, worked out by a thread of its own while they
    are parsed: hashing lets go of Python's lock (and so does the fast parser, for part
    of its work), so that on a second core the hash costs next to nothing."""

    def __init__(self) -> None:
        self._digest: list[str] = []
        self._thread: Any = None

    def hash(self, data: bytes) -> None:
        import threading

        from .loading import fast_parser_has_room

        def run() -> None:
            self._digest.append(_bytes_digest(data))

        # A thread takes address space (its stack, and C's allocator reserves 64 MiB
        # for it): under a tight limit it could leave too little for the parser,
        # which has counted on what was left when it began.
        if not fast_parser_has_room(len(data), _THREAD_ROOM):
            run()
            return
        thread = threading.Thread(target=run, name="cache-hash", daemon=True)
        try:
            with _stop_signals_blocked():  # they are for the main thread (see `_Writer`)
                thread.start()
        except RuntimeError:  # no thread to be had (a limit on threads): hashed here
            run()
            return
        self._thread = thread

    def digest(self) -> str:
        """The digest (IndexError if no bytes were given, or hashing failed)."""
        if self._thread is not None:
            self._thread.join()
        return self._digest[0]


def _parse(path: Path, label: str | None, status: Status | None) -> Dataset:
    """Parse the file itself, then refresh its cache (a cache that cannot be written is skipped)."""
    from . import loading

    try:
        st = os.stat(path)
        stamp = _stamp(st)
    except (OSError, Stale):
        return loading.load_dataset(path, label=label)  # the loader says what is wrong
    import gc

    hashing = _Ahead()
    big = status is not None and st.st_size >= PROGRESS_BYTES
    # Loading makes millions of objects and frees almost none: the cyclic collector
    # would walk them again and again for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with status(f"Loading {label or path}") if big and status else contextlib.nullcontext():
            ds = loading.load_dataset(path, label=label, on_bytes=hashing.hash)
            # Anything may go wrong writing a cache (a full disk, a number SQLite cannot
            # hold, text it cannot encode): the command goes on without one.
            with contextlib.suppress(Exception):
                if _room_to_write(st.st_size):
                    _write_cache(path, ds, stamp, hashing.digest(), _source_stamp(path, ds))
    finally:
        if collecting:
            # What loading made is kept, the dataset, or freed by counting references:
            # left to the collector, its first pass would walk every object of it once
            # more (a tenth of a second per 100k claims) for next to nothing.
            gc.freeze()
            gc.enable()
    return ds


# --- the API the commands use ------------------------------------------------------------------


def open_cache(path: Path, *, hash_below: int | None = None) -> Cache | None:
    """The cache for `path` when it is fresh and safe, else None (see `_check_fresh`
    for `hash_below`)."""
    try:
        return _connect(path, hash_below)
    except Stale:
        return None


def open_dataset(path: Path, label: str | None = None, *, status: Status | None = None) -> Dataset:
    """The dataset at `path`, validated: from the cache when it is fresh, else parsed."""
    cache = open_cache(path)
    if cache is not None:
        try:
            return cache.dataset()
        except (Stale, sqlite3.Error, msgspec.DecodeError):
            pass
        finally:
            cache.close()
    return _parse(path, label, status)


def answer(
    path: Path,
    label: str | None,
    status: Status | None,
    warm: Callable[[Cache], T],
    cold: Callable[[Dataset], T],
    written: Callable[[], int] | None = None,
) -> T:
    """`warm` asked of the cache when it is fresh; else (or if the cache turns out to be
    damaged) `cold` asked of the dataset parsed, which also refreshes the cache.

    `written` counts what has gone out (see `output.pieces_written`): when the cache is
    found damaged after `warm` began to write, answering again from the file would
    write that part twice, so the cache is thrown away (the next command rebuilds it)
    and the command fails with one line instead."""
    cache = open_cache(path)
    if cache is not None:
        before = written() if written is not None else 0
        try:
            return warm(cache)
        except (Stale, sqlite3.Error, msgspec.DecodeError):
            if written is not None and written() != before:
                from .errors import ImmunofactsError

                _discard(path)
                raise ImmunofactsError(
                    "the cache was damaged as it was read; run the command again"
                ) from None
        finally:
            cache.close()
    return cold(_parse(path, label, status))


def _discard(path: Path) -> None:
    """Remove the cache of `path`, found damaged (a missing one is rebuilt)."""
    cpath = cache_path(path)
    if cpath is not None:
        with contextlib.suppress(OSError):
            os.unlink(cpath)


def completion_ids(path: Path, kind: str, prefix: str, limit: int | None = None) -> list[str]:
    """`query.completion_ids` for shell completion, which must answer at once: from the
    cache when it is fresh, reading only the ids offered; else from the file, loaded as
    any command loads it (which builds the cache), when it is smaller than
    COMPLETION_LOAD_BYTES; else none."""
    from .query import COMPLETION_LIMIT
    from .query import completion_ids as reference

    limit = COMPLETION_LIMIT if limit is None else limit
    cache = open_cache(path, hash_below=COMPLETION_LOAD_BYTES)
    if cache is not None:
        try:
            return cache.completion_ids(kind, prefix, limit)
        except (Stale, sqlite3.Error, msgspec.DecodeError):
            pass
        finally:
            cache.close()
    try:
        if os.stat(path).st_size >= COMPLETION_LOAD_BYTES:
            return []
    except OSError:
        return []
    return reference(_parse(path, None, None), kind, prefix, limit)


def validate_dataset(
    path: Path, label: str | None = None, *, status: Status | None = None
) -> Dataset:
    """Parse and validate the file itself, whatever the cache holds, and refresh the cache."""
    return _parse(path, label, status)
