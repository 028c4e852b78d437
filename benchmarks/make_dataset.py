"""Write a valid synthetic immunofacts dataset of N claims, for benchmarks.

Usage: python benchmarks/make_dataset.py [--from-shipped] N OUT

The dataset follows the schema in immunofacts/model.py: ``schema: 2``, a source
without ``text`` (so quotes are not checked against an article), about
max(10, N // 100) entities, N claims and max(3, N // 1000) cases. Output is
deterministic: the same N gives the same bytes.

Text is drawn from a vocabulary of the article's words plus a few thousand
pseudo-words, with Zipf-like frequencies: function words are everywhere, and a
specific word such as "lupus" sits at a mid rank, so that it matches well under
one claim in a hundred. The YAML is written directly; every string goes out as
a JSON string, which is a valid YAML double-quoted scalar.
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import itertools
import json
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from immunofacts.model import (
    CORRECTABLE,
    ClaimKind,
    Correction,
    EntityType,
    Evidence,
    Qualifier,
    Rating,
    Reason,
    Reference,
    Review,
    Verdict,
    review_problems,
)

SEED = 20201121
ARTICLE = Path(__file__).resolve().parent.parent / "data" / "article.txt"
#: How many of the article's most frequent words take the top ranks.
HEAD_WORDS = 40
#: How many pseudo-words join the article's words.
PSEUDO_WORDS = 4000
#: Zipf exponent of word frequencies.
ZIPF_S = 1.1
#: The probe word for search benchmarks, and the rank it is pinned at (1-based).
PROBE = "lupus"
PROBE_RANK = 500

_FALLBACK_TEXT = (
    "the of and in to a immune cells cell therapy more from has for that been cancer "
    "clinical treatment body research patients lupus lymphoma tumor trial study"
)
_ONSETS = ["b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "tr"]
_ONSETS += ["cl", "pr", "st", "th", "ch", "gl", "fl", "sp", "x", "h"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "io", "ea", "y"]
_CODAS = ["", "", "", "n", "l", "r", "s", "x", "m", "t", "ne", "ca", "tin", "mab", "cel"]
_SEXES = ["female", "male", "not stated"]

_q = json.dumps  # a JSON string is a valid YAML double-quoted scalar


class _Vocab:
    """Words ranked by frequency, and a fast Zipf sampler over them."""

    def __init__(self, rng: random.Random) -> None:
        text = ARTICLE.read_text(encoding="utf-8") if ARTICLE.is_file() else _FALLBACK_TEXT
        counts = Counter(
            w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]*[A-Za-z]|[A-Za-z]", text)
        )
        ranked = [w for w, _ in counts.most_common()]
        head = [w for w in ranked[:HEAD_WORDS] if w != PROBE]
        known = set(ranked)
        pseudo: list[str] = []
        seen: set[str] = set()
        while len(pseudo) < PSEUDO_WORDS:
            word = "".join(
                rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(1, 3))
            ) + rng.choice(_CODAS)
            if len(word) < 3 or word in known or word in seen or PROBE in word:
                continue
            seen.add(word)
            pseudo.append(word)
        tail = [w for w in ranked[HEAD_WORDS:] if w != PROBE] + pseudo
        rng.shuffle(tail)
        words = head + tail
        words.insert(min(PROBE_RANK, len(words)) - 1, PROBE)
        self.words = words
        self.rare = tail  # for names: no function words
        weights = [1.0 / (r**ZIPF_S) for r in range(1, len(words) + 1)]
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]
        self._rng = rng
        self._buf: Iterator[str] = iter(())

    def _refill(self) -> Iterator[str]:
        rnd = self._rng.random
        cum, total, words, hi = self.cum, self.total, self.words, len(self.words) - 1
        return iter([words[bisect.bisect(cum, rnd() * total, 0, hi)] for _ in range(1 << 16)])

    def take(self, n: int) -> list[str]:
        out = list(itertools.islice(self._buf, n))
        while len(out) < n:
            self._buf = self._refill()
            out += itertools.islice(self._buf, n - len(out))
        return out

    def sentence(self, lo: int, hi: int) -> str:
        words = self.take(self._rng.randint(lo, hi))
        if len(words) > 8 and self._rng.random() < 0.4:
            words[self._rng.randint(3, len(words) - 4)] += ","
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def phrase(self, lo: int, hi: int) -> str:
        return " ".join(self.take(self._rng.randint(lo, hi)))

    def name(self, parts: int) -> str:
        return " ".join(self._rng.choice(self.rare).capitalize() for _ in range(parts))


def _slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def _date(rng: random.Random) -> str:
    day = datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randrange(7 * 365))
    r = rng.random()
    if r < 0.3:
        return f"{day.year}"
    if r < 0.6:
        return f"{day.year}-{day.month:02d}"
    return day.isoformat()


def _pairs(kind: ClaimKind | None) -> list[tuple[Verdict, Rating]]:
    """The (verdict, rating) pairs a review of this kind of record may have."""
    ref = (Reference(title="t", doi="10.1234/x"),)
    out = []
    for v in Verdict:
        fixes = (Correction(article="a", correct="b"),) if v in CORRECTABLE else ()
        for r in Rating:
            if not review_problems(
                Review(verdict=v, rating=r, corrections=fixes, references=ref), kind
            ):
                out.append((v, r))
    return out


_PAIRS = {kind: _pairs(kind) for kind in (*ClaimKind, None)}


def _review(
    out: list[str],
    ind: str,
    rng: random.Random,
    voc: _Vocab,
    refs: Iterator[int],
    kind: ClaimKind | None = None,
) -> None:
    """A review that keeps the loader's rules: consistent judgements, cited references."""
    verdict, rating = rng.choice(_PAIRS[kind])
    out.append(f"{ind}review:")
    out.append(f"{ind}  verdict: {verdict.value}")
    out.append(f"{ind}  rating: {rating.value}")
    if rng.random() < 0.3:
        out.append(f"{ind}  reasons: [{rng.choice(list(Reason)).value}]")
    if rng.random() < 0.7:
        out.append(f"{ind}  note: {_q(voc.sentence(6, 16))}")
    if verdict is Verdict.CONFIRMED_WITH_CORRECTIONS or (
        verdict in CORRECTABLE and rng.random() < 0.1
    ):
        out.append(f"{ind}  corrections:")
        out.append(f"{ind}    - article: {_q(voc.phrase(1, 4))}")
        out.append(f"{ind}      correct: {_q(voc.phrase(1, 4))}")
    k = rng.choice((1, 1, 2))
    if k:
        out.append(f"{ind}  references:")
        for _ in range(k):
            out.append(f"{ind}    - title: {_q(voc.sentence(4, 10))}")
            out.append(f"{ind}      doi: {_q(f'10.1234/x.{next(refs)}')}")
            if rng.random() < 0.5:
                out.append(f'{ind}      date: "{_date(rng)}"')
    if rng.random() < 0.05:
        out.append(f"{ind}  later:")
        out.append(f"{ind}    - description: {_q(voc.sentence(6, 16))}")
        out.append(f'{ind}      date: "{_date(rng)}"')
        out.append(f"{ind}      references:")
        out.append(f"{ind}        - title: {_q(voc.sentence(4, 10))}")
        out.append(f"{ind}          doi: {_q(f'10.1234/x.{next(refs)}')}")


def dataset_text(n: int) -> str:
    """The YAML text of a dataset with `n` claims."""
    rng = random.Random(SEED)
    voc = _Vocab(rng)
    refs = itertools.count(1)
    kinds, kind_w = list(ClaimKind), [8, 10, 4, 6, 3, 8, 3, 6, 4]
    evidence, ev_w = list(Evidence), [10, 4, 5, 8, 2, 6, 3, 6]
    quals = list(Qualifier)
    out: list[str] = [
        f"# Synthetic immunofacts dataset: {n} claims (benchmarks/make_dataset.py, seed {SEED}).",
        "",
        "schema: 2",
        "",
        "source:",
        f"  id: src-synthetic-{n}",
        f"  title: {_q(f'Synthetic benchmark dataset of {n} claims')}",
        "  publisher: immunofacts benchmarks",
        '  date: "2021"',
        "  language: English",
        "  note: Generated text; no source text, so quotes are not checked.",
        "",
        "entities:",
    ]

    n_ent = max(10, n // 100)
    types = list(EntityType)
    ent_ids: list[str] = []
    orgs: list[str] = []
    for i in range(n_ent):
        etype = types[i % len(types)] if i < len(types) else rng.choice(types)
        name = voc.name(rng.randint(1, 3))
        eid = f"ent-{i:05d}-{_slug(name, 16)}"
        ent_ids.append(eid)
        if etype is EntityType.ORGANISATION:
            orgs.append(eid)
        out.append(f"  - id: {eid}")
        out.append(f"    name: {_q(name)}")
        out.append(f"    type: {etype.value}")
        if rng.random() < 0.3:
            out.append("    aliases:")
            for _ in range(rng.randint(1, 2)):
                out.append(f"      - {_q(voc.name(1))}")
        if rng.random() < 0.3:
            out.append(f"    note: {_q(voc.sentence(6, 18))}")
    # Entities are named Zipf-like too: a few are in many claims.
    ent_cum = list(itertools.accumulate(1.0 / r for r in range(1, n_ent + 1)))

    def some_entities(k: int) -> list[str]:
        picks = rng.choices(ent_ids, cum_weights=ent_cum, k=k)
        return list(dict.fromkeys(picks))

    out += ["", "claims:"]
    claim_ids: list[str] = []
    for i in range(n):
        statement = voc.sentence(4, 10)
        cid = f"claim-{i:06d}-{_slug(statement, 16)}"
        claim_ids.append(cid)
        out.append(f"  - id: {cid}")
        kind = rng.choices(kinds, kind_w)[0]
        out.append(f"    kind: {kind.value}")
        out.append(f"    statement: {_q(statement)}")
        out.append(f"    quote: {_q(voc.sentence(4, 12))}")
        out.append(f"    evidence: {rng.choices(evidence, ev_w)[0].value}")
        if rng.random() < 0.5:
            out.append(f'    date: "{_date(rng)}"')
        k = rng.choice((0, 0, 1, 1, 2, 3))
        if k:
            out.append("    entities:")
            out += [f"      - {e}" for e in some_entities(k)]
        if rng.random() < 0.12:
            out.append("    figures:")
            for _ in range(rng.randint(1, 3)):
                value: int | float = (
                    rng.randint(1, 5000) if rng.random() < 0.7 else round(rng.uniform(0, 100), 1)
                )
                out.append(f"      - label: {_q(voc.phrase(2, 6))}")
                out.append(f"        value: {value}")
                out.append(f"        unit: {_q(voc.phrase(1, 2))}")
                if rng.random() < 0.5:
                    out.append(f"        qualifier: {rng.choice(quals).value}")
                if rng.random() < 0.3:
                    out.append(f'        date: "{_date(rng)}"')
        if rng.random() < 0.25:
            _review(out, "    ", rng, voc, refs, kind)

    out += ["", "cases:"]
    for i in range(max(3, n // 1000)):
        title = voc.sentence(5, 12)
        out.append(f"  - id: case-{i:05d}-{_slug(title, 30)}")
        out.append(f"    title: {_q(title)}")
        out.append(f"    quote: {_q(voc.sentence(30, 80))}")
        out.append("    patient:")
        out.append(f"      description: {_q(voc.sentence(8, 20))}")
        if rng.random() < 0.5:
            out.append(f"      name: {_q(voc.name(2))}")
        out.append(f"      sex: {rng.choice(_SEXES)}")
        if rng.random() < 0.7:
            out.append(f"      age: {rng.randint(2, 90)}")
        out.append(f"      place: {_q(voc.name(1))}")
        out.append("    diagnosis:")
        for _ in range(rng.randint(1, 2)):
            out.append(f"      - {_q(voc.phrase(2, 5))}")
        if rng.random() < 0.5:
            out.append(f"    extent: {_q(voc.sentence(8, 20))}")
        out.append(f"    therapy: {_q(voc.sentence(5, 15))}")
        if orgs and rng.random() < 0.6:
            out.append(f"    hospital: {rng.choice(orgs)}")
        events = rng.randint(0, 4)
        if events:
            out.append("    events:")
            for _ in range(events):
                out.append(f'      - date: "{_date(rng)}"')
                out.append(f"        description: {_q(voc.sentence(5, 15))}")
                if rng.random() < 0.6:
                    out.append(f"        quote: {_q(voc.sentence(6, 20))}")
        if rng.random() < 0.4:
            out.append("    measurements:")
            out.append(f"      - label: {_q(voc.phrase(2, 4))}")
            out.append(f"        before: {rng.randint(0, 500)}")
            out.append(f"        after: {rng.randint(0, 500)}")
            out.append(f"        unit: {_q(voc.phrase(1, 2))}")
        out.append(f"    outcome: {_q(voc.sentence(8, 24))}")
        out.append(f"    evidence: {rng.choices(evidence, ev_w)[0].value}")
        out.append("    entities:")
        out += [f"      - {e}" for e in some_entities(rng.randint(1, 4))]
        out.append("    claims:")
        out += [f"      - {c}" for c in rng.sample(claim_ids, rng.randint(1, min(3, n)))]
        if rng.random() < 0.7:
            _review(out, "    ", rng, voc, refs)
    out.append("")
    return "\n".join(out)


def make_dataset(n: int, out: Path) -> None:
    """Write the dataset of `n` claims to `out`, atomically (through a temporary file)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(dataset_text(n), encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


SHIPPED = Path(__file__).resolve().parent.parent / "data" / "immunofacts.yaml"


def grow_dataset(n: int, out: Path) -> None:
    """Write a dataset of `n` claims grown from copies of the shipped records.

    Copy k of each claim and case gets the id suffix ``-kK`` (the first copy
    keeps its id); cases cite the claims of their own copy. The entities and the
    source are the shipped ones, and the article is copied beside `out`, so
    every quote is checked against it as in the real dataset. The text is the
    real text, with the characters (``&``, ``*``, quotes) that real text has.
    """
    import shutil

    import msgspec

    from immunofacts.loading import dump_yaml, load_dataset

    def copy(value: Any) -> Any:
        return msgspec.json.decode(msgspec.json.encode(value))

    ds = msgspec.to_builtins(load_dataset(SHIPPED))
    ds.pop("source_text", None)
    claims, cases = ds["claims"], ds["cases"]
    grown_claims: list[dict[str, Any]] = []
    grown_cases: list[dict[str, Any]] = []
    k = 0
    while len(grown_claims) < n:
        suffix = f"-k{k}" if k else ""
        # a fresh copy each time: shared objects would be written as YAML aliases
        for c in claims[: n - len(grown_claims)]:
            grown_claims.append({**copy(c), "id": c["id"] + suffix})
        if len(grown_cases) < max(3, n // 1000):
            for c in cases:
                refs = [r + suffix for r in c.get("claims", [])]
                grown_cases.append({**copy(c), "id": c["id"] + suffix, "claims": refs})
        k += 1
    keep = {c["id"] for c in grown_claims}
    for c in grown_cases:
        c["claims"] = [r for r in c["claims"] if r in keep]
    ds["claims"], ds["cases"] = grown_claims, grown_cases
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED.parent / "article.txt", out.parent / "article.txt")
    ds["source"]["text"] = "article.txt"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(dump_yaml(ds), encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("n", type=int, metavar="N", help="number of claims")
    parser.add_argument("out", type=Path, metavar="OUT", help="YAML file to write")
    parser.add_argument(
        "--from-shipped",
        action="store_true",
        help="grow the dataset from copies of the shipped records (and their article)",
    )
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("N must be at least 1")
    (grow_dataset if args.from_shipped else make_dataset)(args.n, args.out)
    size = args.out.stat().st_size
    print(f"wrote {args.out}: {args.n} claims, {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
