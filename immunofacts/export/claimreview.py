"""schema.org ClaimReview (JSON-LD) that a fact-check publisher can put on its pages.

Follows Google's fact-check markup: `url` is the web page of each review (built
from a template), `claimReviewed` a short form of the claim, `reviewRating` the
rating on the project's scale (`ratingValue` between `worstRating` and
`bestRating`, a short `alternateName`, a one- or two-sentence
`ratingExplanation`), `itemReviewed` a Claim that appeared in the source.

Only claims are exported: a case is a story the claims draw on, and its claims
are reviewed one by one. A claim rated `not-a-fact` (an opinion, a prediction,
a sales pitch) is left out: ClaimReview rates checkable claims, and a rating
with no place on the scale would read as a verdict it is not. So is a claim
with no review.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import msgspec

from ..errors import UsageError
from ..model import BEST_RATING, WORST_RATING, Claim, Dataset, Rating, definition

#: Google suggests keeping claimReviewed under this many characters.
CLAIM_REVIEWED_MAX = 75

#: The short, reader-facing name of each rating (ClaimReview's alternateName).
RATING_NAMES: dict[Rating, str] = {
    Rating.ACCURATE: "Accurate",
    Rating.MOSTLY_ACCURATE: "Mostly accurate",
    Rating.UNSUPPORTED: "Unsupported",
    Rating.MISLEADING: "Misleading",
    Rating.INCORRECT: "Incorrect",
    Rating.NOT_A_FACT: "Not a fact",
}

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")
#: Words ending in a full stop that do not end a sentence.
_ABBREVIATIONS = {"al.", "dr.", "mr.", "ms.", "mrs.", "prof.", "e.g.", "i.e.", "vs.", "no.", "fig."}


class Publisher(msgspec.Struct, frozen=True):
    """Who publishes the reviews, and where each review's page is."""

    author: str
    url_template: str
    date: str
    author_url: str | None = None
    allow_non_web: bool = False


class ClaimReviews(msgspec.Struct, frozen=True):
    """The ClaimReview objects, and what the reader should be told about them."""

    items: list[dict[str, Any]]
    warnings: list[str]


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) address with a host."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url


def check_publisher(pub: Publisher) -> list[str]:
    """Refuse what cannot be published; return warnings about what only might not be.

    The template must contain ``{id}``. A url that is not http(s) is refused
    unless `allow_non_web` is set, and then it is a warning.
    """
    if not pub.author.strip():
        raise UsageError("--author must name who publishes the reviews")
    if "{id}" not in pub.url_template:
        raise UsageError(
            f"--url-template {pub.url_template!r} has no {{id}}: every review needs its own "
            "page, e.g. 'https://example.org/reviews/{id}'"
        )
    warnings = []
    sample = pub.url_template.replace("{id}", "claim-x")
    if not is_web_url(sample):
        if not pub.allow_non_web:
            raise UsageError(
                f"--url-template {pub.url_template!r} is not an http(s) address; ClaimReview's "
                "url must be the web page of the review (add --allow-non-web-url to export "
                "anyway, for a file that is not to be published)"
            )
        warnings.append(
            f"url {sample!r} is not a web address: search engines will not use these reviews"
        )
    if pub.author_url is not None and not is_web_url(pub.author_url):
        raise UsageError(f"--author-url {pub.author_url!r} is not an http(s) address")
    return warnings


def sentences(text: str, n: int = 2) -> str:
    """The first `n` sentences of a text, on one line."""
    flat = " ".join(text.split())
    parts: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(flat):
        last_word = flat[start : m.start()].rsplit(" ", 1)[-1].lower()
        if last_word in _ABBREVIATIONS:
            continue
        parts.append(flat[start : m.start()])
        start = m.end()
        if len(parts) == n:
            return " ".join(parts)
    parts.append(flat[start:])
    return " ".join(parts[:n])


def rating_explanation(claim: Claim) -> str:
    """One or two sentences saying why the claim is rated as it is."""
    review = claim.review
    assert review is not None
    if review.note:
        return sentences(review.note)
    text = definition(review.rating)
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def claim_review(ds: Dataset, claim: Claim, pub: Publisher) -> dict[str, Any]:
    """The ClaimReview of one reviewed claim whose rating is on the scale."""
    review = claim.review
    assert review is not None and review.rating.score is not None
    src = ds.source
    appearance: dict[str, Any] = {"@type": "CreativeWork", "headline": src.title}
    if src.url:
        appearance["url"] = src.url
    appearance["publisher"] = {"@type": "Organization", "name": src.publisher}
    if src.date:
        appearance["datePublished"] = src.date
    item: dict[str, Any] = {
        "@type": "Claim",
        "text": " ".join(claim.quote.split()),
        "author": {"@type": "Organization", "name": src.publisher},
        "appearance": appearance,
    }
    if src.date:
        item["datePublished"] = src.date
    name = RATING_NAMES[review.rating]
    rating = {
        "@type": "Rating",
        "ratingValue": review.rating.score,
        "bestRating": BEST_RATING,
        "worstRating": WORST_RATING,
        "alternateName": name,
        "name": name,
        "ratingExplanation": rating_explanation(claim),
    }
    author: dict[str, Any] = {"@type": "Organization", "name": pub.author}
    if pub.author_url:
        author["url"] = pub.author_url
    out: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": pub.url_template.replace("{id}", claim.id),
        "claimReviewed": claim.claim_reviewed or " ".join(claim.statement.split()),
        "itemReviewed": item,
        "reviewRating": rating,
        "author": author,
        "datePublished": pub.date,
    }
    cited = [
        {"@type": "CreativeWork", "name": r.title, "url": link}
        for r in review.references
        if (link := r.link())
    ]
    if cited:
        out["citation"] = cited
    return out


def claim_reviews(ds: Dataset, claims: list[Claim], pub: Publisher) -> ClaimReviews:
    """ClaimReview objects for the chosen claims, with warnings for the reader.

    Claims with no review or rated `not-a-fact` are left out (and counted in a
    warning); so is every case.
    """
    warnings = check_publisher(pub)
    items = []
    long = []
    skipped_opinion = [c.id for c in claims if c.review and c.review.rating.score is None]
    unreviewed = [c.id for c in claims if c.review is None]
    for claim in claims:
        if claim.review is None or claim.review.rating.score is None:
            continue
        obj = claim_review(ds, claim, pub)
        if len(obj["claimReviewed"]) > CLAIM_REVIEWED_MAX:
            long.append(claim.id)
        items.append(obj)
    if not ds.source.url:
        warnings.append(
            "the dataset's source has no url: itemReviewed.appearance names the article but "
            "gives no address (add source.url)"
        )
    if long:
        warnings.append(
            f"{len(long)} claimReviewed values exceed {CLAIM_REVIEWED_MAX} characters (give "
            f"those claims a short `claim_reviewed`): {', '.join(long)}"
        )
    if skipped_opinion:
        warnings.append(
            f"left out {len(skipped_opinion)} claims rated not-a-fact (nothing to rate as true "
            f"or false): {', '.join(skipped_opinion)}"
        )
    if unreviewed:
        warnings.append(
            f"left out {len(unreviewed)} claims with no review: {', '.join(unreviewed)}"
        )
    return ClaimReviews(items, warnings)
