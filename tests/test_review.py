"""What a reader needs in order not to over-trust a claim, and the options that find them."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunofacts.cli import app
from immunofacts.errors import DataError
from immunofacts.loading import load_dataset, parse_dataset
from immunofacts.model import NOT_REVIEWED, Verdict
from immunofacts.paths import bundled_data_path
from immunofacts.query import search

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def as_json(*args: str) -> object:
    code, out, err = run(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_the_singers_death_shows_in_the_case_list_and_the_timeline() -> None:
    code, out, _ = run("list-cases", "--format", "plain")
    assert code == 0
    singer = next(line for line in out.splitlines() if line.startswith("case-hong-kong-singer"))
    assert "Later (outside the article): News reports give her death on 4 May 2021" in singer
    events = as_json("timeline", "--since", "2021")
    assert isinstance(events, list)
    later = [e for e in events if e["type"] == "later"]
    assert ("2021-05-04", "case-hong-kong-singer") in [(e["date"], e["id"]) for e in later]


def test_headline_figures_say_what_backs_them() -> None:
    stats = as_json("show-stats")
    assert isinstance(stats, dict)
    for figure in stats["figures"]:
        assert (figure["evidence"], figure["review"]["verdict"]) == ("unsourced", "unconfirmed")
    code, out, _ = run("show-stats", "--format", "plain")
    assert code == 0
    assert "more than 50 CAR-T IND applications — CAR-T cell clinical IND" in out
    assert "from claim-car-t-ind-applications: unsourced, unconfirmed" in out


def test_claimreview_explains_the_rating_in_a_sentence_or_two() -> None:
    code, out, _ = run(
        "export",
        "--format",
        "claimreview",
        "--date",
        "2026-01-01",
        "--author",
        "X",
        "--url-template",
        "https://x.test/{id}",
    )
    assert code == 0
    reviews = {r["url"].rsplit("/", 1)[-1]: r for r in json.loads(out)}
    noti = reviews["claim-noti-abdominal-fat-study"]["reviewRating"]
    assert noti["ratingExplanation"]
    assert "'" + "." not in noti["ratingExplanation"]  # no Python repr quoting
    assert not any(key.startswith("case-") for key in reviews)


def test_export_csv_tables_carry_later(tmp_path: Path) -> None:
    code, _, err = run("export", "--format", "csv", "--output", str(tmp_path / "t"))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "t" / "developments.csv").read_text())))
    singer = [r for r in rows if r["case_id"] == "case-hong-kong-singer"]
    assert any("death" in r["description"] for r in singer)


def test_no_verdict_is_stronger_than_a_news_story_for_the_patient_stories() -> None:
    cases = as_json("list-cases")
    assert isinstance(cases, list)
    assert {c["review"]["verdict"] for c in cases} == {"reported"}
    assert {c["evidence"] for c in cases} <= {"news-report", "patient-report"}


def test_claims_name_only_entities_the_article_names_or_identifies() -> None:
    ds = load_dataset(DATA)
    names = {e.id: (e.name, *e.aliases) for e in ds.entities}
    text = (ds.source_text or "").casefold()
    unnamed = {eid for eid, ns in names.items() if not any(n.casefold() in text for n in ns)}
    # The only one the article does not name is the singer, identified by news reports.
    assert unnamed == {"ent-sarena-li-ming-wai"}


@pytest.mark.parametrize("verdict", [*Verdict, NOT_REVIEWED])
def test_verdict_filter_takes_every_verdict_and_not_reviewed(verdict: str) -> None:
    """The filter's values come from the model: a verdict added there is a filter value."""
    result = CliRunner().invoke(app, ["list-claims", "--verdict", verdict, "--format", "json"])
    assert result.exit_code in (0, 1), result.stderr  # 1: no claim has it
    assert all(
        (c["review"] or {}).get("verdict", NOT_REVIEWED) == verdict
        for c in json.loads(result.stdout)
    )


def test_list_claims_and_search_filter_by_verdict() -> None:
    code, _, err = run("list-claims", "--verdict", "not-reviewed")
    assert code == 1 and "no claims match" in err  # every claim is reviewed
    opinions = as_json("list-claims", "--verdict", "not-checkable")
    assert isinstance(opinions, list) and opinions
    assert {c["review"]["rating"] for c in opinions} == {"not-a-fact"}
    hits = as_json("search", "singer", "--verdict", "reported")
    assert isinstance(hits, list) and hits
    assert {h["review"]["verdict"] for h in hits} == {"reported"}


@pytest.mark.parametrize(
    ("option", "value"),
    [("--since", "2020-02-31"), ("--until", ""), ("--since", "2020-13")],
)
def test_timeline_rejects_impossible_dates(option: str, value: str) -> None:
    code, out, err = run("timeline", option, value)
    assert code == 2
    assert option in err


def test_export_rejects_an_impossible_review_date() -> None:
    code, _, err = run(
        "export",
        "--format",
        "claimreview",
        "--date",
        "2026-02-30",
        "--author",
        "X",
        "--url-template",
        "https://x.test/{id}",
    )
    assert code == 2
    assert "not a calendar date" in err


def test_piped_search_shows_whole_statements() -> None:
    code, out, _ = run("search", "lupus", "--format", "plain")
    assert code == 0
    assert "…" not in out
    assert "which the article calls a clinical cure of the lupus" in out


def test_search_only_in_an_id_still_shows_the_statement() -> None:
    code, out, _ = run("search", "banking", "--format", "plain")
    assert code == 0
    assert "(matched in id" in out


def test_search_in_chinese_matches_inside_a_run_of_characters() -> None:
    text = (
        "schema: 2\nsource: {id: src-x, title: T, publisher: P}\n"
        "claims:\n  - {id: claim-a, kind: opinion, statement: 储存免疫细胞越来越流行,"
        " quote: q, evidence: opinion}\n"
    )
    ds = parse_dataset(text, "zh.yaml")
    assert [h.record.id for h in search(ds, ["免疫细胞"])] == ["claim-a"]
    assert search(ds, ["免疫细胞"])[0].matches[0].start == 2


def test_export_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    out = tmp_path / "reviews.jsonld"
    old = os.umask(0o022)
    try:
        code, _, err = run("export", "--format", "json", "--output", str(out))
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_exported_json_loads_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "elsewhere" / "export.json"
    out.parent.mkdir()
    code, _, err = run("export", "--format", "json", "--output", str(out))
    assert code == 0, err
    # Its source text is outside its directory: read only when the user allows it.
    with pytest.raises(DataError, match="IMMUNOFACTS_TEXT_DIRS"):
        load_dataset(out)
    # the shipped article, wherever it is installed: the checkout's data/ or the wheel's
    monkeypatch.setenv("IMMUNOFACTS_TEXT_DIRS", str(bundled_data_path().parent))
    back = load_dataset(out)
    assert back.source_text == load_dataset(DATA).source_text


def test_reference_identifiers_are_checked(tmp_path: Path) -> None:
    text = (
        "schema: 2\nsource: {id: src-x, title: T, publisher: P}\n"
        "claims:\n  - id: claim-a\n    kind: opinion\n    statement: s\n    quote: q\n"
        "    evidence: opinion\n    review:\n      verdict: confirmed\n      references:\n"
        '        - {title: t, doi: "not a doi", url: "javascript:alert(1)", nct: NCT1}\n'
    )
    with pytest.raises(DataError) as err:
        parse_dataset(text, "refs.yaml")
    whats = {p.where.rsplit(".", 1)[-1]: p.what for p in err.value.problems}
    assert whats["doi"].startswith("expected a DOI")
    assert whats["url"].startswith("expected an http")
    assert whats["nct"].startswith("expected a trial id")


def test_a_quote_that_is_not_verbatim_says_where_it_differs(tmp_path: Path) -> None:
    for name in ("immunofacts.yaml", "article.txt"):
        shutil.copy(ROOT / "data" / name, tmp_path / name)
    path = tmp_path / "immunofacts.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("12 of which were approved", "12 of which was approved"))
    code, _, err = run("validate", str(path))
    assert code == 1
    assert "it matches up to '" in err and "12 of which w', then has 'as approved" in err


def test_every_help_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer.main

    monkeypatch.chdir(tmp_path)
    commands = getattr(typer.main.get_command(app), "commands")  # noqa: B009
    for name, command in commands.items():
        example = (command.help or "").split("Example:")[1].strip().splitlines()[0]
        args = shlex.split(example)[1:]
        if name in ("validate", "diff"):  # the example names the reader's own files
            continue
        if name == "browse":  # full-screen: needs a terminal (tests/test_browse.py drives it)
            continue
        code, _, err = run(*args)
        assert code == 0, f"{example}: {err}"
