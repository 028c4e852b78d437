"""`diff` reports exactly the changes made between two versions of a dataset."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest

from immunofacts.diff import Change, ChangeKind, diff_datasets
from immunofacts.loading import load_dataset
from immunofacts.model import (
    Correction,
    Dataset,
    Development,
    Evidence,
    Rating,
    Reference,
    Verdict,
)

if TYPE_CHECKING:
    from typer.testing import Result

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


def edited(ds: Dataset) -> tuple[Dataset, set[tuple[str, ChangeKind]]]:
    """A second version of the dataset with known edits, and the changes they make."""
    claims = list(ds.claims)
    reviewed = [i for i, c in enumerate(claims) if c.review is not None]
    a, b = reviewed[0], reviewed[1]
    ra = claims[a].review
    assert ra is not None
    new_rating = Rating.INCORRECT if ra.rating is not Rating.INCORRECT else Rating.MISLEADING
    new_verdict = Verdict.UNCONFIRMED if ra.verdict is not Verdict.UNCONFIRMED else Verdict.REPORTED
    claims[a] = msgspec.structs.replace(
        claims[a],
        review=msgspec.structs.replace(
            ra,
            rating=new_rating,
            verdict=new_verdict,
            corrections=(*ra.corrections, Correction(article="x", correct="y")),
            references=(*ra.references, Reference(title="New paper", doi="10.1234/new")),
            later=(*ra.later, Development(description="The trial stopped.", date="2022")),
        ),
    )
    claims[b] = msgspec.structs.replace(claims[b], quote=claims[b].quote + " more")
    removed = claims.pop(-1)
    added = msgspec.structs.replace(claims[0], id="claim-brand-new")
    claims.append(added)
    want = {
        (claims[a].id, ChangeKind.RATING),
        (claims[a].id, ChangeKind.VERDICT),
        (claims[a].id, ChangeKind.CORRECTION_ADDED),
        (claims[a].id, ChangeKind.REFERENCE_ADDED),
        (claims[a].id, ChangeKind.DEVELOPMENT_ADDED),
        (claims[b].id, ChangeKind.QUOTE),
        (removed.id, ChangeKind.REMOVED),
        ("claim-brand-new", ChangeKind.ADDED),
    }
    return msgspec.structs.replace(ds, claims=tuple(claims)), want


def test_no_changes(ds: Dataset) -> None:
    d = diff_datasets(ds, ds, old_name="a", new_name="b")
    assert d.changes == [] and not d.changed


def test_reports_exactly_the_changes_made(ds: Dataset) -> None:
    new, want = edited(ds)
    d = diff_datasets(ds, new, old_name="a", new_name="b")
    assert {(c.record, c.change) for c in d.changes} == want
    assert len(d.changes) == len(want)
    rating = next(c for c in d.changes if c.change is ChangeKind.RATING)
    assert rating.new == Rating.INCORRECT.value or rating.new == Rating.MISLEADING.value
    ref = next(c for c in d.changes if c.change is ChangeKind.REFERENCE_ADDED)
    assert ref == Change(
        rating.record,
        "claim",
        ChangeKind.REFERENCE_ADDED,
        None,
        "New paper (https://doi.org/10.1234/new)",
    )


def test_reverse_diff_mirrors(ds: Dataset) -> None:
    new, _ = edited(ds)
    back = diff_datasets(new, ds, old_name="b", new_name="a")
    kinds = {c.change for c in back.changes}
    assert ChangeKind.CORRECTION_REMOVED in kinds and ChangeKind.REFERENCE_REMOVED in kinds
    assert ChangeKind.DEVELOPMENT_REMOVED in kinds


# --- the command ---------------------------------------------------------------------


def _versions(tmp_path: Path) -> tuple[Path, Path, str]:
    """Two versions of the dataset as files: the second with known edits to the text."""
    import shutil

    old = tmp_path / "old" / "immunofacts.yaml"
    new = tmp_path / "new" / "immunofacts.yaml"
    for f in (old, new):
        f.parent.mkdir()
        shutil.copy(DATA, f)
        shutil.copy(DATA.parent / "article.txt", f.parent / "article.txt")
    text = new.read_text(encoding="utf-8")
    ds = load_dataset(DATA)
    claim = next(c for c in ds.claims if c.review and c.review.rating is Rating.ACCURATE)
    at = text.index(f"id: {claim.id}\n")
    rating = text.index("rating: accurate", at)
    text = text[:rating] + "rating: misleading" + text[rating + len("rating: accurate") :]
    new.write_text(text, encoding="utf-8")
    return old, new, claim.id


def test_cli_diff_exit_codes_and_json(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from immunofacts.cli import app

    old, new, claim_id = _versions(tmp_path)
    same = CliRunner().invoke(app, ["diff", str(old), str(old), "-f", "json"])
    assert same.exit_code == 0, same.stderr
    assert json.loads(same.stdout)["changes"] == []
    changed = CliRunner().invoke(app, ["diff", str(old), str(new), "-f", "json"])
    assert changed.exit_code == 1, changed.stderr
    assert json.loads(changed.stdout) == {
        "old": str(old),
        "new": str(new),
        "changes": [
            {
                "record": claim_id,
                "type": "claim",
                "change": "rating-changed",
                "old": "accurate",
                "new": "misleading",
            }
        ],
    }
    plain = CliRunner().invoke(app, ["diff", str(old), str(new), "-f", "plain"])
    assert plain.exit_code == 1
    assert f"{claim_id}\tclaim\trating-changed\taccurate\tmisleading" in plain.stdout
    missing = CliRunner().invoke(app, ["diff", str(old), str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "nope.yaml" in missing.stderr
    usage = CliRunner().invoke(app, ["diff", str(old)])
    assert usage.exit_code == 2


def test_cli_diff_against_a_git_revision(tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from immunofacts.cli import app

    repo, _, git = _repo(tmp_path)
    old, new, claim_id = _versions(tmp_path)
    for f in (old, old.parent / "article.txt"):
        shutil.copy(f, repo / f.name)
    old = repo / old.name
    git("add", ".")
    git("commit", "-qm", "first")
    shutil.copy(new, old)
    result = CliRunner().invoke(app, ["diff", "--git", "HEAD", str(old), "-f", "json"])
    assert result.exit_code == 1, result.stderr
    assert "rating-changed" in result.stdout and claim_id in result.stdout
    bad = CliRunner().invoke(app, ["diff", "--git", "no-such-rev", str(old)])
    assert bad.exit_code == 2 and "no-such-rev" in bad.stderr
    # A "revision" that git would read as an option (--output=FILE writes FILE) is refused
    # before git runs; nothing is written.
    target = repo / "o:."
    target.mkdir()
    (target / old.name).write_text("keep\n")
    for rev in (f"--output={repo / 'o'}", "-p", "HEAD:x", ""):
        bad = CliRunner().invoke(app, ["diff", "--git", rev, str(old)])
        assert bad.exit_code == 2 and "is not a git revision" in bad.stderr, (rev, bad.stderr)
    assert (target / old.name).read_text() == "keep\n"
    # A file outside any repository: said so, with what to do instead
    apart = tmp_path / "apart"
    apart.mkdir()
    shutil.copy(new, apart / new.name)
    ceiling = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}  # git looks no higher
    bad = CliRunner().invoke(app, ["diff", "--git", "HEAD", str(apart / new.name)], env=ceiling)
    assert bad.exit_code == 2
    assert bad.stderr == (
        f"immunofacts: error: --git: {apart / new.name} is not in a git repository"
        " (to compare two files: immunofacts diff OLD NEW)\n"
    )


def test_every_field_that_changed_is_reported_so_that_no_changes_means_none(ds: Dataset) -> None:
    claims = list(ds.claims)
    cases = list(ds.cases)
    at = next(i for i, x in enumerate(claims) if x.review is not None and x.review.references)
    c = claims[at]
    assert c.review is not None
    ref = c.review.references[0]
    claims[at] = msgspec.structs.replace(
        c,
        claim_reviewed="A new short form",
        evidence=Evidence.OPINION if c.evidence is not Evidence.OPINION else Evidence.UNSOURCED,
        entities=(*c.entities, "ent-china"),
        review=msgspec.structs.replace(
            c.review,
            note=(c.review.note or "") + " Checked again.",
            # the same title and address: only the reference's note differs
            references=(msgspec.structs.replace(ref, note="read again"), *c.review.references[1:]),
        ),
    )
    case = cases[0]
    cases[0] = msgspec.structs.replace(case, outcome=(case.outcome or "") + " And more.")
    new = msgspec.structs.replace(ds, claims=tuple(claims), cases=tuple(cases))
    got = diff_datasets(ds, new, old_name="a", new_name="b").changes
    by = {(x.record, x.change): x for x in got}
    assert set(by) == {
        (c.id, ChangeKind.CLAIM_REVIEWED),
        (c.id, ChangeKind.EVIDENCE),
        (c.id, ChangeKind.NOTE),
        (c.id, ChangeKind.OTHER),
        (case.id, ChangeKind.OTHER),
    }
    assert by[(c.id, ChangeKind.CLAIM_REVIEWED)].new == "A new short form"
    assert by[(c.id, ChangeKind.NOTE)].new == (c.review.note or "") + " Checked again."
    assert by[(c.id, ChangeKind.OTHER)].new == "entities, review.references"
    assert by[(case.id, ChangeKind.OTHER)].new == "outcome"
    # and a record left as it was is not reported at all
    assert diff_datasets(ds, ds, old_name="a", new_name="a").changes == []


def test_entities_and_the_source_changed_are_reported(ds: Dataset) -> None:
    entities = list(ds.entities)
    first, second, last = entities[0], entities[1], entities[-1]
    entities[0] = msgspec.structs.replace(first, name=first.name + " Jr", aliases=())
    entities[1] = msgspec.structs.replace(second, note="checked again")
    entities.pop()
    entities.append(msgspec.structs.replace(last, id="ent-brand-new", name="Brand New"))
    new = msgspec.structs.replace(
        ds,
        entities=tuple(entities),
        source=msgspec.structs.replace(ds.source, publisher="someone else"),
        source_text=(ds.source_text or "") + "\nA new paragraph.",
    )
    changes = diff_datasets(ds, new, old_name="a", new_name="b").changes
    got = {(c.record, c.type, c.change): c for c in changes}
    fields = "name" + (", aliases" if first.aliases else "")
    assert got[(first.id, "entity", ChangeKind.ENTITY_CHANGED)].new == fields
    assert got[(second.id, "entity", ChangeKind.ENTITY_CHANGED)].new == "note"
    assert got[(last.id, "entity", ChangeKind.ENTITY_REMOVED)].old == last.name
    assert got[("ent-brand-new", "entity", ChangeKind.ENTITY_ADDED)].new == "Brand New"
    assert got[(ds.source.id, "source", ChangeKind.SOURCE_CHANGED)].new == "publisher, its text"
    assert len(got) == 5


def test_a_review_added_or_removed_is_told_by_its_fields_alone(ds: Dataset) -> None:
    c = next(x for x in ds.claims if x.review is not None and x.review.note)
    bare = msgspec.structs.replace(c, review=None)
    gone = msgspec.structs.replace(ds, claims=tuple(bare if x is c else x for x in ds.claims))
    for old, new in ((ds, gone), (gone, ds)):
        changes = diff_datasets(old, new, old_name="a", new_name="b").changes
        kinds = {x.change for x in changes if x.record == c.id}
        assert {ChangeKind.VERDICT, ChangeKind.RATING, ChangeKind.NOTE} <= kinds
        assert ChangeKind.OTHER not in kinds, changes


_TINY = """\
schema: 2
source: {{id: src-x, title: X, publisher: P, text: {text}}}
claims:
  - id: claim-one
    kind: research
    statement: S
    quote: "{quote}"
    evidence: peer-reviewed
"""


def _repo(tmp_path: Path) -> tuple[Path, dict[str, str], Callable[..., None]]:
    """A git repository of its own (no user or system git config), the environment to
    run the command in, and a way to run git there."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(tmp_path),
        "GIT_CEILING_DIRECTORIES": str(tmp_path),
    }

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
            env={**os.environ, **env},
        )

    git("init", "-q")
    return repo, env, git


def _diff_git(env: dict[str, str], *args: str) -> Result:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    return CliRunner().invoke(app, ["diff", "--git", *args, "-f", "json"], env=env)


def test_diff_git_reads_the_source_text_of_then_from_a_subfolder(tmp_path: Path) -> None:
    import json

    repo, env, git = _repo(tmp_path)
    (repo / "texts").mkdir()
    text, data = repo / "texts" / "article.txt", repo / "d.yaml"
    text.write_text("one two three\n")
    data.write_text(_TINY.format(text="texts/article.txt", quote="two three"))
    git("add", ".")
    git("commit", "-qm", "first")
    # Now both changed: the old quote is only in the old text, so the old version
    # loads only if its quotes are checked against the text of then.
    text.write_text("four five six\n")
    data.write_text(_TINY.format(text="texts/article.txt", quote="five six"))
    result = _diff_git(env, "HEAD", str(data))
    assert result.exit_code == 1, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert any(c["change"] == "quote-changed" for c in changes)
    assert any("its text" in json.dumps(c) for c in changes)
    assert result.stderr == ""
    # The same through ".." inside the folder, and through "./"
    for via in ("texts/../texts/article.txt", "./texts/article.txt"):
        data.write_text(_TINY.format(text=via, quote="four five"))
        git("commit", "-qam", "again")
        data.write_text(_TINY.format(text=via, quote="five six"))
        result = _diff_git(env, "HEAD", str(data))
        assert result.exit_code == 1, (via, result.stderr)
    # A wrong quote at the revision is still found, against the text of then
    data.write_text(_TINY.format(text="texts/article.txt", quote="two four"))
    git("commit", "-qam", "a wrong quote")
    data.write_text(_TINY.format(text="texts/article.txt", quote="five six"))
    result = _diff_git(env, "HEAD", str(data))
    assert result.exit_code == 2
    assert "HEAD:d.yaml:7: claims[0].quote: quote is not verbatim" in result.stderr


@pytest.mark.parametrize("where", ["untracked", "absolute", "outside"])
def test_diff_git_leaves_quotes_unchecked_when_the_text_of_then_is_not_in_git(
    tmp_path: Path, where: str
) -> None:
    import json

    repo, env, git = _repo(tmp_path)
    folder = repo / "sub" if where == "outside" else repo
    folder.mkdir(exist_ok=True)
    text = repo / "article.txt"
    name = {"untracked": "article.txt", "absolute": str(text), "outside": "../article.txt"}[where]
    if where != "untracked":
        env["IMMUNOFACTS_TEXT_DIRS"] = str(repo)  # so that the file as it is loads
    text.write_text("one two three\n")
    data = folder / "d.yaml"
    data.write_text(_TINY.format(text=name, quote="no such words"))
    git("add", "d.yaml" if where == "untracked" else ".")
    git("commit", "-qm", "first")
    data.write_text(_TINY.format(text=name, quote="two three"))
    result = _diff_git(env, "HEAD", str(data))
    assert result.exit_code == 1, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert [c["change"] for c in changes] == ["quote-changed"], changes
    why = {
        "untracked": "no such file at that revision",
        "absolute": "it is not under the file's folder",
        "outside": "it is not under the file's folder",
    }[where]
    assert result.stderr == (
        f"immunofacts: HEAD:{data}: source text {name!r}: {why}; its quotes are unchecked,"
        " and the text is not compared\n"
    )
    # nothing was written outside the folder the old version was put in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_diff_git_refuses_a_file_over_the_size_cap_before_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from typer.testing import CliRunner

    from immunofacts.cli import app

    repo, env, git = _repo(tmp_path)
    (repo / "article.txt").write_text("one two three\n")
    data = repo / "d.yaml"
    small = _TINY.format(text="article.txt", quote="two three")
    data.write_text(small + "#" * 5000 + "\n")
    git("add", ".")
    git("commit", "-qm", "first")
    big = data.read_bytes()
    data.write_text(small)
    env["IMMUNOFACTS_MAX_BYTES"] = "2000"
    # The message a file that size gets when it is read from disk
    (tmp_path / "big.yaml").write_bytes(big)
    direct = CliRunner().invoke(app, ["diff", str(tmp_path / "big.yaml"), str(data)], env=env)
    assert direct.exit_code == 2 and f"file is {len(big):,} bytes" in direct.stderr
    calls: list[list[str]] = []
    run = subprocess.run

    def spy(args: list[str], **kw: object) -> object:
        calls.append(list(args))
        return run(args, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", spy)
    result = _diff_git(env, "HEAD", str(data))
    assert result.exit_code == 2
    said = direct.stderr.split(": ", 3)[-1]
    assert result.stderr == f"immunofacts: error: HEAD:d.yaml: {said}"
    assert calls and not any("blob" in c or "show" in c for c in calls), calls
    # the revision is never where git would read an option
    named = [c for c in calls if "--end-of-options" in c]
    assert named and all(c[c.index("--end-of-options") + 1].startswith("HEAD:") for c in named)


def test_diff_git_of_a_link_reads_the_file_it_points_to(tmp_path: Path) -> None:
    import json

    repo, env, git = _repo(tmp_path)
    (repo / "article.txt").write_text("one two three\n")
    data = repo / "d.yaml"
    data.write_text(_TINY.format(text="article.txt", quote="two three"))
    git("add", ".")
    git("commit", "-qm", "first")
    data.write_text(_TINY.format(text="article.txt", quote="one two"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "link.yaml").symlink_to(data)
    # the file as it is reads its text beside the link (as any load does)
    (elsewhere / "article.txt").write_text("one two three\n")
    result = _diff_git(env, "HEAD", str(elsewhere / "link.yaml"))
    assert result.exit_code == 1, result.stderr
    assert [c["change"] for c in json.loads(result.stdout)["changes"]] == ["quote-changed"]


def test_diff_git_says_a_folder_at_the_revision_is_not_a_file(tmp_path: Path) -> None:
    repo, env, git = _repo(tmp_path)
    (repo / "d.yaml").mkdir()
    (repo / "d.yaml" / "inner").write_text("x\n")
    git("add", ".")
    git("commit", "-qm", "a folder")
    git("rm", "-rq", "d.yaml")
    (repo / "article.txt").write_text("one two three\n")
    (repo / "d.yaml").write_text(_TINY.format(text="article.txt", quote="two three"))
    git("add", ".")
    git("commit", "-qm", "a file")
    result = _diff_git(env, "HEAD~1", str(repo / "d.yaml"))
    assert result.exit_code == 2
    assert result.stderr == (
        "immunofacts: error: --git: HEAD~1:d.yaml: not a file (git has a tree there)\n"
    )


def test_diff_git_says_a_link_at_the_revision_is_not_a_file(tmp_path: Path) -> None:
    repo, env, git = _repo(tmp_path)
    (repo / "article.txt").write_text("one two three\n")
    (repo / "real.yaml").write_text(_TINY.format(text="article.txt", quote="two three"))
    (repo / "d.yaml").symlink_to("real.yaml")
    git("add", ".")
    git("commit", "-qm", "a link")
    (repo / "d.yaml").unlink()
    (repo / "d.yaml").write_text(_TINY.format(text="article.txt", quote="one two"))
    result = _diff_git(env, "HEAD", str(repo / "d.yaml"))
    assert result.exit_code == 2
    assert result.stderr == (
        "immunofacts: error: --git: HEAD:d.yaml: not a file (git has a symbolic link there)\n"
    )
    # A source text that was a link then leaves that version's quotes unchecked
    (repo / "d.yaml").write_text(_TINY.format(text="link.txt", quote="two three"))
    (repo / "link.txt").symlink_to("article.txt")
    git("add", ".")
    git("commit", "-qm", "a text through a link")
    (repo / "d.yaml").write_text(_TINY.format(text="link.txt", quote="one two"))
    result = _diff_git(env, "HEAD", str(repo / "d.yaml"))
    assert result.exit_code == 1, result.stderr
    assert "'link.txt': not a file (git has a symbolic link there); its quotes" in result.stderr
    # and one over the size cap, too
    (repo / "link.txt").unlink()
    (repo / "link.txt").write_text("one two three\n" + " " * 3000)
    git("add", ".")
    git("commit", "-qm", "a large text")
    env["IMMUNOFACTS_MAX_BYTES"] = "2000"
    (repo / "link.txt").write_text("one two three\n")
    result = _diff_git(env, "HEAD", str(repo / "d.yaml"))
    assert result.exit_code == 0, result.stderr  # the texts differ, but are not compared
    assert "'link.txt': it is 3,014 bytes, over the limit of 2,000 bytes;" in result.stderr


@pytest.mark.parametrize("text", ['"x\\0y/a.txt"', '"a\\nb/c.txt"'])
def test_diff_git_reports_a_source_text_path_with_a_control_character(
    tmp_path: Path, text: str
) -> None:
    """Such a path is a problem of the file, said as one, at the revision as now: it
    was handed to git first (a traceback for a NUL; for a line break, the version of
    then loaded with its quotes unchecked, as if it were fine)."""
    repo, env, git = _repo(tmp_path)
    data = repo / "d.yaml"
    data.write_text(_TINY.format(text=text, quote="one two"))
    git("add", ".")
    git("commit", "-qm", "first")
    data.write_text(_TINY.format(text=text, quote="two three"))
    result = _diff_git(env, "HEAD", str(data))
    assert result.exit_code == 2, result.output
    assert (
        "Traceback" not in result.output
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    if "\\0" in text:
        assert "source.text: source text path" in result.stderr
        assert "holds a control character" in result.stderr


def test_diff_git_takes_a_dataset_that_is_its_own_text_through_a_subfolder(
    tmp_path: Path,
) -> None:
    import json

    repo, env, git = _repo(tmp_path)
    (repo / "sub").mkdir()
    (repo / "sub" / "keep").write_text("")
    data = repo / "d.yaml"
    data.write_text(_TINY.format(text="sub/../d.yaml", quote="schema: 2"))
    git("add", ".")
    git("commit", "-qm", "first")
    data.write_text(_TINY.format(text="sub/../d.yaml", quote="claims:"))
    result = _diff_git(env, "HEAD", str(data))
    assert result.exit_code == 1, result.stderr
    changes = sorted(c["change"] for c in json.loads(result.stdout)["changes"])
    assert changes == ["quote-changed", "source-changed"]  # the text is the file itself
    assert result.stderr == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs to give the repository to another user")
def test_diff_git_says_gits_error_not_the_hint_after_it(tmp_path: Path) -> None:
    """git refuses a repository another user owns with an error, then a hint to run
    `git config --global --add safe.directory ...`: the error is what is said."""
    import shutil

    repo, env, git = _repo(tmp_path)
    data = repo / "d.yaml"
    data.write_text(_TINY.format(text="d.yaml", quote="schema: 2"))
    git("add", ".")
    git("commit", "-qm", "first")
    for path in [repo, *repo.rglob("*")]:
        shutil.chown(path, user="nobody") if not path.is_symlink() else None
    result = _diff_git(env, "HEAD", str(data))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "dubious ownership" in line and "safe.directory" not in line, line
