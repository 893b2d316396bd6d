"""arXiv API Atom feeds, parsed from real recorded responses and imported into real databases."""

from datetime import datetime

import pytest

from conftest import FIXTURES
from paperfeed.ingest.atom import ArxivApiError, parse_atom_page
from paperfeed.ingest.importer import import_file
from paperfeed.records import MalformedRecord
from paperfeed.store.papers import get_paper

ATOM = FIXTURES / "arxiv_api_atom"
SEARCH_PAGE = ATOM / "q_testing_s0_m10_bc5a6c384fe9.atom.xml"


def records(page):
    return [item for _, item in page.items if not isinstance(item, MalformedRecord)]


def test_search_page_reads_opensearch_totals_and_every_field():
    page = parse_atom_page(SEARCH_PAGE.read_bytes())
    assert (page.total, page.start, page.per_page, len(page.items)) == (214881, 0, 10, 10)
    rec = records(page)[0]
    assert (rec.id, rec.version) == ("2202.12139", 1)
    assert rec.title == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    assert rec.abstract.startswith("Deep Learning (DL) has revolutionized")
    assert [a.name for a in rec.authors] == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert rec.authors[0].last == "Ahuja"
    assert rec.categories == ["cs.SE", "cs.LG"]  # primary first
    assert rec.submitted_at == datetime(2022, 2, 24, 15, 5, 19)
    assert rec.comments == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert rec.journal_ref.startswith("Artificial Intelligence in Software Testing @ 2022 IEEE")
    assert rec.doi == "10.1109/ICSTW55395.2022.00035"
    assert (rec.abs_url, rec.pdf_url) == ("https://arxiv.org/abs/2202.12139", "https://arxiv.org/pdf/2202.12139")
    assert rec.source == "api"


def test_later_versions_keep_both_dated_versions():
    page = parse_atom_page(SEARCH_PAGE.read_bytes())
    rec = next(r for r in records(page) if r.id == "2204.08348")
    assert rec.version == 3
    assert [v["version"] for v in rec.versions] == [1, 3]
    assert rec.updated_at > rec.submitted_at


def test_old_style_id_with_affiliated_authors():
    page = parse_atom_page((ATOM / "id_astro-ph_0601001_s0_m100_3150dca9dc76.atom.xml").read_bytes())
    (rec,) = records(page)
    assert (rec.id, rec.version, rec.categories) == ("astro-ph/0601001", 1, ["astro-ph"])
    assert rec.abs_url == "https://arxiv.org/abs/astro-ph/0601001"
    assert [a.name for a in rec.authors][:2] == ["Andrew Gould", "Susan Dorsher"]
    assert rec.journal_ref == "ActaAstron.56:1-50,2006"


def test_code_link_in_a_comment_is_found():
    page = parse_atom_page((ATOM / "q_testing_s40_m10_96dd32eb854c.atom.xml").read_bytes())
    rec = next(r for r in records(page) if r.id == "1706.00679")
    assert rec.code_urls == ["https://github.com/ydecastro/super-resolution-testing"]


def test_empty_result_has_no_items():
    page = parse_atom_page((ATOM / "id_0000.0000_s0_m100_8b51d9633a68.atom.xml").read_bytes())
    assert (page.total, page.items) == (0, [])


def test_error_feed_raises_with_arxivs_message():
    with pytest.raises(ArxivApiError, match="incorrect id format for abc"):
        parse_atom_page((ATOM / "id_abc_s0_m100_b79c8dcf6bc3.atom.xml").read_bytes())


def broken_third_entry(tmp_path):
    text = SEARCH_PAGE.read_text()
    entries = text.split("<entry>")
    entries[3] = entries[3].replace("</title>", "</titel>", 1)  # no longer well-formed XML
    path = tmp_path / "broken.atom.xml"
    path.write_text("<entry>".join(entries))
    return path


def test_broken_entry_is_skipped_and_the_rest_parse(tmp_path):
    page = parse_atom_page(broken_third_entry(tmp_path).read_bytes())
    assert page.total == 214881 and len(page.items) == 10
    where, error = page.items[2]
    assert where == "entry 3" and isinstance(error, MalformedRecord) and "not well-formed" in str(error)
    assert len(records(page)) == 9


def test_entry_without_title_is_reported():
    text = SEARCH_PAGE.read_text()
    first_title = "<title>Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques</title>"
    page = parse_atom_page(text.replace(first_title, "<title> </title>").encode())
    where, error = page.items[0]
    assert "2202.12139" in where and str(error) == "missing title"


def test_import_file_detects_atom_and_skips_the_broken_entry(db, tmp_path):
    report = import_file(db, broken_third_entry(tmp_path))
    assert (report.read, report.inserted, report.skipped) == (9, 9, 1)
    assert report.errors[0].where == "broken.atom.xml: entry 3"
    with db.session() as s:
        paper = get_paper(s, "2202.12139")
        assert paper.primary_category == "cs.SE" and paper.sources == ["api"]
    again = import_file(db, SEARCH_PAGE)
    assert (again.inserted, again.unchanged) == (1, 9)
