"""The digest MIME is assembled by hand for speed; it must parse back exactly."""

from datetime import date

import pytest

from paperfeed.config import Settings
from paperfeed.digest.choose import Candidate
from paperfeed.digest.pool import period_for
from paperfeed.digest.render import Recipient, alternative_mime, render_digest

SETTINGS = Settings(secret_key="k", base_url="https://papers.example.org", mail_from="Ünïcode <d@papers.example.org>")


def cand(pk: int, title: str, abstract: str) -> Candidate:
    return Candidate(pk=pk, id=f"2611.{pk:05d}", title=title, authors=["Kurt Gödel"], abstract=abstract, upvotes=1,
                     categories=["math.LO"], abs_url=f"https://arxiv.org/abs/2611.{pk:05d}", code_url=None)


def test_parts_round_trip_through_a_mail_parser():
    abstract = ("We prove that x = y ⇒ f(x) = f(y) for all ε > 0, " * 12).strip()
    papers = [cand(1, "On <b>formally</b> undecidable propositions = 1 ", abstract), cand(2, "Ω-logic", "Short.")]
    mail = render_digest(SETTINGS, period_for("daily", date(2026, 11, 26)), Recipient(7, "r@example.org"), papers)
    assert all(len(line) <= 998 for line in mail.data.split(b"\r\n"))
    assert b"\n" not in mail.data.replace(b"\r\n", b"")
    msg = mail.message()
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "1. On <b>formally</b> undecidable propositions = 1" in text and "2. Ω-logic" in text
    assert "On &lt;b&gt;formally&lt;/b&gt;" in html and "Kurt Gödel" in html
    assert "We prove that x = y ⇒ f(x) = f(y) for all ε > 0" in text
    assert msg["From"] == "Ünïcode <d@papers.example.org>"
    assert msg["Subject"] == "Trending papers, 26 Nov 2026"
    assert msg["Message-ID"] == "<digest.daily.2026-11-26.7@papers.example.org>"


def test_line_breaks_in_header_values_are_refused():
    with pytest.raises(ValueError, match="To"):
        alternative_mime([("To", "a@example.org\r\nBcc: b@example.org")], b"", b"")
