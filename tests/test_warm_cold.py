"""Warm equals cold: every query command answers the same from the cache as from the file.

The cold run is the reference implementation: it parses the whole dataset and
answers with the pure functions of `query`; the warm run reads only the rows
the command needs from the cache.

Random datasets carry the text that splits words differently in different
tokenisers: combining marks, currency signs, bidi isolates, private use, the
Turkish dotless i, the long s, the Kelvin sign, CJK. Each command runs once
with no cache at all (parsing the file), once building the cache, and once
answered from it; the three outputs must be the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import TIMELINE_KEEPING, timeline_kept
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from immunofacts import cache
from immunofacts.cli import app
from immunofacts.loading import dump_yaml

PIECES = [
    "store", "storing", "storage", "Stored", "lupus", "CAR-T", "car", "t", "cell", "ı", "İ",
    "Diyarbakır", "ſtore", "\u212a", "kelvin", "e\u0301", "café", "cafe\u0301", "₽500", "€",
    "$", "\u2066", "\u2069", "\ue000", "\U000f0000", "细胞", "治疗", "ß", "strasse", "ﬁsh",
    "x²", "½", "-", "—", "'", '"', "_", "1", "2020", "a", "Ω", "ω",
]  # fmt: skip
WORD = st.one_of(st.sampled_from(PIECES), st.text(st.characters(codec="utf-8",
    exclude_categories=["Cs", "Cc"]), min_size=1, max_size=4))  # fmt: skip
TEXT = st.lists(WORD, min_size=1, max_size=6).map(" ".join).filter(lambda t: t.strip() != "")
KINDS = ["statistic", "research", "opinion"]
EVIDENCE = ["unsourced", "news-report", "peer-reviewed"]


@st.composite
def datasets(draw: st.DrawFn) -> dict[str, Any]:
    n_ent = draw(st.integers(0, 2))
    entities = [
        {"id": f"ent-{i}", "name": draw(TEXT), "type": "organisation", "aliases": [draw(TEXT)]}
        for i in range(n_ent)
    ]
    ent_ids = [e["id"] for e in entities]
    claims = []
    for i in range(draw(st.integers(1, 4))):
        claim: dict[str, Any] = {
            "id": f"claim-{i}",
            "kind": draw(st.sampled_from(KINDS)),
            "statement": draw(TEXT),
            "quote": draw(TEXT),
            "evidence": draw(st.sampled_from(EVIDENCE)),
            "date": draw(st.sampled_from(["2020", "2020-06", "2021-01-02"])),
            "entities": draw(st.lists(st.sampled_from(ent_ids), unique=True)) if ent_ids else [],
        }
        if draw(st.booleans()):
            claim["review"] = {"verdict": "reported", "rating": "unsupported", "note": draw(TEXT)}
        claims.append(claim)
    cases = [
        {
            "id": f"case-{i}",
            "title": draw(TEXT),
            "quote": draw(TEXT),
            "patient": {"description": draw(TEXT)},
            "diagnosis": [draw(TEXT)],
            "therapy": draw(TEXT),
            "outcome": draw(TEXT),
            "evidence": draw(st.sampled_from(EVIDENCE)),
            "events": [{"date": "2020-05", "description": draw(TEXT)}],
            "claims": draw(st.lists(st.sampled_from([c["id"] for c in claims]), unique=True)),
        }
        for i in range(draw(st.integers(0, 2)))
    ]
    return {
        "schema": 2,
        "source": {"id": "src", "title": "T", "publisher": "P"},
        "entities": entities,
        "claims": claims,
        "cases": cases,
    }


def _commands(ds: dict[str, Any], queries: list[str]) -> list[list[str]]:
    cmds = [
        ["list-cases"],
        ["list-claims"],
        ["list-claims", "--kind", "statistic"],
        ["list-claims", "--evidence", "unsourced", "--year", "2020"],
        ["show-stats"],
        ["timeline"],
        ["timeline", "--since", "2020-06"],
        ["timeline", "--until", "2020-06"],
        ["timeline", "--since", "2020-05", "--until", "2020-12"],
        ["entities"],
        ["list-claims", "--verdict", "reported", "--rating", "unsupported"],
        ["list-claims", "--sort", "rating", "--reverse"],
        ["list-claims", "--sort", "date", "--kind", "statistic", "--format", "json"],
        ["list-claims", "--verdict", "not-reviewed", "--kind", "opinion", "--kind", "research"],
        ["show-claim", "claim-0"],
        ["show-claim", "CLAIM-1"],
        ["show-claim", "claim"],
        ["show-claim", "1"],
        ["show-claim", "nothing-like-it"],
        ["show-case", "case"],
        ["show-case", "claim-0"],
        ["export", "--format", "json"],
        ["export", "--format", "csv"],
    ]
    cmds += [["show-case", c["id"]] for c in ds["cases"][:1]]
    cmds += [["entities", e["id"]] for e in ds["entities"][:1]]
    cmds += [["list-claims", "--entity", e["id"]] for e in ds["entities"][:1]]
    cmds += [["list-claims", "--entity", "no-such-entity"]]
    cmds += [["search", "--", q] for q in queries]
    # label filters (chosen in SQL when JSON is written from the cache), and --fields
    # (which JSON of the cache's claims does not serve)
    cmds += [
        [*["search", "--verdict", "reported", "--kind", "research"], "--", queries[0]],
        [*["search", "--rating", "not-reviewed", "--evidence", "unsourced"], "--", queries[0]],
        ["search", "--kind", "statistic", "--kind", "opinion", "--", queries[-1]],
        ["search", "--fields", "id,score,matches", "--", queries[0]],
    ]
    return cmds


def _run(args: list[str], path: Path, env: dict[str, str | None]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args[:1], "--format", "json", "--data", str(path), *args[1:]]
                                if args[0] != "export" else [*args, "--data", str(path)], env=env)  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), st.lists(st.one_of(st.sampled_from(PIECES), TEXT), min_size=1, max_size=4),
       st.data())  # fmt: skip
def test_every_query_command_answers_warm_as_cold(
    tmp_path_factory: pytest.TempPathFactory,
    ds: dict[str, Any],
    queries: list[str],
    data: st.DataObject,
) -> None:
    tmp = tmp_path_factory.mktemp("wc")
    path = tmp / "d.yaml"
    path.write_text(dump_yaml(ds), encoding="utf-8")
    # words from the dataset's own text too, and their starts
    text = " ".join(c["statement"] + " " + c["quote"] for c in ds["claims"]).split()
    if text:
        word = data.draw(st.sampled_from(text))
        queries += [word, word[: max(1, len(word) // 2)], f'"{word}"', f"-{word} {queries[0]}"]
    cold_env: dict[str, str | None] = {"XDG_CACHE_HOME": None, "HOME": None}
    warm_env: dict[str, str | None] = {"XDG_CACHE_HOME": str(tmp / "cache")}
    # Blocks of two events: ranges of dates cut them, and whole ones are written as text.
    block, cache.TIMELINE_BLOCK = cache.TIMELINE_BLOCK, 2
    try:
        for args in _commands(ds, queries):
            cold = _run(args, path, cold_env)
            building = _run(args, path, warm_env)
            warm = _run(args, path, warm_env)
            assert building == cold, args
            assert warm == cold, args
    finally:
        cache.TIMELINE_BLOCK = block


@pytest.mark.parametrize("fmt", ["json", "csv", "plain", "markdown"])
@pytest.mark.parametrize("kept", TIMELINE_KEEPING)
def test_streamed_lists_answer_warm_as_cold_in_every_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, kept: str
) -> None:
    """The lists written as they are read, from a cache in small blocks (the timeline's
    compressed or not), on the shipped data."""
    import shutil

    from immunofacts import cache

    monkeypatch.setattr(cache, "TIMELINE_BLOCK", 4)
    timeline_kept(monkeypatch, kept)
    monkeypatch.setattr(cache, "_BLOCK_BYTES", 3000)  # one or two records a block, some alone
    root = Path(__file__).resolve().parent.parent / "data"
    for name in ("immunofacts.yaml", "article.txt"):
        shutil.copy(root / name, tmp_path / name)
    path = tmp_path / "immunofacts.yaml"
    cold_env: dict[str, str | None] = {"XDG_CACHE_HOME": None, "HOME": None}
    warm_env: dict[str, str | None] = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    for args in (
        ["timeline"],
        ["timeline", "--since", "2020-06"],
        ["timeline", "--since", "2019", "--until", "2020-03-15"],
        ["list-claims"],
        ["list-claims", "--kind", "statistic"],
        ["search", "cell"],
        ["search", "car", "t", "--verdict", "reported", "--verdict", "unconfirmed"],
        ["search", "remission", "--rating", "misleading", "--evidence", "news-report"],
        ["search", "patient", "--kind", "clinical"],
    ):
        full = [*args, "--format", fmt, "--data", str(path)]
        cold = CliRunner().invoke(app, full, env=cold_env)
        assert cold.exit_code == 0, (args, cold.stderr)
        for _ in range(2):  # building the cache, then answered from it
            warm = CliRunner().invoke(app, full, env=warm_env)
            assert (warm.exit_code, warm.stdout, warm.stderr) == (0, cold.stdout, cold.stderr)


@pytest.mark.parametrize("fmt", ["json", "csv", "plain", "markdown"])
def test_show_stats_answers_warm_as_cold_with_figures_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """The dashboard reads only the first figures and cases, from blocks of one: it says
    the same as from the whole dataset, and JSON and CSV still give every figure."""
    import shutil

    from immunofacts.render import views

    monkeypatch.setattr(cache, "LIST_BLOCK", 1)
    monkeypatch.setattr(views, "FIGURES_SHOWN", 2)
    monkeypatch.setattr(views, "CASES_SHOWN", 1)
    root = Path(__file__).resolve().parent.parent / "data"
    for name in ("immunofacts.yaml", "article.txt"):
        shutil.copy(root / name, tmp_path / name)
    full = ["show-stats", "--format", fmt, "--data", str(tmp_path / "immunofacts.yaml")]
    cold = CliRunner().invoke(app, full, env={"XDG_CACHE_HOME": None, "HOME": None})
    assert cold.exit_code == 0, cold.stderr
    if fmt in ("json", "csv"):
        assert cold.stdout.count("claim-car-t-ind-applications") == 4  # every figure
    else:
        assert "and 2 more" in cold.stdout and "and 2 more (list-cases" in cold.stdout
    for _ in range(2):  # building the cache, then answered from it
        warm = CliRunner().invoke(app, full, env={"XDG_CACHE_HOME": str(tmp_path / "c")})
        assert (warm.exit_code, warm.stdout, warm.stderr) == (0, cold.stdout, cold.stderr)


def test_suggestions_come_in_the_same_order_warm_and_cold(tmp_path: Path) -> None:
    """Words sharing a root are suggested in sorted order, whatever order the records
    hold them in (the cache lists them sorted)."""
    ds = {
        "schema": 2,
        "source": {"id": "src", "title": "T", "publisher": "P"},
        "claims": [
            {"id": f"claim-{i}", "kind": "opinion", "statement": s, "quote": "q",
             "evidence": "unsourced"}
            for i, s in enumerate(["storing cells", "stored", "the store"])
        ],
    }  # fmt: skip
    path = tmp_path / "d.yaml"
    path.write_text(dump_yaml(ds), encoding="utf-8")
    cold = _run(["search", "--", "stoer"], path, {"XDG_CACHE_HOME": None, "HOME": None})
    assert "store" in cold[2]
    warm_env: dict[str, str | None] = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    for _ in range(2):
        assert _run(["search", "--", "stoer"], path, warm_env) == cold


# A dataset the loader refuses is skipped (`assume`): hypothesis's health check can count
# that as filtering too much, at random.
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(datasets(), st.integers(1, 3), st.sampled_from([1, 300, 1 << 18]))
def test_export_json_from_the_claims_stored_text_is_the_decoded_export(
    tmp_path_factory: pytest.TempPathFactory, ds: dict[str, Any], run: int, size: int
) -> None:
    """A warm `export --format json` writes the claims from the JSON the cache keeps
    (untagged, indented a level deeper, a few at a time): the same text as the dataset
    decoded and encoded again, with the claims' pieces cut anywhere."""
    from immunofacts.errors import DataError
    from immunofacts.model import Case, Claim
    from immunofacts.render.export import dataset_builtins, dataset_json
    from immunofacts.render.formats import joined, to_json

    tmp = tmp_path_factory.mktemp("ej")
    path = tmp / "d.yaml"
    path.write_text(dump_yaml(ds), encoding="utf-8")
    saved = cache._RUN, cache._JSON_BYTES, cache._BLOCK_BYTES
    cache._RUN, cache._JSON_BYTES, cache._BLOCK_BYTES = run, size, 300
    try:
        try:
            loaded = cache.validate_dataset(path)
        except DataError:
            assume(False)  # the file refused: nothing to export
        want = to_json(dataset_builtins(loaded))
        warm = cache.open_cache(path)
        assert warm is not None
        try:
            head = warm.head()
            rows = warm.claims()
            pieces = rows.dataset_json()
            decoded = [r for r in warm.rows("WHERE is_case = 0") if isinstance(r, Claim)]
            cases = [r for r in warm.rows("WHERE is_case = 1") if isinstance(r, Case)]
            fast = dataset_json(head.schema, head.source, head.entities, (), cases, pieces)
            slow = dataset_json(head.schema, head.source, head.entities, decoded, cases)
            assert joined(fast) == joined(slow) == want
        finally:
            warm.close()
        env: dict[str, str | None] = {"XDG_CACHE_HOME": str(tmp / "cache")}
        out = tmp / "out.json"
        for args in (["--format", "json"], ["-f", "json", "-o", str(out)]):
            result = CliRunner().invoke(app, ["export", *args, "--data", str(path)], env=env)
            assert result.exit_code == 0, result.stderr
            assert (out.read_text(encoding="utf-8") if "-o" in args else result.stdout) == want
    finally:
        cache._RUN, cache._JSON_BYTES, cache._BLOCK_BYTES = saved


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(TEXT, min_size=16, max_size=24),
    st.integers(1, 1 << 12),
    st.sampled_from([1, 300, 1 << 14]),
)
def test_claims_of_a_kind_indented_a_block_at_a_time_are_their_json(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], size: int, block: int
) -> None:
    """`list-claims --kind K --format json` from the cache: the kind's claims are kept as
    the elements of the JSON array of them, a block of them written as it inflates: the
    text is `to_json` of the claims found in the file, escapes and all."""
    from immunofacts import query
    from immunofacts.model import ClaimKind
    from immunofacts.render.formats import joined, json_array, to_json
    from immunofacts.render.shapes import claim_json

    claims = [
        {"id": f"claim-{i}", "kind": KINDS[i % 4 % 2], "statement": t, "quote": t[::-1],
         "evidence": "unsourced", "entities": [], "figures": [
             {"label": t, "value": i, "unit": "%"}] if i % 3 else []}
        for i, t in enumerate(texts)
    ]  # fmt: skip
    ds = {"schema": 2, "source": {"id": "s", "title": "T", "publisher": "P"}, "claims": claims}
    tmp = tmp_path_factory.mktemp("kj")
    path = tmp / "d.yaml"
    path.write_text(dump_yaml(ds), encoding="utf-8")
    saved = cache._BLOCK_BYTES, cache._JSON_BYTES
    cache._BLOCK_BYTES, cache._JSON_BYTES = block, size
    try:
        loaded = cache.validate_dataset(path)
        warm = cache.open_cache(path)
        assert warm is not None
        try:
            for kind in (ClaimKind.STATISTIC, ClaimKind.RESEARCH):
                want = list(query.filter_claims(loaded, kind=[kind]))
                items = list(warm.claims(kind=[kind]).json_items())
                assert joined(json_array(items)) == to_json([claim_json(c) for c in want])
                assert len(items) <= len(want)  # a block of one claim at least a piece
        finally:
            warm.close()
    finally:
        cache._BLOCK_BYTES, cache._JSON_BYTES = saved
