"""Unit tests of the pure query layer, on hand-built datasets and on the real one."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from immunofacts.errors import NotFoundError, UsageError
from immunofacts.loading import load_dataset
from immunofacts.model import (
    Case,
    Claim,
    ClaimKind,
    Correction,
    Dataset,
    Entity,
    EntityType,
    Event,
    Evidence,
    Figure,
    Label,
    Patient,
    Rating,
    Reference,
    Review,
    Source,
    Verdict,
)
from immunofacts.query import (
    SortKey,
    date_bounds,
    date_key,
    entity_counts,
    filter_claims,
    find_case,
    find_claim,
    find_entity,
    misses,
    near_words,
    paragraph_around,
    paragraphs,
    parse_date_option,
    parse_query,
    quote_spans,
    records_naming,
    search,
    sort_claims,
    stats,
    timeline,
    uncovered_paragraphs,
    year_of,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "immunofacts.yaml"

TEXT = (
    "Alpha cells fight the beta virus in mice, said the first study of the year.\n"
    "\n"
    "Gamma therapy cured a patient in Springfield after nine months of treatment.\n"
    "\n"
    "This paragraph is long enough to count but no record ever quotes a word of it here.\n"
    "\n"
    "Short line.\n"
    "\n"
    "(source:test, reference only)\n"
)


def claim(
    id: str,
    *,
    kind: ClaimKind = ClaimKind.RESEARCH,
    statement: str = "A statement.",
    quote: str = "Alpha cells",
    evidence: Evidence = Evidence.PEER_REVIEWED,
    date: str | None = None,
    entities: tuple[str, ...] = (),
    figures: tuple[Figure, ...] = (),
    review: Review | None = None,
) -> Claim:
    return Claim(
        id=id,
        kind=kind,
        statement=statement,
        quote=quote,
        evidence=evidence,
        date=date,
        entities=entities,
        figures=figures,
        review=review,
    )


def case(
    id: str,
    *,
    title: str = "A case.",
    quote: str = "Gamma therapy cured a patient",
    events: tuple[Event, ...] = (),
    entities: tuple[str, ...] = (),
    hospital: str | None = None,
    evidence: Evidence = Evidence.NEWS_REPORT,
    review: Review | None = None,
) -> Case:
    return Case(
        id=id,
        title=title,
        quote=quote,
        patient=Patient(description="A patient in Springfield.", place="Springfield"),
        diagnosis=("gammaitis",),
        therapy="Gamma therapy.",
        outcome="Cured.",
        evidence=evidence,
        events=events,
        entities=entities,
        hospital=hospital,
        review=review,
    )


ENTITIES = (
    Entity(id="ent-alpha-lab", name="Alpha Laboratory", type=EntityType.ORGANISATION,
           aliases=("AlphaLab", "The Lab")),
    Entity(id="ent-alpine-journal", name="Alpine Journal", type=EntityType.PUBLICATION),
    Entity(id="ent-springfield", name="Springfield", type=EntityType.PLACE),
    Entity(id="ent-general-hospital", name="General Hospital", type=EntityType.ORGANISATION),
    Entity(id="ent-unused", name="Nobody", type=EntityType.PERSON),
)  # fmt: skip


def small() -> Dataset:
    """Three claims, two cases, five entities, over TEXT (one paragraph left unquoted)."""
    return Dataset(
        schema=2,
        source=Source(
            id="src-test", title="Test", publisher="test", credit="(source:test, reference only)"
        ),
        entities=ENTITIES,
        claims=(
            claim(
                "claim-alpha-beta",
                statement="Alpha cells fight the beta virus.",
                quote="Alpha cells fight the beta virus in mice",
                date="2020-01",
                entities=("ent-alpha-lab", "ent-alpine-journal"),
                figures=(Figure(label="studies", value=1, unit="study"),),
                review=Review(
                    verdict=Verdict.CONFIRMED,
                    rating=Rating.ACCURATE,
                    note="Checked against the journal.",
                ),
            ),
            claim(
                "claim-alpha-year",
                kind=ClaimKind.STATISTIC,
                statement="The first study of the year.",
                quote="the first study of the year",
                evidence=Evidence.UNSOURCED,
                date="2020",
                figures=(Figure(label="count", value=3, unit="things"),),
                review=Review(
                    verdict=Verdict.UNCONFIRMED,
                    rating=Rating.UNSUPPORTED,
                    note="Only the review mentions zebra.",
                    corrections=(Correction(article="first", correct="second"),),
                    references=(Reference(title="Zeta paper", doi="10.1000/zeta"),),
                ),
            ),
            claim(
                "claim-beta-opinion",
                kind=ClaimKind.OPINION,
                statement="Beta is bad.",
                quote="beta virus",
                evidence=Evidence.OPINION,
                date="2021-03-04",
                entities=("ent-alpha-lab",),
            ),
        ),
        cases=(
            case(
                "case-gamma-one",
                events=(
                    Event(date="2020-06-15", description="Second step."),
                    Event(date="2020-02", description="First step.", quote="nine months"),
                ),
                entities=("ent-springfield",),
                hospital="ent-general-hospital",
                review=Review(verdict=Verdict.REPORTED, rating=Rating.UNSUPPORTED),
            ),
            case(
                "case-gamma-two",
                title="Another zebra case.",
                quote="after nine months of treatment",
                evidence=Evidence.PATIENT_REPORT,
            ),
        ),
        source_text=TEXT,
    )


@pytest.fixture(scope="module")
def real() -> Dataset:
    return load_dataset(DATA)


# --- find_claim / find_case ---------------------------------------------------------------


def test_find_claim_exact_and_prefix() -> None:
    ds = small()
    assert find_claim(ds, "claim-alpha-beta").id == "claim-alpha-beta"
    assert find_claim(ds, "claim-beta").id == "claim-beta-opinion"
    # the "claim-" prefix may be left out
    assert find_claim(ds, "beta").id == "claim-beta-opinion"
    assert find_claim(ds, "alpha-y").id == "claim-alpha-year"


def test_find_claim_ambiguous_prefix_suggests_both() -> None:
    with pytest.raises(NotFoundError) as err:
        find_claim(small(), "claim-alpha")
    assert set(err.value.suggestions) == {"claim-alpha-beta", "claim-alpha-year"}
    assert "'claim-alpha' matches 2 claim ids" in str(err.value)


def test_find_claim_typo_suggests_the_close_id() -> None:
    with pytest.raises(NotFoundError) as err:
        find_claim(small(), "claim-alpha-bta")
    assert err.value.suggestions[0] == "claim-alpha-beta"
    assert "did you mean 'claim-alpha-beta'" in str(err.value)


def test_find_claim_nothing_close_points_to_the_list() -> None:
    with pytest.raises(NotFoundError) as err:
        find_claim(small(), "zzzzzzzz")
    assert err.value.suggestions == ()
    assert "immunofacts list-claims" in str(err.value)


def test_find_claim_empty_key_is_not_a_prefix_of_everything() -> None:
    with pytest.raises(NotFoundError):
        find_claim(small(), "")


def test_find_case_exact_prefix_and_missing() -> None:
    ds = small()
    assert find_case(ds, "case-gamma-one").id == "case-gamma-one"
    assert find_case(ds, "gamma-t").id == "case-gamma-two"
    with pytest.raises(NotFoundError) as err:
        find_case(ds, "case-gamma")
    assert set(err.value.suggestions) == {"case-gamma-one", "case-gamma-two"}
    with pytest.raises(NotFoundError) as err2:
        find_case(ds, "claim-alpha-beta")  # a claim id is not a case
    assert "no case" in str(err2.value)


def test_find_on_the_real_dataset(real: Dataset) -> None:
    assert find_case(real, "case-hong").id == "case-hong-kong-singer"
    assert find_claim(real, "claim-car-t").id == "claim-car-t-ind-applications"
    with pytest.raises(NotFoundError) as err:
        find_case(real, "case-hong-kong-singr")
    assert err.value.suggestions == ("case-hong-kong-singer",)


# --- find_entity --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["ent-alpha-lab", "Alpha Laboratory", "alpha laboratory", "ALPHALAB", "the lab", " AlphaLab "],
)
def test_find_entity_by_id_name_alias_any_case(key: str) -> None:
    assert find_entity(small(), key).id == "ent-alpha-lab"


def test_find_entity_unique_prefix() -> None:
    ds = small()
    assert find_entity(ds, "alph").id == "ent-alpha-lab"  # id without "ent-", and the name
    assert find_entity(ds, "alpi").id == "ent-alpine-journal"
    assert find_entity(ds, "Gen").id == "ent-general-hospital"


def test_find_entity_ambiguous_prefix() -> None:
    with pytest.raises(NotFoundError) as err:
        find_entity(small(), "Alp")
    assert set(err.value.suggestions) == {"ent-alpha-lab", "ent-alpine-journal"}


def test_find_entity_unknown() -> None:
    with pytest.raises(NotFoundError) as err:
        find_entity(small(), "qqqq")
    assert "no entity" in str(err.value)


def test_find_entity_on_the_real_dataset(real: Dataset) -> None:
    lancet = "ent-the-lancet-respiratory-medicine"
    assert find_entity(real, "Lancet").id == lancet
    assert find_entity(real, "the lancet").id == lancet
    assert find_entity(real, "Mario Notti").id == "ent-mario-noti"  # the article's spelling
    assert find_entity(real, "FDA").id == "ent-us-fda"


def test_find_entity_typo_of_a_name_suggests_it(real: Dataset) -> None:
    with pytest.raises(NotFoundError) as err:
        find_entity(real, "Lancett")
    assert "ent-the-lancet-respiratory-medicine" in err.value.suggestions


# --- filter_claims ------------------------------------------------------------------------


def ids(records: list[Claim]) -> list[str]:
    return [r.id for r in records]


def test_filter_claims_no_filter_is_everything_in_order() -> None:
    ds = small()
    assert ids(filter_claims(ds)) == [c.id for c in ds.claims]


def test_filter_claims_each_filter() -> None:
    ds = small()
    assert ids(filter_claims(ds, kind=ClaimKind.STATISTIC)) == ["claim-alpha-year"]
    assert ids(filter_claims(ds, evidence=Evidence.OPINION)) == ["claim-beta-opinion"]
    assert ids(filter_claims(ds, verdict=Verdict.CONFIRMED)) == ["claim-alpha-beta"]
    assert ids(filter_claims(ds, year=2020)) == ["claim-alpha-beta", "claim-alpha-year"]
    assert ids(filter_claims(ds, year=2021)) == ["claim-beta-opinion"]
    assert ids(filter_claims(ds, entity="AlphaLab")) == ["claim-alpha-beta", "claim-beta-opinion"]
    assert ids(filter_claims(ds, entity="ent-alpine-journal")) == ["claim-alpha-beta"]


def test_filter_claims_combine_with_and() -> None:
    ds = small()
    assert ids(filter_claims(ds, entity="ent-alpha-lab", year=2021)) == ["claim-beta-opinion"]
    assert filter_claims(ds, kind=ClaimKind.STATISTIC, evidence=Evidence.OPINION) == []
    assert filter_claims(ds, verdict=Verdict.NOT_CHECKED) == []


def test_filter_claims_unknown_entity_raises() -> None:
    with pytest.raises(NotFoundError):
        filter_claims(small(), entity="nobody-at-all-here")


def test_filter_claims_real(real: Dataset) -> None:
    peer = filter_claims(real, evidence=Evidence.PEER_REVIEWED)
    assert peer and all(c.evidence is Evidence.PEER_REVIEWED for c in peer)
    assert len(peer) == sum(c.evidence is Evidence.PEER_REVIEWED for c in real.claims)
    assert ids(filter_claims(real, kind=ClaimKind.STATISTIC)) == ["claim-car-t-ind-applications"]
    lancet = filter_claims(real, entity="Lancet")
    assert all("ent-the-lancet-respiratory-medicine" in c.entities for c in lancet)
    assert len(lancet) == 2


def test_year_of() -> None:
    assert year_of("2020-11-21") == 2020
    assert year_of("1999") == 1999
    assert year_of(None) is None


# --- search -------------------------------------------------------------------------------


def hit_ids(ds: Dataset, *terms: str, **kw: Label) -> list[str]:
    return [h.record.id for h in search(ds, list(terms), **kw)]


def test_search_is_case_insensitive() -> None:
    ds = small()
    assert hit_ids(ds, "ALPHA") == hit_ids(ds, "alpha") != []


def test_search_every_term_must_match() -> None:
    ds = small()
    assert set(hit_ids(ds, "beta")) == {"claim-alpha-beta", "claim-beta-opinion"}
    assert hit_ids(ds, "beta", "mice") == ["claim-alpha-beta"]
    assert hit_ids(ds, "beta", "nonexistentword") == []
    # one argument with spaces is split into terms
    assert hit_ids(ds, "beta mice") == ["claim-alpha-beta"]


def test_parse_query() -> None:
    q = parse_query(['  a  b "c  d"', "", "-e", 'CAR-T -"f g"', "a"])
    assert [(t.words, t.exact) for t in q.terms] == [
        (("a",), False),
        (("b",), False),
        (("c", "d"), True),
        (("car", "t"), False),
    ]
    assert [t.words for t in q.excluded] == [("e",), ("f", "g")]
    with pytest.raises(UsageError):
        parse_query(["-only", "-excluded"])
    with pytest.raises(UsageError):
        parse_query([" ".join(f"w{i}" for i in range(40))])


@pytest.mark.parametrize("query", [[], [""], ["   ", "\t"]])
def test_search_without_terms_is_a_usage_error(query: list[str]) -> None:
    with pytest.raises(UsageError):
        search(small(), query)


def test_search_statement_match_beats_review_only_match() -> None:
    ds = small()
    # "zebra" is in claim-alpha-year's review note, and in case-gamma-two's title
    hits = search(ds, ["zebra"])
    assert [h.record.id for h in hits] == ["case-gamma-two", "claim-alpha-year"]
    assert hits[0].score > hits[1].score
    assert {m.field for m in hits[1].matches} == {"review"}


def test_search_match_spans_point_at_the_matched_text() -> None:
    for h in search(small(), ["Alpha", "virus"]):
        assert h.matches
        assert len(h.words) == len(h.matches)
        for w in h.words:
            # a whole word is marked: the one the term begins
            assert w.lower().startswith(("alpha", "virus"))


def test_search_looks_in_entity_names_and_aliases() -> None:
    hits = search(small(), ["AlphaLab"])
    assert {h.record.id for h in hits} == {"claim-alpha-beta", "claim-beta-opinion"}
    assert all({m.field for m in h.matches} == {"entities"} for h in hits)
    # a case's hospital counts as one of its entities
    assert hit_ids(small(), "General", "Hospital") == ["case-gamma-one"]


def test_search_quoted_words_stand_in_one_field() -> None:
    ds = small()
    # "... the beta virus." ends a statement whose quote begins "Alpha cells"
    assert "claim-alpha-beta" in hit_ids(ds, '"beta virus"')
    assert hit_ids(ds, '"virus alpha"') == []
    assert hit_ids(ds, '"beta alpha"') == []  # the id, then the statement


def test_search_finds_terms_in_regex_metacharacters() -> None:
    ds = small()
    assert hit_ids(ds, "year.") == ["claim-alpha-year"]  # "." is literal
    assert hit_ids(ds, "zeta paper") == ["claim-alpha-year"]  # a reference title
    for no_words in (".*", "(", "—"):
        with pytest.raises(UsageError):
            search(ds, [no_words])


def test_search_kind_and_evidence_filters() -> None:
    ds = small()
    # kind keeps claims only
    assert hit_ids(ds, "a", kind=ClaimKind.OPINION) == ["claim-beta-opinion"]
    assert hit_ids(ds, "nine", kind=ClaimKind.RESEARCH) == []
    assert hit_ids(ds, "Springfield", evidence=Evidence.PATIENT_REPORT) == ["case-gamma-two"]
    assert hit_ids(ds, "Springfield", evidence=Evidence.NEWS_REPORT) == ["case-gamma-one"]
    assert hit_ids(ds, "Springfield", kind=ClaimKind.RESEARCH) == []


def test_search_ties_keep_dataset_order() -> None:
    ds = small()
    hits = search(ds, ["Springfield"])
    assert [h.record.id for h in hits] == ["case-gamma-one", "case-gamma-two"]


def test_search_real(real: Dataset) -> None:
    # The claim that reports the macaque study ranks first; two others cite it.
    rhesus = hit_ids(real, "rhesus")
    assert rhesus[0] == "claim-barouch-macaque-protection"
    assert set(rhesus) == {
        "claim-barouch-macaque-protection",
        "claim-covid-immune-cell-studies",
        "claim-immune-cells-protect-and-treat",
    }
    cynk = hit_ids(real, "cynk-001")
    assert set(cynk) == {"claim-cynk-001-announcement", "claim-cynk-001-fda-ind"}
    lupus = hit_ids(real, "lupus")
    assert "case-lupus-lymphoma-shenzhen" in lupus[:3]


def test_search_stems_and_ranks_what_people_type(real: Dataset) -> None:
    banking = {"claim-cell-banking-popular-opening", "claim-cell-banking-popular-closing"}
    for word in ("storage", "storing", "stored", "store", "banked", "bank"):
        assert banking <= set(hit_ids(real, word)), word
    assert hit_ids(real, "CAR-T China")[0] == "claim-car-t-ind-applications"
    # a quoted phrase: whole words, in order
    assert set(hit_ids(real, '"stored"')).isdisjoint(banking)
    assert set(hit_ids(real, '"immune cells"')) >= banking
    # -word leaves out the records that have it
    for plus, minus in (("cell", "lupus"), ("therapy", "china"), ("lupus", "lymphoma")):
        both = set(hit_ids(real, f"{plus} -{minus}"))
        assert both == set(hit_ids(real, plus)) - set(hit_ids(real, minus)) != set()


def test_near_words_suggests_from_the_dataset(real: Dataset) -> None:
    assert near_words(real, parse_query("stroage"))[:3] == ["store", "stored", "storing"]
    assert near_words(real, parse_query("lymfoma")) == ["lymphoma"]
    assert near_words(real, parse_query("lupus")) == []


# --- dates and timeline -------------------------------------------------------------------


def test_date_key_orders_periods_before_their_days() -> None:
    dates = ["2020-01-05", "2021", "2020", "2019-12-31", "2020-01", "2020-02"]
    assert sorted(dates, key=date_key) == [
        "2019-12-31",
        "2020",
        "2020-01",
        "2020-01-05",
        "2020-02",
        "2021",
    ]
    assert date_key("2020") < date_key("2020-01") < date_key("2020-01-05")


def test_date_bounds() -> None:
    assert date_bounds("2020") == ((2020, 1, 1), (2020, 12, 31))
    assert date_bounds("2020-06") == ((2020, 6, 1), (2020, 6, 31))
    assert date_bounds("2020-06-15") == ((2020, 6, 15), (2020, 6, 15))


def test_timeline_sorted_and_complete() -> None:
    ds = small()
    events = timeline(ds)
    assert [(e.date, e.record_id) for e in events] == [
        ("2020", "claim-alpha-year"),
        ("2020-01", "claim-alpha-beta"),
        ("2020-02", "case-gamma-one"),
        ("2020-06-15", "case-gamma-one"),
        ("2021-03-04", "claim-beta-opinion"),
    ]
    assert {e.record_type for e in events} == {"claim", "case"}
    step = events[2]
    assert (step.description, step.quote) == ("First step.", "nine months")


def test_timeline_since_until_keep_periods_wholly_inside() -> None:
    ds = small()

    def dates(**kw: str) -> list[str]:
        return [e.date for e in timeline(ds, **kw)]

    # an event dated only "2020" may lie outside June 2020, so it is left out
    assert dates(since="2020-06", until="2020-06") == ["2020-06-15"]
    assert dates(since="2020-02") == ["2020-02", "2020-06-15", "2021-03-04"]
    assert dates(until="2020-01-31") == ["2020-01"]
    assert dates(since="2020", until="2020") == ["2020", "2020-01", "2020-02", "2020-06-15"]
    assert dates(since="2021") == ["2021-03-04"]
    assert dates(since="2022") == []
    assert dates(since="2020-06-16", until="2021-03-03") == []


def test_timeline_is_stable_for_equal_dates() -> None:
    ds = small()
    same = Dataset(
        schema=2,
        source=ds.source,
        claims=tuple(claim(f"claim-{n}", date="2020-05") for n in ("c", "a", "b")),
    )
    assert [e.record_id for e in timeline(same)] == ["claim-c", "claim-a", "claim-b"]


def test_timeline_real_is_in_date_order(real: Dataset) -> None:
    events = timeline(real)
    keys = [date_key(e.date) for e in events]
    assert keys == sorted(keys)
    dated = sum(1 for c in real.claims if c.date) + sum(len(k.events) for k in real.cases)
    later = {(d.date, d.description) for r in real.records() if r.review for d in r.review.later}
    later.discard((None, ""))
    assert len(events) == dated + len({k for k in later if k[0]})
    # The singer's death is told on the case and on a claim; it is listed once, on the case.
    assert [(e.date, e.record_id) for e in events if e.record_type == "later"] == [
        ("2021", "claim-cynk-001-fda-ind"),
        ("2021-05-04", "case-hong-kong-singer"),
    ]


# --- stats and entities -------------------------------------------------------------------


def test_stats_counts() -> None:
    st = stats(small())
    assert st.counts == {"claims": 3, "cases": 2, "entities": 5}
    # only statistic claims give headline figures
    assert [(h.claim_id, h.figure.value) for h in st.figures] == [("claim-alpha-year", 3)]
    assert st.by_kind == {"opinion": 1, "research": 1, "statistic": 1}
    assert st.by_evidence == {"opinion": 1, "peer-reviewed": 1, "unsourced": 1}
    assert st.by_verdict == {"confirmed": 1, "not-reviewed": 1, "unconfirmed": 1}
    assert st.by_year == {"2020": 2, "2021": 1}
    assert st.cases_by_evidence == {"news-report": 1, "patient-report": 1}
    assert st.cases_by_verdict == {"not-reviewed": 1, "reported": 1}


def test_stats_most_common_first(real: Dataset) -> None:
    st = stats(real)
    assert sum(st.by_kind.values()) == len(real.claims)
    counts = list(st.by_evidence.values())
    assert counts == sorted(counts, reverse=True)
    assert {50, 28, 31, 12} <= {h.figure.value for h in st.figures}


def test_entity_counts() -> None:
    counts = {x.entity.id: (x.claims, x.cases) for x in entity_counts(small())}
    assert counts == {
        "ent-alpha-lab": (2, 0),
        "ent-alpine-journal": (1, 0),
        "ent-springfield": (0, 1),
        "ent-general-hospital": (0, 1),  # named as the case's hospital
        "ent-unused": (0, 0),
    }
    order = [x.entity.id for x in entity_counts(small())]
    assert order[0] == "ent-alpha-lab"
    assert order[-1] == "ent-unused"


def test_records_naming() -> None:
    ds = small()
    assert [r.id for r in records_naming(ds, "ent-alpha-lab")] == [
        "claim-alpha-beta",
        "claim-beta-opinion",
    ]
    assert [r.id for r in records_naming(ds, "ent-general-hospital")] == ["case-gamma-one"]
    assert records_naming(ds, "ent-unused") == []


# --- the source text ----------------------------------------------------------------------


def test_quote_spans_in_text_order() -> None:
    ds = small()
    spans = quote_spans(ds)
    assert [s.start for s in spans] == sorted(s.start for s in spans)
    for s in spans:
        rec = next(r for r in ds.records() if r.id == s.record_id)
        assert TEXT[s.start : s.end] == rec.quote
    assert len(spans) == len(ds.records())


def test_quote_spans_skip_missing_quotes() -> None:
    ds = small()
    odd = Dataset(schema=2, source=ds.source, claims=(claim("claim-x", quote="not there"),),
                  source_text=TEXT)  # fmt: skip
    assert quote_spans(odd) == []


def test_paragraphs_and_paragraph_around() -> None:
    paras = paragraphs(TEXT)
    assert [TEXT[a:b][:5] for a, b in paras] == ["Alpha", "Gamma", "This ", "Short", "(sour"]
    i = TEXT.index("nine months")
    a, b = paragraph_around(TEXT, i)
    assert TEXT[a:b].startswith("Gamma therapy")
    assert TEXT[a:b].endswith("treatment.")
    # an offset on a blank line is in no paragraph
    blank = TEXT.index("\n\n") + 1
    assert paragraph_around(TEXT, blank) == (blank, blank)


def test_uncovered_paragraphs_finds_the_missed_one() -> None:
    missed = uncovered_paragraphs(small())
    assert missed == [
        "This paragraph is long enough to count but no record ever quotes a word of it here."
    ]
    # lowering the bar does not count the credit line
    assert "(source:test, reference only)" not in uncovered_paragraphs(small(), min_chars=0)
    assert "Short line." in uncovered_paragraphs(small(), min_chars=0)


def test_the_credit_line_comes_from_the_dataset() -> None:
    """Which paragraph is the credit line is the dataset's to say, not the code's."""
    ds = small()
    other = msgspec.structs.replace(ds.source, credit="Short line.")
    uncovered = uncovered_paragraphs(msgspec.structs.replace(ds, source=other), min_chars=0)
    assert "(source:test, reference only)" in uncovered
    assert "Short line." not in uncovered


def test_uncovered_paragraphs_real_is_empty(real: Dataset) -> None:
    assert uncovered_paragraphs(real) == []


def test_misses_names_the_words_that_match_nothing(real: Dataset) -> None:
    assert misses(real, parse_query("bank zzqx stroage")).words == ["zzqx", "stroage"]
    assert misses(real, parse_query('bank "lupus"')).words == []  # each matches on its own
    assert misses(real, parse_query("stroage")).near[:1] == ["store"]


def test_a_name_two_entities_share_names_neither(real: Dataset) -> None:
    first, second = real.entities[0], real.entities[1]
    shared = msgspec.structs.replace(
        real,
        entities=(
            msgspec.structs.replace(first, aliases=(*first.aliases, "Shared Name")),
            msgspec.structs.replace(second, aliases=(*second.aliases, "shared name")),
            *real.entities[2:],
        ),
    )
    with pytest.raises(NotFoundError) as err:
        find_entity(shared, "SHARED NAME")
    assert f"names 2 entities; give one's id: {first.id}, {second.id}" in str(err.value)
    # each is still found by its id, and by a name of its own
    assert find_entity(shared, first.id) is shared.entities[0]
    assert find_entity(shared, second.name) is shared.entities[1]


def _rated(id: str, rating: Rating | None, date: str | None = None) -> Claim:
    review = None if rating is None else Review(verdict=Verdict.REPORTED, rating=rating)
    return claim(id, date=date, review=review)


def test_sort_claims_by_rating_best_first_ties_in_order_none_last_either_way() -> None:
    claims = [
        _rated("a", Rating.MISLEADING),
        _rated("b", None),
        _rated("c", Rating.ACCURATE),
        _rated("d", Rating.NOT_A_FACT),
        _rated("e", Rating.MISLEADING),
        _rated("f", Rating.INCORRECT),
        _rated("g", Rating.MOSTLY_ACCURATE),
    ]
    ids = [c.id for c in sort_claims(claims, SortKey.RATING)]
    assert ids == ["c", "g", "a", "e", "f", "b", "d"]
    ids = [c.id for c in sort_claims(claims, SortKey.RATING, reverse=True)]
    assert ids == ["f", "a", "e", "g", "c", "b", "d"]  # ties (a, e) still in order


def test_sort_claims_by_date_a_year_before_its_months_undated_last() -> None:
    claims = [
        _rated("a", None, "2020-06"),
        _rated("b", None),
        _rated("c", None, "2020"),
        _rated("d", None, "2019-12-31"),
        _rated("e", None, "2020-06"),
    ]
    assert [c.id for c in sort_claims(claims, SortKey.DATE)] == ["d", "c", "a", "e", "b"]
    assert [c.id for c in sort_claims(claims, SortKey.DATE, reverse=True)] == [
        "a",
        "e",
        "c",
        "d",
        "b",
    ]


def test_sort_claims_by_kind_and_evidence_in_label_order(real: Dataset) -> None:
    for by, label in ((SortKey.KIND, "kind"), (SortKey.EVIDENCE, "evidence")):
        order = list(ClaimKind if by is SortKey.KIND else Evidence)
        got = sort_claims(real.claims, by)
        assert [order.index(getattr(c, label)) for c in got] == sorted(
            order.index(getattr(c, label)) for c in real.claims
        )
        assert sorted(c.id for c in got) == sorted(c.id for c in real.claims)


@pytest.mark.parametrize("value", ["2021", "2021-02", "2020-02-29"])
def test_a_date_option_takes_a_date_at_any_precision(value: str) -> None:
    assert parse_date_option(value, "--since") == value


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("2021-02-29", "'2021-02-29' is not a calendar date"),
        ("2021-02-29\n", "expected YYYY, YYYY-MM or YYYY-MM-DD, got '2021-02-29\\n'"),
        ("2021\n", "expected YYYY"),
        ("2021-13", "expected YYYY"),
        ("２０２１", "expected YYYY"),
    ],
)
def test_a_date_option_refuses_what_is_not_a_date(value: str, said: str) -> None:
    # a line break at the end too, which Python's `$` would let through
    with pytest.raises(UsageError, match="^--since: ") as e:
        parse_date_option(value, "--since")
    assert said in str(e.value)


def test_an_entity_is_found_by_a_unique_prefix_of_an_alias() -> None:
    ds = load_dataset(DATA)
    car_t = find_entity(ds, "ent-car-t-cell-therapy")
    assert "CAR-T cell immunotherapy" in car_t.aliases
    assert not car_t.name.startswith("CAR-T cell immuno")
    assert find_entity(ds, "car-t cell immuno") == car_t  # as its help says: any case


def test_an_alias_does_not_make_a_unique_name_prefix_ambiguous() -> None:
    ds = load_dataset(DATA)
    hughes = find_entity(ds, "ent-helen-wynne-hughes")
    assert any(a.startswith("Ms.") for a in hughes.aliases)
    wang = find_entity(ds, "Ms.")  # the one name that starts so; an alias of another does
    assert wang.name.startswith("Ms.") and wang != hughes
