"""Parse what a user types into the search box into terms, phrases and filters.

Grammar (forgiving: anything unrecognised is treated as plain words, never an error):
``"exact phrase"``, ``author:name`` or ``author:"Ada Lovelace"``, ``cat:cs.LG`` (or an
archive, ``cat:cs``), ``-word``, ``-"phrase"``, ``-author:name``, ``-cat:cs.CV`` or
``NOT word`` to exclude, an arXiv id
(``2401.01234``, ``arXiv:2401.01234v2``, an abs/pdf URL) to look that paper up, and plain
words. Bare ``AND``/``OR`` and punctuation are dropped; all plain words are OR-ed and
ranked by BM25. A quote left open searches its words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 2000  # longer input is cut here; the embedding model reads ~256 tokens anyway
MAX_TERMS = 64
OPERATORS = {"AND", "OR", "NOT"}
_TOKEN = re.compile(r'(-?)(?:(\w+):("[^"]*"?)|(\w+):(\S*)|("[^"]*"?)|(\S+))')
_WORD = re.compile(r"\w+")
FILTER_FIELDS = {"author": "author", "authors": "author", "au": "author", "cat": "cat", "category": "cat"}


@dataclass
class ParsedQuery:
    words: list[str] = field(default_factory=list)  # plain words, in order
    phrases: list[list[str]] = field(default_factory=list)  # each a list of words
    authors: list[list[str]] = field(default_factory=list)  # each a name as words
    categories: list[str] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)  # words or phrases no result may hold
    excluded_authors: list[list[str]] = field(default_factory=list)  # -author:name
    excluded_categories: list[str] = field(default_factory=list)  # -cat:cs.CV
    ids: list[str] = field(default_factory=list)  # arXiv ids typed or pasted: looked up directly

    @property
    def text(self) -> str:
        """The free text, for the embedding model: words and phrases without operators."""
        return " ".join(self.words + [" ".join(p) for p in self.phrases])

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def is_empty(self) -> bool:
        return not (self.has_text or self.authors or self.categories or self.ids)


def parse_query(raw: str) -> ParsedQuery:
    parsed = ParsedQuery()
    negate_next = False
    for m in _TOKEN.finditer(raw[:MAX_QUERY_CHARS]):
        minus, fname, fquoted, fname2, fvalue, quoted, bare = m.groups()
        token = m.group(0)[len(minus):]
        if bare == "NOT":
            negate_next = True
            continue
        negate, negate_next = bool(minus) or negate_next, False
        if negate and (fname or fname2) and FILTER_FIELDS.get((fname or fname2).lower()):
            _add_excluded_filter(parsed, fname or fname2, _unquote(fquoted) if fname else fvalue)
        elif negate:
            _add_excluded(parsed, token)
        elif fname is not None:
            _add_filter(parsed, fname, _unquote(fquoted), bare_text=token)
        elif fname2 is not None:
            _add_filter(parsed, fname2, fvalue, bare_text=token)
        elif quoted is not None:
            _add_quoted(parsed, quoted)
        elif bare not in OPERATORS:
            _add_bare(parsed, bare)
    parsed.words = parsed.words[:MAX_TERMS]
    parsed.phrases = parsed.phrases[:8]
    parsed.excluded = parsed.excluded[:MAX_TERMS]
    return parsed


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]


def _add_quoted(parsed: ParsedQuery, quoted: str) -> None:
    """A closed quote is a phrase; an open one (``"sparse att``) only words, since a phrase
    cut off mid-word would match nothing."""
    words = _indexable(_WORD.findall(quoted))
    if len(words) > 1 and len(quoted) > 1 and quoted.endswith('"'):
        parsed.phrases.append(words)
    else:
        parsed.words.extend(words)


def _add_bare(parsed: ParsedQuery, text: str) -> None:
    arxiv_id = arxiv_id_in(text)
    if arxiv_id:
        parsed.ids.append(arxiv_id)
    else:
        parsed.words.extend(_WORD.findall(text))


def _add_excluded(parsed: ParsedQuery, token: str) -> None:
    words = _indexable(_WORD.findall(token))
    if words:  # "-" alone, or "-_", excludes nothing
        parsed.excluded.append(words)


def _add_excluded_filter(parsed: ParsedQuery, name: str, value: str) -> None:
    scratch = ParsedQuery()
    _add_filter(scratch, name, value, bare_text="")
    parsed.excluded_authors += scratch.authors
    parsed.excluded_categories += scratch.categories


def arxiv_id_in(text: str) -> str | None:
    """The arXiv id ``text`` is (2401.01234, arXiv:2401.01234v2, an abs/pdf URL), if it is one."""
    from paperfeed.records import MalformedRecord, parse_arxiv_reference

    try:
        return parse_arxiv_reference(text)[0]
    except MalformedRecord:
        return None


def _add_filter(parsed: ParsedQuery, name: str, value: str, bare_text: str) -> None:
    kind = FILTER_FIELDS.get(name.lower())
    if kind is None:  # "foo:bar" that is not a filter: "arXiv:2501.00001", a URL, or plain words
        _add_bare(parsed, bare_text)
    elif kind == "cat" and value.strip():
        parsed.categories.append(value.strip().lower())
    elif kind == "author":
        words = _indexable(_WORD.findall(value))
        if words:  # "author:" or "author:_" names nobody: dropped, not searched as the word
            parsed.authors.append(words)  # "author" (which stems to match "Authorize")


def _indexable(words: list[str]) -> list[str]:
    """The words the keyword index can hold. Its analyzer drops some that \\w matches ("_",
    tokens over 40 bytes), and a phrase or author of no terms made tantivy raise ("words must
    not be empty"), a 500. Asking the analyzer itself keeps the two from drifting apart."""
    from paperfeed.index.keyword import (
        analyze_words,  # tantivy loads only when searching
    )

    return [w for w in words if analyze_words(w)]
