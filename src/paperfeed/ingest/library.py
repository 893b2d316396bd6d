"""Reference-manager import: a BibTeX, RIS or CSL-JSON export (Zotero, Mendeley,
Paperpile) becomes a private collection of the papers this instance has.

Each reference is matched by its arXiv id (an eprint field, an arXiv URL, "arXiv:..." text,
or arXiv's 10.48550 DOI), then its DOI, then its normalised title (only when exactly one
paper has that title). Unmatched references are reported, not stored.

Bad input changes nothing: the file is checked whole (size, text, syntax, entry count)
before anything is written, and the collection and its papers are written in the caller's
one transaction, so a failure leaves no partial collection behind.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from paperfeed.models import User
from paperfeed.records import MalformedRecord, parse_arxiv_reference
from paperfeed.store import collections as collection_store
from paperfeed.store.papers import count_papers, paper_pks

MAX_FILE_BYTES = 2_000_000
MAX_ENTRIES = 5_000
MIN_TITLE_CHARS = 12  # shorter normalised titles ("introduction") match too much by chance
FORMATS = ("bibtex", "ris", "csl-json")
OnProgress = Callable[[int, "int | None"], None]

_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|arxiv:\s*|10\.48550/arxiv\.)"
    r"(?P<id>[a-z\-]+(?:\.[a-z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v\d+)?", re.I)
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?(10\.\d{4,9}/\S+)$", re.I)
_MACRO = re.compile(r"\\[A-Za-z]+\*?|\\.")
_RIS_TAG = re.compile(r"^TY  - ", re.M)


class LibraryError(ValueError):
    """The file cannot be imported (a 400, or 413 when too large); nothing was written."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Reference:
    label: str  # what the user recognises: the title, else the citation key
    title: str = ""
    arxiv_id: str | None = None
    doi: str | None = None


@dataclass
class ImportReport:
    collection: collection_store.CollectionView
    total: int
    added: int
    matched: dict[str, int] = field(default_factory=lambda: {"arxiv": 0, "doi": 0, "title": 0})
    unmatched: list[str] = field(default_factory=list)


# --- parsing -----------------------------------------------------------------


def parse_library(data: bytes, filename: str = "") -> list[Reference]:
    """The references in an export, or LibraryError saying what is wrong with it."""
    if len(data) > MAX_FILE_BYTES:
        raise LibraryError(f"The file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}.", 413)
    text = _decode(data)
    fmt = detect_format(text, filename)
    refs = {"bibtex": _parse_bibtex, "ris": _parse_ris, "csl-json": _parse_csl_json}[fmt](text)
    if not refs:
        raise LibraryError(f"No references found in this {fmt} file.")
    if len(refs) > MAX_ENTRIES:
        raise LibraryError(f"The file has {len(refs):,} references; the limit is {MAX_ENTRIES:,}.", 413)
    return refs


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise LibraryError("This is not a text file (BibTeX, RIS or CSL-JSON).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # old Mendeley/JabRef exports


def detect_format(text: str, filename: str = "") -> str:
    head = text.lstrip()[:1]
    name = filename.lower()
    if head in ("[", "{") or name.endswith(".json"):
        return "csl-json"
    if _RIS_TAG.search(text) or name.endswith(".ris"):
        return "ris"
    if "@" in text:
        return "bibtex"
    raise LibraryError("Not a BibTeX, RIS or CSL-JSON file.")


def _parse_bibtex(text: str) -> list[Reference]:
    import bibtexparser

    try:
        library = bibtexparser.parse_string(text)
    except Exception as exc:  # the parser's own errors are not one class
        raise LibraryError(f"The BibTeX file could not be read: {str(exc)[:200]}") from None
    if library.failed_blocks:
        block = library.failed_blocks[0]
        raise LibraryError(f"The BibTeX file has a syntax error near line {block.start_line + 1}; "
                           "nothing was imported.")
    return [_bib_reference(entry.key, {f.key.lower(): _text(f.value) for f in entry.fields})
            for entry in library.entries]


def _bib_reference(key: str, fields: dict[str, str]) -> Reference:
    title = clean_title(_field(fields, "title"))
    arxiv = None
    if _field(fields, "archiveprefix").lower() == "arxiv" or "eprint" in fields:
        arxiv = _arxiv_id(_field(fields, "eprint"))
    arxiv = arxiv or _arxiv_in(*(_field(fields, k) for k in ("arxivid", "url", "journal", "note", "doi", "howpublished")))
    return Reference(label=title or key, title=title, arxiv_id=arxiv, doi=_doi(_field(fields, "doi")))


def _field(fields: dict[str, str], name: str) -> str:
    return fields.get(name, "")


def _parse_ris(text: str) -> list[Reference]:
    import rispy

    try:
        entries = rispy.loads(text)
    except Exception as exc:  # rispy raises plain IOError/ValueError subclasses
        raise LibraryError(f"The RIS file could not be read: {str(exc)[:200]}") from None
    refs = []
    for entry in entries:
        title = clean_title(_text(entry.get("title") or entry.get("primary_title") or entry.get("translated_title")))
        values = [_text(entry.get(k)) for k in ("doi", "urls", "url", "notes", "number", "id", "journal_name",
                                                "secondary_title", "custom1")]
        refs.append(Reference(label=title or _text(entry.get("id")) or "(untitled)", title=title,
                              arxiv_id=_arxiv_in(*values), doi=_doi(_text(entry.get("doi")))))
    return refs


def _parse_csl_json(text: str) -> list[Reference]:
    try:
        items = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise LibraryError(f"The JSON file could not be read: {exc}") from None
    if isinstance(items, dict) and isinstance(items.get("items"), list):  # some exporters wrap the list
        items = items["items"]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise LibraryError("A CSL-JSON file is a list of reference objects.")
    refs = []
    for item in items:
        title = clean_title(_text(item.get("title")))
        values = [_text(item.get(k)) for k in ("DOI", "URL", "number", "note", "id", "archive_location",
                                               "container-title")]
        refs.append(Reference(label=title or _text(item.get("id")) or "(untitled)", title=title,
                              arxiv_id=_arxiv_in(*values), doi=_doi(_text(item.get("DOI")))))
    return refs


def _text(value) -> str:
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return value if isinstance(value, str) else (str(value) if isinstance(value, (int, float)) else "")


def _arxiv_id(value: str) -> str | None:
    try:
        return parse_arxiv_reference(value)[0] if value.strip() else None
    except MalformedRecord:
        return _arxiv_in(value)


def _arxiv_in(*values: str) -> str | None:
    for value in values:
        match = _ARXIV_IN_TEXT.search(value or "")
        if match:  # old-style ids keep arXiv's lower-case archive name: hep-th/9901001
            archive, slash, number = match["id"].rpartition("/")
            return f"{archive.lower()}{slash}{number}"
    return None


def _doi(value: str) -> str | None:
    match = _DOI.match(value.strip().rstrip(".")) if value else None
    return match[1].lower() if match else None


def clean_title(text: str) -> str:
    """A title as people read it: LaTeX braces and macros gone, spaces collapsed."""
    return re.sub(r"\s+", " ", _strip_latex(text)).strip()[:500]


def _strip_latex(text: str) -> str:
    return _MACRO.sub("", text.replace("\\&", "&")).replace("{", "").replace("}", "")


_WORD = re.compile(r"[a-z0-9]+")


def title_key(title: str) -> str:
    """The normalised title used for matching: accents folded, case and punctuation gone.
    Run on every stored title of an import, so the common case (plain ASCII) skips the
    LaTeX and Unicode steps."""
    if "\\" in title or "{" in title:
        title = _strip_latex(title)
    if not title.isascii():
        title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return " ".join(_WORD.findall(title.lower()))


# --- matching and importing ----------------------------------------------------


def match_references(session: Session, refs: list[Reference],
                     on_progress: OnProgress | None = None) -> tuple[list[tuple[int, str]], list[str]]:
    """[(paper pk, how)] for the references found here, and the labels of the rest."""
    found = match_each(session, refs, on_progress)
    matched = [(pk, how) for pk, how in found if pk is not None]
    unmatched = [r.label for r, (pk, _) in zip(refs, found) if pk is None]
    return matched, unmatched


def match_each(session: Session, refs: list[Reference],
               on_progress: OnProgress | None = None) -> list[tuple[int | None, str]]:
    """(paper pk or None, how) for each reference, in order: by arXiv id, then DOI, then title."""
    pks: list[int | None] = [None] * len(refs)
    how: list[str] = [""] * len(refs)
    by_id = paper_pks(session, sorted({r.arxiv_id for r in refs if r.arxiv_id}))
    _fill(pks, how, refs, lambda r: by_id.get(r.arxiv_id) if r.arxiv_id else None, "arxiv")
    by_doi = collection_store.papers_by_doi(session, [r.doi for i, r in enumerate(refs) if r.doi and pks[i] is None])
    _fill(pks, how, refs, lambda r: by_doi.get(r.doi) if r.doi else None, "doi")
    wanted = {title_key(r.title) for i, r in enumerate(refs) if pks[i] is None}
    by_title = _papers_by_title(session, {k for k in wanted if len(k) >= MIN_TITLE_CHARS}, on_progress)
    _fill(pks, how, refs, lambda r: by_title.get(title_key(r.title)), "title")
    return list(zip(pks, how))


def _fill(pks: list, how: list, refs: list[Reference], find, label: str) -> None:
    for i, ref in enumerate(refs):
        if pks[i] is None:
            pk = find(ref)
            if pk is not None:
                pks[i], how[i] = pk, label


def _papers_by_title(session: Session, keys: set[str], on_progress: OnProgress | None) -> dict[str, int]:
    """{title key: pk} where exactly one paper has that title (an ambiguous title matches none)."""
    if not keys:
        return {}
    found: dict[str, int | None] = {}
    total = count_papers(session) if on_progress else None
    for done, (pk, title) in enumerate(collection_store.iter_paper_titles(session), 1):
        key = title_key(title)
        if key in keys:
            found[key] = None if key in found else pk
        if on_progress and done % 5_000 == 0:
            on_progress(done, total)
    return {k: pk for k, pk in found.items() if pk is not None}


def import_library(session: Session, owner: User, data: bytes, *, filename: str = "",
                   title: str = "Imported library", on_progress: OnProgress | None = None,
                   now: datetime | None = None) -> ImportReport:
    """Parses, matches, and writes a private collection in the caller's transaction (not
    committed here). Raises LibraryError or CollectionError before writing anything."""
    title = collection_store.clean_title(title or "Imported library")
    refs = parse_library(data, filename)
    matched, unmatched = match_references(session, refs, on_progress)
    collection = collection_store.create_collection(session, owner, title, visibility="private", now=now,
                                                    slug=collection_store.free_slug(session, owner, title))
    added = collection_store.add_papers(session, collection, [pk for pk, _ in matched], now)
    report = ImportReport(collection_store.CollectionView(collection, owner, added), len(refs), added,
                          unmatched=unmatched)
    for _, how in matched:
        report.matched[how] += 1
    return report
