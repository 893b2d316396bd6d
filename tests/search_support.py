"""Helpers for the search tests: write paperfeed JSONL and import it the normal way."""

from __future__ import annotations

import json
from pathlib import Path

from paperfeed.db import Database
from paperfeed.index.sync import sync_index
from paperfeed.ingest.importer import import_file

SEARCH_FIXTURES = Path(__file__).parent / "fixtures" / "search"


def import_papers(db: Database, tmp_path: Path, papers: list[dict], name: str = "papers.jsonl") -> None:
    path = tmp_path / name
    path.write_text("".join(json.dumps(p) + "\n" for p in papers))
    report = import_file(db, path)
    if report.skipped:
        raise ValueError(f"fixture records skipped: {report.errors}")
    sync_index(db, db.settings)


def paper(pid: str, title: str, abstract: str = "", authors=(), categories=("cs.LG",), published="2025-05-01") -> dict:
    return {"id": pid, "title": title, "abstract": abstract, "authors": list(authors),
            "categories": list(categories), "published": published}
