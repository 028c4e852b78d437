"""What the browser shows, as pure functions: no Textual here, so it is tested directly.

The list is the dataset's claims (or cases), narrowed by filters and, when the
search box holds text, by the same `query.search` that the `search` command
runs, in its order.
"""

from __future__ import annotations

import enum
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from .. import query
from ..errors import UsageError
from ..model import VOCABULARIES, Case, Claim, Dataset, Rating
from ..query import Record

if TYPE_CHECKING:
    from .postings import WordIndex

#: The filter value and label for records that carry no review (so no rating).
NOT_RATED = "not-rated"


class Tab(enum.StrEnum):
    """Which records the list shows."""

    CLAIMS = "claims"
    CASES = "cases"


class Filters(msgspec.Struct, frozen=True):
    """The filters in force; None means any."""

    rating: str | None = None
    kind: str | None = None
    evidence: str | None = None
    entity: str | None = None  # an entity id
    year: int | None = None

    def active(self) -> list[tuple[str, str]]:
        """(filter, value) for each filter set, in a fixed order."""
        out = []
        for name in ("rating", "kind", "evidence", "entity", "year"):
            value = getattr(self, name)
            if value is not None:
                out.append((name, str(value)))
        return out


def rating_of(rec: Record) -> str:
    """A record's rating label, or `not-rated` without a review."""
    return rec.review.rating.value if rec.review else NOT_RATED


def score_of(rec: Record) -> int | None:
    """A record's place on the rating scale (5 best, 1 worst); None off the scale."""
    return rec.review.rating.score if rec.review else None


def years_of(rec: Record) -> set[int]:
    """The years a record is dated in: a claim's date, or a case's event dates."""
    if isinstance(rec, Claim):
        year = query.year_of(rec.date)
        return {year} if year is not None else set()
    return {y for e in rec.events if (y := query.year_of(e.date)) is not None}


def entities_of(rec: Record) -> set[str]:
    """The entity ids a record names (a case's hospital included)."""
    ids = set(rec.entities)
    if isinstance(rec, Case) and rec.hospital:
        ids.add(rec.hospital)
    return ids


def records(ds: Dataset, tab: Tab) -> tuple[Record, ...]:
    """The records of a tab, in dataset order."""
    return ds.claims if tab is Tab.CLAIMS else ds.cases


def keep(rec: Record, f: Filters) -> bool:
    """Whether a record passes every filter. A case has no kind: a kind filter drops cases."""
    if f.rating is not None and rating_of(rec) != f.rating:
        return False
    if f.kind is not None and (not isinstance(rec, Claim) or rec.kind.value != f.kind):
        return False
    if f.evidence is not None and rec.evidence.value != f.evidence:
        return False
    if f.entity is not None and f.entity not in entities_of(rec):
        return False
    return f.year is None or f.year in years_of(rec)


def filtered(ds: Dataset, tab: Tab, f: Filters) -> list[Record]:
    """The records of a tab that pass the filters, in dataset order."""
    return [r for r in records(ds, tab) if keep(r, f)]


def parsed(text: str) -> query.SearchQuery | None:
    """The search box's text as a query, or None while it holds no word to look for
    (nothing, or only words to leave out): then there is no search.

    Too many terms raise UsageError, as they do for `search`.
    """
    try:
        return query.parse_query(text)
    except UsageError:
        if len(text.split()) > query.MAX_TERMS:
            raise
        return None


def searched(ds: Dataset, text: str) -> list[Record] | None:
    """Every claim and case matching the search text, ranked as `immunofacts search`
    ranks them; None when the text holds no word (no search: everything)."""
    q = parsed(text)
    if q is None:
        return None
    return [h.record for h in query.search(ds, q)]


class Searcher:
    """The search box's search: `query.search` over the cache's index when the cache
    answers for the dataset file (as `immunofacts search` does), else over an index of
    the dataset in memory, built once. Hits are the dataset's own records, best first.

    Once `build` has made an index of where each word stands (`postings.WordIndex`), a
    search of one-word terms is scored from it instead, with the same hits in the same
    order, many times faster for a short prefix that matches most records. The cyclic
    garbage collector is left as it is: the browser runs on after each search."""

    def __init__(self, ds: Dataset, path: Path | None = None) -> None:
        self.ds = ds
        self.path = path
        self.by_id = {r.id: r for r in ds.records()}
        self._index: query.DatasetIndex | None = None
        self._words: WordIndex | None = None
        #: Set once no index is being built: a search waits for one underway (briefly),
        #: rather than search the slow way while it competes with the build.
        self._built = threading.Event()
        self._built.set()
        #: Recent results by query, so that deleting back to an earlier text costs nothing.
        self._recent: dict[str, list[Record]] = {}

    #: How many recent results are kept.
    RECENT = 64
    #: The longest a search waits for the index underway, in seconds.
    WAIT = 1.0
    #: The most records indexed: about 10 MB and half a second at 10,000 records, but at
    #: 100,000 six seconds and some 200 MB more for the process (searches wait no longer
    #: than `WAIT` for it, then go the slow way).
    MOST_INDEXED = 50_000

    def __call__(self, text: str) -> list[Record] | None:
        """The hits for the text, or None when it holds no word (no search)."""
        q = parsed(text)
        if q is None:
            return None
        key = str(q)
        if key in self._recent:
            return self._recent[key]
        self._built.wait(self.WAIT)
        words = self._words
        found = None if words is None else words.ranked(q)
        if found is None:
            hits = self._cached(q)
            if hits is None:
                if self._index is None:
                    self._index = query.DatasetIndex(self.ds)
                hits = query.ranked(self._index, q, keep_collector=True)
            found = [self.by_id.get(rec.id, rec) for rec in hits]
        if len(self._recent) >= self.RECENT:
            del self._recent[next(iter(self._recent))]
        self._recent[key] = found
        return found

    def building(self) -> None:
        """Say that `build` is about to run: searches wait for it from now on."""
        self._built.clear()

    def build(self) -> None:
        """Make the index of where each word stands (a fraction of a second per 10,000
        records, to run in the background); searches use it from then on."""
        from .postings import WordIndex

        try:
            if len(self.by_id) > self.MOST_INDEXED:
                return
            words = WordIndex(self.ds)
            words.roots()
            self._words = words
        finally:
            self._built.set()

    def _cached(self, q: query.SearchQuery) -> list[Record] | None:
        if self.path is None:
            return None
        import sqlite3

        from ..cache import CachedIndex, Stale, open_cache

        cache = open_cache(self.path)
        if cache is None:
            return None
        try:
            return query.ranked(CachedIndex(cache, self.by_id), q, keep_collector=True)
        except (Stale, sqlite3.Error, msgspec.DecodeError):
            return None
        finally:
            cache.close()


def visible(
    ds: Dataset, tab: Tab, f: Filters, hits: Sequence[Record] | None, allowed: set[str] | None
) -> list[Record]:
    """The list: search hits in rank order (or the tab's records in dataset order),
    restricted to the tab and to `allowed` ids (the filtered set; None: no filter)."""
    pool: Iterable[Record] = records(ds, tab) if hits is None else hits
    want = Claim if tab is Tab.CLAIMS else Case
    return [r for r in pool if isinstance(r, want) and (allowed is None or r.id in allowed)]


def facet(ds: Dataset, tab: Tab, name: str) -> list[tuple[str, int]]:
    """The values a filter can take on a tab, with how many records have each.

    Ratings follow the scale (best first, then not-a-fact, then not-rated);
    kinds and evidence follow their vocabulary; years run newest first;
    entities are ids, most named first.
    """
    recs = records(ds, tab)
    counts: Counter[str] = Counter()
    for r in recs:
        if name == "rating":
            counts[rating_of(r)] += 1
        elif name == "kind":
            if isinstance(r, Claim):
                counts[r.kind.value] += 1
        elif name == "evidence":
            counts[r.evidence.value] += 1
        elif name == "year":
            counts.update(str(y) for y in years_of(r))
        elif name == "entity":
            counts.update(entities_of(r))
        else:
            raise ValueError(name)
    if name == "rating":
        order = [r.value for r in Rating] + [NOT_RATED]
    elif name == "year":
        order = sorted(counts, reverse=True)
    elif name == "entity":
        order = sorted(counts, key=lambda k: (-counts[k], k))
    else:
        order = [v.value for v in VOCABULARIES[name]]
    return [(v, counts[v]) for v in order if counts[v]]


def subset(ds: Dataset, recs: Sequence[Record]) -> Dataset:
    """The dataset holding only these claims and cases, entities and source kept.

    A case's list of related claims keeps only the claims that are exported too,
    so that the subset loads back as a dataset of its own.
    """
    ids = {r.id for r in recs}
    claims = tuple(c for c in ds.claims if c.id in ids)
    kept = {c.id for c in claims}
    cases = tuple(
        msgspec.structs.replace(c, claims=tuple(i for i in c.claims if i in kept))
        for c in ds.cases
        if c.id in ids
    )
    return msgspec.structs.replace(ds, claims=claims, cases=cases)
