"""Forgiving input: ids in any case, unique prefixes, repeated filters, errors that say what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from immunofacts.cli import app
from immunofacts.errors import NotFoundError
from immunofacts.loading import load_dataset
from immunofacts.model import ClaimKind, Dataset, Evidence, Verdict
from immunofacts.query import filter_claims, find_case, find_claim, keeps

DATA = Path(__file__).resolve().parent.parent / "data" / "immunofacts.yaml"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


# --- ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["HONG", "hong", "Case-Hong-Kong-Singer", "CASE-HONG"])
def test_case_ids_in_any_case_and_by_prefix(ds: Dataset, key: str) -> None:
    assert find_case(ds, key).id == "case-hong-kong-singer"


@pytest.mark.parametrize("key", ["CLAIM-CAR-T-IND-APPLICATIONS", "car-t-ind", "Claim-Car-T-Ind"])
def test_claim_ids_in_any_case_and_by_prefix(ds: Dataset, key: str) -> None:
    assert find_claim(ds, key).id == "claim-car-t-ind-applications"


def test_an_ambiguous_prefix_lists_the_candidates_in_any_case(ds: Dataset) -> None:
    with pytest.raises(NotFoundError, match="matches .* claim ids"):
        find_claim(ds, "CLAIM-")


def test_a_case_id_given_to_show_claim_points_to_show_case(ds: Dataset) -> None:
    with pytest.raises(NotFoundError) as e:
        find_claim(ds, "case-hong-kong-singer")
    assert "is a case" in str(e.value)
    assert "immunofacts show-case case-hong-kong-singer" in str(e.value)


def test_a_claim_prefix_given_to_show_case_points_to_show_claim(ds: Dataset) -> None:
    with pytest.raises(NotFoundError) as e:
        find_case(ds, "car-t-ind")
    assert "immunofacts show-claim claim-car-t-ind-applications" in str(e.value)


def test_show_case_in_capitals_through_the_cli() -> None:
    result = run("show-case", "HONG", "--data", str(DATA), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "case-hong-kong-singer"


def test_show_claim_of_a_case_says_show_case() -> None:
    result = run("show-claim", "case-hong-kong-singer", "--data", str(DATA))
    assert result.exit_code == 1
    assert "show-case" in result.stderr
    assert "Traceback" not in result.stderr


# --- filters -------------------------------------------------------------------------------


def test_repeated_values_of_one_filter_combine_with_or(ds: Dataset) -> None:
    one = {c.id for c in filter_claims(ds, verdict=Verdict.CONFIRMED)}
    other = {c.id for c in filter_claims(ds, verdict=Verdict.REPORTED)}
    both = {c.id for c in filter_claims(ds, verdict=[Verdict.CONFIRMED, Verdict.REPORTED])}
    assert one and other
    assert both == one | other


def test_different_filters_combine_with_and(ds: Dataset) -> None:
    kinds = {c.id for c in filter_claims(ds, kind=ClaimKind.CLINICAL)}
    verdicts = {c.id for c in filter_claims(ds, verdict=[Verdict.CONFIRMED, Verdict.REPORTED])}
    both = {
        c.id
        for c in filter_claims(
            ds, kind=ClaimKind.CLINICAL, verdict=[Verdict.CONFIRMED, Verdict.REPORTED]
        )
    }
    assert both == kinds & verdicts
    assert both != verdicts


def test_keeps_treats_a_case_as_having_no_kind(ds: Dataset) -> None:
    case = ds.cases[0]
    assert keeps(case)
    assert not keeps(case, kind=[ClaimKind.CLINICAL, ClaimKind.STATISTIC])
    assert keeps(case, evidence=[case.evidence, Evidence.OPINION])


def test_repeated_options_on_the_command_line_are_all_kept(ds: Dataset) -> None:
    result = run(
        "list-claims",
        "--verdict",
        "confirmed",
        "--verdict",
        "reported",
        "--data",
        str(DATA),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    got = {c["review"]["verdict"] for c in json.loads(result.stdout)}
    assert got == {"confirmed", "reported"}


def test_repeated_years_and_entities(ds: Dataset) -> None:
    result = run(
        "list-claims", "--year", "2020", "--year", "2021", "--data", str(DATA), "-f", "json"
    )
    years = {c["date"][:4] for c in json.loads(result.stdout)}
    assert years == {"2020", "2021"}
    lancet = {c.id for c in filter_claims(ds, entity="Lancet")}
    cynk = {c.id for c in filter_claims(ds, entity="ent-celularity")}
    assert lancet and cynk
    assert {c.id for c in filter_claims(ds, entity=["Lancet", "ent-celularity"])} == lancet | cynk


def test_repeated_filters_in_search() -> None:
    result = run(
        "search", "cell", "--evidence", "opinion", "--evidence", "unsourced", "--data", str(DATA)
    )
    assert result.exit_code == 0, result.stderr
    result = run(
        "search",
        "cell",
        "--evidence",
        "opinion",
        "--evidence",
        "unsourced",
        "--data",
        str(DATA),
        "-f",
        "json",
    )
    assert {h["evidence"] for h in json.loads(result.stdout)} == {"opinion", "unsourced"}


# --- IMMUNOFACTS_DATA ------------------------------------------------------------------------


def test_an_error_in_the_dataset_named_by_the_variable_names_the_variable(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing.yaml")
    result = run("list-cases", env={"IMMUNOFACTS_DATA": missing})
    assert result.exit_code == 1
    assert "IMMUNOFACTS_DATA" in result.stderr
    assert missing in result.stderr


def test_an_error_in_a_dataset_given_with_data_does_not_blame_the_variable(
    tmp_path: Path,
) -> None:
    missing = str(tmp_path / "nothing.yaml")
    result = run("list-cases", "--data", missing)
    assert result.exit_code == 1
    assert "IMMUNOFACTS_DATA" not in result.stderr
