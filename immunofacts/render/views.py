"""Views: query results as Tables and Docs, for every format but JSON (see `shapes`).

No Rich here: the same view is written as a Rich table, plain text, CSV or
Markdown by `formats`. A list view builds its rows lazily from any iterable.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from ..diff import DatasetDiff
from ..model import (
    NOT_REVIEWED,
    RATING_SCALE,
    Case,
    Claim,
    Dataset,
    Entity,
    Figure,
    Label,
    Qualifier,
    Rating,
    Reference,
    Review,
    definition,
)
from ..query import (
    EntityCount,
    Hit,
    LabelInfo,
    Match,
    Passage,
    Record,
    RecordType,
    Span,
    Stats,
    TimelineEvent,
    date_key,
    rating_label,
    verdict_label,
)
from .base import Cell, Doc, Field, Marked, Section, Table
from .shapes import StatsJSON

RATING_SCORES = {r.value: r.score for r in Rating}

QUALIFIER_WORDS = {
    Qualifier.EXACT: "",
    Qualifier.MORE_THAN: "more than ",
    Qualifier.AT_LEAST: "at least ",
    Qualifier.ABOUT: "about ",
    Qualifier.UP_TO: "up to ",
}
MONTHS = (
    "January February March April May June July August September October November December"
).split()


#: What marks a development known from outside the article, wherever one is listed.
LATER = "Later (outside the article): "


def defined(label: Label, *, score: bool = False) -> Marked:
    """A label followed by its definition (and, for a rating, its place on the scale),
    the label styled as its value, the definition dim."""
    head = label.value
    if score and isinstance(label, Rating):
        value = RATING_SCALE.get(label)
        head += f" ({value} of 5)" if value is not None else " (off the scale)"
    text = f"{head} — {definition(label)}"
    return Marked(
        text, ((0, len(label.value), f"value:{label.value}"), (len(head), len(text), "dim"))
    )


def rating_legend(shown: Iterable[str]) -> Marked | None:
    """One line naming the ratings in `shown` with their place on the scale ("4/5", so
    that it does not read as a count), best first, each styled as its value; None when
    no rating is shown."""
    present = set(shown)
    ratings = [r for r in Rating if r.value in present]
    if not ratings:
        return None
    text = "Ratings, scored 5 (best) to 1 (worst): "
    spans: list[tuple[int, int, str]] = [(0, len(text), "dim")]
    for i, r in enumerate(ratings):
        if i:
            spans.append((len(text), len(text) + 3, "dim"))
            text += " · "
        spans.append((len(text), len(text) + len(r.value), f"value:{r.value}"))
        text += r.value
        value = RATING_SCALE.get(r)
        # A score, not a count: written as the scale's "n of 5", as a review shows it.
        text += f" {value}/5" if value is not None else " (off the scale)"
    return Marked(text, tuple(spans))


def kind_label(rec: Record) -> str:
    """A claim's kind, or `case`: what the kind column shows."""
    return rec.kind.value if isinstance(rec, Claim) else RecordType.CASE.value


def figure_text(f: Figure) -> str:
    """A figure in words: ``more than 50 CAR-T IND applications``."""
    value = f"{f.value:,}" if isinstance(f.value, int) else f"{f.value:g}"
    return f"{QUALIFIER_WORDS[f.qualifier]}{value} {f.unit}"


def date_words(date: str) -> str:
    """``2020-06`` as ``June 2020``; ``2020-11-21`` as ``21 November 2020``."""
    parts = date.split("-")
    if len(parts) == 1:
        return parts[0]
    month = MONTHS[int(parts[1]) - 1]
    return f"{month} {parts[0]}" if len(parts) == 2 else f"{int(parts[2])} {month} {parts[0]}"


# --- lists ----------------------------------------------------------------------


def cases_table(cases: Iterable[Case]) -> Table:
    """The clinical cases, one row each: what happened, and how well it is backed."""
    return Table(
        "Clinical cases",
        ("id", "case", "evidence", "verdict", "rating"),
        (
            (c.id, _with_later(c), c.evidence.value, verdict_label(c), rating_label(c))
            for c in cases
        ),
        wide=frozenset(("case",)),
    )


def _with_later(c: Case) -> Cell:
    """A case's title, and what happened after the article when that is known."""
    if c.review is None or not c.review.later:
        return c.title
    later = LATER + " ".join(d.description for d in c.review.later)
    text = f"{c.title}. {later}"
    return Marked(text, ((len(text) - len(later), len(text), "later"),))


def claims_table(claims: Iterable[Claim], *, reasons: bool = False) -> Table:
    """Claims with their kind, evidence, verdict, rating and date; with `reasons`, the
    rating's reason tags too (comma-separated), for the formats other tools read."""
    tags = ("reasons",) if reasons else ()
    return Table(
        "Claims",
        ("id", "kind", "evidence", "verdict", "rating", *tags, "date", "statement"),
        (
            (c.id, c.kind.value, c.evidence.value, verdict_label(c), rating_label(c))
            + ((_reasons(c),) if reasons else ())
            + (c.date or "", c.statement)
            for c in claims
        ),
        wide=frozenset(("statement",)),
        counted=lambda n: f"Claims ({n})",
    )


def _reasons(rec: Record) -> str:
    return ",".join(r.value for r in rec.review.reasons) if rec.review else ""


# --- review ---------------------------------------------------------------------


def reference_text(ref: Reference) -> str:
    """A reference with its authors, where it appeared (a journal's volume, issue and
    pages), its identifiers and the address to open."""
    ids = [journal_text(ref), f"doi:{ref.doi}" if ref.doi else ""]
    ids += [f"PMID {ref.pmid}" if ref.pmid else ""]
    ids += [ref.nct or "", ref.date or ""]
    from ..tokens import cited  # "authors. title", as search reads it

    out = cited(ref)
    extra = ", ".join(i for i in ids if i)
    if extra:
        out += f" ({extra})"
    link = ref.link()
    if link:
        out += f" {link}"
    if ref.note:
        out += f" [{ref.note}]"
    return out


def journal_text(ref: Reference) -> str:
    """Who published a reference, with a paper's volume, issue and pages as a
    citation gives them ("The Lancet Respiratory Medicine 8(4):420-422")."""
    where = ref.volume or ""
    where += f"({ref.issue})" if ref.issue else ""
    where += f":{ref.pages}" if ref.pages else ""
    return " ".join(x for x in (ref.publisher, where) if x)


def reference_cell(ref: Reference) -> Cell:
    """`reference_text`, with its web address marked as a link to open."""
    out = reference_text(ref)
    link = ref.link()
    if not link:
        return out
    start = out.rfind(f" {link}") + 1
    return Marked(out, ((start, start + len(link), "link"),))


def review_sections(review: Review | None) -> list[Section]:
    """The review as Doc sections: verdict, note, corrections, references, later."""
    if review is None:
        return [Section("Review", (Field("rating", NOT_REVIEWED), Field("verdict", NOT_REVIEWED)))]
    fields = [Field("rating", defined(review.rating, score=True))]
    fields += [Field("reason", defined(r)) for r in review.reasons]
    fields.append(Field("verdict", defined(review.verdict)))
    if review.note:
        fields.append(Field("note", review.note))
    for c in review.corrections:
        # The article's words are quoted; what records say is the reviewer's summary of
        # them (a name, "Shown in mice ..."), not a quotation, so it is not in quote marks.
        value = f"article says \u201c{c.article}\u201d; records: {c.correct}"
        if c.note:
            value += f" ({c.note})"
        fields.append(Field("correction", value))
    for ref in review.references:
        fields.append(Field("reference", reference_cell(ref)))
    listed = {(ref.title, ref.link()) for ref in review.references}
    for d in review.later:
        when = f"{d.date}, " if d.date else ""
        fields.append(Field("later", f"{when}outside the article: {d.description}"))
        # A source already listed among the references above is not printed twice.
        fields += [
            Field("source", reference_cell(ref))
            for ref in d.references
            if (ref.title, ref.link()) not in listed
        ]
    return [Section("Review", tuple(fields))]


def _entity_names(ds: Dataset, ids: tuple[str, ...]) -> str:
    emap = ds.entity_map()
    return "; ".join(f"{emap[i].name} ({i})" if i in emap else i for i in ids)


# --- detail views ---------------------------------------------------------------------


def claim_doc(ds: Dataset, c: Claim) -> Doc:
    """Everything about one claim, with its review."""
    fields = [Field("kind", c.kind.value), Field("evidence", defined(c.evidence))]
    if c.date:
        fields.append(Field("date", c.date))
    if c.entities:
        fields.append(Field("entities", _entity_names(ds, c.entities)))
    for f in c.figures:
        fields.append(Field("figure", f"{f.label}: {figure_text(f)}"))
    related = [k.id for k in ds.cases if c.id in k.claims]
    if related:
        fields.append(Field("cases", ", ".join(related)))
    sections = [
        Section(None, tuple(fields)),
        Section("The article's words", quote=c.quote),
        *review_sections(c.review),
    ]
    return Doc(c.id, tuple(sections), subtitle=c.statement)


def case_doc(ds: Dataset, c: Case) -> Doc:
    """Everything about one case: patient, events in date order, outcome, quote, review."""
    p = c.patient
    patient = [Field("description", p.description)]
    for label, value in (("name", p.name), ("sex", p.sex), ("age", p.age), ("place", p.place)):
        if value is not None:
            patient.append(Field(label, str(value)))
    facts = [Field("diagnosis", "; ".join(c.diagnosis))]
    if c.extent:
        facts.append(Field("extent", c.extent))
    facts.append(Field("therapy", c.therapy))
    if c.hospital:
        facts.append(Field("hospital", _entity_names(ds, (c.hospital,))))
    facts += [Field("outcome", c.outcome), Field("evidence", defined(c.evidence))]
    if c.entities:
        facts.append(Field("entities", _entity_names(ds, c.entities)))
    if c.claims:
        facts.append(Field("claims", ", ".join(c.claims)))
    sections = [Section("Patient", tuple(patient)), Section("Case", tuple(facts))]
    events: list[tuple[str, Cell]] = [(e.date, e.description) for e in c.events]
    for d in c.review.later if c.review else ():
        events.append((d.date or "", Marked(LATER + d.description, ((0, len(LATER), "later"),))))
    events.sort(key=lambda row: date_key(row[0]) if row[0] else (10_000, 0, 0))
    if events:
        sections.append(
            Section(
                "Events",
                table=Table("events", ("date", "event"), events, wide=frozenset(("event",))),
            )
        )
    if c.measurements:
        rows: list[tuple[Cell, ...]] = [
            (m.date or "", m.label, f"{m.before:g} → {m.after:g} {m.unit}") for m in c.measurements
        ]
        sections.append(
            Section("Measured", table=Table("measured", ("date", "what", "change"), rows))
        )
    sections.append(Section("The article's words", quote=c.quote))
    sections += review_sections(c.review)
    return Doc(c.id, tuple(sections), subtitle=c.title)


# --- statistics ---------------------------------------------------------------------


class _Lines:
    """Lines of text built one at a time, each may mark a span of itself with a style."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.spans: list[tuple[int, int, str]] = []
        self.at = 0

    def add(
        self, line: str, style: str | None = None, start: int = 0, end: int | None = None
    ) -> None:
        """Add `line`, marking `line[start:end]` with `style` when one is given."""
        if style:
            stop = len(line) if end is None else end
            self.spans.append((self.at + start, self.at + stop, style))
        self.lines.append(line)
        self.at += len(line) + 1

    def marked(self) -> Marked:
        """The lines so far, joined, with their spans."""
        return Marked("\n".join(self.lines), tuple(self.spans))


#: How many figures and cases the dashboard of `show-stats` shows; it says how many
#: more there are and where to find them (JSON and CSV give every figure).
FIGURES_SHOWN = 12
CASES_SHOWN = 12


def _figures(st: Stats) -> Section | None:
    """The source's first numbers, each value first, then where they come from."""
    if not st.figures and not st.more_figures:
        return None
    out = _Lines()
    shown = st.figures[:FIGURES_SHOWN]
    # Each claim's figures, then the line that says where they come from.
    for claim_id, group in itertools.groupby(shown, key=lambda h: h.claim_id):
        for h in group:
            value = figure_text(h.figure)
            out.add(f"{value} — {h.figure.label}", "value", 0, len(value))
        evidence, verdict, rating = st.backing.get(claim_id, ("", "", ""))
        out.add(f"from {claim_id}: {evidence}, {verdict}, rated {rating}", "label")
    more = len(st.figures) - len(shown) + st.more_figures
    if more:
        out.add(f"… and {more} more (show-stats --format json, or list-claims --kind statistic)")
    return Section("The article's figures", text=out.marked())


def _cases(st: Stats) -> Section | None:
    """The first cases: how each is judged, what the source says, and what happened later."""
    if not st.cases and not st.more_cases:
        return None
    out = _Lines()
    shown = st.cases[:CASES_SHOWN]
    for c in shown:
        out.add(f"{c.id}: {c.rating}, {c.verdict}", "value", 0, len(c.id))
        out.add(f"  {c.title}")
        for later in c.later:
            out.add(f"  Later, {later}", "later", 2)
    more = len(st.cases) - len(shown) + st.more_cases
    if more:
        out.add(f"… and {more} more (list-cases, or show-case ID)")
    return Section("Cases", text=out.marked())


def _held_up(st: Stats) -> str:
    """How many claims are reviewed, and how many of those hold up or fall down."""
    total = st.counts.get("claims", 0)
    reviewed = total - st.by_rating.get(NOT_REVIEWED, 0)
    good = sum(n for r, n in st.by_rating.items() if (RATING_SCORES.get(r) or 0) >= 4)
    bad = sum(n for r, n in st.by_rating.items() if 0 < (RATING_SCORES.get(r) or 0) <= 2)
    return f"{reviewed} of {total} reviewed: {good} hold up, {bad} mislead or are wrong"


def stats_doc(st: Stats) -> Doc:
    """A dashboard: the source's first figures and cases (`FIGURES_SHOWN`, `CASES_SHOWN`),
    and how its claims divide by rating, verdict, kind and evidence."""

    def chart(title: str, counts: dict[str, int], note: str | None = None) -> Section:
        fields = tuple(Field(k, str(v)) for k, v in counts.items())
        return Section(title, fields, text=note, chart=True)

    c = st.counts
    summary = (
        f"{c.get('claims', 0)} claims, {c.get('cases', 0)} cases, {c.get('entities', 0)} entities"
    )
    sections = [s for s in (_figures(st), _cases(st)) if s is not None]
    sections += [
        chart("Claims by rating", st.by_rating, _held_up(st)),
        chart("Claims by verdict", st.by_verdict),
        chart("Claims by kind", st.by_kind),
        chart("Claims by evidence", st.by_evidence),
    ]
    return Doc("Statistics", tuple(sections), subtitle=summary, dashboard=True)


def stats_table(data: StatsJSON) -> Table:
    """Every number of `show-stats` as a row: the headline figures (group `figure`,
    with qualifier, unit and claim), then each count (group as in the JSON)."""
    rows: list[tuple[Cell, ...]] = [
        ("figure", f.label, str(f.value), f.qualifier.value, f.unit, f.claim) for f in data.figures
    ]
    for group in data.__struct_fields__:
        counts = getattr(data, group)
        if isinstance(counts, dict):
            rows += [(group, k, str(n), "exact", "records", "") for k, n in counts.items()]
    return Table("Statistics", ("group", "label", "value", "qualifier", "unit", "claim"), rows)


# --- search -----------------------------------------------------------------------


_SHOWN_FIELDS = ("statement", "title", "quote")


def _snippet(hit: Hit, width: int | None = 160) -> Marked:
    """The text of a hit: its best field with matches marked, cut around the
    first match to `width` characters (None: whole). A hit only in its id,
    entity names or review shows its statement or title, says where it matched,
    and, for a review or a case's details, shows the words around the match."""
    rec = hit.record
    shown = [m for m in hit.matches if m.field in _SHOWN_FIELDS]
    if not shown:
        main = rec.statement if isinstance(rec, Claim) else rec.title
        where = ", ".join(dict.fromkeys(m.field for m in hit.matches))
        context = _elsewhere(hit, width)
        if context is None:
            note = f" (matched in {where})"
            return Marked(main + note, ((len(main), len(main) + len(note), "label"),))
        field, (around, marks) = context
        note = f" (matched in {where}: " if where == field else f" (matched in {where}; {field}: "
        text = main + note + around + ")"
        at = len(main) + len(note)
        marked = [(len(main), at, "label"), *((a + at, b + at, st) for a, b, st in marks)]
        marked.append((len(text) - 1, len(text), "label"))
        return Marked(text, tuple(marked))
    first = shown[0]
    text = getattr(rec, first.field)  # a shown field's text is the record's own
    if width is None:
        whole = tuple((m.start, m.end, "match") for m in shown if m.field == first.field)
        return Marked(text, whole)
    cut, marks = _around(text, [m for m in hit.matches if m.field == first.field], width)
    return Marked(cut, marks)


def _elsewhere(
    hit: Hit, width: int | None
) -> tuple[str, tuple[str, tuple[tuple[int, int, str], ...]]] | None:
    """The first match of a hit outside the fields a list shows, in a field whose text
    is the record's own (a review, a case's details; not entity names, which are the
    dataset's): that field, and the words around the match, marked."""
    from ..tokens import search_fields

    texts = dict(search_fields(hit.record, {}))
    for m in hit.matches:
        text = texts.get(m.field)
        if text is None or text[m.start : m.end] != m.text:
            continue  # a field read elsewhere, or not as the match was found
        same = [x for x in hit.matches if x.field == m.field]
        if width is None:  # whole: the part of the field the match is in (a review's
            # note, one of its corrections or references), as it is
            a = text.rfind("\n", 0, m.start) + 1
            b = text.find("\n", m.end) % (len(text) + 1)
            marks = tuple((x.start - a, x.end - a, "match") for x in same if a <= x.start < b)
            return m.field, (text[a:b], marks)
        flat = text.replace("\n", " ")  # the same length: spans stay where they are
        return m.field, _around(flat, same, min(width, 80))
    return None


def _around(
    text: str, matches: list[Match], width: int
) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    """`text` cut to about `width` characters around its first match (`matches`, in one
    field of it), on word boundaries, with "…" where it was cut; the matches within
    marked."""
    first = matches[0]
    a = max(0, first.start - width // 3)
    b = min(len(text), a + width)
    if b - a < width:
        a = max(0, b - width)
    if a > 0:  # start and end on a word boundary
        space = text.find(" ", a, first.start)
        a = space + 1 if space >= 0 else a
    if b < len(text):
        space = text.rfind(" ", first.end, b)
        b = space if space >= 0 else b
    pre = "…" if a > 0 else ""
    post = "…" if b < len(text) else ""
    spans = tuple(
        (m.start - a + len(pre), m.end - a + len(pre), "match")
        for m in matches
        if m.start >= a and m.end <= b
    )
    return pre + text[a:b] + post, spans


def search_table(hits: Iterable[Hit], terms: list[str], *, cut: bool = True) -> Table:
    """Search results, best first, with the matched words marked; `cut` shortens
    long text around the first match (for a terminal)."""
    width = 160 if cut else None
    return Table(
        "",
        ("id", "kind", "evidence", "verdict", "rating", "text"),
        (
            (h.record.id, kind_label(h.record), h.record.evidence.value, verdict_label(h.record))
            + (rating_label(h.record), _snippet(h, width))
            for h in hits
        ),
        wide=frozenset(("text",)),
        counted=lambda n: f"{n} match{'es' if n != 1 else ''} for {' '.join(terms)!r}",
    )


# --- timeline -----------------------------------------------------------------------


def _later_prefix(e: TimelineEvent) -> str:
    return LATER if e.record_type is RecordType.LATER else ""


def timeline_table(events: Iterable[TimelineEvent]) -> Table:
    """Dated events as rows, for plain, CSV and Markdown output."""
    rows = ((e.date, e.record_id, _later_prefix(e) + e.description) for e in events)
    return Table("Timeline", ("date", "id", "event"), rows, wide=frozenset(("event",)))


def timeline_doc(events: Iterable[TimelineEvent]) -> Doc:
    """A vertical timeline for a terminal: the source's own dates grouped by year, dates
    aligned; what happened later, known from outside the source, in a section apart."""
    events = list(events)  # a terminal shows it whole
    own = [e for e in events if e.record_type is not RecordType.LATER]
    later = [e for e in events if e.record_type is RecordType.LATER]
    years: dict[str, list[Field]] = {}

    def field(e: TimelineEvent) -> Field:
        prefix = _later_prefix(e)
        line = f"{prefix}{e.description}  {e.record_id}"
        n = len(line) - len(e.record_id)
        spans = ((n, len(line), "label"),) + (((0, len(prefix), "later"),) if prefix else ())
        return Field(f"{e.date:<10}", Marked(line, spans))

    for e in own:
        years.setdefault(e.date[:4], []).append(field(e))
    sections = [Section(year, tuple(fields)) for year, fields in years.items()]
    if later:
        sections.append(
            Section("Later, from outside the source", tuple(field(e) for e in later), style="later")
        )
    subtitle = f"{len(own)} dated events in the source"
    if later:
        subtitle += f"; {len(later)} later, from other records"
    return Doc("Timeline", tuple(sections), subtitle=subtitle)


# --- entities ------------------------------------------------------------------------


def entities_table(counts: Iterable[EntityCount]) -> Table:
    """Entities with how many claims and cases name them."""
    return Table(
        "Entities",
        ("id", "type", "name", "claims", "cases"),
        (
            (x.entity.id, x.entity.type.value, x.entity.name, str(x.claims), str(x.cases))
            for x in counts
        ),
        wide=frozenset(("name",)),
        counted=lambda n: f"Entities ({n})",
    )


def entity_doc(e: Entity, records: list[Record]) -> Doc:
    """One entity and every claim and case naming it."""
    fields = [Field("type", e.type.value), Field("name", e.name)]
    if e.aliases:
        fields.append(Field("aliases", "; ".join(e.aliases)))
    if e.note:
        fields.append(Field("note", e.note))
    rows: list[tuple[Cell, ...]] = [
        (r.id, kind_label(r), rating_label(r), r.statement if isinstance(r, Claim) else r.title)
        for r in records
    ]
    table = Table("named by", ("id", "kind", "rating", "text"), rows, wide=frozenset(("text",)))
    return Doc(e.id, (Section(None, tuple(fields)), Section(f"Named by {len(rows)}", table=table)))


# --- the source ------------------------------------------------------------------------


def source_doc(ds: Dataset, spans: list[Span]) -> Doc:
    """The article with each quoted span marked and labelled with its record id."""
    text = ds.source_text or ""
    out: list[str] = []
    marks: list[tuple[int, int, str]] = []
    pos = 0
    length = 0
    # Labels go after the end of each span; overlapping spans are merged for display.
    merged: list[tuple[int, int, list[str]]] = []
    for s in spans:
        if merged and s.start < merged[-1][1]:
            a, b, ids = merged[-1]
            merged[-1] = (a, max(b, s.end), [*ids, s.record_id])
        else:
            merged.append((s.start, s.end, [s.record_id]))
    for a, b, ids in merged:
        out.append(text[pos:a])
        length += a - pos
        out.append(text[a:b])
        marks.append((length, length + b - a, "quote"))
        length += b - a
        label = " [" + ", ".join(ids) + "]"
        out.append(label)
        marks.append((length, length + len(label), "label"))
        length += len(label)
        pos = b
    out.append(text[pos:])
    quoted = sum(b - a for a, b, _ in merged)
    share = f"{100 * quoted / len(text):.0f}%" if text else "0%"
    subtitle = f"{ds.source.title} — {share} of the text is quoted by {len(spans)} records"
    credit = [Section(None, (Field("credit", ds.source.credit),))] if ds.source.credit else []
    return Doc(
        ds.source.id,
        (
            *source_about(ds),
            Section(None, text=_trimmed("".join(out), marks)),
            *credit,
        ),
        subtitle=subtitle,
    )


def _trimmed(text: str, marks: list[tuple[int, int, str]]) -> Marked:
    """`text` without the line breaks (LF or CRLF) before its first line and after its
    last, its marks moved with the characters they mark."""
    lead = len(text) - len(text.lstrip("\r\n"))
    body = text.strip("\r\n")
    return Marked(body, tuple((a - lead, b - lead, style) for a, b, style in marks))


def source_about(ds: Dataset) -> tuple[Section, ...]:
    """What a reader of the source's words should know first: who published it and
    when, its language (a translation, say, whose names may be garbled), and the
    dataset's note on it as a whole. Nothing when the dataset gives none of them."""
    src = ds.source
    published = ", ".join(x for x in (src.publisher, src.date) if x)
    fields = [
        Field(label, value)
        for label, value in (
            ("published", published),
            ("language", src.language),
            ("note", src.note),
        )
        if value
    ]
    return (Section("About the source", tuple(fields)),) if fields else ()


def passage_doc(p: Passage) -> Doc:
    """One record's quote, marked inside its paragraph."""
    rel = p.start - p.paragraph_start
    rec = p.record
    return Doc(
        rec.id,
        (Section(None, text=Marked(p.paragraph, ((rel, rel + len(rec.quote), "match"),))),),
        subtitle=rec.statement if isinstance(rec, Claim) else rec.title,
    )


def validate_table(path: str, ds: Dataset, uncovered: list[str]) -> Table:
    """The one-line summary `validate` prints for a good dataset."""
    note = (
        f"{len(uncovered)} paragraph{'' if len(uncovered) == 1 else 's'} not quoted"
        if ds.source_text is not None
        else "no source text"
    )
    return Table(
        "",
        ("file", "status", "claims", "cases", "entities", "coverage"),
        [(path, "ok", str(len(ds.claims)), str(len(ds.cases)), str(len(ds.entities)), note)],
    )


# --- diff ----------------------------------------------------------------------------


def diff_view(d: DatasetDiff) -> Table | Doc:
    """What changed between two versions of a dataset: a row per change, or a note
    that nothing did."""
    if not d.changes:
        return Doc("No changes", (Section(None, (Field("old", d.old), Field("new", d.new))),))
    return diff_table(d)


def diff_table(d: DatasetDiff) -> Table:
    """What changed between two versions of a dataset, a row per change."""
    rows = [(c.record, c.type, c.change.value, c.old or "", c.new or "") for c in d.changes]
    return Table(
        f"Changes from {d.old} to {d.new} ({len(rows)})",
        ("record", "type", "change", "old", "new"),
        rows,
        wide=frozenset(("old", "new")),
    )


# --- labels ----------------------------------------------------------------------------


def labels_table(infos: Iterable[LabelInfo], *, rules: bool = False) -> Table:
    """Labels with their definitions, how many records use each, and a rating's place on
    the scale; with `rules`, when a reviewer applies each (verdicts and ratings)."""
    rows = list(infos)
    scored = any(x.value is not None for x in rows)
    counted = any(x.uses is not None for x in rows)
    ruled = rules and any(x.rule for x in rows)
    columns = ("label", "vocabulary", *(("value",) if scored else ()))
    columns += (*(("uses",) if counted else ()), "definition")
    columns += ("rule",) if ruled else ()
    vocabularies = len({x.vocabulary for x in rows})

    def rule(x: LabelInfo) -> Cell:
        if not x.rule:
            return ""
        return Marked(f"Rule: {x.rule}", ((0, 5, "dim"),))

    return Table(
        "Labels",
        columns,
        (
            (x.label, x.vocabulary)
            + ((str(x.value) if x.value is not None else "",) if scored else ())
            + ((str(x.uses or 0),) if counted else ())
            + (x.definition,)
            + ((rule(x),) if ruled else ())
            for x in rows
        ),
        wide=frozenset(("definition", "rule")),
        counted=lambda n: (
            f"{n} label{'s' if n != 1 else ''} of {vocabularies} "
            f"vocabular{'ies' if vocabularies != 1 else 'y'}"
        ),
    )
