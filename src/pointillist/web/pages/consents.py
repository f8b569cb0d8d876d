"""Consents signed on the tablet: the template's text, the client's typed name and their
signature drawn with a finger or stylus, kept verbatim (a PNG ``data:`` URL) in the consent
and sealed with the rest (HMAC with the key in the data directory, see
:mod:`pointillist.store.integrity`). Signed means immutable: the store and the database
refuse any change, and a row changed behind pointillist's back no longer verifies.

Front-desk staff prepare and witness consents (``manage_consents``): no health data is
shown here.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pointillist.errors import PointillistError
from pointillist.store import records
from pointillist.store.errors import ImmutableRecord, NotFound
from pointillist.store.integrity import consent_verified
from pointillist.store.models import Client, Consent
from pointillist.web.deps import DbSession
from pointillist.web.pages._common import FormErrors, Page, SignedIn, form_text, redirect, render
from pointillist.web.proxies import client_address
from pointillist.web.routers._common import PathId

router = APIRouter(include_in_schema=False)

DATA_URL_PREFIX = "data:image/png;base64,"
#: Share of the signature box that must be ink: a tap or a stray touch is not a signature.
MIN_INK_SHARE = 0.002
#: The drawn signature is small: the canvas is 600 x 200 CSS pixels at most 3x density.
MAX_SIGNATURE_BYTES = 512 * 1024


def _consent_of(db: DbSession, page: Page, client: Client, consent_id: int) -> Consent:
    consent = records.get_consent(db, page.scope, consent_id)
    if consent.client_id != client.id:
        raise NotFound(f"no consent {consent_id} for this client")
    return consent


@router.get("/clients/{client_id}/consents")
def consents_page(request: Request, client_id: PathId, page: SignedIn, db: DbSession) -> Response:
    client = records.get_client(db, page.scope, client_id)
    return _list(request, db, page, client)


def _list(
    request: Request, db: DbSession, page: Page, client: Client, errors: FormErrors | None = None
) -> Response:
    latest: dict[str, object] = {}
    for template in records.consent_templates(db, page.scope):
        latest[template.name] = template  # by name, then version: the last is the newest
    return render(
        request,
        "consents/list.html",
        {
            "client": client,
            "consents": list(reversed(records.list_for_client(db, page.scope, Consent, client.id))),
            "templates": list(latest.values()),
            "errors": errors or FormErrors(),
        },
        status_code=422 if errors else 200,
    )


@router.post("/clients/{client_id}/consents")
async def prepare(request: Request, client_id: PathId, page: SignedIn, db: DbSession) -> Response:
    client = records.get_client(db, page.scope, client_id)
    form = await request.form()
    chosen = form_text(form, "template_id")
    if not chosen.isdigit():
        errors = FormErrors(summary="choose the consent to sign")
        return _list(request, db, page, client, errors)
    consent = records.prepare_consent(db, page.scope, client.id, template_id=int(chosen))
    return redirect(request, f"/clients/{client.id}/consents/{consent.id}")


@router.get("/clients/{client_id}/consents/{consent_id}")
def consent_page(
    request: Request, client_id: PathId, consent_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    client = records.get_client(db, page.scope, client_id)
    consent = _consent_of(db, page, client, consent_id)
    return _show(request, client, consent, {"signer_name": client.name})


def _show(
    request: Request,
    client: Client,
    consent: Consent,
    form: dict[str, str],
    errors: FormErrors | None = None,
) -> Response:
    return render(
        request,
        "consents/sign.html",
        {
            "client": client,
            "consent": consent,
            "drawn_png": (consent.drawn_signature or "").startswith(DATA_URL_PREFIX),
            "verified": consent_verified(request.app.state.integrity_key, consent),
            "shown_text": reflow(consent.text),
            "form": form,
            "errors": errors or FormErrors(),
        },
        status_code=422 if errors else 200,
    )


@router.post("/clients/{client_id}/consents/{consent_id}/sign")
async def sign(
    request: Request, client_id: PathId, consent_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    client = records.get_client(db, page.scope, client_id)
    consent = _consent_of(db, page, client, consent_id)
    if consent.signed_at is not None:
        raise ImmutableRecord(
            f"this consent was signed on {consent.signed_at:%Y-%m-%d %H:%M} UTC and cannot be "
            "changed; prepare a new one instead"
        )
    form = await request.form()
    typed = {
        "signer_name": form_text(form, "signer_name"),
        "signature": form_text(form, "signature"),
        "typed_only": form_text(form, "typed_only"),
        "read": form_text(form, "read"),
    }
    errors = FormErrors()
    if not typed["signer_name"]:
        errors.fields["signer_name"] = "type the full name of the person signing"
    if typed["read"] != "yes":
        errors.fields["read"] = "the client must confirm they have read the text"
    signature = None
    if typed["typed_only"] != "yes":
        try:
            _check_signature(typed["signature"])
            signature = typed["signature"]
        except PointillistError as exc:
            errors.fields["signature"] = exc.message
    if not errors:
        try:
            records.sign_consent(
                db,
                page.scope,
                consent.id,
                signer_name=typed["signer_name"],
                signer_ip=client_address(request),
                seal_key=request.app.state.integrity_key,
                drawn_signature=signature,
            )
        except PointillistError as exc:
            errors.add(exc)
        else:
            return redirect(
                request,
                f"/clients/{client.id}/consents/{consent.id}",
                flash=f"Consent signed by {typed['signer_name']}; it can no longer be changed.",
            )
    errors.summary = errors.summary or "not signed yet: see below"
    return _show(request, client, consent, typed, errors)


def reflow(text: str) -> str:
    """The consent text for the screen: lines wrapped in the template joined again, so the
    browser wraps them to the tablet's width; paragraphs and "- " items stay. (What is
    signed and hashed is the text itself, unchanged.)"""
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        joins = out and out[-1] and stripped and not stripped.startswith("- ")
        if joins:
            out[-1] = f"{out[-1]} {stripped}"
        else:
            out.append(stripped)
    return "\n".join(out)


def _signature_png(data_url: str) -> bytes:
    """The PNG bytes of a drawn signature's ``data:`` URL; refused if not a PNG or too large."""
    if not data_url.startswith(DATA_URL_PREFIX):
        raise PointillistError("the signature did not come as a PNG drawing; draw it again")
    try:
        data = base64.b64decode(data_url[len(DATA_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise PointillistError(
            "the signature drawing is damaged; clear it and draw again"
        ) from None
    if len(data) > MAX_SIGNATURE_BYTES:
        raise PointillistError("the signature drawing is too large; clear it and draw again")
    return data


def _check_signature(data_url: str) -> None:
    """Refuse a drawn signature that is missing, not a PNG, too large or (almost) empty."""
    from pointillist.imaging.io import load_image

    if not data_url:
        raise PointillistError("draw the signature in the box (or tick 'typed name only')")
    rgb = load_image(_signature_png(data_url), max_megapixels=2.0).rgb
    ink = float((rgb.mean(axis=2) < 128).mean())
    if ink < MIN_INK_SHARE:
        raise PointillistError("the signature box is (almost) empty: draw the signature")


@router.get("/clients/{client_id}/consents/{consent_id}/signature.png")
def signature_image(
    request: Request, client_id: PathId, consent_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    client = records.get_client(db, page.scope, client_id)
    consent = _consent_of(db, page, client, consent_id)
    drawn = consent.drawn_signature
    # Signed through the API, the drawing may be an SVG path: only a PNG is served here.
    if drawn is None or not drawn.startswith(DATA_URL_PREFIX):
        raise NotFound(f"consent {consent_id} has no drawn signature")
    return Response(
        _signature_png(drawn), media_type="image/png", headers={"Cache-Control": "no-store"}
    )
