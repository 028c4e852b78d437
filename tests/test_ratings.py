"""The rating layer: every record reviewed, every label defined, every rating backed.

The rules a machine can check live in `model.review_problems` and run in the
loader for any dataset; these tests prove they do, and check the shipped
dataset's reviews against what the second check of the sources found.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from immunofacts.errors import DataError
from immunofacts.loading import load_dataset, parse_dataset
from immunofacts.model import (
    BEST_RATING,
    DEFINITIONS,
    RATING_SCALE,
    RULES,
    VOCABULARIES,
    WORST_RATING,
    Claim,
    Dataset,
    Evidence,
    Rating,
    Reason,
    Review,
    Verdict,
    definition,
)
from immunofacts.query import stats

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


def review(ds: Dataset, rid: str) -> Review:
    rec = next(r for r in ds.records() if r.id == rid)
    assert rec.review is not None, rid
    return rec.review


# --- the vocabularies ---------------------------------------------------------------------


def test_every_label_of_every_vocabulary_has_a_definition() -> None:
    assert set(DEFINITIONS) == set(VOCABULARIES)
    for name, vocab in VOCABULARIES.items():
        assert set(DEFINITIONS[name]) == {label.value for label in vocab}, name
        for label in vocab:
            assert definition(label) == DEFINITIONS[name][label.value]
            assert 10 < len(definition(label)) <= 100, label


def test_verdicts_and_ratings_have_rules() -> None:
    assert set(RULES["verdict"]) == {v.value for v in Verdict}
    assert set(RULES["rating"]) == {r.value for r in Rating}


def test_the_scale_is_ordered_and_numeric() -> None:
    scores = [RATING_SCALE[r] for r in Rating if r is not Rating.NOT_A_FACT]
    assert scores == sorted(scores, reverse=True)  # declared best first
    assert (max(scores), min(scores)) == (BEST_RATING, WORST_RATING)
    assert Rating.NOT_A_FACT.score is None
    assert Rating.ACCURATE.score == BEST_RATING


def test_every_value_in_the_dataset_is_defined(ds: Dataset) -> None:
    used: dict[str, set[str]] = {name: set() for name in VOCABULARIES}
    for c in ds.claims:
        used["kind"].add(c.kind.value)
        used["qualifier"].update(f.qualifier.value for f in c.figures)
    for rec in ds.records():
        used["evidence"].add(rec.evidence.value)
        assert rec.review is not None
        used["verdict"].add(rec.review.verdict.value)
        used["rating"].add(rec.review.rating.value)
        used["reason"].update(tag.value for tag in rec.review.reasons)
    used["entity type"].update(e.type.value for e in ds.entities)
    for name, labels in used.items():
        assert labels <= set(DEFINITIONS[name]), name


# --- every record reviewed and backed -----------------------------------------------------


def test_every_claim_and_case_has_a_review_with_a_note(ds: Dataset) -> None:
    missing = [r.id for r in ds.records() if r.review is None or not r.review.note]
    assert missing == []


def test_every_reference_has_a_publisher_and_an_address(ds: Dataset) -> None:
    for rec in ds.records():
        assert rec.review is not None
        refs = [*rec.review.references, *(r for d in rec.review.later for r in d.references)]
        for ref in refs:
            assert ref.publisher, (rec.id, ref.title)
            link = ref.link()
            assert link is not None and link.startswith(("https://", "http://")), rec.id


def test_every_later_development_is_dated_and_referenced(ds: Dataset) -> None:
    for rec in ds.records():
        assert rec.review is not None
        for dev in rec.review.later:
            assert dev.date and dev.references, rec.id


def test_notes_open_with_a_sentence_that_stands_alone(ds: Dataset) -> None:
    """The note's first sentence or two serve as a ClaimReview ratingExplanation."""
    for rec in ds.records():
        assert rec.review is not None and rec.review.note
        first = rec.review.note.split(". ")[0]
        assert 20 <= len(first) <= 240, rec.id
        assert not first.lower().startswith(("see ", "it ", "this ", "they ")), rec.id


def test_opinions_and_predictions_are_explicitly_not_facts(ds: Dataset) -> None:
    for c in ds.claims:
        if c.kind.value in ("opinion", "prediction"):
            assert c.review is not None
            assert (c.review.verdict, c.review.rating) == (
                Verdict.NOT_CHECKABLE,
                Rating.NOT_A_FACT,
            ), c.id


# --- what the second check found ----------------------------------------------------------


def test_mice_told_as_people_rates_clearly_below_a_misspelt_company(ds: Dataset) -> None:
    sorrento = review(ds, "claim-cynk-001-announcement")
    for rid in ("claim-abdominal-fat-immune-cells-reverse-aging", "claim-noti-abdominal-fat-study"):
        fat = review(ds, rid)
        assert fat.rating.score is not None and sorrento.rating.score is not None
        assert fat.rating.score <= sorrento.rating.score - 2, rid
        assert {Reason.ANIMAL_STUDY, Reason.OVERSTATES_SCIENCE} <= set(fat.reasons)
    assert sorrento.rating is Rating.MOSTLY_ACCURATE
    assert sorrento.reasons == (Reason.WRONG_DETAIL,)


def test_the_noti_claim_rests_on_the_articles_word_not_a_cited_paper(ds: Dataset) -> None:
    noti = next(c for c in ds.claims if c.id == "claim-noti-abdominal-fat-study")
    assert noti.evidence is Evidence.UNSOURCED  # the article names no journal


def test_the_t_cell_verdict_agrees_with_its_note(ds: Dataset) -> None:
    t_cells = review(ds, "claim-wang-fusheng-t-cell-finding")
    assert t_cells.verdict is Verdict.UNCONFIRMED
    assert t_cells.rating is Rating.UNSUPPORTED
    assert "not read" in (t_cells.note or "")
    assert "not checked" not in (t_cells.note or "")


def test_the_uk_case_corrects_bone_marrow_to_bones(ds: Dataset) -> None:
    uk = review(ds, "case-uk-lymphoma-helen")
    assert ("bone marrow", "bones") in [(c.article, c.correct) for c in uk.corrections]
    assert any("bbc.com" in (r.url or "") for r in uk.references)


@pytest.mark.parametrize(
    ("rid", "fact", "address"),
    [
        ("case-hong-kong-singer", "4 May 2021", "dimsumdaily.hk"),
        ("claim-cynk-001-announcement", "25%", "pharmashots.com"),
        ("claim-barouch-macaque-protection", "Center for Virology and Vaccine", "bidmc.org"),
    ],
)
def test_outside_facts_cite_a_reference_that_states_them(
    ds: Dataset, rid: str, fact: str, address: str
) -> None:
    r = review(ds, rid)
    assert fact in (r.note or "")
    assert any(address in (ref.url or "") for ref in r.references)


def test_entity_notes_point_to_the_review_that_sources_their_facts(ds: Dataset) -> None:
    notes = {e.id: e.note or "" for e in ds.entities}
    assert "25%" not in notes["ent-sorrento-therapeutics"]
    assert "claim-cynk-001-announcement" in notes["ent-sorrento-therapeutics"]
    assert "case-hong-kong-singer" in notes["ent-sarena-li-ming-wai"]


def test_what_the_sources_leave_unconfirmed_stays_unconfirmed(ds: Dataset) -> None:
    for rid in (
        "claim-car-t-ind-applications",
        "claim-singer-ctc-drop",
        "claim-killer-t-cell-super-bombs",
    ):
        assert review(ds, rid).verdict is Verdict.UNCONFIRMED, rid
    assert review(ds, "claim-neutrophil-migration").verdict is Verdict.NOT_IDENTIFIED
    assert {c.review.verdict for c in ds.cases if c.review} == {Verdict.REPORTED}


def test_the_banking_pitch_is_a_claim_rated_on_what_the_references_say(
    ds: Dataset,
) -> None:
    pitch = next(c for c in ds.claims if c.id == "claim-cell-banking-will-treat-the-banker")
    assert pitch.quote in (ds.source_text or "")
    assert "young and healthy for future needs" in pitch.quote
    assert pitch.review is not None
    assert pitch.review.rating is Rating.UNSUPPORTED  # no evidence given; not "useless"
    assert Reason.PROMOTIONAL in pitch.review.reasons
    note = pitch.review.note or ""
    assert "Before paying" in note and "no evidence" in note and "useless" in note
    links = [r.link() or "" for r in pitch.review.references]
    assert any("aci.health.nsw.gov.au" in x for x in links)
    assert any("cancer.gov" in x for x in links)


def test_stats_count_by_rating_and_reason(ds: Dataset) -> None:
    s = stats(ds)
    assert sum(s.by_rating.values()) == len(ds.claims)
    assert sum(s.cases_by_rating.values()) == len(ds.cases)
    assert "not reviewed" not in s.by_rating
    scores = [Rating(label).score or 0 for label in s.by_rating]
    assert scores == sorted(scores, reverse=True)  # best first, not-a-fact last
    tags = sum((list(c.review.reasons) for c in ds.claims if c.review), [])
    assert s.by_reason["animal-study"] == tags.count(Reason.ANIMAL_STUDY) == 2
    assert list(s.by_reason.values()) == sorted(s.by_reason.values(), reverse=True)


# --- the loader enforces the rules on any dataset -----------------------------------------

HEAD = "schema: 2\nsource: {id: src-x, title: T, publisher: P}\nclaims:\n"


def claim_with(review_yaml: str, kind: str = "research") -> str:
    return (
        HEAD + f"  - id: claim-a\n    kind: {kind}\n    statement: s\n    quote: q\n"
        "    evidence: unsourced\n    review:\n" + review_yaml
    )


REF = "      references:\n        - {title: t, publisher: p, url: 'https://example.org/a'}\n"


@pytest.mark.parametrize(
    ("review_yaml", "kind", "where", "what"),
    [
        (
            "      verdict: confirmed\n      rating: accurate\n",
            "research",
            "claims[0].review.references",
            "must cite at least one reference",
        ),
        (
            "      verdict: not-checkable\n      rating: unsupported\n",
            "research",
            "claims[0].review.rating",
            "not-a-fact goes with not-checkable",
        ),
        (
            "      verdict: unconfirmed\n      rating: unsupported\n" + REF,
            "opinion",
            "claims[0].review.rating",
            "is rated 'not-a-fact'",
        ),
        (
            "      verdict: not-checked\n      rating: unsupported\n      corrections:\n"
            "        - {article: a, correct: b}\n",
            "research",
            "claims[0].review.corrections",
            "a correction needs a record found",
        ),
        (
            "      verdict: unconfirmed\n      rating: mostly-accurate\n" + REF,
            "research",
            "claims[0].review.rating",
            "'mostly-accurate' needs a record found",
        ),
        (
            "      verdict: confirmed\n      rating: accurate\n"
            "      references:\n        - {title: BBC News, publisher: BBC}\n",
            "research",
            "claims[0].review.references[0]",
            "needs a doi, pmid, nct or an http(s) url",
        ),
        (
            "      verdict: unconfirmed\n      rating: unsupported\n      later:\n"
            "        - {date: '2021', description: d}\n",
            "research",
            "claims[0].review.later[0]",
            "a later development must cite a reference",
        ),
    ],
)
def test_the_loader_refuses_a_review_that_breaks_the_rules(
    review_yaml: str, kind: str, where: str, what: str
) -> None:
    with pytest.raises(DataError) as err:
        parse_dataset(claim_with(review_yaml, kind), "rules.yaml")
    found = [(p.where, p.what) for p in err.value.problems]
    assert any(w == where and what in m for w, m in found), found
    assert all(p.line is not None for p in err.value.problems)  # file:line: where: what


def test_unsupported_may_rest_on_nothing_when_nothing_was_found() -> None:
    text = claim_with("      verdict: not-identified\n      rating: unsupported\n")
    (claim,) = parse_dataset(text, "ok.yaml").claims
    assert isinstance(claim, Claim) and claim.review is not None


def test_an_unknown_reason_names_the_choices() -> None:
    text = claim_with(
        "      verdict: not-identified\n      rating: unsupported\n      reasons: [mice]\n"
    )
    with pytest.raises(DataError) as err:
        parse_dataset(text, "tags.yaml")
    (problem,) = err.value.problems
    assert problem.where == "claims[0].review.reasons[0]"
    assert "expected one of animal-study" in problem.what


def test_cases_are_checked_too() -> None:
    text = (
        "schema: 2\nsource: {id: src-x, title: T, publisher: P}\ncases:\n"
        "  - id: case-a\n    title: t\n    quote: q\n    patient: {description: d}\n"
        "    diagnosis: [x]\n    therapy: t\n    outcome: o\n    evidence: news-report\n"
        "    review: {verdict: reported, rating: mostly-accurate}\n"
    )
    with pytest.raises(DataError) as err:
        parse_dataset(text, "case.yaml")
    assert [p.where for p in err.value.problems] == ["cases[0].review.references"]


# --- the labels inside the tool -----------------------------------------------------------


def cli(*args: str, **env: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    result = CliRunner().invoke(app, list(args), env=env or None)
    return result.exit_code, result.stdout, result.stderr


def cli_json(*args: str) -> object:
    import json

    code, out, err = cli(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


TERMINAL = {"NO_COLOR": "1", "FORCE_COLOR": "1", "COLUMNS": "100"}


def test_labels_lists_every_label_with_its_definition_and_uses(ds: Dataset) -> None:
    rows = cli_json("labels")
    assert isinstance(rows, list)
    assert {(r["vocabulary"], r["label"]) for r in rows} == {
        (name, label.value) for name, vocab in VOCABULARIES.items() for label in vocab
    }
    assert all(r["definition"] == DEFINITIONS[r["vocabulary"]][r["label"]] for r in rows)
    ratings = {r["label"]: r for r in rows if r["vocabulary"] == "rating"}
    assert ratings["misleading"]["value"] == 2 and "value" not in ratings["not-a-fact"]
    assert ratings["misleading"]["uses"] == sum(
        1 for r in ds.records() if r.review and r.review.rating is Rating.MISLEADING
    )


def test_labels_word_shows_one_label_or_one_vocabulary_with_its_rules() -> None:
    found = cli_json("labels", "misleading")
    assert isinstance(found, list) and len(found) == 1
    assert found[0]["rule"] == RULES["rating"]["misleading"]
    both = cli_json("labels", "opinion")
    assert isinstance(both, list)
    assert {r["vocabulary"] for r in both} == {"kind", "evidence"}
    reasons = cli_json("labels", "reasons")
    assert isinstance(reasons, list) and {r["label"] for r in reasons} == {x.value for x in Reason}
    code, out, err = cli("labels", "misleadng")
    assert code == 1 and out == ""
    assert "did you mean 'misleading'?" in err


def test_show_claim_puts_the_definitions_beside_the_rating_and_evidence() -> None:
    code, out, _ = cli(
        "show-claim", "claim-abdominal-fat-immune-cells-reverse-aging", "--format", "plain"
    )
    assert code == 0
    text = " ".join(out.split())
    assert "misleading (2 of 5) — " + " ".join(definition(Rating.MISLEADING).split()) in text
    assert "unsourced — " + definition(Evidence.UNSOURCED) in text
    assert "animal-study — " + definition(Reason.ANIMAL_STUDY) in text
    code, out, _ = cli("show-claim", "claim-cynk-001-announcement", **TERMINAL)
    assert "mostly-accurate (4 of 5)" in out


def test_tables_end_with_a_legend_of_the_ratings_shown_only_on_a_terminal() -> None:
    code, out, _ = cli(
        "list-claims", "--rating", "misleading", "--rating", "not-a-fact", **TERMINAL
    )
    assert code == 0
    legend = "Ratings, scored 5 (best) to 1 (worst): misleading 2/5 · not-a-fact (off the scale)"
    assert out.rstrip().splitlines()[-1] == legend  # scores, not counts (two are misleading)
    for width in ("100", "40"):
        env = {**TERMINAL, "COLUMNS": width}
        code, out, _ = cli("list-claims", **env)
        assert "Ratings, scored 5" in " ".join(out.split())
        assert max(len(line) for line in out.splitlines()) <= int(width)
    code, out, _ = cli("list-claims", "--format", "plain")
    assert "Ratings, scored" not in out  # piped output is data only


def test_colours_follow_the_scale_and_nothing_unchecked_is_red() -> None:
    from immunofacts.render.terminal import VALUE_STYLES

    assert VALUE_STYLES["accurate"].endswith("green") and VALUE_STYLES["incorrect"].endswith("red")
    assert "green" in VALUE_STYLES["mostly-accurate"]
    for label in ("unsupported", "unconfirmed", "not-identified", "not-checked", "not-a-fact"):
        assert "red" not in VALUE_STYLES[label], label
    for r in Rating:
        assert r.value in VALUE_STYLES


def test_filter_help_lists_each_choice_with_a_short_meaning() -> None:
    code, out, _ = cli("list-claims", "--help", COLUMNS="200")
    text = " ".join(out.replace("│", " ").split())
    assert "misleading (true parts, wrong conclusion)" in text
    assert "unconfirmed (nothing found either way)" in text


def test_rating_filters_and_outputs_spell_labels_alike() -> None:
    import csv
    import io

    hits = cli_json("search", "mice", "--rating", "misleading")
    assert isinstance(hits, list) and hits
    assert {h["review"]["rating"] for h in hits} == {"misleading"}
    assert all("animal-study" in h["review"]["reasons"] for h in hits)
    code, out, _ = cli("list-claims", "--rating", "not-a-fact", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {r["rating"] for r in rows} == {"not-a-fact"}
    assert {r["verdict"] for r in rows} == {"not-checkable"}
    code, out, _ = cli("list-claims", "--rating", "misleading", "--format", "csv")
    fat = next(r for r in csv.DictReader(io.StringIO(out)) if "abdominal" in r["id"])
    assert fat["reasons"] == "animal-study,overstates-science"
    stats_json = cli_json("show-stats")
    assert isinstance(stats_json, dict)
    assert stats_json["claims_by_rating"]["misleading"] >= 2
    assert stats_json["claims_by_reason"]["animal-study"] == 2


def test_a_cases_own_events_include_what_happened_later() -> None:
    case = cli_json("show-case", "case-hong-kong-singer")
    assert isinstance(case, dict)
    later = [e for e in case["timeline"] if e["type"] == "later"]
    assert [(e["date"], "death" in e["description"]) for e in later] == [("2021-05-04", True)]
    assert [e["type"] for e in case["timeline"]] == ["case", "case", "later"]
    code, out, _ = cli("show-case", "case-hong-kong-singer", **TERMINAL)
    events = out.split("Events", 1)[1].split("Measured", 1)[0]
    assert "2021-05-04" in events and "Later (outside the article):" in events
    review = out.split("Review", 1)[1]
    assert review.count("dimsumdaily.hk") == 1, "a later source already listed is printed once"
    code, out, _ = cli("timeline", "--since", "2021", "--format", "plain")
    assert "Later (outside the article): News reports give her death" in out


def test_a_later_developments_sources_are_listed_once_and_corrections_quoted() -> None:
    from immunofacts.model import Correction, Development, Reference
    from immunofacts.render.views import review_sections

    seen = Reference(title="Seen above", url="https://example.org/a")
    new = Reference(title="Only for the later event", url="https://example.org/b")
    review = Review(
        verdict=Verdict.REPORTED,
        rating=Rating.MISLEADING,
        reasons=(Reason.LATER_OUTCOME,),
        note="n",
        references=(Reference(title="Seen above", url="https://example.org/a", note="quoted"),),
        corrections=(Correction(article="he", correct="she"),),
        later=(Development(date="2021-05-04", description="She died.", references=(seen, new)),),
    )
    fields = review_sections(review)[0].fields
    names = [f.label for f in fields]
    assert names.count("reference") == 1 and names.count("source") == 1
    source = next(f for f in fields if f.label == "source")
    assert "Only for the later event" in str(source.value)
    later = next(f for f in fields if f.label == "later")
    assert str(later.value) == "2021-05-04, outside the article: She died."
    correction = next(f for f in fields if f.label == "correction")
    # The article's words quoted; the records' side a summary, not in quote marks.
    assert str(correction.value) == "article says \u201che\u201d; records: she"
