"""The change sequence, index generations and their manifests, and embedding claims,
on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import threading
from datetime import date, datetime

from search_support import import_papers, paper
from sqlalchemy import select

from paperfeed.index import generations
from paperfeed.index.engine import forget_engines
from paperfeed.index.sync import keyword_dir, keyword_root, sync_index
from paperfeed.index.syncloop import SyncLoop
from paperfeed.models import Paper, User
from paperfeed.rank.search import DEGRADED_NOTICE, search
from paperfeed.records import EntryRecord, PaperRecord
from paperfeed.store.changes import bump, current
from paperfeed.store.claims import claim_papers, release_claims
from paperfeed.store.indexing import missing_embeddings as missing_papers
from paperfeed.store.papers import get_paper, mark_withdrawn, upsert_records
from paperfeed.store.votes import add_vote, remove_vote


def _records(prefix: str, n: int) -> list[PaperRecord]:
    return [PaperRecord(id=f"{prefix}.{i:05d}", title=f"Paper {i} on wombats", source="api",
                        entries=[EntryRecord(day=date(2026, 1, 5), source="auto")])
            for i in range(n)]


def test_one_number_per_transaction_and_per_import_batch(db):
    with db.session() as session:
        start = current(session)
    with db.session() as session:
        upsert_records(session, _records("2601", 50))  # 50 papers and their entries: one number
        assert bump(session) == start + 1
    with db.session() as session:
        seqs = set(session.scalars(select(Paper.change_seq)))
        assert seqs == {start + 1} and current(session) == start + 1


def test_votes_and_withdrawals_advance_the_sequence(db):
    with db.session() as session:
        upsert_records(session, _records("2602", 3))
        user = User(username="v", username_key="v", email="v@example.org", password_hash="-")
        session.add(user)
    seen = []
    for step in ("vote", "move", "withdraw"):
        with db.session() as session:
            user = session.scalar(select(User))
            if step == "vote":
                add_vote(session, user, get_paper(session, "2602.00000"))
            elif step == "move":
                remove_vote(session, user, get_paper(session, "2602.00000"))
                add_vote(session, user, get_paper(session, "2602.00002"))
            else:
                mark_withdrawn(session, ["2602.00001"])
        with db.session() as session:
            seen.append(current(session))
    assert seen == sorted(set(seen))  # strictly increasing, one step per transaction
    with db.session() as session:
        assert get_paper(session, "2602.00001").change_seq == seen[-1]


def test_concurrent_writers_get_distinct_numbers_in_commit_order(db):
    got: list[int] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        with db.session() as session:
            upsert_records(session, [PaperRecord(id=f"2603.{i:05d}", title="Concurrent", source="api")])
            n = bump(session)
        with lock:
            got.append(n)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 8
    with db.session() as session:
        assert current(session) == max(got)


def test_the_keyword_index_follows_the_sequence_not_the_clock(db, tmp_path):
    import_papers(db, tmp_path, [paper("2604.00001", "Numbat foraging")])
    with db.session() as session:  # a writer whose clock is far behind
        upsert_records(session, [PaperRecord(id="2604.00002", title="Numbat burrows", source="api")])
        session.flush()
        session.execute(Paper.__table__.update().where(Paper.id == "2604.00002")
                        .values(changed_at=datetime(2001, 1, 1)))
    assert sync_index(db, db.settings).indexed == 1
    assert {h.paper.id for h in search(db, "numbat", mode="keyword").hits} == {"2604.00001", "2604.00002"}


def test_every_generation_is_checked_and_a_damaged_one_is_set_aside_and_rebuilt(db, tmp_path):
    import_papers(db, tmp_path, [paper(f"2605.{i:05d}", f"Quoll ecology {i}") for i in range(20)])
    live = keyword_dir(db.settings)
    assert generations.verify(live).ok
    victim = max((p for p in live.iterdir() if p.suffix != ".json" and p.is_file()), key=lambda p: p.stat().st_size)
    os.truncate(victim, victim.stat().st_size // 2)
    check = generations.verify(live, checksums=False)
    assert not check.ok and victim.name in check.problem
    degraded = search(db, "quoll", mode="keyword")  # never opens the damaged files
    assert degraded.notice == DEGRADED_NOTICE and len(degraded.hits) == 20
    report = SyncLoop(db, db.settings).run_once()
    assert report.rebuilt and report.indexed == 20
    assert list(keyword_root(db.settings).glob(f"{live.name}.damaged-*"))
    healed = search(db, "quoll", mode="keyword")
    assert healed.notice is None and len(healed.hits) == 20


def test_a_checksum_mismatch_of_the_same_size_is_caught_before_opening(db, tmp_path):
    import_papers(db, tmp_path, [paper("2606.00001", "Bilby tracks")])
    live = keyword_dir(db.settings)
    meta = live / "meta.json"
    meta.write_text(meta.read_text().replace('"', "'", 1))  # same size, other bytes
    assert generations.verify(live, checksums=False).ok and not generations.verify(live).ok
    forget_engines()  # a fresh process's handles
    assert search(db, "bilby", mode="keyword").notice == DEGRADED_NOTICE


def test_each_paper_is_claimed_by_one_embedder(db, tmp_path):
    import_papers(db, tmp_path, [paper(f"2607.{i:05d}", f"Echidna {i}") for i in range(10)])
    first = claim_papers(db, missing_papers("m"), "node-1", 6, lease=600)
    second = claim_papers(db, missing_papers("m"), "node-2", 6, lease=600)
    assert len(first) == 6 and len(second) == 4
    assert not {r.pk for r in first} & {r.pk for r in second}
    assert claim_papers(db, missing_papers("m"), "node-3", 6, lease=600) == []
    with db.session() as session:  # only the holder releases, and learns what it still held
        assert release_claims(session, "node-2", [r.pk for r in first]) == set()
        assert release_claims(session, "node-1", [r.pk for r in first]) == {r.pk for r in first}


def test_an_expired_claim_is_taken_over(db, tmp_path):
    import_papers(db, tmp_path, [paper("2608.00001", "Dingo howls")])
    assert len(claim_papers(db, missing_papers("m"), "dead-node", 5, lease=-1)) == 1  # already expired
    taken = claim_papers(db, missing_papers("m"), "live-node", 5, lease=600)
    assert len(taken) == 1
    with db.session() as session:
        assert release_claims(session, "dead-node", [taken[0].pk]) == set()


def test_a_vote_moved_between_papers_changes_the_listing_version(db):
    from paperfeed.store.feed import period_version

    day = date(2026, 1, 5)
    with db.session() as session:
        upsert_records(session, _records("2609", 3))
        user = User(username="m", username_key="m", email="m@example.org", password_hash="-")
        session.add(user)
        session.flush()
        add_vote(session, user, get_paper(session, "2609.00000"))
    with db.session() as session:
        before = period_version(session, day, day)
    with db.session() as session:
        user = session.scalar(select(User))
        remove_vote(session, user, get_paper(session, "2609.00000"))
        add_vote(session, user, get_paper(session, "2609.00002"))
    with db.session() as session:
        assert period_version(session, day, day) != before


def _store_vectors(db, ids: list[str], dim: int = 8) -> None:
    import numpy as np

    from paperfeed.index.passages import pack
    from paperfeed.models import PaperEmbedding

    rng = np.random.default_rng(0)
    with db.session() as session:
        for pid in ids:
            p = get_paper(session, pid)
            vec = rng.normal(size=(2, dim)).astype(np.float32)
            vec /= np.linalg.norm(vec, axis=1, keepdims=True)
            session.add(PaperEmbedding(paper_pk=p.pk, model="m", content_hash=p.content_hash, text_hash="t", dim=dim,
                                       vector=pack(vec)))


def test_vectors_stored_by_another_node_are_loaded_and_a_damaged_snapshot_is_rebuilt_from_them(db, tmp_path):
    from paperfeed.index.engine import engine_for
    from paperfeed.index.sync import vector_dir

    ids_ = [f"2610.{i:05d}" for i in range(12)]
    import_papers(db, tmp_path, [paper(pid, f"Platypus {i}") for i, pid in enumerate(ids_)])
    loop = SyncLoop(db, db.settings)
    loop.run_once()
    _store_vectors(db, ids_)  # as an embedder on another node commits them
    assert loop.run_once().vectors == 12  # no vectors here yet: loaded at once, none computed
    engine = engine_for(db.settings)
    assert len(engine.snapshot()) == 12
    live = vector_dir(db.settings) / generations.current(vector_dir(db.settings))
    os.truncate(live / "vectors.npy", 100)
    assert len(engine.snapshot()) == 0  # dropped, never read
    assert loop.run_once().vectors == 12
    assert len(engine.snapshot()) == 12
    assert list(vector_dir(db.settings).glob(f"{live.name}.damaged-*"))


def test_on_postgresql_a_commit_wakes_the_sync_loop_at_once(db, backend):
    from paperfeed.index.syncloop import _Listener

    if backend != "postgres":
        return  # SQLite has no notifications: the loop polls
    listener, stop = _Listener(db), threading.Event()
    listener.wait(stop, 0.01)  # connected and listening
    waiter = threading.Thread(target=listener.wait, args=(stop, 120))
    waiter.start()
    with db.session() as session:
        bump(session)
    waiter.join(30)  # far less than the 120 s it would otherwise sleep
    assert not waiter.is_alive()
    listener.close()


def test_an_index_from_before_generations_is_replaced_and_its_files_removed(db, tmp_path):
    root = keyword_root(db.settings)
    for name in ("meta.json", "paperfeed-watermark", "abc123.idx"):
        (root / name).write_text("old")
    import_papers(db, tmp_path, [paper("2611.00001", "Wallaby hops")])
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == ["CURRENT"]
    assert [h.paper.id for h in search(db, "wallaby", mode="keyword").hits] == ["2611.00001"]
