"""Shell completion of ids, through Typer's completion protocol, and the progress indicator.

Completion answers from the cache, reading only the ids it offers; a dataset with no
fresh cache is loaded (and cached) only when its file is small, and a broken one offers
nothing. The reference is `query.completion_ids` over the whole dataset, which is what
completion offered when it loaded every record.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from immunofacts import cache, cli, loading, query
from immunofacts.cli import app
from immunofacts.loading import dump_yaml, load_dataset

ROOT = Path(__file__).resolve().parent.parent


def complete(words: str, cword: int) -> list[str]:
    """What bash completion offers for a command line, from a real process."""
    env = dict(
        os.environ, _IMMUNOFACTS_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(cword)
    )
    code = "import sys; sys.argv[0] = 'immunofacts'; from immunofacts.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stderr == ""
    return out.stdout.split()


def bash(words: list[str], env: dict[str, str | None] | None = None) -> list[str]:
    """What bash completion offers when TAB is pressed after `words` (the last one the
    word being completed), through Typer's completion protocol in this process."""
    result = CliRunner().invoke(
        app,
        [],
        env={
            "_IMMUNOFACTS_COMPLETE": "complete_bash",
            "COMP_WORDS": " ".join(["immunofacts", *words]),
            "COMP_CWORD": str(len(words)),
            **(env or {}),
        },
        prog_name="immunofacts",
    )
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout.split()


def zsh(words: list[str]) -> str:
    """What Typer's zsh completion evaluates when TAB is pressed after `words`."""
    result = CliRunner().invoke(
        app,
        [],
        env={
            "_IMMUNOFACTS_COMPLETE": "complete_zsh",
            "_TYPER_COMPLETE_ARGS": " ".join(["immunofacts", *words]),
        },
        prog_name="immunofacts",
    )
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout


def dataset(
    claims: Sequence[str], cases: Sequence[str] = (), entities: Sequence[str] = ()
) -> dict[str, Any]:
    """A valid dataset with records of these ids (each case cites no claim)."""
    return {
        "schema": 2,
        "source": {"id": "src", "title": "T", "publisher": "P"},
        "entities": [{"id": e, "name": f"Name {e}", "type": "organisation"} for e in entities],
        "claims": [
            {"id": c, "kind": "opinion", "statement": "s", "quote": "q", "evidence": "unsourced"}
            for c in claims
        ],
        "cases": [
            {
                "id": c,
                "title": "t",
                "quote": "q",
                "patient": {"description": "p"},
                "diagnosis": ["d"],
                "therapy": "t",
                "outcome": "o",
                "evidence": "unsourced",
                "events": [{"date": "2020-05", "description": "e"}],
            }
            for c in cases
        ],
    }


def write(tmp_path: Path, ds: dict[str, Any], name: str = "d.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dump_yaml(ds), encoding="utf-8")
    return path


def forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every parse of a dataset fail (completion then offers nothing)."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the dataset was parsed")

    monkeypatch.setattr(loading, "load_dataset", boom)
    monkeypatch.setattr(loading, "parse_dataset", boom)


#: The dataset of the tests of each kind: ids out of alphabetical order, and ids of one
#: kind that another's prefix takes in.
KINDS = dataset(
    claims=["claim-b2", "claim-a1", "claim-b1", "case-like-claim"],
    cases=["case-z", "case-a"],
    entities=["ent-y", "ent-x", "ent-case"],
)
#: (the words typed, the kind completed, what is offered): in dataset order.
BY_KIND = [
    (["show-claim", "claim-b"], "claim", ["claim-b2", "claim-b1"]),
    (["show-claim", ""], "claim", ["claim-b2", "claim-a1", "claim-b1", "case-like-claim"]),
    (["show-claim", "case-"], "claim", ["case-like-claim"]),
    (["show-case", "case-"], "case", ["case-z", "case-a"]),
    (["show-case", ""], "case", ["case-z", "case-a"]),
    (["source", "--claim", "case"], "record", ["case-like-claim", "case-z", "case-a"]),
    (["source", "--claim", "claim-a"], "record", ["claim-a1"]),
    (["entities", "ent-"], "entity", ["ent-y", "ent-x", "ent-case"]),
    (["list-claims", "--entity", "ent-x"], "entity", ["ent-x"]),
    (["export", "--entity", "ent-c"], "entity", ["ent-case"]),
    (["export", "--claim", "claim-a"], "claim", ["claim-a1"]),
    (["show-case", "nothing"], "case", []),
    (["show-claim", "CLAIM-"], "claim", []),
]


@pytest.mark.parametrize(("words", "kind", "offered"), BY_KIND)
def test_each_kind_is_completed_from_a_cold_then_a_warm_cache(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    words: list[str],
    kind: str,
    offered: list[str],
) -> None:
    path = write(tmp_path, KINDS)
    typed = [words[0], "--data", str(path), *words[1:]]
    assert query.completion_ids(load_dataset(path), kind, typed[-1]) == offered
    cpath = cache.cache_path(path)
    assert cpath is not None and not cpath.exists()
    assert bash(typed) == offered  # cold: the small file is loaded, and cached
    assert cpath.exists()
    forbid_parsing(monkeypatch)
    assert bash(typed) == offered  # warm: from the cache alone
    assert zsh(typed) == (
        "_arguments '*: :((" + "\n".join(f'"{i}"' for i in offered) + "))'\n"
        if offered
        else "_files\n"
    )


def test_completion_without_a_cache_directory_loads_a_small_file(tmp_path: Path) -> None:
    path = write(tmp_path, KINDS)
    env: dict[str, str | None] = {"XDG_CACHE_HOME": None, "HOME": None}
    assert bash(["show-case", "--data", str(path), "case-"], env) == ["case-z", "case-a"]


def test_a_large_file_with_no_cache_offers_nothing_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rather than keep TAB waiting while a large file loads; once a command has loaded
    it, completion answers from its cache."""
    path = write(tmp_path, KINDS)
    monkeypatch.setattr(cache, "COMPLETION_LOAD_BYTES", path.stat().st_size)
    parses: list[int] = []
    real = loading.parse_dataset

    def counting(*args: Any, **kwargs: Any) -> Any:
        parses.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(loading, "parse_dataset", counting)
    typed = ["show-case", "--data", str(path), "case-"]
    assert bash(typed) == []
    assert parses == []
    cpath = cache.cache_path(path)
    assert cpath is not None and not cpath.exists()
    result = CliRunner().invoke(app, ["list-cases", "--data", str(path)])
    assert result.exit_code == 0 and parses == [1]
    assert bash(typed) == ["case-z", "case-a"]
    assert parses == [1]


def test_a_large_file_touched_since_is_not_read_to_check_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose stamp changed is read, to compare its content with the cache's, only
    when it is small: a large one offers nothing until a command has checked it."""
    path = write(tmp_path, KINDS)
    typed = ["show-case", "--data", str(path), "case-"]
    assert bash(typed) == ["case-z", "case-a"]  # cached
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    monkeypatch.setattr(cache, "COMPLETION_LOAD_BYTES", st.st_size)
    hashed: list[Path] = []
    real = cache._file_digest

    def digest(p: Path) -> str:
        hashed.append(p)
        return real(p)

    monkeypatch.setattr(cache, "_file_digest", digest)
    assert bash(typed) == []
    assert hashed == []
    monkeypatch.setattr(cache, "COMPLETION_LOAD_BYTES", st.st_size + 1)
    forbid_parsing(monkeypatch)
    assert bash(typed) == ["case-z", "case-a"]  # small: its content is the cache's
    assert hashed == [path]


def test_a_changed_file_is_completed_from_its_new_content(tmp_path: Path) -> None:
    path = write(tmp_path, KINDS)
    typed = ["show-case", "--data", str(path), "case-"]
    assert bash(typed) == ["case-z", "case-a"]
    path.write_text(dump_yaml(dataset(["claim-1"], ["case-new"])), encoding="utf-8")
    assert bash(typed) == ["case-new"]


@pytest.mark.parametrize("text", ["schema: [\n", "schema: 2\nclaims: 7\n", ""])
def test_a_broken_dataset_offers_nothing_and_says_nothing(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    assert bash(["show-case", "--data", str(bad), "case-"]) == []
    assert bash(["show-case", "--data", str(tmp_path / "missing.yaml"), "case-"]) == []
    assert bash(["show-case", "--data", str(tmp_path), "case-"]) == []


def test_a_damaged_cache_is_not_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, KINDS)
    typed = ["show-case", "--data", str(path), "case-"]
    assert bash(typed) == ["case-z", "case-a"]
    cpath = cache.cache_path(path)
    assert cpath is not None
    cpath.write_bytes(cpath.read_bytes()[:4096])  # truncated: rebuilt from the small file
    assert bash(typed) == ["case-z", "case-a"]


def _common(ids: list[str]) -> str:
    return os.path.commonprefix(ids)


#: 12 claims: 10 of them begin with claim-1, in no order.
MANY = [f"claim-1{c}" for c in "qwertyuiop"] + ["claim-2a", "claim-2b"]


@pytest.mark.parametrize("warm", [False, True])
def test_past_the_limit_the_first_ids_and_the_last_keep_the_common_beginning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    """The shell inserts what its candidates share: from the first ones alone that would
    be claim-1 where claim-2a and claim-2b match too."""
    monkeypatch.setattr(query, "COMPLETION_LIMIT", 5)
    path = write(tmp_path, dataset(MANY, ["case-1"]))
    if warm:
        cache.open_dataset(path)
        forbid_parsing(monkeypatch)
    offered = bash(["show-claim", "--data", str(path), "claim-"])
    assert offered == ["claim-1e", "claim-1i", "claim-1o", "claim-1p", "claim-2b"]
    assert _common(offered) == _common(MANY) == "claim-"
    offered = bash(["show-claim", "--data", str(path), "claim-1"])
    assert offered == ["claim-1e", "claim-1i", "claim-1o", "claim-1p", "claim-1y"]
    assert bash(["source", "--data", str(path), "--claim", "c"]) == [
        "case-1", "claim-1e", "claim-1i", "claim-1o", "claim-2b",
    ]  # fmt: skip
    # at the limit, all of them, in dataset order
    assert bash(["show-claim", "--data", str(path), "claim-1q"]) == ["claim-1q"]
    monkeypatch.setattr(query, "COMPLETION_LIMIT", 12)
    assert bash(["show-claim", "--data", str(path), "claim-"]) == MANY


def test_a_limit_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        query.capped_ids(["a", "b"], 1)


def test_bash_itself_gets_the_ids(tmp_path: Path) -> None:
    """Typer's bash completion script, run by bash, fills COMPREPLY from a real process."""
    exe = Path(sys.executable).with_name("immunofacts")
    if shutil.which("bash") is None or not exe.exists():
        pytest.skip("needs bash and the installed immunofacts command")
    path = write(tmp_path, dataset(MANY, ["case-1"]))
    env = dict(os.environ, PATH=f"{exe.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    script = subprocess.run(
        [str(exe)], env={**env, "_IMMUNOFACTS_COMPLETE": "source_bash"},
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "_immunofacts_completion" in script
    run = (
        f"{script}\nCOMP_WORDS=(immunofacts show-claim --data {path} claim-2)\nCOMP_CWORD=4\n"
        '_immunofacts_completion immunofacts\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    out = subprocess.run(
        ["bash", "--norc", "--noprofile"], input=run, env=env,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert (out.stdout.split(), out.stderr) == (["claim-2a", "claim-2b"], "")


ID = st.from_regex(r"[ab1][ab1-]{0,4}", fullmatch=True)


@st.composite
def id_sets(draw: st.DrawFn) -> tuple[list[str], list[str], list[str]]:
    """Claims, cases and entities with unique ids that share beginnings."""
    ids = draw(st.lists(ID, min_size=1, max_size=24, unique=True))
    kinds = [draw(st.sampled_from("cke")) for _ in ids]
    if "c" not in kinds:
        kinds[0] = "c"  # a dataset has a claim
    claims, cases, entities = (
        [i for i, k in zip(ids, kinds, strict=True) if k == w] for w in "cke"
    )
    return claims, cases, entities


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(id_sets(), st.data())
def test_the_cache_completes_as_the_whole_dataset_does(
    tmp_path_factory: pytest.TempPathFactory,
    ids: tuple[list[str], list[str], list[str]],
    data: st.DataObject,
) -> None:
    """Over random ids: every kind, prefixes from the ids' own beginnings and others, and
    limits small enough to cut, the cache answers as `query.completion_ids` does."""
    claims, cases, entities = ids
    tmp = tmp_path_factory.mktemp("ids")
    path = write(tmp, dataset(claims, cases, entities))
    ds = cache.open_dataset(path)  # builds the cache
    c = cache.open_cache(path)
    assert c is not None
    starts = sorted({i[:n] for i in [*claims, *cases, *entities] for n in range(len(i) + 1)})
    prefixes = data.draw(
        st.lists(st.sampled_from(starts) | st.text(max_size=3), min_size=1, max_size=8)
    )
    try:
        for prefix in prefixes:
            for kind in query.COMPLETION_KINDS:
                for limit in (2, 3, 5, query.COMPLETION_LIMIT):
                    want = query.completion_ids(ds, kind, prefix, limit)
                    assert c.completion_ids(kind, prefix, limit) == want, (kind, prefix, limit)
    finally:
        c.close()


def test_show_case_completes_case_ids() -> None:
    """Cold (the article is loaded and cached), then warm (from the cache alone)."""
    cases = ["case-lupus-lymphoma-shenzhen", "case-uk-lymphoma-helen", "case-hong-kong-singer"]
    cpath = cache.cache_path(ROOT / "data" / "immunofacts.yaml")
    assert cpath is not None and not cpath.exists()
    assert complete("immunofacts show-case case-", 2) == cases
    assert cpath.exists()
    cpath.chmod(0o666)  # writable by others: not trusted, and rebuilt (the article is small)
    assert complete("immunofacts show-case case-", 2) == cases
    assert cpath.stat().st_mode & 0o777 == 0o600
    assert complete("immunofacts show-case case-", 2) == cases


def test_show_claim_completes_claim_ids_by_prefix() -> None:
    got = complete("immunofacts show-claim claim-wang", 2)
    assert got and all(i.startswith("claim-wang") for i in got)
    assert "claim-wang-fusheng-t-cell-finding" in got


def test_source_claim_completes_claims_and_cases() -> None:
    got = complete("immunofacts source --claim case-h", 3)
    assert got == ["case-hong-kong-singer"]


def test_entities_completes_entity_ids() -> None:
    got = complete("immunofacts entities ent-ca", 2)
    assert got == ["ent-car-t-cell-therapy"]


def test_completion_with_a_broken_dataset_offers_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: [\n", encoding="utf-8")
    assert complete(f"immunofacts show-case --data {bad} case-", 4) == []


def test_progress_only_when_stderr_is_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stream:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.setattr(sys, "stderr", Stream(False))
    assert cli.progress() is None
    monkeypatch.setattr(sys, "stderr", Stream(True))
    assert cli.progress() is not None


def test_slow_load_shows_progress_through_the_given_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections.abc import Iterator
    from contextlib import contextmanager

    from immunofacts import cache

    shown: list[str] = []

    @contextmanager
    def status(message: str) -> Iterator[None]:
        shown.append(message)
        yield

    monkeypatch.setattr(cache, "PROGRESS_BYTES", 1)
    cache.open_dataset(ROOT / "data" / "immunofacts.yaml", "data/immunofacts.yaml", status=status)
    assert shown == ["Loading data/immunofacts.yaml"]
    monkeypatch.setattr(cache, "PROGRESS_BYTES", 10**12)
    shown.clear()
    cache.validate_dataset(ROOT / "data" / "immunofacts.yaml", status=status)
    assert shown == []


def test_the_manual_states_the_limits_in_force() -> None:
    text = " ".join((ROOT / "docs" / "cli.md").read_text(encoding="utf-8").split())
    limit = query.COMPLETION_LIMIT
    assert f"at most {limit:,} ids" in text
    assert f"the first {limit - 1:,} in alphabetical order and the last" in text
    assert cache.COMPLETION_LOAD_BYTES == 1 << 20 and "under 1 MiB" in text
