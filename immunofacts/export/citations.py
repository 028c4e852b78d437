"""The references behind the reviews, for a reference manager: CSL-JSON, BibTeX, RIS.

Each reference appears once (see `tables.cited_references`), with the ids of
the claims and cases that cite it: in CSL-JSON under `custom.cited_by`, in
RIS in a note, in BibTeX in `annote`, which citation styles do not print. A
trial's ClinicalTrials.gov id is CSL-JSON's `number` and RIS's `M1`, and in
BibTeX's note (BibTeX's `number` is a paper's issue, and styles print none of a
@misc). Written by hand: each format is a few lines, and no library is needed at
run time.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import Dataset, Reference
from .tables import cited_references

_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()


def _kind(ref: Reference) -> str:
    """The CSL item type: a paper, a trial registry entry, or a web page."""
    if ref.doi or ref.pmid:
        return "article-journal"
    if ref.nct:
        return "entry"
    return "webpage"


#: What stands in a reference's authors for those left out.
ET_AL = "et al."


def named_authors(ref: Reference) -> tuple[list[tuple[str, str]], bool]:
    """The authors a citation lists, each as (family, given initials), in order up to
    "et al.", and whether there are more (after it, a last author named is left out:
    no citation format lists authors after "and others")."""
    names: list[tuple[str, str]] = []
    for author in ref.authors:
        if author == ET_AL:
            return names, True
        family, _, given = author.rpartition(" ")
        initials = given.replace(".", "")  # "J." and "J.P." are initials as "J" and "JP" are
        is_initials = initials.isupper() and _INITIALS.fullmatch(initials)
        names.append((family, initials) if family and is_initials else (author, ""))
    return names, False


#: Initials as a record lists them after the family name: letters (capitals: see
#: `named_authors`), a hyphen between two ("J-P"), dots left out.
_INITIALS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def _slug(text: str, limit: int = 4) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words[:limit]) or "ref"


def citation_keys(refs: list[Reference]) -> list[str]:
    """Readable, unique keys: the first words of the title and the year."""
    keys: list[str] = []
    for ref in refs:
        base = _slug(ref.title) + (f"-{ref.date[:4]}" if ref.date else "")
        key, n = base, 2
        while key in keys:
            key, n = f"{base}-{n}", n + 1
        keys.append(key)
    return keys


def _cited(ds: Dataset) -> list[tuple[str, Reference, list[str]]]:
    entries = cited_references(ds)
    keys = citation_keys([ref for _, ref, _ in entries])
    return [(key, ref, ids) for key, (_, ref, ids) in zip(keys, entries, strict=True)]


def _cited_note(ids: list[str]) -> str:
    return "Cited in review of: " + ", ".join(ids)


def csl_json(ds: Dataset) -> list[dict[str, Any]]:
    """CSL-JSON items (the input format of citeproc, Zotero and pandoc)."""
    out = []
    for key, ref, ids in _cited(ds):
        item: dict[str, Any] = {"id": key, "type": _kind(ref), "title": ref.title}
        names, _ = named_authors(ref)
        if names:
            item["author"] = [{"family": f, "given": g} if g else {"literal": f} for f, g in names]
        if ref.publisher:
            item["container-title" if ref.doi or ref.pmid else "publisher"] = ref.publisher
        for field, value in (("volume", ref.volume), ("issue", ref.issue), ("page", ref.pages)):
            if value:
                item[field] = value
        first, last = page_range(ref.pages or "")
        if last is not None:
            item["page"] = f"{first}-{last}"  # as CSL writes a range, whatever dash it had
        if ref.date:
            item["issued"] = {"date-parts": [[int(p) for p in ref.date.split("-")]]}
        if ref.doi:
            item["DOI"] = ref.doi
        if ref.pmid:
            item["PMID"] = ref.pmid
        if ref.nct:
            item["number"] = ref.nct
        link = ref.link()
        if link:
            item["URL"] = link
        if ref.note:
            item["note"] = ref.note
        item["custom"] = {"cited_by": ids}
        out.append(item)
    return out


_BIB_SPECIAL = re.compile(r"([&%$#_{}~^\\])")
_BIB_REPLACE = {
    "\\": r"\textbackslash{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
#: A brace with no partner: BibTeX counts every brace, escaped or not, so such a
#: brace written as ``\{`` would still leave the field open (or close it early).
_BIB_LONE_BRACE = {"{": r"\textbraceleft{}", "}": r"\textbraceright{}"}


def _lone_braces(text: str) -> set[int]:
    """Where the braces of `text` that pair with none are (a ``}`` before its ``{``
    pairs with none)."""
    opened: list[int] = []
    lone: set[int] = set()
    for i, ch in enumerate(text):
        if ch == "{":
            opened.append(i)
        elif ch == "}":
            if opened:
                opened.pop()
            else:
                lone.add(i)
    return lone.union(opened)


def bib_escape(text: str) -> str:
    r"""Text safe inside a braced BibTeX field, on one line: LaTeX's special characters
    escaped, and its braces balanced whatever the text (a pair as ``\{ \}``, a brace
    with no partner as ``\textbraceleft{}`` or ``\textbraceright{}``)."""
    flat = one_line(text)
    lone = _lone_braces(flat) if "{" in flat or "}" in flat else set()

    def escaped(m: re.Match[str]) -> str:
        ch = m.group(1)
        if m.start() in lone:
            return _BIB_LONE_BRACE[ch]
        return _BIB_REPLACE.get(ch, "\\" + ch)

    return _BIB_SPECIAL.sub(escaped, flat)


def bib_verbatim(text: str) -> str:
    """An address or DOI for a verbatim BibTeX field: only braces and backslashes encoded."""
    return text.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


#: " and " (in any case, between any spaces), which parts BibTeX's author field.
_BIB_AND = re.compile(r"(?:^|\s)and(?:\s|$)", re.IGNORECASE)


def _bib_name(family: str, given: str) -> str:
    """One author for BibTeX's author field: "Family, I. J." from initials ("J-P" is
    "J.-P."); a name without initials (an organisation), or a family name with an
    "and" in it, braced whole, so that no "and" in it parts it into two authors."""
    if not given:
        return "{" + bib_escape(family) + "}"
    initials = "-".join(". ".join(part) + "." for part in given.split("-") if part)
    name = bib_escape(family)
    if _BIB_AND.search(name) or "," in name:  # BibTeX would read "Last, Jr, First"
        name = "{" + name + "}"
    return f"{name}, {bib_escape(initials)}"


def _bib_protected(value: str) -> str:
    r"""A field's value braced once more, so that styles keep its case as written
    ("COVID-19", "China"): BibTeX changes the case of no letter inside a brace
    group. A group that opens with a backslash is a "special character" whose
    letters BibTeX does change, hence the ``{}`` before one."""
    return "{" + ("{}" if value.startswith("\\") else "") + value + "}"


def _bib_kind(ref: Reference, names: list[tuple[str, str]]) -> str:
    """@article for a paper that has what the standard styles require of one (an
    author, a journal, a year); anything else @misc, which requires nothing (plain
    stops at an @article without an author)."""
    if (ref.doi or ref.pmid) and names and ref.publisher and ref.date:
        return "article"
    return "misc"


#: What joins the two ends of a range of pages as sources write it: a hyphen, two or
#: three (BibTeX's en and em dash), an en or em dash, a minus sign; spaces around it.
_RANGE = re.compile("\\s*[-\u2010-\u2015\u2212]+\\s*")


def page_range(pages: str) -> tuple[str, str | None]:
    """The first and last page of a range ("420-422", "420--422", "420–422"), or the
    value and None where it is not one range of two ends ("e1002", "S1")."""
    ends = _RANGE.split(pages.strip(), maxsplit=1)
    if len(ends) == 2 and all(ends) and not _RANGE.search(ends[1]):
        return ends[0], ends[1]
    return pages, None


#: A dash between two ends of a range, within a value that may list several.
_BETWEEN = re.compile("(?<=\\w)\\s*[-\u2010-\u2015\u2212]+\\s*(?=\\w)")


def _bib_range(value: str) -> str:
    """Ranges as BibTeX writes them (two hyphens, which styles print as an en dash),
    whatever dash each had: "420–422" and "1-2, 5-7" become "420--422", "1--2, 5--7"."""
    return _BETWEEN.sub("--", value)


def _bib_outlet(ref: Reference) -> str:
    """Where a @misc entry was published, as styles print @misc's `howpublished`: the
    journal or outlet, then its volume, issue and pages (which @misc has no field for
    that styles print): "Cancer Research, 81(13 Supplement)"."""
    place = bib_escape(ref.volume or "")
    if ref.issue:
        place += f"({bib_escape(ref.issue)})"
    if ref.pages:
        place += (":" if place else "pages ") + bib_escape(_bib_range(ref.pages))
    return ", ".join(x for x in (bib_escape(ref.publisher or ""), place) if x)


def bibtex(ds: Dataset) -> str:
    """BibTeX entries: @article for papers (see `_bib_kind`), @misc for the rest; each
    entry's fields are those the standard styles print for its type."""
    entries = []
    for key, ref, ids in _cited(ds):
        names, more = named_authors(ref)
        kind = _bib_kind(ref, names)
        fields: list[tuple[str, str]] = []
        if names:
            listed = [_bib_name(f, g) for f, g in names] + ["others"] * more
            fields.append(("author", " and ".join(listed)))
        fields.append(("title", _bib_protected(bib_escape(ref.title))))
        if kind == "article":
            fields.append(("journal", bib_escape(ref.publisher or "")))
            for field, value in (
                ("volume", ref.volume),
                ("number", ref.issue),
                ("pages", ref.pages),
            ):
                if value:
                    fields.append((field, bib_escape(_bib_range(value))))
        outlet = _bib_outlet(ref) if kind == "misc" else ""
        if outlet:
            fields.append(("howpublished", outlet))
        if ref.date:
            parts = ref.date.split("-")
            fields.append(("year", parts[0]))
            if len(parts) > 1:
                fields.append(("month", _MONTHS[int(parts[1]) - 1]))
            if len(parts) > 2:
                fields.append(("day", str(int(parts[2]))))
        if ref.doi:
            fields.append(("doi", bib_verbatim(ref.doi)))
        if ref.pmid:
            fields.append(("pmid", ref.pmid))
        link = ref.link()
        if link:
            fields.append(("url", bib_verbatim(link)))
        if ref.nct:  # styles print no `number` of a @misc, nor two of an @article
            # the registry named once, where the entry is the registry's own record
            registry = "" if "ClinicalTrials.gov" in outlet else "ClinicalTrials.gov: "
            fields.append(("note", registry + bib_escape(ref.nct)))
        # Which reviews cite it, and what the dataset says of it: for the reader of
        # the reviews, not of a bibliography, so in the field that styles leave out.
        annote = _cited_note(ids) + (f". {ref.note}" if ref.note else "")
        fields.append(("annote", bib_escape(annote)))
        body = ",\n".join(
            f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}"
            for name, value in fields
        )
        entries.append(f"@{kind}{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


def one_line(text: str) -> str:
    """The text on one line: every run of whitespace, line breaks of every kind among
    them (those `str.splitlines` knows), one space."""
    return " ".join(text.split())


def ris(ds: Dataset) -> str:
    """RIS records (EndNote, Zotero, Mendeley): JOUR for papers, ELEC for web pages.

    A record is a line a field: every value is put on one line (`one_line`), so that
    no text in it can end the record or start another."""
    lines: list[str] = []

    def tag(name: str, value: str) -> None:
        lines.append(f"{name}  - {one_line(value)}")

    for key, ref, ids in _cited(ds):
        kind = "JOUR" if ref.doi or ref.pmid else "ELEC"
        tag("TY", kind)
        tag("ID", key)
        names, _ = named_authors(ref)
        for f, g in names:
            tag("AU", f"{f}, {g}" if g else f)
        tag("TI", ref.title)
        if ref.publisher:
            tag("T2" if kind == "JOUR" else "PB", ref.publisher)
        if ref.volume:
            tag("VL", ref.volume)
        if ref.issue:
            tag("IS", ref.issue)
        if ref.pages:
            first, last = page_range(ref.pages)
            tag("SP", first)
            if last is not None:
                tag("EP", last)
        if ref.date:
            parts = ref.date.split("-")
            tag("PY", parts[0])
            tag("DA", "/".join(parts + [""] * (3 - len(parts))) + "/")
        if ref.doi:
            tag("DO", ref.doi)
        if ref.pmid:
            tag("AN", f"PMID:{ref.pmid}")
        if ref.nct:
            tag("M1", ref.nct)
        link = ref.link()
        if link:
            tag("UR", link)
        tag("N1", _cited_note(ids))
        if ref.note:
            tag("N1", ref.note)
        lines.append("ER  - ")
        lines.append("")
    return "\r\n".join(lines)
