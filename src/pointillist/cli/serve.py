"""``pointillist serve``: bring the database to the latest schema and run the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pointillist.cli._common import DatabaseUrl, shown_database_url
from pointillist.cli.app import app

#: Idle connections are kept longer than clients keep theirs (httpx and browsers: about
#: 5 s), so that the client, not the server, closes one: a server closing it as a request
#: arrives makes that request fail ("server disconnected").
KEEP_ALIVE_SECONDS = 20


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8000,
    database_url: DatabaseUrl = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (PostgreSQL only; SQLite has one writer, so one process). "
            "About two per CPU core.",
        ),
    ] = 1,
    clinic: Annotated[
        Path | None,
        typer.Option(
            "--clinic",
            help="The clinic policy (TOML: [plan], [zones], [aftercare], [pricing]); "
            "default: $POINTILLIST_CLINIC_FILE, else the packaged defaults.",
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="The clinic's screening rules (TOML); default: $POINTILLIST_RULES_FILE.",
        ),
    ] = None,
    pigments: Annotated[
        Path | None,
        typer.Option(
            "--pigments",
            help="The clinic's pigment catalogue (TOML); default: $POINTILLIST_PIGMENTS_FILE.",
        ),
    ] = None,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--with-worker",
            help="Also send the clinic's messages from this process (as `pointillist "
            "worker` would): for a clinic on one machine.",
        ),
    ] = False,
) -> None:
    """Apply database migrations, then serve the clinic web app and the records API.

    The app is at /, the API schema at /openapi.json (the API is described in
    docs/records.md). The policy files are checked before the server starts.
    """

    import uvicorn

    from pointillist.color.dot import catalogue
    from pointillist.domain import load_policy as load_consultation_policy
    from pointillist.errors import PointillistError
    from pointillist.settings import Settings
    from pointillist.store.client_keys import KeyFile
    from pointillist.store.db import is_sqlite
    from pointillist.store.migrate import upgrade_to_head
    from pointillist.web import create_app

    given: dict[str, Any] = {
        "database_url": database_url,
        "clinic_file": clinic,
        "rules_file": rules,
        "pigments_file": pigments,
    }
    # Options left out fall back to the environment (POINTILLIST_CLINIC_FILE ...).
    settings = Settings(**{key: value for key, value in given.items() if value is not None})
    if workers > 1 and is_sqlite(settings.resolved_database_url()):
        raise PointillistError(
            "--workers above 1 needs PostgreSQL: SQLite serves one writer at a time, which "
            "one process already queues in order; give --database-url postgresql://..."
        )
    _check_can_listen(host, port)
    # Checked before the migrations: a bad policy file fails here, before anything changes.
    load_consultation_policy(settings.clinic_file, settings.rules_file)
    catalogue(settings.pigments_file)
    url = settings.resolved_database_url()
    upgrade_to_head(url)
    typer.echo(f"pointillist: database {shown_database_url(url)} is up to date", err=True)
    # Built after the migrations: the app refuses a database without its triggers. Worker
    # processes build their own (below), so the parent builds none then.
    web_app = create_app(settings) if workers == 1 else None
    for what, path in (
        ("clinic policy", settings.clinic_file),
        ("screening rules", settings.rules_file),
        ("pigment catalogue", settings.pigments_file),
    ):
        typer.echo(f"pointillist: {what}: {path or 'packaged defaults'}", err=True)
    typer.echo(f"pointillist: {settings.cookie_security()}", err=True)
    typer.echo(
        f"pointillist: serving on http://{host}:{port} (the app at /, the API schema at "
        "/openapi.json)",
        err=True,
    )
    messages = None
    if with_worker:
        from pointillist.messaging.worker import BackgroundWorker

        messages = BackgroundWorker(url, settings.secret_key(), KeyFile(settings.client_keys_file))
        messages.start()
        typer.echo("pointillist: sending due messages from this process (--with-worker)", err=True)
    try:
        _run(uvicorn, web_app, settings, url, host, port, workers)
    finally:
        if messages is not None:
            messages.close()


def _run(
    uvicorn: Any, web_app: Any, settings: Any, url: str, host: str, port: int, workers: int
) -> None:
    import os

    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from loopback;
    # the app reads it only from POINTILLIST_TRUSTED_PROXIES (pointillist.web.proxies).
    if web_app is not None:
        uvicorn.run(
            web_app,
            host=host,
            port=port,
            log_level="info",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            proxy_headers=False,
        )
        return
    # Worker processes build their own app from the environment (each checks the
    # database's guards as it starts), so pass the URL and the policy files on.
    os.environ["POINTILLIST_DATABASE_URL"] = url
    for name, path in (
        ("POINTILLIST_CLINIC_FILE", settings.clinic_file),
        ("POINTILLIST_RULES_FILE", settings.rules_file),
        ("POINTILLIST_PIGMENTS_FILE", settings.pigments_file),
    ):
        if path is not None:
            os.environ[name] = str(path)
    uvicorn.run(
        "pointillist.web:create_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        proxy_headers=False,
    )


def _check_can_listen(host: str, port: int) -> None:
    """Fail in one line, before the migrations, if the address is taken or not ours."""
    import socket

    from pointillist.errors import PointillistError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PointillistError(f"cannot listen on {host}: {exc.strerror}; check --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise PointillistError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port "
                "or stop the program that uses it"
            ) from None
