"""arXiv bulk metadata snapshot (Kaggle ``arxiv-metadata-oai-snapshot.json``), one JSON object a line.

Also reads arXiv listing dumps in the same layout with an ``announce_date``, which become
``auto`` entries on that day's page.

This is the hot path of a bulk import (millions of lines), so the per-line helpers below
are hand-rolled equivalents of the shared normalisers in ``record``, each falling back to
the general one whenever its fast case does not apply.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime

from paperfeed.ingest.normalize import (check_raw_text, extract_code_urls, extract_project_page, join_initials,
                                        parse_author_name, split_author_string)
from paperfeed.records import Author, EntryRecord, MalformedRecord, PaperRecord, arxiv_urls

SOURCE = "snapshot"
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
_CODE_HOST = re.compile(r"git(?:hub|lab)\.com", re.I)


def looks_like_snapshot(obj: dict) -> bool:
    return "authors_parsed" in obj or ("versions" in obj and "update_date" in obj)


def parse_snapshot_object(obj: dict) -> PaperRecord:
    if not isinstance(obj, dict):
        raise MalformedRecord("not a JSON object")
    paper_id = squash(str(obj.get("id") or ""))
    if not paper_id:
        raise MalformedRecord("missing id")
    title = squash(obj.get("title"))
    if not title:
        raise MalformedRecord("missing title")
    versions = _parse_versions(obj.get("versions") or [])
    abstract = squash(obj.get("abstract"))
    comments = squash(obj.get("comments")) or None
    announced = _parse_day(obj.get("announce_date"))
    abs_url, pdf_url = arxiv_urls(paper_id)
    return PaperRecord(
        id=paper_id,
        title=title,
        abstract=abstract,
        authors=_authors(obj),
        categories=_words(obj.get("categories"), "categories"),
        version=versions[-1]["version"] if versions else None,
        versions=versions,
        submitted_at=datetime.fromisoformat(versions[0]["created"]) if versions else None,
        updated_at=datetime.fromisoformat(versions[-1]["created"]) if versions else None,
        announced_on=announced,
        comments=comments,
        journal_ref=squash(obj.get("journal-ref")) or None,
        doi=squash(obj.get("doi")) or None,
        license=squash(obj.get("license")) or None,
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_urls=_code_urls(abstract, comments),
        project_page=extract_project_page(comments),
        source="listing" if announced else SOURCE,
        entries=[EntryRecord(day=announced, source="auto")] if announced else [],
    ).validate()


def squash(value) -> str:
    """``record.clean_text``: str.split() and re's ``\\s`` agree on what whitespace is."""
    if not value:
        return ""
    check_raw_text(value)
    # arXiv wraps lines with a bare "\n". Once those are spaces, a text with no other
    # whitespace (every whitespace character but " " is unprintable) and no double space
    # is already squashed: twice as fast as splitting a long abstract into words.
    text = value.replace("\n", " ").strip(" ")
    if text.isprintable() and "  " not in text:
        return text
    return " ".join(value.split())


def _words(value, name: str) -> list[str]:
    if not value:
        return []
    if type(value) is not str:
        raise MalformedRecord(f"{name} must be space-separated text, got {type(value).__name__}")
    return value.split()


def _code_urls(abstract: str, comments: str | None) -> list[str]:
    # Most abstracts name no code host; skip the costly extraction for them.
    if not any(_mentions_code_host(t) for t in (abstract, comments) if t):
        return []
    return extract_code_urls(abstract, comments)


def _mentions_code_host(text: str) -> bool:
    if text.isascii():  # re.I also folds a few non-ASCII letters (dotted/dotless i)
        lowered = text.lower()
        return "github.com" in lowered or "gitlab.com" in lowered
    return _CODE_HOST.search(text) is not None


def _authors(obj: dict) -> list[Author]:
    parsed = obj.get("authors_parsed")
    if not parsed:
        return [parse_author_name(n) for n in split_author_string(obj.get("authors") or "")]
    if type(parsed) is not list:
        raise MalformedRecord(f"authors_parsed must be a list, got {type(parsed).__name__}")
    out = []
    for triple in parsed:
        # the common [last, first, ""] triple inline: a paper has six authors on average
        if type(triple) is list and len(triple) == 3 and triple[0] and triple[1] and not triple[2]:
            last, first, suffix = triple
            first = join_initials(first)
            out.append(Author(f"{first} {last}".strip(), last, first, suffix))
        else:
            author = _author_from_triple(triple)
            if any(c.isalnum() for c in author.name):  # [":", "", ""] is a separator, not a person
                out.append(author)
    return out


def _author_from_triple(triple) -> Author:
    """``record.authors_from_parsed`` for one [last, first, suffix] triple."""
    if type(triple) is not list or not all(type(part) is str for part in triple):
        raise MalformedRecord(f"bad authors_parsed entry: {triple!r:.80}")
    last, first, suffix = (triple + ["", "", ""])[:3]
    first = join_initials(first)
    if first and last and not suffix:
        name = f"{first} {last}".strip()
    else:
        name = " ".join(p for p in (first, last, suffix) if p).strip()
    return Author(name=name, last=last, first=first, suffix=suffix)


def _parse_versions(raw) -> list[dict]:
    if type(raw) is not list:
        raise MalformedRecord(f"versions must be a list, got {type(raw).__name__}")
    out = []
    for item in raw:
        try:
            number = _version_number(item["version"])
            created = _parse_created(item["created"])
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise MalformedRecord(f"bad version entry {item!r:.120}") from exc
        out.append({"version": number, "created": created.isoformat()})
    if len(out) > 1:
        out.sort(key=lambda v: v["version"])
    return out


def _version_number(value) -> int:
    """'v2' -> 2; the record check bounds it (a number 20 digits long would overflow the column)."""
    text = str(value) if type(value) is int else value.lstrip("v") if type(value) is str else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ValueError(f"bad version number {value!r:.40}")
    return int(text)


def _parse_created(text: str) -> datetime:
    """arXiv writes 'Mon, 2 Apr 2007 19:18:42 GMT'; anything else goes to the email parser."""
    if type(text) is not str:
        raise ValueError(f"bad date {text!r:.40}")
    parts = text.split(" ")
    if len(parts) == 6 and parts[5] == "GMT" and parts[2] in _MONTHS and len(parts[3]) == 4 \
            and _is_clock(parts[4]):
        clock = parts[4]
        try:
            return datetime(int(parts[3]), _MONTHS[parts[2]], int(parts[1]),
                            int(clock[0:2]), int(clock[3:5]), int(clock[6:8]))
        except ValueError:
            pass  # the general parser decides, and raises for the truly bad ones
    return parsedate_to_datetime(text).astimezone(timezone.utc).replace(tzinfo=None)


def _is_clock(text: str) -> bool:
    return len(text) == 8 and text[2] == ":" and text[5] == ":"


def _parse_day(value) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise MalformedRecord(f"bad date {value!r}") from exc
