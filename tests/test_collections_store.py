"""Collections in the store: visibility rules, limits, the change sequence, and the
papers a user has saved (For you reads them)."""

from __future__ import annotations

import pytest
from community_kit import add_paper, add_user

from paperfeed.models import User
from paperfeed.store import collections as cs
from paperfeed.store.changes import current
from paperfeed.store.papers import get_paper


def _users(db, settings):
    return add_user(db, settings, "ada"), add_user(db, settings, "bob")


def test_create_rename_delete_and_slugs(db, settings):
    ada_pk, _ = _users(db, settings)
    with db.session() as s:
        ada = s.get(User, ada_pk)
        c = cs.create_collection(s, ada, "  Reading list: LLMs & RL  ", visibility="public")
        assert (c.slug, c.title, c.visibility) == ("reading-list-llms-rl", "Reading list: LLMs & RL", "public")
        with pytest.raises(cs.CollectionConflict):
            cs.create_collection(s, ada, "Reading list LLMs RL")  # same slug
        cs.update_collection(s, c, title="Renamed")
        assert c.slug == "reading-list-llms-rl"  # a rename keeps the address
        assert cs.free_slug(s, ada, "Reading list: LLMs & RL") == "reading-list-llms-rl-2"
        cs.delete_collection(s, c)
        assert cs.user_collections(s, ada, ada) == []


@pytest.mark.parametrize("kwargs", [
    {"title": ""}, {"title": "x" * 101}, {"title": 5}, {"title": "ok", "visibility": "secret"},
    {"title": "ok", "slug": "Bad Slug"}, {"title": "ok", "slug": "-x"}, {"title": "ok", "description": "d" * 2001},
])
def test_bad_input_is_refused_and_changes_nothing(db, settings, kwargs):
    ada_pk, _ = _users(db, settings)
    with db.session() as s:
        ada = s.get(User, ada_pk)
        with pytest.raises(cs.CollectionError):
            cs.create_collection(s, ada, **kwargs)
        assert cs.user_collections(s, ada, ada) == []


def test_private_and_unlisted_visibility(db, settings):
    ada_pk, bob_pk = _users(db, settings)
    with db.session() as s:
        ada, bob = s.get(User, ada_pk), s.get(User, bob_pk)
        for vis in ("public", "unlisted", "private"):
            cs.create_collection(s, ada, vis.title(), visibility=vis)
        assert {v.collection.slug for v in cs.user_collections(s, ada, ada)} == {"public", "unlisted", "private"}
        assert [v.collection.slug for v in cs.user_collections(s, ada, bob)] == ["public"]
        assert [v.collection.slug for v in cs.user_collections(s, ada, None)] == ["public"]
        assert cs.find_collection(s, "ADA", "unlisted", None).collection.slug == "unlisted"
        for viewer in (None, bob):
            with pytest.raises(cs.CollectionNotFound):
                cs.find_collection(s, "ada", "private", viewer)
        assert cs.find_collection(s, "ada", "private", ada).owner.username == "ada"
        with pytest.raises(cs.CollectionNotFound):  # bob cannot reach ada's collection by pk
            cs.owned_collection(s, bob, cs.find_collection(s, "ada", "public", None).collection.pk)


def test_items_notes_states_and_saved_papers(db, settings):
    ada_pk, bob_pk = _users(db, settings)
    add_paper(db, "2606.00001", title="First")
    add_paper(db, "2606.00002", title="Second")
    with db.session() as s:
        ada, bob = s.get(User, ada_pk), s.get(User, bob_pk)
        p1, p2 = get_paper(s, "2606.00001"), get_paper(s, "2606.00002")
        public = cs.create_collection(s, ada, "Public", visibility="public")
        private = cs.create_collection(s, ada, "Secret")
        cs.add_paper(s, public, p1, note="my note")
        cs.add_paper(s, public, p1, note="ignored")  # idempotent
        assert cs.toggle_paper(s, private, p2) is True
        item = cs.update_item(s, public, p1, state="read")
        assert (item.note, item.state) == ("my note", "read")
        with pytest.raises(cs.CollectionError):
            cs.update_item(s, public, p1, note="n" * (cs.NOTE_MAX + 1))
        with pytest.raises(cs.CollectionError):
            cs.update_item(s, public, p1, state="skimmed")
        with pytest.raises(cs.CollectionNotFound):
            cs.update_item(s, private, p1, note="not there")
        assert cs.collection_paper_pks(s, ada.pk) == {p1.pk, p2.pk}
        assert cs.collection_paper_pks(s, bob.pk) == set()
        assert cs.collections_holding(s, ada, p1.pk) == {public.pk}
        assert cs.toggle_paper(s, private, p2) is False
        assert cs.collection_paper_pks(s, ada.pk) == {p1.pk}
        assert [i.note for i, _ in cs.collection_items(s, public)] == ["my note"]


def test_every_write_moves_the_change_sequence(db, settings):
    ada_pk, _ = _users(db, settings)
    add_paper(db, "2606.00001")
    steps = [
        lambda s, ada, p: cs.create_collection(s, ada, "List"),
        lambda s, ada, p: cs.add_paper(s, _list(s, ada), p),
        lambda s, ada, p: cs.update_item(s, _list(s, ada), p, note="n"),
        lambda s, ada, p: cs.update_collection(s, _list(s, ada), visibility="public"),
        lambda s, ada, p: cs.remove_paper(s, _list(s, ada), p),
        lambda s, ada, p: cs.delete_collection(s, _list(s, ada)),
    ]
    for step in steps:
        with db.session() as s:
            before = current(s)
        with db.session() as s:
            step(s, s.get(User, ada_pk), get_paper(s, "2606.00001"))
        with db.session() as s:
            assert current(s) > before


def _list(s, ada):
    return cs.find_collection(s, "ada", "list", ada).collection


def test_deleting_the_account_deletes_its_collections(db, settings):
    ada_pk, _ = _users(db, settings)
    add_paper(db, "2606.00001")
    with db.session() as s:
        ada = s.get(User, ada_pk)
        cs.add_paper(s, cs.create_collection(s, ada, "List"), get_paper(s, "2606.00001"))
    from paperfeed.store.users import delete_account

    with db.session() as s:
        delete_account(s, s.get(User, ada_pk))
    with db.session() as s:
        assert cs.collection_paper_pks(s, ada_pk) == set()
