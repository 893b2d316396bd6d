"""Merging a parsed record into what the store already holds (pure functions).

Rules:
- A newer or equal version (or a source without versions) overrides each field it has;
  an older version only fills fields the stored paper lacks, so it never overwrites.
- Fields a source lacks never erase what another source gave: no field is lost.
- Version history, sources and code links are unions; HF's ``githubRepo`` goes first.
"""

from __future__ import annotations

from paperfeed.records import PaperRecord

OVERRIDABLE = (
    "title", "abstract", "authors", "primary_category", "categories", "comments",
    "journal_ref", "doi", "license", "abs_url", "pdf_url", "project_page",
)
CONTENT_FIELDS = OVERRIDABLE + (
    "id", "version", "versions", "submitted_at", "updated_at", "announced_on",
    "code_urls", "sources", "extra", "withdrawn",
)


def record_to_row(rec: PaperRecord) -> dict:
    categories = dedupe(rec.categories)
    versions = rec.versions
    return {
        "id": rec.id,
        "version": rec.version,
        "versions": sorted(versions, key=_version_number) if len(versions) > 1 else list(versions),
        "title": rec.title,
        "abstract": rec.abstract or "",
        "authors": [a.as_dict() for a in rec.authors],
        "primary_category": categories[0] if categories else None,
        "categories": " ".join(categories),
        "submitted_at": rec.submitted_at,
        "updated_at": rec.updated_at,
        "announced_on": rec.announced_on,
        "comments": rec.comments,
        "journal_ref": rec.journal_ref,
        "doi": rec.doi,
        "license": rec.license,
        "abs_url": rec.abs_url,
        "pdf_url": rec.pdf_url,
        "code_urls": dedupe(rec.code_urls),
        "project_page": rec.project_page,
        "sources": dedupe([rec.source, *rec.also_seen_by]),
        "extra": dict(rec.extra),
        "withdrawn": rec.withdrawn,
    }


def _version_number(version: dict):
    return version["version"]


def merge_rows(old: dict, new: dict, new_is_hf: bool = False) -> dict:
    """Combine a stored row with an incoming one; see the module docstring for the rules."""
    older = new["version"] is not None and old["version"] is not None and new["version"] < old["version"]
    merged = dict(old)
    for key in OVERRIDABLE:
        if _empty(new[key]):
            continue
        if not older or _empty(old[key]):
            merged[key] = new[key]
    merged["version"] = _max(old["version"], new["version"])
    merged["versions"] = _merge_versions(old["versions"], new["versions"])
    merged["submitted_at"] = _min(old["submitted_at"], new["submitted_at"])
    merged["updated_at"] = _max(old["updated_at"], new["updated_at"])
    merged["announced_on"] = _min(old["announced_on"], new["announced_on"])
    codes = new["code_urls"] + old["code_urls"] if new_is_hf else old["code_urls"] + new["code_urls"]
    merged["code_urls"] = dedupe(codes)
    merged["sources"] = dedupe(old["sources"] + new["sources"])
    merged["extra"] = {**old["extra"], **new["extra"]}
    merged["withdrawn"] = bool(old["withdrawn"] or new["withdrawn"])
    return merged


def _merge_versions(a: list[dict], b: list[dict]) -> list[dict]:
    by_number = {v["version"]: v for v in a}
    for v in b:
        by_number.setdefault(v["version"], v)
    return [by_number[k] for k in sorted(by_number)]


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def dedupe(items: list) -> list:
    """Drop empty and repeated items, keeping first occurrences in order."""
    if len(items) < 2:  # most lists on the import path: nothing can repeat
        return [item for item in items if item]
    try:
        return [item for item in dict.fromkeys(items) if item]
    except TypeError:  # unhashable items: compare them one by one
        seen: list = []
        for item in items:
            if item and item not in seen:
                seen.append(item)
        return seen


def _min(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _max(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
