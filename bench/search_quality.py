"""Search quality: nDCG@10 and recall@100 for keyword, semantic and hybrid search.

Each BEIR-layout set under ../shared/relevance/ is written as paperfeed JSONL
(``{"id", "title", "abstract"}``), imported into a temporary SQLite instance with the
normal importer, indexed and embedded with the normal index code, and queried through
``paperfeed.rank.search.search``. Fusion variants are compared on the same two rankings.

    .venv/bin/python bench/search_quality.py [--sets scifact,cranfield,cacm] [--max-queries N]
                                             [--split test|train]

Pick fusion parameters with ``--sets scifact --split train`` and report ``--split test``
(only SciFact has a train split). Variants are named ``method depth/weight``: depth is
how many candidates each side contributes, weight the semantic weight.

SciFact is CC BY-NC: it is read from ../shared only and never copied into the repo.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "relevance"
SEMANTIC_WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7)
DEPTHS = (100, 200)  # candidates per side; the fetched lists are DEPTHS[-1] long
CACHE = Path(tempfile.gettempdir()) / "paperfeed-bench-vectors"  # never inside the repo


def load_set(folder: Path, split: str = "test"):
    with open(folder / "corpus.jsonl") as fh:
        corpus = [json.loads(line) for line in fh]
    with open(folder / "queries.jsonl") as fh:
        queries = {q["_id"]: q["text"] for q in map(json.loads, fh)}
    qrels: dict[str, dict[str, int]] = {}
    qrels_file = folder / "qrels" / f"{split}.tsv"
    if not qrels_file.exists():
        raise SystemExit(f"{folder.name} has no {split} split ({qrels_file.name} is missing)")
    with open(qrels_file) as fh:
        next(fh)
        for line in fh:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    return corpus, {q: queries[q] for q in qrels if q in queries}, qrels


def write_jsonl(corpus, path: Path) -> None:
    with open(path, "w") as fh:
        for doc in corpus:
            title = (doc.get("title") or "").strip() or "untitled"
            row = {"id": doc["_id"], "title": title, "abstract": doc.get("text") or ""}
            if doc.get("authors"):
                row["authors"] = [a.strip() for a in doc["authors"].split("\n") if a.strip()]
            fh.write(json.dumps(row) + "\n")


def ndcg_at_10(ranked: list[str], rels: dict[str, int]) -> float:
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted((g for g in rels.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_100(ranked: list[str], rels: dict[str, int]) -> float:
    relevant = {d for d, g in rels.items() if g > 0}
    return len(relevant & set(ranked[:100])) / len(relevant) if relevant else 0.0


def evaluate(runs: dict[str, dict[str, list[str]]], qrels) -> dict[str, tuple[float, float]]:
    out = {}
    for name, run in runs.items():
        qids = [q for q in run if any(g > 0 for g in qrels[q].values())]
        out[name] = (sum(ndcg_at_10(run[q], qrels[q]) for q in qids) / len(qids),
                     sum(recall_at_100(run[q], qrels[q]) for q in qids) / len(qids))
    return out


def run_set(name: str, max_queries: int | None, split: str = "test") -> tuple[dict, float]:
    from paperfeed.config import Settings
    from paperfeed.db import open_database
    from paperfeed.index.sync import sync_index
    from paperfeed.ingest.importer import import_file
    from paperfeed.rank import fusion
    from paperfeed.rank.search import search

    corpus, queries, qrels = load_set(SHARED / name, split)
    if max_queries:
        queries = dict(list(queries.items())[:max_queries])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        db = open_database(settings)
        write_jsonl(corpus, Path(tmp) / "corpus.jsonl")
        import_file(db, Path(tmp) / "corpus.jsonl")
        rate = _load_or_embed(db, settings, name)
        sync_index(db, settings)
        print(f"  {name}: {len(corpus)} docs, embedding {rate:.1f} docs/s, {len(queries)} queries", file=sys.stderr)
        runs: dict[str, dict[str, list[str]]] = {}
        lists: dict[str, dict[str, list]] = {"keyword": {}, "semantic": {}}
        for qid, text in queries.items():
            for mode in ("keyword", "semantic", "hybrid"):
                res = search(db, text, limit=DEPTHS[-1] if mode in lists else 100, mode=mode, highlights=False)
                if res.mode != mode:
                    raise SystemExit(f"{name}: asked for {mode}, got {res.mode}: {res.notice}")
                runs.setdefault(mode, {})[qid] = [h.paper.id for h in res.hits]
                if mode in lists:
                    lists[mode][qid] = [(h.paper.id, h.score) for h in res.hits]
            _add_variants(runs, qid, lists["keyword"][qid], lists["semantic"][qid], fusion)
        db.dispose()
    return evaluate(runs, qrels), rate


def _add_variants(runs, qid: str, kw: list, sem: list, fusion) -> None:
    for depth in DEPTHS:
        k, s = kw[:depth], sem[:depth]
        runs.setdefault(f"rrf {depth}", {})[qid] = [d for d, _ in fusion.rrf(k, s)]
        for w in SEMANTIC_WEIGHTS:
            for method in (fusion.weighted, fusion.zscore):
                runs.setdefault(f"{method.__name__} {depth}/{w}", {})[qid] = [d for d, _ in method(k, s, w)]


def _load_or_embed(db, settings, name: str) -> float:
    """Embed the corpus, reusing what a previous run left in CACHE (outside the repo,
    since SciFact may not be copied into it). Returns docs/s, 0 when all was reused."""
    from sqlalchemy import select

    from paperfeed.index.embed import MODEL_NAME
    from paperfeed.index.embedjob import embed_missing
    from paperfeed.models import Paper, PaperEmbedding

    cache = CACHE / f"{name}-{MODEL_NAME.replace('/', '_')}.npz"
    reused = _insert_cached(db, cache) if cache.exists() else 0
    emb = embed_missing(db, settings)
    if emb.embedded:
        with db.session() as session:
            rows = session.execute(select(Paper.id, PaperEmbedding.text_hash, PaperEmbedding.dim,
                                          PaperEmbedding.vector)
                                   .join(PaperEmbedding, PaperEmbedding.paper_pk == Paper.pk)).all()
        _save_cache(cache, rows)
    print(f"  {name}: {reused} embeddings from {cache}, {emb.embedded} embedded", file=sys.stderr)
    return emb.docs_per_s


def _save_cache(cache: Path, rows) -> None:
    """Per paper: id, hash of the embedded text, dim and the stored float16 blob."""
    import numpy as np

    CACHE.mkdir(parents=True, exist_ok=True)
    blobs = [np.frombuffer(r.vector, dtype=np.float16) for r in rows]
    np.savez(cache, ids=np.array([r.id for r in rows]), hashes=np.array([r.text_hash for r in rows]),
             dims=np.array([r.dim for r in rows]), sizes=np.array([len(b) for b in blobs]),
             values=np.concatenate(blobs))


def _insert_cached(db, cache: Path) -> int:
    """Store cached embeddings of papers whose text still hashes the same; embed_missing
    does the rest."""
    import numpy as np
    from sqlalchemy import insert, select

    from paperfeed.index.embed import MODEL_NAME, paper_text, text_hash
    from paperfeed.models import Paper, PaperEmbedding, utcnow

    data = dict(np.load(cache))  # an NpzFile would decompress "values" again on every access
    values, ends = data["values"], np.cumsum(data["sizes"])
    cached = {i: (h, int(d), values[e - n:e]) for i, h, d, n, e in
              zip(data["ids"].tolist(), data["hashes"].tolist(), data["dims"], data["sizes"], ends)}
    with db.session() as session:
        papers = session.execute(select(Paper.pk, Paper.id, Paper.title, Paper.abstract, Paper.content_hash)).all()
        rows = []
        for p in papers:
            hashed = text_hash(paper_text(p.title, p.abstract))
            if p.id in cached and cached[p.id][0] == hashed:
                _, dim, blob = cached[p.id]
                rows.append({"paper_pk": p.pk, "model": MODEL_NAME, "content_hash": p.content_hash,
                             "text_hash": hashed, "dim": dim, "vector": blob.tobytes(), "embedded_at": utcnow()})
        if rows:
            session.execute(insert(PaperEmbedding), rows)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="cranfield,cacm,scifact")
    parser.add_argument("--max-queries", type=int, default=None)
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="qrels split to score (choose parameters on train, report test)")
    args = parser.parse_args()
    from paperfeed.index.embed import MODEL_NAME
    from paperfeed.rank.fusion import SEMANTIC_WEIGHT
    from paperfeed.rank.search import FUSION_CANDIDATES

    started = time.time()
    results, speeds = {}, {}
    for name in args.sets.split(","):
        results[name], speeds[name] = run_set(name, args.max_queries, args.split)
    print(f"\n{args.split} split; hybrid = zscore_complete fusion (semantic weight {SEMANTIC_WEIGHT}, "
          f"{FUSION_CANDIDATES} candidates a side); embeddings {MODEL_NAME}\n")
    names = list(results)
    print("| method | " + " | ".join(f"{n} nDCG@10 | {n} R@100" for n in names) + " |")
    print("|---|" + "---|---|" * len(names))
    for method in results[names[0]]:
        cells = " | ".join(f"{results[n][method][0]:.3f} | {results[n][method][1]:.3f}" for n in names)
        print(f"| {method} | {cells} |")
    print("\nembedding docs/s: " + ", ".join(f"{n} {s:.1f}" for n, s in speeds.items()))
    print(f"total {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
