"""Turning data into URLs safely: links from imported data, and paper ids in paths.

One check for every layer: imports drop what ``is_safe_url`` refuses, and pages, feeds,
digests and the API check again with ``safe_href`` when they render.

Imported records are validated at import, but pages check again when they render: a row
stored before that validation existed, or written by another tool, must still never put
``javascript:`` (or any other scheme) into an ``href``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

WEB_SCHEMES = ("http", "https")
ARXIV_ABS, ARXIV_PDF = "https://arxiv.org/abs/", "https://arxiv.org/pdf/"  # + a paper id: its arXiv pages
MAX_URL = 2_048
# The host part admits no backslash (browsers read one as "/", which would move the host);
# the path may keep one (LaTeX abstracts write "github.com/a/b\\_c").
_HTTP_URL = re.compile(r"https?://[^/?#\\\s\"'<>`\x00-\x1f\x7f-\x9f]+(?:[/?#][^\s\"'<>`\x00-\x1f\x7f-\x9f]*)?",
                       re.I)


def safe_href(url: object) -> str | None:
    """``url`` if ``is_safe_url`` accepts it, else None: what templates put in an ``href``."""
    return url if is_safe_url(url) else None


def is_safe_url(value) -> bool:
    """Whether ``value`` is an absolute http(s) URL that is safe to put in an ``href``.

    Anything else (``javascript:``, ``data:``, a relative path, text with spaces, quotes
    or control characters a browser would strip) is refused."""
    if type(value) is not str or len(value) > MAX_URL or _HTTP_URL.fullmatch(value) is None:
        return False
    try:  # the pattern admits hosts that no URL parser would, e.g. an unbalanced "["
        return bool(urlsplit(value).hostname)
    except ValueError:
        return False


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


def author_path(name: str) -> str:
    """The site path of an author's page, ``/authors/<name>``, the name encoded whole
    (a slash or ``?`` in a name stays part of it; a bare ``.``/``..`` cannot climb)."""
    encoded = quote(name.strip(), safe="")
    return "/authors/" + (encoded.replace(".", "%2E") if set(encoded) <= {"."} else encoded)
