"""Pure helpers behind the pages: periods, highlighting, LaTeX text, BibTeX."""

from datetime import date

import pytest

from paperfeed.models import Paper
from paperfeed.web.periods import BadPeriod, parse_period, period_of
from paperfeed.web.render import bibtex, highlight, tex_text


@pytest.mark.parametrize("kind,slug,start,end", [
    ("date", "2025-03-18", date(2025, 3, 18), date(2025, 3, 18)),
    ("week", "2025-W12", date(2025, 3, 17), date(2025, 3, 23)),
    ("week", "2026-W01", date(2025, 12, 29), date(2026, 1, 4)),
    ("month", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("month", "2025-12", date(2025, 12, 1), date(2025, 12, 31)),
])
def test_periods_round_trip(kind, slug, start, end):
    period = parse_period(kind, slug)
    assert (period.start, period.end, period.slug) == (start, end, slug)
    assert period_of(kind, end) == period


@pytest.mark.parametrize("kind,slug", [("date", "2025-13-45"), ("date", "2025-3-1"), ("week", "2025-W54"),
                                       ("week", "2025-12"), ("month", "2025-13"), ("month", "x"), ("year", "2025")])
def test_bad_periods_raise(kind, slug):
    with pytest.raises(BadPeriod):
        parse_period(kind, slug)


def test_highlight_escapes_and_marks():
    out = str(highlight('Attention <script>alert(1)</script> & "attention" amp', "attention amp"))
    assert out == ('<mark>Attention</mark> &lt;script&gt;alert(1)&lt;/script&gt; &amp; '
                   '&#34;<mark>attention</mark>&#34; <mark>amp</mark>')
    assert str(highlight("a < b", "")) == "a &lt; b"


def test_tex_text_unescapes_only_outside_math():
    assert tex_text(r"a 40\% gain on $x\_1 + 5\%$ and \(a\_b\) for R\&D") == r"a 40% gain on $x\_1 + 5\%$ and \(a\_b\) for R&D"
    assert tex_text("plain") == "plain"


def test_bibtex_entry():
    paper = Paper(id="2503.11685", title="CORDIC {Is} All You Need", authors=[
        {"name": "Omkar Kokane", "last": "Kokane"}, {"name": "Adam Teman", "last": "Teman"}],
        primary_category="cs.AR", abs_url="https://arxiv.org/abs/2503.11685", announced_on=date(2025, 3, 18))
    text = bibtex(paper)
    assert text.startswith("@misc{kokane2025cordic,")
    assert "author        = {Omkar Kokane and Adam Teman}" in text
    assert r"title         = {CORDIC \{Is\} All You Need}" in text
    assert "eprint        = {2503.11685}" in text and "primaryClass  = {cs.AR}" in text


def _paper(title: str, *authors: dict, **extra) -> Paper:
    return Paper(id="2506.01234", title=title, authors=list(authors), primary_category="cs.CL",
                 announced_on=date(2025, 6, 2), **extra)


def test_bibtex_keeps_math_braces_and_escapes_a_bare_ampersand():
    text = bibtex(_paper(r"$\mathtt{[M]}$-Bench: Q&A and R\&D for {LLMs}", {"name": "Wei Zhu", "last": "Zhu"}))
    assert r"title         = {$\mathtt{[M]}$-Bench: Q\&A and R\&D for \{LLMs\}}" in text
    assert text.startswith("@misc{zhu2025bench,")


@pytest.mark.parametrize("author,key", [
    ({"name": "Balázs Szegedy", "last": "Balázs"}, "balazs2025"),
    ({"name": "Zoë Ng", "last": "Zoë"}, "zoe2025"),
    ({"name": r"Ng Andr\'e"}, "andre2025"),  # no "last": the name's last word, a LaTeX accent
])
def test_bibtex_keys_fold_accents_to_ascii(author, key):
    assert bibtex(_paper("Learning to Rank", author)).startswith(f"@misc{{{key}learning,")


def test_bibtex_fields_line_up():
    text = bibtex(_paper("Learning to Rank", {"name": "Ada Lovelace", "last": "Lovelace"}))
    lines = [line for line in text.splitlines()[1:-1]]
    assert len({line.index("=") for line in lines}) == 1
    assert "  archivePrefix = {arXiv}," in lines
