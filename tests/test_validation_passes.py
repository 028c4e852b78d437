"""The one-pass checks of validation answer "all is well" only when the record-by-record
checks, which say what is wrong and where, find nothing."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from immunofacts.loading import (
    _calendar_dates,
    _check_references,
    _dates_on_calendar,
    _non_finite,
    _numbers_finite,
    _references_hold,
    _references_hold_typed,
    load_dataset,
    parse_yaml,
)
from immunofacts.model import Case, Claim
from immunofacts.paths import bundled_data_path

IDS = st.sampled_from(["a", "b", "c", "d"])
REF = st.one_of(IDS, IDS, st.integers(0, 2), st.none(), st.just(True), st.lists(IDS, max_size=1))
REFS = st.one_of(st.lists(REF, max_size=3), st.lists(IDS, max_size=3), st.none(), IDS, st.just({}))


def _record(fields: dict[str, Any]) -> st.SearchStrategy[Any]:
    record = st.fixed_dictionaries({"id": REF}, optional=fields)
    return st.one_of(record, record, record, st.none(), IDS, st.just({}))


SECTION: st.SearchStrategy[Any] = st.one_of(st.none(), IDS, st.just({}))
RAW = st.fixed_dictionaries(
    {},
    optional={
        "entities": st.one_of(st.lists(_record({}), max_size=4), SECTION),
        "claims": st.one_of(st.lists(_record({"entities": REFS}), max_size=4), SECTION),
        "cases": st.one_of(
            st.lists(
                _record({"entities": REFS, "hospital": REF, "claims": REFS}),
                max_size=3,
            ),
            SECTION,
        ),
    },
)


@settings(max_examples=400, deadline=None)
@given(RAW)
def test_references_hold_only_when_no_reference_is_wrong(raw: dict[str, Any]) -> None:
    found: list[Any] = []
    _check_references(raw, lambda path, what: found.append((path, what)))
    if _references_hold(raw):
        assert found == []


def test_references_hold_on_the_shipped_dataset() -> None:
    raw, _ = parse_yaml(bundled_data_path().read_text(encoding="utf-8"), "d.yaml")
    assert _references_hold(raw)
    ds = load_dataset()
    assert _references_hold_typed(list(ds.entities), list(ds.claims), list(ds.cases))
    raw["cases"][0]["claims"].append("no-such-claim")
    assert not _references_hold(raw)
    assert not _references_hold_typed(
        list(ds.entities), list(ds.claims), [msgspec.convert(raw["cases"][0], Case)]
    )
    twice = [*ds.claims, ds.claims[0]]
    assert not _references_hold_typed(list(ds.entities), twice, [])
    assert not _references_hold_typed([], list(ds.claims), [])


DATE = st.sampled_from(["2020", "2020-02", "2020-02-29", "2021-02-29", "2020-13-01", None])
NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**15), 10**15))


SHIPPED, _ = parse_yaml(bundled_data_path().read_text(encoding="utf-8"), "d.yaml")


def _convert(value: dict[str, Any], cls: type[Claim] | type[Case]) -> Any:
    try:
        return msgspec.convert(value, cls)
    except msgspec.ValidationError:
        assume(False)


# Many generated records are refused by the record checks themselves and skipped
# (`assume`): hypothesis's health check counts that as filtering too much, at random.
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(
    st.lists(st.tuples(DATE, st.lists(st.tuples(NUMBER, DATE), max_size=2)), max_size=3),
    st.lists(st.lists(st.tuples(NUMBER, NUMBER, DATE), max_size=2), max_size=2),
)
def test_one_pass_date_and_number_checks_agree_with_the_record_checks(
    claim_parts: list[Any], case_parts: list[Any]
) -> None:
    claim, case = SHIPPED["claims"][0], SHIPPED["cases"][0]
    claims = [
        _convert(
            {
                **claim,
                "date": date,
                "figures": [{"label": "l", "value": v, "date": d} for v, d in figures],
            },
            Claim,
        )
        for date, figures in claim_parts
    ]
    cases = [
        _convert(
            {
                **case,
                "measurements": [
                    {"label": "l", "before": b, "after": a, "unit": "u", "date": d}
                    for b, a, d in ms
                ],
            },
            Case,
        )
        for ms in case_parts
    ]
    records: list[Claim | Case] = [*claims, *cases]
    bad_dates = [d for r in records for d in _calendar_dates(r, (), set())]
    bad_numbers = [n for r in records for n in _non_finite(r)]
    assert _dates_on_calendar(claims, cases, set()) == (not bad_dates)
    if _numbers_finite(claims, cases):
        assert bad_numbers == []
    else:
        big = sum(abs(float(v)) for r in records for v in _numbers_of(r)) > 1e300
        assert bad_numbers or big


def _numbers_of(rec: Claim | Case) -> list[float]:
    if isinstance(rec, Claim):
        return [f.value for f in rec.figures]
    return [x for m in rec.measurements for x in (m.before, m.after)]
