"""E-mail over SMTP: the message (plain text, HTML, an optional calendar invitation) and
its delivery, with every failure sorted by what it means for the message.

- :class:`NotSent`: the server never took the message (no connection, TLS or sign-in
  refused, a refusal before or in answer to the data). Safe to try again later, unless
  ``permanent`` (a 5xx: the address does not exist, the server will never take it).
- :class:`MaybeSent`: the connection broke after the data went over, before the
  server's answer. It may have been delivered; see :mod:`pointillist.messaging.outbox`.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate

from pointillist.messaging.templates import Rendered
from pointillist.store.models import MessagingSettings

#: CRLF line ends, as SMTP wants them (smtplib sends bytes as they are), and headers folded
#: only past 200 characters (RFC 5322 allows 998): the standard library folds a subject
#: just over 78 characters right after "Subject:", which some programs show with a space.
WIRE = SMTP.clone(max_line_length=200)


class NotSent(Exception):
    """The message did not leave; ``permanent`` if trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class MaybeSent(Exception):
    """The connection broke after the message was handed over."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str]


def calendar_invitation(ics: bytes) -> Attachment:
    """An ICS invitation as mail programs expect it (``text/calendar; method=REQUEST``)."""
    return Attachment("invite.ics", ics, "text", "calendar", {"method": "REQUEST"})


def build_email(
    *,
    sender: str,
    to_address: str,
    to_name: str,
    rendered: Rendered,
    message_id: str,
    unsubscribe_url: str,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage:
    """The e-mail: plain text with an HTML alternative, attachments, and the headers that
    let mail programs offer one-click unsubscribe (RFC 8058) and mark it automatic."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = formataddr((to_name, to_address))
    email["Subject"] = rendered.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id
    email["Auto-Submitted"] = "auto-generated"
    email["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(rendered.text)
    email.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        email.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params=attachment.params,
        )
    return email


def send_email(settings: MessagingSettings, email: EmailMessage, *, timeout: float) -> None:
    """Hand ``email`` to the clinic's mail server.

    Raises
    ------
    NotSent, MaybeSent
        As the module's docstring says.
    """
    host, port = settings.smtp_host, int(settings.smtp_port)
    sender = email["From"]
    from email.utils import parseaddr

    envelope_from = parseaddr(str(sender))[1]
    recipient = parseaddr(str(email["To"]))[1]
    try:
        smtp = _connect(settings, timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotSent(f"cannot reach the mail server {host}:{port}: {_why(exc)}") from None
    try:
        try:
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            code, answer = smtp.mail(envelope_from)
            if code != 250:
                raise NotSent(
                    f"the mail server refused the sender {envelope_from}: {code} {_text(answer)}",
                    permanent=code >= 500,
                )
            code, answer = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise NotSent(
                    f"the mail server refused the recipient {recipient}: {code} {_text(answer)}",
                    permanent=code >= 500,
                )
        except smtplib.SMTPAuthenticationError as exc:
            raise NotSent(
                f"the mail server refused the user name or password: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}; correct them under Clinic > Messages"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise NotSent(f"the mail server {host}:{port} broke off: {_why(exc)}") from None
        try:
            code, answer = smtp.data(email.as_bytes(policy=WIRE))
        except smtplib.SMTPDataError as exc:
            # The server refused to take data at all.
            raise NotSent(
                f"the mail server refused the message: {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MaybeSent(
                f"the connection to {host}:{port} broke while the message was being handed "
                f"over ({_why(exc)}); it may have been delivered"
            ) from None
        if code != 250:
            # The server answered the data with a refusal: it did not take it.
            raise NotSent(
                f"the mail server refused the message: {code} {_text(answer)}",
                permanent=code >= 500,
            )
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _connect(settings: MessagingSettings, timeout: float) -> smtplib.SMTP:
    host, port = settings.smtp_host, int(settings.smtp_port)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        smtp.ehlo()
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp


def _why(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the mail server running, and is the port right?)"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer in time"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc}); check the security setting and the port"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "the server does not offer STARTTLS; choose TLS or none, or another port"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return str(exc) or type(exc).__name__


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
