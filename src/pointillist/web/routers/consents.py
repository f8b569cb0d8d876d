"""Consent templates (versioned) and clients' consents (immutable once signed).

A consent is prepared from a template version (the clinic's name filled in, the text's
SHA-256 kept), then signed: the signer's name, the time and the IP address are recorded
and from then on the consent can never change, neither through the API (409) nor in the
database (triggers refuse the update).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from pointillist.store import records
from pointillist.store.models import Consent, ConsentTemplate
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
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
    created_at: datetime


class ConsentIn(In):
    template_id: BodyId = Field(description="The template version to copy.")


class SignatureIn(In):
    signer_name: str = Field(min_length=1, max_length=200, description="Who signs.")


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
    client_id: PathId, body: ConsentIn, actor: CurrentActor, db: DbSession
) -> Consent:
    """An unsigned copy of a template version, to show the client and then sign."""
    return records.prepare_consent(db, actor.scope, client_id, template_id=body.template_id)


@router.get(
    "/api/clients/{client_id}/consents",
    response_model=list[ConsentOut],
    summary="A client's consents",
    responses=NOT_FOUND,
)
def list_consents(client_id: PathId, actor: CurrentActor, db: DbSession) -> list[Consent]:
    """Signed and unsigned, oldest first."""
    return records.list_for_client(db, actor.scope, Consent, client_id)


@router.get(
    "/api/consents/{consent_id}",
    response_model=ConsentOut,
    summary="A consent",
    responses=NOT_FOUND,
)
def get_consent(consent_id: PathId, actor: CurrentActor, db: DbSession) -> Consent:
    """One consent (the read is audited)."""
    return records.get_consent(db, actor.scope, consent_id)


@router.post(
    "/api/consents/{consent_id}/sign",
    response_model=ConsentOut,
    summary="Sign a consent",
    responses={**NOT_FOUND, **SIGNED},
)
def sign_consent(
    consent_id: PathId, body: SignatureIn, actor: CurrentActor, db: DbSession, request: Request
) -> Consent:
    """Record the signature: signer, time (UTC) and the IP address the request came from.
    A signed consent cannot be signed again or changed (409); prepare a new one."""
    return records.sign_consent(
        db,
        actor.scope,
        consent_id,
        signer_name=body.signer_name,
        signer_ip=request.client.host if request.client else None,
    )
