"""Consent templates (versioned) and clients' consents (immutable once signed).

A consent is prepared from a template version (the clinic's name filled in, the text's
SHA-256 kept), then signed: the signer's name, the time, the IP address and the drawn
signature are recorded and sealed (HMAC with a key outside the database), and from then
on the consent can never change, neither through the API (409) nor in the database
(triggers refuse the update, the delete and the replacement). Every answer says whether
the seal still matches (``verified``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from pointillist.store import records
from pointillist.store.integrity import consent_verified
from pointillist.store.models import Consent, ConsentTemplate
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.proxies import client_address
from pointillist.web.routers._common import NOT_FOUND, BodyId, In, Out, PathId, Problem

router = APIRouter(tags=["consents"])

SIGNED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "The consent is already signed: it can never change."}
}


class TemplateOut(Out):
    id: int
    name: str
    version: int
    text: str
    sources: list[str]
    created_at: datetime


class TemplateIn(In):
    name: str = Field(min_length=1, max_length=100, examples=["treatment"])
    text: str = Field(
        min_length=1, description="The wording; {clinic} is replaced by the clinic's name."
    )
    sources: list[str] = Field(default_factory=list, description="Where the wording comes from.")


class ConsentOut(Out):
    id: int
    client_id: int
    template_id: int
    text: str = Field(description="The exact text shown to the client.")
    content_sha256: str = Field(description="SHA-256 of the text (UTF-8).")
    signer_name: str | None
    signer_ip: str | None
    signed_at: datetime | None = Field(description="null while unsigned.")
    drawn_signature: str | None = Field(description="The signature drawn on the screen.")
    verified: bool | None = Field(
        description="Whether the signed consent still matches its seal: false means the "
        "record was changed outside pointillist (or was signed before seals existed); "
        "null while unsigned."
    )
    created_at: datetime


class ConsentIn(In):
    template_id: BodyId = Field(description="The template version to copy.")


class SignatureIn(In):
    signer_name: str = Field(min_length=1, max_length=200, description="Who signs.")
    drawn_signature: str | None = Field(
        default=None,
        max_length=500_000,
        description="The signature drawn on the screen, as an SVG path or a data: URL; "
        "kept verbatim and sealed with the rest.",
    )


def _out(request: Request, consent: Consent) -> ConsentOut:
    key: bytes = request.app.state.integrity_key
    return ConsentOut.model_validate(
        {
            **{
                name: getattr(consent, name)
                for name in ConsentOut.model_fields
                if name != "verified"
            },
            "verified": consent_verified(key, consent),
        }
    )


@router.get(
    "/api/consent-templates", response_model=list[TemplateOut], summary="List consent templates"
)
def list_templates(
    actor: CurrentActor,
    db: DbSession,
    name: Annotated[str | None, Query(description="Only this template's versions.")] = None,
) -> list[ConsentTemplate]:
    """Every version of every template, by name then version."""
    return records.consent_templates(db, actor.scope, name=name)


@router.post(
    "/api/consent-templates",
    response_model=TemplateOut,
    status_code=201,
    summary="Add a template version (owner)",
)
def create_template(body: TemplateIn, actor: CurrentActor, db: DbSession) -> ConsentTemplate:
    """New wording is a new version of the template named ``name``; consents already
    signed keep the text they were signed with."""
    return records.add_template_version(db, actor.scope, body.name, body.text, sources=body.sources)


@router.get(
    "/api/consent-templates/{template_id}",
    response_model=TemplateOut,
    summary="A consent template version",
    responses=NOT_FOUND,
)
def get_template(template_id: PathId, actor: CurrentActor, db: DbSession) -> ConsentTemplate:
    """One template version."""
    actor.scope.require("read_records")
    return records.scoped_get(db, actor.scope, ConsentTemplate, template_id)


@router.post(
    "/api/clients/{client_id}/consents",
    response_model=ConsentOut,
    status_code=201,
    summary="Prepare a consent for a client",
    responses=NOT_FOUND,
)
def prepare_consent(
    client_id: PathId, body: ConsentIn, actor: CurrentActor, db: DbSession, request: Request
) -> ConsentOut:
    """An unsigned copy of a template version, to show the client and then sign."""
    consent = records.prepare_consent(db, actor.scope, client_id, template_id=body.template_id)
    return _out(request, consent)


@router.get(
    "/api/clients/{client_id}/consents",
    response_model=list[ConsentOut],
    summary="A client's consents",
    responses=NOT_FOUND,
)
def list_consents(
    client_id: PathId, actor: CurrentActor, db: DbSession, request: Request
) -> list[ConsentOut]:
    """Signed and unsigned, oldest first."""
    return [_out(request, c) for c in records.list_for_client(db, actor.scope, Consent, client_id)]


@router.get(
    "/api/consents/{consent_id}",
    response_model=ConsentOut,
    summary="A consent",
    responses=NOT_FOUND,
)
def get_consent(
    consent_id: PathId, actor: CurrentActor, db: DbSession, request: Request
) -> ConsentOut:
    """One consent (the read is audited)."""
    return _out(request, records.get_consent(db, actor.scope, consent_id))


@router.post(
    "/api/consents/{consent_id}/sign",
    response_model=ConsentOut,
    summary="Sign a consent",
    responses={**NOT_FOUND, **SIGNED},
)
def sign_consent(
    consent_id: PathId, body: SignatureIn, actor: CurrentActor, db: DbSession, request: Request
) -> ConsentOut:
    """Record the signature: signer, time (UTC), the client's IP address (as the peer or
    a trusted proxy gives it) and the drawn signature, all sealed. A signed consent cannot
    be signed again or changed (409); prepare a new one."""
    consent = records.sign_consent(
        db,
        actor.scope,
        consent_id,
        signer_name=body.signer_name,
        signer_ip=client_address(request),
        seal_key=request.app.state.integrity_key,
        drawn_signature=body.drawn_signature,
    )
    return _out(request, consent)
