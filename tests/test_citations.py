"""Citation exports: BibTeX round-trips through a parser, CSL-JSON meets the CSL schema, RIS."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from immunofacts.export.citations import bibtex, csl_json, named_authors, ris
from immunofacts.export.tables import cited_references
from immunofacts.loading import load_dataset
from immunofacts.model import Dataset, Reference

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"
CSL_SCHEMA = Path(__file__).parent / "data" / "csl-data.schema.json"

HOSTILE = Reference(
    title="Braces {and} 100% of $costs & #tags_with ~tilde ^caret \\backslash",
    publisher="Odd & Co",
    url="https://example.org/a_b%20c{d}",
    date="2021-03-04",
    note="A note.",
)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


def citing(ds: Dataset, ref: Reference) -> tuple[Dataset, int]:
    """The dataset with `ref` the only reference of its first reviewed claim, and where
    that claim is."""
    claims = list(ds.claims)
    i = next(n for n, c in enumerate(claims) if c.review is not None)
    review = claims[i].review
    assert review is not None
    claims[i] = msgspec.structs.replace(
        claims[i], review=msgspec.structs.replace(review, references=(ref,))
    )
    return msgspec.structs.replace(ds, claims=tuple(claims)), i


def cited_alone(ref: Reference, ds: Dataset | None = None) -> Dataset:
    """The dataset (the shipped one by default) cut to the one claim that cites `ref`,
    its only reference."""
    cited, i = citing(ds if ds is not None else load_dataset(DATA), ref)
    return msgspec.structs.replace(cited, claims=(cited.claims[i],), cases=())


@pytest.fixture(scope="module")
def hostile(ds: Dataset) -> Dataset:
    """The dataset with a reference full of LaTeX's special characters on its first claim."""
    return citing(ds, HOSTILE)[0]


def _unescape(text: str) -> str:
    text = text.replace(r"\textbackslash{}", "\\").replace(r"\textasciitilde{}", "~")
    text = text.replace(r"\textasciicircum{}", "^")
    text = text.replace(r"\textbraceleft{}", "{").replace(r"\textbraceright{}", "}")
    return re.sub(r"\\([&%$#_{}])", r"\1", text)


def _case_kept(value: str) -> str:
    """The text of a field whose case styles keep: the whole value one brace group
    (BibTeX changes the case of no letter in one) that does not open with a backslash
    (a "special character", whose letters BibTeX does change)."""
    assert value.startswith("{") and value.endswith("}"), value
    depth = 0
    for i, ch in enumerate(value):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth > 0 or i == len(value) - 1, f"the group closes before the end: {value}"
    assert not value.startswith("{\\"), value
    inner = value[1:-1]
    return inner.removeprefix("{}") if inner.startswith("{}\\") else inner


@pytest.mark.parametrize("which", ["ds", "hostile"])
def test_bibtex_round_trips_through_a_parser(which: str, request: pytest.FixtureRequest) -> None:
    bibtexparser = pytest.importorskip("bibtexparser")
    data: Dataset = request.getfixturevalue(which)
    lib = bibtexparser.parse_string(bibtex(data))
    assert lib.failed_blocks == []
    cited = cited_references(data)
    assert len(lib.entries) == len(cited)
    assert len({e.key for e in lib.entries}) == len(cited)
    for entry, (_, ref, ids) in zip(lib.entries, cited, strict=True):
        fields = {k: v.value for k, v in entry.fields_dict.items()}
        assert _unescape(_case_kept(fields["title"])) == " ".join(ref.title.split())
        paper = (ref.doi or ref.pmid) and named_authors(ref)[0] and ref.publisher and ref.date
        assert entry.entry_type == ("article" if paper else "misc")
        link = ref.link()
        if link:
            assert fields["url"].replace("%7B", "{").replace("%7D", "}") == link
        if ref.doi:
            assert fields["doi"] == ref.doi
        if ref.date:
            assert fields["year"] == ref.date[:4]
        for rid in ids:
            assert rid in fields["annote"]


#: The fields pybtex's plain style (BibTeX's plain.bst, with urlbst's web fields)
#: requires of each entry type the export writes, and those it prints.
PLAIN_NEEDS = {"article": {"author", "title", "journal", "year"}, "misc": set()}
PLAIN_PRINTS = {
    "article": {"author", "title", "journal", "volume", "number", "pages", "month", "year"}
    | {"note", "url", "doi"},
    "misc": {"author", "title", "howpublished", "month", "year", "note", "url", "doi"},
}
#: Fields no standard style prints, which hold nothing a reader of the bibliography
#: misses: the day (styles print month and year), the PubMed id (the address is
#: printed), and `annote`, the reviews citing it and the dataset's note on it.
UNPRINTED = {"day", "pmid", "annote"}


@pytest.mark.parametrize("which", ["ds", "hostile"])
def test_every_bibtex_entry_has_what_the_plain_style_needs_in_fields_it_prints(
    which: str, request: pytest.FixtureRequest
) -> None:
    """plain stops at an @article without an author ('FieldIsMissing'), and prints no
    `publisher` or `number` of a @misc: every field an entry has is one its type needs
    or prints, or one that no reader misses."""
    bibtexparser = pytest.importorskip("bibtexparser")
    data: Dataset = request.getfixturevalue(which)
    lib = bibtexparser.parse_string(bibtex(data))
    assert lib.failed_blocks == []
    for entry in lib.entries:
        kind, fields = entry.entry_type, set(entry.fields_dict)
        assert kind in PLAIN_NEEDS, entry.key
        assert PLAIN_NEEDS[kind] <= fields, (entry.key, PLAIN_NEEDS[kind] - fields)
        assert fields <= PLAIN_PRINTS[kind] | UNPRINTED, (entry.key, fields - PLAIN_PRINTS[kind])


def test_bibtex_keeps_the_reviews_citing_a_reference_out_of_the_bibliography(
    ds: Dataset,
) -> None:
    """plain printed "Cited in review of: claim-..." and the dataset's comment on the
    reference ("Read in a reproduction of the press release") after each reference:
    both are for the reader of the reviews, in `annote`, which styles do not print."""
    bibtexparser = pytest.importorskip("bibtexparser")
    lib = bibtexparser.parse_string(bibtex(ds))
    cited = cited_references(ds)
    for entry, (_, ref, ids) in zip(lib.entries, cited, strict=True):
        printed = " ".join(v.value for k, v in entry.fields_dict.items() if k != "annote")
        assert "Cited in review" not in printed and not any(i in printed for i in ids)
        assert all(i in entry["annote"] for i in ids)
        if ref.note:
            assert ref.note[:20] not in printed
            assert _unescape(entry["annote"]).endswith(" ".join(ref.note.split()))


def _entry(text: str, title_start: str) -> dict[str, str]:
    bibtexparser = pytest.importorskip("bibtexparser")
    lib = bibtexparser.parse_string(text)
    entry = next(e for e in lib.entries if e["title"].startswith("{" + title_start))
    return {"type": entry.entry_type} | {k: v.value for k, v in entry.fields_dict.items()}


def test_bibtex_puts_outlet_and_trial_id_where_styles_print_them(ds: Dataset) -> None:
    """A trial's registry and id, a story's outlet, a journal supplement's volume and
    an unsigned paper's journal, each in a field plain prints for the entry's type."""
    text = bibtex(ds)
    trial = _entry(text, "Natural Killer Cell (CYNK-001) Infusions in Adults With COVID-19}")
    assert (trial["type"], trial["howpublished"]) == ("misc", "ClinicalTrials.gov")
    assert trial["note"] == "NCT04365101"  # the registry is named once, as the outlet
    story = _entry(text, "'I was told")
    assert (story["type"], story["howpublished"]) == ("misc", "BBC News")
    abstract = _entry(text, "Abstract CT201")
    assert abstract["howpublished"] == "Cancer Research, 81(13 Supplement)"
    unsigned = _entry(text, "[Nature Communications article")
    assert (unsigned["type"], unsigned["howpublished"]) == ("misc", "Nature Communications")
    assert unsigned["doi"] == "10.1038/s41467-020-17240-2"


@pytest.mark.parametrize("which", ["ds", "hostile"])
def test_csl_json_meets_the_csl_schema(which: str, request: pytest.FixtureRequest) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data: Dataset = request.getfixturevalue(which)
    items = csl_json(data)
    schema = json.loads(CSL_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(items, schema)
    assert [i["custom"]["cited_by"] for i in items] == [ids for _, _, ids in cited_references(data)]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"id": "x", "type": "not-a-type"}], schema)


def test_ris_records(ds: Dataset) -> None:
    text = ris(ds)
    records = [r for r in text.split("ER  - ") if r.strip()]
    assert len(records) == len(cited_references(ds))
    for line in text.split("\r\n"):
        assert line == "" or re.match(r"^[A-Z][A-Z0-9]  - ", line), line
    for _, ref, _ in cited_references(ds):
        assert f"TI  - {' '.join(ref.title.split())}" in text


def test_a_paper_s_authors_and_place_in_its_journal_go_to_their_fields(ds: Dataset) -> None:
    """Xu Z, Shi L, Wang Y, et al., Wang FS (The Lancet Respiratory Medicine 8(4):420-422):
    the authors up to "et al." as names, the rest as "and others" where the format has it,
    and neither the authors nor the volume in the title or the journal's name."""
    doi = "10.1016/S2213-2600(20)30076-X"
    item = next(i for i in csl_json(ds) if i.get("DOI") == doi)
    assert item["author"] == [
        {"family": "Xu", "given": "Z"},
        {"family": "Shi", "given": "L"},
        {"family": "Wang", "given": "Y"},
    ]
    assert item["container-title"] == "The Lancet Respiratory Medicine"
    assert (item["volume"], item["issue"], item["page"]) == ("8", "4", "420-422")
    assert "Xu Z" not in item["title"] and not item["title"].endswith(")")

    bibtexparser = pytest.importorskip("bibtexparser")
    lib = bibtexparser.parse_string(bibtex(ds))
    entry = next(e for e in lib.entries if e.fields_dict["doi"].value == doi)
    fields = {k: v.value for k, v in entry.fields_dict.items()}
    assert fields["author"] == "Xu, Z. and Shi, L. and Wang, Y. and others"
    assert (fields["journal"], fields["volume"], fields["number"], fields["pages"]) == (
        "The Lancet Respiratory Medicine",
        "8",
        "4",
        "420--422",
    )

    record = next(r for r in ris(ds).split("ER  - ") if f"DO  - {doi}" in r)
    lines = record.strip().split("\r\n")
    assert [x for x in lines if x.startswith("AU  - ")] == [
        "AU  - Xu, Z",
        "AU  - Shi, L",
        "AU  - Wang, Y",
    ]
    for tag in ("VL  - 8", "IS  - 4", "SP  - 420", "EP  - 422"):
        assert tag in lines


def test_an_author_without_initials_is_one_literal_name() -> None:
    ref = Reference(title="T", authors=("Wei", "et al."), doi="10.1/x", date="2020")
    one = cited_alone(ref)
    (item,) = [x for x in csl_json(one) if x.get("DOI") == "10.1/x"]
    assert item["author"] == [{"literal": "Wei"}]
    assert "author = {{Wei} and others}" in bibtex(one)


def _bibtex_authors(names: tuple[str, ...]) -> list[str]:
    """The authors BibTeX reads from the export of a reference with `names`, split as
    BibTeX splits them (bibtexparser's middleware does it BibTeX's way)."""
    bibtexparser = pytest.importorskip("bibtexparser")
    from bibtexparser.middlewares import SeparateCoAuthors

    cited, _ = citing(load_dataset(DATA), Reference(title="T", authors=names, doi="10.1/y"))
    lib = bibtexparser.parse_string(bibtex(cited), append_middleware=[SeparateCoAuthors()])
    entry = next(e for e in lib.entries if e.fields_dict["doi"].value == "10.1/y")
    authors: list[str] = entry["author"]
    return authors


def test_bibtex_authors_split_as_listed_whatever_their_names() -> None:
    names = ("Centers for Disease Control and Prevention", "Lee J-P", "Mercado NB", "et al.")
    assert _bibtex_authors(names) == [
        "{Centers for Disease Control and Prevention}",
        "Lee, J.-P.",
        "Mercado, N. B.",
        "others",
    ]


#: Every line break `str.splitlines` knows, each with a forged record behind it.
BREAKS = ("\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def forged(field: str) -> str:
    return "".join(f"{field}{br}ER  - {br}TY  - JOUR{br}TI  - Injected" for br in BREAKS)


def _ris_is_one_record_a_reference(text: str, count: int) -> None:
    assert text.count("TY  - ") == count, text
    assert text.count("ER  - ") == count
    for line in text.split("\r\n"):
        assert line == "" or re.fullmatch(r"[A-Z][A-Z0-9]  - .*", line), repr(line)
        assert line.splitlines() in ([line], []), repr(line)  # no break of any kind inside


def test_ris_puts_every_value_on_one_line_whatever_breaks_it_holds() -> None:
    ref = Reference(
        title=forged("T"),
        authors=(forged("Roe") + " R", forged("Org")),
        publisher=forged("Lancet"),
        volume=forged("8"),
        issue=forged("4"),
        pages=forged("1") + "-" + forged("2"),
        pmid="1",
        note=forged("N"),
    )
    one = cited_alone(ref)
    text = ris(one)
    _ris_is_one_record_a_reference(text, 1)
    assert "T2  - Lancet ER - TY - JOUR TI - Injected" in text


def _one_reference(tmp_path: Path, *fields: str) -> Path:
    """A dataset file of one claim citing one reference: a title, a PMID and `fields`,
    each a line of YAML (so that its escapes are read as a user's file would be)."""
    lines = "".join(f"          {f}\n" for f in fields)
    path = tmp_path / "one-reference.yaml"
    path.write_text(
        "schema: 2\n"
        "source: {id: src-x, title: X, publisher: P}\n"
        "claims:\n"
        "  - id: claim-one\n"
        "    kind: research\n"
        "    statement: S\n"
        "    quote: Q\n"
        "    evidence: peer-reviewed\n"
        "    review:\n"
        "      verdict: confirmed\n"
        "      rating: accurate\n"
        "      references:\n"
        "        - title: T\n"
        '          pmid: "1"\n' + lines,
        encoding="utf-8",
    )
    return path


def test_ris_export_of_a_forged_publisher_is_one_record(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    path = _one_reference(
        tmp_path,
        'authors: ["Roe R\\u2028ER  - \\nTY  - ELEC\\nTI  - Injected"]',
        'publisher: "Lancet\\nER  - \\r\\nTY  - JOUR\\rTI  - Injected"',
        'volume: "8\\u0085ER  - "',
    )
    result = CliRunner().invoke(app, ["export", "--format", "ris", "--data", str(path)])
    assert result.exit_code == 0, result.output
    _ris_is_one_record_a_reference(result.stdout_bytes.decode("utf-8"), 1)


def _balanced(value: str) -> bool:
    depth = 0
    for ch in value:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _bib_fields(text: str) -> list[tuple[str, str]]:
    """The fields of a BibTeX export as written: one a line, `name = {value}`."""
    out = []
    for line in text.splitlines():
        m = re.fullmatch(r"  ([a-z]+) = \{(.*)\},?", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def test_bibtex_balances_every_brace_whatever_the_text() -> None:
    bibtexparser = pytest.importorskip("bibtexparser")
    ref = Reference(
        title="a lone { brace",
        authors=("Brien {X", "O}Neil J", "Org } of {"),
        publisher="}{ Press",
        volume="{",
        issue="}",
        pages="1{-2",
        pmid="1",
        date="2020",
        note="a lone } brace, a {pair}",
    )
    unsigned = msgspec.structs.replace(ref, authors=())
    one = cited_alone(unsigned)
    fields = dict(_bib_fields(bibtex(one)))
    assert set(fields) >= {"title", "howpublished", "annote"}  # a @misc
    assert all(_balanced(v) for v in fields.values()), fields
    one = cited_alone(ref)
    text = bibtex(one)
    fields = dict(_bib_fields(text))
    assert set(fields) >= {"author", "title", "journal", "volume", "number", "pages", "annote"}
    assert all(_balanced(v) for v in fields.values()), fields
    assert fields["title"] == r"{a lone \textbraceleft{} brace}"
    assert fields["author"] == (
        r"{Brien \textbraceleft{}X} and O\textbraceright{}Neil, J. and "
        r"{Org \textbraceright{} of \textbraceleft{}}"
    )
    assert fields["annote"].endswith(r"a lone \textbraceright{} brace, a \{pair\}")
    lib = bibtexparser.parse_string(text)
    assert lib.failed_blocks == []
    assert len(lib.entries) == 1


def test_bibtex_titles_keep_their_case_whatever_they_start_with() -> None:
    """Styles lowercase a title's words ("covid-19", "china"); braced, they keep them
    as written, a title that starts with a backslash or a brace too."""
    bibtexparser = pytest.importorskip("bibtexparser")
    data = load_dataset(DATA)
    for title in ("COVID-19 in China", "\\MIIT {No.} 350", "{CAR-T", "}Odd"):
        ref = Reference(title=title, publisher="P", pmid="1", authors=("Roe R",), date="2020")
        one = cited_alone(ref, data)
        (entry,) = bibtexparser.parse_string(bibtex(one)).entries
        assert _unescape(_case_kept(entry["title"])) == title


def test_bibtex_keeps_an_and_inside_one_author_s_name() -> None:
    names = (
        "Smith and Jones J",
        "Black AND White K",
        "Rose\u00a0and Jones K",
        "Doe J",
        "Anderson A",
    )
    assert _bibtex_authors(names) == [
        "{Smith and Jones}, J.",
        "{Black AND White}, K.",
        "{Rose and Jones}, K.",
        "Doe, J.",
        "Anderson, A.",
    ]


def test_bibtex_writes_a_trial_id_in_the_note_and_an_issue_in_number() -> None:
    """An @article's one `number` is its issue, and styles print no `number` of a @misc:
    the trial's id is in the note either way."""
    bibtexparser = pytest.importorskip("bibtexparser")
    both = Reference(
        title="Trial paper",
        authors=("Roe R",),
        publisher="Lancet",
        date="2020",
        pmid="123",
        nct="NCT01234567",
        volume="8",
        issue="4",
    )
    trial = Reference(title="Trial", nct="NCT07654321", publisher="ClinicalTrials.gov")
    data = load_dataset(DATA)
    for ref, kind, numbers in ((both, "article", ["4"]), (trial, "misc", [])):
        one = cited_alone(ref, data)
        text = bibtex(one)
        assert [v for k, v in _bib_fields(text) if k == "number"] == numbers, text
        lib = bibtexparser.parse_string(text)
        assert lib.failed_blocks == []
        (entry,) = lib.entries
        assert entry.entry_type == kind
        # the registry named with the id, unless it is named already as the outlet
        said = ref.publisher == "ClinicalTrials.gov"
        assert entry["note"] == (ref.nct if said else f"ClinicalTrials.gov: {ref.nct}")


@pytest.mark.parametrize(
    ("field", "value"),
    [("note", '"a lone { brace"'), ("authors", '["Brien {X", "Smith and Jones J"]')],
)
def test_bibtex_export_of_hostile_text_parses(tmp_path: Path, field: str, value: str) -> None:
    bibtexparser = pytest.importorskip("bibtexparser")
    from typer.testing import CliRunner

    from immunofacts.cli import app

    path = _one_reference(tmp_path, "nct: NCT01234567", 'issue: "4"', f"{field}: {value}")
    result = CliRunner().invoke(app, ["export", "--format", "bibtex", "--data", str(path)])
    assert result.exit_code == 0, result.output
    assert all(_balanced(v) for _, v in _bib_fields(result.stdout))
    assert [k for k, _ in _bib_fields(result.stdout)].count("number") <= 1
    lib = bibtexparser.parse_string(result.stdout)
    assert lib.failed_blocks == []
    assert len(lib.entries) == 1


def test_initials_written_with_dots_are_initials_and_nothing_else_is() -> None:
    """ "O'Brien J." gave BibTeX "O'Brien, J. ..", and "Brien {X" counted "{X" as
    initials: initials are capital letters (a hyphen between two), dots left out."""
    ref = Reference(
        title="T",
        authors=("O'Brien J.", "Lee J.-P.", "Öberg ÖJ", "Brien {X", "Roe R2", "Wang 王"),
    )
    names, more = named_authors(ref)
    assert not more
    assert names == [
        ("O'Brien", "J"),
        ("Lee", "J-P"),
        ("Öberg", "ÖJ"),
        ("Brien {X", ""),
        ("Roe R2", ""),
        ("Wang 王", ""),
    ]


def test_a_family_name_with_a_comma_is_one_family_name_in_bibtex() -> None:
    """BibTeX reads "Smith, Jr, J." as last name, "Jr" and first name: braced, the
    comma is part of the family name, as the record has it."""
    assert _bibtex_authors(("Smith, Jr J", "Doe J.")) == ["{Smith, Jr}, J.", "Doe, J."]


@pytest.mark.parametrize(
    ("pages", "first", "last"),
    [
        ("420-422", "420", "422"),
        ("420--422", "420", "422"),
        ("420\u2013422", "420", "422"),
        ("420 \u2014 422", "420", "422"),
        ("e1002", "e1002", None),
    ],
)
def test_a_range_of_pages_is_written_as_each_format_writes_one(
    pages: str, first: str, last: str | None
) -> None:
    ref = Reference(
        title="A paper",
        authors=("Xu Z",),
        publisher="A Journal",
        date="2020",
        volume="8",
        pages=pages,
        doi="10.1000/pages",
    )
    ds = cited_alone(ref)
    (item,) = csl_json(ds)
    assert item["page"] == (f"{first}-{last}" if last else first)
    bibtexparser = pytest.importorskip("bibtexparser")
    (entry,) = bibtexparser.parse_string(bibtex(ds)).entries
    assert entry.fields_dict["pages"].value == (f"{first}--{last}" if last else first)
    tags = [line for line in ris(ds).split("\r\n") if line[:2] in ("SP", "EP")]
    assert tags == [f"SP  - {first}", *([f"EP  - {last}"] if last else [])]


def test_bibtex_writes_each_range_of_a_list_of_pages_with_two_hyphens() -> None:
    ref = Reference(
        title="A paper", authors=("Xu Z",), publisher="A Journal", date="2020",
        volume="8", pages="1-2, 5\u20137", doi="10.1000/list",
    )  # fmt: skip
    bibtexparser = pytest.importorskip("bibtexparser")
    (entry,) = bibtexparser.parse_string(bibtex(cited_alone(ref))).entries
    assert entry.fields_dict["pages"].value == "1--2, 5--7"


def test_a_reference_cut_with_et_al_is_not_given_a_second_full_stop() -> None:
    from immunofacts.render.views import reference_text

    cut = Reference(title="A paper", authors=("Wei", "et al."), publisher="J")
    whole = Reference(title="A paper", authors=("Wei J", "Guo Y"), publisher="J")
    assert reference_text(cut).startswith("Wei, et al. A paper (J")
    assert reference_text(whole).startswith("Wei J, Guo Y. A paper (J")
