"""The search box's quick path: an index of where each word stands, built once over the
dataset in memory, from which a search of one-word terms is scored without reading any
record's text.

A one-word term's weight in a field is the sum, over the collection's words it matches,
of each word's weight (0.5 for a longer word it begins, 1 for the word itself or a word
sharing its root) times how often the word stands in the field. Each weight is a sum of
halves and ones, exact in floating point in any order; the rest of the score (BM25 over
the fields, as `query._ranked_hits` does it) is computed with the same operations in the
same order, so scores are the same to the last bit and ties keep dataset order: the hits
are those of `query.ranked`, in its order.

A term of several words (a phrase) needs where the words stand, which this index does
not hold: a query with one is not answered here (`ranked` gives None).
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate

from .. import query
from ..model import Dataset
from ..query import BM25_B, BM25_K1, Record, SearchQuery, Wanted
from ..tokens import FIELD_WEIGHTS, WordStats, entity_names, finish_stats, search_fields, words

#: A place in the index: a record's position times SLOTS plus its field's position among
#: the record's searched fields (`tokens.search_fields`), which never exceeds SLOTS.
SLOTS = 16


class WordIndex:
    """Where each word of a dataset's searched fields stands: every occurrence, as the
    place (record and field, see `SLOTS`) it stands in, kept by word in sorted order so
    that the words a prefix begins are side by side. Also a `query.SearchIndex` (for
    `query._choices`), over the same words as `query.DatasetIndex`."""

    def __init__(self, ds: Dataset) -> None:
        recs = list(ds.records())
        assert len(FIELD_WEIGHTS) < SLOTS
        names = entity_names(ds.entity_map())
        lengths: Counter[str] = Counter()
        df: Counter[str] = Counter()
        every: list[str] = []  # every occurrence's word, record by record, field by field
        places: list[int] = []  # and the place it stands in
        held: list[tuple[int, str, int]] = []  # (place, field, words) of each field
        for i, rec in enumerate(recs):
            first = len(every)
            for slot, (name, text) in enumerate(search_fields(rec, names)):
                found = words(text)
                lengths[name] += len(found)
                place = i * SLOTS + slot
                held.append((place, name, len(found)))
                every += found
                places += [place] * len(found)
            df.update(set(every[first:]))
        self.records = recs
        self._stats = finish_stats(len(recs), lengths)
        n = len(recs)
        avg = {f: total / n for f, total in self._stats.lengths.items()} if n else {}
        #: Each place's field weight, and its BM25 length norm, as `query._scored_by_field`
        #: computes them.
        self.field_weight = array("b", bytes(n * SLOTS))
        self.norm = array("d", bytes(8 * n * SLOTS))
        for place, name, length in held:
            if length:
                self.field_weight[place] = FIELD_WEIGHTS.get(name, 1)
                self.norm[place] = 1 - BM25_B + BM25_B * length / avg[name]
        self.vocab = sorted(df)
        self._df = dict(df)
        self._position = {w: i for i, w in enumerate(self.vocab)}
        ranks = list(map(self._position.__getitem__, every))
        del every
        # by word, and within a word in the order they were met (a stable sort)
        order = sorted(range(len(ranks)), key=ranks.__getitem__)
        self.at = array("I", map(places.__getitem__, order))  # every occurrence's place
        del order, places
        per_word = Counter(ranks)
        self.starts = array("I", [0])  # where each word's occurrences start in `at`
        self.starts.extend(accumulate(map(per_word.__getitem__, range(len(self.vocab)))))
        self._roots: dict[str, list[str]] | None = None

    # --- query.SearchIndex

    def stats(self) -> WordStats:
        return self._stats

    def words_starting(self, prefix: str) -> Iterable[tuple[str, int]]:
        lo, hi = self._range(prefix)
        return [(w, self._df[w]) for w in self.vocab[lo:hi]]

    def words_rooted(self, root: str) -> Iterable[tuple[str, int]]:
        if self._roots is None:
            self.roots()
        assert self._roots is not None
        return [(w, self._df[w]) for w in self._roots.get(root, ())]

    def word(self, word: str) -> int:
        return self._df.get(word, 0)

    def candidates(self, needed: Sequence[tuple[str | None, frozenset[str]]]) -> Iterable[Record]:
        return self.records

    def names(self) -> dict[str, str]:
        raise NotImplementedError  # not read when scoring from the index

    def vocabulary(self) -> Iterable[str]:
        return self.vocab

    # --- the index

    def roots(self) -> None:
        """Group the words by root, once (a second or so of stemming at 100,000 words)."""
        from ..tokens import root

        roots: dict[str, list[str]] = {}
        for w in self.vocab:  # in sorted order, as `query.DatasetIndex` lists them
            roots.setdefault(root(w), []).append(w)
        self._roots = roots

    def _range(self, prefix: str) -> tuple[int, int]:
        """The positions in `vocab` of the words starting with `prefix`."""
        lo = bisect.bisect_left(self.vocab, prefix)
        hi = lo
        if lo < len(self.vocab) and self.vocab[lo].startswith(prefix):
            hi = bisect.bisect_left(self.vocab, prefix + "\U0010ffff", lo)
            while hi < len(self.vocab) and self.vocab[hi].startswith(prefix):
                hi += 1
        return lo, hi

    def _places(self, word: str) -> array[int]:
        i = self._position[word]
        return self.at[self.starts[i] : self.starts[i + 1]]

    def _counts(
        self, term: query.Term, found: dict[str, float]
    ) -> tuple[Counter[int], Counter[int]]:
        """For a one-word term matching the words `found` (from `query._choices`), how many
        of its matching words stand in each place, and how many of those weigh 1: the
        term's weight in a place is their sum halved."""
        w = term.words[0]
        every: Counter[int] = Counter()
        heavy: Counter[int] = Counter()
        if not term.exact:
            lo, hi = self._range(w)
            every.update(self.at[self.starts[lo] : self.starts[hi]])
        for x, weight in found.items():
            if weight == 1.0:
                places = self._places(x)
                heavy.update(places)
                if term.exact or not x.startswith(w):
                    every.update(places)
        return every, heavy

    def ranked(
        self, q: SearchQuery, labels: Mapping[str, Wanted] | None = None
    ) -> list[Record] | None:
        """`query.ranked(dataset, q, **labels)`: the same records in the same order; None
        when a term has several words (not answered here)."""
        if any(len(t.words) != 1 for t in (*q.terms, *q.excluded)):
            return None
        st = self._stats
        n = st.records
        df: dict[str, int] = {}
        wanted = [(t, query._choices(self, t, df)) for t in q.terms]
        if any(not found for _, choices in wanted for found in choices):
            return []
        idf = []
        for _, choices in wanted:
            held = query._doc_freq(n, choices, df)
            idf.append(math.log(1 + (n - held + 0.5) / (held + 0.5)))
        tfs: list[dict[int, float]] = []
        field_weight, norm = self.field_weight, self.norm
        for t, choices in wanted:
            every, heavy = self._counts(t, choices[0])
            tf: dict[int, float] = {}
            more = heavy.get
            at = -1
            total = 0.0
            # by record, then by field in field order: each record's fields add up in
            # the order `query._scored_by_field` adds them
            for place, count in sorted(every.items()):
                part = field_weight[place] * ((count + more(place, 0)) * 0.5) / norm[place]
                r = place // SLOTS
                if r == at:
                    total += part
                else:
                    if at >= 0:
                        tf[at] = total
                    at = r
                    total = 0.0 + part
            if at >= 0:
                tf[at] = total
            tfs.append(tf)
        tfs_by_size = sorted(tfs, key=len)
        held_all = set(tfs_by_size[0])
        for tf in tfs_by_size[1:]:
            held_all.intersection_update(tf)
        for t, choices in ((t, query._choices(self, t)) for t in q.excluded):
            if all(choices):
                every, _ = self._counts(t, choices[0])
                held_all.difference_update(p // SLOTS for p in every)
        recs = self.records
        if labels and any(labels.values()):
            passes = query.label_test(**labels)
            held_all = {r for r in held_all if passes(recs[r])}
        scores: dict[int, float] = {}
        if len(tfs) == 1:
            (weight_idf,), (tf,) = idf, tfs
            for r in held_all:
                x = tf[r]
                scores[r] = 0.0 + weight_idf * x * (BM25_K1 + 1) / (BM25_K1 + x)
        else:
            for r in held_all:
                score = 0.0
                for weight_idf, tf in zip(idf, tfs, strict=True):
                    x = tf[r]
                    score += weight_idf * x * (BM25_K1 + 1) / (BM25_K1 + x)
                scores[r] = score
        order = sorted(scores)  # ties keep dataset order: the sort below is stable
        order.sort(key=scores.__getitem__, reverse=True)
        return [recs[r] for r in order]
