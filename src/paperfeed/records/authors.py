"""Author names as keys: what `/authors/{name}`, following and the author table match on.

The rule, chosen so the common variants of one person's name meet and little else does:
accents are folded ("García" -> "garcia"), case and punctuation dropped, generational
suffixes (Jr., III) ignored; the key is the last word of the name plus the first letter of
the first word: "José A. García", "J. Garcia" and "Jose Garcia" are all ``garcia j``.
Names are not disambiguated: two people called J. Garcia share a page.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

UNDATED = datetime(1900, 1, 1)  # papers with no date at all sort after every dated one
MAX_NAME = 300  # longer "names" (a collaboration's member list pasted as one) are cut
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """Lower case without accents: "Šimánek" -> "simanek" (ß and ł fold too)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.replace("ł", "l").replace("ø", "o").replace("đ", "d")


@lru_cache(maxsize=65536)  # an import meets the same names again and again
def author_key(name: str) -> str | None:
    """``"<last> <first initial>"`` for a name, or None when it has no letters at all.

    Hyphens join a double-barrelled name into one word ("Jean-Luc" -> "jeanluc"), so a
    hyphenated last name stays one last name."""
    words = _WORD.findall(fold(name[:MAX_NAME]).replace("-", "").replace("'", "").replace("’", ""))
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    if not words:
        return None
    last = words[-1][:100]
    return f"{last} {words[0][0]}" if len(words) > 1 else last


def author_keys(authors: list) -> list[tuple[int, str, str]]:
    """(position, key, name) for a paper's author list (dicts with a "name", as stored),
    each key once: a paper with two "J. Smith"s is one paper for that page."""
    out, seen = [], set()
    for position, author in enumerate(authors or []):
        name = (author.get("name") if isinstance(author, dict) else str(author)) or ""
        key = author_key(name)
        if key and key not in seen:
            seen.add(key)
            out.append((position, key, name.strip()[:MAX_NAME]))
    return out


def published_at(submitted, announced) -> datetime:
    """The time an author page sorts a paper by: first submission, else the day it was
    announced. Takes stored values in either form (datetimes and dates, or SQLite's text)."""
    for value in (submitted, announced):
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str) and value:
            return datetime.fromisoformat(value)
    return UNDATED
