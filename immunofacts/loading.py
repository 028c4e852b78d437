"""Load a dataset file: the only module that knows YAML.

A file is read with a size cap, decoded as UTF-8, parsed and validated. Two
parsers share the work:

* the fast path hands the text to yaml-rs (Rust) when it is installed and the
  text holds no tag, anchor, alias, directive or document marker;
* the careful path is a hardened PyYAML loader (the C one where present) that
  refuses tags, aliases and duplicate keys, keeps every plain scalar under the
  YAML 1.2 core schema (so ``no`` stays a string and dates stay strings) and
  records the line of every node.

Any problem found on the fast path is reported from the careful path, so every
message carries ``file:line: where: what``.
"""

from __future__ import annotations

import datetime
import enum
import math
import os
import re
import stat
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from .errors import DataError, Problem
from .model import (
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

#: The largest dataset file read, in bytes (override with IMMUNOFACTS_MAX_BYTES).
MAX_BYTES = 256 * 1024 * 1024
#: The deepest nesting of mappings and lists accepted.
MAX_DEPTH = 32
#: Longest integer literal read as a number; longer ones stay strings.
MAX_INT_DIGITS = 30

Path_ = tuple[str | int, ...]
LineMap = dict[Path_, int]

_TOP_FIELDS = ("schema", "source", "entities", "claims", "cases")
_RECORD_TYPES: dict[str, type[Entity] | type[Claim] | type[Case]] = {
    "entities": Entity,
    "claims": Claim,
    "cases": Case,
}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_NODE_START = " \t\r\n[]{},"
_DOC_MARKERS = ("\n---", "\n...", "\n%")
_PATTERN_MSGS = {
    "doi": "expected a DOI like 10.1038/s41586-020-03041-6",
    "pmid": "expected a PubMed id of digits",
    "nct": "expected a trial id like NCT04365101",
    "url": "expected an http:// or https:// address",
}
_DATE_MSG = "expected YYYY, YYYY-MM or YYYY-MM-DD"
_ID_MSG = "expected an id of lowercase letters, digits and hyphens"


def max_bytes() -> int:
    """The size cap in force: IMMUNOFACTS_MAX_BYTES when set to a number, else MAX_BYTES."""
    raw = os.environ.get("IMMUNOFACTS_MAX_BYTES", "")
    return int(raw) if raw.isdigit() else MAX_BYTES


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
    limit = max_bytes() if limit is None else limit

    def fail(what: str, line: int | None = None) -> DataError:
        return DataError([Problem(name, line, "", what)])

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise fail("no such file") from None
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as e:
        raise fail(f"cannot open: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise fail("is a directory, not a dataset file")
    if not stat.S_ISREG(st.st_mode):
        raise fail("is not a regular file (a FIFO, socket or device?)")
    if st.st_size > limit:
        raise fail(f"file is {st.st_size:,} bytes, over the limit of {limit:,} bytes")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as e:
        raise fail(f"cannot read: {e.strerror or e}") from None
    if len(data) > limit:
        raise fail(f"file is over the limit of {limit:,} bytes")
    if on_bytes is not None:
        on_bytes(data)
    return decode(data, name)


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
) -> Dataset:
    """Read, parse and validate a dataset file, or raise DataError listing every problem.

    With no path, the dataset that ships with the package. `on_bytes` is given
    the file's bytes as read, before they are parsed.
    """
    if path is None:
        from .paths import bundled_data_path

        path = bundled_data_path()
    p = Path(path)
    name = label or str(p)
    text = read_text(p, name, on_bytes=on_bytes)
    return parse_dataset(text, name, base_dir=p.parent)


def parse_dataset(text: str, name: str = "<string>", base_dir: Path | None = None) -> Dataset:
    """Parse and validate dataset text; `base_dir` resolves the source text's path."""
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise DataError([Problem(name, None, "", "file is empty: expected a dataset mapping")])
    fast = _fast_parse(text)
    if fast is not None:
        try:
            return build_dataset(fast, name, None, base_dir)
        except DataError:
            pass  # report from the careful path, which knows the lines
    raw, lines = parse_yaml(text, name)
    return build_dataset(raw, name, lines, base_dir)


def is_plain(text: str) -> bool:
    """Whether the text holds no tag, anchor, alias, directive or document marker.

    A tag, anchor or alias begins a node: at the start, or after a space or a
    flow indicator. This may answer False for harmless text (``a *b*`` in a
    plain scalar), never True for text that has one.
    """
    if text.startswith(("---", "...", "%")) or any(m in text for m in _DOC_MARKERS):
        return False
    if _CONTROL.search(text):
        return False  # the careful path names the character and its line
    for ch in "!&*":
        i = text.find(ch)
        while i >= 0:
            if i == 0 or text[i - 1] in _NODE_START:
                return False
            i = text.find(ch, i + 1)
    return True


def _fast_parse(text: str) -> Any:
    """Parse with yaml-rs when it is installed and the text is plain; else None."""
    if not is_plain(text):
        return None
    try:
        import yaml_rs
    except ImportError:  # pragma: no cover - yaml-rs is a dependency; this is a fallback
        return None
    try:
        return yaml_rs.loads(
            text,
            parse_datetime=False,
            duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error,
            alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=0),
        )
    except Exception:
        return None


# --- the careful path -------------------------------------------------------

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
# Numbers as both parsers read them: the YAML 1.2 core schema, plus the binary
# and digit-separator forms that yaml-rs also accepts.
_INT = re.compile(
    r"[-+]?(?:0b([01_]*[01][01_]*)|0o([0-7_]*[0-7][0-7_]*)|0x([0-9a-fA-F_]*[0-9a-fA-F][0-9a-fA-F_]*)"
    r"|(_*[0-9][0-9_]*))"
)
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = {
    f"{sign}.{word}": float(f"{sign}{word[:3].lower()}")
    for sign in ("", "+", "-")
    for word in ("inf", "Inf", "INF")
} | {".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}
_PLAIN_TAG = "tag:immunofacts,plain"
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
    if len(value) > MAX_INT_DIGITS:
        return value
    m = _INT.fullmatch(value)
    if m:
        sign = -1 if value.startswith("-") else 1
        for base, digits in zip((2, 8, 16, 10), m.groups(), strict=True):
            if digits is not None:
                return sign * int(digits.replace("_", ""), base)
    if _FLOAT.fullmatch(value):
        return float(value)
    return _SPECIAL_FLOAT.get(value, value)


def parse_yaml(text: str, name: str) -> tuple[Any, LineMap]:
    """Parse YAML text strictly; return the data and the line of every node's path."""
    import yaml

    base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class HardenedLoader(base):  # type: ignore[misc]
        # Every plain scalar gets one private tag, so that an explicit `!!str`
        # can be told apart from a plain one; _resolve_plain reads plain ones.
        yaml_implicit_resolvers: dict[Any, Any] = {
            key: [(_PLAIN_TAG, re.compile(r".*", re.DOTALL))] for key in (None, "")
        }

    def problem(mark: Any, where: str, what: str) -> DataError:
        line = mark.line + 1 if mark is not None else None
        return DataError([Problem(name, line, where, what)])

    loader = HardenedLoader(text)
    try:
        try:
            root = loader.get_single_node()
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
        except RecursionError:
            raise DataError([Problem(name, None, "", "nesting is too deep")]) from None
    finally:
        loader.dispose()

    lines: LineMap = {}
    seen: set[int] = set()

    def build(node: Any, path: Path_, depth: int) -> Any:
        where = _where(path)
        if id(node) in seen:
            raise problem(node.start_mark, where, "aliases (*name) are not allowed")
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise problem(node.start_mark, where, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _PLAIN_TAG:
                return _resolve_plain(node.value)
            if node.tag != _STR_TAG:
                raise problem(node.start_mark, where, f"YAML tags are not allowed ({node.tag})")
            return node.value
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise problem(node.start_mark, where, f"YAML tags are not allowed ({node.tag})")
            items = []
            for i, child in enumerate(node.value):
                lines[(*path, i)] = child.start_mark.line + 1
                items.append(build(child, (*path, i), depth + 1))
            return items
        if node.tag != _MAP_TAG:
            raise problem(node.start_mark, where, f"YAML tags are not allowed ({node.tag})")
        out: dict[str, Any] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode) or knode.tag not in (_STR_TAG, _PLAIN_TAG):
                raise problem(knode.start_mark, where, "mapping keys must be plain strings")
            key = knode.value
            if key in out:
                raise problem(knode.start_mark, _where((*path, key)), "duplicate key")
            lines[(*path, key)] = knode.start_mark.line + 1
            out[key] = build(vnode, (*path, key), depth + 1)
        return out

    lines[()] = root.start_mark.line + 1 if root is not None else 1
    data = build(root, (), 0) if root is not None else None
    return data, lines


def dump_yaml(data: Any) -> str:
    """YAML text for plain data, in block style, that `load_dataset` reads back unchanged.

    Text holding characters that YAML treats as line breaks (NEL, U+2028,
    U+2029) is written with every non-ASCII character escaped, so they survive.
    """
    import yaml

    dumper: type[Any] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
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
            return path, f"{_DATE_MSG}, got {value!r}"
        if field in _PATTERN_MSGS:
            return path, f"{_PATTERN_MSGS[field]}, got {value!r}"
        return path, f"{_ID_MSG}, got {value!r}"
    if what.startswith("Invalid enum value"):
        named = [part for part in path if isinstance(part, str)]
        field = named[-1] if named else ""
        enum = _ENUMS.get(field) if isinstance(field, str) else None
        if enum is None:
            return path, f"{what[0].lower()}{what[1:]}"
        allowed = [str(e.value) for e in enum]
        return path, f"expected one of {', '.join(allowed)}; got {value!r}"
    expected = re.match(r"Expected `([^`]*)`(.*?)(?:, got `[^`]*`)?$", what)
    if expected:
        names = [_TYPE_WORDS.get(t.strip(), t.strip()) for t in expected.group(1).split("|")]
        if "a number" in names and "a whole number" in names:
            names.remove("a whole number")
        return path, f"expected {' or '.join(names)}{expected.group(2)}, got {_found(value)}"
    return path, f"{what[0].lower()}{what[1:]}"


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
        return f"the number {value}"
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
    text = repr(value)
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
    raw: Any, name: str, lines: LineMap | None, base_dir: Path | None = None
) -> Dataset:
    """Validate parsed YAML into a Dataset, collecting every problem before raising."""
    problems: list[Problem] = []

    def add(path: Path_, what: str) -> None:
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
    elif schema != SCHEMA_VERSION or isinstance(schema, bool):
        what = f"unsupported schema version {schema!r}; this version reads {SCHEMA_VERSION}"
        if isinstance(schema, int) and not isinstance(schema, bool) and schema < SCHEMA_VERSION:
            changes = "; ".join(
                SCHEMA_CHANGES[v]
                for v in range(schema + 1, SCHEMA_VERSION + 1)
                if v in SCHEMA_CHANGES  # schema 0 or below was never a version
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
    _check_references(raw, add)
    good: set[str] = set()  # day-precision dates already found on the calendar
    if source is not None:
        for path, value in _calendar_dates(source, ("source",), good):
            add(path, f"{value!r} is not a calendar date")
    for section, recs in (("claims", claims), ("cases", cases)):
        index: dict[str, int] | None = None
        for rec in recs:
            bad = [
                (sub, f"{value!r} is not a calendar date")
                for sub, value in _calendar_dates(rec, (), good)
            ]
            bad += [(sub, f"expected a finite number, got {n}") for sub, n in _non_finite(rec)]
            if rec.review is not None:
                kind = rec.kind if isinstance(rec, Claim) else None
                bad += [(("review", *sub), what) for sub, what in review_problems(rec.review, kind)]
            if bad:
                index = index or _index_of(raw, section)
                for sub, what in bad:
                    add((section, index[rec.id], *sub), what)

    source_text = None
    if source is not None and source.text is not None:
        source_text = _source_text(source.text, base_dir, add)
        if source_text is not None:
            _check_quotes(source_text, raw, add)

    if problems or source is None:
        raise DataError(sorted(problems, key=lambda p: p.line or 0))
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


def _struct_problems(value: Any, cls: type[msgspec.Struct], path: Path_) -> list[tuple[Path_, str]]:
    """Every problem in one record, field by field (msgspec stops at the first)."""
    if not isinstance(value, dict):
        try:
            msgspec.convert(value, cls)
        except msgspec.ValidationError as e:
            return [_explain(e, value, path)]
        return []
    out: list[tuple[Path_, str]] = []
    fields = msgspec.structs.fields(cls)
    names = {f.name for f in fields}
    for key in value:
        if key not in names:
            out.append(((*path, key), f"unknown field {key!r}"))
    for f in fields:
        if f.name not in value:
            if f.required:
                out.append((path, f"missing required field {f.name!r}"))
            continue
        sub, at = value[f.name], (*path, f.name)
        inner = _struct_of(f.type)
        item = typing.get_args(f.type)[0] if typing.get_origin(f.type) is tuple else None
        if inner is not None and isinstance(sub, dict):
            out += _struct_problems(sub, inner, at)
        elif item is not None and _struct_of(item) is not None and isinstance(sub, list):
            for j, element in enumerate(sub):
                out += _struct_problems(element, _struct_of(item), (*at, j))  # type: ignore[arg-type]
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


def _source_text(rel: str, base_dir: Path | None, add: Any) -> str | None:
    path = Path(rel)
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    try:
        return read_text(path, str(path))
    except DataError as e:
        add(("source", "text"), f"source text {rel!r}: {e.problems[0].what}")
        return None


def _check_quotes(text: str, raw: dict[str, Any], add: Any) -> None:
    """Every quote, of valid records and of records with other problems, must be in the text."""
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
                if isinstance(quote, str) and quote and quote not in text:
                    add((section, pos, *sub), _divergence(quote, text))


def _divergence(quote: str, text: str) -> str:
    """Say where a quote stops matching the source text."""
    lo, hi = 0, len(quote)  # the longest prefix found in the text has length lo
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if quote[:mid] in text:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return "quote is not verbatim in the source text: its first character is not there"
    return (
        "quote is not verbatim in the source text: it matches up to "
        f"{quote[max(0, lo - 30) : lo]!r}, then has {quote[lo : lo + 20]!r}"
    )
