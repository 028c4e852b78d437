"""The references behind the reviews, for a reference manager: CSL-JSON, BibTeX, RIS.

Each reference appears once (see `tables.cited_references`), with the ids of
the claims and cases that cite it: in CSL-JSON under `custom.cited_by`, in
BibTeX and RIS in a note. Written by hand: each format is a few lines, and no
library is needed at run time.
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
        if ref.publisher:
            item["container-title" if ref.doi or ref.pmid else "publisher"] = ref.publisher
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


def bib_escape(text: str) -> str:
    """Text safe inside a braced BibTeX field: LaTeX's special characters escaped."""
    flat = " ".join(text.split())
    return _BIB_SPECIAL.sub(lambda m: _BIB_REPLACE.get(m.group(1), "\\" + m.group(1)), flat)


def bib_verbatim(text: str) -> str:
    """An address or DOI for a verbatim BibTeX field: only braces and backslashes encoded."""
    return text.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


def bibtex(ds: Dataset) -> str:
    """BibTeX entries: @article for papers, @misc for the rest."""
    entries = []
    for key, ref, ids in _cited(ds):
        kind = "article" if ref.doi or ref.pmid else "misc"
        fields: list[tuple[str, str]] = [("title", bib_escape(ref.title))]
        if ref.publisher:
            name = "journal" if kind == "article" else "publisher"
            fields.append((name, bib_escape(ref.publisher)))
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
        if ref.nct:
            fields.append(("number", ref.nct))
        link = ref.link()
        if link:
            fields.append(("url", bib_verbatim(link)))
        note = _cited_note(ids) + (f". {ref.note}" if ref.note else "")
        fields.append(("note", bib_escape(note)))
        body = ",\n".join(
            f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}"
            for name, value in fields
        )
        entries.append(f"@{kind}{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


def ris(ds: Dataset) -> str:
    """RIS records (EndNote, Zotero, Mendeley): JOUR for papers, ELEC for web pages."""
    lines: list[str] = []
    for key, ref, ids in _cited(ds):
        kind = "JOUR" if ref.doi or ref.pmid else "ELEC"
        lines.append(f"TY  - {kind}")
        lines.append(f"ID  - {key}")
        lines.append(f"TI  - {' '.join(ref.title.split())}")
        if ref.publisher:
            lines.append(f"{'T2' if kind == 'JOUR' else 'PB'}  - {ref.publisher}")
        if ref.date:
            parts = ref.date.split("-")
            lines.append(f"PY  - {parts[0]}")
            lines.append("DA  - " + "/".join(parts + [""] * (3 - len(parts))) + "/")
        if ref.doi:
            lines.append(f"DO  - {ref.doi}")
        if ref.pmid:
            lines.append(f"AN  - PMID:{ref.pmid}")
        if ref.nct:
            lines.append(f"M1  - {ref.nct}")
        link = ref.link()
        if link:
            lines.append(f"UR  - {link}")
        lines.append(f"N1  - {_cited_note(ids)}")
        if ref.note:
            lines.append(f"N1  - {' '.join(ref.note.split())}")
        lines.append("ER  - ")
        lines.append("")
    return "\r\n".join(lines)
