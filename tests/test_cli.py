"""The command line through Typer's CliRunner: exit codes, stdout, stderr, every format.

Typer 0.29's CliRunner keeps stderr apart from stdout (`result.stdout`,
`result.stderr`), and `result.output` is both interleaved; the first test
checks that, since everything below relies on it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from conftest import VIEW_COMMANDS
from typer.testing import CliRunner, Result

from immunofacts import __version__
from immunofacts.cli import app
from immunofacts.loading import load_dataset
from immunofacts.model import Dataset
from immunofacts.paths import bundled_data_path
from immunofacts.query import date_key

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"
ARTICLE = ROOT / "data" / "article.txt"

FORMATS = ("table", "plain", "json", "csv", "markdown")
BOX = re.compile("[\u2500-\u257f]")


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def ok(*args: str) -> Result:
    """Run a command that must succeed quietly."""
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    return result


def as_json(*args: str) -> Any:
    return json.loads(ok(*args, "--format", "json").stdout)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the dataset (and its article) in a temporary directory, one title changed."""
    shutil.copy(ARTICLE, tmp_path / "article.txt")
    text = DATA.read_text(encoding="utf-8")
    old = "title: UK woman with lymphoma clear of cancer after CAR-T on the NHS"
    assert old in text
    path = tmp_path / "copy.yaml"
    path.write_text(text.replace(old, "title: COPY MARKER case"), encoding="utf-8")
    return path


# --- the runner itself, --version, --help -------------------------------------------------


def test_runner_separates_stderr() -> None:
    result = run("show-claim", "claim-zzzz", "--format", "json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("immunofacts: error: ")
    assert result.output == result.stdout + result.stderr


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str) -> None:
    result = ok(flag)
    assert result.stdout == f"immunofacts {__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_no_arguments_shows_help() -> None:
    result = run()
    assert result.exit_code == 2  # Typer's no_args_is_help
    assert "Usage" in result.stdout
    assert "list-claims" in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = run("list-clams")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "list-clams" in result.stderr


# --- list-cases / show-case ---------------------------------------------------------------


def test_list_cases_json(ds: Dataset) -> None:
    cases = as_json("list-cases")
    assert isinstance(cases, list)
    assert len(cases) == 3
    assert [c["id"] for c in cases] == [c.id for c in ds.cases]
    assert all(c["type"] == "case" for c in cases)
    assert all(c["quote"] in (ds.source_text or "") for c in cases)


def test_list_cases_plain_is_one_tab_separated_line_per_case(ds: Dataset) -> None:
    header, *lines = ok("list-cases").stdout.splitlines()  # not a terminal: plain by default
    assert header.split("\t")[:4] == ["id", "case", "evidence", "verdict"]
    assert ok("list-cases", "--no-header").stdout.splitlines() == lines
    assert len(lines) == 3
    for line, case in zip(lines, ds.cases, strict=True):
        cells = line.split("\t")
        assert cells[0] == case.id
        review = case.review
        assert review is not None
        assert cells[-3:] == [case.evidence.value, review.verdict.value, review.rating.value]


def test_show_case(ds: Dataset) -> None:
    data = as_json("show-case", "case-hong-kong-singer")
    assert data["id"] == "case-hong-kong-singer"
    assert data["measurements"][0]["before"] == 68
    assert data["measurements"][0]["after"] == 2
    dates = [e["date"] for e in data["events"]]
    assert dates == sorted(dates, key=date_key)
    plain = ok("show-case", "case-hong").stdout  # unique prefix
    assert plain.startswith("case-hong-kong-singer\n")
    assert "68 → 2 cells" in plain
    assert "death" in plain  # the review's `later`


def test_show_case_unknown_suggests() -> None:
    result = run("show-case", "case-hong-kong-singr")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "did you mean 'case-hong-kong-singer'?" in result.stderr


def test_show_case_missing_argument_is_usage() -> None:
    result = run("show-case")
    assert result.exit_code == 2
    assert "ID" in result.stderr


# --- list-claims / show-claim -------------------------------------------------------------


def test_list_claims_json_has_every_claim(ds: Dataset) -> None:
    claims = as_json("list-claims")
    assert len(claims) == len(ds.claims) > 0
    assert [c["id"] for c in claims] == [c.id for c in ds.claims]


@pytest.mark.parametrize(
    ("option", "value", "check"),
    [
        ("--kind", "statistic", lambda c: c["kind"] == "statistic"),
        ("--evidence", "peer-reviewed", lambda c: c["evidence"] == "peer-reviewed"),
        ("--verdict", "confirmed", lambda c: (c["review"] or {}).get("verdict") == "confirmed"),
        ("--entity", "Lancet", lambda c: "ent-the-lancet-respiratory-medicine" in c["entities"]),
        ("--year", "2021", lambda c: (c["date"] or "").startswith("2021")),
    ],
)
def test_list_claims_filters(ds: Dataset, option: str, value: str, check: Any) -> None:
    everything = as_json("list-claims")
    kept = as_json("list-claims", option, value)
    assert kept
    assert [c["id"] for c in kept] == [c["id"] for c in everything if check(c)]
    assert len(kept) < len(everything)


def test_list_claims_sorted_by_rating_worst_first(ds: Dataset) -> None:
    from immunofacts.query import SortKey, sort_claims

    got = as_json("list-claims", "--sort", "rating", "--reverse", "--format", "json")
    want = sort_claims(ds.claims, SortKey.RATING, reverse=True)
    assert [c["id"] for c in got] == [c.id for c in want]
    assert got[0]["review"]["rating"] == "misleading"  # the worst the dataset has
    # each item the whole claim, as unsorted output gives it
    unsorted = {c["id"]: c for c in as_json("list-claims", "--format", "json")}
    assert got == [unsorted[c.id] for c in want]
    plain = ok("list-claims", "--sort", "date", "--fields", "id,date").stdout.splitlines()[1:]
    dates = [line.split("\t")[1] for line in plain]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, key=date_key) and dates == dated + [""] * (
        len(dates) - len(dated)
    )


def test_reverse_needs_a_sort() -> None:
    result = run("list-claims", "--reverse")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--reverse orders by --sort" in result.stderr


def test_list_claims_filters_are_case_insensitive() -> None:
    assert as_json("list-claims", "--kind", "STATISTIC") == as_json(
        "list-claims", "--kind", "statistic"
    )


def test_list_claims_empty_result_exits_1() -> None:
    result = run("list-claims", "--year", "1999", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == []
    assert "no claims match" in result.stderr


def test_list_claims_bad_choice_is_usage() -> None:
    result = run("list-claims", "--evidence", "hearsay")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "hearsay" in result.stderr


def test_list_claims_unknown_entity() -> None:
    result = run("list-claims", "--entity", "qqqqqq")
    assert result.exit_code == 1
    assert "no entity" in result.stderr


def test_show_claim(ds: Dataset) -> None:
    data = as_json("show-claim", "claim-car-t-ind-applications")
    assert data["type"] == "claim"
    assert {f["value"] for f in data["figures"]} == {50, 28, 31, 12}
    plain = ok("show-claim", "claim-car-t-ind-applications").stdout
    assert "more than 50 CAR-T IND applications" in plain
    assert "verdict: unconfirmed" in plain
    assert "https://doi.org/10.1038/s41423-020-00555-x" in plain


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("claim-car-t-ind-aplications", "claim-car-t-ind-applications"),
        ("claim-cynk-001-fda-approval", "claim-cynk-001-fda-ind"),
    ],
)
def test_show_claim_unknown_suggests(key: str, suggestion: str) -> None:
    result = run("show-claim", key)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "did you mean" in result.stderr
    assert repr(suggestion) in result.stderr


# --- show-stats ---------------------------------------------------------------------------


def test_show_stats_json(ds: Dataset) -> None:
    data = as_json("show-stats")
    values = [f["value"] for f in data["figures"]]
    assert {50, 28, 31, 12} <= set(values)
    assert data["counts"] == {
        "claims": len(ds.claims),
        "cases": len(ds.cases),
        "entities": len(ds.entities),
    }
    assert sum(data["claims_by_evidence"].values()) == len(ds.claims)
    assert sum(data["cases_by_verdict"].values()) == len(ds.cases)


# --- search -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        (["CYNK-001"], {"claim-cynk-001-announcement", "claim-cynk-001-fda-ind"}),
        (["rhesus"], {"claim-barouch-macaque-protection", "claim-covid-immune-cell-studies",
                      "claim-immune-cells-protect-and-treat"}),
        (
            ["Nature Metabolism"],
            {"claim-noti-abdominal-fat-study", "claim-abdominal-fat-immune-cells-reverse-aging"},
        ),
        (["nature", "metabolism"], {"claim-noti-abdominal-fat-study",
                                    "claim-abdominal-fat-immune-cells-reverse-aging"}),
    ],
)  # fmt: skip
def test_search_finds(terms: list[str], expected: set[str]) -> None:
    hits = as_json("search", *terms)
    assert {h["id"] for h in hits} == expected
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_search_leaves_out_a_word_written_after_the_double_dash() -> None:
    # as its help says: "-word" is read as a word to leave out once after "--"
    both = {h["id"] for h in as_json("search", "lupus")}
    left = {
        h["id"] for h in json.loads(ok("search", "-f", "json", "--", "lupus", "-lymphoma").stdout)
    }
    assert left and left < both
    assert all("lymphoma" not in i for i in left)
    assert any("lymphoma" in i for i in both - left)


@pytest.mark.parametrize("word", ["-lymphoma", '-"cell therapy"', "-deaths", "-fatal", "-x1"])
def test_search_says_where_a_word_to_leave_out_goes(word: str) -> None:
    # "-deaths" would be "-d eaths" (the dataset "eaths"), "-fatal" "-f atal"
    result = run("search", "lupus", word)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"immunofacts: error: {word!r} reads as an option; a word to leave out goes after --,"
        f" options before it: immunofacts search [OPTIONS] -- WORDS {word}\n"
    )
    short = run("search", "lupus", "-l")
    assert short.stderr == (
        "immunofacts: error: No such option: -l; a word to leave out goes after --, options"
        " before it: immunofacts search [OPTIONS] -- WORDS -l\n"
    )
    other = run("search", "lupus", "--nope")  # not a word: an option mistyped
    assert other.stderr.endswith("(see `immunofacts search --help`)\n")


def test_search_takes_a_short_option_with_its_value_and_a_value_like_a_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA, tmp_path / "-data.yaml")
    shutil.copy(ARTICLE, tmp_path / "article.txt")
    want = json.loads(ok("search", "lupus", "--format", "json").stdout)
    assert json.loads(ok("search", "lupus", "-fjson").stdout) == want
    assert json.loads(ok("search", "lupus", "-fjson", "--data", "-data.yaml").stdout) == want
    assert json.loads(ok("search", "lupus", "-fjson", "-d-data.yaml").stdout) == want


def test_search_lymphoma(ds: Dataset) -> None:
    hits = as_json("search", "lymphoma")
    found = {h["id"] for h in hits}
    assert {"case-lupus-lymphoma-shenzhen", "case-uk-lymphoma-helen"} <= found
    assert "claim-lupus-lymphoma-remission" in found
    assert "case-hong-kong-singer" not in found
    for h in hits:
        for m in h["matches"]:
            assert m["text"].lower() == "lymphoma"
            assert m["end"] - m["start"] == len("lymphoma")


def test_search_nothing_found() -> None:
    result = run("search", "xyzzyplugh", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == []
    assert result.stdout.strip() == "[]"
    assert "nothing matches 'xyzzyplugh'" in result.stderr


def test_search_nothing_found_plain_prints_nothing() -> None:
    result = run("search", "xyzzyplugh")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "nothing matches" in result.stderr


@pytest.mark.parametrize("terms", [[], [""], ["  "]])
def test_search_without_terms_is_usage(terms: list[str]) -> None:
    result = run("search", *terms)
    assert result.exit_code == 2
    assert result.stdout == ""


def test_search_filters() -> None:
    cases = as_json("search", "lymphoma", "--evidence", "news-report")
    assert cases and all(h["evidence"] == "news-report" for h in cases)
    claims = as_json("search", "lymphoma", "--kind", "clinical")
    assert claims and all(h["type"] == "claim" and h["kind"] == "clinical" for h in claims)


# --- timeline -----------------------------------------------------------------------------


def test_timeline_json(ds: Dataset) -> None:
    events = as_json("timeline")
    assert isinstance(events, list) and events
    assert all("date" in e for e in events)
    keys = [date_key(e["date"]) for e in events]
    assert keys == sorted(keys)
    months = {e["date"][:7] for e in events}
    assert {"2020-01", "2020-02", "2020-06", "2020-07", "2020-11", "2020-12"} <= months
    ids = {c.id for c in ds.claims} | {c.id for c in ds.cases}
    assert {e["id"] for e in events} <= ids


def test_timeline_since_until() -> None:
    everything = as_json("timeline")
    some = as_json("timeline", "--since", "2020-06", "--until", "2020-07")
    assert 0 < len(some) < len(everything)
    for e in some:
        assert date_key(e["date"])[:2] <= (2020, 7)
        assert e["date"][:4] == "2020"
        # a dated month outside June-July is out
        if len(e["date"]) >= 7:
            assert e["date"][:7] in ("2020-06", "2020-07")
    late = as_json("timeline", "--since", "2020-11-22")
    # an event dated only "2020" may fall before the range, so it is left out;
    # the singer's death (a later development) is in
    assert {e["date"] for e in late} == {"2020-12", "2021", "2021-05-04"}
    assert [e["type"] for e in late if e["date"] == "2021-05-04"] == ["later"]


@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("value", ["bad", "2020-13", "20-01", "2020/01"])
def test_timeline_bad_date_is_usage(option: str, value: str) -> None:
    result = run("timeline", option, value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert option in result.stderr


def test_timeline_empty_range_exits_1() -> None:
    result = run("timeline", "--since", "2030", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == []
    assert "no dated events" in result.stderr


def test_timeline_table_groups_by_month() -> None:
    result = run("timeline", "--format", "table", env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.exit_code == 0
    for heading in ("January 2020", "February 2020", "November 2020", "December 2020"):
        assert heading in result.stdout


# --- entities -----------------------------------------------------------------------------


def test_entities(ds: Dataset) -> None:
    entities = as_json("entities")
    assert {e["id"] for e in entities} == {e.id for e in ds.entities}
    assert all(e["claims"] + e["cases"] > 0 for e in entities)
    lancet = as_json("entities", "Lancet")
    assert lancet["id"] == "ent-the-lancet-respiratory-medicine"
    assert set(lancet["records"]) == {
        "claim-wang-fusheng-lancet-pathology-report",
        "claim-wang-fusheng-t-cell-finding",
    }


def test_entities_ambiguous_prefix_lists_the_candidates() -> None:
    result = run("entities", "n")
    assert result.exit_code == 1
    assert "'n' matches 2 entity ids, names or aliases; give more of one" in result.stderr
    assert "ent-nature" in result.stderr


def test_entities_misspelt_name_suggests() -> None:
    result = run("entities", "Lancett")
    assert result.exit_code == 1
    assert "did you mean 'ent-the-lancet-respiratory-medicine'" in result.stderr


# --- source -------------------------------------------------------------------------------


def test_source_shows_every_quote(ds: Dataset) -> None:
    plain = ok("source", "--format", "plain").stdout
    for rec in ds.records():
        assert rec.quote in plain, rec.id
        assert rec.id in plain
    assert "(source:chinanet, reference only)" in plain
    data = as_json("source")
    assert data["text"] == ds.source_text
    assert {s["id"] for s in data["spans"]} == {r.id for r in ds.records()}
    for s in data["spans"]:
        rec = next(r for r in ds.records() if r.id == s["id"])
        assert data["text"][s["start"] : s["end"]] == rec.quote


@pytest.mark.parametrize("key", ["claim-cynk-001-fda-ind", "case-uk-lymphoma-helen"])
def test_source_claim_json(ds: Dataset, key: str) -> None:
    data = as_json("source", "--claim", key)
    rec = next(r for r in ds.records() if r.id == key)
    assert data["id"] == key
    assert data["quote"] == rec.quote
    assert rec.quote in data["paragraph"]
    assert data["paragraph"] in (ds.source_text or "")
    assert "\n\n" not in data["paragraph"]
    assert (ds.source_text or "")[data["start"] : data["end"]] == rec.quote


def test_source_claim_unknown() -> None:
    result = run("source", "--claim", "claim-car-t-ind-aplications")
    assert result.exit_code == 1
    assert "did you mean 'claim-car-t-ind-applications'" in result.stderr


# --- validate -----------------------------------------------------------------------------


def test_validate_ok(ds: Dataset) -> None:
    data = as_json("validate")
    assert data["ok"] is True
    assert data["claims"] == len(ds.claims)
    assert data["uncovered_paragraphs"] == []
    plain = ok("validate").stdout
    assert "\tok\t" in plain


def test_validate_broken_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "schema: 2\nsource:\n  id: src-x\n  title: T\n  publisher: P\n  colour: red\n",
        encoding="utf-8",
    )
    result = run("validate", str(bad))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert re.search(rf"{re.escape(str(bad))}:6: source\.colour: unknown field", result.stderr)


def test_validate_reports_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "schema: 2\nsource:\n  id: src-x\n  title: T\n  publisher: P\n"
        "claims:\n  - id: BAD ID\n  - id: claim-x\n    kind: rumour\n",
        encoding="utf-8",
    )
    result = run("validate", str(bad))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    # every missing field of both claims, the bad id and the bad kind, in line order
    assert len(lines) == 9
    assert all(line.startswith(f"immunofacts: error: {bad}:") for line in lines)
    assert any(":7: claims[0].id: expected an id" in line for line in lines)
    assert (
        f"{bad}:9: claims[1].kind: expected one of statistic, research, regulatory, clinical, policy, background, prediction, opinion, promotion; got 'rumour'"
        in lines[-1]
    )


def test_validate_missing_file(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_validate_file_with_uncovered_paragraph(tmp_path: Path, copy: Path) -> None:
    article = copy.parent / "article.txt"
    text = article.read_text(encoding="utf-8")
    article.write_text(
        text + "\nA brand new paragraph that no claim of the dataset quotes at all.\n"
    )
    data = as_json("validate", str(copy))
    assert data["ok"] is True
    assert data["uncovered_paragraphs"] == [
        "A brand new paragraph that no claim of the dataset quotes at all."
    ]


# --- --data and IMMUNOFACTS_DATA ----------------------------------------------------------


def titles(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [c["title"] for c in json.loads(result.stdout)]


def test_data_option_selects_a_dataset(copy: Path) -> None:
    assert "COPY MARKER case" not in titles(run("list-cases", "--format", "json"))
    assert "COPY MARKER case" in titles(run("list-cases", "--data", str(copy), "-f", "json"))
    assert "COPY MARKER case" in titles(run("list-cases", "-d", str(copy), "-f", "json"))


def test_env_selects_a_dataset(copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMMUNOFACTS_DATA", str(copy))
    assert "COPY MARKER case" in titles(run("list-cases", "--format", "json"))
    # --data wins over the environment
    assert "COPY MARKER case" not in titles(run("list-cases", "--data", str(DATA), "-f", "json"))
    data = as_json("validate")
    assert data["file"] == str(copy)


def test_data_missing_file_is_an_error(tmp_path: Path) -> None:
    result = run("list-claims", "--data", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "missing.yaml: no such file" in result.stderr


# --- export -------------------------------------------------------------------------------


CR = ("export", "-f", "claimreview", "--author", "Fact Desk", "--url-template")


def test_export_claimreview(ds: Dataset) -> None:
    result = run(*CR, "https://x.test/c/{id}", "--date", "2024-05-06")
    assert result.exit_code == 0, result.stderr
    reviews = json.loads(result.stdout)
    rated = [c for c in ds.claims if c.review and c.review.rating.score is not None]
    assert [o["url"] for o in reviews] == [f"https://x.test/c/{c.id}" for c in rated]
    for obj in reviews:
        assert obj["@type"] == "ClaimReview"
        assert obj["author"] == {"@type": "Organization", "name": "Fact Desk"}
        assert obj["datePublished"] == "2024-05-06"


def test_export_claimreview_chooses_claims_and_dates_today() -> None:
    result = run(*CR, "https://x.test/{id}", "--claim", "claim-barouch")
    assert result.exit_code == 0, result.stderr
    reviews = json.loads(result.stdout)
    assert [o["url"] for o in reviews] == ["https://x.test/claim-barouch-macaque-protection"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", reviews[0]["datePublished"])


@pytest.mark.parametrize("template", ["urn:immunofacts:{id}", "example.org/{id}"])
def test_export_claimreview_refuses_a_non_web_url(template: str) -> None:
    result = run(*CR, template)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "not an http(s) address" in result.stderr
    allowed = run(*CR, template, "--allow-non-web-url")
    assert allowed.exit_code == 0
    assert "warning: url" in allowed.stderr and "not a web address" in allowed.stderr


def test_export_claimreview_needs_author_and_template() -> None:
    for args in (["--author", "X"], ["--url-template", "https://x.test/{id}"]):
        result = run("export", "-f", "claimreview", *args)
        assert result.exit_code == 2
        assert "--author NAME" in result.stderr and "--url-template" in result.stderr


def test_export_claimreview_chooses_claims_by_the_list_filters(ds: Dataset) -> None:
    result = run(
        *CR, "https://x.test/{id}", "--rating", "mostly-accurate", "--evidence", "peer-reviewed"
    )
    assert result.exit_code == 0, result.stderr
    want = [
        c.id
        for c in ds.claims
        if c.review
        and c.review.rating.value == "mostly-accurate"
        and c.evidence.value == "peer-reviewed"
    ]
    assert want
    assert [o["url"].rsplit("/", 1)[1] for o in json.loads(result.stdout)] == want
    bib = run("export", "-f", "bibtex", "--entity", "Dan Barouch")
    assert bib.exit_code == 0 and "10.1038/s41586-020-03041-6" in bib.stdout
    assert "10.1016/S2213-2600" not in bib.stdout


def test_export_claim_choice_is_for_claimreview_and_citations() -> None:
    result = run("export", "-f", "json", "--claim", "claim-barouch")
    assert result.exit_code == 2
    assert "--claim and the filters choose claims for" in result.stderr
    filtered = run("export", "-f", "csv", "--rating", "accurate")
    assert filtered.exit_code == 2


def test_export_bad_date_is_usage() -> None:
    result = run(*CR, "https://x.test/{id}", "--date", "yesterday")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_export_json_yaml_csv_parse(ds: Dataset) -> None:
    data = json.loads(ok("export", "--format", "json").stdout)
    assert len(data["claims"]) == len(ds.claims)
    assert data["schema"] == 2
    assert yaml.safe_load(ok("export", "--format", "yaml").stdout) == data
    rows = list(csv.DictReader(io.StringIO(ok("export", "--format", "csv").stdout)))
    assert [r["id"] for r in rows] == [c.id for c in ds.claims]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_round_trips(
    tmp_path: Path, ds: Dataset, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ARTICLE, tmp_path / "article.txt")
    out = tmp_path / f"export.{fmt}"
    result = run("export", "--format", fmt, "--output", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr
    # The export leads back to the article, outside its own directory: allowed when asked.
    # (The shipped article, wherever it is installed: the checkout's data/ or the wheel's.)
    monkeypatch.setenv("IMMUNOFACTS_TEXT_DIRS", str(bundled_data_path().parent))
    back = load_dataset(out)
    # source.text is rewritten to lead from the export to the same article
    assert back.source_text == ds.source_text
    assert back == msgspec.structs.replace(
        ds, source=msgspec.structs.replace(ds.source, text=back.source.text)
    )


def test_export_output_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text("precious\n", encoding="utf-8")
    result = run("export", "--output", str(out))
    assert result.exit_code == 2  # README: an existing --output without --force is usage
    assert "--force" in result.stderr
    assert out.read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary left
    forced = run("export", "--output", str(out), "--force")
    assert forced.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["schema"] == 2


def test_export_output_into_missing_directory(tmp_path: Path) -> None:
    result = run("export", "--output", str(tmp_path / "no" / "such" / "dir.json"))
    assert result.exit_code == 1
    assert "cannot write" in result.stderr


# --- every format of every view -----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("args", VIEW_COMMANDS, ids=[" ".join(a) for a in VIEW_COMMANDS])
def test_every_format(args: list[str], fmt: str) -> None:
    result = run(*args, "--format", fmt, env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert out.endswith("\n") and out.strip()
    assert "\x1b" not in out  # not a terminal, no FORCE_COLOR: no colour
    if fmt == "json":
        assert isinstance(json.loads(out), list | dict)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert len(rows) >= 2
        assert len({len(r) for r in rows}) == 1  # every row as wide as the header
    elif fmt == "markdown":
        assert out.startswith(("## ", "| "))
    elif fmt == "plain":
        assert not BOX.search(out)
    elif fmt == "table":
        assert "\t" not in out  # a Rich table or cards, never the plain TSV lines


@pytest.mark.parametrize(
    "args", [["list-claims"], ["show-case", "case-hong"], ["timeline"], ["entities", "nhs"]]
)
def test_default_format_when_piped_is_plain(args: list[str]) -> None:
    assert ok(*args).stdout == ok(*args, "--format", "plain").stdout


def test_format_is_case_insensitive_and_checked() -> None:
    assert ok("list-cases", "-f", "JSON").stdout == ok("list-cases", "-f", "json").stdout
    result = run("list-cases", "--format", "xml")
    assert result.exit_code == 2
    assert "xml" in result.stderr


def test_plain_is_untruncated(ds: Dataset) -> None:
    """Piped output never cuts text, whatever COLUMNS says."""
    result = run("list-claims", env={"COLUMNS": "30"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for c in ds.claims:
        assert " ".join(c.statement.split()) in out


def test_plain_neutralises_control_characters(copy: Path) -> None:
    text = copy.read_text(encoding="utf-8")
    copy.write_text(
        text.replace("title: COPY MARKER case", 'title: "evil \\e[31mred\\u202e"'),
        encoding="utf-8",
    )
    for fmt in ("plain", "table", "markdown"):
        result = run("list-cases", "--data", str(copy), "--format", fmt)
        assert result.exit_code == 0
        assert "\x1b" not in result.stdout
        assert "\u202e" not in result.stdout


# --- real processes -----------------------------------------------------------------------


def _subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMMUNOFACTS")}
    env.pop("COLUMNS", None)
    return env


def test_python_dash_m_outside_the_checkout(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "immunofacts", "list-cases", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_subprocess_env(),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 3
    assert proc.stderr == ""


def test_python_dash_m_error_exit_code(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "immunofacts", "show-claim", "claim-nope-nope"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_subprocess_env(),
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("immunofacts: error: no claim with id 'claim-nope-nope'")
    assert "Traceback" not in proc.stderr


def test_validate_in_a_process_of_its_own_writes_everything_and_leaves_a_cache(
    tmp_path: Path,
) -> None:
    # validate leaves the process without freeing the dataset: its output, its exit
    # status and the cache it built must all be complete all the same.
    env = {**_subprocess_env(), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    command = [sys.executable, "-m", "immunofacts", "validate", str(DATA)]
    proc = subprocess.run(
        [*command, "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True
    assert proc.stderr == ""
    caches = list((tmp_path / "xdg").rglob("*.sqlite"))
    assert len(caches) == 1 and not list((tmp_path / "xdg").rglob("*.tmp"))
    warm = subprocess.run(
        [
            sys.executable,
            "-m",
            "immunofacts",
            "list-cases",
            "--data",
            str(DATA),
            "--format",
            "json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert warm.returncode == 0, warm.stderr
    assert len(json.loads(warm.stdout)) == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims: 3\n")
    failed = subprocess.run(
        [sys.executable, "-m", "immunofacts", "validate", str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr and failed.stderr.strip()


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "immunofacts"
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable}")
    version = subprocess.run(
        [str(script), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0
    assert version.stdout == f"immunofacts {__version__}\n"
    search = subprocess.run(
        [str(script), "search", "rhesus"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_subprocess_env(),
        timeout=60,
    )
    assert search.returncode == 0, search.stderr
    assert search.stdout.startswith("id\tkind\tevidence\t")
    assert search.stdout.splitlines()[1].startswith("claim-barouch-macaque-protection\t")
    assert not BOX.search(search.stdout)  # piped: plain


# --- --fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv", "plain"])
def test_fields_choose_the_fields_of_each_item(ds: Dataset, fmt: str) -> None:
    out = ok("list-claims", "--fields", "id,review.rating,evidence", "--format", fmt).stdout
    want = [
        {
            "id": c.id,
            "review.rating": c.review.rating.value if c.review else None,
            "evidence": c.evidence.value,
        }
        for c in ds.claims
    ]
    if fmt == "json":
        assert json.loads(out) == want
        return
    rows = (
        list(csv.reader(io.StringIO(out)))
        if fmt == "csv"
        else [line.split("\t") for line in out.splitlines()]
    )
    assert rows[0] == ["id", "review.rating", "evidence"]
    assert rows[1:] == [[w["id"], w["review.rating"] or "", w["evidence"]] for w in want]


@pytest.mark.parametrize("fmt", ["table", "csv", "plain", "markdown", "json"])
@pytest.mark.parametrize(
    ("command", "fields"),
    [
        (["list-cases"], "rating,review.rating,id,rating"),
        (["list-claims"], "id,id"),
        (["search", "bank"], "score,id,score"),
        (["timeline"], "date,date"),
    ],
)
def test_a_field_named_twice_is_shown_once(command: list[str], fields: str, fmt: str) -> None:
    """`rating` and `review.rating` name one field: asked for twice, it was two headers
    over one cell (CSV rows short of their header; a traceback in a table)."""
    once = ",".join(dict.fromkeys(f.replace("review.", "") for f in fields.split(",")))
    got = run(*command, "--fields", fields, "--format", fmt, env={"COLUMNS": "200"})
    want = run(*command, "--fields", once, "--format", fmt, env={"COLUMNS": "200"})
    assert got.exit_code == 0, got.output
    assert got.stdout == want.stdout and got.stdout
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(got.stdout)))
        assert len({len(r) for r in rows}) == 1 and len(rows[0]) == once.count(",") + 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["list-claims", "--entity", ""], "--entity: empty"),
        (["list-claims", "--entity", "CAR-T", "--entity", " "], "--entity: empty"),
        (["export", "--format", "bibtex", "--entity", ""], "--entity: empty"),
        (["export", "--format", "claimreview", "--entity", "\t"], "--entity: empty"),
        (["list-claims", "--fields", ""], "--fields names no field"),
        (["entities", "--fields", " "], "--fields names no field"),
    ],
)
def test_an_empty_filter_is_refused_not_taken_for_none(args: list[str], said: str) -> None:
    """`--entity "$UNSET"` answered for every claim, and `--fields ""` showed every
    column, where `--data ""` is refused: an empty value is a mistake, said as one."""
    result = run(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"immunofacts: error: {said}" in result.stderr


def test_an_unknown_field_lists_the_valid_ones() -> None:
    result = run("search", "lupus", "--fields", "id,colour")
    assert result.exit_code == 2
    assert "unknown field 'colour'" in result.stderr
    assert "valid fields: id, type, kind, evidence, review" in result.stderr
    one = run("show-claim", "claim-barouch", "--fields", "id")
    assert one.exit_code == 2  # --fields is for lists


def test_root_flags_after_the_command_are_read_as_root_flags() -> None:
    from immunofacts.cli import hoist_root_flags

    assert hoist_root_flags(["list-claims", "--no-pager", "-f", "csv", "--raw"]) == [
        "--no-pager",
        "--raw",
        "list-claims",
        "-f",
        "csv",
    ]
    # After "--" they are words to search for, not flags.
    assert hoist_root_flags(["search", "--", "--raw"]) == ["search", "--", "--raw"]
    assert hoist_root_flags(["--raw", "list-claims"]) == ["--raw", "list-claims"]
    # The value of an option that takes one stays with it, whatever it looks like.
    valued = {"--author", "-f", "--format"}
    assert hoist_root_flags(["export", "--author", "--raw", "--no-pager"], valued) == [
        "--no-pager",
        "export",
        "--author",
        "--raw",
    ]
    assert hoist_root_flags(["export", "-f", "--no-pager", "--raw"], valued) == [
        "--raw",
        "export",
        "-f",
        "--no-pager",
    ]
    assert hoist_root_flags(["export", "--author", "--", "--raw"], valued) == [
        "--raw",
        "export",
        "--author",
        "--",
    ]


def test_an_option_value_that_looks_like_a_root_flag_is_the_value(tmp_path: Path) -> None:
    out = tmp_path / "reviews.json"
    url = "https://example.org/reviews/{id}"
    result = run("export", "-f", "claimreview", "--author", "--raw", "--url-template", url,
                 "-o", str(out), "--raw")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert '"name": "--raw"' in out.read_text(encoding="utf-8")


def test_show_stats_puts_each_claims_source_line_after_its_own_figures(tmp_path: Path) -> None:
    from immunofacts.loading import dump_yaml

    claims = [
        {"id": f"claim-{name}", "kind": "statistic", "statement": "s", "quote": "q",
         "evidence": "unsourced",
         "figures": [{"label": f"{name} {i}", "value": i, "unit": "u"} for i in (1, 2)]}
        for name in ("first", "second")
    ]  # fmt: skip
    ds = {"schema": 2, "source": {"id": "src", "title": "T", "publisher": "P"}, "claims": claims}
    path = tmp_path / "d.yaml"
    path.write_text(dump_yaml(ds), encoding="utf-8")
    result = CliRunner().invoke(app, ["show-stats", "--format", "plain", "--data", str(path)])
    assert result.exit_code == 0, result.stderr
    lines = [ln.strip() for ln in result.stdout.splitlines()]
    at = lines.index("The article's figures:")
    got = [
        ln.split(" — ")[-1] if " — " in ln else ln.split(":")[0] for ln in lines[at + 1 : at + 7]
    ]
    assert got == ["first 1", "first 2", "from claim-first", "second 1", "second 2",
                   "from claim-second"]  # fmt: skip


FIELDS_COMMANDS = {
    "list-cases": [],
    "list-claims": [],
    "search": ["bank"],
    "timeline": [],
    "entities": [],
    "labels": [],
}


@pytest.mark.parametrize("command", sorted(FIELDS_COMMANDS))
def test_the_fields_example_in_each_help_works_as_written(command: str) -> None:
    runner = CliRunner()
    page = runner.invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert page.exit_code == 0
    example = re.search(r"e\.g\. ([\w.,]+);", " ".join(page.stdout.split()))
    assert example, page.stdout
    fields = example.group(1)
    result = runner.invoke(
        app, [command, *FIELDS_COMMANDS[command], "--fields", fields, "-f", "csv"]
    )
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split(",")
    assert [h.rsplit(".", 1)[-1] for h in header] == [
        f.rsplit(".", 1)[-1] for f in fields.split(",")
    ], header


def test_a_field_named_as_its_column_is_the_nested_field_it_ends() -> None:
    result = CliRunner().invoke(app, ["list-claims", "--fields", "id,rating,verdict", "-f", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert list(rows[0]) == ["id", "review.rating", "review.verdict"]
    assert {r["review.rating"] for r in rows} >= {"misleading", "not-a-fact"}
    # A name two fields end in is not guessed: the error lists the valid ones.
    result = CliRunner().invoke(app, ["list-claims", "--fields", "id,nope"])
    assert result.exit_code == 2 and "valid fields:" in result.output


def test_the_timeline_is_grouped_as_its_help_says() -> None:
    runner = CliRunner()
    page = runner.invoke(app, ["timeline", "--help"], env={"COLUMNS": "200"})
    assert "grouped by year" in page.stdout
    out = runner.invoke(app, ["timeline", "-f", "table"], env={"COLUMNS": "100"}).stdout
    headings = [line.strip("│ ") for line in out.splitlines() if re.fullmatch(r"│ \d{4} +│", line)]
    assert headings == sorted(set(headings)) and len(headings) >= 3, out


@pytest.mark.parametrize(
    ("terms", "why"),
    [
        (["bank", "zzqx"], "nothing matches 'bank zzqx': 'zzqx' matches no word of the dataset"),
        (["zzqx", "qqzx"], "'zzqx', 'qqzx' match no word of the dataset"),
        (["bank", "lupus"], "nothing matches 'bank lupus': each word is found, but no record"),
        (["bank", "--kind", "statistic"], "no record has it with the labels asked for"),
        (
            ['"lymphoma lupus"'],  # both words are in records, never side by side
            "each word is found, but no record has them all"
            ' with "lymphoma lupus" as written (side by side, in that order)',
        ),
        (["--", "lupus", "-lupus"], 'each word is found, but no record has it without "lupus"'),
        (
            ["--kind", "statistic", "--", "bank", "lupus", "-zzqx"],
            'no record has them all without "zzqx" with the labels asked for',
        ),
    ],
)
def test_search_that_finds_nothing_says_why(terms: list[str], why: str) -> None:
    for _ in ("cold", "warm"):  # from the file, then from its cache
        result = run("search", *terms)
        assert result.exit_code == 1
        assert why in result.stderr, result.stderr


def test_a_hit_only_in_its_review_shows_the_words_around_the_match() -> None:
    # Piped, whole: the part of the review the match is in (here, its note), uncut.
    result = run("search", "mice", "--format", "plain", "--no-header")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all("(matched in review: " in line for line in lines), lines
    for line in lines:
        around = line.split("(matched in review: ", 1)[1]
        assert "mice" in around and "…" not in around and "\n" not in around, around
    # On a terminal, the words around the match, cut and marked.
    out = CliRunner().invoke(app, ["search", "mice", "-f", "table"], env={"COLUMNS": "100"})
    flat = " ".join(out.stdout.split())
    assert flat.count("(matched in review: …") == 2, flat
    assert flat.count("⟦mice⟧") == 2, flat  # the match marked, as in the text shown


@pytest.mark.parametrize("fmt", ["claimreview", "csl-json", "bibtex", "ris"])
def test_an_export_whose_filters_choose_no_claim_says_so_and_exits_1(fmt: str) -> None:
    extra = ["--date", "2026-01-01", "--author", "X", "--url-template", "https://x.org/{id}"]
    args = ["export", "--format", fmt, "--year", "1999", *(extra if fmt == "claimreview" else [])]
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "no claims match those filters" in result.stderr
    if fmt in ("claimreview", "csl-json"):
        assert json.loads(result.stdout) == []  # still the format's empty list
    chosen = run(*[a if a != "1999" else "2020" for a in args])
    assert chosen.exit_code == 0 and chosen.stdout.strip()


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("list-cases", "this dataset has no cases"),
        ("list-claims", "this dataset has no claims"),
        ("entities", "this dataset has no entities"),
        ("timeline", "this dataset has no dated events"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "csv", "plain"])
def test_a_list_of_nothing_says_so(tmp_path: Path, command: str, said: str, fmt: str) -> None:
    data = tmp_path / "empty.yaml"
    data.write_text(
        "schema: 2\nsource:\n  id: src-x\n  title: T\n  publisher: P\n", encoding="utf-8"
    )
    for _ in ("cold", "warm"):
        result = run(command, "--data", str(data), "--format", fmt)
        assert result.exit_code == 1, result.stderr
        assert result.stderr == f"immunofacts: {said}\n"
        if fmt == "json":
            assert json.loads(result.stdout) == []


@pytest.mark.parametrize(
    ("since", "until", "code"),
    [
        ("2021", "2020", 2),
        ("2020-07", "2020-06-30", 2),
        ("2020-06", "2020-06-30", 0),
        ("2020", "2020", 0),
    ],
)
def test_timeline_refuses_a_range_that_ends_before_it_starts(
    since: str, until: str, code: int
) -> None:
    result = run("timeline", "--since", since, "--until", until, "-f", "json")
    if not code:  # a range, with events in it or none
        assert result.exit_code in (0, 1) and "is after" not in result.stderr
        return
    assert result.exit_code == code, result.stderr
    if code:
        assert result.stderr == (
            f"immunofacts: error: --since {since} is after --until {until}: no date is in that range\n"
        )


def test_an_entity_not_found_says_how_it_was_looked_for_and_where_to_list_them() -> None:
    result = run("entities", "nobody-at-all-here")
    assert result.exit_code == 1
    assert result.stderr == (
        "immunofacts: error: no entity with id, name or alias 'nobody-at-all-here';"
        " list them with `immunofacts entities`\n"
    )
