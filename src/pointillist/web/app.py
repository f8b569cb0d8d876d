"""The FastAPI application: ``create_app(settings)`` builds one, wired to one database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from pointillist.color.dot import catalogue
from pointillist.domain import load_policy as load_consultation_policy
from pointillist.settings import Settings, get_settings
from pointillist.store.accounts import TokenUses
from pointillist.store.client_keys import KeyFile
from pointillist.store.db import make_engine, session_factory, session_scope
from pointillist.store.fsck import check_photo_store
from pointillist.store.integrity import require_guards
from pointillist.store.photos import PhotoStore
from pointillist.store.policy import load_policy
from pointillist.store.reads import GroupWriter, read_session_factory
from pointillist.store.shredding import encrypt_plaintext_rows
from pointillist.web.errors import install_error_handlers
from pointillist.web.headers import ResponseHeadersMiddleware
from pointillist.web.limits import AdmissionMiddleware, BodyLimitMiddleware
from pointillist.web.proxies import parse_trusted_proxies
from pointillist.web.sealer import AuditSealer
from pointillist.web.security import SessionSigner
from pointillist.web.throttle import LoginThrottle
from pointillist.web.uploads import AuthenticateUploadsMiddleware, DecodeSlots

log = logging.getLogger(__name__)

#: JSON request bodies are forms and answers, never files: 1 MB is generous.
JSON_BODY_LIMIT = 2**20

#: How often the API tokens' last use is written (one short transaction for all of them).
TOKEN_USE_FLUSH_SECONDS = 60.0

#: Connections beyond one per request in progress: /healthz (outside the queue), the
#: upload sign-in check, the token-use writer, the audit sealer and the writer of read
#: requests' audit entries.
POOL_HEADROOM = 5

DESCRIPTION = """\
Records of a scalp micropigmentation clinic: clients, consultations, consents, photos,
plans, sessions and the pigment lots used, with the gates the trade asks for.

**Authentication.** API clients send `Authorization: Bearer <token>` (create one with
`POST /api/auth/tokens`). Browsers sign in with `POST /api/auth/login`, which sets an
HttpOnly session cookie and a `pointillist_csrf` cookie; every request that changes
something must then echo that cookie's value in the `X-CSRF-Token` header, or it is
refused with 403.

**Scope.** Every record belongs to the signed-in user's clinic. Another clinic's records
answer 404, exactly as records that do not exist.

**Errors.** Every error is JSON with a `detail` sentence that says what to do; 422
answers also list `errors`, one `{field, message, location}` per bad field.

**Warnings.** When the clinic's licence has expired, every response carries an
`X-Pointillist-Warning` header saying so.
"""

TAGS = [
    {"name": "health", "description": "Liveness and database reachability."},
    {"name": "auth", "description": "Sign in and out, the current user, API tokens."},
    {"name": "clinic", "description": "The signed-in user's clinic and its licence."},
    {"name": "users", "description": "Accounts and roles (owner only)."},
    {"name": "practitioners", "description": "Practitioners, their licences and speed."},
    {"name": "clients", "description": "Clients, their export (zip) and erasure."},
    {"name": "consultations", "description": "Answers in, screening, plan and quote out."},
    {"name": "consents", "description": "Consent templates and signed, immutable consents."},
    {"name": "photos", "description": "Photos (EXIF stripped) and marketing consent."},
    {"name": "simulations", "description": "Simulation parameters and output files."},
    {"name": "plans", "description": "Treatment plan and quote snapshots."},
    {"name": "sessions", "description": "Booked and completed sessions, lots used, gates."},
    {"name": "bottles", "description": "Pigment bottles and lot recall."},
    {"name": "reminders", "description": "Aftercare and touch-up reminders."},
    {"name": "audit", "description": "Who read or changed which record, when."},
]


def _version() -> str:
    try:
        return version("pointillist")
    except PackageNotFoundError:
        return "0+unknown"


def _operation_id(route: APIRoute) -> str:
    return route.name


def _report_leftover_files(factory: sessionmaker[Session], photos: PhotoStore) -> None:
    try:
        with session_scope(factory) as session:
            report = check_photo_store(session, photos)
    except OperationalError:
        return
    if not report.clean:
        log.warning(
            "%d photo files no record refers to and %d unfinished uploads in %s; "
            "'pointillist admin fsck' removes them",
            len(report.unreferenced),
            len(report.temporaries),
            photos.root,
        )


def _encrypt_plaintext_rows(factory: sessionmaker[Session]) -> None:
    # Rows from before client encryption (migration 0006) are encrypted once, here.
    try:
        with session_scope(factory) as session:
            done = encrypt_plaintext_rows(session)
    except OperationalError:
        return
    if done:
        log.info("encrypted %d records written before client encryption", done)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for the database and data directory in ``settings``.

    The schema must already be at the latest migration (``pointillist serve`` applies
    migrations before it starts the app).
    """
    # Imported here: the routers import pointillist.web.auth, whose package imports this.
    from pointillist.web.pages import PAGE_ROUTERS
    from pointillist.web.routers import ROUTERS, health
    from pointillist.web.routers._common import COMMON_ERRORS

    settings = settings or get_settings()
    engine = make_engine(
        settings.resolved_database_url(),
        serialise_writes=True,
        # One connection per request being worked on (the admission queue's bound) and a
        # few more: no request ever waits for a connection, so none stalls on the pool.
        pool_size=settings.max_concurrent_requests + POOL_HEADROOM,
        max_overflow=0,
        pool_timeout=settings.queue_wait_seconds,
    )
    try:
        # Refuse to serve a database that no longer protects consents and the audit log.
        require_guards(engine)
    except OperationalError:
        # Unreachable now: /healthz says so; `pointillist serve` migrates (and so reaches
        # the database) before it gets here.
        log.warning("database unreachable at start: its guards were not checked")
    keys = KeyFile(settings.client_keys_file)
    factory = session_factory(engine, keys=keys)
    read_rows = GroupWriter(engine)
    token_uses = TokenUses()
    integrity_key = settings.integrity_key()
    sealer = AuditSealer(factory, integrity_key, interval_s=settings.audit_chain_interval_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sealer.start()
        # FastAPI and pydantic build each route's validators and serialisers on first
        # use: building the schema now does most of it before the first client waits
        # (a cold worker's first requests took 40-100 ms each; measured by
        # bench/server_load.py's first 10 s window).
        _app.openapi()
        writer = asyncio.create_task(_write_token_uses(factory, token_uses))
        yield
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await run_in_threadpool(_flush_token_uses, factory, token_uses)
        await run_in_threadpool(read_rows.stop)
        sealer.stop()
        engine.dispose()

    app = FastAPI(
        title="pointillist records API",
        version=_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        # Operation ids are the endpoint function names (upload_photo, recall, ...): what
        # client generators turn into method names.
        generate_unique_id_function=_operation_id,
        # Swagger UI and ReDoc load their scripts from a CDN, which a clinic machine
        # offline cannot reach: serve the schema only (/openapi.json).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.read_session_factory = read_session_factory(engine, read_rows, keys=keys)
    app.state.read_rows_writer = read_rows
    app.state.token_uses = token_uses
    app.state.decode_slots = DecodeSlots(
        settings.max_concurrent_decodes, settings.queue_wait_seconds
    )
    app.state.signer = SessionSigner(settings.secret_key(), settings.session_max_age_seconds)
    app.state.records_policy = load_policy(settings.records_override)
    app.state.photo_store = PhotoStore.from_settings(settings)
    _report_leftover_files(app.state.session_factory, app.state.photo_store)
    _encrypt_plaintext_rows(app.state.session_factory)
    # The clinic's policy files are read and checked now: a misspelt key or an impossible
    # value stops the server with one clear error instead of failing a consultation later.
    app.state.consult_policy = load_consultation_policy(settings.clinic_file, settings.rules_file)
    app.state.pigment_catalogue = catalogue(settings.pigments_file)
    app.state.integrity_key = integrity_key
    records_policy = app.state.records_policy
    app.state.login_throttle = LoginThrottle(
        max_per_account=records_policy.max_failures_per_account,
        max_per_address=records_policy.max_failures_per_address,
        window_s=records_policy.failure_window_minutes * 60,
    )
    app.state.trusted_proxies = parse_trusted_proxies(settings.trusted_proxies)

    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware, upload_limit=settings.upload_max_bytes, json_limit=JSON_BODY_LIMIT
    )
    app.add_middleware(AuthenticateUploadsMiddleware)
    app.add_middleware(
        AdmissionMiddleware,
        concurrent=settings.max_concurrent_requests,
        queued=settings.max_queued_requests,
        wait_seconds=settings.queue_wait_seconds,
    )
    # Added last, so outermost: its headers also go on the other middlewares' own answers.
    app.add_middleware(ResponseHeadersMiddleware)
    for router in ROUTERS:
        app.include_router(router, responses=COMMON_ERRORS if router is not health.router else None)
    for router in PAGE_ROUTERS:
        app.include_router(router, include_in_schema=False)
    static = resources.files("pointillist.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app


def _flush_token_uses(factory: sessionmaker[Session], token_uses: TokenUses) -> None:
    try:
        with session_scope(factory) as db:
            token_uses.flush(db)
    except SQLAlchemyError:
        # "Last used" is informative only: log it; the next use notes a newer time anyway.
        log.warning("could not record API token use", exc_info=True)


async def _write_token_uses(factory: sessionmaker[Session], token_uses: TokenUses) -> None:
    while True:
        await asyncio.sleep(TOKEN_USE_FLUSH_SECONDS)
        await run_in_threadpool(_flush_token_uses, factory, token_uses)
