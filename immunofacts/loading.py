"""Load a dataset file: the only module that knows YAML.

A file is read with a size cap, decoded as UTF-8, parsed and validated. Two
parsers share the work:

* the fast path hands the text to yaml-rs (Rust) when it is installed (the
  ``fast`` extra: ``pip install 'immunofacts[fast]'``) and the text holds no
  tag, anchor, alias, directive, document marker, or number form or block
  scalar shape that the two parsers read differently, and is not nested deeper
  than a cheap scan can bound (deep nesting overflows a native parser's stack);
* the careful path is a hardened PyYAML loader (the C one where present) that
  refuses tags, aliases and duplicate keys, keeps every plain scalar under the
  YAML 1.2 core schema (so ``no`` stays a string and dates stay strings) and
  records the line of every node.

Any problem found on the fast path is reported from the careful path, so every
message carries ``file:line: where: what`` (a file over the careful path's
size cap is reported without lines rather than parsed twice). Both paths give
the same dataset, or the same refusal, for every text the fast one accepts.
"""

from __future__ import annotations

import datetime
import enum
import functools
import math
import os
import re
import stat
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgspec

from .errors import DataError, Problem, named
from .model import (
    MAX_NUMBER,
    SCHEMA_CHANGES,
    SCHEMA_VERSION,
    Case,
    Claim,
    ClaimKind,
    Dataset,
    Entity,
    EntityType,
    Evidence,
    Qualifier,
    Rating,
    Reason,
    Source,
    Verdict,
    review_problems,
)
from .paths import CONTROL, TEXT_DIRS_ENV, dir_to_allow, read_timeout, text_place

# What the environment says, kept where it is checked for both parse and cache (`paths`),
# and named here too.
from .paths import MAX_BYTES as MAX_BYTES
from .paths import READ_TIMEOUT_S as READ_TIMEOUT_S
from .paths import max_bytes as max_bytes

#: What an over-size dataset's error adds: how to load a large corpus on purpose.
_RAISE_CAP = (
    " (to load a large corpus, raise the cap with IMMUNOFACTS_MAX_BYTES: loading takes"
    " about 13 times the file's size in memory)"
)
#: The largest file the careful parser (PyYAML) reads: it keeps every node and
#: its line, so it needs many times the file's size in memory. Larger files
#: need the fast parser (the ``fast`` extra).
CAREFUL_MAX_BYTES = 16 * 1024 * 1024
#: The fast parser takes a text only when the address space left under a limit
#: (RLIMIT_AS, `ulimit -v`) is at least this many times its size, plus FAST_SPARE.
#: yaml-rs needs about 13 times the text's size at the most (its Python objects and
#: its own copy of the text), and when one of its allocations fails it aborts the
#: process (or hangs printing a backtrace) instead of raising MemoryError, as the
#: careful parser does.
FAST_ROOM_FACTOR = 20
#: Of which the Python objects it makes take up to about 6 times the size (measured:
#: 5.5): these need this many times the size outside its allocator's own reserve.
FAST_OBJECTS_FACTOR = 8
FAST_SPARE = 16 * 1024 * 1024
#: The careful parser stops (MemoryError) when the space left under such a limit falls
#: below this many times the text's size plus FAST_SPARE: what is left is for building
#: the dataset from what it read, and for unwinding.
CAREFUL_RESERVE_FACTOR = 2
#: The deepest nesting of mappings and lists accepted.
MAX_DEPTH = 32
#: Longest integer literal read as a number; longer ones stay strings.
MAX_INT_DIGITS = 30
#: At most this many problems are reported; the rest are counted.
MAX_PROBLEMS = 100
#: Nesting the pre-scan can bound cheaply; text that may go deeper takes the careful path.
_SCAN_INDENT = 40
_SCAN_COMPACT = 8
_SCAN_FLOW = 40

Path_ = tuple[str | int, ...]
LineMap = dict[Path_, int]

_TOP_FIELDS = ("schema", "source", "entities", "claims", "cases")
_RECORD_TYPES: dict[str, type[Entity] | type[Claim] | type[Case]] = {
    "entities": Entity,
    "claims": Claim,
    "cases": Case,
}
_CONTROL = CONTROL
_PATTERN_MSGS = {
    "doi": "expected a DOI like 10.1038/s41586-020-03041-6",
    "pmid": "expected a PubMed id of digits",
    "nct": "expected a trial id like NCT04365101",
    "url": "expected an http:// or https:// address",
}
_DATE_MSG = "expected YYYY, YYYY-MM or YYYY-MM-DD"
_ID_MSG = "expected an id of lowercase letters, digits and hyphens"


#: What to say of the operating system errors that have a plainer answer than their own.
_OS_ERRORS: dict[type[OSError], str] = {
    FileNotFoundError: "no such file",
    PermissionError: "permission denied",
    BlockingIOError: "cannot be read without waiting (a device or a kernel file?)",
}


def _os_error(e: OSError, doing: str, also: type[OSError]) -> str:
    """What to say when `doing` (open, read) a file fails with `e`: permission denied,
    or `also`'s plain words, or the system's own."""
    for kind in (PermissionError, also):
        if isinstance(e, kind):
            return _OS_ERRORS[kind]
    return f"cannot {doing}: {e.strerror or e}"


def read_text(
    path: Path,
    label: str | None = None,
    limit: int | None = None,
    on_bytes: Callable[[bytes], object] | None = None,
) -> str:
    """Read a regular UTF-8 text file under the size cap, or raise DataError.

    `on_bytes` is given the bytes read, before they are decoded.
    """
    name = label or str(path)
    hint = _RAISE_CAP if limit is None else ""
    limit = max_bytes() if limit is None else limit

    def fail(what: str, line: int | None = None) -> DataError:
        return DataError([Problem(name, line, "", what)])

    try:
        st = os.stat(path)
    except OSError as e:
        raise fail(_os_error(e, "open", FileNotFoundError)) from None
    if stat.S_ISDIR(st.st_mode):
        raise fail("is a directory, not a dataset file")
    if not stat.S_ISREG(st.st_mode):
        raise fail("is not a regular file (a FIFO, socket or device?)")
    if st.st_size > limit:
        raise too_large(name, st.st_size, None if hint else limit)
    try:
        data = _read_in_time(path, limit + 1, read_timeout())
    except TimeoutError as e:
        raise fail(str(e)) from None
    except OSError as e:
        raise fail(_os_error(e, "read", BlockingIOError)) from None
    if len(data) > limit:
        raise fail(f"file is over the limit of {limit:,} bytes{hint}")
    if on_bytes is not None:
        on_bytes(data)
    return decode(data, name)


def too_large(name: str, size: int, limit: int | None = None) -> DataError:
    """What a file of `size` bytes is refused with, over `limit` (the size cap if None)."""
    hint = _RAISE_CAP if limit is None else ""
    limit = max_bytes() if limit is None else limit
    return DataError(
        [
            Problem(
                name, None, "", f"file is {size:,} bytes, over the limit of {limit:,} bytes{hint}"
            )
        ]
    )


def _read_in_time(path: Path, limit: int, timeout: float) -> bytes:
    """`_read_bounded` in a thread of its own, given up on (TimeoutError) when it
    goes `timeout` seconds without reading anything: a read on a stalled mount
    may never return, and no signal can stop it."""
    import threading

    progress = [0]
    result: list[bytes | BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            result.append(_read_bounded(path, limit, progress))
        except BaseException as e:  # handed to the waiting thread
            result.append(e)
        finally:
            done.set()

    try:
        threading.Thread(target=work, name="immunofacts-read", daemon=True).start()
    except RuntimeError:  # no thread to be had (a limit on threads or memory): read here
        return _read_bounded(path, limit)
    seen = 0
    while not done.wait(timeout):
        if progress[0] == seen:
            raise TimeoutError(f"reading timed out after {timeout:g} s (a stalled mount?)")
        seen = progress[0]
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def _read_bounded(path: Path, limit: int, progress: list[int] | None = None) -> bytes:
    """Up to `limit` bytes of a file, opened so that it cannot block.

    Some files look regular but wait for data (``/proc/kmsg``); opened
    non-blocking, they fail at once instead of hanging. The descriptor is
    checked again after opening, in case the path was swapped for a FIFO.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        chunks: list[bytes] = []
        size = 0
        # The whole file in one read when its size is known (no copy to join them).
        step = max(min(os.fstat(fd).st_size + 1, limit), 1 << 20)
        while size < limit:
            chunk = os.read(fd, min(limit - size, step))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if progress is not None:
                progress[0] += 1
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode(data: bytes, name: str) -> str:
    """Decode a file's bytes as UTF-8 (a UTF-8 byte-order mark is allowed)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError([Problem(name, 1, "", "file is UTF-16; save it as UTF-8")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise DataError([Problem(name, line, "", "file contains a NUL byte; is it binary?")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(
            [Problem(name, line, "", f"not valid UTF-8 (byte 0x{data[e.start]:02x})")]
        ) from None


def load_dataset(
    path: str | os.PathLike[str] | None = None,
    *,
    label: str | None = None,
    on_bytes: Callable[[bytes], object] | None = None,
    texts: Callable[[str], bool] | None = None,
) -> Dataset:
    """Read, parse and validate a dataset file, or raise DataError listing every problem.

    With no path, the dataset that ships with the package. `on_bytes` is given
    the file's bytes as read, before they are parsed. `texts`, when given, is
    asked about the source text's path before the text is read: it may put the
    text in place and answer True, or answer False to leave the quotes unchecked
    (for a version of the dataset whose text is not at hand).
    """
    if path is None:
        from .paths import bundled_data_path

        path = bundled_data_path()
    p = Path(path)
    name = label or str(p)
    read: list[bytes] = []

    def keep(data: bytes) -> None:
        read.append(data)
        if on_bytes is not None:
            on_bytes(data)

    text = read_text(p, name, on_bytes=keep)
    raw = read[0][3:] if read[0].startswith(b"\xef\xbb\xbf") else read[0]
    return parse_dataset(text, name, base_dir=p.parent, raw=raw, texts=texts)


#: White space and whole-line comments: a text that is nothing else holds no data.
_BLANKS_AND_COMMENTS = re.compile(r"(?:\s|#[^\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]*)*")


#: Characters YAML 1.1 reads as line breaks and YAML 1.2 as text, each with its name:
#: both parsers break lines at them (a comment would end there, and what follows it be
#: read as data), and every line reported after one would be wrong. NEL is a C1 control.
_YAML11_BREAKS = {
    "\x85": "next line (NEL), a control character",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
}


def _refuse_yaml11_breaks(text: str, name: str) -> None:
    """Raise DataError for the first of `_YAML11_BREAKS` in `text`, anywhere in it, with
    its line and column (lines counted as YAML 1.2 counts them)."""
    found = [at for ch in _YAML11_BREAKS if (at := text.find(ch)) >= 0]
    if not found:
        return
    at = min(found)
    start = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at)) + 1
    line = text.count("\n", 0, at) + len(_LONE_CR_TEXT.findall(text, 0, at)) + 1
    ch = text[at]
    what = (
        f"{_YAML11_BREAKS[ch]} U+{ord(ch):04X} is not allowed (YAML parsers read it as a "
        f"line break); write it as an escape in a double-quoted string"
    )
    raise DataError([Problem(name, line, "", what, at - start + 1)])


_LONE_CR_TEXT = re.compile("\r(?!\n)")


def parse_dataset(
    text: str,
    name: str = "<string>",
    base_dir: Path | None = None,
    *,
    fast: bool = True,
    raw: bytes | None = None,
    texts: Callable[[str], bool] | None = None,
) -> Dataset:
    """Parse and validate dataset text; `base_dir` resolves the source text's path.

    With `fast` False, only the careful parser reads it (as without the ``fast``
    extra). `raw` is the text's UTF-8 bytes, when the caller has them. `texts`
    is as for load_dataset.
    """
    _refuse_yaml11_breaks(text, name)
    if _BLANKS_AND_COMMENTS.match(text).end() == len(text):  # type: ignore[union-attr]
        raise DataError([Problem(name, None, "", "file is empty: expected a dataset mapping")])
    data, why = _fast_parse(text, raw) if fast else (None, "it is turned off")
    too_big = (
        len(text) > CAREFUL_MAX_BYTES
        and (len(raw) if raw is not None else len(text.encode("utf-8"))) > CAREFUL_MAX_BYTES
    )
    memo: dict[str, Any] = {}  # work the two builds share: the source text, its quote index
    if data is not None:
        try:
            return build_dataset(data, name, None, base_dir, memo=memo, texts=texts)
        except DataError:
            if too_big:  # parsing it again to find the lines would take too much memory
                raise
            # else report from the careful path, which knows the lines
    if too_big:
        raise DataError(
            [
                Problem(
                    name,
                    None,
                    "",
                    f"file is over {CAREFUL_MAX_BYTES:,} bytes, the most the careful parser "
                    f"reads, and the fast parser cannot take it: {why}",
                )
            ]
        )
    raw, lines = parse_yaml(text, name)
    return build_dataset(raw, name, lines, base_dir, memo=memo, texts=texts)


# --- the pre-scan: may the fast parser take the text? ------------------------
#
# The scan works on the text's UTF-8 bytes and on one translation of them
# (`_MARKS`) in which the characters it looks for fall into a few classes, so
# that almost every question is a literal search, which runs at memory speed;
# Python looks only at the rare hits (an ``&``, a block scalar header).

#: Two compact indicators in a row, as any run of three or more holds.
_DEEP_COMPACT = re.compile(rb"^[ \t]*(?:[-?:][ \t]+){%d}" % _SCAN_COMPACT, re.MULTILINE)
#: Number forms outside the YAML 1.2 core schema that yaml-rs reads as numbers
#: anyway (digit separators, binary, signed hex or octal): text with any of
#: these takes the careful path. Each pattern starts with a literal, which
#: `re` finds fast.
_SEPARATOR = re.compile(rb"_(?:(?<=[0-9]_)|(?=[0-9]))")
_RADIX = re.compile(rb"0[xXoObB]")
_NODE_START = b" \t\r\n[]{},"
#: The end of a token before a point, and its rest after one (within _TOKEN_SPAN bytes).
_TOKEN_TAIL = re.compile(rb"[^ \t\r\n\[\]{},:#\"']*\Z")
_TOKEN_REST = re.compile(rb"[^ \t\r\n\[\]{},:#\"']*")
_TOKEN_SPAN = 64
#: The characters of any number _NUMBERISH matches.
_NUMBER_BYTES = re.compile(rb"[-+0-9a-fA-FxXoObB_.]*")
_NUMBERISH = re.compile(r"[-+]?(?:0[xXoObB])?[0-9a-fA-F_.]+(?:[eE][-+]?[0-9_]+)?")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: A header both parsers read alike (see _block_scalars_agree), the line it ends
#: (list dashes and a plain key before it), and the indentation of the next line,
#: which must hold text.
_BLOCK_HEAD = re.compile(
    rb"(?P<indent> *)(?P<dashes>(?:- +)*)(?:(?P<key>[A-Za-z_][A-Za-z0-9_-]*): +)?"
    rb"(?P<style>[|>])[-+]?(?: *| +#[^\r\n]*)\r?\n(?P<inner> *)[^ \r\n]"
)
#: A tab at the start of a line (after spaces); a carriage return alone.
_BLOCK_TAB = re.compile(rb"^ *\t", re.MULTILINE)
_LONE_CR = re.compile(rb"\r(?!\n)")
#: Bytes looked at one by one when there are more than this share of them (a text
#: made of ``&`` or ``>``) make the scan refuse the text instead.
_HIT_SHARE = 16


def _marks_table() -> bytes:
    """The classes of `_MARKS`: each byte is itself unless listed here."""
    table = bytearray(range(256))
    for b in b"123456789":
        table[b] = ord("0")  # a digit
    table[ord(">")] = ord("|")  # a block scalar indicator
    table[ord("*")] = ord("&")  # an anchor or alias indicator
    table[ord("?")] = ord("-")  # a compact indicator
    table[ord("\t")] = ord(" ")
    return bytes(table)


_MARKS = _marks_table()
#: ASCII other than control characters: what remains of a text without them is
#: its controls and its other characters, whole (a UTF-8 sequence has no ASCII byte).
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n\r"
#: Characters yaml-rs and PyYAML read differently, in UTF-8: C0 and C1 controls
#: (with NEL, U+0085, a line break to PyYAML only), U+2028, U+2029, U+FFFE, U+FFFF.
_ODD_CHARACTER = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbf[\xbe\xbf]"
)
_DOCUMENT_MARKER = re.compile(rb"\n(?:---|\.\.\.|%)")
#: Two compact indicators with spaces between (in `_MARKS`: ? as -, a tab as a space).
_COMPACT_PAIR = re.compile(rb"- +-")
#: Brackets only, opening ones as ``[`` and closing ones as ``]``.
_BRACKETS = bytes(range(256)).replace(b"{", b"[").replace(b"}", b"]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _hits(marks: bytes, mark: bytes) -> list[int] | None:
    """Where `mark` (one byte) is; None when there are too many to look at one by one."""
    most = len(marks) // _HIT_SHARE + 1000
    out: list[int] = []
    i = marks.find(mark)
    while i >= 0:
        out.append(i)
        if len(out) > most:
            return None
        i = marks.find(mark, i + 1)
    return out


def nesting_is_shallow(text: str, raw: bytes | None = None, marks: bytes | None = None) -> bool:
    """Whether the text surely nests less deep than a native parser's stack allows.

    A cheap, linear scan that may answer False for harmless text (a quoted
    ``[[[[``, a deeply indented block scalar), never True for text that nests
    deeply: block nesting needs more indentation or compact indicators
    (``- - -``) at each level, and flow nesting needs brackets. `raw` is the
    text's UTF-8 bytes and `marks` their `_MARKS` translation, when the caller
    has them.
    """
    raw = _utf8(text) if raw is None else raw
    marks = raw.translate(_MARKS) if marks is None else marks
    indent = b" " * _SCAN_INDENT
    if raw.startswith(indent) or b"\n" + indent in raw:
        return False
    if _COMPACT_PAIR.search(marks) and _DEEP_COMPACT.search(raw):
        return False
    if b"[" in raw or b"{" in raw:
        # Remove innermost pairs until none is left: the depth of any point is at
        # most the number of rounds plus the unmatched openings left.
        seq = raw.translate(_BRACKETS, _NOT_BRACKETS)
        rounds = 0
        while b"[]" in seq:
            rounds += 1
            if rounds > _SCAN_FLOW:
                return False
            seq = seq.replace(b"[]", b"")
        if rounds + seq.count(b"[") > _SCAN_FLOW:
            return False
    return True


def is_plain(text: str, raw: bytes | None = None, marks: bytes | None = None) -> bool:
    """Whether the text holds no tag, anchor, alias, directive, document marker, or
    block scalar that the two parsers may read differently.

    A tag, anchor or alias begins a node: at the start, or after a space or a
    flow indicator, followed by its name. This may answer False for harmless
    text (``a *b*`` in a plain scalar), never True for text that has one.
    `raw` and `marks` are as for nesting_is_shallow.
    """
    raw = _utf8(text) if raw is None else raw
    marks = raw.translate(_MARKS) if marks is None else marks
    if raw.startswith((b"---", b"...", b"%")) or _DOCUMENT_MARKER.search(raw):
        return False
    if _ODD_CHARACTER.search(raw.translate(None, _PRINTABLE_ASCII)):
        return False  # the careful path names the character and its line
    if not _block_scalars_agree(raw, marks):
        return False
    for mark in (b"&", b"!"):  # & stands for & and *
        if mark not in marks:
            continue
        hits = _hits(marks, mark)
        if hits is None:
            return False
        for i in hits:
            if i == 0 or raw[i - 1] in _NODE_START:
                after = raw[i + 1 : i + 2]
                if mark == b"!" or (after and after not in _NODE_START):
                    return False
    return True


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _block_scalars_agree(raw: bytes, marks: bytes) -> bool:
    """Whether every block scalar of the text is of a shape both parsers read alike.

    yaml-rs and PyYAML differ on a block scalar with no content line (yaml-rs
    reads a line break), whose first line is blank or holds only spaces, whose
    header has an indentation indicator (``|2``), on the last one of a text
    with no final line break (yaml-rs adds one), on a tab at the start of a
    line, and on a lone carriage return. They agree on the rest: both chomping
    indicators, a comment after the header, blank and more-indented lines,
    CRLF. Any doubt (a ``: >`` inside another scalar) sends the text to the
    careful path.
    """
    if b"|" not in marks:  # | stands for | and >
        return True
    hits = _hits(marks, b"|")
    if hits is None:
        return False
    checked = False
    line = -1
    for i in hits:
        # A header follows one of : ? - and spaces, or starts its line.
        lo = max(0, i - _TOKEN_SPAN)
        nl = raw.rfind(b"\n", lo, i)
        before = raw[nl + 1 if nl >= 0 else lo : i]
        lead = before.rstrip(b" \t")
        if lead and not (lead[-1:] in (b":", b"?", b"-") and len(lead) < len(before)):
            continue  # inside a scalar: not a header
        if not checked:
            checked = True
            if not raw.endswith(b"\n") or (b"\t" in raw and _BLOCK_TAB.search(raw)):
                return False
            if b"\r" in raw and _LONE_CR.search(raw):
                return False
        start = raw.rfind(b"\n", 0, i) + 1
        if start == line:
            return False  # two on one line
        line = start
        head = _BLOCK_HEAD.match(raw, start)
        if head is None or head.start("style") != i:
            return False
        indent, dashes, key = len(head["indent"]), head["dashes"], head["key"]
        # The column of the scalar's parent: its key, or the last list dash.
        parent = indent + (len(dashes) if key else len(dashes.rstrip(b" ")) - 1)
        if not (key or dashes) or len(head["inner"]) <= parent:
            return False
    return True


def _odd_numbers(text: str, raw: bytes | None = None, marks: bytes | None = None) -> bool:
    """Whether the text may hold a plain scalar that yaml-rs reads as a number and the
    core schema does not (see _SEPARATOR): a token around a hit that looks like one,
    or an integer too long to hold (which yaml-rs also reads in quadratic time)."""
    raw = _utf8(text) if raw is None else raw
    marks = raw.translate(_MARKS) if marks is None else marks
    if b"0" * (MAX_INT_DIGITS + 1) in marks:
        return True
    hits = list(_SEPARATOR.finditer(raw)) if b"_" in raw else []
    hits += list(_RADIX.finditer(raw))
    for m in hits:
        lo, hi = m.start(), m.end()
        tail = _TOKEN_TAIL.search(raw, max(0, lo - _TOKEN_SPAN), lo)
        rest = _TOKEN_REST.match(raw, hi, hi + _TOKEN_SPAN)
        assert tail is not None and rest is not None
        token = raw[tail.start() : rest.end()]
        if not _NUMBER_BYTES.fullmatch(token):
            continue  # a character no number has (even if the token goes on)
        if tail.start() == lo - _TOKEN_SPAN or rest.end() == hi + _TOKEN_SPAN:
            return True  # a long token of number characters: a number, for all we know
        if _NUMBERISH.fullmatch(token.decode()) and not _INT.fullmatch(token.decode()):
            return True
    return False


def fast_parser_available() -> bool:
    """Whether the fast parser (yaml-rs, the ``fast`` extra) is installed."""
    try:
        import yaml_rs  # noqa: F401
    except ImportError:
        return False
    return True


def address_space_left() -> int | None:
    """Bytes this process may still map under its address-space limit (RLIMIT_AS);
    None with no limit. On Linux only (elsewhere None): the process's size is read from
    /proc/self/statm, and when that cannot be read, nothing is taken to be left."""
    import sys

    if sys.platform != "linux":
        return None
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    size = _mapped_bytes()
    return 0 if size is None else max(soft - size, 0)


def _mapped_bytes() -> int | None:
    """This process's size (its address space mapped), or None if it cannot be read."""
    import resource

    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


def _memory_watch(reserve: int) -> Callable[[], None] | None:
    """Under an address-space limit, a check that raises MemoryError when less than
    `reserve` bytes are left; None with no limit.

    A process that fills its address space to the last page may never leave it: the
    interpreter needs a little memory to unwind each frame, and when even that fails
    it tries again for ever (Python 3.11). Stopped with some room left, it unwinds."""
    if address_space_left() is None:
        return None

    def watch() -> None:
        left = address_space_left()
        if left is not None and left < reserve:
            raise MemoryError

    return watch


def fast_parser_has_room(size: int, also: int = 0, reserved: int = 0) -> bool:
    """Whether the fast parser may take a text of `size` bytes within the memory left
    under an address-space limit (always, with none): see FAST_ROOM_FACTOR. `also`:
    bytes wanted besides, by whatever runs meanwhile. `reserved`: address space its
    allocator has reserved for itself, counted as taken but free for its own copy;
    the Python objects it makes (FAST_OBJECTS_FACTOR) need room outside it."""
    left = address_space_left()
    if left is None:
        return True
    need = FAST_SPARE + also
    return (
        left + reserved >= FAST_ROOM_FACTOR * size + need
        and left >= FAST_OBJECTS_FACTOR * size + need
    )


#: The address space the fast parser's import took, when it was imported under a limit.
_fast_import_took: list[int] = []


def _import_fast_parser() -> tuple[Any, int]:
    """yaml_rs (ImportError if it is not installed), and the address space its import
    took (0 if unknown): its allocator reserves an arena as it loads, as large as the
    limit allows (none, 128 MiB or 1 GiB), in which its own allocations are made."""
    import sys

    if "yaml_rs" in sys.modules:
        return sys.modules["yaml_rs"], sum(_fast_import_took)
    before = _mapped_bytes() if address_space_left() is not None else None
    import yaml_rs

    after = _mapped_bytes() if before is not None else None
    if before is not None and after is not None and after > before:
        _fast_import_took.append(after - before)
    return yaml_rs, sum(_fast_import_took)


def _fast_parse(text: str, raw: bytes | None = None) -> tuple[Any, str]:
    """Parse with yaml-rs when it is installed and may take the text; else (None, why not).

    `raw` is the text's UTF-8 bytes, when the caller has them.
    """
    raw = _utf8(text) if raw is None else raw
    marks = raw.translate(_MARKS)
    if not is_plain(text, raw, marks):
        return None, "it has a tag, anchor, alias, directive, document marker or control character"
    if _odd_numbers(text, raw, marks):
        return None, "it has a number written in a form outside YAML 1.2's core schema"
    if not nesting_is_shallow(text, raw, marks):
        return None, "it may be nested too deeply"
    try:
        yaml_rs, reserved = _import_fast_parser()
    except ImportError:
        return None, "it is not installed (pip install 'immunofacts[fast]')"
    if not fast_parser_has_room(len(raw), reserved=reserved):
        return None, "the address-space limit (ulimit -v) leaves too little memory for it"
    try:
        return (
            yaml_rs.loads(
                text,
                parse_datetime=False,
                duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error,
                alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=0),
            ),
            "",
        )
    except Exception as e:
        return None, f"it refused the text ({str(e)[:80]})"


# --- the careful path -------------------------------------------------------

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
# Numbers as the YAML 1.2 core schema reads them (text with other forms that
# yaml-rs would read as numbers never takes the fast path: see _NUMBER_FORMS).
_INT = re.compile(r"0o([0-7]+)|0x([0-9a-fA-F]+)|[-+]?([0-9]+)")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = {
    f"{sign}.{word}": float(f"{sign}{word[:3].lower()}")
    for sign in ("", "+", "-")
    for word in ("inf", "Inf", "INF")
} | {".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


def _resolve_plain(value: str) -> Any:
    """A plain scalar under the YAML 1.2 core schema: dates and ``no`` stay strings."""
    if value in _NULLS:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    m = _INT.fullmatch(value)
    if m:
        if len(value) > MAX_INT_DIGITS:
            return value  # out of any number field's range; validation says so
        sign = -1 if value.startswith("-") else 1
        for base, digits in zip((8, 16, 10), m.groups(), strict=True):
            if digits is not None:
                return sign * int(digits, base)
    if _FLOAT.fullmatch(value):
        return float(value)
    return _SPECIAL_FLOAT.get(value, value)


#: A character beyond U+FFFF written in JSON's way, as a pair of surrogate escapes (not
#: after an escaped backslash), which PyYAML refuses.
_PAIR_ESCAPE = re.compile(
    r"(?<!\\)((?:\\\\)*)\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
)


def _astral_escapes(text: str) -> str:
    """JSON text with each surrogate-pair escape written as the one ``\\U`` escape YAML
    reads. Only for text that is JSON, where every backslash is inside a double-quoted
    string (in YAML's other scalars a backslash is just a character)."""
    if "\\u" not in text or text.lstrip()[:1] not in ("{", "["):
        return text
    if _PAIR_ESCAPE.search(text) is None:
        return text
    try:
        msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text

    def one(m: re.Match[str]) -> str:
        hi, lo = int(m.group(2), 16), int(m.group(3), 16)
        return f"{m.group(1)}\\U{0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00):08x}"

    return _PAIR_ESCAPE.sub(one, text)


#: The largest dataset file whose lines `lines_of` finds: read a second time by the
#: careful parser, which takes about a second a megabyte.
LINES_BELOW = 2 * 1024 * 1024


def lines_of(path: Path, wanted: Iterable[tuple[Path_, str]]) -> list[int | None]:
    """The line of each of `wanted` (a path into the data, and the text found there when
    the file was loaded) in the dataset file `path`, where the file is small enough to
    parse again for them (`LINES_BELOW`). None for a path that holds other text now (the
    file changed since), and for each if the file cannot be read again."""
    asked = list(wanted)
    try:
        if path.stat().st_size >= LINES_BELOW:
            return [None] * len(asked)
        data, lines = parse_yaml(read_text(path, limit=LINES_BELOW), str(path))
    except (OSError, DataError):
        return [None] * len(asked)
    return [_line(lines, p) if _value_at(data, p) == text else None for p, text in asked]


def where_of(path: Path_) -> str:
    """A path into the data as problems name it (``entities[3].aliases[0]``)."""
    return _where(path)


def parse_yaml(text: str, name: str) -> tuple[Any, LineMap]:
    """Parse YAML text strictly; return the data and the line of every node's path.

    The data is built from the parser's events with an explicit stack, not
    from a composed node tree: nesting is refused at MAX_DEPTH as soon as it
    is seen (no recursion, whatever the input), and memory holds the data and
    its lines, not a node object with two marks for every scalar.
    """
    import yaml

    base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def problem(mark: Any, where: str, what: str) -> DataError:
        line = mark.line + 1 if mark is not None else None
        return DataError([Problem(name, line, where, what)])

    text = _astral_escapes(text)
    loader = base(text)
    try:
        try:
            return _build_from_events(loader, problem, text)
        except yaml.reader.ReaderError as e:
            line = text.count("\n", 0, e.position) + 1
            what = (
                f"control character U+{e.character:04X} is not allowed; "
                "write it as an escape in a double-quoted string"
                if isinstance(e.character, int)
                else "unreadable character"
            )
            raise DataError([Problem(name, line, "", what)]) from None
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            what = " ".join(str(x) for x in (e.context, e.problem) if x)
            raise problem(mark, "", f"YAML syntax error: {what}") from None
        except yaml.YAMLError as e:
            raise DataError([Problem(name, None, "", f"YAML error: {e}")]) from None
    finally:
        loader.dispose()


class _Open:
    """A mapping or list being built: its path, and the key awaiting its value."""

    __slots__ = ("is_map", "key", "path", "value")

    def __init__(self, value: dict[str, Any] | list[Any], path: Path_) -> None:
        self.value = value
        self.path = path
        self.is_map = isinstance(value, dict)
        self.key: str | None = None


def _event_line(ev: Any) -> int:
    mark = ev.start_mark
    return int(mark.line) + 1 if mark is not None else 1


#: Escapes that can make half of a surrogate pair (the only way to write one in UTF-8 text).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]|\\U0000[dD][89a-fA-F]")
_PLAIN_CACHE_LIMIT = 50_000


def _build_from_events(loader: Any, problem: Any, text: str) -> tuple[Any, LineMap]:
    import yaml

    ev_scalar, ev_alias = yaml.ScalarEvent, yaml.AliasEvent
    ev_map_start, ev_seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    ev_ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    ev_doc_start, ev_stream_end = yaml.DocumentStartEvent, yaml.StreamEndEvent
    str_tags = (None, "!", _STR_TAG)
    check_surrogates = _SURROGATE_ESCAPE.search(text) is not None
    plain_cache: dict[str, Any] = {}
    lines: LineMap = {}
    stack: list[_Open] = []
    top: _Open | None = None
    root: Any = None
    have_root = False
    documents = 0
    get_event = loader.get_event
    watch = _memory_watch(CAREFUL_RESERVE_FACTOR * len(text) + FAST_SPARE)
    seen = 0

    def fail(ev: Any, path: Path_, what: str) -> DataError:
        error: DataError = problem(ev.start_mark, _where(path), what)
        return error

    while True:
        ev: Any = get_event()
        if watch is not None:
            seen += 1
            if not seen & 4095:
                watch()
        cls = type(ev)
        if cls is ev_scalar and top is not None and top.is_map and top.key is None:
            # A key.
            key = ev.value
            if ev.tag not in str_tags:
                raise fail(ev, top.path, "mapping keys must be plain strings")
            if check_surrogates and _SURROGATE.search(key):
                raise fail(ev, top.path, "a key holds half of a surrogate pair")
            if ev.tag is None and not ev.style and not isinstance(_resolve_plain(key), str):
                raise fail(ev, top.path, f"mapping keys must be strings, not {_shown(key)}")
            if key in top.value:
                raise fail(ev, (*top.path, key), "duplicate key")
            top.key = key
            lines[(*top.path, key)] = _event_line(ev)
            continue
        if cls is ev_scalar or cls is ev_map_start or cls is ev_seq_start or cls is ev_alias:
            # A new node: a value, a list item, or the root.
            if top is None:
                path: Path_ = ()
                lines[()] = _event_line(ev)
            elif top.is_map:
                path = (*top.path, top.key)  # type: ignore[arg-type]
            else:
                path = (*top.path, len(top.value))
                lines[path] = _event_line(ev)
            if cls is ev_scalar:
                tag, raw_value = ev.tag, ev.value
                if tag is None and not ev.style:  # plain and untagged: the core schema decides
                    value = plain_cache.get(raw_value, plain_cache)
                    if value is plain_cache:
                        value = _resolve_plain(raw_value)
                        if len(plain_cache) < _PLAIN_CACHE_LIMIT and len(raw_value) < 20:
                            plain_cache[raw_value] = value
                else:
                    if tag not in str_tags:
                        raise fail(ev, path, f"YAML tags are not allowed ({tag})")
                    value = raw_value
                if check_surrogates and isinstance(value, str):
                    bad = _SURROGATE.search(value)
                    if bad:
                        what = f"\\u{ord(bad.group()):04x} is half of a surrogate pair"
                        raise fail(ev, path, what + ", not a character")
            elif cls is ev_alias:
                raise fail(ev, path, "aliases (*name) are not allowed")
            else:
                is_map = cls is ev_map_start
                if ev.tag not in (None, "!", _MAP_TAG if is_map else _SEQ_TAG):
                    raise fail(ev, path, f"YAML tags are not allowed ({ev.tag})")
                if len(stack) >= MAX_DEPTH:
                    raise fail(ev, path, f"nested more than {MAX_DEPTH} levels deep")
                top = _Open({} if is_map else [], path)
                stack.append(top)
                continue
        elif cls in ev_ends:
            value = stack.pop().value
            top = stack[-1] if stack else None
        elif cls is ev_doc_start:
            documents += 1
            if documents > 1:
                raise problem(ev.start_mark, "", "expected a single document, found another")
            continue
        elif cls is ev_stream_end:
            break
        else:  # stream start, document end
            continue
        # A finished value: put it where it belongs.
        if top is None:
            root, have_root = value, True
        elif top.is_map:
            top.value[top.key] = value  # type: ignore[call-overload,index]
            top.key = None
        else:
            top.value.append(value)  # type: ignore[union-attr]
    if not have_root:
        lines[()] = 1
    return root, lines


@functools.cache
def _dumper() -> type[Any]:
    """PyYAML's safe dumper, told that text the YAML 1.2 core schema reads as a number
    (`08`, `0o17`, `1e5`: the loader reads numbers so) is not plain text: PyYAML, which
    reads YAML 1.1, would write it unquoted, and it would read back as a number."""
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc, valid-type]
        pass

    Dumper.add_implicit_resolver(
        "tag:yaml.org,2002:int", re.compile(rf"^(?:{_INT.pattern})$"), list("-+0123456789")
    )
    specials = "|".join(re.escape(word) for word in _SPECIAL_FLOAT)
    Dumper.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(rf"^(?:{_FLOAT.pattern}|{specials})$"),
        list("-+.0123456789"),
    )
    return Dumper


def dump_yaml(data: Any) -> str:
    """YAML text for plain data, in block style, that `load_dataset` reads back unchanged.

    Text holding characters that YAML treats as line breaks (NEL, U+2028,
    U+2029) is written with every non-ASCII character escaped, so they survive.
    """
    import yaml

    dumper = _dumper()
    probe = yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False, width=1000)
    if any(ch in probe for ch in "\x85\u2028\u2029"):
        return yaml.dump(data, Dumper=dumper, allow_unicode=False, sort_keys=False, width=1000)
    return probe


# --- validation -------------------------------------------------------------


def _where(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(lines: LineMap | None, path: Path_) -> int | None:
    if lines is None:
        return None
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]


_MSG_PATH = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.DOTALL)
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _value_at(data: Any, path: Path_) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _explain(err: msgspec.ValidationError, raw: Any, prefix: Path_) -> tuple[Path_, str]:
    """Turn a msgspec message into (path, what) in this project's words."""
    m = _MSG_PATH.match(str(err))
    assert m is not None
    what, sub = m.group(1), m.group(2) or ""
    path: Path_ = prefix + tuple(int(idx) if idx else key for key, idx in _PATH_PART.findall(sub))
    value = _value_at(raw, path[len(prefix) :])
    if what.startswith("Object contains unknown field"):
        field = what.split("`")[1]
        return (*path, field), f"unknown field {field!r}"
    if what.startswith("Object missing required field"):
        field = what.split("`")[1]
        return path, f"missing required field {field!r}"
    if "matching regex" in what:
        field = path[-1] if path else ""
        if field == "date":
            return path, f"{_DATE_MSG}, got {_shown(value)}"
        if field in _PATTERN_MSGS:
            return path, f"{_PATTERN_MSGS[field]}, got {_shown(value)}"
        return path, f"{_ID_MSG}, got {_shown(value)}"
    if what.startswith("Invalid enum value"):
        named = [part for part in path if isinstance(part, str)]
        field = named[-1] if named else ""
        enum = _ENUMS.get(field) if isinstance(field, str) else None
        if enum is None:
            return path, f"{what[0].lower()}{what[1:]}"
        allowed = [str(e.value) for e in enum]
        return path, f"expected one of {', '.join(allowed)}; got {_shown(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return path, f"expected a finite number, got {value}"
    bound = re.match(r"Expected `(?:int|float)` ([<>]=) (\S+)$", what)
    # (an integer too long to read as a number stays a string: out of range too; a
    # short one is a string because it was quoted)
    too_long = isinstance(value, str) and len(value) > MAX_INT_DIGITS and _INT.fullmatch(value)
    if bound or (too_long and "int" in what):
        field = path[-1] if path else ""
        lo, hi = _RANGES.get(field, (-MAX_NUMBER, MAX_NUMBER)) if isinstance(field, str) else (0, 0)
        return path, f"number out of range (from {lo:,} to {hi:,}), got {_found(value)}"
    expected = re.match(r"Expected `([^`]*)`(.*?)(?:, got `[^`]*`)?$", what)
    if expected:
        names = [_TYPE_WORDS.get(t.strip(), t.strip()) for t in expected.group(1).split("|")]
        if "a number" in names and "a whole number" in names:
            names.remove("a whole number")
        return path, f"expected {' or '.join(names)}{expected.group(2)}, got {_found(value)}"
    return path, f"{what[0].lower()}{what[1:]}"


#: The range of each bounded number field, for messages (see model.Number and model.Age).
_RANGES = {"age": (0, 150)}

_ENUMS: dict[str, type[enum.Enum]] = {
    "kind": ClaimKind,
    "evidence": Evidence,
    "verdict": Verdict,
    "rating": Rating,
    "reasons": Reason,
    "type": EntityType,
    "qualifier": Qualifier,
}
_TYPE_WORDS = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "array": "a list",
    "object": "a mapping",
}


def _found(value: Any) -> str:
    """What a value is, in YAML's words: ``the number 2020``, ``a list``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {_shown(value)}"
    if isinstance(value, str):
        return f"the string {_shown(value)}"
    return _shown(value)


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**MAX_INT_DIGITS:
        digits = len(str(abs(value))) if value.bit_length() < 10_000 else "many"
        return f"a {'negative ' if value < 0 else ''}{digits}-digit number"
    text = repr(value[:80] if isinstance(value, str) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    return _shown(value)


def _date_fields(rec: Any) -> list[tuple[Path_, str | None]]:
    """Every date field of a record, with its path inside the record."""
    out: list[tuple[Path_, str | None]] = []
    if isinstance(rec, Source):
        return [(("date",), rec.date)]
    if isinstance(rec, Claim):
        out.append((("date",), rec.date))
        out += [(("figures", i, "date"), f.date) for i, f in enumerate(rec.figures)]
    if isinstance(rec, Case):
        out += [(("events", i, "date"), e.date) for i, e in enumerate(rec.events)]
        out += [(("measurements", i, "date"), m.date) for i, m in enumerate(rec.measurements)]
    review = getattr(rec, "review", None)
    if review is not None:
        out += [(("review", "later", i, "date"), d.date) for i, d in enumerate(review.later)]
        out += [
            (("review", "references", i, "date"), r.date) for i, r in enumerate(review.references)
        ]
    return out


def _dates_on_calendar(claims: list[Claim], cases: list[Case], good: set[str]) -> bool:
    """Whether every day-precision date of the records is on the calendar (the dates
    _date_fields names, gathered in one pass; `good` collects those found)."""
    reviews = [c.review for c in claims if c.review is not None]
    reviews += [c.review for c in cases if c.review is not None]
    dates = {c.date for c in claims}
    dates.update([f.date for c in claims for f in c.figures])
    dates.update([e.date for c in cases for e in c.events])
    dates.update([m.date for c in cases for m in c.measurements])
    dates.update([d.date for r in reviews for d in r.later])
    dates.update([x.date for r in reviews for x in r.references])
    for value in dates:
        if value is None or len(value) != 10 or value in good:
            continue
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return False
        good.add(value)
    return True


def _numbers_finite(claims: list[Claim], cases: list[Case]) -> bool:
    """Whether every number of the records is finite (as far as their sum can tell:
    an infinity or NaN makes it not finite, and so may an overflow)."""
    numbers = [f.value for c in claims for f in c.figures]
    numbers += [m.before for c in cases for m in c.measurements]
    numbers += [m.after for c in cases for m in c.measurements]
    try:
        return math.isfinite(sum(numbers, 0.0))
    except OverflowError:
        return False


def _calendar_dates(rec: Any, path: Path_, good: set[str]) -> list[tuple[Path_, str]]:
    """Day-precision dates of a record that match the pattern but are not on the calendar."""
    bad: list[tuple[Path_, str]] = []
    for sub, value in _date_fields(rec):
        if value is None or len(value) != 10 or value in good:
            continue
        try:
            datetime.date.fromisoformat(value)
            good.add(value)
        except ValueError:
            bad.append(((*path, *sub), value))
    return bad


def build_dataset(
    raw: Any,
    name: str,
    lines: LineMap | None,
    base_dir: Path | None = None,
    *,
    memo: dict[str, Any] | None = None,
    texts: Callable[[str], bool] | None = None,
) -> Dataset:
    """Validate parsed YAML into a Dataset, collecting problems (the first MAX_PROBLEMS,
    and a count of the rest) before raising. `texts` is as for load_dataset."""
    problems: list[Problem] = []
    more = 0

    def add(path: Path_, what: str) -> None:
        nonlocal more
        if len(problems) >= MAX_PROBLEMS:
            more += 1
            return
        problems.append(Problem(name, _line(lines, path), _where(path), what))

    if not isinstance(raw, dict):
        add((), f"expected a mapping with {', '.join(_TOP_FIELDS)}; got {_type_name(raw)}")
        raise DataError(problems)
    for key in raw:
        if key not in _TOP_FIELDS:
            add((key,), f"unknown field {key!r} (expected one of {', '.join(_TOP_FIELDS)})")
    schema = raw.get("schema")
    if "schema" not in raw:
        add((), "missing required field 'schema'")
    elif type(schema) is not int:  # not "2", nor 2.0, nor true
        add(("schema",), f"expected the whole number {SCHEMA_VERSION}, got {_found(schema)}")
    elif schema != SCHEMA_VERSION:
        what = f"unsupported schema version {_shown(schema)}; this version reads {SCHEMA_VERSION}"
        if schema < SCHEMA_VERSION:
            changes = "; ".join(  # the versions that changed, not every number between
                SCHEMA_CHANGES[v] for v in sorted(SCHEMA_CHANGES) if schema < v <= SCHEMA_VERSION
            )
            what += f" (since {schema}: {changes})"
        add(("schema",), what)

    source: Source | None = None
    if "source" not in raw:
        add((), "missing required field 'source'")
    else:
        try:
            source = msgspec.convert(raw["source"], Source)
        except msgspec.ValidationError as e:
            found = _struct_problems(raw["source"], Source, ("source",))
            for path, what in found or [_explain(e, raw["source"], ("source",))]:
                add(path, what)

    records: dict[str, list[Any]] = {"entities": [], "claims": [], "cases": []}
    for section, cls in _RECORD_TYPES.items():
        items = raw.get(section, [])
        if items is None:
            items = []
        if not isinstance(items, list):
            add((section,), f"expected a list, got {_type_name(items)}")
            continue
        try:  # one call for the whole list is fast; item by item finds every error
            records[section] = list(msgspec.convert(items, list[cls]))  # type: ignore[valid-type]
            continue
        except msgspec.ValidationError:
            pass
        for i, item in enumerate(items):
            try:
                records[section].append(msgspec.convert(item, cls))
            except msgspec.ValidationError as e:
                found = _struct_problems(item, cls, (section, i))
                for path, what in found or [_explain(e, item, (section, i))]:
                    add(path, what)

    entities: list[Entity] = records["entities"]
    claims: list[Claim] = records["claims"]
    cases: list[Case] = records["cases"]
    converted = all(
        isinstance(raw.get(section), list) and len(records[section]) == len(raw[section])
        for section in ("entities", "claims", "cases")
    )
    if not (
        _references_hold_typed(entities, claims, cases) if converted else _references_hold(raw)
    ):
        _check_references(raw, add)
    for path, what in _entity_ids_taken(raw):
        add(path, what)
    good: set[str] = set()  # day-precision dates already found on the calendar
    if source is not None:
        for path, value in _calendar_dates(source, ("source",), good):
            add(path, f"{value!r} is not a calendar date")
    # Looked for record by record only where a pass over all of them finds any.
    dates_ok = _dates_on_calendar(claims, cases, good)
    numbers_ok = _numbers_finite(claims, cases)
    for section, recs in (("claims", claims), ("cases", cases)):
        index: dict[str, int] | None = None
        for rec in recs:
            if dates_ok and numbers_ok and rec.review is None:
                continue
            bad = (
                []
                if dates_ok
                else [
                    (sub, f"{value!r} is not a calendar date")
                    for sub, value in _calendar_dates(rec, (), good)
                ]
            )
            if not numbers_ok:
                bad += [(sub, f"expected a finite number, got {n}") for sub, n in _non_finite(rec)]
            if rec.review is not None:
                kind = rec.kind if isinstance(rec, Claim) else None
                bad += [(("review", *sub), what) for sub, what in review_problems(rec.review, kind)]
            if bad:
                index = index or _index_of(raw, section)
                for sub, what in bad:
                    add((section, index[rec.id], *sub), what)

    source_text = None
    # A path the loader refuses whatever it names (a control character in it) is not
    # given to `texts`: it is reported as a problem, as always.
    if (
        source is not None
        and source.text is not None
        and (
            texts is None or text_place(source.text, base_dir)[2] == "control" or texts(source.text)
        )
    ):
        memo = {} if memo is None else memo
        if memo.get("source") != source.text:
            memo.clear()
            memo["source"] = source.text
            memo["text"] = _source_text(source.text, base_dir)
        source_text, inside, refused = memo["text"]
        if refused:
            add(("source", "text"), refused)
        if source_text is not None:
            if "index" not in memo:
                memo["index"] = _TextIndex(source_text)
                memo["found"] = {}
            _check_quotes(memo["index"], memo["found"], raw, add, reveal=inside)

    if problems or source is None:
        raise DataError(sorted(problems, key=lambda p: p.line or 0), more)
    return Dataset(
        schema=SCHEMA_VERSION,
        source=source,
        entities=tuple(entities),
        claims=tuple(claims),
        cases=tuple(cases),
        source_text=source_text,
    )


def _struct_of(tp: Any) -> type[msgspec.Struct] | None:
    """The Struct class a field type holds (directly or as `X | None`), if any."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp
    if isinstance(tp, types.UnionType) and len(args) == 1:
        return _struct_of(args[0])
    return None


@functools.cache
def _fields_of(
    cls: type[msgspec.Struct],
) -> tuple[
    list[
        tuple[msgspec.structs.FieldInfo, type[msgspec.Struct] | None, type[msgspec.Struct] | None]
    ],
    frozenset[str],
]:
    """A record type's fields, each with the record type it holds (if any) and the record
    type of the items of the tuple it holds (if any); and their names. Worked out once
    per type: `msgspec.structs.fields` reads the type's annotations again at every call
    (most of a millisecond), which a file of thousands of bad records would pay each time."""
    out = []
    fields = msgspec.structs.fields(cls)
    for f in fields:
        item = typing.get_args(f.type)[0] if typing.get_origin(f.type) is tuple else None
        out.append((f, _struct_of(f.type), _struct_of(item) if item is not None else None))
    return out, frozenset(f.name for f in fields)


def _struct_problems(value: Any, cls: type[msgspec.Struct], path: Path_) -> list[tuple[Path_, str]]:
    """Every problem in one record, field by field (msgspec stops at the first)."""
    if not isinstance(value, dict):
        try:
            msgspec.convert(value, cls)
        except msgspec.ValidationError as e:
            return [_explain(e, value, path)]
        return []
    out: list[tuple[Path_, str]] = []
    fields, names = _fields_of(cls)
    for key in value:
        if key not in names:
            out.append(((*path, key), f"unknown field {key!r}"))
    for f, inner, items in fields:
        if f.name not in value:
            if f.required:
                out.append((path, f"missing required field {f.name!r}"))
            continue
        sub, at = value[f.name], (*path, f.name)
        if inner is not None and isinstance(sub, dict):
            out += _struct_problems(sub, inner, at)
        elif items is not None and isinstance(sub, list):
            for j, element in enumerate(sub):
                out += _struct_problems(element, items, (*at, j))
        else:
            try:
                msgspec.convert(sub, f.type)
            except msgspec.ValidationError as e:
                out.append(_explain(e, sub, at))
    return out


def _raw_ids(raw: dict[str, Any], section: str) -> set[str]:
    items = raw.get(section)
    if not isinstance(items, list):
        return set()
    return {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}


def _non_finite(rec: Claim | Case) -> list[tuple[Path_, float]]:
    """Numbers of a record that are infinite or not a number."""
    out: list[tuple[Path_, float]] = []
    if isinstance(rec, Claim):
        for i, f in enumerate(rec.figures):
            if not math.isfinite(f.value):
                out.append((("figures", i, "value"), f.value))
    else:
        for i, m in enumerate(rec.measurements):
            for field in ("before", "after"):
                value = getattr(m, field)
                if not math.isfinite(value):
                    out.append((("measurements", i, field), value))
    return out


def _index_of(raw: dict[str, Any], section: str) -> dict[str, int]:
    """Position of each record id within its raw section (first occurrence)."""
    out: dict[str, int] = {}
    items = raw.get(section)
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                out.setdefault(item["id"], i)
    return out


def _raw_records(raw: dict[str, Any], section: str) -> list[tuple[int, dict[str, Any]]]:
    """The mapping items of a section with their positions, valid or not."""
    items = raw.get(section)
    if not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def _str_list(value: Any) -> list[tuple[int, str]]:
    return (
        [(j, v) for j, v in enumerate(value) if isinstance(v, str)]
        if isinstance(value, list)
        else []
    )


def _entity_ids_taken(raw: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Names and aliases of an entity that are another entity's id, in any case: an entity
    is looked up by id, name or alias alike (`query.find_entity` compares them casefolded,
    an id first), so such a name could never name its own entity."""
    items = raw.get("entities")
    if not isinstance(items, list):
        return []
    ids: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            ids.setdefault(item["id"].casefold(), i)
    found: list[tuple[Path_, str]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        named: list[tuple[Path_, str]] = [(("name",), name)] if isinstance(name, str) else []
        named += [(("aliases", j), alias) for j, alias in _str_list(item.get("aliases"))]
        for sub, value in named:
            other = ids.get(value.casefold())
            if other is not None and other != i:
                found.append(
                    (
                        ("entities", i, *sub),
                        f"{_shown(value)} is the id of entities[{other}]"
                        f" ({items[other]['id']}): lookups by that id would be ambiguous"
                        " (ids, names and aliases are compared in any case)",
                    )
                )
    return found


def _references_hold_typed(entities: list[Entity], claims: list[Claim], cases: list[Case]) -> bool:
    """Whether every id is unique and every reference names a record, for sections
    whose every record was converted (so ids and references are strings)."""
    entity_ids = {e.id for e in entities}
    claim_ids = {c.id for c in claims}
    ids = len(entity_ids) + len(claim_ids) + len({c.id for c in cases})
    if ids != len(entities) + len(claims) + len(cases) or ids != len(
        entity_ids.union(claim_ids, [c.id for c in cases])
    ):
        return False
    named = set().union(*[c.entities for c in claims], *[c.entities for c in cases])
    named.update([c.hospital for c in cases if c.hospital is not None])
    cited = set().union(*[c.claims for c in cases])
    return named <= entity_ids and cited <= claim_ids


def _references_hold(raw: dict[str, Any]) -> bool:
    """Whether every record has a unique id and every reference names a record, in one
    pass over well-formed sections; False when it may not be so (or the sections are
    not lists of mappings), and _check_references then says what is wrong."""
    try:
        entities, claims, cases = (raw.get(s) or [] for s in ("entities", "claims", "cases"))
        if not (type(entities) is list and type(claims) is list and type(cases) is list):
            return False
        entity_ids = {e["id"] for e in entities}
        claim_ids = {c["id"] for c in claims}
        case_ids = {c["id"] for c in cases}
        if len(entity_ids) + len(claim_ids) + len(case_ids) != len(
            entity_ids | claim_ids | case_ids
        ) or len(entity_ids) + len(claim_ids) + len(case_ids) != (
            len(entities) + len(claims) + len(cases)
        ):
            return False
        named: set[Any] = set()
        for item in claims:
            refs = item.get("entities")
            if refs:
                if type(refs) is not list:
                    return False
                named.update(refs)
        cited: set[Any] = set()
        for item in cases:
            refs, hospital, claimed = item.get("entities"), item.get("hospital"), item.get("claims")
            if refs:
                if type(refs) is not list:
                    return False
                named.update(refs)
            if hospital is not None:
                named.add(hospital)
            if claimed:
                if type(claimed) is not list:
                    return False
                cited.update(claimed)
        return named <= entity_ids and cited <= claim_ids
    except (TypeError, KeyError, AttributeError):  # not a mapping, no id, an unhashable value
        return False


def _check_references(raw: dict[str, Any], add: Any) -> None:
    """Duplicate ids and dangling references, read from the raw records so that
    records with other problems are checked too."""
    first: dict[str, str] = {}
    for section in ("entities", "claims", "cases"):
        for pos, item in _raw_records(raw, section):
            rid = item.get("id")
            if not isinstance(rid, str):
                continue
            if rid in first:
                add((section, pos, "id"), f"duplicate id {rid!r} (first used at {first[rid]})")
            else:
                first[rid] = f"{section}[{pos}]"
    entity_ids = _raw_ids(raw, "entities")
    claim_ids = _raw_ids(raw, "claims")
    for section in ("claims", "cases"):
        for pos, item in _raw_records(raw, section):
            for j, ref in _str_list(item.get("entities")):
                if ref not in entity_ids:
                    add((section, pos, "entities", j), f"unknown entity {ref!r}")
            if section != "cases":
                continue
            hospital = item.get("hospital")
            if isinstance(hospital, str) and hospital not in entity_ids:
                add((section, pos, "hospital"), f"unknown entity {hospital!r}")
            for j, ref in _str_list(item.get("claims")):
                if ref not in claim_ids:
                    add((section, pos, "claims", j), f"unknown claim {ref!r}")


#: Quotes whose mismatch is explained in detail (where it stops matching); the rest
#: are only named.
_EXPLAINED_QUOTES = 20
#: Characters of source text that quote checking may scan one by one before it
#: gives up (about a second's work); an index answers most quotes without a scan.
_SCAN_BUDGET = 2_000_000_000


def _source_text(rel: str, base_dir: Path | None) -> tuple[str | None, bool, str]:
    """The source text, whether it lies under the dataset's own directory, and why
    it was refused (empty when it was read).

    A dataset names its text, and a dataset may come from anyone: it is read
    only from a regular file under the dataset's directory, or under one the
    user names in IMMUNOFACTS_TEXT_DIRS, and never from a path holding a
    control character.
    """
    path, inside, why = text_place(rel, base_dir)
    if why == "control":
        return None, False, f"source text path {_shown(rel)} is empty or holds a control character"
    if why == "outside":
        try:  # the directory to allow, in full: a path cut short names none
            where = named(dir_to_allow(rel, base_dir))
        except (OSError, ValueError):
            where = "its directory"
        return (
            None,
            False,
            f"source text {_shown(rel)} is outside the dataset's directory; a dataset may "
            f"read only files beside it (to allow this one, add {where} to {TEXT_DIRS_ENV})",
        )
    if why or path is None:
        return None, False, f"source text {_shown(rel)}: {why}"
    try:
        return read_text(path, str(path)), inside, ""
    except DataError as e:
        return None, inside, f"source text {_shown(rel)}: {e.problems[0].what}"


class _TextIndex:
    """Finds quotes in a long text without scanning the whole text for each one.

    Every `stride`-th position of the text is indexed by the `gram` characters
    that start there. A quote at least ``stride + gram - 1`` long covers one
    indexed position wherever it occurs, so looking up each of its first
    `stride` grams finds every candidate, each then checked in place. Shorter
    quotes, and quotes whose grams are too common, are looked for with a scan,
    within a budget.
    """

    gram = 16
    #: Texts shorter than this are scanned directly.
    small = 1 << 20
    #: The index holds at most this many positions (about 100 MB).
    max_entries = 1 << 20
    #: A quote with more candidates than this (a repetitive text) is scanned for instead.
    max_candidates = 256

    def __init__(self, text: str) -> None:
        self.text = text
        self.scanned = 0
        self.index: dict[int, int | list[int]] = {}
        self.stride = max(self.gram, -(-len(text) // self.max_entries))
        if len(text) <= self.small:
            return
        index = self.index
        g = self.gram
        for p in range(0, len(text) - g + 1, self.stride):
            key = hash(text[p : p + g])
            seen = index.get(key)
            if seen is None:
                index[key] = p
            elif isinstance(seen, int):
                index[key] = [seen, p]
            else:
                seen.append(p)

    def contains(self, quote: str) -> bool | None:
        """Whether the quote is in the text; None when the scan budget is spent."""
        text, g, stride = self.text, self.gram, self.stride
        if self.index and len(quote) >= stride + g - 1:
            candidates: list[tuple[int, list[int]]] = []
            total = 0
            for j in range(stride):
                seen = self.index.get(hash(quote[j : j + g]))
                if seen is None:
                    continue
                ps = [seen] if isinstance(seen, int) else seen
                total += len(ps)
                candidates.append((j, ps))
                if total > self.max_candidates:
                    break
            else:
                return any(
                    p >= j and text.startswith(quote, p - j) for j, ps in candidates for p in ps
                )
        if self.scanned > _SCAN_BUDGET:
            return None
        self.scanned += len(text)
        return quote in text


def _check_quotes(
    index: _TextIndex, seen: dict[str, bool | None], raw: dict[str, Any], add: Any, reveal: bool
) -> None:
    """Every quote, of valid records and of records with other problems, must be in the text.

    With `reveal` False (a text from outside the dataset's directory), a
    mismatch says nothing of what the text holds: no quote can probe it.
    """
    explained = 0
    unchecked = 0
    for section in ("claims", "cases"):
        for pos, item in _raw_records(raw, section):
            quotes: list[tuple[Path_, Any]] = [(("quote",), item.get("quote"))]
            events = item.get("events") if section == "cases" else None
            if isinstance(events, list):
                quotes += [
                    (("events", j, "quote"), ev.get("quote"))
                    for j, ev in enumerate(events)
                    if isinstance(ev, dict)
                ]
            for sub, quote in quotes:
                if not isinstance(quote, str) or not quote:
                    continue
                found = (
                    seen[quote] if quote in seen else seen.setdefault(quote, index.contains(quote))
                )
                if found:
                    continue
                if found is None:
                    unchecked += 1
                    continue
                what = "quote is not verbatim in the source text"
                if reveal and explained < _EXPLAINED_QUOTES:
                    explained += 1
                    what = _divergence(quote, index)
                add((section, pos, *sub), what)
    if unchecked:
        add(
            ("source", "text"),
            f"{unchecked:,} quotes could not be checked: the text is too large or too "
            "repetitive to look for so many short quotes",
        )


def _divergence(quote: str, index: _TextIndex) -> str:
    """Say where a quote stops matching the source text."""
    lo, hi = 0, len(quote)  # the longest prefix found in the text has length lo
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if index.contains(quote[:mid]):
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return "quote is not verbatim in the source text: its first character is not there"
    return (
        "quote is not verbatim in the source text: it matches up to "
        f"{quote[max(0, lo - 30) : lo]!r}, then has {quote[lo : lo + 20]!r}"
    )
