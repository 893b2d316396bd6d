"""Build src/paperfeed/index/keyword_df.tsv.gz: in how many demo abstracts each word occurs.

The key-phrase extractor (index/keyphrases.py) weighs words by their rarity across
arXiv. The table is derived from the CC0 arXiv listing data in ../shared/data (the same
papers `make run` imports), words seen in at least MIN_DF papers, normalised as the
extractor does (lower case, singular).

    python scripts/build_keyword_df.py [path/to/arxiv-listing.jsonl.gz]
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from paperfeed.index.keyphrases import _TOKEN, normal_word  # noqa: E402

SOURCE = ROOT.parent / "shared" / "data" / "arxiv-listing-2025-03_2026-07.jsonl.gz"
TARGET = ROOT / "src" / "paperfeed" / "index" / "keyword_df.tsv.gz"
MIN_DF = 3


def main(source: Path = SOURCE) -> None:
    df: Counter[str] = Counter()
    papers = 0
    with gzip.open(source, "rt") as fh:
        for line in fh:
            rec = json.loads(line)
            words = {normal_word(t) for t in _TOKEN.findall(f"{rec['title']} {rec['abstract']}") if t[0].isalpha()}
            df.update(words)
            papers += 1
    rows = sorted((w, n) for w, n in df.items() if n >= MIN_DF)
    body = "".join(f"{w}\t{n}\n" for w, n in rows)
    TARGET.write_bytes(gzip.compress(f"#papers\t{papers}\n{body}".encode(), mtime=0))
    print(f"{papers} papers, {len(rows)} words with df >= {MIN_DF} -> {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
