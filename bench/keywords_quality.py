"""Key phrases (index/keyphrases.py) against Hugging Face's ``ai_keywords``, beside a
TF-IDF top-terms baseline, on the papers that have them; and extraction speed.

Gold: the ``ai_keywords`` of every paper in the HF daily-papers fixtures (tests/fixtures
and ../shared/fixtures, deduplicated by id). HF's come from an LLM and run to ~10 a
paper; ours are 5-8, so recall is bounded by that.

Matching rule, applied to both methods alike: a phrase is compared as its words split at
spaces, hyphens and slashes, lower case, plurals made singular (``normal_phrase``).
- exact: equal normalised word sequences ("KV cache" = "kv-caches").
- partial: one is a contiguous run of at least half of the other's words
  ("safety gap" ~ "cold start safety gap"; "gap" alone does not match it).
Precision = predicted phrases that match some gold phrase / predicted;
recall = gold phrases matched by some predicted phrase / gold; F1 from the micro sums.

Baseline: scikit-learn's TfidfVectorizer (English stop words, 1-2 word terms) fitted on
the demo abstracts plus these papers; a paper's 8 highest-weighted terms.

Speed: papers/s of ``extract_keywords`` over the first N demo abstracts, one core,
against the TF-IDF transform of the same papers as the in-run baseline.

    python bench/keywords_quality.py [--fit 20000] [--speed 5000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from paperfeed.index.keyphrases import extract_keywords, normal_phrase  # noqa: E402

FIXTURE_DIRS = [ROOT / "tests" / "fixtures" / "hf_daily_papers", ROOT.parent / "shared" / "fixtures" / "hf_daily_papers"]
DEMO = ROOT.parent / "shared" / "data" / "arxiv-listing-2025-03_2026-07.jsonl.gz"
K_BASELINE = 8


def hf_papers() -> list[dict]:
    seen = {}
    for folder in FIXTURE_DIRS:
        for path in sorted(folder.glob("*.json")) if folder.exists() else []:
            for item in json.loads(path.read_text()):
                paper = item.get("paper", item)
                if paper.get("ai_keywords") and paper.get("summary"):
                    seen.setdefault(paper["id"], paper)
    return list(seen.values())


def demo_abstracts(limit: int) -> list[tuple[str, str]]:
    out = []
    with gzip.open(DEMO, "rt") as fh:
        for line in fh:
            rec = json.loads(line)
            out.append((rec["title"], rec["abstract"]))
            if len(out) >= limit:
                break
    return out


def _contains(long_: tuple, short: tuple) -> bool:
    return any(long_[i:i + len(short)] == short for i in range(len(long_) - len(short) + 1))


def matches(a: tuple, b: tuple, rule: str) -> bool:
    if rule == "exact":
        return a == b
    long_, short = (a, b) if len(a) >= len(b) else (b, a)
    return bool(short) and 2 * len(short) >= len(long_) and _contains(long_, short)


def score(predicted: list[list[str]], gold: list[list[str]], rule: str) -> dict:
    tp_p = n_p = tp_g = n_g = 0
    for pred, ref in zip(predicted, gold):
        p = [normal_phrase(x) for x in pred]
        g = [normal_phrase(x) for x in ref]
        tp_p += sum(any(matches(x, y, rule) for y in g) for x in p)
        tp_g += sum(any(matches(x, y, rule) for x in p) for y in g)
        n_p += len(p)
        n_g += len(g)
    precision, recall = tp_p / max(n_p, 1), tp_g / max(n_g, 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"P": precision, "R": recall, "F1": f1, "per_paper": n_p / max(len(predicted), 1)}


def tfidf_baseline(papers: list[dict], fit_on: list[tuple[str, str]]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [f"{t}. {a}" for t, a in fit_on] + [f"{p['title']}. {p['summary']}" for p in papers]
    vec = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    vec.fit(texts)
    terms = vec.get_feature_names_out()
    return vec, terms


def tfidf_top(vec, terms, docs: list[str], k: int = K_BASELINE) -> list[list[str]]:
    matrix = vec.transform(docs)
    out = []
    for row in matrix:
        order = row.data.argsort()[::-1][:k]
        out.append([terms[row.indices[i]] for i in order])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit", type=int, default=20000, help="demo abstracts the TF-IDF baseline is fitted on")
    parser.add_argument("--speed", type=int, default=5000, help="demo abstracts timed")
    parser.add_argument("--show", type=int, default=3, help="papers printed side by side")
    args = parser.parse_args()

    papers = hf_papers()
    gold = [p["ai_keywords"] for p in papers]
    ours = [extract_keywords(p["title"], p["summary"]) for p in papers]
    demo = demo_abstracts(max(args.fit, args.speed))
    vec, terms = tfidf_baseline(papers, demo[:args.fit])
    base = tfidf_top(vec, terms, [f"{p['title']}. {p['summary']}" for p in papers])

    print(f"{len(papers)} papers with HF ai_keywords ({sum(map(len, gold))} gold phrases, "
          f"{sum(map(len, gold)) / len(gold):.1f} a paper)")
    print(f"{'method':<28}{'rule':<9}{'P':>7}{'R':>7}{'F1':>7}{'per paper':>11}")
    for name, predicted in (("keyphrases (ours)", ours), (f"TF-IDF top-{K_BASELINE} (1-2 grams)", base)):
        for rule in ("exact", "partial"):
            s = score(predicted, gold, rule)
            print(f"{name:<28}{rule:<9}{s['P']:>7.3f}{s['R']:>7.3f}{s['F1']:>7.3f}{s['per_paper']:>11.1f}")

    for p, o, b in list(zip(papers, ours, base))[:args.show]:
        print(f"\n{p['id']} {p['title'][:80]}\n  HF:     {p['ai_keywords']}\n  ours:   {o}\n  tf-idf: {b}")

    sample = demo[:args.speed]
    ours_wall, ours_cpu = _timed(lambda: [extract_keywords(t, a) for t, a in sample])
    base_wall, base_cpu = _timed(lambda: tfidf_top(vec, terms, [f"{t}. {a}" for t, a in sample]))
    n = len(sample)
    print(f"\nspeed over {n} demo papers, one process (CPU seconds are steadier than wall time on a shared machine):")
    print(f"  keyphrases           {n / ours_wall:7,.0f} papers/s wall, {n / ours_cpu:7,.0f} papers per CPU second")
    print(f"  TF-IDF top-k         {n / base_wall:7,.0f} papers/s wall, {n / base_cpu:7,.0f} papers per CPU second")
    print(f"  ratio keyphrases / TF-IDF (CPU): {base_cpu / ours_cpu:.2f}; "
          f"76,359 papers: ~{76359 * ours_cpu / n:.0f} CPU seconds of extraction")


def _timed(work) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu

if __name__ == "__main__":
    main()
