"""The wording of each message: the shipped defaults (``data/messaging.toml``) with the
clinic's own over them, rendered in a sandbox.

A clinic edits its templates on a page, so they are untrusted input: they run in Jinja's
:class:`~jinja2.sandbox.SandboxedEnvironment` (no attribute access to Python internals)
with undefined names as errors, and every template is rendered against a sample before it
is saved, so a typo is refused on the page rather than failing a send at night.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from pointillist.data import load_table
from pointillist.errors import PointillistError

PARTS = ("subject", "text", "html", "sms")
PART_NAMES = {"subject": "subject", "text": "plain-text body", "html": "HTML body", "sms": "SMS"}
KIND_NAMES = {
    "appointment": "Appointment reminder (24 h before, with a calendar invitation)",
    "aftercare": "Aftercare (the day after each session)",
    "aftercare-end": "End of the restriction window",
    "touch-up": "Touch-up recall",
}

_text_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_html_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


def default_templates() -> dict[str, dict[str, str]]:
    """The shipped wording, by kind and part."""
    table = load_table("messaging")["templates"]
    return {kind: {part: str(table[kind][part]) for part in PARTS} for kind in KIND_NAMES}


def effective_templates(own: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """The shipped wording with the clinic's own parts over it."""
    merged = default_templates()
    for kind, parts in (own or {}).items():
        if kind in merged and isinstance(parts, Mapping):
            for part, value in parts.items():
                if part in PARTS and isinstance(value, str) and value.strip():
                    merged[kind][part] = value
    return merged


@dataclass(frozen=True)
class Rendered:
    """A message ready to send."""

    subject: str
    text: str
    html: str
    sms: str


def render_message(
    templates: Mapping[str, Mapping[str, str]], kind: str, context: Mapping[str, Any]
) -> Rendered:
    """Render every part of ``kind`` with ``context``.

    Raises
    ------
    PointillistError
        If a template does not render (a misspelt name, a syntax error), naming which.
    """
    parts = {part: _render(kind, part, templates[kind][part], context) for part in PARTS}
    # A subject is one header line: a newline in it would start another header.
    subject = " ".join(parts["subject"].split())
    return Rendered(
        subject=subject, text=parts["text"], html=parts["html"], sms=parts["sms"].strip()
    )


def _render(kind: str, part: str, source: str, context: Mapping[str, Any]) -> str:
    env = _html_env if part == "html" else _text_env
    try:
        return env.from_string(source).render(**context)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise PointillistError(
            f"the {PART_NAMES[part]} of the {kind} message does not render{where}: {exc.message}; "
            "use only the names listed under the templates",
            field=f"{kind}.{part}",
        ) from None


def sample_context(kind: str) -> dict[str, Any]:
    """Made-up values of every name a ``kind`` template may use (to check a template)."""
    base: dict[str, Any] = {
        "client_name": "Sam Rivera",
        "clinic_name": "Demo SMP Studio",
        "unsubscribe_url": "https://clinic.example/unsubscribe/sample",
        "message": "",
        "session_date": "2026-12-01",
        "restrictions": ["keep the scalp dry until 2026-12-05"],
        "last_session_date": "2026-12-01",
        "years": 3,
        "appointment": {
            "date": "2026-12-03",
            "time": "10:00",
            "minutes": 240,
            "practitioner": "Priya Practitioner",
        },
    }
    return base


def check_templates(own: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The clinic's own wording, kept only where it differs from the default, each part
    rendered against :func:`sample_context` first.

    Raises
    ------
    PointillistError
        Naming the first part that does not render (``field`` is ``kind.part``).
    """
    defaults = default_templates()
    kept: dict[str, dict[str, str]] = {}
    for kind, parts in own.items():
        if kind not in defaults:
            raise PointillistError(f"there is no {kind!r} message", field=kind)
        for part, value in parts.items():
            if part not in PARTS:
                raise PointillistError(f"a message has no part {part!r}", field=f"{kind}.{part}")
            value = value.replace("\r\n", "\n")
            if not value.strip() or value.strip() == defaults[kind][part].strip():
                continue
            _render(kind, part, value, sample_context(kind))
            kept.setdefault(kind, {})[part] = value
    return kept
