"""A collection as BibTeX, RIS and JSON. The BibTeX is the paper page's (render.bibtex);
notes and reading states go into an export only when its owner asks for it."""

from __future__ import annotations

import re
from urllib.parse import quote

from paperfeed.links import paper_path
from paperfeed.store.collections import CollectionView
from paperfeed.web.render import arxiv_links, bibtex, iso_z

FORMATS = {"bib": "application/x-bibtex; charset=utf-8", "ris": "application/x-research-info-systems; charset=utf-8",
           "json": "application/json"}
API_FORMATS = {"bibtex": "bib", "ris": "ris", "json": "json"}


def collection_url(base: str, view: CollectionView) -> str:
    return f"{base}/c/{_segment(view.owner.username)}/{_segment(view.collection.slug)}"


def _segment(text: str) -> str:
    return quote(text, safe="")


def as_bibtex(items: list[tuple], with_notes: bool) -> str:
    entries = []
    for item, paper in items:
        entry = bibtex(paper)
        if with_notes and item.note:  # BibTeX's field for a reader's own annotation
            entry = entry[:-2] + f",\n  annote = {{{_bib_note(item.note)}}}\n}}"
        entries.append(entry)
    return "\n\n".join(entries) + ("\n" if entries else "")


def _bib_note(text: str) -> str:
    return re.sub(r"([{}\\&%#])", r"\\\1", re.sub(r"\s+", " ", text)).strip()


def as_ris(items: list[tuple], with_notes: bool) -> str:
    """RIS as Zotero and Mendeley read it: one ``TY`` ... ``ER`` record per paper."""
    records = []
    for item, paper in items:
        lines = [("TY", "JOUR" if paper.journal_ref else "UNPB"), ("TI", paper.title)]
        lines += [("AU", name) for name in paper.author_names]
        if paper.published:
            lines += [("PY", str(paper.published.year)), ("DA", paper.published.strftime("%Y/%m/%d"))]
        abs_url, _ = arxiv_links(paper)
        lines += [("AB", paper.abstract), ("DO", paper.doi or ""), ("UR", abs_url or ""),
                  ("JO", paper.journal_ref or ""), ("ID", f"arXiv:{paper.id}" if abs_url else paper.id)]
        lines += [("KW", c) for c in paper.category_list]
        if with_notes:
            lines += [("N1", item.note), ("KW", f"paperfeed:{item.state}")]
        records.append("\n".join(f"{tag}  - {_ris_value(value)}" for tag, value in lines if value) + "\nER  - ")
    return "\n\n".join(records) + ("\n" if records else "")


def _ris_value(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()  # a RIS value is one line


def as_json(view: CollectionView, items: list[tuple], with_notes: bool, base: str, counts: dict) -> dict:
    """The collection and its papers (each the API's paper object, plus when it was added)."""
    from paperfeed.store.feed import PaperActivity
    from paperfeed.web.api import paper_info

    papers = []
    for item, paper in items:
        act = counts.get(paper.pk, PaperActivity())
        entry = {"paper": paper_info(paper, act.upvotes, act.num_comments), "addedAt": iso_z(item.added_at),
                 "url": base + paper_path(paper.id)}
        if with_notes:
            entry["note"], entry["state"] = item.note, item.state
        papers.append(entry)
    return {**summary(view, base), "papers": papers}


def summary(view: CollectionView, base: str) -> dict:
    c = view.collection
    return {"owner": view.owner.username, "slug": c.slug, "title": c.title, "description": c.description,
            "visibility": c.visibility, "numPapers": view.count, "url": collection_url(base, view),
            "createdAt": iso_z(c.created_at), "updatedAt": iso_z(c.updated_at)}


def render_export(fmt: str, view: CollectionView, items: list[tuple], with_notes: bool, base: str,
                  counts: dict) -> bytes:
    if fmt == "bib":
        return as_bibtex(items, with_notes).encode()
    if fmt == "ris":
        return as_ris(items, with_notes).encode()
    import orjson

    return orjson.dumps(as_json(view, items, with_notes, base, counts))


def filename(view: CollectionView, fmt: str) -> str:
    return f"{view.owner.username}-{view.collection.slug}.{fmt}"

