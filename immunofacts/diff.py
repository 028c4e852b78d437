"""What changed between two versions of a dataset, as a fact-check reader asks it.

Pure: two Datasets in, a list of changes out. Claims and cases added or
removed; verdicts and ratings changed; corrections, references and later
developments added or removed; quotes and statements changed.
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
    CORRECTION_ADDED = "correction-added"
    CORRECTION_REMOVED = "correction-removed"
    REFERENCE_ADDED = "reference-added"
    REFERENCE_REMOVED = "reference-removed"
    DEVELOPMENT_ADDED = "development-added"
    DEVELOPMENT_REMOVED = "development-removed"


class Change(msgspec.Struct, frozen=True):
    """One change to one record: what it was and what it is (null where there is none)."""

    record: str
    type: str  # "claim" or "case"
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
    return out


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
        if prev.quote != rec.quote:
            changes.append(Change(rid, kind, ChangeKind.QUOTE, prev.quote, rec.quote))
        if _text(prev) != _text(rec):
            changes.append(Change(rid, kind, ChangeKind.STATEMENT, _text(prev), _text(rec)))
        for change, was, now in _review_changes(prev.review, rec.review):
            changes.append(Change(rid, kind, change, was, now))
    for key, rec in before.items():
        if key not in after:
            changes.append(Change(key[1], key[0], ChangeKind.REMOVED, _text(rec), None))
    return DatasetDiff(old_name, new_name, changes)
