"""The snapshot parser's hand-rolled fast paths agree with the shared normalisers."""

import gzip
from pathlib import Path

import orjson
import pytest

from paperfeed.ingest.normalize import clean_text
from paperfeed.ingest.snapshot import squash

DEMO = Path(__file__).parents[1] / "demo"

TRICKY = [
    "  leading and trailing  ", "\nnew\nlines\n", "tab\there", "crlf\r\nline", "double  space",
    "nbsp\u00a0inside", "thin\u2009space", "ideographic\u3000space", "separator\x1cchar", "line\u2028sep",
    "zero\u200bwidth", "soft\u00adhyphen", "plain words only", "unicode ünïcødé words", "\n  indented\n  lines",
    " ", "\n", "x",
]


@pytest.mark.parametrize("text", TRICKY)
def test_squash_matches_clean_text(text):
    assert squash(text) == clean_text(text)


def test_squash_matches_clean_text_on_every_demo_abstract():
    with gzip.open(DEMO / "arxiv-listing-2025-03_2026-07.jsonl.gz", "rb") as lines:
        for line in lines:
            obj = orjson.loads(line)
            for key in ("title", "abstract", "comments"):
                if obj.get(key):
                    assert squash(obj[key]) == clean_text(obj[key]), obj["id"]
