"""The records of a dataset: frozen, typed, and validated by msgspec.

This module imports nothing of ours. The YAML schema is exactly these structs:
a field that is not declared here is an error, and so is a value of the wrong
type. docs/dataset.md is generated from them (`python docs/generate.py`): the
`#:` comment above each field is its description there, so every field needs one.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

SCHEMA_VERSION = 2
#: What changed at each schema version, for the message that refuses an older file.
SCHEMA_CHANGES = {
    2: (
        "every review gains a required `rating` (what a reader should conclude) and "
        "optional `reasons`; `later`/`later_date` became `later`, a list of "
        "{date, description, references}; references gain `publisher`"
    ),
}

#: Where a pattern's text ends, in Python's regular expressions and in JSON Schema's
#: alike: Python's ``$`` also matches before a line break that ends the text, which
#: would let ``"claim-a\n"`` pass for an id and ``"2021-02-30\n"`` for a date.
END = r"$(?!\n)"

#: ISO 8601 at the precision the source gives: ``2020``, ``2020-06`` or ``2020-06-21``.
DATE_PATTERN = rf"^[0-9]{{4}}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?{END}"

Date = Annotated[str, msgspec.Meta(pattern=DATE_PATTERN)]
Id = Annotated[str, msgspec.Meta(pattern=rf"^[a-z0-9][a-z0-9-]*{END}", max_length=120)]
Text = Annotated[str, msgspec.Meta(min_length=1)]


class Label(enum.StrEnum):
    """A closed vocabulary: every value has a one-line definition (see `definition`)."""


class ClaimKind(Label):
    """What sort of statement a claim is."""

    STATISTIC = "statistic"
    RESEARCH = "research"
    REGULATORY = "regulatory"
    CLINICAL = "clinical"
    POLICY = "policy"
    BACKGROUND = "background"
    PREDICTION = "prediction"
    OPINION = "opinion"
    PROMOTION = "promotion"


class Evidence(Label):
    """The kind of support the source itself rests a claim on."""

    PEER_REVIEWED = "peer-reviewed"
    REGULATORY = "regulatory"
    PRESS_RELEASE = "press-release"
    NEWS_REPORT = "news-report"
    PATIENT_REPORT = "patient-report"
    OPINION = "opinion"
    PROMOTIONAL = "promotional"
    UNSOURCED = "unsourced"


class Verdict(Label):
    """What checking the claim against public records found."""

    CONFIRMED = "confirmed"
    CONFIRMED_WITH_CORRECTIONS = "confirmed-with-corrections"
    REPORTED = "reported"
    UNCONFIRMED = "unconfirmed"
    NOT_IDENTIFIED = "not-identified"
    NOT_CHECKED = "not-checked"
    NOT_CHECKABLE = "not-checkable"


class Rating(Label):
    """What a reader should conclude from a claim, on an ordered scale (see `RATING_SCALE`)."""

    ACCURATE = "accurate"
    MOSTLY_ACCURATE = "mostly-accurate"
    UNSUPPORTED = "unsupported"
    MISLEADING = "misleading"
    INCORRECT = "incorrect"
    NOT_A_FACT = "not-a-fact"

    @property
    def score(self) -> int | None:
        """The rating's place on the scale (5 best, 1 worst), or None for `not-a-fact`."""
        return RATING_SCALE.get(self)


#: Each rating's value on the scale, for ClaimReview's ratingValue (best 5, worst 1).
#: `not-a-fact` is off the scale: there is nothing to rate as true or false.
RATING_SCALE: dict[Rating, int] = {
    Rating.ACCURATE: 5,
    Rating.MOSTLY_ACCURATE: 4,
    Rating.UNSUPPORTED: 3,
    Rating.MISLEADING: 2,
    Rating.INCORRECT: 1,
}
BEST_RATING = 5
WORST_RATING = 1


class Reason(Label):
    """Why a claim is rated as it is: a tag naming the fault, as fact-checkers tag verdicts."""

    ANIMAL_STUDY = "animal-study"
    SINGLE_CASE = "single-case"
    SELF_REPORTED = "self-reported"
    OVERSTATES_SCIENCE = "overstates-science"
    LACKS_CONTEXT = "lacks-context"
    MISATTRIBUTED = "misattributed"
    WRONG_DETAIL = "wrong-detail"
    UNCONFIRMED_DETAIL = "unconfirmed-detail"
    UNSOURCED = "unsourced"
    INFERRED_SOURCE = "inferred-source"
    PROMOTIONAL = "promotional"
    LATER_OUTCOME = "later-outcome"
    TOO_VAGUE = "too-vague"


class EntityType(Label):
    """What an entity is."""

    PERSON = "person"
    ORGANISATION = "organisation"
    PRODUCT = "product"
    PUBLICATION = "publication"
    PLACE = "place"


class Qualifier(Label):
    """How a number relates to the true value, in the source's words."""

    EXACT = "exact"
    MORE_THAN = "more-than"
    AT_LEAST = "at-least"
    ABOUT = "about"
    UP_TO = "up-to"


class _Record(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for every record: frozen, keyword-only, unknown fields refused."""


#: One character that may sit in an identifier or address: not a space, and
#: nothing invisible or that moves the cursor: no control (C0, DEL, C1), bidi,
#: zero-width, soft-hyphen or tag character.
VISIBLE = (
    "[^\\s\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
#: The largest magnitude of a number in a dataset (integers stay exact in JSON
#: and in 64 bits).
MAX_NUMBER = 10**15
Doi = Annotated[str, msgspec.Meta(pattern=rf"^10\.[0-9]{{4,9}}/{VISIBLE}+{END}")]
Pmid = Annotated[str, msgspec.Meta(pattern=rf"^[0-9]{{1,9}}{END}")]
Nct = Annotated[str, msgspec.Meta(pattern=rf"^NCT[0-9]{{8}}{END}")]
Url = Annotated[str, msgspec.Meta(pattern=rf"^https?://{VISIBLE}+{END}")]
#: A measured or stated number: finite, and at most MAX_NUMBER either way.
Number = (
    Annotated[int, msgspec.Meta(ge=-MAX_NUMBER, le=MAX_NUMBER)]
    | Annotated[float, msgspec.Meta(ge=-MAX_NUMBER, le=MAX_NUMBER)]
)
#: An age in years.
Age = Annotated[int, msgspec.Meta(ge=0, le=150)]


class Reference(_Record, frozen=True):
    """A public record that backs a review: a paper, a registry entry, a news report."""

    #: The record's title; where it has none, or it was not read, a description of the
    #: record in square brackets, as citation styles mark a title supplied.
    title: Text
    #: Its authors as the record lists them, each as family name and initials ("Xu Z");
    #: where the list is cut, "et al." stands for those left out (a last author named
    #: after it is kept in the list shown, and left out of citation exports).
    authors: tuple[Text, ...] = ()
    #: Who published it: a journal, a registry, a newspaper, a company.
    publisher: str | None = None
    #: A paper's volume in its journal ("8").
    volume: str | None = None
    #: A paper's issue in its volume ("4", "13 Supplement").
    issue: str | None = None
    #: A paper's pages in its issue ("420-422").
    pages: str | None = None
    #: Its DOI (`10.` and the rest), without `https://doi.org/`.
    doi: Doi | None = None
    #: Its PubMed id (digits).
    pmid: Pmid | None = None
    #: Its ClinicalTrials.gov id (`NCT` and 8 digits).
    nct: Nct | None = None
    #: Its web address (http or https only).
    url: Url | None = None
    #: When it was published.
    date: Date | None = None
    #: What it says that matters here, or why it was chosen.
    note: str | None = None

    def identifier(self) -> tuple[str, str] | None:
        """The most specific id the record has, as (`doi`, `pmid`, `nct` or `url`, value)."""
        for kind, value in (("doi", self.doi), ("pmid", self.pmid), ("nct", self.nct)):
            if value:
                return kind, value
        return ("url", self.url) if self.url else None

    def link(self) -> str | None:
        """The address a reader can open, from the DOI, PMID, NCT id or URL."""
        found = self.identifier()
        return None if found is None else _LINKS[found[0]].format(found[1])


#: The address of a reference, by the kind of its most specific id.
_LINKS = {
    "doi": "https://doi.org/{}",
    "pmid": "https://pubmed.ncbi.nlm.nih.gov/{}/",
    "nct": "https://clinicaltrials.gov/study/{}",
    "url": "{}",
}


class Correction(_Record, frozen=True):
    """Something the source gets wrong, and what public records say instead."""

    #: What the source says.
    article: Text
    #: What public records say instead.
    correct: Text
    #: Why, or where the records say it.
    note: str | None = None


class Development(_Record, frozen=True):
    """Something that happened after the source was written, known from outside it."""

    #: What happened.
    description: Text
    #: When it happened; a dated development goes on the timeline.
    date: Date | None = None
    #: Public records that state it.
    references: tuple[Reference, ...] = ()


class Review(_Record, frozen=True):
    """What is known about a claim from outside the source: two separate judgements.

    `verdict` says what checking found; `rating` says what a reader should
    conclude, and `reasons` name why it is not higher.
    """

    #: What checking the claim against public records found.
    verdict: Verdict
    #: What a reader should conclude, on an ordered scale.
    rating: Rating
    #: Why the rating is not higher: tags that name the fault.
    reasons: tuple[Reason, ...] = ()
    #: The reviewer's explanation of the verdict and the rating.
    note: str | None = None
    #: Details the source gets wrong, with what records say.
    corrections: tuple[Correction, ...] = ()
    #: The public records the review rests on.
    references: tuple[Reference, ...] = ()
    #: What happened after the source was written, known from outside it.
    later: tuple[Development, ...] = ()


#: What a record without a review shows for its verdict and rating, and the value
#: that filters on them take for such records.
NOT_REVIEWED = "not-reviewed"


class Figure(_Record, frozen=True):
    """A number the source states, structured: value, unit and qualifier."""

    #: What the number counts.
    label: Text
    #: The number itself.
    value: Number
    #: The unit, in words (`applications`, `patients`, `cells`).
    unit: Text
    #: How the number relates to the true value, in the source's words.
    qualifier: Qualifier = Qualifier.EXACT
    #: The date the number refers to.
    date: Date | None = None


class Entity(_Record, frozen=True):
    """A person, organisation, product, publication or place that claims name."""

    #: A stable, readable id (`ent-...`).
    id: Id
    #: The name as records give it (not another entity's id, in any case).
    name: Text
    #: What sort of thing it is.
    type: EntityType
    #: Other names the source or the records use (misspellings included); none may be
    #: another entity's id, in any case (lookups would be ambiguous).
    aliases: tuple[str, ...] = ()
    #: Who or what it is, where that helps.
    note: str | None = None


class Claim(_Record, frozen=True):
    """One thing the source asserts, tied to its verbatim words."""

    #: A stable, readable id (`claim-...`).
    id: Id
    #: What sort of statement it is.
    kind: ClaimKind
    #: A short, neutral restatement ("The article says ...").
    statement: Text
    #: The source's exact words; must be verbatim in the source text.
    quote: Text
    #: The support the source itself gives for it (not whether it is true).
    evidence: Evidence
    #: The date the source gives the claim.
    date: Date | None = None
    #: Ids of the entities the claim names (or, for an unnamed patient, the person the review
    #: identifies).
    entities: tuple[Id, ...] = ()
    #: The numbers the claim states.
    figures: tuple[Figure, ...] = ()
    #: What is known about the claim from outside the source.
    review: Review | None = None
    #: A short form of the claim for ClaimReview's `claimReviewed` (best under 75
    #: characters); without it, exports fall back to `statement`.
    claim_reviewed: Text | None = None


class Patient(_Record, frozen=True):
    """The patient as the source describes them."""

    #: The patient as the source describes them.
    description: Text
    #: The patient's name, where records give it.
    name: str | None = None
    #: As the source or records give it.
    sex: str | None = None
    #: Age in years at the time of the case.
    age: Age | None = None
    #: Where the patient lives or was treated.
    place: str | None = None


class Event(_Record, frozen=True):
    """A dated step in a clinical case."""

    #: When it happened.
    date: Date
    #: What happened.
    description: Text
    #: The source's exact words for it, where there are some.
    quote: str | None = None


class Measurement(_Record, frozen=True):
    """A measured outcome: a value before and after, with its unit."""

    #: What was measured.
    label: Text
    #: The value before treatment.
    before: Number
    #: The value after.
    after: Number
    #: The unit, in words.
    unit: Text
    #: When the later value was measured.
    date: Date | None = None


class Case(_Record, frozen=True):
    """A clinical case the source tells, structured."""

    #: A stable, readable id (`case-...`).
    id: Id
    #: A one-line summary of the case.
    title: Text
    #: The source's exact words; must be verbatim in the source text.
    quote: Text
    #: The patient.
    patient: Patient
    #: The diagnoses, as the source gives them.
    diagnosis: tuple[Text, ...]
    #: The treatment given.
    therapy: Text
    #: The outcome, as reported.
    outcome: Text
    #: The support the source itself gives for the case.
    evidence: Evidence
    #: How far the disease had spread.
    extent: str | None = None
    #: Id of the entity where the patient was treated.
    hospital: Id | None = None
    #: Dated steps of the case (shown in date order).
    events: tuple[Event, ...] = ()
    #: Measured outcomes, before and after.
    measurements: tuple[Measurement, ...] = ()
    #: Ids of the entities the case names.
    entities: tuple[Id, ...] = ()
    #: Ids of the claims the case bears on.
    claims: tuple[Id, ...] = ()
    #: What is known about the case from outside the source.
    review: Review | None = None


class Source(_Record, frozen=True):
    """The document the claims are drawn from."""

    #: A stable, readable id (`src-...`).
    id: Id
    #: The source's title (or a descriptive one where it has none).
    title: Text
    #: Who published it.
    publisher: Text
    #: The source's credit line, as it appears in its text; not counted as a paragraph of
    #: substance.
    credit: str | None = None
    #: When it was published.
    date: Date | None = None
    #: The language of the text, and how it was translated where it was.
    language: str | None = None
    #: What a reader should know about the source as a whole.
    note: str | None = None
    #: The source's text, as a file path relative to the dataset; when given, every quote must be
    #: verbatim in it.
    text: str | None = None
    #: The source's web address: ClaimReview's `itemReviewed.appearance`.
    url: Url | None = None


class Dataset(_Record, frozen=True):
    """A whole dataset: its source, entities, claims and cases."""

    #: The schema version the file is written for.
    schema: int
    #: The document the claims are drawn from.
    source: Source
    #: The people, organisations, products, publications and places that records name.
    entities: tuple[Entity, ...] = ()
    #: What the source asserts, one claim each.
    claims: tuple[Claim, ...] = ()
    #: The clinical cases the source tells.
    cases: tuple[Case, ...] = ()
    #: Not in the file: the loader fills it with the text that `source.text` names.
    source_text: str | None = None

    def records(self) -> tuple[Claim | Case, ...]:
        """Claims, then cases, in dataset order."""
        return (*self.claims, *self.cases)

    def entity_map(self) -> dict[str, Entity]:
        """Entities by id."""
        return {e.id: e for e in self.entities}


#: One-line definitions of every label of every vocabulary, by vocabulary name.
#: The rating and the verdict words follow fact-checkers of health claims:
#: Science Feedback's verdicts (accurate, mostly accurate, lacks context,
#: misleading, overstates scientific confidence, unsupported, incorrect) and
#: HKBU FactCheck's, which keep "misleading" and "unsubstantiated" apart from
#: "false".
DEFINITIONS: dict[str, dict[str, str]] = {
    "kind": {
        ClaimKind.STATISTIC: "a count or figure about the field, e.g. numbers of applications",
        ClaimKind.RESEARCH: "a reported scientific finding or study",
        ClaimKind.REGULATORY: "an action of a regulator: an approval, a clearance, a trial",
        ClaimKind.CLINICAL: "what happened to patients: a case or its outcome",
        ClaimKind.POLICY: "a statement about government plans or policy",
        ClaimKind.BACKGROUND: "general explanation the article offers as common knowledge",
        ClaimKind.PREDICTION: "a statement about the future",
        ClaimKind.OPINION: "a judgement or characterisation, such as 'the hottest treatment'",
        ClaimKind.PROMOTION: "a statement that sells a product or service, such as cell banking",
    },
    "evidence": {
        Evidence.PEER_REVIEWED: "the article attributes it to a paper in a journal it names",
        Evidence.REGULATORY: "it rests on a regulator's record or decision",
        Evidence.PRESS_RELEASE: "it rests on a company's own announcement",
        Evidence.NEWS_REPORT: "it rests on a news story",
        Evidence.PATIENT_REPORT: "it rests on a patient's own account, such as a post",
        Evidence.OPINION: "it is the author's judgement",
        Evidence.PROMOTIONAL: "it is marketing copy",
        Evidence.UNSOURCED: "the article cites nothing for it (naming a person is not a source)",
    },
    "verdict": {
        Verdict.CONFIRMED: "a public record states it",
        Verdict.CONFIRMED_WITH_CORRECTIONS: (
            "a public record states the substance; details differ, listed as corrections"
        ),
        Verdict.REPORTED: (
            "a news or patient report of it was found; what it says (medical facts included)"
            " was not checked"
        ),
        Verdict.UNCONFIRMED: "looked for; no public record was found that confirms or refutes it",
        Verdict.NOT_IDENTIFIED: "the study or event it refers to could not be identified",
        Verdict.NOT_CHECKED: "not yet checked against public records",
        Verdict.NOT_CHECKABLE: (
            "an opinion, prediction, figure of speech or sales pitch: no record could check it"
        ),
    },
    "rating": {
        Rating.ACCURATE: "correct: public records state it, and nothing a reader needs is missing",
        Rating.MOSTLY_ACCURATE: (
            "correct in substance; a detail is wrong or unconfirmed, or a caveat is missing"
        ),
        Rating.UNSUPPORTED: (
            "unsubstantiated: no public record confirms or refutes it; do not rely on it"
        ),
        Rating.MISLEADING: (
            "built on something real, but told so that a reader draws a wrong conclusion"
        ),
        Rating.INCORRECT: "false: public records contradict its main point",
        Rating.NOT_A_FACT: (
            "an opinion, prediction, figure of speech or sales pitch: nothing to rate"
        ),
    },
    "reason": {
        Reason.ANIMAL_STUDY: "shown in animals (or cells), told as if shown in people",
        Reason.SINGLE_CASE: "rests on one patient's story, not a trial or a series",
        Reason.SELF_REPORTED: "rests on what the patient said (a post), not on medical records",
        Reason.OVERSTATES_SCIENCE: "claims more certainty or a bigger result than the study shows",
        Reason.LACKS_CONTEXT: "leaves out what changes how it reads: a caveat, how it is done",
        Reason.MISATTRIBUTED: "names the wrong journal, person, organisation or sponsor",
        Reason.WRONG_DETAIL: "a name, date, number or place is wrong; the main point stands",
        Reason.UNCONFIRMED_DETAIL: "a detail (a date, a figure) was not confirmed; the rest was",
        Reason.UNSOURCED: "the article gives no source, and none was found",
        Reason.INFERRED_SOURCE: "the study behind it is a best match; no source states the link",
        Reason.PROMOTIONAL: "serves to sell a product or service",
        Reason.LATER_OUTCOME: "something that happened after the article changes how it reads",
        Reason.TOO_VAGUE: "says too little (no count, no study, no date) to be checked",
    },
    "entity type": {
        EntityType.PERSON: "a named person",
        EntityType.ORGANISATION: "a company, hospital, university, regulator or agency",
        EntityType.PRODUCT: "a drug, therapy or product",
        EntityType.PUBLICATION: "a journal, paper or news outlet",
        EntityType.PLACE: "a city, region or country",
    },
    "qualifier": {
        Qualifier.EXACT: "the number as stated",
        Qualifier.MORE_THAN: "the true value is above the number ('more than 50')",
        Qualifier.AT_LEAST: "the true value is the number or above",
        Qualifier.ABOUT: "an approximate number",
        Qualifier.UP_TO: "the true value is the number or below",
    },
}

#: A few words for each verdict and rating, where a whole definition is too long:
#: the choices listed in an option's help, a legend under a table.
GLOSSES: dict[str, dict[str, str]] = {
    "verdict": {
        Verdict.CONFIRMED: "a record states it",
        Verdict.CONFIRMED_WITH_CORRECTIONS: "stated; details differ",
        Verdict.REPORTED: "in the news; facts unchecked",
        Verdict.UNCONFIRMED: "nothing found either way",
        Verdict.NOT_IDENTIFIED: "its study not found",
        Verdict.NOT_CHECKED: "not yet looked at",
        Verdict.NOT_CHECKABLE: "opinion or pitch",
        NOT_REVIEWED: "no review",
    },
    "rating": {
        Rating.ACCURATE: "correct",
        Rating.MOSTLY_ACCURATE: "right; a detail off",
        Rating.UNSUPPORTED: "do not rely on it",
        Rating.MISLEADING: "true parts, wrong conclusion",
        Rating.INCORRECT: "false",
        Rating.NOT_A_FACT: "opinion or pitch",
        NOT_REVIEWED: "no review",
    },
}

#: When a reviewer applies each verdict and rating: the rules behind the one-line
#: definitions. `review_problems` enforces the parts a machine can check.
RULES: dict[str, dict[str, str]] = {
    "verdict": {
        Verdict.CONFIRMED: "a cited record states the claim as the article tells it; no correction",
        Verdict.CONFIRMED_WITH_CORRECTIONS: (
            "a cited record states the substance; each detail it contradicts is a correction"
        ),
        Verdict.REPORTED: (
            "a cited news or patient report tells it; corrections may fix names or details"
        ),
        Verdict.UNCONFIRMED: "searched, nothing states it or contradicts it; no correction",
        Verdict.NOT_IDENTIFIED: "searched, the study or event could not be found; no correction",
        Verdict.NOT_CHECKED: "nobody has looked yet; rated unsupported, with no correction",
        Verdict.NOT_CHECKABLE: "nothing in it could be true or false; always rated not-a-fact",
    },
    "rating": {
        Rating.ACCURATE: (
            "verdict confirmed, no correction, and a cited record states every part that matters"
        ),
        Rating.MOSTLY_ACCURATE: (
            "verdict confirmed, confirmed with corrections, or reported; a cited record states "
            "the point, and what is wrong or missing would not change a reader's conclusion"
        ),
        Rating.UNSUPPORTED: (
            "no record states the point (or only the claimant's own word does); the only "
            "rating that may rest on no reference, when nothing at all was found"
        ),
        Rating.MISLEADING: (
            "a cited record shows what it is built on and why the conclusion it invites is "
            "wrong: an animal result told as a human one, one patient told as a cure, an early "
            "hope told without its outcome"
        ),
        Rating.INCORRECT: "a cited record contradicts the main point, not only a detail",
        Rating.NOT_A_FACT: (
            "opinions, predictions, figures of speech and pure sales pitch; every claim whose "
            "kind is opinion or prediction; the verdict is then not-checkable"
        ),
    },
}

#: Each vocabulary's enum, by the name used in DEFINITIONS.
VOCABULARIES: dict[str, type[Label]] = {
    "kind": ClaimKind,
    "evidence": Evidence,
    "verdict": Verdict,
    "rating": Rating,
    "reason": Reason,
    "entity type": EntityType,
    "qualifier": Qualifier,
}

#: Verdicts under which a review may list corrections: checking found a record.
CORRECTABLE = frozenset({Verdict.CONFIRMED_WITH_CORRECTIONS, Verdict.REPORTED})
#: Verdicts that say a record was found, so the review must cite it.
FOUND = frozenset({Verdict.CONFIRMED, Verdict.CONFIRMED_WITH_CORRECTIONS, Verdict.REPORTED})
#: Ratings a review may give without citing anything: nothing was found to cite.
UNCITED_RATINGS = frozenset({Rating.UNSUPPORTED, Rating.NOT_A_FACT})
#: Claim kinds that state no fact: their reviews are rated not-a-fact.
NOT_FACT_KINDS = frozenset({ClaimKind.OPINION, ClaimKind.PREDICTION})


def review_problems(
    review: Review, kind: ClaimKind | None = None
) -> list[tuple[tuple[str | int, ...], str]]:
    """What breaks the rules in `RULES` in one review, as (path in the review, what) pairs.

    `kind` is the claim's kind (None for a case). The checks are the ones a
    machine can make: the verdict and rating agree, corrections sit under a
    verdict that found a record, and every on-scale rating, every found record
    and every later development cites a reference with an address.
    """
    out: list[tuple[tuple[str | int, ...], str]] = []
    verdict, rating = review.verdict, review.rating
    if (rating is Rating.NOT_A_FACT) != (verdict is Verdict.NOT_CHECKABLE):
        out.append(
            (
                ("rating",),
                f"rating {rating.value!r} with verdict {verdict.value!r}: not-a-fact goes "
                "with not-checkable, and only with it",
            )
        )
    if kind is not None and kind in NOT_FACT_KINDS and rating is not Rating.NOT_A_FACT:
        out.append((("rating",), f"a claim of kind {kind.value!r} is rated 'not-a-fact'"))
    if rating is Rating.ACCURATE and (verdict is not Verdict.CONFIRMED or review.corrections):
        out.append((("rating",), "'accurate' needs verdict 'confirmed' and no corrections"))
    if rating is Rating.MOSTLY_ACCURATE and verdict not in FOUND:
        out.append(
            (("rating",), f"'mostly-accurate' needs a record found, not verdict {verdict.value!r}")
        )
    if verdict is Verdict.NOT_CHECKED and rating is not Rating.UNSUPPORTED:
        out.append((("rating",), "a claim not yet checked can only be rated 'unsupported'"))
    if verdict is Verdict.CONFIRMED_WITH_CORRECTIONS and not review.corrections:
        out.append((("corrections",), "verdict 'confirmed-with-corrections' lists no correction"))
    if review.corrections and verdict not in CORRECTABLE:
        out.append(
            (
                ("corrections",),
                f"corrections under verdict {verdict.value!r}: a correction needs a record "
                "found (confirmed-with-corrections or reported)",
            )
        )
    if not review.references and (rating not in UNCITED_RATINGS or verdict in FOUND):
        out.append(
            (
                ("references",),
                f"a review rated {rating.value!r} with verdict {verdict.value!r} must cite "
                "at least one reference",
            )
        )
    for i, ref in enumerate(review.references):
        if ref.identifier() is None:
            out.append((("references", i), "needs a doi, pmid, nct or an http(s) url"))
    for i, dev in enumerate(review.later):
        if not dev.references:
            out.append((("later", i), "a later development must cite a reference"))
        for j, ref in enumerate(dev.references):
            if ref.identifier() is None:
                out.append(
                    (("later", i, "references", j), "needs a doi, pmid, nct or an http(s) url")
                )
    return out


def definition(label: Label) -> str:
    """The one-line definition of a label of any vocabulary."""
    for name, vocab in VOCABULARIES.items():
        if type(label) is vocab:
            return DEFINITIONS[name][label.value]
    raise KeyError(label)
