"""What changed between two versions of a dataset, as a fact-check reader asks it.

Pure: two Datasets in, a list of changes out. Claims and cases added or
removed; verdicts, ratings, reasons and review notes changed; corrections,
references and later developments added or removed; quotes, statements, short
forms (claim_reviewed), kinds, evidence and dates changed; entities added,
removed or changed, and the source's description or text changed; and, so that
"no changes" means none, any other field that changed, by name.
"""

from __future__ import annotations

import enum

import msgspec

from .model import NOT_REVIEWED, Case, Claim, Correction, Dataset, Development, Reference, Review


class ChangeKind(enum.StrEnum):
    """What kind of change a line of the diff reports."""

    ADDED = "added"
    REMOVED = "removed"
    VERDICT = "verdict-changed"
    RATING = "rating-changed"
    REASONS = "reasons-changed"
    QUOTE = "quote-changed"
    STATEMENT = "statement-changed"
    CLAIM_REVIEWED = "claim-reviewed-changed"
    KIND = "kind-changed"
    EVIDENCE = "evidence-changed"
    DATE = "date-changed"
    NOTE = "note-changed"
    CORRECTION_ADDED = "correction-added"
    CORRECTION_REMOVED = "correction-removed"
    REFERENCE_ADDED = "reference-added"
    REFERENCE_REMOVED = "reference-removed"
    DEVELOPMENT_ADDED = "development-added"
    DEVELOPMENT_REMOVED = "development-removed"
    OTHER = "other-changed"
    ENTITY_ADDED = "entity-added"
    ENTITY_REMOVED = "entity-removed"
    ENTITY_CHANGED = "entity-changed"
    SOURCE_CHANGED = "source-changed"


class Change(msgspec.Struct, frozen=True):
    """One change to one record: what it was and what it is (null where there is none)."""

    record: str
    type: str  # "claim", "case", "entity" or "source"
    change: ChangeKind
    old: str | None = None
    new: str | None = None


class DatasetDiff(msgspec.Struct, frozen=True):
    """Every change from `old` to `new`, records in the new file's order, removed last."""

    old: str
    new: str
    changes: list[Change]

    @property
    def changed(self) -> bool:
        """True when anything changed."""
        return bool(self.changes)


def _correction(c: Correction) -> str:
    return f"{c.article} → {c.correct}"


def _reference(r: Reference) -> str:
    link = r.link()
    return f"{r.title} ({link})" if link else r.title


def _development(d: Development) -> str:
    return f"{d.date}: {d.description}" if d.date else d.description


def _listed(
    old: tuple[str, ...], new: tuple[str, ...], added: ChangeKind, removed: ChangeKind
) -> list[tuple[ChangeKind, str | None, str | None]]:
    out: list[tuple[ChangeKind, str | None, str | None]] = []
    out += [(added, None, x) for x in new if x not in old]
    out += [(removed, x, None) for x in old if x not in new]
    return out


def _review_changes(
    old: Review | None, new: Review | None
) -> list[tuple[ChangeKind, str | None, str | None]]:
    nothing = NOT_REVIEWED
    out: list[tuple[ChangeKind, str | None, str | None]] = []
    old_verdict = old.verdict.value if old else nothing
    new_verdict = new.verdict.value if new else nothing
    if old_verdict != new_verdict:
        out.append((ChangeKind.VERDICT, old_verdict, new_verdict))
    old_rating = old.rating.value if old else nothing
    new_rating = new.rating.value if new else nothing
    if old_rating != new_rating:
        out.append((ChangeKind.RATING, old_rating, new_rating))
    old_reasons = ", ".join(r.value for r in old.reasons) if old else ""
    new_reasons = ", ".join(r.value for r in new.reasons) if new else ""
    if old_reasons != new_reasons:
        out.append((ChangeKind.REASONS, old_reasons or None, new_reasons or None))
    o_corr = tuple(_correction(c) for c in old.corrections) if old else ()
    n_corr = tuple(_correction(c) for c in new.corrections) if new else ()
    out += _listed(o_corr, n_corr, ChangeKind.CORRECTION_ADDED, ChangeKind.CORRECTION_REMOVED)
    o_refs = tuple(_reference(r) for r in old.references) if old else ()
    n_refs = tuple(_reference(r) for r in new.references) if new else ()
    out += _listed(o_refs, n_refs, ChangeKind.REFERENCE_ADDED, ChangeKind.REFERENCE_REMOVED)
    o_later = tuple(_development(d) for d in old.later) if old else ()
    n_later = tuple(_development(d) for d in new.later) if new else ()
    out += _listed(o_later, n_later, ChangeKind.DEVELOPMENT_ADDED, ChangeKind.DEVELOPMENT_REMOVED)
    old_note = old.note if old else None
    new_note = new.note if new else None
    if old_note != new_note:
        out.append((ChangeKind.NOTE, old_note, new_note))
    return out


#: The field (a dotted path) each kind of change reports: a field that changed and that
#: none of the changes found names is reported by name (`ChangeKind.OTHER`).
_FIELD_OF = {
    ChangeKind.QUOTE: "quote",
    ChangeKind.STATEMENT: "statement",
    ChangeKind.CLAIM_REVIEWED: "claim_reviewed",
    ChangeKind.KIND: "kind",
    ChangeKind.EVIDENCE: "evidence",
    ChangeKind.DATE: "date",
    ChangeKind.VERDICT: "review.verdict",
    ChangeKind.RATING: "review.rating",
    ChangeKind.REASONS: "review.reasons",
    ChangeKind.NOTE: "review.note",
    ChangeKind.CORRECTION_ADDED: "review.corrections",
    ChangeKind.CORRECTION_REMOVED: "review.corrections",
    ChangeKind.REFERENCE_ADDED: "review.references",
    ChangeKind.REFERENCE_REMOVED: "review.references",
    ChangeKind.DEVELOPMENT_ADDED: "review.later",
    ChangeKind.DEVELOPMENT_REMOVED: "review.later",
}


def _changed_fields(old: msgspec.Struct, new: msgspec.Struct) -> list[str]:
    """The fields of a record (an entity, a source) that differ, with those of its
    review as `review.X`."""
    a, b = msgspec.to_builtins(old), msgspec.to_builtins(new)
    out: list[str] = []
    for key in dict.fromkeys([*a, *b]):
        if key == "review" and (isinstance(a.get(key), dict) or isinstance(b.get(key), dict)):
            ra, rb = a.get(key) or {}, b.get(key) or {}  # a review added or removed: its fields
            keys = dict.fromkeys([*ra, *rb])  # an empty list is as good as none
            out += [f"review.{k}" for k in keys if (ra.get(k) or None) != (rb.get(k) or None)]
        elif a.get(key) != b.get(key):
            out.append(key)
    return out


def _value(label: enum.Enum | None) -> str | None:
    return None if label is None else str(label.value)


def _text(rec: Claim | Case) -> str:
    return rec.statement if isinstance(rec, Claim) else rec.title


def diff_datasets(old: Dataset, new: Dataset, *, old_name: str, new_name: str) -> DatasetDiff:
    """Every change from `old` to `new`."""
    before = {(type(r).__name__.lower(), r.id): r for r in old.records()}
    after = {(type(r).__name__.lower(), r.id): r for r in new.records()}
    changes: list[Change] = []
    for key, rec in after.items():
        kind, rid = key
        prev = before.get(key)
        if prev is None:
            changes.append(Change(rid, kind, ChangeKind.ADDED, None, _text(rec)))
            continue
        found: list[tuple[ChangeKind, str | None, str | None]] = []
        if prev.quote != rec.quote:
            found.append((ChangeKind.QUOTE, prev.quote, rec.quote))
        if _text(prev) != _text(rec):
            found.append((ChangeKind.STATEMENT, _text(prev), _text(rec)))
        if isinstance(prev, Claim) and isinstance(rec, Claim):
            if prev.claim_reviewed != rec.claim_reviewed:
                found.append((ChangeKind.CLAIM_REVIEWED, prev.claim_reviewed, rec.claim_reviewed))
            if prev.kind != rec.kind:
                found.append((ChangeKind.KIND, prev.kind.value, rec.kind.value))
            if prev.date != rec.date:
                found.append((ChangeKind.DATE, prev.date, rec.date))
        if prev.evidence != rec.evidence:
            found.append((ChangeKind.EVIDENCE, _value(prev.evidence), _value(rec.evidence)))
        found += _review_changes(prev.review, rec.review)
        named = {_FIELD_OF[c] for c, _, _ in found}
        if isinstance(rec, Case):
            named.add("title")  # a case's title is what `statement-changed` reports
        other = [f for f in _changed_fields(prev, rec) if f not in named]
        if other:
            found.append((ChangeKind.OTHER, None, ", ".join(other)))
        changes += [Change(rid, kind, change, was, now) for change, was, now in found]
    for key, rec in before.items():
        if key not in after:
            changes.append(Change(key[1], key[0], ChangeKind.REMOVED, _text(rec), None))
    changes += _entity_changes(old, new)
    source = _changed_fields(old.source, new.source)
    if old.source_text != new.source_text:
        source.append("its text")
    if source:
        changes.append(
            Change(new.source.id, "source", ChangeKind.SOURCE_CHANGED, None, ", ".join(source))
        )
    return DatasetDiff(old_name, new_name, changes)


def _entity_changes(old: Dataset, new: Dataset) -> list[Change]:
    """Entities added (with their name), removed, or changed (the fields that did)."""
    out: list[Change] = []
    before = {e.id: e for e in old.entities}
    after = {e.id: e for e in new.entities}
    for eid, e in after.items():
        was = before.get(eid)
        if was is None:
            out.append(Change(eid, "entity", ChangeKind.ENTITY_ADDED, None, e.name))
        elif fields := _changed_fields(was, e):
            out.append(Change(eid, "entity", ChangeKind.ENTITY_CHANGED, None, ", ".join(fields)))
    for eid, e in before.items():
        if eid not in after:
            out.append(Change(eid, "entity", ChangeKind.ENTITY_REMOVED, e.name, None))
    return out
