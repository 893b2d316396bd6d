"""An optional in-process scheduler for `serve` (settings.digest_scheduler): once a day, at
``digest_send_hour`` UTC or later, it sends the daily and weekly digests.

Several workers or servers may each run one: deliveries are claimed in the database, so
every subscriber still gets one digest per period.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timezone

from sqlalchemy.exc import OperationalError

from paperfeed.db import Database
from paperfeed.mail import MailConfigError

log = logging.getLogger(__name__)


class DigestScheduler:
    def __init__(self, db: Database, check_seconds: float = 60.0):
        self.db = db
        self.check_seconds = check_seconds
        self._stop = threading.Event()
        self._last_day: date | None = None
        self._thread = threading.Thread(target=self._run, name="digest-scheduler", daemon=True)

    def start(self) -> "DigestScheduler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick(datetime.now(timezone.utc))
            self._stop.wait(self.check_seconds)

    def tick(self, now: datetime) -> bool:
        """Send today's digests if it is time and this scheduler has not yet; True if it ran."""
        from paperfeed.digest.send import send_period

        if now.hour < self.db.settings.digest_send_hour or self._last_day == now.date():
            return False
        for kind in ("daily", "weekly"):
            try:
                report = send_period(self.db, kind, now.date())
            except (OperationalError, MailConfigError) as exc:
                # Retried at the next check; claims make the rerun send only what is missing.
                log.error("digest %s failed: %s", kind, exc)
                return False
            log.info("%s", report.summary())
            if report.claims_abandoned:  # a killed sender's claims: taken over once they expire
                log.warning("digest %s: %s deliveries claimed by a stopped sender until %s; retrying",
                            kind, report.claimed_elsewhere, report.claimed_until)
                return False
        self._last_day = now.date()
        return True


def start_scheduler(db: Database) -> DigestScheduler | None:
    if not db.settings.digest_scheduler:
        return None
    return DigestScheduler(db).start()
