"""Pure functions over a Dataset: look-up, filters, search, timeline, statistics.

Nothing here reads files, parses YAML, or prints.
"""

from __future__ import annotations

import enum
import functools
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import msgspec

from .errors import NotFoundError, UsageError
from .model import (
    DATE_PATTERN,
    DEFINITIONS,
    GLOSSES,
    RATING_SCALE,
    RULES,
    VOCABULARIES,
    Case,
    Claim,
    ClaimKind,
    Dataset,
    Entity,
    Evidence,
    Figure,
    Label,
    Rating,
    Reason,
    Verdict,
)
from .model import NOT_REVIEWED as NOT_REVIEWED
from .tokens import (
    ASCII_MARKS,
    FIELD_WEIGHTS,
    WordStats,
    entity_names,
    search_fields,
    spaced,
    word_count,
    word_counts,
)

Record = Claim | Case


class RecordType(enum.StrEnum):
    """What a record, or a dated event of the timeline, is."""

    CLAIM = "claim"
    CASE = "case"
    LATER = "later"  # a development after the source, from a record's review

    @classmethod
    def of(cls, rec: Record) -> RecordType:
        """The type of a claim or a case."""
        return cls.CLAIM if isinstance(rec, Claim) else cls.CASE


# --- look-up ------------------------------------------------------------------


def suggest(key: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Ids close to `key`: those it is a prefix of or contained in, then close spellings."""
    import difflib

    pool = list(candidates)
    low = key.lower()
    near = [c for c in pool if low and low in c][:n]
    for c in difflib.get_close_matches(low, pool, n=n, cutoff=0.6):
        if c not in near:
            near.append(c)
    return near[:n]


def _match_id(key: str, records: Sequence[Record], prefixes: tuple[str, ...]) -> list[Record]:
    """Records whose id is `key` in any case; failing that, those whose id starts with
    one of `prefixes` + `key` (the first prefix that matches anything wins)."""
    low = key.casefold().strip()
    if not low:
        return []
    exact = [r for r in records if r.id.casefold() == low]
    if exact:
        return exact[:1]
    for prefix in prefixes:
        starts = [r for r in records if r.id.casefold().startswith(prefix + low)]
        if starts:
            return starts
    return []


#: What each kind of record is shown with, for pointing a reader to the right command.
SHOW_COMMAND = {"claim": "show-claim", "case": "show-case"}


def _find(
    kind: str,
    key: str,
    records: Sequence[Record],
    other: tuple[str, Sequence[Record]] | None = None,
) -> Record:
    """A record by id, in any case, or by a unique prefix (with or without `kind-`).

    When nothing matches but the key names a record of the `other` kind, the
    error says which command shows that one.
    """
    by_id = {r.id: r for r in records}
    if key in by_id:
        return by_id[key]
    found = _match_id(key, records, ("", f"{kind}-"))
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise NotFoundError(kind, key, [r.id for r in found[:5]], ambiguous=len(found))
    if other is not None:
        other_kind, other_records = other
        theirs = _match_id(key, other_records, ("", f"{other_kind}-"))
        if len(theirs) == 1:
            rid = theirs[0].id
            use = f"use `immunofacts {SHOW_COMMAND.get(other_kind, 'show-' + other_kind)} {rid}`"
            which = "it" if rid == key else repr(rid)
            hint = f"no {kind} with id {key!r}; {which} is a {other_kind}: {use}"
            raise NotFoundError(kind, key, hint=hint)
    raise NotFoundError(kind, key, suggest(key, by_id))


def find_claim(ds: Dataset, key: str) -> Claim:
    """The claim with this id (any case, or a unique prefix of it), else NotFoundError
    with suggestions, or a pointer to `show-case` when the key names a case."""
    rec = _find("claim", key, ds.claims, ("case", ds.cases))
    assert isinstance(rec, Claim)
    return rec


def find_case(ds: Dataset, key: str) -> Case:
    """The case with this id (any case, or a unique prefix of it), else NotFoundError
    with suggestions, or a pointer to `show-claim` when the key names a claim."""
    rec = _find("case", key, ds.cases, ("claim", ds.claims))
    assert isinstance(rec, Case)
    return rec


def find_record(ds: Dataset, key: str) -> Record:
    """A claim, else a case, with this id or a unique prefix of it; the claim's error if neither."""
    try:
        return find_claim(ds, key)
    except NotFoundError as first:
        try:
            return find_case(ds, key)
        except NotFoundError:
            raise first from None


def find_entity(ds: Dataset, key: str) -> Entity:
    """An entity by id, name or alias (any case), or a unique prefix of one of them. An
    id wins over a name; a name or alias that two entities share names neither (which
    one a dataset lists first is no answer): the error lists their ids."""
    low = key.casefold().strip()
    for e in ds.entities:
        if e.id.casefold() == low:
            return e
    named = [e for e in ds.entities if any(n.casefold() == low for n in (e.name, *e.aliases))]
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(e.id for e in named[:5]) + (", ..." if len(named) > 5 else "")
        raise NotFoundError(
            "entity",
            key,
            [e.id for e in named[:5]],
            hint=f"{key!r} names {len(named)} entities; give one's id: {ids}",
        )
    # A prefix of an id or name first, then of an alias: an alias ("Ms. Hughes") does not
    # make a prefix that names one entity by its name ("Ms." for "Ms. Wang") ambiguous.
    starts = _starting(ds, low, lambda e: (e.id, e.id.removeprefix("ent-"), e.name)) or (
        _starting(ds, low, lambda e: e.aliases)
    )
    if len(starts) == 1:
        return starts[0]
    if len(starts) > 1:
        raise NotFoundError("entity", key, [e.id for e in starts[:5]], ambiguous=len(starts))
    import difflib

    by_name = {n.casefold(): e.id for e in ds.entities for n in (e.id, e.name, *e.aliases)}
    close = difflib.get_close_matches(low, list(by_name), n=3, cutoff=0.6)
    near = list(dict.fromkeys(by_name[c] for c in close))
    raise NotFoundError("entity", key, near or suggest(low, [e.id for e in ds.entities]))


def _starting(ds: Dataset, low: str, names: Callable[[Entity], Iterable[str]]) -> list[Entity]:
    """The entities one of whose `names` starts with `low` (casefolded)."""
    return [e for e in ds.entities if low and any(n.casefold().startswith(low) for n in names(e))]


#: The most ids that shell completion offers at once. Bash and zsh ask before they list
#: more than 100 candidates (readline's completion-query-items, zsh's LISTMAX), and no
#: one reads through thousands: past this many, `capped_ids` keeps a sample whose common
#: beginning is still that of them all, so that what the shell inserts stays right.
COMPLETION_LIMIT = 1000

#: What completion offers the ids of: "record" is a claim or a case.
COMPLETION_KINDS = ("case", "claim", "record", "entity")


def capped_ids(ids: Sequence[str], limit: int = COMPLETION_LIMIT) -> list[str]:
    """The ids that completion offers, of those that match (in dataset order): all of
    them when they are at most `limit`; else the first `limit - 1` in alphabetical order
    and the last. The shell inserts the longest beginning that its candidates share, and
    the first and last in that order share only what all of them share."""
    if limit < 2:
        raise ValueError("a completion limit must be at least 2")
    if len(ids) <= limit:
        return list(ids)
    ordered = sorted(ids)
    return [*ordered[: limit - 1], ordered[-1]]


def completion_ids(ds: Dataset, kind: str, prefix: str, limit: int = COMPLETION_LIMIT) -> list[str]:
    """The ids of `kind` (one of COMPLETION_KINDS) that start with `prefix`, as shell
    completion offers them: in dataset order (claims before cases), at most `limit`
    (see `capped_ids`)."""
    records: Sequence[Claim | Case | Entity]
    if kind == "case":
        records = ds.cases
    elif kind == "claim":
        records = ds.claims
    elif kind == "record":
        records = ds.records()
    elif kind == "entity":
        records = ds.entities
    else:
        raise ValueError(f"no completion of {kind!r}")
    return capped_ids([r.id for r in records if r.id.startswith(prefix)], limit)


# A label's text is read as `_value_` where it is read once per record: the same as
# `.value`, which is a property run as Python code, at twice the cost.


def verdict_of(rec: Record) -> str | None:
    """The review verdict's label, or None when the record is not reviewed."""
    return rec.review.verdict._value_ if rec.review else None


def verdict_label(rec: Record) -> str:
    """The verdict as shown to a reader: its label, or `NOT_REVIEWED`."""
    return verdict_of(rec) or NOT_REVIEWED


def rating_of(rec: Record) -> str | None:
    """The review rating's label, or None when the record is not reviewed."""
    return rec.review.rating._value_ if rec.review else None


def rating_label(rec: Record) -> str:
    """The rating as shown to a reader: its label, or `NOT_REVIEWED`."""
    return rating_of(rec) or NOT_REVIEWED


def records_naming(ds: Dataset, entity_id: str) -> list[Record]:
    """Every claim and case that names an entity (cases through `entities` or `hospital`)."""
    out: list[Record] = [c for c in ds.claims if entity_id in c.entities]
    out += [c for c in ds.cases if entity_id in c.entities or c.hospital == entity_id]
    return out


# --- filters ------------------------------------------------------------------


def year_of(date: str | None) -> int | None:
    """The year of an ISO date at any precision."""
    return int(date[:4]) if date else None


def or_not_reviewed(vocab: type[Label]) -> type[Label]:
    """The values of a filter on a review's label: every label of `vocab`, and
    `not-reviewed` for records without a review."""
    members = [(m.name, m.value) for m in vocab] + [("NOT_REVIEWED", NOT_REVIEWED)]
    functional: Any = Label  # Enum's functional API, which type checkers read as a call
    return functional(f"{vocab.__name__}Filter", members, module=__name__)  # type: ignore[no-any-return]


class LabelFilter(NamedTuple):
    """A filter on one label of a record."""

    values: type[Label]  #: the values it takes
    label: Callable[[Record], str | None]  #: a record's label (None: it has none)
    what: str  #: what it keeps, for the option's help
    gloss: Mapping[str, str] = {}  #: a few words on each value, for the option's help


#: Every filter on a label, by the name of its option: a value a record must have.
#: Given several values, a filter keeps a record having any of them.
LABEL_FILTERS: dict[str, LabelFilter] = {
    "kind": LabelFilter(
        ClaimKind,
        lambda r: r.kind._value_ if isinstance(r, Claim) else None,
        "Only claims of this kind",
    ),
    "evidence": LabelFilter(
        Evidence, lambda r: r.evidence._value_, "Only records resting on this evidence"
    ),
    "verdict": LabelFilter(
        or_not_reviewed(Verdict),
        verdict_label,
        "Only records with this verdict (what checking found)",
        GLOSSES["verdict"],
    ),
    "rating": LabelFilter(
        or_not_reviewed(Rating),
        rating_label,
        "Only records with this rating (what a reader should conclude)",
        GLOSSES["rating"],
    ),
}

#: What a label filter is given: one value, several, or None (or nothing) for no filter.
Wanted = Label | Collection[Label] | None


def label_test(**labels: Wanted) -> Callable[[Record], bool]:
    """The test a record must pass for the label filters given (see `LABEL_FILTERS`):
    any value within one filter, every filter given. A case has no `kind`: filtering
    by kind keeps claims only."""
    tests: list[tuple[Callable[[Record], str | None], frozenset[str]]] = []
    for name, values in labels.items():
        if name not in LABEL_FILTERS:
            raise TypeError(f"no label filter named {name!r}")
        wanted = frozenset(map(str, [values] if isinstance(values, str) else values or ()))
        if wanted:
            tests.append((LABEL_FILTERS[name].label, wanted))
    return lambda rec: all(label(rec) in wanted for label, wanted in tests)


def keeps(rec: Record, **labels: Wanted) -> bool:
    """Whether a record passes the label filters given (see `label_test`)."""
    return label_test(**labels)(rec)


def claim_test(
    ds: Dataset,
    *,
    entity: str | Collection[str] | None = None,
    year: int | Collection[int] | None = None,
    **labels: Wanted,
) -> Callable[[Claim], bool]:
    """The test a claim must pass for the filters of `filter_claims` (entities are
    looked up in `ds`, which needs only its entities)."""
    names = sorted({entity} if isinstance(entity, str) else set(entity or ()))
    entity_ids = {find_entity(ds, e).id for e in names if e} or None
    years = None if year is None else {year} if isinstance(year, int) else set(year) or None
    passes = label_test(**labels)

    def test(c: Claim) -> bool:
        if not passes(c):
            return False
        if entity_ids is not None and entity_ids.isdisjoint(c.entities):
            return False
        return years is None or year_of(c.date) in years

    return test


def filter_claims(
    ds: Dataset,
    *,
    entity: str | Collection[str] | None = None,
    year: int | Collection[int] | None = None,
    **labels: Wanted,
) -> list[Claim]:
    """Claims passing every filter given: on their labels (`LABEL_FILTERS`), on the
    entities they name (resolved like `find_entity`) and on their year. A filter
    given several values keeps claims matching any of them."""
    test = claim_test(ds, entity=entity, year=year, **labels)
    return [c for c in ds.claims if test(c)]


class SortKey(enum.StrEnum):
    """What `sort_claims` orders claims by."""

    RATING = "rating"
    DATE = "date"
    KIND = "kind"
    EVIDENCE = "evidence"


def _sort_value(by: SortKey) -> Callable[[Claim], Any]:
    """A claim's place in the order `by` (None: it has none, and goes last)."""
    if by is SortKey.RATING:  # best first; not-a-fact is off the scale
        return lambda c: (
            -score if c.review and c.review.rating and (score := c.review.rating.score) else None
        )
    if by is SortKey.DATE:
        return lambda c: date_key(c.date) if c.date else None
    if by is SortKey.KIND:
        kinds = list(ClaimKind)
        return lambda c: kinds.index(c.kind)
    evidence = list(Evidence)
    return lambda c: evidence.index(c.evidence)


def sort_claims(claims: Iterable[Claim], by: SortKey, *, reverse: bool = False) -> list[Claim]:
    """Claims in order of `by`: ratings from accurate to incorrect (the scale); dates
    earliest first (a year before the months in it); kinds and evidence in the order
    `labels` lists them. With `reverse`, the other way. Either way, claims with none
    (not rated, rated not-a-fact, undated) come last, and claims that tie keep the
    dataset's order."""
    value = _sort_value(by)
    keyed = [(value(c), c) for c in claims]
    placed = [kc for kc in keyed if kc[0] is not None]
    placed.sort(key=lambda kc: kc[0], reverse=reverse)  # stable, reversed or not
    return [c for _, c in placed] + [c for v, c in keyed if v is None]


# --- search -------------------------------------------------------------------


class Match(msgspec.Struct, frozen=True, gc=False):
    """Where a search term matched: a field, a span in that field's text, and the text
    the span covers (not the field's whole text: a review's, kept for every hit, would
    be most of a search's memory). Its JSON is a hit's match as `search` writes it."""

    field: str
    start: int
    end: int
    text: str


class Hit(msgspec.Struct, frozen=True):
    """A record that matched every search term, with its score and match spans."""

    record: Record
    score: float
    matches: tuple[Match, ...]

    @property
    def words(self) -> tuple[str, ...]:
        """The text each match covers, in the order of `matches`."""
        return tuple([m.text for m in self.matches])


class Term(msgspec.Struct, frozen=True):
    """One part of a search: a word, or words that must stand together in this order.

    Unquoted words match any word they begin (``lymph`` finds "lymphoma") and
    any word with the same English root (``storage`` finds "storing"); quoted
    words (`exact`) match whole words only.
    """

    text: str
    words: tuple[str, ...]
    exact: bool = False


class SearchQuery(msgspec.Struct, frozen=True):
    """A parsed search: terms that must all match, and terms that must not."""

    terms: tuple[Term, ...]
    excluded: tuple[Term, ...] = ()

    def __str__(self) -> str:
        return " ".join([t.text for t in self.terms] + [f"-{t.text}" for t in self.excluded])


#: The most terms one search may have (after duplicates are dropped).
MAX_TERMS = 32
#: The longest word searched for, in characters.
MAX_WORD = 100
_QUERY_PART = re.compile(r'(-?)"([^"]*)"?|(-?)(\S+)')


def parse_query(query: str | Sequence[str]) -> SearchQuery:
    """Split a search into its terms: words, "quoted words", and -excluded ones.

    A sequence (the command line's arguments) is read as one string joined by spaces.
    """
    from .tokens import words

    text = query if isinstance(query, str) else " ".join(query)
    terms: dict[tuple[tuple[str, ...], bool], Term] = {}
    excluded: dict[tuple[tuple[str, ...], bool], Term] = {}
    for m in _QUERY_PART.finditer(text):
        quoted = m.group(2) is not None
        minus = (m.group(1) if quoted else m.group(3)) == "-"
        body = m.group(2) if quoted else m.group(4)
        found = tuple(w[:MAX_WORD] for w in words(body))
        if not found:
            continue
        shown = f'"{body}"' if quoted else body
        into = excluded if minus else terms
        into.setdefault((found, quoted), Term(shown, found, quoted))
    if not terms:
        raise UsageError("give at least one word to search for (see search --help)")
    if len(terms) + len(excluded) > MAX_TERMS:
        raise UsageError(f"too many search terms: at most {MAX_TERMS}")
    return SearchQuery(tuple(terms.values()), tuple(excluded.values()))


class SearchIndex(Protocol):
    """Where search finds its words and records: a parsed dataset, or the cache."""

    def stats(self) -> WordStats:
        """Record count and the total length of each field."""

    def words_starting(self, prefix: str) -> Iterable[tuple[str, int]]:
        """Every word of the collection that starts with `prefix`, with its record count."""

    def words_rooted(self, root: str) -> Iterable[tuple[str, int]]:
        """Every word of the collection whose root is `root`, with its record count,
        in sorted order (suggestions list them in this order, warm or cold)."""

    def word(self, word: str) -> int:
        """How many records hold `word` (0 if none)."""

    def candidates(self, needed: Sequence[tuple[str | None, frozenset[str]]]) -> Iterable[Record]:
        """In dataset order, at least every record that holds, for each (prefix, words)
        of `needed`, a word starting with the prefix (if any) or one of the words."""

    def names(self) -> dict[str, str]:
        """What search reads for each entity, by id: its name and aliases, as
        `tokens.entity_names` gives them."""

    def vocabulary(self) -> Iterable[str]:
        """Every word of the collection, in sorted order."""


class DatasetIndex:
    """A SearchIndex over a dataset in memory: search without a cache."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self._entities = ds.entity_map()
        self._stats, self._df = word_counts(ds.records(), self._entities)
        self._sorted = sorted(self._df)

    def stats(self) -> WordStats:
        return self._stats

    def words_starting(self, prefix: str) -> Iterable[tuple[str, int]]:
        import bisect

        i = bisect.bisect_left(self._sorted, prefix)
        while i < len(self._sorted) and self._sorted[i].startswith(prefix):
            yield self._sorted[i], self._df[self._sorted[i]]
            i += 1

    def words_rooted(self, root: str) -> Iterable[tuple[str, int]]:
        from .tokens import root as root_of

        return sorted((w, n) for w, n in self._df.items() if root_of(w) == root)

    def word(self, word: str) -> int:
        return self._df.get(word, 0)

    def candidates(self, needed: Sequence[tuple[str | None, frozenset[str]]]) -> Iterable[Record]:
        return self.ds.records()

    def names(self) -> dict[str, str]:
        return entity_names(self._entities)

    def vocabulary(self) -> Iterable[str]:
        return self._sorted


def _choices(
    index: SearchIndex, term: Term, df: dict[str, int] | None = None
) -> list[dict[str, float]]:
    """For each word of a term, the collection's words it matches, with how well
    (1 for the word itself or its root, 0.5 for a longer word it begins); into
    `df`, how many records hold each of those words."""
    from .tokens import root

    df = {} if df is None else df
    out: list[dict[str, float]] = []
    for w in term.words:
        if term.exact:
            df[w] = index.word(w)
            out.append({w: 1.0} if df[w] else {})
            continue
        starting = list(index.words_starting(w))
        rooted = list(index.words_rooted(root(w)))
        df.update(starting)
        df.update(rooted)
        found = {t: 0.5 for t, _ in starting}
        found.update((t, 1.0) for t, _ in rooted)
        if w in found:
            found[w] = 1.0
        out.append(found)
    return out


def _doc_freq(records: int, choices: list[dict[str, float]], df: dict[str, int]) -> int:
    """How many records hold a term, bounded from above: for each of its words, the
    record counts (`df`) of the words it matches added up; the least of those."""
    return min(min(records, sum(df[w] for w in sorted(found))) for found in choices)


def _occurrences(
    tokens: list[tuple[int, int, str]], choices: list[dict[str, float]]
) -> list[tuple[int, int, float]]:
    """Where a term stands in a field's words: (start, end, weight) of each occurrence."""
    out = []
    first = choices[0]
    k = len(choices)
    for i in range(len(tokens) - k + 1):
        weight = first.get(tokens[i][2])
        if weight is None:
            continue
        for j in range(1, k):
            more = choices[j].get(tokens[i + j][2])
            if more is None:
                break
            weight = min(weight, more)
        else:
            out.append((tokens[i][0], tokens[i + k - 1][1], weight))
    return out


def _lower_ascii(word: str) -> bool:
    """Whether a word can be a word of ASCII text: ASCII and lowercase."""
    return word.isascii() and word == word.lower()


_EDGE = "(?<![a-z0-9])"
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_AFTER = "(?![a-z0-9])"
_GAP = "[^a-z0-9]+"


class _Term:
    """Where one term stands in a field's text: `_occurrences` over the text's words,
    found without splitting the whole text into words when the text is ASCII.

    The words of ASCII text are its runs of ``[a-z0-9]`` once lowercased (see
    `tokens.words`), so a pattern that ignores ASCII case finds them in place: a
    term's word as a whole run (any run it begins, unless quoted, or a word
    sharing its root), the term's next word after a gap of other characters, and
    so on. Every word a prefix pattern finds is in the collection, so its weight
    is in `choices`.

    A one-word term's weights, when only 1 and 0.5, add up without looking at
    each occurrence: half of all of them, plus half of those weighing 1 (sums
    of halves are exact in floating point, in any order).
    """

    def __init__(self, term: Term, choices: list[dict[str, float]]) -> None:
        self.choices = choices
        self.whole: re.Pattern[str] | None = None  # a one-word term's words weighing 1
        self.loose: re.Pattern[str] | None = None
        self.lowered: re.Pattern[str] | None = None
        self.lowered_pattern: re.Pattern[str] | None = None
        parts = []
        for w, found in zip(term.words, choices, strict=True):
            alts = []
            prefix = not term.exact and _lower_ascii(w)
            if prefix:
                alts.append(re.escape(w) + "[a-z0-9]*")
            alts += [  # a word of ASCII text is lowercase: no other can stand there
                re.escape(x)
                for x in sorted(found, key=lambda x: (-len(x), x))
                if _lower_ascii(x) and not (prefix and x.startswith(w))
            ]
            if not alts:
                self.pattern: re.Pattern[str] | None = None  # nothing ASCII can hold it
                return
            parts.append(f"({'|'.join(alts)}){_AFTER}")
        body = _GAP.join(parts)
        # A one-word pattern without the look behind is quicker to search for (its words
        # are letters and digits only, so a match inside a word ends where the word does
        # and hides no other); `find` checks the character before instead.
        self.loose = re.compile(body, re.ASCII | re.IGNORECASE) if len(parts) == 1 else None
        # The same patterns for text already lowercased (`find_lowered`): quicker still,
        # since a pattern that heeds case is searched for by its first letters.
        if len(parts) == 1:
            self.lowered = re.compile(body, re.ASCII)
        body = _EDGE + (f"(?={body})" if len(parts) > 1 else body)
        self.pattern = re.compile(body, re.ASCII | re.IGNORECASE)
        self.lowered_pattern = re.compile(body, re.ASCII)
        if len(choices) == 1 and set(choices[0].values()) <= {0.5, 1.0}:
            heavy = sorted(
                (x for x, v in choices[0].items() if v == 1.0 and _lower_ascii(x)), key=len
            )
            either = "|".join(re.escape(x) for x in reversed(heavy)) or "(?!)"
            self.whole = re.compile(f"{_EDGE}(?:{either}){_AFTER}", re.ASCII | re.IGNORECASE)

    def weight(self, text: str) -> float:
        """The weights of the occurrences in a field's text, added up (0 for none)."""
        if self.whole is None or not text.isascii():
            return sum(w for _, _, w in self.find(text))
        assert self.pattern is not None
        found = len(self.pattern.findall(text))
        return (found + len(self.whole.findall(text))) * 0.5 if found else 0.0

    def find_lowered(self, text: str) -> list[tuple[int, int, float]]:
        """`find` in ASCII text without capitals (`str.lower` keeps every offset of
        ASCII text: find in ``text.lower()`` what `find` finds in ``text``)."""
        if self.lowered_pattern is None:
            return []
        return _scan(self.lowered, self.lowered_pattern, self.choices, text, fold=False)

    def find(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, weight) of each occurrence in a field's text."""
        if not text.isascii():
            from .tokens import spans

            return _occurrences(spans(text), self.choices)
        if self.pattern is None:
            return []
        return _scan(self.loose, self.pattern, self.choices, text, fold=True)


def _scan(
    loose: re.Pattern[str] | None,
    pattern: re.Pattern[str],
    choices: list[dict[str, float]],
    text: str,
    *,
    fold: bool,
) -> list[tuple[int, int, float]]:
    """(start, end, weight) of each occurrence that a term's patterns find in ASCII
    text: with `loose`, a one-word term's quicker pattern (the character before each
    match checked here), else `pattern`, one group a word. With `fold`, the words
    found are lowercased before their weights are looked up."""
    out = []
    if loose is not None:
        first = choices[0]
        for m in loose.finditer(text):
            a = m.start()
            if a and text[a - 1] in _ALNUM:
                continue
            word = m.group(1)
            weight = first.get(word.lower() if fold else word)
            if weight is not None:
                out.append((a, m.end(), weight))
        return out
    k = len(choices)
    for m in pattern.finditer(text):
        word = m.group(1)
        weight = choices[0].get(word.lower() if fold else word)
        if weight is None:
            continue
        for j in range(1, k):
            word = m.group(j + 1)
            more = choices[j].get(word.lower() if fold else word)
            if more is None:
                break
            weight = min(weight, more)
        else:
            out.append((m.start(1), m.end(k), weight))
    return out


#: BM25's term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75


def search(
    source: Dataset | SearchIndex,
    query: str | Sequence[str] | SearchQuery,
    **labels: Wanted,
) -> list[Hit]:
    """Claims and cases matching every term of `query`, best first (see `search --help`).

    `source` is a dataset, or any SearchIndex (the cache is one): both give the
    same hits with the same scores. A case has no `kind`: filtering by kind
    keeps claims only. `labels` are filters as in `label_test`. Ties keep dataset
    order.
    """
    return _search(source, query, labels, marks=True)


def ranked(
    source: Dataset | SearchIndex,
    query: str | Sequence[str] | SearchQuery,
    *,
    keep_collector: bool = False,
    **labels: Wanted,
) -> list[Record]:
    """The records of `search`'s hits, in its order, found without marking where
    each term matched (so faster). With `keep_collector`, the cyclic garbage collector
    is left as it is (a long-running program, searching in a thread, wants it kept)."""
    if keep_collector:
        return [h.record for h in _ranked_hits(source, query, labels, marks=False)]
    return [h.record for h in _search(source, query, labels, marks=False)]


#: From how many candidates `encoded_hits` shares its work with a second process.
SHARED_AT = 2000


class SharingIndex(SearchIndex, Protocol):
    """A SearchIndex that filters by labels itself, and can share a search's work with a
    second process (the cache's)."""

    def shared(
        self,
        needed: Sequence[tuple[str | None, frozenset[str]]],
        work: Callable[[Iterable[tuple[int, Any]]], list[tuple[float, int, bytes]]],
        at_least: int,
    ) -> list[tuple[float, int, bytes | memoryview]]:
        """`work` of the candidates, each with its number in dataset order."""


#: How many hits `encoded_hits` encodes at once.
ENCODED_AT_ONCE = 32


def encoded_hits(
    index: SharingIndex,
    query: str | Sequence[str] | SearchQuery,
    encode: Callable[[list[Hit]], list[bytes]],
) -> list[bytes | memoryview]:
    """`search`'s hits, best first, each as `encode` makes it (given a few hits, it makes
    each one's bytes): scored and encoded in two processes at once when there are at
    least `SHARED_AT` candidates (see `shared`)."""
    import gc
    import itertools
    import operator

    ranking = _Ranking.of(index, query, {})
    if ranking is None:
        return []

    def work(candidates: Iterable[tuple[int, Any]]) -> list[tuple[float, int, bytes]]:
        out: list[tuple[float, int, bytes]] = []
        hits = ranking.hits(candidates, marks=True)
        while some := list(itertools.islice(hits, ENCODED_AT_ONCE)):
            made = encode([h for _, _, h in some])
            out += [(s, order, b) for (s, order, _), b in zip(some, made, strict=True)]
        return out

    collecting = gc.isenabled()  # as `_search`
    gc.disable()
    try:
        hits = index.shared(ranking.needed, work, SHARED_AT)
    finally:
        if collecting:
            gc.enable()
    # By score, ties in dataset order: in two stable sorts, the first quick (the hits
    # come in runs already in dataset order), the second on floats alone.
    hits.sort(key=operator.itemgetter(1))
    hits.sort(key=operator.itemgetter(0))
    return [h[2] for h in hits]


def _search(
    source: Dataset | SearchIndex,
    query: str | Sequence[str] | SearchQuery,
    labels: Mapping[str, Wanted],
    *,
    marks: bool,
) -> list[Hit]:
    """`search`; without `marks`, the hits carry no matches and no words."""
    import gc

    # A search makes objects for every hit (its record, its fields, its matches) and
    # frees almost none of them before it returns: the cyclic collector, run as they
    # are made, would walk them again and again for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _ranked_hits(source, query, labels, marks=marks)
    finally:
        if collecting:
            # The hits are kept, or freed by counting references: left to the collector,
            # rendering them (thousands of small objects more) would walk them all again,
            # several times, for nothing.
            gc.freeze()
            gc.enable()


def _ranked_hits(
    source: Dataset | SearchIndex,
    query: str | Sequence[str] | SearchQuery,
    labels: Mapping[str, Wanted],
    *,
    marks: bool,
) -> list[Hit]:
    """`_search`, with the collector as it is."""
    import operator

    ranking = _Ranking.of(source, query, labels)
    if ranking is None:
        return []
    hits = list(ranking.hits(enumerate(ranking.index.candidates(ranking.needed)), marks=marks))
    hits.sort(key=operator.itemgetter(0, 1))  # by score, ties in dataset order
    return [h[2] for h in hits]


class _Ranking:
    """A search made ready to score records: its terms found in the collection, their
    weights, and what the index is asked for (`needed`)."""

    def __init__(
        self,
        index: SearchIndex,
        needed: list[tuple[str | None, frozenset[str]]],
        passes: Callable[[Record], bool] | None,
        wanted_at: list[tuple[_Term, float]],
        unwanted_at: list[_Term],
        avg: dict[str, float],
    ) -> None:
        self.index = index
        self.needed = needed
        self.names = index.names()
        self.passes = passes
        self.wanted_at = wanted_at
        self.unwanted_at = unwanted_at
        self.avg = avg

    @classmethod
    def of(
        cls,
        source: Dataset | SearchIndex,
        query: str | Sequence[str] | SearchQuery,
        labels: Mapping[str, Wanted],
    ) -> _Ranking | None:
        """The ranking of a search, or None when a term matches no word of the collection
        (then nothing matches)."""
        import math

        index = DatasetIndex(source) if isinstance(source, Dataset) else source
        q = query if isinstance(query, SearchQuery) else parse_query(query)
        st = index.stats()
        n = st.records
        df: dict[str, int] = {}
        wanted = [(t, _choices(index, t, df)) for t in q.terms]
        if any(not found for _, choices in wanted for found in choices):
            return None
        unwanted = [(t, _choices(index, t)) for t in q.excluded]
        unwanted = [(t, c) for t, c in unwanted if all(c)]
        idf = []
        for _, choices in wanted:
            held = _doc_freq(n, choices, df)
            idf.append(math.log(1 + (n - held + 0.5) / (held + 0.5)))
        avg = {f: total / n for f, total in st.lengths.items()} if n else {}
        needed = [
            (None if t.exact else w, frozenset(x for x in found if t.exact or not x.startswith(w)))
            for t, choices in wanted
            for w, found in zip(t.words, choices, strict=True)
        ]
        passes = label_test(**labels) if any(labels.values()) else None
        wanted_at = [
            (_Term(t, c), weight_idf) for (t, c), weight_idf in zip(wanted, idf, strict=True)
        ]
        unwanted_at = [_Term(t, c) for t, c in unwanted]
        return cls(index, needed, passes, wanted_at, unwanted_at, avg)

    def hits(
        self, candidates: Iterable[tuple[int, Any]], *, marks: bool
    ) -> Iterator[tuple[float, int, Hit]]:
        """(-score, order, hit) of each of the candidates (with their order in the
        dataset's) that is a hit, in the order given; without `marks`, the hits carry no
        matches."""
        passes, names, unwanted_at = self.passes, self.names, self.unwanted_at
        wanted_at, avg = self.wanted_at, self.avg
        # each matched word kept once, however many hits have it; None: no matches made
        seen: dict[str, str] | None = {} if marks else None
        sort = len(wanted_at) > 1
        for order, rec in candidates:
            if passes is not None and not passes(rec):
                continue
            fields = search_fields(rec, names)
            if unwanted_at and any(t.weight(text) for t in unwanted_at for _, text in fields):
                continue
            lowered = _joined(fields)
            if lowered is not None:
                scored = _scored(fields, lowered, wanted_at, avg, seen)
            else:
                scored = _scored_by_field(fields, wanted_at, avg, seen)
            if scored is not None:
                score, matches = scored
                if sort or isinstance(rec, Case):
                    # one term's matches come in the order of the record's fields, which
                    # for a claim is `_FIELD_ORDER`'s
                    matches.sort(key=lambda m: (_FIELD_ORDER[m.field], m.start))
                yield -score, order, Hit(rec, score, tuple(matches))


#: What joins a record's fields into one text to search at once: no word runs across it.
_FIELD_GAP = "\n"


def _joined(fields: list[tuple[str, str]]) -> str | None:
    """A record's fields joined by `_FIELD_GAP` and lowercased, for `_scored`, if that text
    is ASCII once `tokens.spaced` has made its common punctuation spaces (one character
    for one, as `str.lower` of ASCII text is: every offset stays); else None."""
    joined = _FIELD_GAP.join([text for _, text in fields])
    if not joined.isascii():
        joined = spaced(joined)
        if not joined.isascii():
            return None
    return joined.lower()


def _scored(
    fields: list[tuple[str, str]],
    lowered: str,
    wanted_at: list[tuple[_Term, float]],
    avg: dict[str, float],
    seen: dict[str, str] | None,
) -> tuple[float, list[Match]] | None:
    """`_scored_by_field`, with each term searched for once in the record's fields joined
    (`lowered`, from `_joined`).

    A match is in the field where it starts; one that runs on into the next field (a
    quoted term's words, with the gap between fields between them) is no match. Each
    field's weights are added up in the order they occur, and the fields' in field
    order, as `_scored_by_field` does: the same sums, to the last bit."""
    starts = [0]
    at = 0
    for _, text in fields:
        at += len(text) + 1
        starts.append(at)  # the last: where a field after the last would start
    matches: list[Match] = []
    marked: bytes | None = None
    lengths: dict[int, int] = {}
    score = 0.0
    for term, weight_idf in wanted_at:
        weights: dict[int, float] = {}  # by field, in field order (as matches are found)
        i = 0
        if term.lowered is not None:  # one word: `find_lowered`'s loop, made here at once
            first = term.choices[0]
            end, name, text, base = starts[1], *fields[0], 0
            for m in term.lowered.finditer(lowered):
                a = m.start()
                if a and lowered[a - 1] in _ALNUM:
                    continue
                w = first.get(m.group(1))
                if w is None:
                    continue
                b = m.end()
                if a >= end:
                    while a >= starts[i + 1]:
                        i += 1
                    end, name, text, base = starts[i + 1], *fields[i], starts[i]
                if b >= end:  # runs on into the next field
                    continue
                weights[i] = weights.get(i, 0.0) + w
                if seen is not None:
                    word = text[a - base : b - base]
                    matches.append(Match(name, a - base, b - base, seen.setdefault(word, word)))
        else:
            for a, b, w in term.find_lowered(lowered):
                while a >= starts[i + 1]:
                    i += 1
                if b >= starts[i + 1]:  # runs on into the next field
                    continue
                weights[i] = weights.get(i, 0.0) + w
                if seen is not None:
                    name, text = fields[i]
                    word = text[a - starts[i] : b - starts[i]]
                    word = seen.setdefault(word, word)
                    matches.append(Match(name, a - starts[i], b - starts[i], word))
        tf = 0.0
        for i, weight in weights.items():
            if not weight:
                continue
            if i not in lengths:
                if marked is None:  # a word starts wherever a letter or digit follows a gap
                    marked = (" " + lowered).encode("ascii").translate(ASCII_MARKS)
                lengths[i] = marked.count(b" a", starts[i], starts[i + 1])
            name = fields[i][0]
            norm = 1 - BM25_B + BM25_B * lengths[i] / avg[name]
            tf += FIELD_WEIGHTS.get(name, 1) * weight / norm
        if tf == 0.0:
            return None
        score += weight_idf * tf * (BM25_K1 + 1) / (BM25_K1 + tf)
    return score, matches


def _scored_by_field(
    fields: list[tuple[str, str]],
    wanted_at: list[tuple[_Term, float]],
    avg: dict[str, float],
    seen: dict[str, str] | None,
) -> tuple[float, list[Match]] | None:
    """A record's score (BM25 over its fields) and, with `seen` (each word a match covers,
    kept once), where each term matched; None if a term matches none of them."""
    matches: list[Match] = []
    lengths: dict[str, int] = {}
    score = 0.0
    for at, weight_idf in wanted_at:
        tf = 0.0
        for name, text in fields:
            if seen is not None:
                found = at.find(text)
                for a, b, _ in found:
                    word = text[a:b]
                    matches.append(Match(name, a, b, seen.setdefault(word, word)))
                weight = sum(w for _, _, w in found)
            else:
                weight = at.weight(text)
            if not weight:
                continue
            if name not in lengths:
                lengths[name] = word_count(text)
            norm = 1 - BM25_B + BM25_B * lengths[name] / avg[name]
            tf += FIELD_WEIGHTS.get(name, 1) * weight / norm
        if tf == 0.0:
            return None
        score += weight_idf * tf * (BM25_K1 + 1) / (BM25_K1 + tf)
    return score, matches


class Misses(NamedTuple):
    """Why a search found nothing: the words of its terms that match no word of the
    collection (none: each matches, but no record has them all), and words of the
    collection close to those."""

    words: list[str]
    near: list[str]


def misses(source: Dataset | SearchIndex, query: SearchQuery, n: int = 5) -> Misses:
    """The query's words that match nothing, and up to `n` words close to them."""
    import difflib

    from .tokens import root

    index = DatasetIndex(source) if isinstance(source, Dataset) else source
    vocab: list[str] | None = None
    words: list[str] = []
    out: list[str] = []
    for t in query.terms:
        for w, found in zip(t.words, _choices(index, t), strict=True):
            if found:
                continue
            if w not in words:
                words.append(w)
            if vocab is None:
                vocab = list(index.vocabulary())
            close = difflib.get_close_matches(w, vocab, n=3, cutoff=0.6)
            for c in close:  # each close word, then the words sharing its root
                family = [c] + [t for t, _ in index.words_rooted(root(c)) if t != c]
                out += [v for v in family if v not in out]
    return Misses(words, out[:n])


def near_words(source: Dataset | SearchIndex, query: SearchQuery, n: int = 5) -> list[str]:
    """Words of the collection close to the query's words that match nothing."""
    return misses(source, query, n).near


_FIELD_ORDER = {name: i for i, name in enumerate(FIELD_WEIGHTS)}


# --- dates and timeline -----------------------------------------------------------

_DATE = re.compile(DATE_PATTERN)


@functools.lru_cache(maxsize=4096)  # a timeline sorts many events on few dates
def date_key(date: str) -> tuple[int, int, int]:
    """Sort key for an ISO date at any precision: a period sorts at its start,
    before the more precise dates inside it (``2020`` < ``2020-01`` < ``2020-01-05``)."""
    parts = [int(p) for p in date.split("-")]
    parts += [0] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def date_bounds(date: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The first and last day a partial date can mean, as sortable triples."""
    y, m, d = date_key(date)
    return (y, m or 1, d or 1), (y, m or 12, d or 31)


def parse_date_option(value: str, option: str) -> str:
    """Check a user-given partial ISO date, or raise UsageError."""
    if not _DATE.match(value):
        raise UsageError(f"{option}: expected YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")
    if len(value) == 10:
        import datetime

        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"{option}: {value!r} is not a calendar date") from None
    return value


class TimelineEvent(msgspec.Struct, frozen=True, rename={"record_id": "id", "record_type": "type"}):
    """One dated thing: a dated claim, or a dated step in a case. Encoded, it is the
    timeline's output shape (`render.shapes.EventJSON`) as it is."""

    date: str
    record_id: str
    record_type: RecordType
    description: str
    quote: str | None


def _later(rec: Record) -> list[TimelineEvent]:
    """A record's dated developments after the source, as timeline events."""
    if rec.review is None:
        return []
    return [
        TimelineEvent(d.date, rec.id, RecordType.LATER, d.description, None)
        for d in rec.review.later
        if d.date
    ]


def _distinct_later(ds: Dataset) -> list[TimelineEvent]:
    """Every dated later development once: one told on several records (a death
    noted on a case and on its claims) is listed under the case that tells it,
    else under the first claim."""
    seen: dict[tuple[str, str], TimelineEvent] = {}
    records: list[Record] = [*ds.cases, *ds.claims]
    for rec in records:
        for item in _later(rec):
            seen.setdefault((item.date, item.description), item)
    return list(seen.values())


def timeline_events(ds: Dataset) -> list[TimelineEvent]:
    """Every dated claim, case event and later development, in date order."""
    events: list[TimelineEvent] = []
    for c in ds.claims:
        if c.date:
            events.append(TimelineEvent(c.date, c.id, RecordType.CLAIM, c.statement, c.quote))
    for case in ds.cases:
        for step in case.events:
            events.append(
                TimelineEvent(step.date, case.id, RecordType.CASE, step.description, step.quote)
            )
    events += _distinct_later(ds)
    events.sort(key=lambda e: date_key(e.date))  # stable: ties keep dataset order
    return events


def between(
    events: Iterable[TimelineEvent], *, since: str | None = None, until: str | None = None
) -> list[TimelineEvent]:
    """The events whose whole period lies within [since, until] (see `timeline`)."""
    lo = date_bounds(since)[0] if since else None
    hi = date_bounds(until)[1] if until else None
    kept = []
    for item in events:
        first, last = date_bounds(item.date)
        if lo is not None and first < lo:
            continue
        if hi is not None and last > hi:
            continue
        kept.append(item)
    return kept


def timeline(
    ds: Dataset, *, since: str | None = None, until: str | None = None
) -> list[TimelineEvent]:
    """Every dated claim, case event and later development, in date order, within [since, until].

    An event is kept when the whole period its date names lies in the range:
    with ``--since 2020-06``, an event dated only ``2020`` is left out, since it
    may have happened before June.
    """
    return between(timeline_events(ds), since=since, until=until)


# --- labels -------------------------------------------------------------------


class LabelInfo(msgspec.Struct, frozen=True, omit_defaults=True):
    """One label of one vocabulary, with what it means and, for some, when it applies."""

    vocabulary: str
    label: str
    definition: str
    rule: str | None = None  #: when a reviewer applies it (verdicts and ratings)
    value: int | None = None  #: its place on the rating scale (ratings on the scale)
    uses: int | None = None  #: how many records (or entities, figures) of a dataset carry it


def label_uses(ds: Dataset) -> Counter[tuple[str, str]]:
    """How often a dataset uses each label, by (vocabulary, label): claims and cases for
    kinds, evidence, verdicts, ratings and reasons; entities; figures."""
    out: Counter[tuple[str, str]] = Counter()
    for c in ds.claims:
        out["kind", c.kind.value] += 1
        out.update(("qualifier", f.qualifier.value) for f in c.figures)
    for rec in ds.records():
        out["evidence", rec.evidence.value] += 1
        if rec.review is not None:
            out["verdict", rec.review.verdict.value] += 1
            out["rating", rec.review.rating.value] += 1
            out.update(("reason", r.value) for r in rec.review.reasons)
    out.update(("entity type", e.type.value) for e in ds.entities)
    return out


def labels(word: str | None = None, ds: Dataset | None = None) -> list[LabelInfo]:
    """Every label of every vocabulary, in declaration order; with `word`, the labels
    spelled so (in any vocabulary), or every label of the vocabulary named so; with
    `ds`, how often that dataset uses each.

    An unknown word raises NotFoundError with the closest labels."""
    uses = label_uses(ds) if ds is not None else None
    out = [
        LabelInfo(
            name,
            label.value,
            DEFINITIONS[name][label.value],
            RULES.get(name, {}).get(label.value),
            RATING_SCALE.get(label) if isinstance(label, Rating) else None,
            uses[name, label.value] if uses is not None else None,
        )
        for name, vocab in VOCABULARIES.items()
        for label in vocab
    ]
    if word is None:
        return out
    low = word.strip().casefold()
    vocab_names = {name.casefold(): name for name in VOCABULARIES}
    vocab_names |= {name.casefold() + "s": name for name in VOCABULARIES}  # "ratings", "reasons"
    if low in vocab_names:
        return [x for x in out if x.vocabulary == vocab_names[low]]
    found = [x for x in out if x.label == low]
    if found:
        return found
    near = suggest(low, [*dict.fromkeys(x.label for x in out), *VOCABULARIES])
    hint = f"no label or vocabulary named {word!r}"
    hint += "; did you mean " + " or ".join(repr(s) for s in near) + "?" if near else ""
    raise NotFoundError("label", word, near, hint=hint + " (`immunofacts labels` lists them all)")


# --- statistics ---------------------------------------------------------------


class HeadlineFigure(msgspec.Struct, frozen=True):
    """A number the source states, with the claim it belongs to."""

    claim_id: str
    figure: Figure


class Stats(msgspec.Struct, frozen=True):
    """The source's headline figures and the dataset's own breakdown."""

    figures: tuple[HeadlineFigure, ...]
    counts: dict[str, int]
    by_kind: dict[str, int]
    by_evidence: dict[str, int]
    by_verdict: dict[str, int]
    by_rating: dict[str, int]  # claims by rating, best first; `not-reviewed` last
    by_reason: dict[str, int]  # claims by reason tag (a claim may carry several)
    by_year: dict[str, int]
    cases_by_evidence: dict[str, int]
    cases_by_verdict: dict[str, int]
    cases_by_rating: dict[str, int]
    backing: dict[str, tuple[str, str, str]]  # claim id -> (evidence, verdict, rating)
    cases: tuple[CaseOutcome, ...] = ()
    #: How many figures and cases follow those given, left out when the first few were
    #: read for a dashboard (`stats` gives them all).
    more_figures: int = 0
    more_cases: int = 0


class CaseOutcome(msgspec.Struct, frozen=True):
    """A case in brief: how it is judged, and what happened after the source."""

    id: str
    title: str
    verdict: str
    rating: str
    later: tuple[str, ...] = ()  # developments after the source, dated where known


def _counted(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


#: The order ratings are counted in: the scale from best to worst, then off the scale.
RATING_ORDER = (*sorted(RATING_SCALE, key=lambda r: -RATING_SCALE[r]), Rating.NOT_A_FACT)


def _by_rating(records: Sequence[Record]) -> dict[str, int]:
    """Records counted by rating, in scale order (best first), then `not-reviewed`."""
    counts = Counter(rating_label(r) for r in records)
    order = [r.value for r in RATING_ORDER] + [NOT_REVIEWED]
    return {label: counts[label] for label in order if counts[label]}


def _by_reason(records: Sequence[Record]) -> dict[str, int]:
    """Records counted by reason tag, most used first, ties in vocabulary order."""
    counts = Counter(tag._value_ for r in records if r.review for tag in r.review.reasons)
    order = {tag.value: i for i, tag in enumerate(Reason)}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], order[kv[0]])))


def stats(ds: Dataset) -> Stats:
    """Headline figures (those of statistic claims) and counts by kind, evidence, verdict, year."""
    figs = [
        HeadlineFigure(c.id, f)
        for c in ds.claims
        if c.kind._value_ == "statistic"
        for f in c.figures
    ]
    return Stats(
        figures=tuple(figs),
        counts={"claims": len(ds.claims), "cases": len(ds.cases), "entities": len(ds.entities)},
        by_kind=_counted(c.kind._value_ for c in ds.claims),
        by_evidence=_counted(c.evidence._value_ for c in ds.claims),
        by_verdict=_counted(verdict_label(c) for c in ds.claims),
        by_rating=_by_rating(ds.claims),
        by_reason=_by_reason(ds.claims),
        by_year=dict(
            sorted(Counter(c.date[:4] if c.date else "undated" for c in ds.claims).items())
        ),
        cases_by_evidence=_counted(c.evidence._value_ for c in ds.cases),
        cases_by_verdict=_counted(verdict_label(c) for c in ds.cases),
        cases_by_rating=_by_rating(ds.cases),
        backing={
            c.id: (c.evidence.value, verdict_label(c), rating_label(c))
            for c in ds.claims
            if c.figures
        },
        cases=tuple(
            CaseOutcome(
                c.id,
                c.title,
                verdict_label(c),
                rating_label(c),
                tuple(
                    f"{d.date}: {d.description}" if d.date else d.description
                    for d in (c.review.later if c.review else ())
                ),
            )
            for c in ds.cases
        ),
    )


# --- entities -----------------------------------------------------------------


class EntityCount(msgspec.Struct, frozen=True):
    """An entity and how many claims and cases name it."""

    entity: Entity
    claims: int
    cases: int


def entity_counts(ds: Dataset) -> list[EntityCount]:
    """Every entity with its claim and case counts, most named first."""
    claims = Counter(e for c in ds.claims for e in set(c.entities))
    cases = Counter(
        e for c in ds.cases for e in set(c.entities) | ({c.hospital} if c.hospital else set())
    )
    out = [EntityCount(e, claims[e.id], cases[e.id]) for e in ds.entities]
    out.sort(key=lambda x: (-(x.claims + x.cases), x.entity.type.value, x.entity.name.casefold()))
    return out


# --- the source text ------------------------------------------------------------


class Span(msgspec.Struct, frozen=True):
    """A stretch of the source text quoted by a record."""

    start: int
    end: int
    record_id: str


def quote_spans(ds: Dataset) -> list[Span]:
    """Where each claim's and case's quote stands in the source text, in text order."""
    text = ds.source_text or ""
    spans: list[Span] = []
    for rec in ds.records():
        i = text.find(rec.quote)
        if i >= 0:
            spans.append(Span(i, i + len(rec.quote), rec.id))
    spans.sort(key=lambda s: (s.start, -s.end))
    return spans


#: A paragraph: lines of text up to an empty line, a line ended by LF or CRLF (a lone
#: CR is a character of its line, which a view shows as an escape, not a line break).
#: Linear: each line is read once, and nothing read is read again.
_LINE = r"(?:[^\r\n]++|\r(?!\n))++"
_PARAGRAPH = re.compile(rf"{_LINE}(?:\r?\n{_LINE})*+")


def paragraphs(text: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of each paragraph: runs of text between blank lines,
    whether the lines end in LF or in CRLF (as a text written on Windows does)."""
    return [m.span() for m in _PARAGRAPH.finditer(text)]


def paragraph_around(text: str, start: int) -> tuple[int, int]:
    """The paragraph holding offset `start`."""
    for a, b in paragraphs(text):
        if a <= start < b:
            return a, b
    return start, start


class Passage(msgspec.Struct, frozen=True):
    """A record's quote inside its paragraph of the source text, with offsets into the text."""

    record: Record
    paragraph: str
    paragraph_start: int
    start: int
    end: int


def passage(ds: Dataset, rec: Record) -> Passage:
    """Where a record's quote stands in the source text, and the paragraph around it."""
    text = ds.source_text or ""
    start = text.find(rec.quote)
    a, b = paragraph_around(text, start)
    return Passage(rec, text[a:b], a, start, start + len(rec.quote))


def shared_names(ds: Dataset) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Names and aliases that more than one entity has, compared in any case as
    `find_entity` compares them: where each stands after its first (the path into the
    data of ``entities[3].name``, ``entities[3].aliases[0]``), the name as written there,
    and which entity it also names. A lookup by such a name names neither entity
    (`find_entity`); each is still named by its id. Not a problem of the dataset (two
    people may share a name), but its author would want to know: `validate` warns of
    them."""
    first: dict[str, int] = {}
    found: list[tuple[tuple[str | int, ...], str, str]] = []
    for i, e in enumerate(ds.entities):
        own: set[str] = set()  # an alias that repeats the entity's own name is harmless
        named: list[tuple[tuple[str | int, ...], str]] = [(("name",), e.name)]
        named += [(("aliases", j), a) for j, a in enumerate(e.aliases)]
        for where, value in named:
            key = value.casefold()
            if key in own:
                continue
            own.add(key)
            at = first.setdefault(key, i)
            if at != i:
                found.append(
                    (
                        ("entities", i, *where),
                        value,
                        f"{value!r} also names entities[{at}] ({ds.entities[at].id}):"
                        " a lookup by it names neither; give an id",
                    )
                )
    return found


def uncovered_paragraphs(ds: Dataset, min_chars: int = 60) -> list[str]:
    """Paragraphs of substance (longer than `min_chars`) that no quote falls in.

    The source's credit line (`source.credit`), where it stands as a paragraph of
    its own, is not a paragraph of substance.
    """
    text = ds.source_text or ""
    spans = quote_spans(ds)
    credit = (ds.source.credit or "").strip()
    out = []
    for a, b in paragraphs(text):
        para = text[a:b]
        if len(para) <= min_chars or (credit and para.strip() == credit):
            continue
        if not any(a <= s.start and s.end <= b for s in spans):
            out.append(para)
    return out
