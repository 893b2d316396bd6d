import pytest

from paperfeed.ingest.normalize import extract_code_urls, parse_author_name, split_author_string
from paperfeed.records import MalformedRecord, parse_arxiv_reference, split_version


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Code is available at https://github.com/foo/bar.", ["https://github.com/foo/bar"]),
        ("code: \\url{https://github.com/foo/bar}}", ["https://github.com/foo/bar"]),
        ("see (https://github.com/a/b), and https://gitlab.com/c/d.git;", ["https://github.com/a/b", "https://gitlab.com/c/d"]),
        ("https://github.com/foo/bar/tree/main/src and again https://github.com/foo/bar", ["https://github.com/foo/bar"]),
        ("http://www.github.com/Org/Repo-1_x.", ["https://github.com/Org/Repo-1_x"]),
        ("only a profile https://github.com/someone", []),
        ("no links here", []),
    ],
)
def test_extract_code_urls(text, expected):
    assert extract_code_urls(text) == expected


def test_code_urls_from_abstract_and_comments_are_deduplicated():
    assert extract_code_urls("at https://github.com/x/y", "repo https://github.com/x/y.") == ["https://github.com/x/y"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2401.01234", ("2401.01234", None)),
        ("2401.01234v3", ("2401.01234", 3)),
        ("arXiv:2401.01234v2", ("2401.01234", 2)),
        ("https://arxiv.org/abs/2401.01234v2", ("2401.01234", 2)),
        ("https://arxiv.org/pdf/2401.01234.pdf", ("2401.01234", None)),
        ("https://arxiv.org/pdf/2401.01234v5", ("2401.01234", 5)),
        ("hep-th/9901001v1", ("hep-th/9901001", 1)),
        ("https://arxiv.org/abs/math.GT/0309136", ("math.GT/0309136", None)),
    ],
)
def test_parse_arxiv_reference(raw, expected):
    assert parse_arxiv_reference(raw) == expected


@pytest.mark.parametrize("raw", ["", "hello", "https://example.com/abs/1", "2401.012"])
def test_parse_arxiv_reference_rejects_junk(raw):
    with pytest.raises(MalformedRecord):
        parse_arxiv_reference(raw)


def test_split_version_leaves_non_arxiv_ids_alone():
    assert split_version("scifact-12v2") == ("scifact-12v2", None)


def test_author_parsing():
    assert split_author_string("A. One, B. Two and C. Three (MIT)") == ["A. One", "B. Two", "C. Three"]
    author = parse_author_name("Martin Luther King Jr.")
    assert (author.last, author.first, author.suffix) == ("King", "Martin Luther", "Jr.")
