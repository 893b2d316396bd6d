"""Mark the words of a text that match the query's (stemmed) terms, HTML-escaped."""

from __future__ import annotations

import html
import re
from functools import lru_cache

from paperfeed.index.keyword import analyze_words

_SPLIT = re.compile(r"(\w+)")
SNIPPET_CHARS = 320


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    terms = analyze_words(word)
    return terms[0] if terms else ""


def query_terms(text: str) -> frozenset[str]:
    return frozenset(analyze_words(text))


def highlight(text: str, terms: frozenset[str], snippet: bool = False) -> str:
    """``text`` escaped, with <mark> around matching words; ``snippet`` cuts a window
    of about SNIPPET_CHARS starting just before the first match."""
    parts = _SPLIT.split(text)
    marked = [i % 2 == 1 and _stem(p) in terms for i, p in enumerate(parts)]
    start, end = 0, len(parts)
    if snippet:
        first = marked.index(True) if any(marked) else 0
        start = max(0, first - 12)
        end, length = start, 0
        while end < len(parts) and length < SNIPPET_CHARS:
            length += len(parts[end])
            end += 1
    body = "".join(f"<mark>{html.escape(parts[i])}</mark>" if marked[i] else html.escape(parts[i])
                   for i in range(start, end))
    return ("… " if start > 0 else "") + body.strip() + (" …" if end < len(parts) else "")
