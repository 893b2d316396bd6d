"""OAI-PMH pages in oai_dc, arXiv and arXivRaw formats, from recorded (and one hand-made) responses."""

from datetime import datetime

import pytest

from conftest import FIXTURES
from paperfeed.ingest.importer import import_file
from paperfeed.ingest.oai import OaiError, parse_oai_page
from paperfeed.records import MalformedRecord
from paperfeed.store.papers import get_paper

OAI = FIXTURES / "oai_pmh"
OAI_DC_PAGE = OAI / "atomiklabs_listrecords_oai_dc_set-cs_2024-01-25_with_resumptionToken.xml"
ARXIV_PAGE = OAI / "paperhive_listrecords---should-list-identifiers-from-arxiv_1_http200.xml"
RAW_PAGE = OAI / "handmade_listrecords_arXivRaw.xml"  # hand-made: no arXivRaw recording exists


def records(page):
    return {item.id: item for _, item in page.items if not isinstance(item, MalformedRecord)}


def test_oai_dc_page_with_resumption_token():
    page = parse_oai_page(OAI_DC_PAGE.read_bytes())
    assert (page.token, page.cursor, page.complete_size) == ("6960524|1001", 0, 1162)
    assert page.response_date == "2024-01-27T17:53:42Z"
    recs = records(page)
    assert len(recs) == 5 and "2401.14040" in recs
    rec = recs["1303.2033"]
    assert rec.title == "Extended Fourier analysis of signals"
    assert [(a.name, a.last, a.first) for a in rec.authors] == [("Vilnis Liepins", "Liepins", "Vilnis")]
    assert rec.abstract.startswith("This summary of the doctoral thesis")
    assert rec.comments == "32 pages, 9 figures"
    assert (rec.submitted_at, rec.updated_at) == (datetime(2013, 3, 8), datetime(2024, 1, 23))
    assert rec.abs_url == "https://arxiv.org/abs/1303.2033" and rec.source == "oai"


def test_new_papers_land_on_their_announcement_day_and_old_ones_do_not():
    # A catch-up harvest fills missed days' pages: a paper first submitted just before its
    # datestamp is new in that day's announcement; an updated old paper is not.
    recs = records(parse_oai_page(OAI_DC_PAGE.read_bytes()))
    new = {pid: [(e.day.isoformat(), e.source) for e in rec.entries] for pid, rec in recs.items() if rec.entries}
    assert new == {pid: [("2024-01-26", "auto")] for pid in recs if pid != "1303.2033"} and len(new) == 4
    assert all(recs[pid].announced_on.isoformat() == "2024-01-26" for pid in new)
    assert recs["1303.2033"].entries == [] and recs["1303.2033"].announced_on is None
    raw = records(parse_oai_page(RAW_PAGE.read_bytes()))
    assert all(rec.entries == [] for rec in raw.values())  # two versions, or years old


def test_arxiv_format_page():
    page = parse_oai_page(ARXIV_PAGE.read_bytes())
    assert page.token is None
    recs = records(page)
    rec = recs["1412.8544"]
    assert [(a.name, a.last, a.first) for a in rec.authors] == [
        ("Sander Uijlen", "Uijlen", "Sander"), ("Bas Westerbaan", "Westerbaan", "Bas")]
    assert rec.categories == ["cs.DM"]
    assert rec.journal_ref == "EPTCS 172, 2014, pp. 154-164" and rec.doi == "10.4204/EPTCS.172.11"
    assert rec.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert rec.submitted_at == datetime(2014, 12, 29)
    assert "\n" not in rec.abstract and rec.abstract.startswith("At the heart of the Conway-Kochen")
    old = recs["hep-th/9504118"]
    assert old.extra == {"report-no": "GOET-TP 101/95"} and old.categories == ["hep-th"]


def test_arxiv_raw_versions_and_deleted_records():
    page = parse_oai_page(RAW_PAGE.read_bytes())
    assert page.token is None and page.complete_size == 3  # an empty token marks the last page
    assert page.deleted == ["0704.0003"]
    recs = records(page)
    rec = recs["0704.0001"]
    assert rec.version == 2
    assert rec.versions == [{"version": 1, "created": "2007-04-02T19:18:42"},
                            {"version": 2, "created": "2007-07-24T20:10:27"}]
    assert rec.submitted_at == datetime(2007, 4, 2, 19, 18, 42)
    assert rec.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert [a.last for a in rec.authors] == ["Bal\\'azs", "Berger", "Nadolsky", "Yuan"]
    assert rec.extra == {"report-no": "ANL-HEP-PR-07-12", "submitter": "Pavel Nadolsky"}
    assert recs["0704.0002"].categories == ["math.CO", "cs.CG"]
    assert [a.name for a in recs["0704.0002"].authors] == ["Ileana Streinu", "Louis Theran"]


def oai_error(code):
    return (f'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            f'<responseDate>2024-01-01T00:00:00Z</responseDate><request verb="ListRecords">x</request>'
            f'<error code="{code}">The value of the resumptionToken argument is invalid or expired.</error>'
            f'</OAI-PMH>').encode()


def test_protocol_errors_raise_except_no_records():
    with pytest.raises(OaiError, match="badResumptionToken: The value of the resumptionToken"):
        parse_oai_page(oai_error("badResumptionToken"))
    empty = parse_oai_page(oai_error("noRecordsMatch"))
    assert (empty.items, empty.token) == ([], None)


def test_broken_record_is_skipped(tmp_path):
    text = OAI_DC_PAGE.read_text().replace("<dc:title>Extended Fourier", "<dc:title>Extended <b>Fourier", 1)
    page = parse_oai_page(text.encode())
    assert page.token == "6960524|1001"  # the page's header survives
    assert isinstance(page.items[0][1], MalformedRecord) and len(records(page)) == 4


def test_import_file_reads_oai_and_reports_deleted_records(db):
    report = import_file(db, RAW_PAGE)
    assert (report.read, report.inserted, report.skipped) == (2, 2, 1)
    assert report.errors[0].where.endswith("deleted record 0704.0003")
    again = import_file(db, ARXIV_PAGE)
    assert again.inserted == 2
    with db.session() as s:
        assert get_paper(s, "0704.0001").versions[1]["version"] == 2
        assert get_paper(s, "1412.8544").authors[1]["last"] == "Westerbaan"


def test_truncated_download_is_reported_not_half_imported(db, tmp_path):
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(OAI_DC_PAGE.read_bytes()[:-400])
    report = import_file(db, truncated)
    assert (report.read, report.skipped) == (0, 1)
    assert report.errors[0].where == "truncated.xml: document"
    assert "not well-formed XML outside the record elements" in report.errors[0].reason
