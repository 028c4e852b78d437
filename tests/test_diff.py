"""`diff` reports exactly the changes made between two versions of a dataset."""

from __future__ import annotations

from pathlib import Path

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
    import subprocess

    from typer.testing import CliRunner

    from immunofacts.cli import app

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    old, new, claim_id = _versions(tmp_path)
    repo = old.parent
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
            env=env,
        )

    git("init", "-q")
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
