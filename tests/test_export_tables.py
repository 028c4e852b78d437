"""Tidy tables, as CSV and as SQLite: keys hold, one value per cell, Datasette browses it."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from immunofacts.errors import OutputError
from immunofacts.export.sqlite import VIEWS, write_sqlite
from immunofacts.export.tables import build_tables, table_named
from immunofacts.loading import load_dataset
from immunofacts.model import NOT_REVIEWED, Dataset, Rating
from immunofacts.render.export import csv_files

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "immunofacts.yaml"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset(DATA)


@pytest.fixture(scope="module")
def db_path(ds: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "out.db"
    write_sqlite(ds, path, overwrite=False)
    return path


def test_every_table_has_unique_primary_keys_and_one_value_per_cell(ds: Dataset) -> None:
    for table in build_tables(ds):
        width = len(table.columns)
        keys = [table.column_names.index(k) for k in table.primary_key]
        seen = {tuple(row[i] for i in keys) for row in table.rows}
        assert len(seen) == len(table.rows), table.name
        for row in table.rows:
            assert len(row) == width
            for value in row:
                assert value is None or isinstance(value, str | int | float), (table.name, value)


def test_csv_reads_back_cell_for_cell(ds: Dataset) -> None:
    files = csv_files(ds)
    for table in build_tables(ds):
        rows = list(csv.reader(io.StringIO(files[f"{table.name}.csv"], newline="")))
        assert tuple(rows[0]) == table.column_names
        assert len(rows) == len(table.rows) + 1
        for got, want in zip(rows[1:], table.rows, strict=True):
            assert got == ["" if v is None else str(v) for v in want]


def test_claims_table_spells_labels_as_the_filters_do(ds: Dataset) -> None:
    claims = table_named(build_tables(ds), "claims")
    ratings = {row[claims.column_names.index("rating")] for row in claims.rows}
    assert ratings <= {r.value for r in Rating} | {NOT_REVIEWED}
    by_id = {row[0]: row for row in claims.rows}
    for c in ds.claims:
        row = by_id[c.id]
        if c.review is not None:
            assert row[claims.column_names.index("verdict")] == c.review.verdict.value
            assert row[claims.column_names.index("rating_value")] == c.review.rating.score


def test_sqlite_keys_views_and_full_text(ds: Dataset, db_path: Path) -> None:
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("select count(*) from claims").fetchone()[0] == len(ds.claims)
    assert db.execute("select count(*) from cases").fetchone()[0] == len(ds.cases)
    fks = db.execute("select \"table\" from pragma_foreign_key_list('citations')").fetchall()
    assert {f[0] for f in fks} == {"claims", "cases", "references"}
    for view in VIEWS:
        db.execute(f'select * from "{view}"').fetchall()
    hits = db.execute(
        "select c.id from claims_fts join claims c on c.rowid = claims_fts.rowid "
        "where claims_fts match 'macaques'"
    ).fetchall()
    assert {h[0] for h in hits} == _mentioning(ds, "macaques")
    db.close()


def _mentioning(ds: Dataset, word: str) -> set[str]:
    """Ids of claims whose indexed text has the word."""
    pattern = re.compile(rf"\b{word}\b", re.IGNORECASE)
    found = set()
    for c in ds.claims:
        text = " ".join((c.statement, c.quote, c.review.note or "" if c.review else ""))
        if pattern.search(text):
            found.add(c.id)
    assert found, word
    return found


def test_sqlite_refuses_to_overwrite(ds: Dataset, db_path: Path) -> None:
    with pytest.raises(OutputError, match="exists"):
        write_sqlite(ds, db_path, overwrite=False)


def _get(path: Path, url: str) -> Any:
    from datasette.app import Datasette

    async def run() -> Any:
        app = Datasette([str(path)])
        response = await app.client.get(url)
        assert response.status_code == 200, (url, response.text[:500])
        return response.json()

    return asyncio.run(run())


def test_datasette_lists_tables_facets_ratings_and_searches(ds: Dataset, db_path: Path) -> None:
    pytest.importorskip("datasette")
    db = db_path.stem
    info = _get(db_path, f"/{db}.json")
    names = {t["name"] for t in info["tables"]}
    assert {"claims", "cases", "entities", "figures", "corrections", "references"} <= names
    claims = next(t for t in info["tables"] if t["name"] == "claims")
    assert claims["fts_table"] == "claims_fts"

    faceted = _get(db_path, f"/{db}/claims.json?_facet=rating&_shape=objects")
    counts = {f["value"]: f["count"] for f in faceted["facet_results"]["rating"]["results"]}
    want: dict[str, int] = {}
    for c in ds.claims:
        label = c.review.rating.value if c.review else NOT_REVIEWED
        want[label] = want.get(label, 0) + 1
    assert counts == want

    found = _get(db_path, f"/{db}/claims.json?_search=macaques&_shape=objects")
    assert {row["id"] for row in found["rows"]} == _mentioning(ds, "macaques")


def test_cli_writes_one_csv_file_per_table_and_refuses_to_overwrite(
    ds: Dataset, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    out = tmp_path / "tables"
    result = CliRunner().invoke(app, ["export", "-f", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{t.name}.csv" for t in build_tables(ds))
    for path in out.iterdir():
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        width = len(rows[0])
        assert all(len(r) == width for r in rows), path.name
        for row in rows[1:]:  # one value per cell: no packed lists
            for cell in row:
                assert not re.search(r";\S|\s->\s|=\w+:", cell) or len(cell) > 80, cell
    again = CliRunner().invoke(app, ["export", "-f", "csv", "-o", str(out)])
    assert again.exit_code == 2 and "--force" in again.stderr
    forced = CliRunner().invoke(app, ["export", "-f", "csv", "-o", str(out), "--force"])
    assert forced.exit_code == 0


def test_cli_sqlite_needs_a_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from immunofacts.cli import app

    result = CliRunner().invoke(app, ["export", "-f", "sqlite"])
    assert result.exit_code == 2 and "--output FILE" in result.stderr
    db = tmp_path / "x.db"
    result = CliRunner().invoke(app, ["export", "-f", "sqlite", "-o", str(db)])
    assert result.exit_code == 0, result.stderr
    assert "datasette" in result.stderr
    assert sqlite3.connect(db).execute("select count(*) from claims").fetchone()[0] > 0


def test_exports_stay_out_of_the_start_up_of_other_commands() -> None:
    """The export libraries and the test-only readers are imported by `export` alone."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from immunofacts.cli import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['list-claims', '--format', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = ('immunofacts.export', 'immunofacts.schemas', 'datasette', 'pyld',\n"
        "         'jsonschema', 'bibtexparser')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
