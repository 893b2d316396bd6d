"""Text helpers for templates, API and feeds: highlighting, BibTeX, author lines."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timezone

from markupsafe import Markup, escape

from paperfeed.links import author_path, paper_path, safe_href
from paperfeed.models import Paper
from paperfeed.records import arxiv_urls
from paperfeed.records.authors import author_key

_TERM = re.compile(r"[\w][\w\-']*", re.UNICODE)


def query_terms(query: str) -> list[str]:
    """Words worth highlighting: no operators, no one-letter noise, longest first."""
    words = {w.lower() for w in _TERM.findall(query) if len(w) > 1 and w.upper() not in ("AND", "OR", "NOT")}
    return sorted(words, key=len, reverse=True)


def highlight(text: str, query: str) -> Markup:
    """``text`` HTML-escaped, with <mark> around every query term (case-insensitive).

    The text is split on the terms first and each piece escaped on its own, so a term can
    never match inside an entity that escaping produced.
    """
    terms = query_terms(query)
    if not terms or not text:
        return escape(text or "")
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")", re.IGNORECASE)
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[last:m.start()])))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


_MATH = re.compile(r"(\$\$.+?\$\$|\$[^$]+\$|\\\(.+?\\\)|\\\[.+?\\\])", re.S)
_TEXT_ESCAPES = re.compile(r"\\([%&_#])")


def tex_text(text: str) -> str:
    """Undo LaTeX's escapes of % & _ # outside math ("40\\%" -> "40%"); math stays for KaTeX."""
    if not text or "\\" not in text:
        return text or ""
    parts = _MATH.split(text)
    return "".join(p if i % 2 else _TEXT_ESCAPES.sub(r"\1", p) for i, p in enumerate(parts))


def author_line(paper: Paper, shown: int = 3) -> str:
    names = paper.author_names
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + ", et al."


def author_links(paper: Paper, shown: int = 3) -> Markup:
    """Author names as links to their pages (all of them when ``shown`` is 0); a name with
    no letters to match on stays plain text."""
    names = paper.author_names
    cut = shown and len(names) > shown
    parts = [_author_link(name) for name in (names[:shown] if cut else names)]
    return Markup(", ").join(parts) + (Markup(", et al.") if cut else Markup(""))


def _author_link(name: str) -> Markup:
    if author_key(name) is None:
        return escape(name)
    return Markup('<a class="author-link" href="{}">{}</a>').format(author_path(name), name)


def author_count(paper: Paper) -> str:
    n = len(paper.authors)
    return f"{n} author" if n == 1 else f"{n} authors"


def as_utc(value: date | datetime | None) -> datetime | None:
    """Naive UTC datetimes and plain dates from the store as aware UTC datetimes."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0))
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def iso_z(value: date | datetime | None) -> str | None:
    """HF's timestamp style: 2026-05-30T00:00:00.000Z."""
    aware = as_utc(value)
    if aware is None:
        return None
    return aware.strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}Z"


def bibtex(paper: Paper) -> str:
    """A @misc entry in arXiv's own style."""
    year = paper.published.year if paper.published else ""
    fields = [
        ("title", _bib_escape(paper.title)),
        ("author", " and ".join(_bib_escape(n) for n in paper.author_names)),
        ("year", str(year)),
    ]
    if _looks_like_arxiv(paper):
        fields += [("eprint", paper.id), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", paper.primary_category))
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.abs_url:
        fields.append(("url", paper.abs_url))
    fields = [(name, value) for name, value in fields if value]
    width = max(len(name) for name, _ in fields) + 1
    body = ",\n".join(f"  {name.ljust(width)}= {{{value}}}" for name, value in fields)
    return f"@misc{{{bib_key(paper, year)},\n{body}\n}}"


_MACRO = re.compile(r"\\(?:[A-Za-z]+|[^A-Za-z])")


def ascii_fold(text: str) -> str:
    """Plain lower-case ASCII letters and digits: LaTeX accent macros and Unicode accents
    fold to their base letter (Bal\\'azs and Balázs both give balazs)."""
    text = unicodedata.normalize("NFKD", _MACRO.sub("", text))
    return re.sub(r"[^a-z0-9]", "", text.encode("ascii", "ignore").decode().lower())


def bib_key(paper: Paper, year: object) -> str:
    """lastname + year + first real word of the title, as arXiv and Google Scholar do; math
    and macros are skipped, so $\\mathtt{M}$-Bench gives "bench", not "mathtt"."""
    first = paper.authors[0] if paper.authors else {}
    last = ascii_fold(first.get("last") or (first.get("name") or "").split(" ")[-1]) or "anon"
    words = (ascii_fold(w) for w in re.split(r"[\s\-/:]+", _MACRO.sub(" ", _MATH.sub(" ", paper.title))))
    word = next((w for w in words if len(w) > 3 and w.isalpha()), "paper")
    return f"{last}{year}{word}"


_BARE_SPECIAL = re.compile(r"(?<!\\)([{}&%#])")  # not already escaped


def _bib_escape(text: str) -> str:
    """Braces and specials escaped in text; math passed through as LaTeX, whose braces are
    grouping (unless unbalanced, which would break the entry)."""
    parts = _MATH.split(re.sub(r"\s+", " ", text).strip())
    return "".join(p if i % 2 and _balanced(p) else _escape_text(p) for i, p in enumerate(parts))


def _escape_text(text: str) -> str:
    return _BARE_SPECIAL.sub(r"\\\1", text)


def _balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _looks_like_arxiv(paper: Paper) -> bool:
    from paperfeed.records import is_arxiv_id

    return is_arxiv_id(paper.id)


def arxiv_links(paper: Paper) -> tuple[str | None, str | None]:
    """The abstract and PDF links; arXiv ids get them even when a source left them out.
    Anything but an http(s) URL is dropped (see links.safe_href)."""
    abs_url, pdf_url = paper.abs_url, paper.pdf_url
    if _looks_like_arxiv(paper):
        default_abs, default_pdf = arxiv_urls(paper.id)
        abs_url, pdf_url = abs_url or default_abs, pdf_url or default_pdf
    return safe_href(abs_url), safe_href(pdf_url)


def plain_snippet(text: str, limit: int = 300) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def install_filters(env) -> None:
    env.filters["highlight"] = highlight
    env.filters["author_line"] = author_line
    env.filters["author_count"] = author_count
    env.filters["author_links"] = author_links
    env.filters["author_link"] = _author_link
    env.filters["author_path"] = author_path
    env.filters["snippet"] = plain_snippet
    env.filters["tex_text"] = tex_text
    env.filters["safe_href"] = safe_href
    env.filters["paper_path"] = paper_path
    env.globals["arxiv_links"] = arxiv_links
    env.globals["bibtex"] = bibtex


def paper_as_markdown(paper: Paper) -> str:
    """Title, authors, links and abstract as Markdown; math stays as the authors wrote it."""
    abs_url, pdf_url = arxiv_links(paper)
    links = [f"[{name}]({url})" for name, url in (("arXiv", abs_url), ("PDF", pdf_url),
                                                  ("Code", safe_href(paper.code_url)),
                                                  ("Project page", safe_href(paper.project_page))) if url]
    lines = [f"# {paper.title}", "", "**Authors:** " + ", ".join(paper.author_names), ""]
    if links:
        lines += [" · ".join(links), ""]
    lines += ["## Abstract", "", paper.abstract, ""]
    return "\n".join(lines)
