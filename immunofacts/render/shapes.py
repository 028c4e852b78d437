"""The JSON every command writes, as typed structs: the one place each shape is defined.

`--format json` encodes these structs and nothing else, so their types are the
documentation of the output (a JSON Schema comes straight from them with
`msgspec.json.schema`). A record's shape is exactly its schema fields, with
`type` first for a claim or a case.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import Problem
from ..model import (
    Case,
    Claim,
    ClaimKind,
    Dataset,
    Entity,
    Evidence,
    Qualifier,
    Review,
    Source,
)
from ..query import LabelInfo, Match, RecordType, date_key

if TYPE_CHECKING:
    from ..jsontext import Encoded
    from ..query import EntityCount, Hit, Passage, Record, Span, Stats, TimelineEvent


class _Shape(msgspec.Struct, frozen=True):
    """Base of every output shape."""


class ClaimJSON(Claim, frozen=True, tag_field="type", tag=RecordType.CLAIM.value):
    """A claim: `type` and every schema field."""


class EventJSON(msgspec.Struct, frozen=True):
    """A dated event: of the timeline, or of one case's own story."""

    date: str
    id: str
    type: RecordType  #: `later` for what happened after the article, known from outside it
    description: str
    quote: str | None


class CaseJSON(Case, frozen=True, tag_field="type", tag=RecordType.CASE.value):
    """A case: `type` and every schema field, events in date order; then `timeline`:
    its events and what happened later (type `later`, from outside the article)."""

    timeline: tuple[EventJSON, ...] = ()


class EntityCountJSON(Entity, frozen=True, kw_only=True):
    """An entity with how many claims and cases name it."""

    claims: int
    cases: int


class EntityJSON(Entity, frozen=True, kw_only=True):
    """An entity with the ids of the records naming it."""

    records: list[str]


class ReviewLabelsJSON(_Shape, frozen=True):
    """The judgements of a record's review, where an object only points at the record:
    under `review`, as in a record (`not-reviewed` for a record without one)."""

    verdict: str
    rating: str


class FigureJSON(_Shape, frozen=True):
    """A headline figure with the claim stating it and how well that claim is backed."""

    claim: str
    label: str
    value: int | float
    unit: str
    qualifier: Qualifier
    date: str | None
    evidence: str
    review: ReviewLabelsJSON


class StatsJSON(_Shape, frozen=True):
    """`show-stats`: headline figures, and counts as `{label: count}`."""

    figures: list[FigureJSON]
    counts: dict[str, int]
    claims_by_kind: dict[str, int]
    claims_by_evidence: dict[str, int]
    claims_by_verdict: dict[str, int]
    claims_by_rating: dict[str, int]
    claims_by_reason: dict[str, int]
    claims_by_year: dict[str, int]
    cases_by_evidence: dict[str, int]
    cases_by_verdict: dict[str, int]
    cases_by_rating: dict[str, int]


class MatchJSON(_Shape, frozen=True):
    """Where a search term matched: a field, offsets in its text, and the text matched."""

    field: str
    start: int
    end: int
    text: str


class HitJSON(_Shape, frozen=True):
    """A search hit."""

    id: str
    type: RecordType
    kind: ClaimKind | None
    evidence: Evidence
    review: Review | None
    score: float
    text: str
    matches: list[MatchJSON]


class SpanJSON(_Shape, frozen=True):
    """A stretch of the source text quoted by a record."""

    start: int
    end: int
    id: str


class SourceJSON(_Shape, frozen=True):
    """`source`: the source's description, its text, and the quoted spans."""

    source: Source
    text: str | None
    spans: list[SpanJSON]


class QuoteJSON(_Shape, frozen=True):
    """`source --claim`: a record's quote, its paragraph, and offsets into the text."""

    id: str
    quote: str
    paragraph: str
    start: int
    end: int


class ProblemJSON(_Shape, frozen=True):
    """A problem in a dataset file, located like a compiler error."""

    file: str
    line: int | None
    where: str
    what: str


class ValidateJSON(_Shape, frozen=True):
    """`validate`: `ok` and every problem; the counts are null when the file did not load."""

    file: str
    ok: bool
    problems: list[ProblemJSON]
    claims: int | None
    cases: int | None
    entities: int | None
    uncovered_paragraphs: list[str]
    #: What a good file holds that its author would want to know (see
    #: `query.shared_names`); it is still valid, and `ok` is true.
    warnings: list[ProblemJSON] = []


def _fields(obj: msgspec.Struct) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in obj.__struct_fields__}


def claim(c: Claim) -> ClaimJSON:
    """A claim in its output shape."""
    return ClaimJSON(**_fields(c))


_ENCODER = msgspec.json.Encoder()
_CLAIM_TAG = b'{"type":"' + RecordType.CLAIM.value.encode() + b'",'


def claim_json(c: Claim) -> msgspec.Raw:
    """`claim(c)` already encoded as JSON: the claim's own fields after its tag, which
    is what a `ClaimJSON` encodes to, without making one."""
    return msgspec.Raw(_CLAIM_TAG + _ENCODER.encode(c)[1:])


def case(c: Case) -> CaseJSON:
    """A case in its output shape, events in date order, and its timeline."""
    fields = _fields(c)
    fields["events"] = tuple(sorted(c.events, key=lambda e: date_key(e.date)))
    story = [EventJSON(e.date, c.id, RecordType.CASE, e.description, e.quote) for e in c.events]
    for d in c.review.later if c.review else ():
        if d.date:
            story.append(EventJSON(d.date, c.id, RecordType.LATER, d.description, None))
    return CaseJSON(**fields, timeline=tuple(sorted(story, key=lambda e: date_key(e.date))))


def entity_count(x: EntityCount) -> EntityCountJSON:
    """An entity and its counts."""
    return EntityCountJSON(**_fields(x.entity), claims=x.claims, cases=x.cases)


def entity(e: Entity, named_by: Iterable[Record]) -> EntityJSON:
    """An entity and the records naming it."""
    return EntityJSON(**_fields(e), records=[r.id for r in named_by])


def stats(st: Stats) -> StatsJSON:
    """The figures and counts of `show-stats` (of every figure: none left out)."""
    assert not st.more_figures, "the JSON of show-stats holds every figure"
    figures = [
        FigureJSON(
            claim=h.claim_id,
            **_fields(h.figure),
            evidence=st.backing[h.claim_id][0],
            review=ReviewLabelsJSON(st.backing[h.claim_id][1], st.backing[h.claim_id][2]),
        )
        for h in st.figures
    ]
    return StatsJSON(
        figures=figures,
        counts=st.counts,
        claims_by_kind=st.by_kind,
        claims_by_evidence=st.by_evidence,
        claims_by_verdict=st.by_verdict,
        claims_by_rating=st.by_rating,
        claims_by_reason=st.by_reason,
        claims_by_year=st.by_year,
        cases_by_evidence=st.cases_by_evidence,
        cases_by_verdict=st.cases_by_verdict,
        cases_by_rating=st.cases_by_rating,
    )


def hit(h: Hit) -> HitJSON:
    """A search hit with its match spans."""
    rec = h.record
    return HitJSON(
        id=rec.id,
        type=RecordType.of(rec),
        kind=rec.kind if isinstance(rec, Claim) else None,
        evidence=rec.evidence,
        review=rec.review,
        score=round(h.score, 3),
        text=rec.statement if isinstance(rec, Claim) else rec.title,
        matches=[MatchJSON(m.field, m.start, m.end, m.text) for m in h.matches],
    )


class _FoundHitJSON(msgspec.Struct, frozen=True):
    """`HitJSON` of a claim read as a `cache.FoundClaim`: its review the JSON the cache
    keeps (escaped as `to_json` escapes), written as it is."""

    id: str
    type: str
    kind: str
    evidence: str
    review: msgspec.Raw
    score: float
    text: str
    matches: tuple[Match, ...]  # the same fields as MatchJSON's


def hits_json(hits: Iterable[Hit]) -> Encoded:
    """`jsontext.elements` of the hits' `hit`, in UTF-8: the same text, with the review
    of a claim read as a `cache.FoundClaim` written as the cache keeps it instead of
    decoded and encoded again."""
    from ..jsontext import Encoded

    return Encoded(b",\n".join(hit_elements(list(hits))))


#: Where `hit_elements` puts a claim's review first: a value no review is.
_HOLE = msgspec.Raw(b"0")
_NULL = memoryview(b"null")
_AT_HOLE = b'\n    "review": 0,\n'


def hit_elements(hits: Sequence[Hit]) -> list[bytes]:
    """`hits_json` of the hits, one element a hit: joined by ``,\\n`` they are the same
    text. The review of a claim read as a `cache.FoundClaim` is kept indented as a
    claim's element has it, at the depth a hit's element has it too: it is put in as it
    is, and only the rest is indented here."""
    from ..jsontext import escaped, objects_apart

    items: list[Any] = []
    reviews: list[memoryview | None] = []
    for h in hits:
        rec: Any = h.record
        if isinstance(rec, Claim | Case):
            items.append(hit(h))
            reviews.append(None)
            continue
        kept = memoryview(rec.review_json)  # a cache.FoundClaim's
        if bytes(kept[:8]) == b"{\n      " and bytes(kept[-6:]) == b"\n    }" or kept == _NULL:
            reviews.append(kept)
            review = _HOLE
        else:  # not kept indented: indented here with the rest
            reviews.append(None)
            review = rec.review_json
        found = (rec.id, "claim", rec.kind, rec.evidence, review, round(h.score, 3))
        items.append(_FoundHitJSON(*found, rec.statement, h.matches))
    text = msgspec.json.format(_ENCODER.encode(items), indent=2)[2:-2]  # "[\n" "\n]"
    out = []
    for element, review_text in zip(objects_apart(text, len(items)), reviews, strict=True):
        if review_text is not None:  # the first such line is the field's: no line breaks before
            element = element.replace(_AT_HOLE, b'\n    "review": ' + review_text + b",\n", 1)
        if not element.isascii() or b"\x7f" in element:
            element = escaped(element.decode()).encode()
        out.append(element)
    return out


def event(e: TimelineEvent) -> EventJSON:
    """A timeline event."""
    return EventJSON(e.date, e.record_id, e.record_type, e.description, e.quote)


def source(ds: Dataset, spans: Iterable[Span]) -> SourceJSON:
    """The source text and every quoted span."""
    return SourceJSON(
        ds.source, ds.source_text, [SpanJSON(s.start, s.end, s.record_id) for s in spans]
    )


def passage(p: Passage) -> QuoteJSON:
    """A record's quote in its paragraph."""
    return QuoteJSON(p.record.id, p.record.quote, p.paragraph, p.start, p.end)


def validated(
    file: str,
    ds: Dataset | None,
    uncovered: list[str],
    problems: Iterable[Problem] = (),
    warnings: Iterable[Problem] = (),
) -> ValidateJSON:
    """The summary of a dataset that loaded, or the problems of one that did not."""
    return ValidateJSON(
        file=file,
        ok=ds is not None,
        problems=[ProblemJSON(p.file, p.line, p.where, p.what) for p in problems],
        claims=len(ds.claims) if ds else None,
        cases=len(ds.cases) if ds else None,
        entities=len(ds.entities) if ds else None,
        uncovered_paragraphs=uncovered,
        warnings=[ProblemJSON(p.file, p.line, p.where, p.what) for p in warnings],
    )


#: `labels`: one label of one vocabulary, its definition, and for verdicts and ratings
#: when it applies (`rule`); for a rating on the scale, its `value` (5 best, 1 worst).
LabelJSON = LabelInfo
