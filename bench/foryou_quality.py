"""For you: recall@50 on topics from the real listing, and the speed of a request.

Topics are arXiv primary categories of the real listing (../shared/data) with 60-700
papers (12 of them: cs.GT, eess.IV, cs.CE, cs.RO, cs.HC, cs.IR, cs.SD, cs.CR, eess.SY,
cs.CY, cs.SE, eess.AS; the big ones, cs.CV with 35k papers, are not a taste). A simulated
user upvotes 10 random papers of a topic; recall@50 is the share of the topic's other
papers in their top 50, out of at most 50 (``hits / min(50, topic size - 10)``).

Methods, on the same users and the same papers:

* **paperfeed**: ``rank.foryou.recommend(window="all")`` through a real database, with the
  stored vectors, as the site answers (and its mean-only / nearest-only variants).
* **popularity**: the most upvoted papers (all simulated users' votes), then the newest.
* **arxiv-sanity**: TF-IDF (1-2 grams, sublinear tf, as arxiv-sanity-lite) and a linear
  SVM (liked = 1, every other paper = 0, C = 0.01, balanced), ranked by its decision value.

With ``--shipped demo`` every paper has its real vector (the demo's shipped vectors,
scripts/embed-demo), and quality and speed are measured over all 74,728 listing papers.
Without them, quality is measured on a documented subset: every paper of the 12 topics plus
up to 5,000 random others (seed 0), embedded whole (title + abstract, first 128 tokens) and
cached outside the repo, and speed on all papers, those outside the subset getting a copy of
a subset paper's vector with noise (a request's cost depends on the count, not on what the
vectors say).

    .venv/bin/python bench/foryou_quality.py --shipped demo [--users-per-topic 10] [--seed 2]
    .venv/bin/python bench/foryou_quality.py [--embed-only] [--users-per-topic 10] [--seed 2] [--variants]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data" / "arxiv-listing-2025-03_2026-07.jsonl.gz"
WORK = Path(tempfile.gettempdir()) / "paperfeed-foryou-bench"  # never inside the repo
TOPICS = ["cs.GT", "eess.IV", "cs.CE", "cs.RO", "cs.HC", "cs.IR", "cs.SD", "cs.CR", "eess.SY", "cs.CY", "cs.SE",
          "eess.AS"]
OTHERS = 5000
LIKES = 10
K = 50


def load_rows() -> list[dict]:
    with gzip.open(DATA, "rt") as fh:
        return [json.loads(line) for line in fh]


def topic_of(row: dict) -> str:
    return row["categories"].split()[0]


def subset(rows: list[dict]) -> list[dict]:
    topic = [r for r in rows if topic_of(r) in TOPICS]
    rest = [r for r in rows if topic_of(r) not in TOPICS]
    random.Random(0).shuffle(rest)
    return topic + rest[:OTHERS]


# --- vectors (cached; resumable) --------------------------------------------------


def embed_subset(rows: list[dict], cache: Path) -> None:
    import torch

    from paperfeed.index.embed import get_embedder, paper_text

    done = _cached(cache)
    todo = [r for r in subset(rows) if r["id"] not in done]
    embedder = get_embedder("cpu", 1)
    embedder.model.max_seq_length = 128
    ids, vecs = list(done), [np.vstack(list(done.values()))] if done else []
    for start in range(0, len(todo), 256):
        part = todo[start:start + 256]
        with torch.inference_mode():
            out = embedder.model.encode([paper_text(r["title"], r["abstract"]) for r in part], batch_size=32,
                                        normalize_embeddings=True)
        ids += [r["id"] for r in part]
        vecs.append(np.asarray(out, np.float32))
        np.savez(cache.with_suffix(".tmp.npz"), ids=np.array(ids), vectors=np.vstack(vecs))
        cache.with_suffix(".tmp.npz").replace(cache)
        print(f"embedded {len(ids)}", flush=True)


def shipped_vectors(directory: Path) -> dict[str, np.ndarray]:
    """The demo's shipped vectors (checked by checksum), as the app loads them."""
    from paperfeed.index.shipped import dequantize, read_vectors

    found = read_vectors(directory)
    if found is None:
        raise SystemExit(f"no shipped vectors in {directory}")
    _, index, q, scale = found
    vectors = dequantize(q, scale)
    return {pid: vectors[row] for pid, (_, row) in index.items()}


def _cached(cache: Path) -> dict[str, np.ndarray]:
    if not cache.exists():
        return {}
    data = np.load(cache)
    return dict(zip(data["ids"].tolist(), data["vectors"]))


# --- instances --------------------------------------------------------------------


def build_instance(folder: Path, rows: list[dict], vectors: dict[str, np.ndarray], note: str = "ok"):
    """A migrated SQLite instance holding ``rows``, their vectors stored as the embedding
    job stores them, and its indexes synced."""
    from paperfeed.config import Settings
    from paperfeed.db import Database
    from paperfeed.index.sync import sync_index
    from paperfeed.ingest.importer import import_file

    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'paperfeed.db'}",
                        embed_in_background=False)
    db = Database(settings)
    if (folder / "ready").exists():
        return db
    db.upgrade()
    source = folder / "papers.jsonl"
    with open(source, "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    started = time.perf_counter()
    import_file(db, source)
    _store_vectors(db, vectors)
    sync_index(db, settings)
    print(f"  built {folder.name}: {len(rows):,} papers in {time.perf_counter() - started:.0f} s", flush=True)
    (folder / "ready").write_text(note)
    return db


def _store_vectors(db, vectors: dict[str, np.ndarray]) -> None:
    from sqlalchemy import select

    from paperfeed.index.embed import DIM, MODEL_NAME
    from paperfeed.index.passages import pack
    from paperfeed.models import Paper, utcnow
    from paperfeed.store.changes import bump
    from paperfeed.store.indexing import store_embeddings

    with db.session() as session:
        rows = session.execute(select(Paper.pk, Paper.id, Paper.content_hash)).all()
        seq = bump(session)
        fresh = [{"paper_pk": pk, "model": MODEL_NAME, "content_hash": h, "text_hash": h, "dim": DIM,
                  "vector": pack(vectors[pid][None]), "embedded_at": utcnow(), "change_seq": seq}
                 for pk, pid, h in rows if pid in vectors]
        for start in range(0, len(fresh), 5000):
            store_embeddings(session, fresh[start:start + 5000], [])
        session.commit()


def filled_vectors(rows: list[dict], real: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Real vectors where we have them; elsewhere a real one with noise (for speed only)."""
    rng = np.random.default_rng(0)
    pool = np.vstack(list(real.values()))
    out = dict(real)
    for r in rows:
        if r["id"] not in out:
            v = pool[rng.integers(len(pool))] + rng.normal(0, 0.05, pool.shape[1]).astype(np.float32)
            out[r["id"]] = v / np.linalg.norm(v)
    return out


# --- simulated users --------------------------------------------------------------


def make_users(db, rows: list[dict], per_topic: int, seed: int = 2) -> list[tuple[int, str, list[str]]]:
    """(user pk, topic, liked ids): each user upvotes LIKES random papers of one topic."""
    from paperfeed.models import User
    from paperfeed.store import votes as vote_store
    from paperfeed.store.papers import get_paper
    from paperfeed.store.users import get_user_by_name

    rng = random.Random(seed)
    by_topic: dict[str, list[str]] = {}
    for r in rows:
        by_topic.setdefault(topic_of(r), []).append(r["id"])
    users = []
    with db.session() as session:
        for topic in TOPICS:
            for n in range(per_topic):
                name = f"s{seed}_{topic.replace('.', '_')}_{n}"
                liked = rng.sample(by_topic[topic], LIKES)
                known = get_user_by_name(session, name)  # a cached instance from an earlier run
                if known is not None:
                    users.append((known.pk, topic, liked))
                    continue
                user = User(username=name, username_key=name.lower(), email=f"{name}@example.org",
                            password_hash="-", email_verified=True)
                session.add(user)
                session.flush()
                for pid in liked:
                    vote_store.add_vote(session, user, get_paper(session, pid))
                users.append((user.pk, topic, liked))
        session.commit()
    return users


def recall(ranked: list[str], topic_ids: set[str], liked: list[str]) -> float:
    relevant = topic_ids - set(liked)
    hits = len([pid for pid in ranked[:K] if pid in relevant])
    return hits / min(K, len(relevant))


# --- methods ----------------------------------------------------------------------


def paperfeed_lists(db, users) -> dict[int, list[str]]:
    from paperfeed.rank.foryou import recommend

    out = {}
    with db.session() as session:
        for pk, _, _ in users:
            out[pk] = [p.paper.id for p in recommend(session, db.settings, pk, window="all", limit=K).picks]
    return out


def popularity_lists(db, users) -> dict[int, list[str]]:
    from sqlalchemy import func, select

    from paperfeed.models import Paper, Vote

    with db.session() as session:
        votes = func.count(Vote.pk)
        voters = [pk for pk, _, _ in users]  # this run's users (a cached instance may hold others)
        ranked = [pid for (pid,) in session.execute(
            select(Paper.id).outerjoin(Vote, (Vote.paper_pk == Paper.pk) & Vote.user_pk.in_(voters))
            .group_by(Paper.pk, Paper.id)
            .order_by(votes.desc(), func.coalesce(Paper.submitted_at, Paper.announced_on).desc()).limit(K + 200))]
    return {pk: [pid for pid in ranked if pid not in liked][:K] for pk, _, liked in users}


def svm_lists(rows: list[dict], users) -> tuple[dict[int, list[str]], float]:
    """arxiv-sanity-lite's recommender: TF-IDF features, one linear SVM per user."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    ids = [r["id"] for r in rows]
    tfidf = TfidfVectorizer(input="content", encoding="utf-8", decode_error="replace", strip_accents="unicode",
                            lowercase=True, analyzer="word", stop_words="english",
                            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2),
                            max_features=20_000, norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True,
                            max_df=0.1, min_df=5)
    x = tfidf.fit_transform([f"{r['title']}. {r['abstract']}" for r in rows])
    row_of = {pid: i for i, pid in enumerate(ids)}
    out, times = {}, []
    for pk, _, liked in users:
        y = np.zeros(len(ids))
        y[[row_of[pid] for pid in liked]] = 1
        started = time.perf_counter()
        clf = LinearSVC(class_weight="balanced", verbose=False, max_iter=10_000, tol=1e-6, C=0.01)
        clf.fit(x, y)
        scores = clf.decision_function(x)
        times.append(time.perf_counter() - started)
        order = np.argsort(-scores)
        out[pk] = [ids[i] for i in order if ids[i] not in set(liked)][:K]
    return out, statistics.median(times)


def report(name: str, lists: dict[int, list[str]], users, topics: dict[str, set[str]]) -> float:
    per_topic: dict[str, list[float]] = {}
    for pk, topic, liked in users:
        per_topic.setdefault(topic, []).append(recall(lists[pk], topics[topic], liked))
    mean = statistics.mean(v for vals in per_topic.values() for v in vals)
    detail = " ".join(f"{t}={statistics.mean(v):.2f}" for t, v in per_topic.items())
    print(f"  {name:<28} recall@{K} {mean:.3f}   ({detail})", flush=True)
    return mean


def variants(db, users, topics) -> None:
    """The chosen weights against others (how MEAN_WEIGHT and CATEGORY_WEIGHT were picked).

    The topics are categories, so a large category weight is favoured here by construction."""
    from paperfeed.rank import foryou

    kept = foryou.MEAN_WEIGHT, foryou.CATEGORY_WEIGHT
    for mean, cat in ((1.0, kept[1]), (0.75, kept[1]), (0.5, kept[1]), (0.0, kept[1]), (kept[0], 0.0),
                      (kept[0], 0.15)):
        if (mean, cat) == kept:
            continue
        foryou.MEAN_WEIGHT, foryou.CATEGORY_WEIGHT = mean, cat
        report(f"paperfeed: mean {mean:.2f} cat {cat:.2f}", paperfeed_lists(db, users), users, topics)
    foryou.MEAN_WEIGHT, foryou.CATEGORY_WEIGHT = kept


# --- speed ------------------------------------------------------------------------


def speed(db, users, windows=("all", "month", "week", "day"), rounds: int = 3) -> None:
    """p50/p95 of ``recommend`` against a baseline in the same run: the listing query of a
    day/week/month page for the same days (the newest day's for "all"), so a busy
    machine shows as a slow baseline rather than as a slow For you."""
    from paperfeed.rank.foryou import _span, recommend
    from paperfeed.store.feed import page_entries

    for window in windows:
        times, base = [], []
        for _ in range(rounds):
            for pk, _, _ in users:
                started = time.perf_counter()
                with db.session() as session:  # a request's own session, as the web layer has
                    recommend(session, db.settings, pk, window=window, limit=K)
                times.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                with db.session() as session:  # "all": the home page's listing (the newest day)
                    page_entries(session, *(_span(session, window, None) or _span(session, "day", None)), limit=K)
                base.append((time.perf_counter() - started) * 1000)
        times.sort()
        base.sort()
        p50, b50 = times[len(times) // 2], base[len(base) // 2]
        print(f"  window={window:<6} p50 {p50:6.1f} ms   p95 {times[int(len(times) * .95)]:6.1f} ms   "
              f"listing baseline p50 {b50:6.1f} ms   ratio {p50 / b50:4.1f}x   ({len(times)} requests)", flush=True)


def freshness(db, users) -> None:
    """An upvote, committed, changes the very next answer."""
    from paperfeed.models import User
    from paperfeed.rank.foryou import recommend
    from paperfeed.store import votes as vote_store
    from paperfeed.store.papers import get_paper

    pk = users[0][0]
    with db.session() as session:
        before = [p.paper.id for p in recommend(session, db.settings, pk, window="all", limit=K).picks]
        vote_store.add_vote(session, session.get(User, pk), get_paper(session, before[0]))
        session.commit()
    with db.session() as session:
        after = [p.paper.id for p in recommend(session, db.settings, pk, window="all", limit=K).picks]
    print(f"  upvote reflected in the next request: {before[0] not in after and before != after}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--embed-only", action="store_true", help="only embed (and cache) the subset")
    parser.add_argument("--users-per-topic", type=int, default=10)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--variants", action="store_true", help="also score other weights (pick them on --seed 1)")
    parser.add_argument("--seed", type=int, default=2, help="which simulated users (weights were picked on 1)")
    parser.add_argument("--shipped", type=Path, help="a folder with shipped vectors (demo/): measure on all papers")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = load_rows()
    cache = args.work / "subset-vectors.npz"
    if args.embed_only:
        return embed_subset(rows, cache)
    vectors = shipped_vectors(args.shipped) if args.shipped else _cached(cache)
    if not vectors:
        raise SystemExit(f"no vectors yet: run with --embed-only first (cache: {cache})")
    if args.shipped:
        args.work = args.work / "shipped"
        args.work.mkdir(exist_ok=True)
    if not args.skip_quality:
        quality(args, rows, vectors)
    if not args.skip_speed:
        speed_run(args, rows, vectors)


def quality(args, rows: list[dict], vectors: dict[str, np.ndarray]) -> None:
    pool = rows if args.shipped else subset(rows)
    universe = [r for r in pool if r["id"] in vectors]  # what has been embedded so far
    topics: dict[str, set[str]] = {}
    for r in universe:
        topics.setdefault(topic_of(r), set()).add(r["id"])
    print(f"quality: {len(universe):,} papers with vectors ({sum(len(topics[t]) for t in TOPICS):,} in "
          f"{len(TOPICS)} topics: {dict(Counter({t: len(topics[t]) for t in TOPICS}))})", flush=True)
    db = build_instance(args.work / f"subset-{len(universe)}", universe, vectors)
    users = make_users(db, universe, args.users_per_topic, args.seed)
    print(f"  {len(users)} simulated users, {LIKES} upvotes each", flush=True)
    report("paperfeed (For you)", paperfeed_lists(db, users), users, topics)
    if args.variants:
        variants(db, users, topics)
    report("popularity", popularity_lists(db, users), users, topics)
    lists, fit = svm_lists(universe, users)
    report("arxiv-sanity TF-IDF + SVM", lists, users, topics)
    print(f"  (the SVM trains per user: median {fit * 1000:.0f} ms)", flush=True)
    db.dispose()


def speed_run(args, rows: list[dict], vectors: dict[str, np.ndarray]) -> None:
    real = sum(r["id"] in vectors for r in rows)
    full = build_instance(args.work / "full", rows, filled_vectors(rows, vectors), note=f"{real:,}")
    real = (args.work / "full" / "ready").read_text()  # an instance cached by an earlier run says its own
    print(f"speed: all {len(rows):,} papers ({real} real vectors, the rest real ones with noise)", flush=True)
    speed_users = make_users(full, rows, 2, args.seed)
    speed(full, speed_users)
    freshness(full, speed_users)
    full.dispose()


if __name__ == "__main__":
    main()
