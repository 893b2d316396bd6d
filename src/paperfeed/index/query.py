"""Parse what a user types into the search box into terms, phrases and filters.

Grammar (forgiving: anything unrecognised is treated as plain words, never an error):
``"exact phrase"``, ``author:name`` or ``author:"Ada Lovelace"``, ``cat:cs.LG`` (or an
archive, ``cat:cs``), and plain words. Bare ``AND``/``OR``/``NOT`` and punctuation are
dropped; all plain words are OR-ed and ranked by BM25.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 2000  # longer input is cut here; the embedding model reads ~256 tokens anyway
MAX_TERMS = 64
OPERATORS = {"AND", "OR", "NOT"}
_TOKEN = re.compile(r'(\w+):"([^"]*)"?|(\w+):(\S+)|"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")
FILTER_FIELDS = {"author": "author", "authors": "author", "au": "author", "cat": "cat", "category": "cat"}


@dataclass
class ParsedQuery:
    words: list[str] = field(default_factory=list)  # plain words, in order
    phrases: list[list[str]] = field(default_factory=list)  # each a list of words
    authors: list[list[str]] = field(default_factory=list)  # each a name as words
    categories: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The free text, for the embedding model: words and phrases without operators."""
        return " ".join(self.words + [" ".join(p) for p in self.phrases])

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def is_empty(self) -> bool:
        return not (self.has_text or self.authors or self.categories)


def parse_query(raw: str) -> ParsedQuery:
    parsed = ParsedQuery()
    for m in _TOKEN.finditer(raw[:MAX_QUERY_CHARS]):
        fname, fquoted, fname2, fvalue, phrase, bare = m.groups()
        if fname is not None:
            _add_filter(parsed, fname, fquoted, bare_text=m.group(0))
        elif fname2 is not None:
            _add_filter(parsed, fname2, fvalue, bare_text=m.group(0))
        elif phrase is not None:
            words = _indexable(_WORD.findall(phrase))
            if len(words) > 1:
                parsed.phrases.append(words)
            else:
                parsed.words.extend(words)
        elif bare not in OPERATORS:
            parsed.words.extend(_WORD.findall(bare))
    parsed.words = parsed.words[:MAX_TERMS]
    parsed.phrases = parsed.phrases[:8]
    return parsed


def _add_filter(parsed: ParsedQuery, name: str, value: str, bare_text: str) -> None:
    kind = FILTER_FIELDS.get(name.lower())
    if kind == "cat" and value.strip():
        parsed.categories.append(value.strip().lower())
    elif kind == "author":
        words = _indexable(_WORD.findall(value))
        if words:  # "author:_" names nobody: dropped rather than searched as the word "author"
            parsed.authors.append(words)
    else:  # "foo:bar" that is not a filter, e.g. "arXiv:2501.00001": plain words
        parsed.words.extend(_WORD.findall(bare_text))


def _indexable(words: list[str]) -> list[str]:
    """The words the keyword index can hold. Its analyzer drops some that \\w matches ("_",
    tokens over 40 bytes), and a phrase or author of no terms made tantivy raise ("words must
    not be empty"), a 500. Asking the analyzer itself keeps the two from drifting apart."""
    from paperfeed.index.keyword import analyze_words  # tantivy loads only when searching

    return [w for w in words if analyze_words(w)]
