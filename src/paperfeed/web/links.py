"""Turning data into URLs safely: links from imported data, and paper ids in paths.

Imported records are validated at import, but pages check again when they render: a row
stored before that validation existed, or written by another tool, must still never put
``javascript:`` (or any other scheme) into an ``href``.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

WEB_SCHEMES = ("http", "https")


def safe_href(url: object) -> str | None:
    """``url`` if it is an absolute http(s) URL with a host, else None.

    Control characters and whitespace are refused outright: browsers drop tabs and line
    breaks inside URLs, so ``java\\tscript:`` would otherwise slip past a scheme check."""
    if not isinstance(url, str) or not url or any(ch <= " " or ch == "\x7f" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return None
    return url


def safe_hrefs(urls: object) -> list[str]:
    return [u for u in (safe_href(x) for x in (urls or [])) if u] if isinstance(urls, (list, tuple)) else []


_DOT_SEGMENTS = {"", ".", ".."}


def id_path(paper_id: str) -> str:
    """A paper id as URL path text: each segment percent-encoded.

    Old arXiv ids keep their slash (``hep-th/9901001``), so their URLs stay as they were.
    An id with an empty, ``.`` or ``..`` segment is encoded whole (``/`` becomes ``%2F``):
    a browser resolves dot segments before sending (``%2E%2E`` counts as ``..`` too), so
    such an id must never appear as separate segments or a click on its upvote button
    could post to another route."""
    paper_id = str(paper_id)
    if not paper_id.strip("."):  # "", "." or "..": no encoding keeps a browser from resolving it
        return "%2F"  # a page that cannot exist (a 404), one segment deep
    segments = paper_id.split("/")
    if any(seg in _DOT_SEGMENTS for seg in segments):  # "%2e" in an id is quoted to "%252e": harmless
        return quote(paper_id, safe="")
    return "/".join(quote(seg, safe="") for seg in segments)


def paper_path(paper_id: str) -> str:
    """The site path of a paper's page, ``/papers/<id>``."""
    return f"/papers/{id_path(paper_id)}"
