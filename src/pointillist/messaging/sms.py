"""SMS through the clinic's provider: one HTTP POST of a JSON body the clinic shapes
(``{"to": ..., "text": ...}`` by default), with an optional auth header.

A 2xx answer means the provider took it; a 4xx (other than 408 and 429) that it never
will (wrong number, wrong key); any other answer that it may be tried again. No
connection at all is tried again too; a connection that breaks after the request went
out may have sent the SMS, and is treated like an e-mail cut off mid-send (uncertain,
never re-sent by itself).
"""

from __future__ import annotations

import httpx

from pointillist.messaging.config import sms_body
from pointillist.messaging.mail import MaybeSent, NotSent
from pointillist.store.models import MessagingSettings


def send_sms(settings: MessagingSettings, to: str, text: str, *, timeout: float) -> str:
    """POST the SMS to the webhook; returns the provider's answer (shortened).

    Raises
    ------
    NotSent
        With ``permanent`` for a 4xx answer.
    MaybeSent
        If the connection broke after the request went out.
    """
    body = sms_body(settings.sms_body_template, to, text)
    headers = {"Content-Type": "application/json"}
    if settings.sms_auth_header:
        name, _, value = settings.sms_auth_header.partition(":")
        headers[name.strip()] = value.strip()
    try:
        response = httpx.post(settings.sms_webhook_url, json=body, headers=headers, timeout=timeout)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise NotSent(f"cannot reach the SMS webhook: {exc}") from None
    except httpx.HTTPError as exc:
        raise MaybeSent(
            f"the SMS webhook did not answer after it was sent the message ({exc}); "
            "the SMS may have gone out"
        ) from None
    answer = response.text[:200]
    if response.is_success:
        return answer
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
    raise NotSent(f"the SMS webhook answered {response.status_code}: {answer}", permanent=permanent)
