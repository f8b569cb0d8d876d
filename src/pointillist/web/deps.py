"""Dependencies every router shares: settings, the database session, the signer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from pointillist.settings import Settings
from pointillist.store.db import session_scope
from pointillist.web.security import SessionSigner


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_signer(request: Request) -> SessionSigner:
    """The signer of session cookies and CSRF tokens."""
    signer: SessionSigner = request.app.state.signer
    return signer


#: Requests that only read: their session never writes (see pointillist.store.reads).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_factory_for(request: Request) -> sessionmaker[Session]:
    """The sessions for this request: read-only ones for GET and HEAD (no write lock; the
    audit entries they add are group-committed before the response), else the usual."""
    state = request.app.state
    factory: sessionmaker[Session] = (
        state.read_session_factory if request.method in READ_METHODS else state.session_factory
    )
    return factory


def get_db(request: Request) -> Iterator[Session]:
    """One database session per request: committed if the endpoint succeeds, else rolled
    back. Used with ``scope="function"`` so the commit happens before the response is
    sent, and a failed commit is an error response, not a silent loss."""
    with session_scope(session_factory_for(request)) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]
Signer = Annotated[SessionSigner, Depends(get_signer)]
