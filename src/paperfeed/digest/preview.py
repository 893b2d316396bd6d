"""What a subscriber's next digest would contain, without sending or recording anything."""

from __future__ import annotations

from datetime import date, timedelta
from email.message import EmailMessage

from paperfeed.db import Database
from paperfeed.digest.choose import Interests
from paperfeed.digest.personal import papers_for
from paperfeed.digest.pool import build_pool, labelled, period_for, prepare_queries
from paperfeed.digest.render import Recipient, render_digest
from paperfeed.digest.subscribe import normalize_email
from paperfeed.models import utcnow
from paperfeed.store import subscriptions as store


def preview_message(db: Database, email: str, kind: str | None = None, today: date | None = None) -> EmailMessage | None:
    """The digest ``email`` would get now (None: nothing new). Raises LookupError for an unknown address."""
    from paperfeed.digest.send import HISTORY_DAYS, today_utc

    address = normalize_email(email)
    with db.session() as session:
        sub = store.by_email(session, address)
        if sub is None:
            raise LookupError(f"No subscriber with address {address}.")
        history = store.sent_history(session, [sub.pk], utcnow() - timedelta(days=HISTORY_DAYS))
    period = period_for(kind or sub.frequency, today or today_utc())
    pool, span = build_pool(db, period)
    period = labelled(period, span)
    prepare_queries(db, pool, set(sub.keywords), span)
    interests = Interests(tuple(sub.categories), tuple(sub.keywords), tuple(sub.authors))
    papers, personalised = papers_for(db, pool, sub, interests, history.get(sub.pk, set()))
    if not papers:
        return None
    return render_digest(db.settings, period, Recipient(sub.pk, sub.email, sub.name), papers,
                         personalised).message()
