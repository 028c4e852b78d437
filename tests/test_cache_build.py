"""The cache's word index holds exactly the words `record_words` finds, counted alike.

The build finds them its own, faster way (whole records and whole fields at a time,
split by SQLite); this checks it against the reference on the real dataset with the
text of every field of every claim and case replaced by random text.
"""

from __future__ import annotations

import re
import sqlite3
import zlib
from collections import Counter

import msgspec
import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immunofacts import cache, loading
from immunofacts.model import Case, Claim, Dataset
from immunofacts.tokens import WordStats, index_texts, record_words, word_counts

REAL = loading.load_dataset(DATA)
PIECES = ["Stored", "storage", "CAR-T", "ı", "İ", "Diyarbakır", "ſtore", "\u212a", "e\u0301",
    "café", "₽500", "\u2066", "\ue000", "细胞", "ß", "ﬁsh", "x²", "½", "—", "_", "2020", "Ω",
    "don’t", "“a”", "–", "\u00a0", "…", "ᴬ", "™", "ℍ", "ϒ"]  # fmt: skip
WORD = st.one_of(st.sampled_from(PIECES), st.text(min_size=1, max_size=4))
TEXT = st.lists(WORD, min_size=1, max_size=5).map(" ".join).filter(lambda t: t.strip() != "")
#: The words SQLite's `ascii` tokenizer finds: runs of anything but ASCII punctuation
#: and space, ASCII letters folded to lower case.
INDEX_WORD = re.compile("[A-Za-z0-9\x80-\U0010ffff]+")


def _rewritten(ds: Dataset, data: st.DataObject) -> Dataset:
    def text() -> str:
        return data.draw(TEXT)

    def review(rec: Claim | Case) -> object:
        r = rec.review
        if r is None:
            return None
        return msgspec.structs.replace(
            r,
            note=text(),
            corrections=tuple(
                msgspec.structs.replace(c, article=text(), correct=text()) for c in r.corrections
            ),
            references=tuple(msgspec.structs.replace(x, title=text()) for x in r.references),
            later=tuple(msgspec.structs.replace(d, description=text()) for d in r.later),
        )

    claims = tuple(
        msgspec.structs.replace(c, statement=text(), quote=text(), review=review(c))
        for c in ds.claims[:6]
    )
    cases = tuple(
        msgspec.structs.replace(
            c,
            title=text(),
            quote=text(),
            therapy=text(),
            outcome=text(),
            diagnosis=tuple(text() for _ in c.diagnosis),
            patient=msgspec.structs.replace(c.patient, description=text(), place=text()),
            events=tuple(msgspec.structs.replace(e, description=text()) for e in c.events),
            review=review(c),
        )
        for c in ds.cases[:3]
    )
    entities = tuple(
        msgspec.structs.replace(e, name=text(), aliases=(text(),)) for e in ds.entities
    )
    return msgspec.structs.replace(ds, claims=claims, cases=cases, entities=entities)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_built_word_index_is_record_words(data: st.DataObject) -> None:
    ds = _rewritten(REAL, data)
    entities = ds.entity_map()
    texts, lengths = index_texts(ds.records(), entities)
    want: Counter[str] = Counter()
    for rec, text in zip(ds.records(), texts, strict=True):
        indexed = [w.lower() if w.isascii() else w for w in INDEX_WORD.findall(text)]
        assert Counter(indexed) == Counter(record_words(rec, entities, want))
    assert +lengths == +want

    db = sqlite3.connect(":memory:", check_same_thread=False)  # as the build opens it
    columns = ", ".join(f"{c} INTEGER" for c in cache._label_columns())
    db.executescript(cache._SCHEMA.format(labels=columns))
    cache._fill(db, ds)
    stats, df = word_counts(ds.records(), entities)
    assert dict(db.execute("SELECT word, df FROM vocab").fetchall()) == df
    (blob,) = db.execute("SELECT data FROM blobs WHERE name = 'wordstats'").fetchone()
    assert msgspec.msgpack.decode(zlib.decompress(blob), type=WordStats) == stats
    for rec in ds.records():
        found = set(record_words(rec, entities, Counter()))
        for word in found:
            hits = db.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (f'"{word}"',))
            assert ds.records().index(rec) + 1 in {r for (r,) in hits}


def test_separators_are_in_no_word() -> None:
    from immunofacts.tokens import _SEPARATORS, words

    for sep in _SEPARATORS:
        assert words(f"a{sep}b") == ["a", "b"]
        assert words(f"é{sep}b") == ["e", "b"]


def test_folded_words_have_no_capitals() -> None:
    from immunofacts.tokens import fold

    assert [fold(w) for w in ("ᴬᴮ", "ℍ", "™", "№5", "ϒ")] == ["ab", "h", "tm", "no5", "υ"]


def test_c_stemmer_agrees_with_the_python_one() -> None:
    stemmer = pytest.importorskip("Stemmer").Stemmer("english")
    from snowballstemmer.english_stemmer import EnglishStemmer

    python = EnglishStemmer()
    text = (DATA.read_text(encoding="utf-8") + DATA.with_name("article.txt").read_text()).lower()
    found = set(re.findall("[a-z]+", text))
    found |= {"storage", "stored", "generously", "happily", "organization", "relational"}
    assert len(found) > 1000
    assert {w: stemmer.stemWord(w) for w in found} == {w: python.stemWord(w) for w in found}
