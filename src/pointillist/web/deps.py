"""Dependencies every router shares: settings, the database session, the signer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from pointillist.settings import Settings
from pointillist.web.security import SessionSigner

# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in a
# worker thread, and each such hop costs a request two thread switches (milliseconds when
# the machine is busy).


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_signer(request: Request) -> SessionSigner:
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


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One database session per request: committed if the endpoint succeeds, else rolled
    back. Used with ``scope="function"`` so the commit happens before the response is
    sent, and a failed commit is an error response, not a silent loss.

    Made on the event loop (a session connects only when first used, in the endpoint's
    or the sign-in check's thread); the commit, which may wait for the database, in a
    worker thread."""
    session = session_factory_for(request)()
    try:
        yield session
        await run_in_threadpool(_commit, session)
    except BaseException:
        await run_in_threadpool(_rollback, session)
        raise


def _commit(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        _rollback(session)
        raise
    session.close()


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]
Signer = Annotated[SessionSigner, Depends(get_signer)]
