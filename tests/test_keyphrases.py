"""Key phrases extracted from real abstracts (index/keyphrases.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from paperfeed.index.keyphrases import MAX_KEYWORDS, MIN_KEYWORDS, extract_keywords, normal_phrase

FIXTURES = Path(__file__).parent / "fixtures"


def hf_papers() -> list[dict]:
    path = FIXTURES / "hf_daily_papers" / "sotawhat_hf_daily_papers_2026-06-12.json"
    return [item["paper"] for item in json.loads(path.read_text())]


def listing_papers() -> list[dict]:
    lines = (FIXTURES / "search" / "listing-200.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_every_real_abstract_gets_five_to_eight_phrases_from_its_text():
    for rec in listing_papers():
        phrases = extract_keywords(rec["title"], rec["abstract"])
        assert MIN_KEYWORDS <= len(phrases) <= MAX_KEYWORDS, (rec["id"], phrases)
        text = normal_phrase(" ".join(re.findall(r"[\w'-]+", f"{rec['title']} {rec['abstract']}")))
        for phrase in phrases:
            words = normal_phrase(phrase)
            assert any(text[i:i + len(words)] == words for i in range(len(text))), (rec["id"], phrase)


def test_phrases_are_distinct_and_never_bare_function_words():
    for rec in listing_papers()[:50]:
        phrases = extract_keywords(rec["title"], rec["abstract"])
        keys = [normal_phrase(p) for p in phrases]
        assert len(set(keys)) == len(keys)
        assert not any(k in {("the",), ("we",), ("paper",), ("propose",), ("results",)} for k in keys)


def test_finds_the_terms_hugging_face_names_for_a_paper():
    paper = next(p for p in hf_papers() if p["id"] == "2606.13594")
    phrases = [p.lower() for p in extract_keywords(paper["title"], paper["summary"])]
    assert "kv-cache communication" in phrases
    assert "heterogeneous agents" in phrases


def test_acronyms_keep_their_case_and_sentence_capitals_are_dropped():
    phrases = extract_keywords("Sparse Attention for Long Contexts",
                               "Sparse attention lets LLMs read long contexts. We train LLMs with sparse attention "
                               "on long contexts and measure KV-cache memory.")
    assert "sparse attention" in phrases
    assert any("KV-cache" in p for p in phrases)


def test_math_urls_and_empty_text_do_not_break_it():
    assert extract_keywords("", "") == []
    phrases = extract_keywords("Bounds for $(k,\\ell)$-sparse graphs",
                               "We prove $O(n^{2})$ bounds for sparse graphs; code at https://github.com/x/y.")
    assert all("$" not in p and "http" not in p and "github" not in p for p in phrases)
    assert "sparse graphs" in phrases


def test_same_input_same_output():
    rec = listing_papers()[0]
    assert extract_keywords(rec["title"], rec["abstract"]) == extract_keywords(rec["title"], rec["abstract"])
