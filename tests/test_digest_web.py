"""The digest through the web app: subscribe form, double opt-in, the email's links and
headers, one-click unsubscribe, no state change on GET, abuse limits, admin pages."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

import pinned
from digest_support import SMTPServer, paper, seed_papers
from paperfeed.accounts import create_user, start_session
from paperfeed.digest import subscribe as flow
from paperfeed.digest import tokens
from paperfeed.digest.send import send_period
from paperfeed.store import subscriptions as store
from paperfeed.web.app import create_app

TODAY = pinned.TODAY
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def web(db, smtp):
    db.settings = db.settings.model_copy(update={**smtp.settings_overrides(), "embed_in_background": False})
    seed_papers(db, [paper(f"2611.{i:05d}", f"Paper number {i}", upvotes=50 - i, authors=("Ada Lovelace", "Alan Turing"),
                           code="https://github.com/example/code" if i == 0 else None) for i in range(6)], TODAY)
    with TestClient(create_app(db.settings, db=db)) as client:
        yield client


def csrf_post(client: TestClient, page: str, url: str, data: dict, **kw):
    token = CSRF.search(client.get(page).text).group(1)
    return client.post(url, data={**data, "csrf_token": token}, **kw)


def link_in(text: str, path: str) -> str:
    return re.search(rf"(http://testserver{path}\S+)", text).group(1)


def status_of(db, email: str) -> str | None:
    with db.session() as session:
        sub = store.by_email(session, email)
        return sub.status if sub else None


def test_subscribe_confirm_receive_and_one_click_unsubscribe(web, db, smtp):
    page = web.get("/")
    assert "Get trending papers in your email inbox" in page.text
    answer = csrf_post(web, "/", "/digest/subscribe", {"email": "New.Reader@Example.com"})
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    [confirmation] = smtp.handler.messages
    assert confirmation.recipients == ["new.reader@example.com"]
    assert send_period(db, "daily", TODAY).planned == 0  # nothing is sent before confirming

    confirm_url = link_in(confirmation.message.get_content(), "/digest/confirm/")
    path = urlparse(confirm_url).path
    assert "Confirm subscription" in web.get(path).text
    web.get(path)
    assert status_of(db, "new.reader@example.com") == "pending"  # GET (a mail scanner) changes nothing
    done = csrf_post(web, path, path, {})
    assert "You're subscribed" in done.text
    assert status_of(db, "new.reader@example.com") == "active"

    assert send_period(db, "daily", TODAY).sent == 1
    digest = smtp.handler.messages[-1]
    msg = digest.message
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == f"Trending papers, {TODAY.strftime('%-d %b %Y')}"
    assert msg["Date"] and re.fullmatch(r"<digest\.daily\.[\d-]+\.\d+@paperfeed\.test>", msg["Message-ID"])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https_part, mailto_part = [v.strip(" <>") for v in msg["List-Unsubscribe"].split(",")]
    assert https_part.startswith("http://testserver/digest/unsubscribe/")
    assert mailto_part.startswith("mailto:digest@paperfeed.test?subject=unsubscribe")

    text, html = digest.text, digest.html
    assert "Paper number 0" in text and "Ada Lovelace, Alan Turing" in text and "▲ 50 upvotes" in text
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs and all(h.startswith(("http://testserver/", "https://")) for h in hrefs)
    assert "https://arxiv.org/abs/2611.00000" in hrefs and "https://github.com/example/code" in hrefs
    paper_links = [h for h in hrefs if "/papers/" in h]
    assert paper_links and all(web.get(urlparse(h).path).status_code == 200 for h in paper_links)
    assert re.findall(r"http://testserver/papers/\S+", text) == list(dict.fromkeys(paper_links))

    # RFC 8058: the mail provider POSTs from its own servers, with no cookies and no page.
    provider = TestClient(web.app)
    one_click = provider.post(urlparse(https_part).path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and status_of(db, "new.reader@example.com") == "unsubscribed"
    assert provider.post(urlparse(https_part).path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert send_period(db, "daily", TODAY + timedelta(days=1)).planned == 0
    assert len(smtp.handler.messages) == 2


def test_unsubscribe_link_opens_a_page_and_its_button_unsubscribes(web, db, smtp):
    with db.session() as session:
        sub = store.pending_subscriber(session, "page@example.com")
        store.activate(session, sub, pinned.naive_now())
        token = tokens.unsubscribe_token(db.settings, sub.pk, sub.email)
    path = f"/digest/unsubscribe/{token}"
    assert "Unsubscribe page@example.com" in web.get(path).text
    assert status_of(db, "page@example.com") == "active"
    done = csrf_post(web, path, path, {})
    assert "You're unsubscribed" in done.text and status_of(db, "page@example.com") == "unsubscribed"
    forged = TestClient(web.app).post(f"/digest/unsubscribe/{sub.pk}.AAAAAAAAAAAAAAAAAAAAAAAA",
                                      data={"List-Unsubscribe": "One-Click"})
    assert forged.status_code == 400


def test_header_injection_is_rejected_at_subscribe_time(web, db, smtp):
    for bad in ["a@example.com\r\nBcc: victim@example.com", "a@example.com\nBcc: v@example.com"]:
        with pytest.raises(flow.SubscriptionError):
            flow.request_subscription(db, bad)
        answer = csrf_post(web, "/", "/digest/subscribe", {"email": bad})
        assert answer.status_code == 400
    with pytest.raises(flow.SubscriptionError):
        flow.request_subscription(db, "ok@example.com", name="Eve\r\nBcc: victim@example.com")
    assert smtp.handler.messages == [] and status_of(db, "ok@example.com") is None


def test_one_confirmation_mail_per_address_per_interval(web, db, smtp):
    now = pinned.naive_now()
    first = flow.request_subscription(db, "flood@example.com", now=now)
    second = flow.request_subscription(db, "flood@example.com", now=now + timedelta(minutes=1))
    later = flow.request_subscription(db, "flood@example.com", now=now + timedelta(minutes=11))
    assert (first.mail_sent, second.mail_sent, later.mail_sent) == (True, False, True)
    assert len(smtp.handler.to("flood@example.com")) == 2


def test_subscribe_requests_are_rate_limited_per_ip_and_per_address(web, db, smtp):
    codes = [csrf_post(web, "/", "/digest/subscribe", {"email": "target@example.com"}).status_code
             for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert len(smtp.handler.to("target@example.com")) == 1
    codes = [csrf_post(web, "/", "/digest/subscribe", {"email": f"x{i}@example.com"}).status_code for i in range(6)]
    assert codes[-1] == 429  # 10 per IP per window


def test_confirmation_links_expire_and_cannot_resubscribe_after_unsubscribe(web, db, smtp):
    flow.request_subscription(db, "late@example.com")
    with db.session() as session:
        sub = store.by_email(session, "late@example.com")
    expired = tokens.confirm_token(db.settings, sub.pk, sub.confirm_nonce, ttl_seconds=-1)
    with pytest.raises(tokens.BadToken, match="expired"), db.session() as session:
        flow.confirm(session, db.settings, expired)
    fresh = tokens.confirm_token(db.settings, sub.pk, sub.confirm_nonce, ttl_seconds=60)
    with db.session() as session:
        flow.confirm(session, db.settings, fresh)
    with db.session() as session:
        flow.unsubscribe(session, db.settings, tokens.unsubscribe_token(db.settings, sub.pk, sub.email))
    with pytest.raises(tokens.BadToken), db.session() as session:
        flow.confirm(session, db.settings, fresh)
    assert status_of(db, "late@example.com") == "unsubscribed"


def _sign_in(web, db, *, admin: bool = False, verified: bool = True) -> None:
    with db.session() as session:
        user = create_user(session, db.settings, "reader" if not admin else "boss", "reader@example.com"
                           if not admin else "boss@example.com", "a long passphrase 123", is_admin=admin,
                           verified=verified)
        raw = start_session(session, db.settings, user)
    web.cookies.set("pf_session", raw)


def test_signed_in_user_manages_digest_options(web, db, smtp):
    assert web.get("/settings/digest", follow_redirects=False).status_code == 303
    _sign_in(web, db)
    form = {"frequency": "weekly", "weekday": "4", "size": "20", "categories": "cs.CL cat:eess.AS",
            "keywords": "speech\nlike:2611.00001", "authors": "Ada Lovelace"}
    done = csrf_post(web, "/settings/digest", "/settings/digest", form)
    assert "You are subscribed" in done.text  # a verified account address needs no second opt-in
    with db.session() as session:
        sub = store.by_email(session, "reader@example.com")
        assert (sub.status, sub.frequency, sub.weekday, sub.size) == ("active", "weekly", 4, 20)
        assert (sub.categories, sub.keywords, sub.authors) == (["cs.CL", "eess.AS"], ["speech", "like:2611.00001"],
                                                               ["Ada Lovelace"])
    bad = csrf_post(web, "/settings/digest", "/settings/digest", {**form, "size": "500"})
    assert bad.status_code == 400 and "between 5 and 50" in bad.text
    stopped = csrf_post(web, "/settings/digest", "/settings/digest", {"action": "stop"})
    assert "stopped" in stopped.text and status_of(db, "reader@example.com") == "unsubscribed"


def test_admin_sees_paused_subscribers_and_previews_html(web, db, smtp):
    with db.session() as session:
        sub = store.pending_subscriber(session, "bounced@example.com")
        store.activate(session, sub, pinned.naive_now())
        sub.status, sub.permanent_failures, sub.last_error = "paused", 3, "550 5.1.1 No such user"
    assert web.get("/admin/digest").status_code in (401, 403)
    _sign_in(web, db, admin=True)
    page = web.get("/admin/digest")
    assert page.status_code == 200 and "bounced@example.com" in page.text and "550 5.1.1" in page.text
    preview = web.get("/admin/digest/preview", params={"email": "bounced@example.com"})
    assert preview.status_code == 200 and "Paper number 0" in preview.text and "<html" in preview.text
    assert web.get("/admin/digest/preview", params={"email": "1"}).status_code == 400
    assert web.get("/admin/digest/preview", params={"email": "nobody@example.com"}).status_code == 404
    assert smtp.handler.messages == []
