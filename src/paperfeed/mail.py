"""Sending mail: used by account emails and digests alike.

With ``mail_dry_run_dir`` set, messages are written there as .eml files instead of sent.
``Mailer`` keeps one SMTP connection open across many messages (digest batches) and turns
SMTP errors into ``TemporaryMailError`` (4xx, connection trouble: retry later) or
``PermanentMailError`` (5xx: this address will not take mail).
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import uuid
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from paperfeed.config import Settings


DOT_AT_LINE_START = re.compile(rb"(?m)^\.")  # doubled in DATA (RFC 5321 4.5.2)

# CRLF line ends as SMTP wants, and headers folded only where RFC 5322 requires it, so
# long unbreakable values (List-Unsubscribe URLs) are never RFC 2047-encoded.
WIRE_POLICY = SMTP_POLICY.clone(max_line_length=998)


def wire_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes over SMTP."""
    return msg.as_bytes(policy=WIRE_POLICY)


class MailError(Exception):
    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class TemporaryMailError(MailError):
    """Worth retrying later: a 4xx reply, a dropped or refused connection, a timeout."""


class PermanentMailError(MailError):
    """A 5xx reply: retrying the same message will not help."""


class MailConfigError(MailError):
    """The server rejected our credentials: no message can go out until settings change."""


def new_message(settings: Settings, to: str, subject: str, text: str, html: str | None = None,
                headers: dict[str, str] | None = None, message_id: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id or make_msgid(domain=_domain(settings.mail_from))
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def send_message(settings: Settings, msg: EmailMessage) -> None:
    """Deliver one message. SMTP errors propagate; the caller decides about retries."""
    if settings.mail_dry_run_dir is not None:
        _write_eml(settings.mail_dry_run_dir, msg)
        return
    with _connect(settings) as smtp:
        smtp.send_message(msg)


class Mailer:
    """One SMTP connection reused for many messages; reconnects after a failure.

    ``dry_run_dir`` (or settings.mail_dry_run_dir) writes .eml files instead.
    """

    def __init__(self, settings: Settings, dry_run_dir: Path | None = None):
        self.settings = settings
        self.dry_run_dir = dry_run_dir or settings.mail_dry_run_dir
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Mailer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, msg: EmailMessage, sender: str, recipient: str) -> None:
        self.send_bytes(sender, recipient, wire_bytes(msg))

    def send_bytes(self, sender: str, recipient: str, payload: bytes, commit_point=None) -> bool:
        """Send one message (CRLF line ends); raises TemporaryMailError or PermanentMailError.

        ``commit_point``, a context manager factory, wraps the one step that cannot be taken
        back: the end of DATA (the lone "." after the message has been uploaded) and the
        server's reply. It yields False to call the message off, and its block ends only after
        the server accepted the message. Returns False when called off.
        """
        commit_point = commit_point or _go_ahead
        if self.dry_run_dir is not None:
            with commit_point() as go:
                if go:
                    _write_bytes(self.dry_run_dir, payload)
            return go
        try:
            if self._smtp is None:
                self._smtp = _connect(self.settings)
                # The final "." goes out alone: without this, Nagle's algorithm holds it until the
                # upload is acknowledged, and the server delays that ACK (3x slower digests).
                self._smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._envelope(sender, recipient)
            self._upload(payload)
            with commit_point() as go:
                if not go:
                    self._drop()  # mid-DATA: only a closed connection discards the message
                    return False
                self._end_data()
            return True
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            raise MailConfigError(f"SMTP login failed: {exc.smtp_code} {exc.smtp_error!r}", exc.smtp_code) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            code, text = next(iter(exc.recipients.values()))
            raise _by_code(code, text) from exc
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise _by_code(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, socket.timeout,
                OSError) as exc:
            self._drop()
            raise TemporaryMailError(f"connection: {exc}") from exc

    def _envelope(self, sender: str, recipient: str) -> None:
        # smtplib's sendmail in two steps (no ESMTP options needed), raising what it raises.
        smtp = self._smtp
        smtp.ehlo_or_helo_if_needed()
        code, resp = smtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, resp, sender)
        code, resp = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, resp)})

    def _upload(self, payload: bytes) -> None:
        # smtplib's data() without its last line, so that the caller can time the commit.
        code, resp = self._smtp.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, resp)
        body = DOT_AT_LINE_START.sub(b"..", payload)
        self._smtp.send(body if body.endswith(b"\r\n") else body + b"\r\n")

    def _end_data(self) -> None:
        self._smtp.send(b".\r\n")
        code, resp = self._smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, resp)

    def _reset(self) -> None:
        # After a refused transaction the connection is usable once RSET succeeds.
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


@contextmanager
def _go_ahead():
    yield True


def _by_code(code: int, text: bytes | str) -> MailError:
    detail = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    message = f"{code} {detail}"
    if 500 <= code < 600:
        return PermanentMailError(message, code)
    return TemporaryMailError(message, code)


def _connect(settings: Settings) -> smtplib.SMTP:
    timeout = settings.http_timeout
    if settings.smtp_security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    if settings.smtp_username:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        smtp.login(settings.smtp_username, password)
    return smtp


def _write_eml(folder: Path, msg: EmailMessage) -> Path:
    return _write_bytes(folder, msg.as_bytes())


def _write_bytes(folder: Path, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(data)
    return path


class InvalidAddress(ValueError):
    """Not one plain mailbox address; the message is safe to show."""


def normalize_address(value: str) -> str:
    """One plain address (``local@domain``), normalised and lower-cased, or InvalidAddress.

    email-validator rejects what a mail library would read as more than one mailbox or a
    different one: lists (``a@x,b@x``), comments (``a(c)b@x``), display names and angle
    brackets, quoted local parts, line breaks. The local part must be ASCII and the domain
    is kept in its ASCII (IDNA) form, so every SMTP server can take it. Lower case because
    accounts and subscriptions are looked up by address.
    """
    if not isinstance(value, str):
        raise InvalidAddress("That does not look like an email address.")
    try:
        valid = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False,
                               allow_display_name=False, allow_quoted_local=False, allow_domain_literal=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"That does not look like an email address ({exc}).") from None
    address = (valid.ascii_email or valid.normalized).lower()
    if len(address) > 254:
        raise InvalidAddress("That email address is too long.")
    return address


def address_of(value: str) -> str:
    """The bare address in 'Name <a@b>' or 'a@b'."""
    return parseaddr(value)[1] or value


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"
