"""Search speed at the demo size (75k) and at 1M papers, plus embedding throughput.

    .venv/bin/python bench/search_speed.py [--sizes 75000,1000000] [--queries 200] [--skip-embed] [--workdir DIR]

Papers come from demo/arxiv-listing-*.jsonl.gz; the 1M set repeats them with new ids and
light perturbation (shuffled title words, dropped and swapped abstract words). Vectors
for the speed run are random but clustered (embedding 1M abstracts on 2 CPU cores would
take hours); query embedding is excluded from the semantic/hybrid timings and reported
separately. Each size is built in one subprocess and queried in a fresh one, so the
reported RSS is that of a process serving from the on-disk indexes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "arxiv-listing-2025-03_2026-07.jsonl.gz"
DIM = 384
QUERIES = [
    "making linear recurrent models track state with several rank-one updates per token",
    "diffusion models for protein structure generation", "retrieval augmented generation hallucination",
    "graph neural networks for molecules", "efficient attention for long sequences",
    "reinforcement learning from human feedback reward hacking", "quantization of large language models",
    "vision language models for robotics", "federated learning privacy", "speech recognition low resource",
]


def load_demo() -> list[dict]:
    out = []
    with gzip.open(DEMO, "rt") as fh:
        for line in fh:
            r = json.loads(line)
            out.append({"title": r["title"], "abstract": r.get("abstract") or "",
                        "authors": [" ".join(p[1::-1]).strip() for p in r.get("authors_parsed") or []],
                        "categories": r.get("categories", "").split(), "day": r.get("announce_date")})
    return out


def perturb(rec: dict, rng: random.Random, vocab: list[str]) -> dict:
    title = rec["title"].split()
    rng.shuffle(title)
    words = [w for w in rec["abstract"].split() if rng.random() > 0.1]
    for _ in range(3):
        if words:
            words[rng.randrange(len(words))] = rng.choice(vocab)
    return {**rec, "title": " ".join(title), "abstract": " ".join(words)}


def docs_for(size: int):
    from paperfeed.index.keyword import KeywordDoc

    base = load_demo()
    rng = random.Random(0)
    vocab = [w for r in base[:2000] for w in r["abstract"].split()]
    for pk in range(1, size + 1):
        rec = base[(pk - 1) % len(base)]
        if pk > len(base):
            rec = perturb(rec, rng, vocab)
        day = date.fromisoformat(rec["day"]) if rec["day"] else None
        yield KeywordDoc(pk=pk, title=rec["title"], authors=rec["authors"], abstract=rec["abstract"],
                         categories=rec["categories"], day=day)


def clustered_vectors(size: int, clusters: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM), dtype=np.float32)
    out = np.empty((size, DIM), dtype=np.float32)
    for start in range(0, size, 100_000):
        n = min(100_000, size - start)
        block = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, DIM), dtype=np.float32)
        out[start:start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def passage_starts(size: int) -> np.ndarray:
    """Passage offsets per paper, with the demo abstracts' real passage counts."""
    from paperfeed.index.passages import passage_texts

    counts = [len(passage_texts(r["title"], r["abstract"])) for r in load_demo()]
    per_paper = np.resize(np.array(counts, dtype=np.int64), size)
    return np.concatenate([[0], np.cumsum(per_paper)])


def passage_vectors(vecs: np.ndarray, starts: np.ndarray, scratch: Path, block: int = 50_000) -> np.ndarray:
    """Random passage vectors near their paper's vector, written to a float16 memmap in
    blocks (at 1M papers there are millions, too many to hold as float32)."""
    rng = np.random.default_rng(5)
    out = np.lib.format.open_memmap(scratch, mode="w+", dtype=np.float16, shape=(int(starts[-1]), DIM))
    for first in range(0, len(vecs), block):
        last = min(first + block, len(vecs))
        counts = np.diff(starts[first:last + 1])
        part = np.repeat(vecs[first:last], counts, axis=0) + 0.3 * rng.standard_normal((counts.sum(), DIM),
                                                                                           dtype=np.float32) / DIM ** 0.5
        out[starts[first]:starts[last]] = part / np.linalg.norm(part, axis=1, keepdims=True)
    out.flush()
    return out


def phase_build(size: int, folder: Path) -> dict:
    from paperfeed.index.keyword import KeywordIndex
    from paperfeed.index.vectors import VectorSnapshot, write_snapshot

    t0 = time.perf_counter()
    index = KeywordIndex(folder / "keyword")
    writer = index.writer(heap_bytes=400_000_000, threads=2)
    for doc in docs_for(size):
        writer.add_document(doc.to_tantivy())
    index.commit(writer)
    keyword_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    vecs = clustered_vectors(size)
    starts = passage_starts(size)
    scratch = folder / "passages-scratch.npy"
    snap = VectorSnapshot(pks=np.arange(1, size + 1, dtype=np.int64), vectors=vecs,
                          days=np.zeros(size, dtype=np.int32), cats=[""] * size,
                          passages=passage_vectors(vecs, starts, scratch), passage_start=starts)
    write_snapshot(folder / "vectors", snap)
    scratch.unlink()
    vector_s = time.perf_counter() - t0
    return {"keyword_build_s": keyword_s, "vector_build_s": vector_s,
            "keyword_mb": dir_mb(folder / "keyword"), "vector_mb": dir_mb(folder / "vectors"),
            "build_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def phase_query(size: int, folder: Path, n_queries: int) -> dict:
    from paperfeed.index.keyword import KeywordIndex
    from paperfeed.index.query import parse_query
    from paperfeed.index.vectors import VectorStore
    from paperfeed.rank.search import rank_with_vector

    rng = random.Random(1)
    base = load_demo()
    texts = QUERIES + [" ".join(base[rng.randrange(len(base))]["title"].split()[:8]) for _ in range(n_queries)]
    texts = texts[:n_queries]
    t0 = time.perf_counter()
    kw = KeywordIndex(folder / "keyword")
    snap = VectorStore(folder / "vectors").snapshot()
    load_s = time.perf_counter() - t0
    qvecs = clustered_vectors(len(texts), seed=7)  # same centres (seed differs only in noise draw)
    qvecs = _near_docs(snap, len(texts))
    timings = {"keyword": [], "semantic": [], "hybrid": []}
    for text, qv in zip(texts, qvecs):  # warm-up pass, then the measured pass
        kw.search(parse_query(text), limit=20)
        rank_with_vector(kw, snap, parse_query(text), qv, "hybrid", 20)
    for text, qv in zip(texts, qvecs):
        parsed = parse_query(text)
        t = time.perf_counter()
        kw.search(parsed, limit=20)
        timings["keyword"].append(time.perf_counter() - t)
        for mode in ("semantic", "hybrid"):  # the ranking search() runs, once the query is embedded
            t = time.perf_counter()
            rank_with_vector(kw, snap, parsed, qv, mode, 20)
            timings[mode].append(time.perf_counter() - t)
    # RssFile: pages of memory-mapped vectors and passages, which the kernel can drop
    out = {"load_s": load_s, "rss_mb": _rss_mb(), "rss_file_mb": _rss_mb("RssFile"), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "recall_at_10": _recall(snap, qvecs[:30]), "queries": len(texts)}
    for mode, values in timings.items():
        ms = sorted(v * 1000 for v in values)
        out[f"{mode}_p50"] = statistics.median(ms)
        out[f"{mode}_p99"] = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    return out


def _near_docs(snap, n: int) -> np.ndarray:
    """Query vectors near existing documents, as real queries are."""
    rng = np.random.default_rng(3)
    rows = rng.integers(0, len(snap), n)
    q = np.asarray(snap.vectors[rows], dtype=np.float32) + 0.05 * rng.standard_normal((n, DIM), dtype=np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _recall(snap, queries: np.ndarray) -> float:
    if snap.ivf is None:
        return 1.0
    hits = 0
    for q in queries:
        exact = set(np.argsort(-(np.asarray(snap.vectors, dtype=np.float32) @ q))[:10].tolist()) \
            if len(snap) <= 200_000 else _exact_chunked(snap, q)
        approx = {snap.row_of(pk) for pk, _ in snap.search(q, 10)}
        hits += len(exact & approx)
    return hits / (10 * len(queries))


def _exact_chunked(snap, q) -> set[int]:
    best = []
    for start in range(0, len(snap), 200_000):
        block = np.asarray(snap.vectors[start:start + 200_000], dtype=np.float32) @ q
        top = np.argpartition(-block, 10)[:10]
        best += [(block[i], start + i) for i in top]
    return {row for _, row in sorted(best, reverse=True)[:10]}


def _rss_mb(field: str = "VmRSS") -> float:
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def embedding_throughput(n: int = 192) -> dict:
    import torch

    from paperfeed.index.embed import get_embedder, paper_text

    docs = load_demo()[:n]
    texts = [paper_text(d["title"], d["abstract"]) for d in docs]
    emb = get_embedder("cpu")
    emb.encode_documents(texts[:8])
    t = time.perf_counter()
    bf16 = emb.encode_documents(texts)
    bf16_rate = n / (time.perf_counter() - t)
    t = time.perf_counter()
    with torch.inference_mode():
        fp32 = emb.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    fp32_rate = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for text in QUERIES * 3:
        emb.encode_query(text)
    query_ms = (time.perf_counter() - t) * 1000 / (len(QUERIES) * 3)
    cos = float((bf16 * fp32).sum(axis=1).min())
    from paperfeed.index.embedjob import encode_papers

    t = time.perf_counter()  # what the embedding job does per paper: the whole text and its passages
    encode_papers(emb, [(text, d["title"], d["abstract"]) for text, d in zip(texts, docs)])
    papers_rate = n / (time.perf_counter() - t)
    return {"fp32_docs_s": fp32_rate, "bf16_docs_s": bf16_rate, "bf16_papers_with_passages_s": papers_rate,
            "min_cosine": cos, "query_embed_ms": query_ms, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="75000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-embed", action="store_true")
    parser.add_argument("--workdir", type=Path, help="Keep built indexes here and reuse them on later runs.")
    parser.add_argument("--phase", choices=["build", "query"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "build":
        print(json.dumps(phase_build(args.size, args.dir)))
        return
    if args.phase == "query":
        print(json.dumps(phase_query(args.size, args.dir, args.queries)))
        return
    rows = {}
    for size in map(int, args.sizes.split(",")):
        if args.workdir:  # keep the built indexes and reuse them on the next run
            folder = args.workdir / str(size)
            info = folder / "build.json"
            if not info.exists():
                folder.mkdir(parents=True, exist_ok=True)
                info.write_text(json.dumps(_sub("build", size, folder, args.queries)))
            build = json.loads(info.read_text())
            query = _sub("query", size, folder, args.queries)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                build = _sub("build", size, Path(tmp), args.queries)
                query = _sub("query", size, Path(tmp), args.queries)
        rows[size] = {**build, **query}
        print(f"  {size:,}: {json.dumps(rows[size])}", file=sys.stderr)
    _print_table(rows)
    if not args.skip_embed:
        e = embedding_throughput()
        print(f"\nembedding (all-MiniLM-L6-v2, 256 tokens, {e['threads']} threads, batch 32, length-sorted): "
              f"fp32 {e['fp32_docs_s']:.1f} docs/s, bf16 autocast {e['bf16_docs_s']:.1f} docs/s "
              f"({e['bf16_docs_s'] / e['fp32_docs_s']:.2f}x; min cosine vs fp32 {e['min_cosine']:.5f}); "
              f"papers with their passages (bf16) {e['bf16_papers_with_passages_s']:.1f}/s; "
              f"query embedding {e['query_embed_ms']:.1f} ms")


def _sub(phase: str, size: int, folder: Path, queries: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, "--size", str(size), "--dir", str(folder),
                          "--queries", str(queries)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _print_table(rows: dict) -> None:
    print("| papers | keyword p50 / p99 ms | semantic p50 / p99 ms | hybrid p50 / p99 ms | IVF recall@10 | "
          "keyword build s | vector build s | keyword MB | vector MB | query RSS MB (of it mapped files) | "
          "build peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size, r in rows.items():
        print(f"| {size:,} | {r['keyword_p50']:.2f} / {r['keyword_p99']:.1f} | {r['semantic_p50']:.2f} / "
              f"{r['semantic_p99']:.1f} | {r['hybrid_p50']:.2f} / {r['hybrid_p99']:.1f} | {r['recall_at_10']:.3f} | "
              f"{r['keyword_build_s']:.0f} | {r['vector_build_s']:.0f} | {r['keyword_mb']:.0f} | {r['vector_mb']:.0f} | "
              f"{r['rss_mb']:.0f} ({r.get('rss_file_mb', 0):.0f}) | {r['build_peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
