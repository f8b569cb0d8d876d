"""``pointillist serve``: bring the database to the latest schema and run the API."""

from __future__ import annotations

from typing import Annotated

import typer

from pointillist.cli.app import app

#: Idle connections are kept longer than clients keep theirs (httpx and browsers: about
#: 5 s), so that the client, not the server, closes one: a server closing it as a request
#: arrives makes that request fail ("server disconnected").
KEEP_ALIVE_SECONDS = 20


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="postgresql://user@host/db or sqlite:///file; "
            "default: $POINTILLIST_DATABASE_URL, else SQLite in the data directory.",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (PostgreSQL only; SQLite has one writer, so one process). "
            "About two per CPU core.",
        ),
    ] = 1,
) -> None:
    """Apply database migrations, then serve the records API.

    The sign-in page is at /, the API documentation at /docs, the schema at /openapi.json.
    """
    import os

    import uvicorn

    from pointillist.errors import PointillistError
    from pointillist.settings import Settings
    from pointillist.store.db import is_sqlite
    from pointillist.store.migrate import upgrade_to_head
    from pointillist.web import create_app

    settings = Settings() if database_url is None else Settings(database_url=database_url)
    url = settings.resolved_database_url()
    if workers > 1 and is_sqlite(url):
        raise PointillistError(
            "--workers above 1 needs PostgreSQL: SQLite serves one writer at a time, which "
            "one process already queues in order; give --database-url postgresql://..."
        )
    _check_can_listen(host, port)
    upgrade_to_head(url)
    typer.echo(f"pointillist: database {_redacted(url)} is up to date", err=True)
    typer.echo(f"pointillist: serving on http://{host}:{port} (API docs at /docs)", err=True)
    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from loopback;
    # the app reads it only from POINTILLIST_TRUSTED_PROXIES (pointillist.web.proxies).
    # Each worker's app checks the database's guards (triggers) as it starts.
    if workers == 1:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level="info",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            proxy_headers=False,
        )
        return
    # Worker processes build their own app from the environment, so pass the URL on.
    os.environ["POINTILLIST_DATABASE_URL"] = url
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


def _redacted(url: str) -> str:
    from pointillist.store.db import parse_database_url

    return parse_database_url(url).render_as_string(hide_password=True)
