"""The clinic's wording: checked before it is kept, and unable to reach Python internals."""

from __future__ import annotations

import pytest

from pointillist.errors import PointillistError
from pointillist.messaging.config import check_settings
from pointillist.messaging.templates import (
    check_templates,
    default_templates,
    effective_templates,
    render_message,
    sample_context,
)


def test_the_shipped_wording_renders_for_every_kind():
    templates = default_templates()
    for kind in templates:
        rendered = render_message(templates, kind, sample_context(kind))
        assert rendered.subject and "\n" not in rendered.subject
        assert "Sam Rivera" in rendered.text and "unsubscribe" in rendered.text
        assert rendered.sms


def test_wording_the_same_as_the_default_is_not_kept_and_a_change_is():
    default = default_templates()["aftercare"]["subject"]
    kept = check_templates(
        {"aftercare": {"subject": default, "sms": "{{ clinic_name }}: take care"}}
    )
    assert kept == {"aftercare": {"sms": "{{ clinic_name }}: take care"}}
    merged = effective_templates(kept)
    assert merged["aftercare"]["subject"] == default
    assert merged["aftercare"]["sms"] == "{{ clinic_name }}: take care"


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{{ client_nme }}", "'client_nme' is undefined"),
        ("{% if %}", "does not render (line 1)"),
        ("{{ ''.__class__.__mro__ }}", "does not render"),
        ("{{ client_name.__class__.__init__.__globals__ }}", "does not render"),
    ],
)
def test_a_bad_or_unsafe_template_is_refused_naming_the_part(source, words):
    with pytest.raises(PointillistError) as refused:
        check_templates({"touch-up": {"text": source}})
    assert refused.value.field == "touch-up.text"
    assert "plain-text body of the touch-up message" in refused.value.message
    assert words in refused.value.message


def test_html_is_escaped_and_plain_text_is_not():
    templates = default_templates()
    context = {**sample_context("aftercare"), "client_name": "Sam <b>R</b> & co"}
    rendered = render_message(templates, "aftercare", context)
    assert "Sam &lt;b&gt;R&lt;/b&gt; &amp; co" in rendered.html
    assert "Sam <b>R</b> & co" in rendered.text


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"email_enabled": True}, "smtp_host", "mail server's host name"),
        ({"smtp_port": "http"}, "smtp_port", "not a TCP port"),
        ({"smtp_security": "ssl"}, "smtp_security", "STARTTLS, TLS or none"),
        ({"from_address": "studio"}, "from_address", "not an e-mail address"),
        ({"public_url": "studio.example"}, "public_url", "start it with https://"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA name"),
        ({"sms_enabled": True}, "sms_webhook_url", "webhook URL"),
        ({"sms_auth_header": "Bearer abc"}, "sms_auth_header", "Name: value"),
        ({"sms_body_template": '{"to": {{ to }}}'}, "sms_body_template", "does not make JSON"),
    ],
)
def test_each_wrong_setting_is_named_with_what_to_do(changes, field, words):
    with pytest.raises(PointillistError) as refused:
        check_settings({"smtp_security": "starttls", **changes})
    assert refused.value.field == field and words in refused.value.message
