"""Comments (safe Markdown, one-level replies, the edit window, exact counts) and moderation
(hide a day's entry, hide a comment, ban a user, the audit log)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from community_kit import PASSWORD, add_paper, client, entry_counts, make_app, signed_in
from paperfeed.models import AuditLog, Comment
from paperfeed.store.comments import edit_comment, render_markdown


def test_markdown_keeps_the_safe_subset():
    html = render_markdown("*emph* **strong** `code` [site](https://example.org) $x^2$\n\n```\nblock\n```")
    assert "<em>emph</em>" in html and "<strong>strong</strong>" in html and "<code>code</code>" in html
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">site</a>' in html
    assert "$x^2$" in html and "<pre><code>block" in html


@pytest.mark.parametrize("payload, forbidden", [
    ("<script>alert(1)</script>", "<script"),
    ('<img src=x onerror="alert(1)">', "<img"),
    ("[click](javascript:alert(1))", 'href="javascript'),
    ('<a href="javascript:alert(1)">x</a>', "<a href"),
    ("[ftp](ftp://example.org/x)", 'href="ftp'),
    ("[data](data:text/html;base64,PHNjcmlwdD4=)", 'href="data'),
])
def test_markdown_renders_payloads_inert(payload, forbidden):
    assert forbidden not in render_markdown(payload)


def test_mailto_links_are_allowed():
    assert 'href="mailto:a@example.org"' in render_markdown("[mail](mailto:a@example.org)")


def _comment(c, paper_id, body, parent=None):
    data = {"body": body}
    if parent is not None:
        data["parent"] = str(parent)
    r = c.form(f"/papers/{paper_id}/comments", data)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("#c", 1)[1])


def test_thread_with_one_level_replies_and_exact_counts(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00040", source="hf", upvotes=0)
    ann, ben = signed_in(app, db, settings, "ann"), signed_in(app, db, settings, "ben")
    root = _comment(ann, "2611.00040", "First! $E=mc^2$")
    reply = _comment(ben, "2611.00040", "A reply", parent=root)
    deeper = _comment(ann, "2611.00040", "A reply to the reply", parent=reply)
    with db.session() as s:
        assert s.get(Comment, deeper).parent_pk == root, "replies stay one level deep"
    assert entry_counts(db, "2611.00040")[0][2] == 3
    page = client(app).get("/papers/2611.00040").text
    assert "First! $E=mc^2$" in page and "A reply to the reply" in page
    assert ben.form(f"/comments/{reply}/delete").status_code == 303
    assert entry_counts(db, "2611.00040")[0][2] == 2
    assert ann.form(f"/comments/{root}/delete").status_code == 303
    page = client(app).get("/papers/2611.00040").text
    assert "[deleted]" in page and "A reply to the reply" in page  # placeholder keeps the thread
    assert entry_counts(db, "2611.00040")[0][2] == 1


def test_edit_window_rule(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00041")
    c = signed_in(app, db, settings, "cat")
    pk = _comment(c, "2611.00041", "typo teh")
    assert c.form(f"/comments/{pk}/edit", {"body": "typo the"}).status_code == 303
    with db.session() as s:
        row = s.get(Comment, pk)
        assert (row.body, row.edited_at) == ("typo the", None), "quiet within the window"
    with db.session() as s:
        from paperfeed.models import User

        user = s.scalar(select(User).where(User.username_key == "cat"))
        later = s.get(Comment, pk).created_at + timedelta(minutes=settings.comment_edit_minutes + 1)
        edit_comment(s, settings, user, pk, "rethought", now=later)
    with db.session() as s:
        assert s.get(Comment, pk).edited_at is not None
    assert "edited" in client(app).get("/papers/2611.00041").text


def test_users_cannot_touch_each_others_comments(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00042")
    owner, other = signed_in(app, db, settings, "dan"), signed_in(app, db, settings, "eve")
    pk = _comment(owner, "2611.00042", "mine")
    assert other.form(f"/comments/{pk}/edit", {"body": "hacked"}).status_code == 403
    assert other.form(f"/comments/{pk}/delete").status_code == 403
    assert other.get(f"/comments/{pk}/edit").status_code == 404
    with db.session() as s:
        row = s.get(Comment, pk)
        assert (row.body, row.deleted) == ("mine", False)


def test_admin_moderation_is_audited(db, settings):
    app = make_app(settings, db)
    add_paper(db, "2611.00043", title="Spam paper")
    add_paper(db, "2611.00044", title="Good paper")
    admin = signed_in(app, db, settings, "root", admin=True)
    troll = signed_in(app, db, settings, "troll")
    user = signed_in(app, db, settings, "user")
    bad = _comment(troll, "2611.00044", "buy my stuff")
    other = _comment(troll, "2611.00044", "more spam")
    fine = _comment(user, "2611.00044", "nice work")
    assert user.form(f"/admin/comments/{fine}/hide").status_code == 403
    assert user.get("/admin/audit").status_code == 403
    day = entry_counts(db, "2611.00043")[0][0].isoformat()
    assert admin.form("/admin/entries/hide", {"paper_id": "2611.00043", "day": day}).status_code == 303
    assert "Spam paper" not in client(app).get(f"/papers/date/{day}").text
    assert admin.form(f"/admin/comments/{bad}/hide", {"reason": "spam"}).status_code == 303
    assert entry_counts(db, "2611.00044")[0][2] == 2
    assert admin.form("/admin/users/troll/ban", {"reason": "spammer"}).status_code == 303
    page = client(app).get("/papers/2611.00044").text
    assert "more spam" not in page and "nice work" in page
    assert entry_counts(db, "2611.00044")[0][2] == 1
    assert "Sign out" not in troll.get("/").text, "a ban ends the user's sessions"
    assert client(app).form("/login", {"login": "troll", "password": PASSWORD}).status_code == 400
    with db.session() as s:
        actions = [(a.action, a.actor_name) for a in s.scalars(select(AuditLog).order_by(AuditLog.pk))]
        assert s.get(Comment, other).hidden
    assert actions == [("hide_entry", "root"), ("hide_comment", "root"), ("ban_user", "root")]
    audit = admin.get("/admin/audit").text
    assert "hide_entry" in audit and "ban_user" in audit and "spammer" in audit
