"""Whole-dataset exports: JSON and YAML in the dataset schema, tidy CSV tables,
ClaimReview, and citations (CSL-JSON, BibTeX, RIS).

The SQLite database is written by `export.sqlite` straight to its file.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import UsageError
from ..export.tables import Table
from ..jsontext import plain
from ..model import Case, Claim, Dataset, Entity, Source
from .base import ExportFormat, clean
from .formats import csv_lines, json_elements, to_json

if TYPE_CHECKING:
    from ..cache import Cache
    from ..export.claimreview import Publisher

#: The formats that export only the chosen claims (and the references they cite).
SELECTING = frozenset(
    (
        ExportFormat.CLAIMREVIEW,
        ExportFormat.CSL_JSON,
        ExportFormat.BIBTEX,
        ExportFormat.RIS,
    )
)


#: The formats written from the records as they are read, a few at a time (`streamed`),
#: when they go to stdout or to one file.
STREAMED = frozenset((ExportFormat.JSON, ExportFormat.CSV))
#: The formats that write the dataset itself, in its own schema: a copy that loads, and
#: reads its source text from where it is written.
COPIES = frozenset((ExportFormat.JSON, ExportFormat.YAML))


class Target(enum.Enum):
    """Where an export goes."""

    STDOUT = "stdout"
    FILE = "file"
    FOLDER = "folder"  #: CSV with --output: a file per table
    DATABASE = "database"  #: SQLite: a file written by `export.sqlite`


def target(fmt: ExportFormat, output: str | None) -> Target:
    """Where an export in `fmt` goes, given --output (or None); a UsageError if nowhere."""
    if fmt is ExportFormat.SQLITE:
        if output is None:
            raise UsageError("--format sqlite writes a database file: give --output FILE")
        return Target.DATABASE
    if output is None:
        return Target.STDOUT
    return Target.FOLDER if fmt is ExportFormat.CSV else Target.FILE


def check_selection(fmt: ExportFormat, choosing: bool) -> None:
    """Refuse --claim and the claim filters for a format that exports the whole dataset."""
    if choosing and fmt not in SELECTING:
        raise UsageError(
            "--claim and the filters choose claims for "
            + ", ".join(f.value for f in sorted(SELECTING))
            + f"; --format {fmt.value} exports the whole dataset"
        )


def publisher_for(
    fmt: ExportFormat,
    *,
    author: str | None,
    url_template: str | None,
    date: str | None,
    author_url: str | None,
    allow_non_web_url: bool,
) -> Publisher | None:
    """Who publishes the reviews, for ClaimReview (checked before any work); None otherwise."""
    if fmt is not ExportFormat.CLAIMREVIEW:
        return None
    import datetime

    from ..export.claimreview import Publisher, check_publisher
    from ..query import parse_date_option

    if not author or not url_template:
        raise UsageError(
            "ClaimReview needs --author NAME (who publishes the reviews) and --url-template "
            "'https://your.site/reviews/{id}' (the web page of each review)"
        )
    when = (
        parse_date_option(date, "--date") if date is not None else datetime.date.today().isoformat()
    )
    publisher = Publisher(author, url_template, when, author_url, allow_non_web_url)
    check_publisher(publisher)
    return publisher


class Exported(msgspec.Struct, frozen=True):
    """An export's text, and warnings for the reader (on stderr)."""

    text: str
    warnings: list[str] = []


def dataset_builtins(ds: Dataset) -> dict[str, Any]:
    """The dataset in its schema's shape, ready for JSON or YAML; loads back unchanged."""
    out: dict[str, Any] = _prune(msgspec.to_builtins(ds))
    out.pop("source_text", None)
    out["schema"] = ds.schema
    return {k: out[k] for k in ("schema", "source", "entities", "claims", "cases") if k in out}


def dataset_json(
    schema: int,
    source: Source,
    entities: Iterable[Entity],
    claims: Iterable[Claim],
    cases: Iterable[Case],
    claims_json: Iterable[bytes] | None = None,
) -> Iterator[str | bytes]:
    """The dataset as JSON in its schema's shape, a few records at a time: the same
    text as `to_json(dataset_builtins(ds))` (in which only the source is pruned, the
    records being held in tuples), without holding the dataset.

    `claims_json`, when given, is the claims' text as it is written here (in UTF-8,
    a few claims a piece, see `cache.ClaimRows.dataset_json`), written as it is
    instead of `claims`."""
    top = {
        "schema": schema,
        "source": _prune(msgspec.to_builtins(source)),
        "entities": [msgspec.to_builtins(e) for e in entities],
    }
    yield to_json(top)[:-3]  # open: without the closing "\n}\n"
    for key, records in (("claims", claims), ("cases", cases)):
        opening = f',\n  "{key}": [\n'
        if key == "claims" and claims_json is not None:
            for text in claims_json:
                yield opening
                yield text
                opening = ",\n"
            yield f',\n  "{key}": []' if opening != ",\n" else "\n  ]"
            continue
        for piece in json_elements(map(msgspec.to_builtins, records), "  "):
            yield opening + (piece if isinstance(piece, str) else str(plain(piece), "utf-8"))
            opening = ""
        yield f',\n  "{key}": []' if opening else "\n  ]"
    yield "\n}\n"


def streamed(
    fmt: ExportFormat,
    schema: int,
    source: Source,
    entities: Iterable[Entity],
    claims: Iterable[Claim],
    cases: Iterable[Case],
    *,
    raw: bool = False,
    terminal: bool = False,
    claims_json: Iterable[bytes] | None = None,
) -> Iterator[str | bytes]:
    """The text of an export in a `STREAMED` format, made as the records are read: the same
    text as `export_text` of the whole dataset (`claims_json`: see `dataset_json`;
    `terminal`: see `on_terminal`)."""
    if fmt is ExportFormat.CSV:  # the claims table
        from ..export.tables import CLAIM_COLUMNS, claim_rows

        names = tuple(c.name for c in CLAIM_COLUMNS)
        rows = (("" if v is None else v for v in row) for row in claim_rows(claims))
        return csv_lines(names, rows, raw=raw, terminal=terminal)
    return dataset_json(schema, source, entities, claims, cases, claims_json)


def cached_claims(
    fmt: ExportFormat, cache: Cache
) -> tuple[Iterable[Claim | Case], Iterable[bytes] | None]:
    """The claims of a `streamed` export from the cache, and for JSON their text as the
    cache keeps it (`claims_json`, with no claims to decode)."""
    if fmt is ExportFormat.JSON:
        return (), cache.claims().dataset_json()
    return cache.streamed("WHERE is_case = 0"), None


def relocated_source(source: Source, from_dir: Path, to_dir: Path) -> Source:
    """The source with a relative `text` rewritten to lead from `to_dir` to the same
    file it led to from `from_dir` (a link or ``..`` in the way followed as the system
    follows it, not cut out of the path as text; a link that is the file's own name kept,
    so that the copy follows it as the dataset did)."""
    text = source.text
    if not text or os.path.isabs(text):
        return source
    from ..paths import as_found

    target = as_found(from_dir / text)
    return msgspec.structs.replace(source, text=os.path.relpath(target, to_dir))


def relocated(ds: Dataset, from_dir: Path, to_dir: Path) -> Dataset:
    """The dataset with a relative `source.text` rewritten to lead from `to_dir`
    to the same file it led to from `from_dir`."""
    source = relocated_source(ds.source, from_dir, to_dir)
    return ds if source is ds.source else msgspec.structs.replace(ds, source=source)


def _prune(value: Any) -> Any:
    """Drop null and empty optional values, which loading fills back in as defaults."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def table_csv(table: Table, *, raw: bool = False, terminal: bool = False) -> Iterator[str]:
    """A tidy table as CSV: a header row, then one value per cell; null is an empty cell.

    Unless `raw`, a text cell that a spreadsheet would run as a formula gets a
    leading apostrophe; on a `terminal`, control and invisible characters are shown
    as escapes (see `formats.csv_lines`).
    """
    return csv_lines(
        table.column_names,
        (("" if v is None else v for v in row) for row in table.rows),
        raw=raw,
        terminal=terminal,
    )


def csv_files(ds: Dataset, *, raw: bool = False) -> dict[str, str]:
    """Every tidy table as CSV text, by file name (`claims.csv`, ...)."""
    from ..export.tables import build_tables

    return {f"{t.name}.csv": "".join(table_csv(t, raw=raw)) for t in build_tables(ds)}


def _only(ds: Dataset, claims: list[Claim] | None) -> Dataset:
    """The dataset cut to the chosen claims (and no cases), or whole when none are chosen."""
    if claims is None:
        return ds
    return msgspec.structs.replace(ds, claims=tuple(claims), cases=())


#: The formats written as JSON, which writes every character `clean` would show as an
#: escape as a ``\u`` escape: the same data, safe on a terminal as it is.
JSON_WRITTEN = frozenset((ExportFormat.JSON, ExportFormat.CLAIMREVIEW, ExportFormat.CSL_JSON))


def on_terminal(fmt: ExportFormat, text: str) -> str:
    """An export's text for a terminal: every character a terminal would not show as
    itself (an escape sequence, a bidirectional control, ...) shown as an escape, as
    in every other output (`base.clean`); the line ends (CRLF in RIS) kept. JSON
    escapes these itself, and CSV cell by cell (`formats.csv_lines`)."""
    if fmt in JSON_WRITTEN:
        return text
    return "\r\n".join(clean(line) for line in text.split("\r\n"))


def export_text(
    ds: Dataset,
    fmt: ExportFormat,
    *,
    claims: list[Claim] | None = None,
    publisher: Any = None,
    raw: bool = False,
    terminal: bool = False,
) -> Exported:
    """The text of an export (not `sqlite`, which is a file of its own).

    `claims` chooses the claims for ClaimReview and citations (all when None);
    `publisher` (an `export.claimreview.Publisher`) is needed for ClaimReview;
    `terminal`, the text is for a terminal (see `on_terminal`).
    """
    out = _export_text(ds, fmt, claims=claims, publisher=publisher, raw=raw, terminal=terminal)
    if terminal and fmt is not ExportFormat.CSV:
        return msgspec.structs.replace(out, text=on_terminal(fmt, out.text))
    return out


def _export_text(
    ds: Dataset,
    fmt: ExportFormat,
    *,
    claims: list[Claim] | None,
    publisher: Any,
    raw: bool,
    terminal: bool,
) -> Exported:
    if fmt is ExportFormat.JSON:
        return Exported(to_json(dataset_builtins(ds)))
    if fmt is ExportFormat.YAML:
        from ..loading import dump_yaml

        return Exported(dump_yaml(dataset_builtins(ds)))
    if fmt is ExportFormat.CSV:
        from ..export.tables import build_tables, table_named

        claims_table = table_named(build_tables(ds), "claims")
        return Exported("".join(table_csv(claims_table, raw=raw, terminal=terminal)))
    if fmt is ExportFormat.CLAIMREVIEW:
        from ..export.claimreview import claim_reviews

        chosen = list(ds.claims) if claims is None else claims
        out = claim_reviews(ds, chosen, publisher)
        return Exported(to_json(out.items), out.warnings)
    from ..export import citations

    picked = _only(ds, claims)
    if fmt is ExportFormat.CSL_JSON:
        return Exported(to_json(citations.csl_json(picked)))
    if fmt is ExportFormat.BIBTEX:
        return Exported(citations.bibtex(picked))
    if fmt is ExportFormat.RIS:
        return Exported(citations.ris(picked))
    raise ValueError(f"{fmt} is written to a file by export.sqlite")
