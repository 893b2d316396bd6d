"""Key phrases stored per paper: the extraction job over SQLite and PostgreSQL, recompute
on change, claims shared between extractors, and the CLI command."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime

from click.testing import CliRunner
from sqlalchemy import select, update

from paperfeed.cli import cli
from paperfeed.index.keyphrases import VERSION
from paperfeed.index.keywordjob import count_missing, extract_missing, keyword_chunk
from paperfeed.models import EmbeddingClaim, KeywordClaim, Paper
from paperfeed.store.changes import current
from paperfeed.store.claims import claim_papers
from paperfeed.store.keyphrases import missing_keywords
from paperfeed.store.papers import upsert_records
from web_helpers import hf_records, listing_records

N = 40


def load(db, lines: int = N) -> list:
    records = listing_records(lines)
    with db.session() as session:
        upsert_records(session, records)
    return records


def stored(db) -> dict[str, Paper]:
    with db.session() as session:
        return {p.id: p for p in session.scalars(select(Paper))}


def test_every_paper_gets_phrases_once_and_a_second_run_does_nothing(db):
    load(db)
    assert count_missing(db) == N
    seen = []
    report = extract_missing(db, chunk=15, on_progress=lambda done, total: seen.append((done, total)))
    assert (report.extracted, report.kept, report.remaining) == (N, 0, 0)
    assert seen[0] == (0, N) and seen[-1] == (N, N)
    for paper in stored(db).values():
        assert 5 <= len(paper.keywords) <= 8, paper.keywords
        assert paper.keywords_stamp == f"{VERSION}:{paper.content_hash}"
    again = extract_missing(db)
    assert (again.extracted, again.kept, again.remaining) == (0, 0, 0)


def test_writes_bump_the_change_sequence_but_leave_the_keyword_index_alone(db):
    load(db, 5)
    with db.session() as session:
        before = current(session)
        paper_seqs = set(session.scalars(select(Paper.change_seq)))
    extract_missing(db)
    with db.session() as session:
        assert current(session) > before  # page caches and listing ETags follow
        # papers' own numbers stay: the keyword (tantivy) index has nothing to re-index
        assert set(session.scalars(select(Paper.change_seq))) == paper_seqs


def test_a_changed_abstract_is_extracted_again_and_other_changes_keep_the_phrases(db):
    records = load(db, 3)
    extract_missing(db)
    first = stored(db)
    target = records[0]
    with db.session() as session:
        upsert_records(session, [dataclasses.replace(
            target, abstract="We study sparse mixture-of-experts routing for protein folding with "
                             "sparse mixture-of-experts routing and diffusion samplers.")])
    assert count_missing(db) == 1
    report = extract_missing(db)
    assert (report.extracted, report.kept) == (1, 0)
    changed = stored(db)[target.id]
    assert changed.keywords != first[target.id].keywords
    assert any("mixture-of-experts routing" in k for k in changed.keywords)

    # Only the content hash moved (as when comments or versions change): phrases are kept
    other = records[1].id
    with db.session() as session:
        session.execute(update(Paper).where(Paper.id == other).values(content_hash="f" * 32))
    report = extract_missing(db)
    assert (report.extracted, report.kept) == (0, 1)
    assert stored(db)[other].keywords == first[other].keywords
    assert stored(db)[other].keywords_stamp == f"{VERSION}:{'f' * 32}"


def test_claimed_papers_are_left_to_their_claimer_until_the_claim_lapses(db):
    load(db, 10)
    held = claim_papers(db, missing_keywords(VERSION), "node-a", 4, 600, claims=KeywordClaim)
    assert len(held) == 4
    # An embedder's claims are another table: they never hold up key phrases
    claim_papers(db, missing_keywords(VERSION), "embedder", 10, 600, claims=EmbeddingClaim)
    assert keyword_chunk(db, 100, owner="node-b") == (6, 0)
    assert count_missing(db) == 4
    assert keyword_chunk(db, 100, owner="node-b") == (0, 0)
    # node-a died: its claims lapse and are taken over
    with db.session() as session:
        session.execute(update(KeywordClaim).values(expires_at=datetime(2000, 1, 1)))
    assert keyword_chunk(db, 100, owner="node-b") == (4, 0)
    assert count_missing(db) == 0


def test_two_extractors_at_once_extract_each_paper_once(db):
    load(db)
    reports = []

    def run():
        reports.append(extract_missing(db, chunk=5))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.extracted for r in reports) == N
    assert count_missing(db) == 0


def test_hf_papers_keep_their_ai_keywords_beside_ours(db):
    with db.session() as session:
        upsert_records(session, hf_records())
    extract_missing(db)
    for paper in stored(db).values():
        assert paper.extra.get("ai_keywords"), paper.id
        assert paper.keywords and paper.keywords != paper.extra["ai_keywords"]


def test_cli_extracts_with_a_summary_and_is_resumable(settings, db):
    load(db, 12)
    env = {"PAPERFEED_DATABASE_URL": settings.resolved_database_url, "PAPERFEED_DATA_DIR": str(settings.data_dir)}
    first = CliRunner().invoke(cli, ["index", "keywords", "--limit", "5", "--no-progress"], env=env,
                               catch_exceptions=False)
    assert first.exit_code == 0
    assert "extracted 5" in first.output and "still missing 7" in first.output
    rest = CliRunner().invoke(cli, ["index", "keywords", "--progress"], env=env, catch_exceptions=False)
    assert "extracted 7" in rest.output and "still missing 0" in rest.output


def test_the_serve_worker_extracts_new_papers_in_the_background(settings, db):
    from paperfeed.index.keywordworker import KeywordWorker

    load(db, 8)
    worker = KeywordWorker(db, settings, idle_seconds=0.05, start_delay=0, chunk=3).start()
    try:
        _wait_for(lambda: count_missing(db) == 0)
        load(db, 12)  # a fetch brings four more
        _wait_for(lambda: count_missing(db) == 0)
    finally:
        worker.stop()
    assert all(5 <= len(p.keywords) <= 8 for p in stored(db).values())


def _wait_for(condition, seconds: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker did not catch up"
        time.sleep(0.05)


def test_a_new_extractor_version_extracts_every_paper_again(db, monkeypatch):
    import paperfeed.index.keywordjob as job

    load(db, 6)
    extract_missing(db)
    monkeypatch.setattr(job, "VERSION", VERSION + 1)
    assert count_missing(db) == 6
    report = extract_missing(db)
    assert (report.extracted, report.kept, report.remaining) == (6, 0, 0)
    assert all(p.keywords_stamp.startswith(f"{VERSION + 1}:") for p in stored(db).values())
