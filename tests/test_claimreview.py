"""ClaimReview as Google's fact-check markup asks for it, expanded offline with pyld."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from immunofacts.errors import UsageError
from immunofacts.export.claimreview import (
    CLAIM_REVIEWED_MAX,
    Publisher,
    claim_reviews,
    is_web_url,
    sentences,
)
from immunofacts.loading import load_dataset
from immunofacts.model import BEST_RATING, WORST_RATING, Dataset, Rating

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"
CONTEXT = Path(__file__).parent / "data" / "schemaorg-context.jsonld"
PUB = Publisher(author="X", url_template="https://example.org/{id}", date="2026-01-01")
SCHEMA = "http://schema.org/"
SENTENCE_ENDS = re.compile(r"(?<!\bal)(?<!\bDr)(?<!\bMs)(?<!\bMr)[.!?](\s|$)")
ISO_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


def check_item(obj: dict[str, Any]) -> None:
    """Google's required and recommended properties, with the values they expect."""
    assert obj["@context"] == "https://schema.org"
    assert obj["@type"] == "ClaimReview"
    # required
    assert is_web_url(obj["url"])
    assert isinstance(obj["claimReviewed"], str) and obj["claimReviewed"].strip()
    rating = obj["reviewRating"]
    assert rating["@type"] == "Rating"
    name = rating["alternateName"]
    assert isinstance(name, str) and 1 <= len(name.split()) <= 3
    # recommended
    assert obj["author"]["@type"] in ("Organization", "Person") and obj["author"]["name"]
    assert ISO_DATE.match(obj["datePublished"])
    assert rating["bestRating"] == BEST_RATING and rating["worstRating"] == WORST_RATING
    assert WORST_RATING <= rating["ratingValue"] <= BEST_RATING
    assert isinstance(rating["ratingValue"], int)
    explanation = rating["ratingExplanation"]
    assert explanation and len(SENTENCE_ENDS.findall(explanation)) <= 2, explanation
    assert not re.search(r"'\.|\.'", explanation), explanation  # no Python repr quoting
    item = obj["itemReviewed"]
    assert item["@type"] == "Claim"
    for key in ("author", "appearance", "datePublished"):
        assert item[key], key
    assert item["appearance"]["@type"] == "CreativeWork"


def _loader(url: str, options: Any = None) -> dict[str, Any]:
    if url.rstrip("/") not in ("https://schema.org", "http://schema.org"):
        raise AssertionError(f"the test must not fetch {url}")
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(CONTEXT.read_text(encoding="utf-8")),
    }


def _keys(obj: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not k.startswith("@"):
                out.add(k)
            out |= _keys(v)
    elif isinstance(obj, list):
        for v in obj:
            out |= _keys(v)
    return out


def expand(obj: dict[str, Any]) -> list[dict[str, Any]]:
    from pyld import jsonld

    result: list[dict[str, Any]] = jsonld.expand(obj, {"documentLoader": _loader})
    return result


def test_every_exported_item_is_valid_and_expands_to_schema_org(ds: Dataset) -> None:
    pytest.importorskip("pyld")
    out = claim_reviews(ds, list(ds.claims), PUB)
    assert out.items
    for obj in out.items:
        check_item(obj)
        expanded = expand(obj)
        assert len(expanded) == 1
        text = json.dumps(expanded)
        # JSON-LD drops terms the context does not define: every key must survive.
        for key in _keys(obj):
            assert f'"{SCHEMA}{key}"' in text, key
        assert expanded[0]["@type"] == [f"{SCHEMA}ClaimReview"]
        assert expanded[0][f"{SCHEMA}url"] == [{"@id": obj["url"]}]


def test_only_claims_on_the_scale_are_exported(ds: Dataset) -> None:
    out = claim_reviews(ds, list(ds.claims), PUB)
    want = [c.id for c in ds.claims if c.review and c.review.rating is not Rating.NOT_A_FACT]
    assert [o["url"].rsplit("/", 1)[1] for o in out.items] == want
    by_id = {c.id: c for c in ds.claims}
    for obj in out.items:
        claim = by_id[obj["url"].rsplit("/", 1)[1]]
        assert claim.review is not None
        assert obj["reviewRating"]["ratingValue"] == claim.review.rating.score
    case_ids = {c.id for c in ds.cases}
    assert not any(o["url"].rsplit("/", 1)[1] in case_ids for o in out.items)


def test_short_form_is_used_and_long_ones_are_listed(ds: Dataset) -> None:
    claim = next(c for c in ds.claims if c.review and c.review.rating.score is not None)
    long_claim = msgspec.structs.replace(claim, statement="word " * 30, claim_reviewed=None)
    short_claim = msgspec.structs.replace(claim, claim_reviewed="A short form")
    out = claim_reviews(ds, [long_claim], PUB)
    assert any(claim.id in w and str(CLAIM_REVIEWED_MAX) in w for w in out.warnings)
    out = claim_reviews(ds, [short_claim], PUB)
    assert out.items[0]["claimReviewed"] == "A short form"
    assert not any("exceed" in w for w in out.warnings)


def test_appearance_has_the_source_address(ds: Dataset) -> None:
    src = msgspec.structs.replace(ds.source, url="https://news.example/article")
    out = claim_reviews(msgspec.structs.replace(ds, source=src), list(ds.claims), PUB)
    assert out.items[0]["itemReviewed"]["appearance"]["url"] == "https://news.example/article"
    assert not any("no url" in w for w in out.warnings)


def test_author_and_author_url(ds: Dataset) -> None:
    pub = msgspec.structs.replace(PUB, author="Fact Desk", author_url="https://desk.example/")
    out = claim_reviews(ds, list(ds.claims), pub)
    assert out.items[0]["author"] == {
        "@type": "Organization",
        "name": "Fact Desk",
        "url": "https://desk.example/",
    }


@pytest.mark.parametrize(
    "template",
    ["urn:immunofacts:{id}", "example.org/{id}", "ftp://example.org/{id}", "https:///{id}"],
)
def test_non_web_urls_are_refused_without_the_flag(ds: Dataset, template: str) -> None:
    pub = msgspec.structs.replace(PUB, url_template=template)
    with pytest.raises(UsageError, match="not an http"):
        claim_reviews(ds, list(ds.claims), pub)
    allowed = claim_reviews(ds, list(ds.claims), msgspec.structs.replace(pub, allow_non_web=True))
    assert any("not a web address" in w for w in allowed.warnings)


def test_template_needs_an_id_and_author_url_must_be_web(ds: Dataset) -> None:
    with pytest.raises(UsageError, match="no {id}"):
        claim_reviews(ds, [], msgspec.structs.replace(PUB, url_template="https://x.org/"))
    with pytest.raises(UsageError, match="author-url"):
        claim_reviews(ds, [], msgspec.structs.replace(PUB, author_url="x.org"))


def test_sentences() -> None:
    assert sentences("One. Two (2020). Three.") == "One. Two (2020)."
    assert sentences("Balint et al. in Science. More. Most.") == "Balint et al. in Science. More."
    assert sentences("Dr. Who said so.  Then   this.") == "Dr. Who said so. Then this."


def test_the_shipped_dataset_gives_every_exported_claim_a_short_form(ds: Dataset) -> None:
    out = claim_reviews(ds, list(ds.claims), PUB)
    assert all(len(o["claimReviewed"]) < CLAIM_REVIEWED_MAX for o in out.items)
    assert not any("exceed" in w for w in out.warnings)
