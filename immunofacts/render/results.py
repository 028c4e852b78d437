"""What each command answers: one result object, which `render` turns into text.

A result holds the query's answer (records, hits, figures) and knows two
things about it: its JSON (`data` for one object, `items` for a list, each a
struct of `shapes`) and its view (a `Table` or `Doc` of `views`) for every
other format. `OUTPUTS` names the result type of each command, so the JSON
shape of any command is `json_type(OUTPUTS[name])`.

A list result keeps what it is given as an iterable and walks it once, so a
query may hand it a generator: JSON, CSV, plain text and Markdown are then
written record by record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from ..diff import DatasetDiff
from ..errors import Problem
from ..model import Dataset, Entity
from ..query import Hit, LabelInfo, Passage, Record, Span, Stats, TimelineEvent
from . import shapes, views
from .base import Doc, Format, Table

J = TypeVar("J")


class Result(msgspec.Struct, Generic[J], frozen=True):
    """A command's answer. Subclass `One` or `Many`, never this."""

    #: The type of one JSON value: the whole output of a `One`, an element of a `Many`.
    shape: ClassVar[type[Any]]

    def view(self, fmt: Format) -> Table | Doc:
        """What every format but JSON shows; `fmt` is given for views that differ by format."""
        raise NotImplementedError


class One(Result[J], frozen=True):
    """A result that is one JSON object."""

    def data(self) -> J:
        """The JSON of the result, an instance of `shape`."""
        raise NotImplementedError


class Many(Result[J], frozen=True):
    """A result that is a JSON array, written one element at a time."""

    def items(self) -> Iterable[J]:
        """The elements of the JSON array, instances of `shape`, made as they are read."""
        raise NotImplementedError

    def json_items(self) -> Iterable[Any]:
        """What `--format json` encodes: `items`, or the same JSON made a quicker way."""
        return self.items()


def json_type(result: type[Result[Any]]) -> Any:
    """The type of a result's whole JSON output (for `msgspec.json.schema`)."""
    return list[result.shape] if issubclass(result, Many) else result.shape  # type: ignore[name-defined]


# --- records ------------------------------------------------------------------------


class Records(Many[J], frozen=True):
    """A list of records: each one's JSON made by `item`, the list's table by `table`."""

    records: Iterable[Any]
    item: ClassVar[Callable[[Any], Any]]
    table: ClassVar[Callable[[Iterable[Any]], Table]]

    def items(self) -> Iterable[J]:
        return (type(self).item(r) for r in self.records)

    def view(self, fmt: Format) -> Table:
        return type(self).table(self.records)


class Detail(One[J], frozen=True):
    """One claim or case: its JSON made by `item`, its view by `doc` (which names entities)."""

    ds: Dataset
    record: Any
    item: ClassVar[Callable[[Any], Any]]
    doc: ClassVar[Callable[[Dataset, Any], Doc]]

    def data(self) -> J:
        return type(self).item(self.record)  # type: ignore[no-any-return]

    def view(self, fmt: Format) -> Doc:
        return type(self).doc(self.ds, self.record)


class Made(One[J], frozen=True):
    """A result whose JSON and view are made from its fields, in order, by `make` and `show`."""

    make: ClassVar[Callable[..., Any]]
    show: ClassVar[Callable[..., Doc]]

    def data(self) -> J:
        return type(self).make(*msgspec.structs.astuple(self))  # type: ignore[no-any-return]

    def view(self, fmt: Format) -> Doc:
        return type(self).show(*msgspec.structs.astuple(self))


class CaseList(Records[shapes.CaseJSON], frozen=True):
    """`list-cases`."""

    shape, item, table = shapes.CaseJSON, shapes.case, views.cases_table


class CaseDetail(Detail[shapes.CaseJSON], frozen=True):
    """`show-case`."""

    shape, item, doc = shapes.CaseJSON, shapes.case, views.case_doc


class ClaimList(Records[shapes.ClaimJSON], frozen=True):
    """`list-claims`."""

    shape, item, table = shapes.ClaimJSON, shapes.claim, views.claims_table
    #: The same claims for JSON as their text already made, when the cache keeps it
    #: (`json_elements` writes it as it is).
    json: Iterable[Any] | None = None

    def view(self, fmt: Format) -> Table:  # CSV has a column of reasons too
        return views.claims_table(self.records, reasons=fmt is Format.CSV)

    def json_items(self) -> Iterable[Any]:
        return map(shapes.claim_json, self.records) if self.json is None else self.json


class ClaimDetail(Detail[shapes.ClaimJSON], frozen=True):
    """`show-claim`."""

    shape, item, doc = shapes.ClaimJSON, shapes.claim, views.claim_doc


# --- figures, search, timeline ---------------------------------------------------


class Statistics(One[shapes.StatsJSON], frozen=True):
    """`show-stats`."""

    shape = shapes.StatsJSON
    stats: Stats

    @staticmethod
    def shown(fmt: Format | None) -> int | None:
        """How many figures and cases a format shows: all (None) in JSON and CSV, the
        first few on the dashboard of every other."""
        if fmt in (Format.JSON, Format.CSV):
            return None
        return max(views.FIGURES_SHOWN, views.CASES_SHOWN)

    def data(self) -> shapes.StatsJSON:
        return shapes.stats(self.stats)

    def view(self, fmt: Format) -> Table | Doc:
        if fmt is Format.CSV:  # a tidy table of numbers, not the display text
            return views.stats_table(self.data())
        return views.stats_doc(self.stats)


#: How many search hits' JSON is made at once.
HITS_AT_ONCE = 32
#: How many hits' elements made already are written at once.
ELEMENTS_AT_ONCE = 256


class SearchHits(Many[shapes.HitJSON], frozen=True):
    """`search`: hits best first. On a terminal long text is cut around the first match."""

    shape = shapes.HitJSON
    hits: Iterable[Hit]
    terms: list[str]
    #: Or, for JSON, the hits' elements already made (`shapes.hit_elements`), best first.
    elements: Sequence[bytes | memoryview] = ()

    @staticmethod
    def found_enough(fmt: Format | None, fields: str | None) -> bool:
        """Whether a format written shows no more of a claim than `cache.FoundClaim`
        holds: JSON of every field does (its review written as the cache keeps it)."""
        return fmt is Format.JSON and not fields

    def items(self) -> Iterable[shapes.HitJSON]:
        return (shapes.hit(h) for h in self.hits)

    def json_items(self) -> Iterable[Any]:
        # A hit's JSON is long (its review whole, and each match): made `HITS_AT_ONCE` at
        # a time, not as many as an array's elements of every kind, so that the text held
        # at once stays small.
        from itertools import islice

        from ..jsontext import Spread

        for at in range(0, len(self.elements), ELEMENTS_AT_ONCE):
            yield Spread(self.elements[at : at + ELEMENTS_AT_ONCE])
        hits = iter(self.hits)
        while chunk := list(islice(hits, HITS_AT_ONCE)):
            yield shapes.hits_json(chunk)

    def view(self, fmt: Format) -> Table:
        return views.search_table(self.hits, self.terms, cut=fmt is Format.TABLE)


class Timeline(Many[shapes.EventJSON], frozen=True):
    """`timeline`: grouped by month on a terminal, a row per event elsewhere."""

    shape = shapes.EventJSON
    events: Iterable[TimelineEvent]
    #: The same events for JSON when they come in blocks, some as their text already
    #: made (`json_elements` writes those as they are).
    json: Iterable[Any] | None = None

    def items(self) -> Iterable[shapes.EventJSON]:
        return (shapes.event(e) for e in self.events)

    def json_items(self) -> Iterable[Any]:  # an event encodes as an EventJSON
        return self.events if self.json is None else self.json

    def view(self, fmt: Format) -> Table | Doc:
        if fmt is Format.TABLE:
            return views.timeline_doc(self.events)
        return views.timeline_table(self.events)


# --- entities, the source, validation -----------------------------------------------


class EntityList(Records[shapes.EntityCountJSON], frozen=True):
    """`entities`."""

    shape, item, table = shapes.EntityCountJSON, shapes.entity_count, views.entities_table


class EntityDetail(Made[shapes.EntityJSON], frozen=True):
    """`entities NAME`."""

    shape, make, show = shapes.EntityJSON, shapes.entity, views.entity_doc
    entity: Entity
    records: list[Record]


class SourceText(Made[shapes.SourceJSON], frozen=True):
    """`source`."""

    shape, make, show = shapes.SourceJSON, shapes.source, views.source_doc
    ds: Dataset
    spans: list[Span]


class QuotePassage(Made[shapes.QuoteJSON], frozen=True):
    """`source --claim`."""

    shape, make, show = shapes.QuoteJSON, shapes.passage, views.passage_doc
    passage: Passage


class Validation(One[shapes.ValidateJSON], frozen=True):
    """`validate`: a summary of a dataset that loaded, or the problems of one that did not.

    The problems of a broken file go to stderr as well (as `file:line: where: what`);
    only JSON carries them on stdout, so every other format shows nothing for it.
    """

    shape = shapes.ValidateJSON
    file: str
    ds: Dataset | None
    uncovered: list[str]
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    def data(self) -> shapes.ValidateJSON:
        return shapes.validated(self.file, self.ds, self.uncovered, self.problems, self.warnings)

    def view(self, fmt: Format) -> Table:
        if self.ds is None:
            return Table("", ("file", "line", "where", "what"), [])
        return views.validate_table(self.file, self.ds, self.uncovered)


class Changes(One[DatasetDiff], frozen=True):
    """`diff`: what changed between two versions of a dataset."""

    shape = DatasetDiff
    diff: DatasetDiff

    def data(self) -> DatasetDiff:
        return self.diff

    def view(self, fmt: Format) -> Table | Doc:
        return views.diff_view(self.diff)


class LabelList(Many[shapes.LabelJSON], frozen=True):
    """`labels`: every label of every vocabulary, or those asked for, defined."""

    shape = shapes.LabelJSON
    infos: list[LabelInfo]
    #: Whether to show when each applies (one vocabulary or one word asked for).
    rules: bool = False

    def items(self) -> Iterable[shapes.LabelJSON]:
        return iter(self.infos)

    def view(self, fmt: Format) -> Table:
        return views.labels_table(self.infos, rules=self.rules)


class Selected(Many[dict[str, Any]], frozen=True):
    """A list result cut to the fields asked for (`--fields`), in their order.

    A field is a key of the list's JSON objects, or a dotted path into a nested
    object (`review.rating`). In CSV and plain text a nested list or object is
    one cell of compact JSON; null is an empty cell.
    """

    shape = dict
    inner: Many[Any]
    fields: tuple[str, ...]

    def items(self) -> Iterable[dict[str, Any]]:
        for item in self.inner.items():
            data = msgspec.to_builtins(item)
            yield {f: _pick(data, f) for f in self.fields}

    def view(self, fmt: Format) -> Table:
        rows = (tuple(_cell(v) for v in d.values()) for d in self.items())
        return Table("", self.fields, rows)


def _pick(data: Any, field: str) -> Any:
    for key in field.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return msgspec.json.encode(value).decode()


def _field(name: str, valid: list[str]) -> str:
    """A field named as `--fields` takes it: a valid one as it is, else the one nested
    field it ends (`rating` for `review.rating`, as tables head that column), else
    as given (an unknown name, refused by the caller)."""
    if name in valid:
        return name
    nested = [f for f in valid if f.endswith("." + name)]
    return nested[0] if len(nested) == 1 else name


def field_names(shape: Any) -> list[str]:
    """The fields `--fields` may name for a JSON shape: its keys, and one level of
    dotted paths into the objects it nests (`review.rating`)."""
    from msgspec import inspect as mi

    def struct_of(t: Any) -> Any:
        if isinstance(t, mi.StructType):
            return t
        if isinstance(t, mi.UnionType):
            for u in t.types:
                if isinstance(u, mi.StructType):
                    return u
        return None

    top = struct_of(mi.type_info(shape))
    if top is None:
        return []
    names = [top.tag_field] if top.tag_field else []
    for f in top.fields:
        names.append(f.encode_name)
        inner = struct_of(f.type)
        if inner is not None:
            names += [f"{f.encode_name}.{g.encode_name}" for g in inner.fields]
    return names


def select(result: Result[Any], fields: str) -> Selected:
    """`result` cut to the comma-separated `fields`, or a UsageError naming the valid ones."""
    from ..errors import UsageError

    if not isinstance(result, Many):
        raise UsageError("--fields chooses the fields of a list; this command shows one record")
    valid = field_names(result.shape)
    # a field named twice (`rating,review.rating` name one) is shown once, where first named
    wanted = tuple(dict.fromkeys(_field(f.strip(), valid) for f in fields.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in valid]
    if unknown or not wanted:
        raise UsageError(
            (f"unknown field {unknown[0]!r}" if unknown else "--fields names no field")
            + "; valid fields: "
            + ", ".join(valid)
        )
    return Selected(result, wanted)


#: The result type of each command (and of each form of a command with two).
OUTPUTS: dict[str, type[Result[Any]]] = {
    "list-cases": CaseList,
    "show-case": CaseDetail,
    "list-claims": ClaimList,
    "show-claim": ClaimDetail,
    "show-stats": Statistics,
    "search": SearchHits,
    "timeline": Timeline,
    "entities": EntityList,
    "entities NAME": EntityDetail,
    "source": SourceText,
    "source --claim": QuotePassage,
    "validate": Validation,
    "diff": Changes,
    "labels": LabelList,
}
