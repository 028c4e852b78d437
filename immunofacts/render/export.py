"""Whole-dataset exports: JSON and YAML in the dataset schema, flat CSV, ClaimReview."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec

from ..model import Case, Claim, Dataset, Verdict
from ..query import RecordType, verdict_of
from .base import ExportFormat
from .formats import csv_lines, to_json
from .views import reference_text

VERDICT_NAMES = {
    Verdict.CONFIRMED: "Confirmed",
    Verdict.CONFIRMED_WITH_CORRECTIONS: "Confirmed, with corrections",
    Verdict.REPORTED: "Reported in the news; medical facts not independently checked",
    Verdict.UNCONFIRMED: "Unconfirmed",
    Verdict.NOT_IDENTIFIED: "Source not identified",
}
CSV_COLUMNS = (
    "type",
    "id",
    "kind",
    "evidence",
    "verdict",
    "date",
    "text",
    "quote",
    "entities",
    "figures",
    "review_note",
    "corrections",
    "references",
    "later",
)


def dataset_builtins(ds: Dataset) -> dict[str, Any]:
    """The dataset in its schema's shape, ready for JSON or YAML; loads back unchanged."""
    out: dict[str, Any] = _prune(msgspec.to_builtins(ds))
    out.pop("source_text", None)
    out["schema"] = ds.schema
    return {k: out[k] for k in ("schema", "source", "entities", "claims", "cases") if k in out}


def relocated(ds: Dataset, from_dir: Path, to_dir: Path) -> Dataset:
    """The dataset with a relative `source.text` rewritten to lead from `to_dir`
    to the same file it led to from `from_dir`."""
    text = ds.source.text
    if not text or os.path.isabs(text):
        return ds
    moved = os.path.relpath(from_dir / text, to_dir)
    return msgspec.structs.replace(ds, source=msgspec.structs.replace(ds.source, text=moved))


def _prune(value: Any) -> Any:
    """Drop null and empty optional values, which loading fills back in as defaults."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def export_text(ds: Dataset, fmt: ExportFormat, *, date: str, base_url: str) -> str:
    """The text of an export."""
    if fmt is ExportFormat.JSON:
        return to_json(dataset_builtins(ds))
    if fmt is ExportFormat.YAML:
        from ..loading import dump_yaml

        return dump_yaml(dataset_builtins(ds))
    if fmt is ExportFormat.CSV:
        return _csv(ds)
    return to_json(claim_reviews(ds, date=date, base_url=base_url))


def _csv(ds: Dataset) -> str:
    return "".join(csv_lines(CSV_COLUMNS, (_csv_row(rec) for rec in ds.records())))


def _csv_row(rec: Claim | Case) -> list[str]:
    review = rec.review
    return [
        RecordType.of(rec).value,
        rec.id,
        rec.kind.value if isinstance(rec, Claim) else "",
        rec.evidence.value,
        verdict_of(rec) or "",
        rec.date or "" if isinstance(rec, Claim) else "",
        rec.statement if isinstance(rec, Claim) else rec.title,
        rec.quote,
        ";".join(rec.entities),
        ";".join(f"{f.label}={f.qualifier.value}:{f.value} {f.unit}" for f in rec.figures)
        if isinstance(rec, Claim)
        else "",
        review.note or "" if review else "",
        ";".join(f"{c.article} -> {c.correct}" for c in review.corrections) if review else "",
        ";".join(reference_text(r) for r in review.references) if review else "",
        ";".join(d.description for d in review.later) if review else "",
    ]


def claim_reviews(ds: Dataset, *, date: str, base_url: str) -> list[dict[str, Any]]:
    """schema.org ClaimReview objects (JSON-LD) for every claim and case with a verdict.

    `not-checked` is not a verdict on the claim, so those records are left out.
    """
    src = ds.source
    appearance: dict[str, Any] = {
        "@type": "CreativeWork",
        "headline": src.title,
        "publisher": {"@type": "Organization", "name": src.publisher},
    }
    if src.date:
        appearance["datePublished"] = src.date
    if base_url and not base_url.endswith(("/", "#", ":", "=")):
        base_url += "/"
    out = []
    for rec in ds.records():
        if rec.review is None or rec.review.verdict not in VERDICT_NAMES:
            continue
        review = rec.review
        claim: dict[str, Any] = {
            "@type": "Claim",
            "text": rec.quote,
            "appearance": appearance,
            "author": {"@type": "Organization", "name": src.publisher},
        }
        if isinstance(rec, Claim) and rec.date:
            claim["datePublished"] = src.date or rec.date
        rating: dict[str, Any] = {
            "@type": "Rating",
            "alternateName": VERDICT_NAMES[review.verdict],
        }
        explanation = [review.note or ""]
        explanation += [
            f"The article says {c.article!r}; records say {c.correct!r}."
            for c in review.corrections
        ]
        explanation += [f"Later: {d.description}" for d in review.later]
        if any(explanation):
            rating["ratingExplanation"] = " ".join(e for e in explanation if e)
        obj: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "url": f"{base_url}{rec.id}",
            "claimReviewed": rec.statement if isinstance(rec, Claim) else rec.title,
            "itemReviewed": claim,
            "reviewRating": rating,
            "author": {"@type": "Organization", "name": "immunofacts"},
            "datePublished": date,
        }
        refs = [r.link() for r in review.references if r.link()]
        if refs:
            obj["citation"] = refs
        out.append(obj)
    return out
