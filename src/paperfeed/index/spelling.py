"""Did you mean: query words that look mistyped, corrected from the instance's own papers.

The embedding model does not forgive typos ("difusion langauge modle" is closest to papers
on speech and on languages), and BM25 finds the rare paper that shares the typo. A word is
corrected when few papers here hold it (at most one in ``RARE_SHARE``, or ``RARE_MIN``)
while a spelling one edit away (a letter deleted, inserted, changed, or two neighbours
swapped) is held ``MIN_GAIN`` times as often, and by at least ``MIN_FOUND`` papers. Counts
are the keyword index's document frequencies of the stemmed word, so the counts are the
instance's own; a correction must also be a word that at least ``MIN_FOUND`` of the 75k demo
abstracts use as written (``keyword_df.tsv.gz``), since stems of non-words can be real
("agention" stems to "agent"). On the 76k demo: "langauge" is in 5 abstracts, "language" in
32,976; "casual" (86) stays itself beside "causal" (2,128). Rarity alone cannot tell
"langauge" (5 abstracts) from "suture" (4), so a word that pyspellchecker's English word
list knows is never corrected.
"""

from __future__ import annotations

import string
from functools import lru_cache

from paperfeed.index.keyphrases import document_frequencies
from paperfeed.index.keyword import KeywordIndex, stems_of

RARE_MIN = 3
RARE_SHARE = 10_000
MIN_GAIN = 50
MIN_FOUND = 20
MIN_CHARS = 4  # shorter words one edit away from another are mostly other words
MAX_CHARS = 24
MAX_WORDS = 8  # the words looked at per query (each costs ~500 look-ups)
_LETTERS = string.ascii_lowercase


def corrections(keyword: KeywordIndex, words: list[str]) -> dict[str, str]:
    """{word as typed: its correction} for the words that look mistyped."""
    out: dict[str, str] = {}
    for word in [w for w in dict.fromkeys(words) if _checkable(w)][:MAX_WORDS]:
        better = _correction(keyword, word.lower())
        if better:
            out[word] = better
    return out


def _checkable(word: str) -> bool:
    """Lower-case words (a capital first letter allowed): not acronyms, names in CamelCase,
    or anything with digits, which are rarely typos and often rare on purpose."""
    return MIN_CHARS <= len(word) <= MAX_CHARS and word.isascii() and word.isalpha() and word[1:].islower()


def _correction(keyword: KeywordIndex, word: str) -> str | None:
    found = keyword.doc_freq(stems_of([word])[0])
    if found > max(RARE_MIN, keyword.num_docs // RARE_SHARE) or _is_english(word):
        return None
    known, _ = document_frequencies()
    candidates = sorted(c for c in edits(word) if known.get(c, 0) >= MIN_FOUND)
    counts, base_form = {}, {}
    for candidate, stem in zip(candidates, stems_of(candidates)):
        counts[candidate] = keyword.doc_freq(stem)
        base_form[candidate] = candidate == stem
    # several spellings share a stem ("model", "modele"): the one that is the stem itself wins
    best = max(candidates, key=lambda c: (counts[c], base_form[c], -len(c), c), default=None)
    if best is None or counts[best] < max(MIN_FOUND, MIN_GAIN * (found + 1)):
        return None
    return best


@lru_cache(maxsize=1)
def _english():
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1).word_frequency


def _is_english(word: str) -> bool:
    return word in _english()


def edits(word: str) -> set[str]:
    """Every spelling one edit away (Damerau: a swap of neighbours counts as one)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changes = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return (deletes | swaps | changes | inserts) - {word}
