"""The records of a dataset: frozen, typed, and validated by msgspec.

This module imports nothing of ours. The YAML schema documented in README.md is
exactly these structs: a field that is not declared here is an error, and so is
a value of the wrong type.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

SCHEMA_VERSION = 1

#: ISO 8601 at the precision the source gives: ``2020``, ``2020-06`` or ``2020-06-21``.
DATE_PATTERN = r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"

Date = Annotated[str, msgspec.Meta(pattern=DATE_PATTERN)]
Id = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=120)]
Text = Annotated[str, msgspec.Meta(min_length=1)]


class ClaimKind(enum.StrEnum):
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


class Evidence(enum.StrEnum):
    """The kind of support the source itself rests a claim on."""

    PEER_REVIEWED = "peer-reviewed"
    REGULATORY = "regulatory"
    PRESS_RELEASE = "press-release"
    NEWS_REPORT = "news-report"
    PATIENT_REPORT = "patient-report"
    OPINION = "opinion"
    PROMOTIONAL = "promotional"
    UNSOURCED = "unsourced"


class Verdict(enum.StrEnum):
    """What checking the claim against public records found."""

    CONFIRMED = "confirmed"
    CONFIRMED_WITH_CORRECTIONS = "confirmed-with-corrections"
    REPORTED = "reported"
    UNCONFIRMED = "unconfirmed"
    NOT_IDENTIFIED = "not-identified"
    NOT_CHECKED = "not-checked"


class EntityType(enum.StrEnum):
    """What an entity is."""

    PERSON = "person"
    ORGANISATION = "organisation"
    PRODUCT = "product"
    PUBLICATION = "publication"
    PLACE = "place"


class Qualifier(enum.StrEnum):
    """How a number relates to the true value, in the source's words."""

    EXACT = "exact"
    MORE_THAN = "more-than"
    AT_LEAST = "at-least"
    ABOUT = "about"
    UP_TO = "up-to"


class _Record(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for every record: frozen, keyword-only, unknown fields refused."""


Doi = Annotated[str, msgspec.Meta(pattern=r"^10\.[0-9]{4,9}/\S+$")]
Pmid = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,9}$")]
Nct = Annotated[str, msgspec.Meta(pattern=r"^NCT[0-9]{8}$")]
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$")]


class Reference(_Record, frozen=True):
    """A public record that backs a review: a paper, a registry entry, a news report."""

    title: Text
    doi: Doi | None = None
    pmid: Pmid | None = None
    nct: Nct | None = None
    url: Url | None = None
    date: Date | None = None
    note: str | None = None

    def link(self) -> str | None:
        """The address a reader can open, from the DOI, PMID, NCT id or URL."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        if self.nct:
            return f"https://clinicaltrials.gov/study/{self.nct}"
        return self.url


class Correction(_Record, frozen=True):
    """Something the source gets wrong, and what public records say instead."""

    article: Text
    correct: Text
    note: str | None = None


class Review(_Record, frozen=True):
    """What is known about a claim from outside the source."""

    verdict: Verdict
    note: str | None = None
    corrections: tuple[Correction, ...] = ()
    references: tuple[Reference, ...] = ()
    later: str | None = None
    later_date: Date | None = None


class Figure(_Record, frozen=True):
    """A number the source states, structured: value, unit and qualifier."""

    label: Text
    value: int | float
    unit: Text
    qualifier: Qualifier = Qualifier.EXACT
    date: Date | None = None


class Entity(_Record, frozen=True):
    """A person, organisation, product, publication or place that claims name."""

    id: Id
    name: Text
    type: EntityType
    aliases: tuple[str, ...] = ()
    note: str | None = None


class Claim(_Record, frozen=True):
    """One thing the source asserts, tied to its verbatim words."""

    id: Id
    kind: ClaimKind
    statement: Text
    quote: Text
    evidence: Evidence
    date: Date | None = None
    entities: tuple[Id, ...] = ()
    figures: tuple[Figure, ...] = ()
    review: Review | None = None


class Patient(_Record, frozen=True):
    """The patient as the source describes them."""

    description: Text
    name: str | None = None
    sex: str | None = None
    age: int | None = None
    place: str | None = None


class Event(_Record, frozen=True):
    """A dated step in a clinical case."""

    date: Date
    description: Text
    quote: str | None = None


class Measurement(_Record, frozen=True):
    """A measured outcome: a value before and after, with its unit."""

    label: Text
    before: int | float
    after: int | float
    unit: Text
    date: Date | None = None


class Case(_Record, frozen=True):
    """A clinical case the source tells, structured."""

    id: Id
    title: Text
    quote: Text
    patient: Patient
    diagnosis: tuple[Text, ...]
    therapy: Text
    outcome: Text
    evidence: Evidence
    extent: str | None = None
    hospital: Id | None = None
    events: tuple[Event, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    entities: tuple[Id, ...] = ()
    claims: tuple[Id, ...] = ()
    review: Review | None = None


class Source(_Record, frozen=True):
    """The document the claims are drawn from."""

    id: Id
    title: Text
    publisher: Text
    credit: str | None = None
    date: Date | None = None
    language: str | None = None
    note: str | None = None
    text: str | None = None


class Dataset(_Record, frozen=True):
    """A whole dataset: its source, entities, claims and cases."""

    schema: int
    source: Source
    entities: tuple[Entity, ...] = ()
    claims: tuple[Claim, ...] = ()
    cases: tuple[Case, ...] = ()
    source_text: str | None = None

    def records(self) -> tuple[Claim | Case, ...]:
        """Claims, then cases, in dataset order."""
        return (*self.claims, *self.cases)

    def entity_map(self) -> dict[str, Entity]:
        """Entities by id."""
        return {e.id: e for e in self.entities}
