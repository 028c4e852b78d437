"""The dataset as tidy tables: one value per cell, one row per thing, keys between them.

The same tables are written as CSV files (one per table) and as an SQLite
database. A record's review sits in its own row (verdict, rating, note); what a
review lists (reasons, corrections, citations, later developments) is in tables
of their own, each row pointing at a claim or a case.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import msgspec

from ..model import DEFINITIONS, NOT_REVIEWED, Case, Claim, Dataset, Reference, Review

Value = str | int | float | None
ColumnType = Literal["TEXT", "INTEGER", "REAL", "NUMERIC"]


class Column(msgspec.Struct, frozen=True):
    """A column: its name, its SQLite type, and the table and column it refers to."""

    name: str
    type: ColumnType = "TEXT"
    references: tuple[str, str] | None = None
    not_null: bool = False


class Table(msgspec.Struct, frozen=True):
    """A tidy table: columns, a primary key, and rows of plain values."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    rows: list[tuple[Value, ...]]
    #: Columns indexed for full-text search, when the table has an index.
    search: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(c.name for c in self.columns)


def _c(name: str, type: ColumnType = "TEXT", ref: str | None = None, *, nn: bool = False) -> Column:
    references = None
    if ref is not None:
        table, _, column = ref.partition(".")
        references = (table, column or "id")
    return Column(name, type, references, nn)


_ID = _c("id", "INTEGER", nn=True)
_OWNER = (_c("claim_id", ref="claims"), _c("case_id", ref="cases"))
_CLAIM = _c("claim_id", ref="claims", nn=True)
_CASE = _c("case_id", ref="cases", nn=True)
_ENTITY = _c("entity_id", ref="entities", nn=True)
#: Columns that are a record's fields of the same names (see `_cells`).
_SOURCE = (
    _c("id", nn=True),
    _c("title", nn=True),
    _c("publisher", nn=True),
    _c("credit"),
    _c("date"),
    _c("language"),
    _c("url"),
    _c("note"),
)
_CLAIM_FIELDS = (
    _c("id", nn=True),
    _c("kind", nn=True),
    _c("evidence", nn=True),
    _c("date"),
    _c("statement", nn=True),
    _c("claim_reviewed"),
    _c("quote", nn=True),
)
_REFERENCE_FIELDS = (
    _c("title", nn=True),
    _c("authors"),
    _c("publisher"),
    _c("volume"),
    _c("issue"),
    _c("pages"),
    _c("date"),
    _c("doi"),
    _c("pmid"),
    _c("nct"),
    _c("url"),
)
#: The two columns of each table of pairs (see `_pairs`).
_PAIR_COLUMNS = {
    "entity_aliases": (_ENTITY, _c("alias", nn=True)),
    "claim_entities": (_CLAIM, _ENTITY),
    "case_entities": (_CASE, _ENTITY),
    "case_claims": (_CASE, _CLAIM),
}
_REVIEW = (
    _c("verdict", nn=True),
    _c("rating", nn=True),
    _c("rating_value", "INTEGER"),
    _c("review_note"),
)
#: The columns of the `claims` table.
CLAIM_COLUMNS = (*_CLAIM_FIELDS, *_REVIEW)


def reference_key(ref: Reference) -> str:
    """A stable key for a reference: its DOI, PMID, trial id, address, or title."""
    found = ref.identifier()
    if found is None:
        return "title:" + " ".join(ref.title.casefold().split())
    kind, value = found
    return f"{kind}:{value.lower() if kind == 'doi' else value}"


def review_cells(review: Review | None) -> tuple[Value, ...]:
    """verdict, rating, rating_value and review_note of a record's review."""
    if review is None:
        return (NOT_REVIEWED, NOT_REVIEWED, None, None)
    return (review.verdict.value, review.rating.value, review.rating.score, review.note)


def _owner(rec: Claim | Case) -> tuple[str | None, str | None]:
    return (rec.id, None) if isinstance(rec, Claim) else (None, rec.id)


def cited_references(ds: Dataset) -> list[tuple[str, Reference, list[str]]]:
    """Every reference once (by `reference_key`), first-seen fields, with the ids of the
    claims and cases that cite it (in a review, or in a later development)."""
    seen: dict[str, tuple[Reference, list[str]]] = {}
    for rec in ds.records():
        if rec.review is None:
            continue
        refs = list(rec.review.references)
        for dev in rec.review.later:
            refs += dev.references
        for ref in refs:
            key = reference_key(ref)
            entry = seen.setdefault(key, (ref, []))
            if rec.id not in entry[1]:
                entry[1].append(rec.id)
    return [(key, ref, ids) for key, (ref, ids) in seen.items()]


def _cells(rec: object, columns: Iterable[Column]) -> tuple[Value, ...]:
    """The fields of `rec` that `columns` name, each label as its text."""
    values = (getattr(rec, c.name) for c in columns)
    return tuple(_cell_value(v) for v in values)


def _cell_value(value: Any) -> Value:
    """A field as one cell: a label as its text, a list of names (a reference's authors)
    as one text, "; " between them, or empty."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return "; ".join(value) or None
    return value  # type: ignore[no-any-return]


def _pairs(name: str, description: str, records: Iterable[Any], field: str) -> Table:
    """The table `name` of distinct pairs: each record's id with each item of its `field`."""
    left, right = _PAIR_COLUMNS[name]
    rows: list[tuple[Value, ...]] = list(
        dict.fromkeys((r.id, item) for r in records for item in getattr(r, field))
    )
    return Table(name, description, (left, right), (left.name, right.name), rows)


def _numbered(
    name: str, description: str, columns: tuple[Column, ...], rows: Iterable[tuple[Value, ...]]
) -> Table:
    """The table `name`, keyed by `id`: its rows numbered from 1, in order."""
    numbered = [(n, *row) for n, row in enumerate(rows, 1)]
    return Table(name, description, (_ID, *columns), ("id",), numbered)


def claim_rows(claims: Iterable[Claim]) -> Iterator[tuple[Value, ...]]:
    """The rows of the `claims` table (`CLAIM_COLUMNS`), made as the claims are read."""
    for c in claims:
        yield (*_cells(c, _CLAIM_FIELDS), *review_cells(c.review))


def build_tables(ds: Dataset) -> list[Table]:
    """The dataset as tidy tables, parents before the tables that refer to them."""
    records = ds.records()
    reviewed = [(r, r.review) for r in records if r.review is not None]
    refs = cited_references(ds)
    ref_ids = {key: n for n, (key, _, _) in enumerate(refs, 1)}
    developments = [(rec, d) for rec, rv in reviewed for d in rv.later]

    def citations() -> Iterator[tuple[Value, ...]]:
        for rec, rv in reviewed:
            for ref in rv.references:
                yield (*_owner(rec), ref_ids[reference_key(ref)], ref.note)

    tables = [
        Table(
            "source",
            "The document the claims are drawn from (one row).",
            _SOURCE,
            ("id",),
            [_cells(ds.source, _SOURCE)],
        ),
        Table(
            "labels",
            "Every label of every vocabulary, with its one-line definition.",
            (_c("vocabulary", nn=True), _c("label", nn=True), _c("definition", nn=True)),
            ("vocabulary", "label"),
            [
                (vocab, str(label), text)
                for vocab, labels in DEFINITIONS.items()
                for label, text in labels.items()
            ],
        ),
        Table(
            "entities",
            "People, organisations, products, publications and places the records name.",
            (_c("id", nn=True), _c("name", nn=True), _c("type", nn=True), _c("note")),
            ("id",),
            [(e.id, e.name, e.type.value, e.note) for e in ds.entities],
        ),
        _pairs("entity_aliases", "Other names of an entity, one per row.", ds.entities, "aliases"),
        Table(
            "claims",
            "One row per claim, with its review's verdict and rating.",
            CLAIM_COLUMNS,
            ("id",),
            list(claim_rows(ds.claims)),
            search=("statement", "quote", "review_note"),
        ),
        Table(
            "cases",
            "One row per clinical case, with its patient and its review's verdict and rating.",
            (
                _c("id", nn=True),
                _c("title", nn=True),
                _c("evidence", nn=True),
                _c("patient", nn=True),
                _c("patient_name"),
                _c("patient_sex"),
                _c("patient_age", "INTEGER"),
                _c("patient_place"),
                _c("extent"),
                _c("therapy", nn=True),
                _c("outcome", nn=True),
                _c("hospital_id", ref="entities"),
                _c("quote", nn=True),
                *_REVIEW,
            ),
            ("id",),
            [
                (
                    c.id,
                    c.title,
                    c.evidence.value,
                    c.patient.description,
                    c.patient.name,
                    c.patient.sex,
                    c.patient.age,
                    c.patient.place,
                    c.extent,
                    c.therapy,
                    c.outcome,
                    c.hospital,
                    c.quote,
                    *review_cells(c.review),
                )
                for c in ds.cases
            ],
            search=("title", "quote", "outcome", "review_note"),
        ),
        _pairs("claim_entities", "Which entities each claim names.", ds.claims, "entities"),
        _pairs("case_entities", "Which entities each case names.", ds.cases, "entities"),
        _pairs("case_claims", "The claims a case relates to.", ds.cases, "claims"),
        Table(
            "case_diagnoses",
            "A case's diagnoses, one per row.",
            (_CASE, _c("position", "INTEGER", nn=True), _c("diagnosis", nn=True)),
            ("case_id", "position"),
            [(c.id, n, d) for c in ds.cases for n, d in enumerate(c.diagnosis, 1)],
        ),
        _numbered(
            "figures",
            "Numbers the claims state: value, unit and qualifier.",
            (
                _CLAIM,
                _c("label", nn=True),
                _c("value", "NUMERIC", nn=True),
                _c("unit", nn=True),
                _c("qualifier", nn=True),
                _c("date"),
            ),
            (
                (c.id, f.label, f.value, f.unit, f.qualifier.value, f.date)
                for c in ds.claims
                for f in c.figures
            ),
        ),
        _numbered(
            "events",
            "Dated steps of each case, as the article tells them.",
            (_CASE, _c("date", nn=True), _c("description", nn=True), _c("quote")),
            ((c.id, e.date, e.description, e.quote) for c in ds.cases for e in c.events),
        ),
        _numbered(
            "measurements",
            "Measured outcomes of each case: a value before and after.",
            (
                _CASE,
                _c("label", nn=True),
                _c("before", "NUMERIC", nn=True),
                _c("after", "NUMERIC", nn=True),
                _c("unit", nn=True),
                _c("date"),
            ),
            (
                (c.id, m.label, m.before, m.after, m.unit, m.date)
                for c in ds.cases
                for m in c.measurements
            ),
        ),
        _numbered(
            "reasons",
            "Why a record is rated as it is: one reason tag per row.",
            (*_OWNER, _c("reason", nn=True)),
            ((*_owner(r), reason.value) for r, rv in reviewed for reason in rv.reasons),
        ),
        _numbered(
            "corrections",
            "What the article gets wrong, and what public records say instead.",
            (*_OWNER, _c("article", nn=True), _c("correct", nn=True), _c("note")),
            (
                (*_owner(r), c.article, c.correct, c.note)
                for r, rv in reviewed
                for c in rv.corrections
            ),
        ),
        Table(
            "references",
            "Public records that back the reviews, each once, with the address to open.",
            (_ID, _c("key", nn=True), *_REFERENCE_FIELDS, _c("link")),
            ("id",),
            [(ref_ids[key], key, *_cells(r, _REFERENCE_FIELDS), r.link()) for key, r, _ in refs],
            search=("title", "publisher"),
        ),
        _numbered(
            "citations",
            "Which claim or case cites which reference, with what the review notes of it.",
            (*_OWNER, _c("reference_id", "INTEGER", ref="references", nn=True), _c("note")),
            dict.fromkeys(citations()),
        ),
        _numbered(
            "developments",
            "What happened after the article was written, known from outside it.",
            (*_OWNER, _c("date"), _c("description", nn=True)),
            ((*_owner(r), d.date, d.description) for r, d in developments),
        ),
        Table(
            "development_references",
            "The references that state each later development.",
            (
                _c("development_id", "INTEGER", ref="developments", nn=True),
                _c("reference_id", "INTEGER", ref="references", nn=True),
            ),
            ("development_id", "reference_id"),
            list(
                dict.fromkeys(
                    (n, ref_ids[reference_key(ref)])
                    for n, (_, d) in enumerate(developments, 1)
                    for ref in d.references
                )
            ),
        ),
    ]
    return tables


def table_named(tables: list[Table], name: str) -> Table:
    """The table called `name`."""
    for t in tables:
        if t.name == name:
            return t
    raise KeyError(name)
