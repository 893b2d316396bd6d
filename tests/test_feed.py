"""Feed queries: counts that belong to a paper are shown once, however many days it is on."""

from datetime import date

from paperfeed.records import EntryRecord, PaperRecord
from paperfeed.store.feed import activity_for, paper_activity
from paperfeed.store.papers import get_paper, upsert_records


def test_paper_on_two_days_shows_its_votes_once(db):
    rec = PaperRecord(id="2401.00001", title="T", source="hf", entries=[
        EntryRecord(day=date(2024, 1, 5), source="hf", upvotes=7, num_comments=2),
        EntryRecord(day=date(2024, 1, 6), source="hf", upvotes=7, num_comments=2),
    ])
    with db.session() as s:
        upsert_records(s, [rec])
    with db.session() as s:
        paper = get_paper(s, "2401.00001")
        single = paper_activity(s, paper)
        many = activity_for(s, [paper.pk])[paper.pk]
    assert (single.upvotes, single.num_comments, len(single.days)) == (7, 2, 2)
    assert (many.upvotes, many.num_comments, len(many.days)) == (7, 2, 2)
