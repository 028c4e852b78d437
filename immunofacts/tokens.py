"""Words as search sees them: the one tokeniser for the index and the query.

A word is a run of letters and digits (combining marks stay inside the word
they follow); each Chinese, Japanese or Korean character is a word of its own,
since those scripts put no spaces between words. A word is folded for
matching: case-folded (so ``ſ`` is ``s`` and the Kelvin sign is ``k``),
compatibility-decomposed, and stripped of its accents (``ı`` folds to ``i``),
keeping only letters and digits.

English words also have a root: the Snowball stem, with a final ``-e`` and an
``-age`` suffix taken off, so that "store", "storing", "stored" and "storage"
share one.

The cache indexes exactly the words this module gives, and search matches
the words it gives for the query, so a search from the cache and a search of
the parsed file cannot disagree about what a word is.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

import msgspec

from .model import Case, Claim, Entity

# Scripts written without spaces between words: each character is a word.
_UNSPACED = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\u3040-\u30ff\uff66-\uff9f"
# Combining marks of the common blocks: part of the word they follow.
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f"
_MARKS += "\u0900-\u0903\u093a-\u094f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_LETTER = rf"[^\W_{_UNSPACED}]"
#: A word of the original text, with its offsets (for marking matches).
WORD = rf"[{_UNSPACED}]|(?:{_LETTER}|[{_MARKS}])+"
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_KEEP = rf"[{_UNSPACED}]|{_LETTER}+"


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)  # on first use: these take milliseconds to compile


# Letters that do not decompose but read as a plain Latin letter.
_FOLD = str.maketrans({"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "æ": "ae"})


@functools.lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """The form a word is matched by: case-folded, unaccented, letters and digits only."""
    if word.isascii():
        return word.lower()
    text = unicodedata.normalize("NFKD", word.casefold().translate(_FOLD))
    text = text.casefold()  # what decomposes to a capital (``ᴬ``, ``™``, ``ℍ``) folds too
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return "".join(_compiled(_KEEP).findall(text.translate(_FOLD)))


def words(text: str) -> list[str]:
    """The folded words of a text, in order (words that fold to nothing are dropped)."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    out = []
    for w in _compiled(WORD).findall(text):
        f = fold(w)
        if f:
            out.append(f)
    return out


def spans(text: str) -> list[tuple[int, int, str]]:
    """Each word of a text as (start, end, folded word), offsets into `text`."""
    if text.isascii():  # lower() keeps every offset of ASCII text
        return [(m.start(), m.end(), m.group()) for m in _ASCII_WORD.finditer(text.lower())]
    out = []
    for m in _compiled(WORD).finditer(text):
        f = fold(m.group())
        if f:
            out.append((m.start(), m.end(), f))
    return out


_stemmer: Any = None


@functools.lru_cache(maxsize=65536)
def root(word: str) -> str:
    """The root an English word shares with its inflections (``storage`` -> ``stor``).

    Only words of ASCII letters have one; any other word is its own root.
    """
    if not word.isascii() or not word.isalpha() or len(word) < 3:
        return word
    global _stemmer
    if _stemmer is None:
        from snowballstemmer import stemmer

        _stemmer = stemmer("english")
    stem: str = _stemmer.stemWord(word)
    if stem.endswith("ag") and len(stem) >= 6:
        stem = stem[:-2]
    if stem.endswith("e") and len(stem) >= 5:
        stem = stem[:-1]
    return stem


# --- what search looks in -------------------------------------------------------------

#: How much a match in each field counts towards a hit's score.
FIELD_WEIGHTS = {
    "id": 3,
    "title": 3,
    "statement": 3,
    "quote": 2,
    "entities": 2,
    "patient": 2,
    "diagnosis": 2,
    "therapy": 2,
    "outcome": 1,
    "events": 1,
    "review": 1,
}


def entity_names(entities: dict[str, Entity]) -> dict[str, str]:
    """What search reads for each entity a record names: its name and aliases."""
    return {eid: "; ".join((e.name, *e.aliases)) for eid, e in entities.items()}


def cited(ref: Any) -> str:
    """What search reads of a reference (a `Reference`, or what the cache keeps of one):
    its authors, a full stop (not a second one after "et al."), then its title."""
    if not ref.authors:
        return str(ref.title)
    authors = ", ".join(ref.authors)
    return f"{authors}{'' if authors.endswith('.') else '.'} {ref.title}"  # "et al." ends one


def search_fields(rec: Claim | Case, names: dict[str, str]) -> list[tuple[str, str]]:
    """The (field, text) pairs that search looks in, for a claim or a case, given what
    it reads for each entity (`entity_names`, made once for many records)."""
    ids: Iterable[str] = rec.entities
    if not isinstance(rec, Case):  # a claim, or what a search reads of one from the cache
        out: list[tuple[str, str]] = [("id", rec.id), ("statement", rec.statement)]
    else:
        if rec.hospital:
            ids = (*ids, rec.hospital)
        p = rec.patient
        out = [
            ("id", rec.id),
            ("title", rec.title),
            ("patient", " ".join([x for x in (p.description, p.name, p.place) if x])),
            ("diagnosis", "; ".join(rec.diagnosis)),
            ("therapy", rec.therapy),
            ("outcome", rec.outcome),
            ("events", "\n".join([ev.description for ev in rec.events])),
        ]
    out.append(("quote", rec.quote))
    out.append(("entities", "\n".join([names[e] for e in ids if e in names])))
    r = rec.review
    if r is not None:
        parts = [r.note or ""]
        parts += [f"{c.article} -> {c.correct}" for c in r.corrections]
        parts += [cited(ref) for ref in r.references]
        parts += [d.description for d in r.later]
        out.append(("review", "\n".join([p for p in parts if p])))
    return [(f, t) for f, t in out if t]


class WordStats(msgspec.Struct, frozen=True):
    """What ranking needs to know about the whole collection, whoever holds it."""

    records: int
    lengths: dict[str, int]  # field -> total words in that field over every record


def record_words(
    rec: Claim | Case,
    entities: dict[str, Entity],
    lengths: Counter[str],
    names: dict[str, str] | None = None,
) -> list[str]:
    """The words of a record, every field's in turn; adds each field's length to `lengths`.
    `names` is `entity_names(entities)`, when made once for many records."""
    out: list[str] = []
    for name, text in search_fields(rec, entity_names(entities) if names is None else names):
        found = words(text)
        lengths[name] += len(found)
        out += found
    return out


def index_texts(
    records: Iterable[Claim | Case],
    entities: dict[str, Entity],
    names: dict[str, str] | None = None,
) -> tuple[list[str], Counter[str]]:
    """For each record, a text holding its words (`record_words`) for a word index that
    splits text at every ASCII character but a letter or a digit and folds ASCII case;
    and every field's length over all the records (what `record_words` adds to `lengths`).

    The same words as `record_words`, found faster: a record's text is kept as it is when
    it is ASCII (the index splits and folds it as `words` would), and each field's words
    are counted once, over that field of every record. `names` is
    `entity_names(entities)`, when made once for many calls.
    """
    names = entity_names(entities) if names is None else names
    fields: dict[str, list[str]] = {f: [] for f in FIELD_WEIGHTS}
    ids, statements, quotes = fields["id"], fields["statement"], fields["quote"]
    named, reviews = fields["entities"], fields["review"]
    titles, patients, diagnoses = fields["title"], fields["patient"], fields["diagnosis"]
    therapies, outcomes, events = fields["therapy"], fields["outcome"], fields["events"]
    texts: list[str] = []
    for rec in records:
        ids.append(rec.id)
        if isinstance(rec, Claim):
            parts = [rec.id, rec.statement]
            statements.append(rec.statement)
            ents: Iterable[str] = rec.entities
        else:
            p = rec.patient
            patient = " ".join(x for x in (p.description, p.name, p.place) if x)
            diagnosis = "; ".join(rec.diagnosis)
            happened = "\n".join(ev.description for ev in rec.events)
            parts = [rec.id, rec.title, patient, diagnosis, rec.therapy, rec.outcome, happened]
            titles.append(rec.title)
            patients.append(patient)
            diagnoses.append(diagnosis)
            therapies.append(rec.therapy)
            outcomes.append(rec.outcome)
            events.append(happened)
            ents = (*rec.entities, rec.hospital) if rec.hospital else rec.entities
        quote = rec.quote or ""
        quotes.append(quote)
        said = "\n".join([names[e] for e in ents if e in names])
        named.append(said)
        parts += (quote, said)
        r = rec.review
        if r is not None:
            said = "\n".join(
                [
                    r.note or "",
                    *[f"{c.article} -> {c.correct}" for c in r.corrections],
                    *[cited(ref) for ref in r.references],
                    *[d.description for d in r.later],
                ]
            )
            reviews.append(said)
            parts.append(said)
        text = "\n".join(parts)
        if not text.isascii():
            text = spaced(text)
            if not text.isascii():
                text = " ".join(words(text))
        texts.append(text)
    # No word runs across a line break, so the words of the lines joined are the words
    # of each line in turn.
    lengths: Counter[str] = Counter()
    for name, values in fields.items():
        lengths[name] = word_count("\n".join(values))
    return texts, lengths


#: Punctuation common in English text that is in no word (as `words` splits it): the same
#: words are found with it read as a space, and text without anything else beyond ASCII
#: takes the quick way.
_SEPARATORS = ("\u00a0\u00ab\u00bb\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201a"
    "\u201b\u201c\u201d\u201e\u201f\u2020\u2021\u2022\u2026\u2032\u2033")  # fmt: skip


def spaced(text: str) -> str:
    """`text` with each of `_SEPARATORS` made a space (one `replace` each, which is many
    times quicker than `str.translate` with a table)."""
    for sep in _SEPARATORS:
        if sep in text:
            text = text.replace(sep, " ")
    return text


#: ASCII letters and digits to ``a``, anything else to a space.
ASCII_MARKS = bytes(
    ord("a") if chr(i).isascii() and chr(i).isalnum() else ord(" ") for i in range(256)
)


def word_count(text: str) -> int:
    """How many words a text has (`len(words(text))`, counted without making them)."""
    if not text.isascii():
        text = spaced(text)
        if not text.isascii():
            return len(words(text))
    # a word starts wherever a letter or digit follows anything else
    return (" " + text).encode("ascii").translate(ASCII_MARKS).count(b" a")


def word_counts(
    records: Iterable[Claim | Case], entities: dict[str, Entity]
) -> tuple[WordStats, dict[str, int]]:
    """The collection's statistics, and how many records hold each word, in one pass."""
    lengths: Counter[str] = Counter()
    df: Counter[str] = Counter()
    n = 0
    names = entity_names(entities)
    for rec in records:
        df.update(set(record_words(rec, entities, lengths, names)))
        n += 1
    return finish_stats(n, lengths), dict(df)


def finish_stats(records: int, lengths: Counter[str]) -> WordStats:
    """WordStats from a record count and the per-field word totals."""
    return WordStats(records, {f: lengths[f] for f in FIELD_WEIGHTS if lengths[f]})
