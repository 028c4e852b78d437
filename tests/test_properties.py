"""Properties, with Hypothesis: the loader and search never crash, JSON always parses,
and an export loads back as the same dataset."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from immunofacts.cli import app
from immunofacts.errors import DataError, UsageError
from immunofacts.loading import load_dataset, parse_dataset
from immunofacts.model import (
    CORRECTABLE,
    MAX_NUMBER,
    Case,
    Claim,
    ClaimKind,
    Correction,
    Dataset,
    Development,
    Entity,
    EntityType,
    Event,
    Evidence,
    Figure,
    Measurement,
    Patient,
    Qualifier,
    Rating,
    Reason,
    Reference,
    Review,
    Source,
    Verdict,
    review_problems,
)
from immunofacts.query import Wanted, parse_query, search
from immunofacts.render.base import ExportFormat, clean
from immunofacts.render.export import export_text
from immunofacts.tokens import entity_names, search_fields

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DATA = DATA_DIR / "immunofacts.yaml"

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: For the examples that run the CLI or build whole datasets.
FEWER = settings(SETTINGS, max_examples=20)

_REAL: list[Dataset] = []


def real() -> Dataset:
    """The shipped dataset, loaded once."""
    if not _REAL:
        _REAL.append(load_dataset(DATA))
    return _REAL[0]


def parse_or_error(text: str) -> Dataset | None:
    """parse_dataset's outcome: a Dataset, or None for a DataError; anything else fails."""
    try:
        return parse_dataset(text, "x.yaml")
    except DataError as e:
        assert e.problems
        for p in e.problems:
            assert p.file == "x.yaml"
            assert p.line is None or p.line >= 1
        return None


# --- the loader never raises anything but DataError --------------------------------


@SETTINGS
@given(st.text())
def test_loader_on_arbitrary_text(text: str) -> None:
    parse_or_error(text)


YAMLISH = st.sampled_from(
    [
        ":", "- ", "-", " ", "  ", "\n", "\t", "[", "]", "{", "}", ",", "'", '"', "#", "&a ",
        "*a", "!t ", "!!str ", "? ", "|", ">", "---\n", "...\n", "%YAML 1.2\n", "\\", "\ufeff",
        "schema", "source", "claims", "cases", "entities", "id", "kind", "quote", "1", "no",
        "null", "~", ".inf", "0x1", "2020-01-05", "true", "\x85", "\u2028", "é", "\x00",
    ]
)  # fmt: skip


@SETTINGS
@given(st.lists(YAMLISH, max_size=60).map("".join))
def test_loader_on_yaml_fragments(text: str) -> None:
    parse_or_error(text)


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(),
        st.text(max_size=20),
        st.sampled_from(["opinion", "statistic", "news-report", "ent-a", "claim-a", "2020-06"]),
    )


KEYS = st.sampled_from(
    [
        "schema", "source", "entities", "claims", "cases", "id", "name", "type", "kind",
        "statement", "quote", "evidence", "title", "publisher", "patient", "description",
        "diagnosis", "therapy", "outcome", "figures", "value", "label", "unit", "date",
        "review", "verdict", "hospital", "events", "text", "x",
    ]
)  # fmt: skip

DOCS = st.recursive(
    _scalars(),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=6)),
    max_leaves=30,
)


@SETTINGS
@given(DOCS, st.sampled_from(["block", "flow", "json"]), st.booleans())
def test_loader_on_random_documents(doc: Any, style: str, careful: bool) -> None:
    if style == "json":
        text = json.dumps(doc, allow_nan=True)
    else:
        text = yaml.safe_dump(doc, default_flow_style=style == "flow", allow_unicode=True)
    if careful:
        text += "# !\n"  # forces the PyYAML path
    parse_or_error(text)


@SETTINGS
@given(st.data())
def test_loader_on_mutated_real_dataset(data: st.DataObject) -> None:
    text = DATA.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 40))
        insert = data.draw(st.one_of(YAMLISH, st.text(max_size=5)))
        text = text[:pos] + insert + text[pos + cut :]
    try:
        parse_dataset(text, "x.yaml", base_dir=DATA_DIR)
    except DataError as e:
        assert e.problems


# --- search never crashes ----------------------------------------------------------


@SETTINGS
@given(st.lists(st.text(), min_size=0, max_size=3))
def test_search_any_unicode(query: list[str]) -> None:
    ds = real()
    try:
        parse_query(query)
    except UsageError:
        with pytest.raises(UsageError):
            search(ds, query)
        return
    hits = search(ds, query)
    ids = [h.record.id for h in hits]
    assert len(ids) == len(set(ids))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("query", [[], [""], ["   "], ["\t\n"], ["", " "]])
def test_search_blank_is_a_usage_error(query: list[str]) -> None:
    with pytest.raises(UsageError):
        search(real(), query)


CLI_WORD = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=12
)


@FEWER
@given(CLI_WORD)
def test_search_json_always_parses(word: str) -> None:
    result = CliRunner().invoke(
        app, ["search", "--format", "json", "--data", str(DATA), "--", word]
    )
    assert "Traceback" not in result.stdout + result.stderr
    try:
        parse_query([word])
    except UsageError:
        assert result.exit_code == 2
        assert result.stdout == ""
        return
    if clean(word) != word:  # a control character is not something to search for
        assert result.exit_code == 2
        assert result.stderr.startswith("immunofacts: error: TERMS...: not plain text")
        return
    assert result.exit_code in (0, 1), result.stderr
    payload = json.loads(result.stdout)
    assert isinstance(payload, list)
    assert (result.exit_code == 0) == bool(payload)


# --- round trips ---------------------------------------------------------------------


def roundtrip(ds: Dataset, base_dir: Path | None, fmt: ExportFormat = ExportFormat.JSON) -> None:
    text = export_text(ds, fmt).text
    again = parse_dataset(text, "export." + fmt.value, base_dir=base_dir)
    assert again == ds


@pytest.mark.parametrize("fmt", [ExportFormat.JSON, ExportFormat.YAML])
def test_real_dataset_round_trip(fmt: ExportFormat) -> None:
    roundtrip(real(), DATA_DIR, fmt)


IDS = st.from_regex(r"[a-z0-9][a-z0-9-]{0,15}", fullmatch=True)
#: Characters that PyYAML (the careful path) refuses raw or reads as a line break; they do
#: not survive a JSON export when the text takes the careful path. That is a known bug
#: (test_json_export_keeps_yaml_unsafe_characters); leaving them out here keeps this
#: property test deterministic.
YAML_UNSAFE = "".join(map(chr, range(0x7F, 0xA0))) + "\u2028\u2029\ufffe\uffff"
CHARS = st.characters(exclude_categories=["Cs"], exclude_characters=YAML_UNSAFE)
TEXT = st.text(CHARS, min_size=1, max_size=20)
OPT_TEXT = st.none() | st.text(CHARS, max_size=20)
SHORT_TEXT = st.text(CHARS, max_size=8)
NUMBERS = st.integers(min_value=-MAX_NUMBER, max_value=MAX_NUMBER) | st.floats(
    min_value=-MAX_NUMBER, max_value=MAX_NUMBER, allow_nan=False, allow_infinity=False
)


@st.composite
def dates(draw: st.DrawFn) -> str:
    d = draw(st.dates(min_value=datetime.date(1000, 1, 1)))
    return d.isoformat()[: draw(st.sampled_from([4, 7, 10]))]


OPT_DATE = st.none() | dates()


def references(text: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[Reference]:
    return st.builds(
        Reference,
        title=text,
        doi=st.none() | st.from_regex(r"\A10\.[0-9]{4,9}/[!-~]{1,20}\Z"),
        url=st.from_regex(r"\Ahttps?://[!-~]{1,30}\Z"),
        date=OPT_DATE,
    )


REFERENCES = references()
CORRECTIONS = st.builds(Correction, article=TEXT, correct=TEXT, note=OPT_TEXT)


def _follows_rules(verdict: Verdict, rating: Rating, kind: ClaimKind | None) -> bool:
    """Whether a review with this verdict and rating can satisfy the loader's rules."""
    fixes = (Correction(article="a", correct="b"),) if verdict in CORRECTABLE else ()
    ref = (Reference(title="t", url="https://example.org"),)
    review = Review(verdict=verdict, rating=rating, corrections=fixes, references=ref)
    return not review_problems(review, kind)


@st.composite
def reviews(
    draw: st.DrawFn,
    kind: ClaimKind | None = None,
    text: st.SearchStrategy[str] = TEXT,
    opt_text: st.SearchStrategy[str | None] = OPT_TEXT,
) -> Review | None:
    """A review that keeps the loader's rules (see model.review_problems), or None."""
    refs = REFERENCES if text is TEXT else references(text)
    fix = (
        CORRECTIONS
        if text is TEXT
        else st.builds(Correction, article=text, correct=text, note=opt_text)
    )
    if draw(st.booleans()):
        return None
    pairs = [(v, r) for v in Verdict for r in Rating if _follows_rules(v, r, kind)]
    verdict, rating = draw(st.sampled_from(pairs))
    fixes = (
        draw(st.lists(fix, min_size=1, max_size=2))
        if verdict is Verdict.CONFIRMED_WITH_CORRECTIONS
        else draw(st.lists(fix, max_size=2))
        if verdict in CORRECTABLE
        else []
    )
    return Review(
        verdict=verdict,
        rating=rating,
        reasons=tuple(draw(st.lists(st.sampled_from(Reason), max_size=2, unique=True))),
        note=draw(opt_text),
        corrections=tuple(fixes),
        references=tuple(draw(st.lists(refs, min_size=1, max_size=2))),
        later=tuple(
            draw(
                st.lists(
                    st.builds(
                        Development,
                        description=text,
                        date=OPT_DATE,
                        references=st.lists(refs, min_size=1, max_size=1).map(tuple),
                    ),
                    max_size=2,
                )
            )
        ),
    )


@st.composite
def datasets(
    draw: st.DrawFn,
    text: st.SearchStrategy[str] = TEXT,
    opt_text: st.SearchStrategy[str | None] = OPT_TEXT,
    short: st.SearchStrategy[str] = SHORT_TEXT,
) -> Dataset:
    ids = draw(st.lists(IDS, min_size=1, max_size=9, unique=True))
    n_ent = draw(st.integers(0, len(ids)))
    n_claim = draw(st.integers(0, len(ids) - n_ent))
    ent_ids, claim_ids = ids[:n_ent], ids[n_ent : n_ent + n_claim]
    case_ids = ids[n_ent + n_claim :]
    refs = st.lists(st.sampled_from(ent_ids), max_size=3).map(tuple) if ent_ids else st.just(())
    # An entity's name or alias may not be another entity's id (validation refuses it).
    taken = {i.casefold() for i in ent_ids}
    entities = tuple(
        draw(
            st.builds(
                Entity,
                id=st.just(i),
                name=text.filter(lambda t: t.casefold() not in taken),
                type=st.sampled_from(EntityType),
                aliases=st.lists(short.filter(lambda t: t.casefold() not in taken), max_size=2).map(
                    tuple
                ),
                note=opt_text,
            )
        )
        for i in ent_ids
    )
    figures = st.builds(
        Figure,
        label=text,
        value=NUMBERS,
        unit=text,
        qualifier=st.sampled_from(Qualifier),
        date=OPT_DATE,
    )
    kinds = [draw(st.sampled_from(ClaimKind)) for _ in claim_ids]
    claims = tuple(
        draw(
            st.builds(
                Claim,
                id=st.just(i),
                kind=st.just(kind),
                statement=text,
                quote=text,
                evidence=st.sampled_from(Evidence),
                date=OPT_DATE,
                entities=refs,
                figures=st.lists(figures, max_size=2).map(tuple),
                review=reviews(kind, text, opt_text),
            )
        )
        for i, kind in zip(claim_ids, kinds, strict=True)
    )
    claim_refs = (
        st.lists(st.sampled_from(claim_ids), max_size=2).map(tuple) if claim_ids else st.just(())
    )
    cases = tuple(
        draw(
            st.builds(
                Case,
                id=st.just(i),
                title=text,
                quote=text,
                patient=st.builds(
                    Patient,
                    description=text,
                    name=opt_text,
                    sex=opt_text,
                    age=st.none() | st.integers(0, 120),
                    place=opt_text,
                ),
                diagnosis=st.lists(text, min_size=1, max_size=2).map(tuple),
                therapy=text,
                outcome=text,
                evidence=st.sampled_from(Evidence),
                extent=opt_text,
                hospital=st.none() | st.sampled_from(ent_ids) if ent_ids else st.none(),
                events=st.lists(
                    st.builds(Event, date=dates(), description=text, quote=opt_text), max_size=2
                ).map(tuple),
                measurements=st.lists(
                    st.builds(
                        Measurement,
                        label=text,
                        before=NUMBERS,
                        after=NUMBERS,
                        unit=text,
                        date=OPT_DATE,
                    ),
                    max_size=1,
                ).map(tuple),
                entities=refs,
                claims=claim_refs,
                review=reviews(None, text, opt_text),
            )
        )
        for i in case_ids
    )
    source = draw(
        st.builds(
            Source,
            id=IDS,
            title=text,
            publisher=text,
            credit=opt_text,
            date=OPT_DATE,
            language=opt_text,
            note=opt_text,
            text=st.none(),
        )
    )
    return Dataset(schema=2, source=source, entities=entities, claims=claims, cases=cases)


@FEWER
@given(datasets())
def test_random_dataset_json_round_trip(ds: Dataset) -> None:
    roundtrip(ds, None)


@FEWER
@given(datasets())
def test_random_dataset_json_export_is_valid_json(ds: Dataset) -> None:
    text = export_text(ds, ExportFormat.JSON).text
    data = json.loads(text)
    assume(data["schema"] == 2)
    assert [c["id"] for c in data.get("claims", [])] == [c.id for c in ds.claims]


def _streamed_json(ds: Dataset) -> str:
    from immunofacts.render.export import dataset_json
    from immunofacts.render.formats import joined

    return joined(dataset_json(ds.schema, ds.source, ds.entities, ds.claims, ds.cases))


@FEWER
@given(datasets())
def test_random_dataset_export_streamed_is_the_same_text(ds: Dataset) -> None:
    """The export written a few records at a time is the whole dataset's JSON, byte for byte."""
    from immunofacts.render.export import dataset_builtins, streamed
    from immunofacts.render.formats import joined, to_json

    assert _streamed_json(ds) == to_json(dataset_builtins(ds))
    for raw in (False, True):
        csv = streamed(ExportFormat.CSV, ds.schema, ds.source, (), iter(ds.claims), (), raw=raw)
        assert joined(csv) == export_text(ds, ExportFormat.CSV, raw=raw).text


@FEWER
@given(datasets())
def test_a_claims_json_made_quickly_is_its_shapes_json(ds: Dataset) -> None:
    import msgspec

    from immunofacts.render import shapes

    for c in (*ds.claims, *real().claims[:20]):
        assert bytes(shapes.claim_json(c)) == msgspec.json.encode(shapes.claim(c))


@FEWER
@given(datasets())
def test_a_timeline_event_encodes_as_its_shape(ds: Dataset) -> None:
    import msgspec

    from immunofacts.query import timeline_events
    from immunofacts.render import shapes

    for e in (*timeline_events(ds), *timeline_events(real())[:20]):
        assert msgspec.json.encode(e) == msgspec.json.encode(shapes.event(e))


@pytest.mark.parametrize("chunk", [1, 3, 256])
def test_real_dataset_json_export_streamed_is_the_same_text(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from immunofacts.render import formats
    from immunofacts.render.export import dataset_builtins

    monkeypatch.setattr(formats, "JSON_CHUNK", chunk)
    ds = real()
    assert _streamed_json(ds) == formats.to_json(dataset_builtins(ds))
    empty = Dataset(schema=2, source=ds.source)
    assert _streamed_json(empty) == formats.to_json(dataset_builtins(empty))


def _one_title(title: str) -> Dataset:
    return Dataset(schema=2, source=Source(id="s", title=title, publisher="p"))


# " &" sends the exported text to the careful (PyYAML) path.
@pytest.mark.parametrize("title", ["a\x85b &c", "a\x9bb &c", "a\x7f &c", "\uffff &"])
def test_json_export_keeps_yaml_unsafe_characters(title: str) -> None:
    roundtrip(_one_title(title), None)


def test_yaml_export_keeps_line_separator() -> None:
    roundtrip(_one_title("a\u2028b"), None, ExportFormat.YAML)


@pytest.mark.parametrize("title", ["a &b", "x\ufeffy", "\U0001f600 *", "\u202e!", " lead"])
def test_json_export_round_trips_odd_but_safe_text(title: str) -> None:
    roundtrip(_one_title(title), None)
    roundtrip(_one_title(title), None, ExportFormat.YAML)


@pytest.mark.parametrize(
    "title", ["08", "0o17", "0x1F", "1e5", "-2E-3", ".5", "1.", "+12", ".inf", "-.Inf", ".NaN"]
)
def test_yaml_export_quotes_text_that_yaml_1_2_reads_as_a_number(title: str) -> None:
    """Text that the YAML 1.2 core schema reads as a number (as the loader does, on both
    paths), though PyYAML's YAML 1.1 reads it as text, is written quoted: the export reads
    back as the same text, not as a number."""
    roundtrip(_one_title(title), None, ExportFormat.YAML)


# --- search finds a term where the words of a text say it stands ------------------------

#: Text mostly of a few short words, in any case, with gaps of ASCII punctuation and, now
#: and then, a character outside ASCII.
FIND_TEXT = st.lists(
    st.sampled_from(["ab", "AB", "abc", "b", "Ba", "a1", "1", " ", "-", "  ", ".", "é", "ı", "\n"]),
    max_size=30,
).map("".join)
FIND_WORD = st.sampled_from(["a", "ab", "abc", "b", "ba", "a1", "1", "c", "A", "Ab"])


@SETTINGS
@given(
    FIND_TEXT,
    st.lists(FIND_WORD, min_size=1, max_size=3),
    st.booleans(),
    st.sets(st.sampled_from(["a", "ab", "abc", "b", "ba", "a1", "1", "abcd", "A", "Ab"])),
)
@example("ab a", ["A"], False, set())  # a capital never stands in ASCII text
def test_search_finds_a_term_where_the_words_stand(
    text: str, term_words: list[str], exact: bool, heavy: set[str]
) -> None:
    """The patterns search runs over ASCII text find exactly the occurrences that
    splitting the text into words finds, with the same weights. As in `_choices`,
    an unquoted word matches every word of the collection (which holds the text's
    words) that it begins, and weighs 1 on itself and on the words of `heavy`
    (those sharing its root), 0.5 on the others."""
    from immunofacts.query import Term, _occurrences, _Term
    from immunofacts.tokens import spans, word_count, words

    # a word folded from other text than ASCII may hold capitals (ℂ folds to C)
    vocab = {"a", "ab", "abc", "b", "ba", "a1", "1", "abcd", "A", "Ab", *words(text)}
    choices = [
        {w: 1.0}
        if exact
        else {v: 0.5 for v in vocab if v.startswith(w)} | dict.fromkeys(heavy | {w} & vocab, 1.0)
        for w in term_words
    ]
    term = Term(" ".join(term_words), tuple(term_words), exact)
    found = _occurrences(spans(text), choices)
    assert _Term(term, choices).find(text) == found
    assert _Term(term, choices).weight(text) == sum(w for _, _, w in found)
    assert word_count(text) == len(words(text))


@FEWER
@given(datasets(), st.lists(st.sampled_from(["a", "b", "ab", "-a", '"a b"', "x"]), max_size=3))
def test_ranked_search_gives_the_hits_of_search(ds: Dataset, query: list[str]) -> None:
    """Ranking without marking the matches keeps every hit, in the same order."""
    from immunofacts.query import ranked

    words = [w for w in query if not w.startswith("-")] or ["a"]
    assert ranked(ds, [*words, *query]) == [h.record for h in search(ds, [*words, *query])]


#: Text of a few short words, mostly ASCII, with the punctuation that `tokens.spaced` reads
#: as a space and, now and then, a letter beyond ASCII.
WORDY = st.lists(
    st.sampled_from(
        ["ab", "AB", "abc", "b", "Ba", "a1", "1", " ", " ", "-", ".", "\n"] * 24
        + ["\u2019", "\u2014", "\u00a0", "é", "ı"]
    ),  # fmt: skip
    min_size=1,
    max_size=8,
).map("".join)
WORDY_QUERY = st.lists(
    st.sampled_from(["a", "ab", "b", "abc", "1", "ba", '"ab b"', '"b ab"', '"a1 1"', "-ba", "-1"]),
    min_size=1,
    max_size=3,
)


#: What is typed in the browser's search box: short prefixes, whole words, quoted words,
#: phrases, words left out, and now and then a letter beyond ASCII.
TYPED = st.lists(
    st.sampled_from(
        ["a", "ab", "b", "abc", "1", "ba", "e", "é", "x", "Ab", '"ab"', '"b"', "ab-b", '"ab b"']
        + ["-a", "-ba", '-"b"', "-ab-b", "-x"]
    ),
    min_size=1,
    max_size=3,
)


def label_filters() -> st.SearchStrategy[dict[str, Wanted]]:
    """No label filter, or one of any label's values."""
    from immunofacts.query import LABEL_FILTERS

    every: list[dict[str, Wanted]] = [
        {name: v} for name, f in LABEL_FILTERS.items() for v in f.values
    ]
    return st.just({}) | st.sampled_from(every)


@settings(SETTINGS, max_examples=80)
@given(
    datasets() | datasets(WORDY, st.none() | WORDY, WORDY),
    TYPED,
    label_filters(),
)
def test_the_browsers_word_index_ranks_as_search(
    ds: Dataset, query: list[str], labels: dict[str, Any]
) -> None:
    """Scored from where each word stands, a search of one-word terms gives the records
    of `ranked`, in its order (scores to the last bit, ties in dataset order); a search
    with a phrase is left to `ranked`."""
    from immunofacts.query import ranked
    from immunofacts.tui.postings import WordIndex

    words = [w for w in query if not w.startswith("-")] or ["a"]
    q = parse_query([*words, *query])
    got = WordIndex(ds).ranked(q, labels)
    if got is None:
        assert any(len(t.words) > 1 for t in (*q.terms, *q.excluded))
    else:
        expected = ranked(ds, q, **labels)
        event("hits" if expected else "no hit")
        assert got == expected


@settings(SETTINGS, max_examples=60)
@given(datasets(WORDY, st.none() | WORDY, WORDY), WORDY_QUERY)
def test_search_of_a_record_at_once_is_search_field_by_field(ds: Dataset, query: list[str]) -> None:
    """Searching a record's fields joined into one text gives the very hits, scores and
    match spans that searching each field on its own does, and so does `ranked`."""
    import immunofacts.query as q

    words = [w for w in query if not w.startswith("-")] or ["ab"]
    query = [*words, *query]
    at_once = search(ds, query)
    joined = q._joined
    try:
        q._joined = lambda fields: None
        by_field = search(ds, query)
    finally:
        q._joined = joined
    assert at_once == by_field
    assert q.ranked(ds, query) == [h.record for h in by_field]
    names = entity_names(ds.entity_map())
    for h in at_once:  # what JSON and the snippet read of a hit's text
        texts = dict(search_fields(h.record, names))
        assert h.words == tuple(texts[m.field][m.start : m.end] for m in h.matches)
        for m in h.matches:
            if m.field in ("statement", "title", "quote"):
                assert getattr(h.record, m.field) == texts[m.field]


@pytest.mark.parametrize(
    "query", ["t", "th", "lupus", "stor", "car-t", '"cell therapy"', "cell -lupus"]
)
def test_ranked_search_of_the_real_dataset(query: str) -> None:
    from immunofacts.query import ranked

    hits = search(real(), query)
    assert hits
    assert ranked(real(), query) == [h.record for h in hits]
