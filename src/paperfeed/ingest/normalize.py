"""The small normalisers every parser shares: text, code links, authors."""

from __future__ import annotations

import re

from paperfeed.ingest.reading import MAX_RAW_TEXT
from paperfeed.links import is_safe_url
from paperfeed.records import Author, MalformedRecord

# --- text --------------------------------------------------------------------


def clean_text(value: str | None) -> str:
    """Collapse arXiv's hard line breaks and leading indentation into single spaces."""
    if not value:
        return ""
    check_raw_text(value)
    # str.split() splits on exactly the characters re's \s matches, and is ~5x faster.
    return " ".join(value.split())


def check_raw_text(value) -> None:
    """Refuse a text field that is not text, or so long that no limit could accept it,
    before splitting it into words builds a list many times its size."""
    if type(value) is not str:
        raise MalformedRecord(f"expected text, got {type(value).__name__}: {value!r:.80}")
    if len(value) > MAX_RAW_TEXT:
        raise MalformedRecord(f"text field too long: {len(value)} characters (limit {MAX_RAW_TEXT})")


def clean_optional(value: str | None) -> str | None:
    cleaned = clean_text(value)
    return cleaned or None


# --- code links --------------------------------------------------------------

_CODE_URL = re.compile(r"https?://(?:www\.)?(?:github\.com|gitlab\.com)/[^\s\"'<>()\[\]{}]+", re.I)
_TRAILING = ".,;:!?)]}>'\"\\"


def extract_code_urls(*texts: str | None) -> list[str]:
    """GitHub/GitLab repository URLs mentioned in abstracts and comments, in order, deduplicated.

    Abstracts often end "Code is available at https://github.com/x/y." or wrap the URL in
    LaTeX braces, so trailing punctuation and braces are stripped, and the URL is cut to
    the owner/repo part.
    """
    found: dict[str, None] = {}  # ordered, and a long abstract's many links dedupe in linear time
    for text in texts:
        if not text:
            continue
        joined = re.sub(r"(github\.com|gitlab\.com)/\s+", r"\1/", text)
        for match in _CODE_URL.finditer(joined):
            url = _normalise_repo_url(match.group(0))
            if url:
                found[url] = None
    return list(found)


def _normalise_repo_url(url: str) -> str | None:
    url = url.rstrip(_TRAILING)
    url = re.sub(r"^http://", "https://", url, flags=re.I)
    url = re.sub(r"^https://www\.", "https://", url, flags=re.I)
    parts = url.split("/")
    # https: '' host owner repo ...
    if len(parts) < 5 or not parts[3] or not parts[4]:
        return None
    host = parts[2].lower()
    repo = parts[4].rstrip(_TRAILING)
    if repo.endswith(".git"):
        repo = repo[:-4]
    if not repo:
        return None
    return f"https://{host}/{parts[3]}/{repo}"


# --- project pages -----------------------------------------------------------

# "Project page: URL", "Project: URL", "project website at URL", "Project page is available
# at \url{URL}": the words before the URL decide, so a bare link in a comment is not taken.
_PROJECT_PAGE = re.compile(
    r"\bproject(?:[ -]?(?:page|website|site|homepage|webpage))?\s*"
    r"(?::|(?:is\s+)?(?:available\s+|hosted\s+)?(?:at|on)\b)\s*(?:\\url\{\s*)?(https?://[^\s\"'<>{}]+)",
    re.I)


def extract_project_page(comments: str | None) -> str | None:
    """The project page an arXiv comment names, if it is a safe http(s) URL."""
    if not comments or "project" not in comments.lower():
        return None
    for match in _PROJECT_PAGE.finditer(comments):
        url = match.group(1).rstrip(_TRAILING)
        if is_safe_url(url):
            return url
    return None


# --- authors -----------------------------------------------------------------

_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}


def split_author_string(authors: str) -> list[str]:
    """'A, B and C' -> ['A', 'B', 'C'] (arXiv's author line)."""
    text = clean_text(authors)
    text = re.sub(r"\([^()]*\)", "", text)  # affiliations in parentheses
    parts = re.split(r",\s*|\s+and\s+", text)
    # A part without a letter or digit is a separator, not a person ("Essential AI, :, ...").
    return [p.strip() for p in parts if _NAMED.search(p)]


_NAMED = re.compile(r"\w")
_SPLIT_INITIALS = re.compile(r"(\w\.)\s+-(?=\w)")


def join_initials(name: str) -> str:
    """arXiv's authors_parsed splits hyphenated initials: 'C. -P.' is 'C.-P.'. Anything but
    text is left for the record check to refuse."""
    return _SPLIT_INITIALS.sub(r"\1-", name) if type(name) is str and " -" in name else name


def parse_author_name(name: str) -> Author:
    """'Ada B. Lovelace Jr.' -> Author(last='Lovelace', first='Ada B.', suffix='Jr.')."""
    name = join_initials(clean_text(name))
    tokens = name.split()
    suffix = ""
    if len(tokens) > 1 and tokens[-1].lower() in _SUFFIXES:
        suffix = tokens.pop()
    if not tokens:
        return Author(name=name)
    return Author(name=name, last=tokens[-1], first=" ".join(tokens[:-1]), suffix=suffix)


def authors_from_parsed(parsed: list[list[str]]) -> list[Author]:
    """From the snapshot's authors_parsed triples [last, first, suffix]."""
    out = []
    for triple in parsed:
        last, first, suffix = (list(triple) + ["", "", ""])[:3]
        first = join_initials(first)
        name = " ".join(p for p in (first, last, suffix) if p).strip()
        if _NAMED.search(name):  # [":", "", ""] is a separator, not a person
            out.append(Author(name=name, last=last, first=first, suffix=suffix))
    return out
