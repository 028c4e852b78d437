"""Grounding: the dataset says only what the article says, and says what the references say.

Everything here goes through the real loader and the shipped files in data/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from immunofacts.loading import load_dataset
from immunofacts.model import Case, Claim, Dataset, Evidence, Review, Verdict
from immunofacts.query import uncovered_paragraphs

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"
ARTICLE = ROOT / "data" / "article.txt"
#: The article as first given, in the project's shared folder beside the checkout, where present.
SEED = ROOT.parent / "shared" / "seed" / "000_3d0d49d59a60e3dc.txt"
CREDIT = "(source:chinanet, reference only)"

CASE_IDS = {"case-lupus-lymphoma-shenzhen", "case-uk-lymphoma-helen", "case-hong-kong-singer"}


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


@pytest.fixture(scope="module")
def article() -> str:
    return ARTICLE.read_text(encoding="utf-8")


def all_quotes(ds: Dataset) -> Iterator[tuple[str, str]]:
    """(where, quote) for every claim quote, case quote and case event quote."""
    for c in ds.claims:
        yield c.id, c.quote
    for k in ds.cases:
        yield k.id, k.quote
        for i, ev in enumerate(k.events):
            if ev.quote is not None:
                yield f"{k.id}.events[{i}]", ev.quote


def reviews(ds: Dataset) -> Iterator[tuple[Claim | Case, Review]]:
    for rec in ds.records():
        if rec.review is not None:
            yield rec, rec.review


# --- the article --------------------------------------------------------------------------


def test_loader_reads_the_article_beside_the_dataset(ds: Dataset, article: str) -> None:
    assert ds.source.text == "article.txt"
    assert ds.source_text == article


@pytest.mark.skipif(not SEED.is_file(), reason="no ../shared/seed beside the checkout")
def test_article_is_the_seed_byte_for_byte() -> None:
    assert ARTICLE.read_bytes() == SEED.read_bytes()


def test_article_ends_with_its_credit_line(article: str, ds: Dataset) -> None:
    assert article.rstrip("\n").endswith("\n" + CREDIT)
    assert ds.source.credit == CREDIT


# --- quotes -------------------------------------------------------------------------------


def test_every_quote_is_verbatim_in_the_article(ds: Dataset, article: str) -> None:
    quotes = list(all_quotes(ds))
    # claims + cases + the cases' quoted events
    assert len(quotes) >= len(ds.claims) + len(ds.cases) + 1
    missing = [where for where, quote in quotes if quote not in article]
    assert missing == []


def test_quotes_are_not_trivially_short(ds: Dataset) -> None:
    """A quote of a word or two would 'ground' anything; each is a real phrase."""
    short = [where for where, quote in all_quotes(ds) if len(quote.split()) < 4]
    assert short == []


def _paragraphs_of_substance(text: str) -> list[str]:
    """An independent paragraph split: blank-line separated, > 60 chars, not the credit."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        para = block.strip("\n")
        if len(para) > 60 and para.strip() != CREDIT:
            out.append(para)
    return out


def test_every_paragraph_of_substance_is_quoted(ds: Dataset, article: str) -> None:
    assert uncovered_paragraphs(ds) == []
    paras = _paragraphs_of_substance(article)
    assert len(paras) >= 15  # the article has that many real paragraphs
    quotes = [q for _, q in all_quotes(ds)]
    uncovered = [p[:50] for p in paras if not any(q in p for q in quotes)]
    assert uncovered == []


# --- figures and cases --------------------------------------------------------------------


def test_headline_figures_are_structured(ds: Dataset) -> None:
    claim = next(c for c in ds.claims if c.id == "claim-car-t-ind-applications")
    values = {f.value for f in claim.figures}
    assert {50, 28, 31, 12} <= values
    fifty = next(f for f in claim.figures if f.value == 50)
    assert fifty.qualifier.value == "more-than"  # the article says "more than 50"
    twelve = next(f for f in claim.figures if f.value == 12)
    assert twelve.date == "2020"
    for value in ("50", "28", "31", "12"):
        assert re.search(rf"\b{value}\b", claim.quote)


def test_exactly_the_three_cases(ds: Dataset) -> None:
    assert len(ds.cases) == 3
    assert {c.id for c in ds.cases} == CASE_IDS


def test_singer_measurement(ds: Dataset) -> None:
    singer = next(c for c in ds.cases if c.id == "case-hong-kong-singer")
    drops = [m for m in singer.measurements if (m.before, m.after) == (68, 2)]
    assert len(drops) == 1
    assert drops[0].date == "2020-11-21"
    assert "from 68 to 2" in singer.quote


def test_cases_rest_on_news_or_patient_reports(ds: Dataset) -> None:
    allowed = {Evidence.NEWS_REPORT, Evidence.PATIENT_REPORT}
    assert {c.evidence for c in ds.cases} <= allowed
    singer = next(c for c in ds.cases if c.id == "case-hong-kong-singer")
    assert singer.evidence is Evidence.PATIENT_REPORT  # her own social-media post


def test_singer_review_records_her_death(ds: Dataset) -> None:
    singer = next(c for c in ds.cases if c.id == "case-hong-kong-singer")
    assert singer.review is not None
    (death,) = singer.review.later
    assert "death" in death.description
    assert death.date == "2021-05-04"


# --- corrections from REFERENCES.md -------------------------------------------------------


def corrections(ds: Dataset) -> list[tuple[str, str, str]]:
    return [(rec.id, c.article, c.correct) for rec, r in reviews(ds) for c in r.corrections]


def test_noti_correction(ds: Dataset) -> None:
    assert ("claim-noti-abdominal-fat-study", "Mario Notti", "Mario Noti") in corrections(ds)


def test_lancet_respiratory_medicine_correction(ds: Dataset) -> None:
    fixes = [(a, b) for rid, a, b in corrections(ds) if "lancet" in rid]
    assert ("The Lancet", "The Lancet Respiratory Medicine") in fixes


def test_cynk_001_fda_clearance_in_april(ds: Dataset, article: str) -> None:
    claim = next(c for c in ds.claims if c.id == "claim-cynk-001-fda-ind")
    assert claim.review is not None
    assert claim.review.verdict is Verdict.CONFIRMED_WITH_CORRECTIONS
    assert "2 April 2020" in (claim.review.note or "")
    assert "Celularity" in (claim.review.note or "")
    assert any(r.nct == "NCT04365101" for r in claim.review.references)
    # The article says "Subsequently" and names no applicant: the only correction
    # is of words it does use.
    (fix,) = claim.review.corrections
    assert fix.article in article
    assert (fix.article, fix.correct) == (
        "adult patients with COVID-19 pneumonia",
        "adults with COVID-19",
    )


def test_corrected_words_are_the_articles_own(ds: Dataset, article: str) -> None:
    """A correction names words the article uses (where it quotes them rather than a gist)."""
    for rid, wrong, right in corrections(ds):
        if wrong in ("Mario Notti", "The Lancet", "Sorrento Pharmaceuticals", "Helensius"):
            assert wrong in article, rid
        assert wrong != right, rid


# --- entities, identifiers, enums ---------------------------------------------------------


def test_every_entity_is_named_by_something(ds: Dataset) -> None:
    named: set[str] = set()
    for rec in ds.records():
        named.update(rec.entities)
    named.update(c.hospital for c in ds.cases if c.hospital)
    unused = sorted(e.id for e in ds.entities if e.id not in named)
    assert unused == []


def test_references_have_well_formed_identifiers(ds: Dataset) -> None:
    refs = [ref for _, r in reviews(ds) for ref in r.references]
    dois = [ref.doi for ref in refs if ref.doi]
    ncts = [ref.nct for ref in refs if ref.nct]
    assert dois and ncts
    assert [d for d in dois if not re.fullmatch(r"10\.\d{4,9}/\S+", d)] == []
    assert [n for n in ncts if not re.fullmatch(r"NCT\d{8}", n)] == []
    assert [p for ref in refs if (p := ref.pmid) and not p.isdigit()] == []


def test_verdicts_are_enum_values(ds: Dataset) -> None:
    allowed = {v.value for v in Verdict}
    assert {r.verdict.value for _, r in reviews(ds)} <= allowed
    assert all(isinstance(r.verdict, Verdict) for _, r in reviews(ds))


def test_ids_are_unique(ds: Dataset) -> None:
    ids = [e.id for e in ds.entities] + [r.id for r in ds.records()] + [ds.source.id]
    assert len(ids) == len(set(ids))


def test_case_claim_links_resolve(ds: Dataset) -> None:
    claim_ids = {c.id for c in ds.claims}
    for case in ds.cases:
        assert case.claims, case.id
        assert set(case.claims) <= claim_ids
