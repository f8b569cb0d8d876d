"""The client handout: one document per client and plan, as HTML and as a PDF to keep.

The same Jinja2 templates (``reports/templates/handout/``) render the page the web app
previews and the PDF WeasyPrint prints, so the two never drift. Everything the template
shows is prepared here as plain strings (:func:`handout_context`): the template formats
nothing, and the web app's Jinja environment needs no filters of ours to render it.

The handout is made from plain values (:class:`Handout`): the CLI builds one from a
:class:`~pointillist.domain.consultation.TreatmentPlan`, the web app from the records
store. Sections the maker is not allowed to show (front-desk staff see no health data)
are simply left ``None``.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from pointillist.domain.aftercare import AftercareWindow
from pointillist.domain.consultation import TreatmentPlan
from pointillist.errors import PointillistError

Paper = Literal["a4", "letter"]
PAPERS: tuple[Paper, ...] = ("a4", "letter")
#: Page sizes in PDF points (1/72 inch): ISO 216 A4 is 210 x 297 mm, US Letter 8.5 x 11 in.
PAGE_POINTS: dict[Paper, tuple[float, float]] = {
    "a4": (595.276, 841.89),
    "letter": (612.0, 792.0),
}
TEMPLATE = "handout/handout.html"
STYLESHEET = "handout.css"


@dataclass(frozen=True)
class ClinicDetails:
    """Who hands the sheet over: the clinic's name and licence, as the records keep them."""

    name: str
    licence_number: str | None = None
    licence_authority: str | None = None
    licence_expires_on: dt.date | None = None


@dataclass(frozen=True)
class Appointment:
    """One day at the clinic. ``start`` is None until the appointment is booked."""

    label: str
    date: dt.date
    start: dt.time | None = None
    minutes: int | None = None
    booked: bool = False


@dataclass(frozen=True)
class InkRecord:
    """One pigment bottle used in one session: what its label says (REACH Annex XVII
    entry 75 requires the batch number on it, and that the client be given it)."""

    session_date: dt.date
    brand: str
    shade: str
    lot: str
    expires_on: dt.date


@dataclass(frozen=True)
class PreviewImage:
    """A rendered preview (before and after) to print, as encoded image bytes."""

    caption: str
    data: bytes
    media_type: str = "image/jpeg"

    @property
    def data_uri(self) -> str:
        # Inline data: no file or network fetch while printing, and the web preview's
        # content security policy allows data: images.
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode()}"


@dataclass(frozen=True)
class Handout:
    """Everything one handout shows.

    ``plan`` is the consultation in the JSON contract (:func:`plan_to_dict`), or None
    when the maker may not see it (then no screening, quote, area or previews appear).
    ``appointments`` and ``aftercare`` are dated from the bookings when there are any.
    """

    clinic: ClinicDetails
    client_name: str
    made_on: dt.date
    appointments: tuple[Appointment, ...]
    aftercare: tuple[AftercareWindow, ...]
    downtime: str
    plan: Mapping[str, Any] | None = None
    ink: tuple[InkRecord, ...] = ()
    previews: tuple[PreviewImage, ...] = ()


def appointments_from_plan(
    plan: Mapping[str, Any], opening_time: dt.time | None = None
) -> tuple[Appointment, ...]:
    """The planned days of a consultation (JSON contract), not yet booked: the test
    patch, its healing check and every session day."""
    days: list[Appointment] = []
    patch = plan.get("test_patch")
    if patch:
        days.append(
            Appointment("Test patch", _date(patch["date"]), opening_time, int(patch["minutes"]))
        )
        days.append(Appointment("Healing check", _date(patch["healing_check_date"]), None, None))
    for session in plan.get("sessions") or []:
        parts = session.get("days") or [
            {"date": session["date"], "minutes": session.get("duration_minutes")}
        ]
        for index, day in enumerate(parts, start=1):
            label = f"Session {session['number']}"
            if len(parts) > 1:
                label += f" (day {index} of {len(parts)})"
            minutes = day.get("minutes")
            days.append(
                Appointment(label, _date(day["date"]), opening_time, int(minutes or 0) or None)
            )
    return tuple(days)


def handout_from_plan(
    plan: TreatmentPlan,
    *,
    clinic: ClinicDetails,
    made_on: dt.date | None = None,
    opening_time: dt.time | None = None,
    ink: Sequence[InkRecord] = (),
    previews: Sequence[PreviewImage] = (),
) -> Handout:
    """The handout of a consultation made at the command line (nothing booked yet)."""
    from pointillist.reports.plan_json import plan_to_dict

    as_json = plan_to_dict(plan)
    return Handout(
        clinic=clinic,
        client_name=plan.client.name or "",
        made_on=made_on or plan.request.consultation_date,
        appointments=appointments_from_plan(as_json, opening_time),
        aftercare=plan.aftercare,
        downtime=plan.downtime,
        plan=as_json,
        ink=tuple(ink),
        previews=tuple(previews),
    )


# -- rendering ---------------------------------------------------------------------------


def template_environment() -> Environment:
    """The Jinja environment of the handout templates (the web app searches the same
    folder with its own environment)."""
    return Environment(
        loader=PackageLoader("pointillist.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def handout_html(handout: Handout, *, paper: Paper = "a4", stylesheet: str = STYLESHEET) -> str:
    """The handout as an HTML document linking ``stylesheet``."""
    context = handout_context(handout, paper=paper, stylesheet=stylesheet)
    return template_environment().get_template(TEMPLATE).render(context)


def handout_css() -> bytes:
    """The handout's stylesheet (screen and print)."""
    return (
        resources.files("pointillist.reports")
        .joinpath("templates/handout", STYLESHEET)
        .read_bytes()
    )


def handout_pdf(handout: Handout, *, paper: Paper = "a4") -> bytes:
    """Print the handout to PDF with WeasyPrint on ``paper`` (``a4`` or ``letter``).

    Nothing is fetched: the stylesheet comes from the package, images are inline, fonts
    come from the system's fontconfig (DejaVu, see ``.ci/run``).
    """
    if paper not in PAPERS:
        raise PointillistError(f"paper {paper!r} is unknown; use a4 or letter")
    weasyprint = _import_weasyprint()
    # The stylesheet is handed over directly and images are inline data: only data: URLs
    # may be fetched, so no value typed into a record can make the printer reach out.
    html = weasyprint.HTML(
        string=handout_html(handout, paper=paper, stylesheet=""),
        url_fetcher=weasyprint.URLFetcher(allowed_protocols=("data",)),
    )
    size = "A4" if paper == "a4" else "letter"
    pdf = html.write_pdf(
        stylesheets=[
            weasyprint.CSS(string=handout_css().decode()),
            weasyprint.CSS(string=f"@page {{ size: {size}; }}"),
        ]
    )
    assert pdf is not None
    return bytes(pdf)


def _import_weasyprint() -> Any:
    """WeasyPrint, imported without its side effect on Pillow.

    Importing it sets ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` for the whole process,
    which would make the photo checks (:mod:`pointillist.imaging.io`) accept truncated
    JPEGs and malformed PNG chunks once a server had printed one handout. The handout's
    own images are encoded by us, whole, so it does not need that leniency.
    """
    from PIL import ImageFile

    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
    except OSError as exc:
        # WeasyPrint loads Pango when imported: a machine without it fails here.
        raise PointillistError(
            "printing the handout needs Pango: apt-get install libpango-1.0-0 "
            f"libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core ({exc})"
        ) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    return weasyprint


# -- what the template shows -------------------------------------------------------------

#: The screening verdict in plain words, for the client.
VERDICT_WORDS = {
    "proceed": "Nothing in your answers stands in the way of treatment.",
    "caution": "Treatment can go ahead, with extra care for the reasons below.",
    "refer": "Before treatment, please see the professional named below: we need their "
    "opinion first.",
    "defer": "Treatment has to wait for now, for the reasons below.",
    "decline": "Scalp micropigmentation is not right for you, for the reasons below.",
}


def handout_context(
    handout: Handout, *, paper: Paper = "a4", stylesheet: str = STYLESHEET
) -> dict[str, Any]:
    """The template's values, every one of them already written out."""
    plan = handout.plan
    clinic = handout.clinic
    licence = None
    if clinic.licence_number:
        licence = f"Licence {clinic.licence_number}"
        if clinic.licence_authority:
            licence += f", {clinic.licence_authority}"
        if clinic.licence_expires_on:
            licence += f", valid until {_day(clinic.licence_expires_on)}"
    return {
        "paper": paper,
        "stylesheet": stylesheet,
        "clinic_name": clinic.name,
        "clinic_licence": licence,
        "client_name": handout.client_name or "Client",
        "made_on": _day(handout.made_on),
        "screening": _screening(plan) if plan is not None else None,
        "start_note": _iso_dates_in_words(plan.get("start_note")) if plan is not None else None,
        "area": _area(plan) if plan is not None else None,
        "appointments": [
            {
                "label": a.label,
                "date": _day(a.date, weekday=True),
                "time": a.start.strftime("%H:%M")
                if a.start
                else ("time to be agreed" if a.booked else "to be booked"),
                "length": _length(a.minutes),
                "booked": a.booked,
            }
            for a in handout.appointments
        ],
        "any_unbooked": any(not a.booked for a in handout.appointments),
        "aftercare": _aftercare(handout.aftercare),
        "downtime": _downtime(handout.downtime),
        "touch_up": _month(plan.get("touch_up_date")) if plan is not None else None,
        "quote": _quote(plan.get("quote")) if plan is not None else None,
        "previews": [{"caption": p.caption, "src": p.data_uri} for p in handout.previews],
        "ink": [
            {
                "session": _day(r.session_date),
                "brand": r.brand,
                "shade": r.shade,
                "lot": r.lot,
                "expires": _day(r.expires_on),
            }
            for r in handout.ink
        ],
    }


def _aftercare(windows: Sequence[AftercareWindow]) -> list[dict[str, Any]]:
    """One row per restriction with all its dates: a client looks up "may I shave?"
    rather than "what applies on the 3rd?". The longest (whole-course) ones first."""
    rows: dict[tuple[str, ...], list[AftercareWindow]] = {}
    for window in windows:
        rows.setdefault(window.avoid, []).append(window)
    ordered = sorted(rows.values(), key=lambda ws: -max((w.end - w.start).days for w in ws))
    return [
        {
            "avoid": _sentence(ws[0].avoid),
            "advice": ws[0].advice,
            "dates": [_span(w.start, w.end) for w in ws],
        }
        for ws in ordered
    ]


def _span(start: dt.date, end: dt.date) -> str:
    if start.year != end.year:
        return f"{_day(start)} to {_day(end)}"
    if start.month != end.month:
        return f"{start.day} {start:%B} to {_day(end)}"
    return f"{start.day} to {_day(end)}"


def _screening(plan: Mapping[str, Any]) -> dict[str, Any] | None:
    screening = plan.get("screening")
    if not screening:
        return None
    outcome = str(screening.get("outcome", "proceed"))
    findings = []
    for finding in screening.get("findings") or []:
        see = finding.get("refer_to")
        findings.append({"message": finding.get("message", ""), "see": see})
    earliest = screening.get("earliest_start")
    return {
        "outcome": outcome,
        "headline": VERDICT_WORDS.get(outcome, ""),
        "findings": findings,
        "see": _whom(f["see"] for f in findings) if outcome != "proceed" else [],
        "earliest": _day(_date(earliest)) if outcome == "defer" and earliest else None,
        "needs_review": bool(screening.get("needs_review")),
    }


def _iso_dates_in_words(note: str | None) -> str | None:
    # The domain's notes write dates as ISO for every reader; a client reads words.
    if not note:
        return None
    return re.sub(r"\b\d{4}-\d{2}-\d{2}\b", lambda m: _day(_date(m.group())), note)


def _downtime(note: str) -> str:
    # The domain's note lists every restriction after this phrase; the handout's table
    # below says them with their dates, so the sheet keeps only the promise and the rule.
    # The citation is for the practitioner (the JSON and the terminal keep it).
    note = note.replace(" (source article)", "")
    head, found, _ = note.partition(" That does not lift the aftercare")
    return f"{head} That does not lift the aftercare below." if found else note


def _whom(names: Iterable[str | None]) -> list[str]:
    """Each professional once: "a dermatologist" and "your dermatologist" are one visit."""
    seen: dict[str, str] = {}
    for name in names:
        if name:
            key = name.lower().removeprefix("a ").removeprefix("an ").removeprefix("your ")
            seen.setdefault(key.removeprefix("the ").strip(), name)
    return list(seen.values())


def _area(plan: Mapping[str, Any]) -> str | None:
    area = plan.get("area") or {}
    total = area.get("total_cm2")
    sessions = plan.get("sessions") or []
    if not total or not sessions:
        return None
    return f"{len(sessions)} sessions over about {total:.0f} cm² of scalp"


def _quote(quote: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not quote:
        return None
    currency = str(quote.get("currency", ""))
    return {
        "currency": currency,
        "lines": [
            {"label": line["label"], "amount": _money(line["amount"], currency)}
            for line in quote.get("lines") or []
        ],
        "total": _money(quote["total"], currency),
        "deposit": _money(quote["deposit"], currency),
        "deposit_note": quote.get("deposit_note"),
    }


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def _money(amount: float, currency: str) -> str:
    symbol = _SYMBOLS.get(currency)
    number = f"{float(amount):,.2f}"
    return f"{symbol}{number}" if symbol else f"{number} {currency}".strip()


def _date(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _day(day: dt.date, *, weekday: bool = False) -> str:
    text = f"{day.day} {day:%B %Y}"
    return f"{day:%a} {text}" if weekday else text


def _month(value: str | None) -> str | None:
    return None if not value else f"{_date(value):%B %Y}"


def _length(minutes: int | None) -> str:
    if not minutes:
        return ""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"


def _sentence(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
