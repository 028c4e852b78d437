"""The dataset as an SQLite database for Datasette, sqlite-utils or any SQL client.

The tidy tables of `tables` with their primary and foreign keys, an FTS5 index
on the text of claims, cases and references (in the form Datasette detects, so
its search box works), and views for the joins people ask for most.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..model import Dataset
from .tables import Table, build_tables

#: Views over the common joins, by name.
VIEWS = {
    "claim_entity_names": """
        SELECT ce.claim_id, c.statement, c.rating, ce.entity_id, e.name AS entity_name,
               e.type AS entity_type
        FROM claim_entities ce
        JOIN claims c ON c.id = ce.claim_id
        JOIN entities e ON e.id = ce.entity_id""",
    "claim_references": """
        SELECT ci.claim_id, c.statement, c.rating, r.id AS reference_id, r.title, r.publisher,
               r.date, r.link, ci.note
        FROM citations ci
        JOIN claims c ON c.id = ci.claim_id
        JOIN "references" r ON r.id = ci.reference_id""",
    "claim_reasons": """
        SELECT rs.claim_id, c.statement, c.rating, rs.reason, l.definition
        FROM reasons rs
        JOIN claims c ON c.id = rs.claim_id
        LEFT JOIN labels l ON l.vocabulary = 'reason' AND l.label = rs.reason""",
    "case_timeline": """
        SELECT case_id, date, description, 'article' AS told_by FROM events
        UNION ALL
        SELECT case_id, date, description, 'later' AS told_by FROM developments
        WHERE case_id IS NOT NULL
        ORDER BY case_id, date""",
    "ratings": """
        SELECT 'claim' AS record_type, rating, rating_value, count(*) AS records
        FROM claims GROUP BY rating
        UNION ALL
        SELECT 'case', rating, rating_value, count(*) FROM cases GROUP BY rating
        ORDER BY record_type DESC, rating_value DESC""",
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_sql(table: Table) -> str:
    """The CREATE TABLE statement of a table, with its keys."""
    parts = []
    for col in table.columns:
        sql = f"{_q(col.name)} {col.type}"
        if col.not_null:
            sql += " NOT NULL"
        if col.references:
            sql += f" REFERENCES {_q(col.references[0])}({_q(col.references[1])})"
        parts.append(sql)
    parts.append("PRIMARY KEY (" + ", ".join(_q(c) for c in table.primary_key) + ")")
    owners = {"claim_id", "case_id"}
    if owners <= set(table.column_names) and "claim_id" not in table.primary_key:
        parts.append("CHECK ((claim_id IS NULL) != (case_id IS NULL))")
    return f"CREATE TABLE {_q(table.name)} (\n  " + ",\n  ".join(parts) + "\n)"


def fill(db: sqlite3.Connection, ds: Dataset) -> None:
    """Create and fill every table, full-text index and view in an empty database."""
    db.execute("PRAGMA foreign_keys = ON")
    for table in build_tables(ds):
        db.execute(create_sql(table))
        marks = ", ".join("?" for _ in table.columns)
        db.executemany(f"INSERT INTO {_q(table.name)} VALUES ({marks})", table.rows)
        for col in table.columns:
            if col.references and col.name not in table.primary_key[:1]:
                db.execute(
                    f"CREATE INDEX {_q(f'idx_{table.name}_{col.name}')} "
                    f"ON {_q(table.name)} ({_q(col.name)})"
                )
        if table.search:
            fts = _q(f"{table.name}_fts")
            cols = ", ".join(_q(c) for c in table.search)
            db.execute(
                f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, "
                f'content="{table.name}", tokenize="unicode61 remove_diacritics 2")'
            )
            db.execute(
                f"INSERT INTO {fts} (rowid, {cols}) SELECT rowid, {cols} FROM {_q(table.name)}"
            )
    for name, sql in VIEWS.items():
        db.execute(f"CREATE VIEW {_q(name)} AS {sql.strip()}")
    problems = db.execute("PRAGMA foreign_key_check").fetchall()
    if problems:  # loading checks every id, so this is a bug, not a data error
        raise AssertionError(f"foreign keys broken: {problems[:5]}")


def write_sqlite(ds: Dataset, path: Path | str, *, overwrite: bool) -> None:
    """Write the database to `path`, atomically: readers see the old file or the new one,
    and an interrupted write leaves no temporary file. Without `overwrite`, an existing
    file is an `OutputExistsError`."""
    from ..output import atomic_file

    with atomic_file(path, overwrite=overwrite) as tmp:
        db = sqlite3.connect(tmp)
        try:
            with db:
                fill(db, ds)
            db.execute("VACUUM")
        finally:
            db.close()
