"""The snapshot parser's hand-rolled fast paths agree with the shared normalisers."""

import gzip
from pathlib import Path

import orjson
import pytest

from paperfeed.ingest.normalize import clean_text, extract_project_page, split_author_string
from paperfeed.ingest.snapshot import parse_snapshot_object, squash

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


with gzip.open(Path(__file__).parent.parent / "demo" / "arxiv-snapshot-sample.jsonl.gz") as _sample:
    FIRST_PAPER = _sample.readline()


def test_hyphenated_initials_stay_joined():
    obj = orjson.loads(FIRST_PAPER)  # 0704.0001: authors_parsed has ["Yuan", "C. -P.", ""]
    names = [a.name for a in parse_snapshot_object(obj).authors]
    assert names[-1] == "C.-P. Yuan" and parse_snapshot_object(obj).authors[-1].first == "C.-P."
    del obj["authors_parsed"]
    obj["authors"] = "S. -M. Niemi and P.-A. Duc"
    assert [a.name for a in parse_snapshot_object(obj).authors] == ["S.-M. Niemi", "P.-A. Duc"]


def test_a_bare_colon_is_not_an_author():
    assert split_author_string("Essential AI, :, Darsh J Shah, Ashish Vaswani") == [
        "Essential AI", "Darsh J Shah", "Ashish Vaswani"]
    obj = orjson.loads(FIRST_PAPER)
    obj["authors_parsed"] = [["AI", "Essential", ""], [":", "", ""], ["Shah", "Darsh J", ""]]
    assert [a.name for a in parse_snapshot_object(obj).authors] == ["Essential AI", "Darsh J Shah"]


@pytest.mark.parametrize("comments,url", [
    ("12 pages. Project page: https://vid.github.io/demo/", "https://vid.github.io/demo/"),
    ("Project: https://example.org/p.", "https://example.org/p"),
    ("CVPR 2026; see our project website at http://lab.example.edu/x, code soon", "http://lab.example.edu/x"),
    (r"Project page is available at \url{https://a.example.com/b}", "https://a.example.com/b"),
    ("Project page: javascript:alert(1)", None),
    ("Code: https://example.org/c", None),  # a link that is not called a project page
    ("Part of the XYZ project, 10 pages", None),
    (None, None),
])
def test_project_page_comes_from_the_comments(comments, url):
    assert extract_project_page(comments) == url
    obj = orjson.loads(FIRST_PAPER)
    obj["comments"] = comments
    assert parse_snapshot_object(obj).project_page == url
