"""``pointillist serve``: bring the database to the latest schema and run the API."""

from __future__ import annotations

from typing import Annotated

import typer

from pointillist.cli.app import app


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
) -> None:
    """Apply database migrations, then serve the records API.

    The sign-in page is at /, the API documentation at /docs, the schema at /openapi.json.
    """
    import uvicorn

    from pointillist.settings import Settings
    from pointillist.store.migrate import upgrade_to_head
    from pointillist.web import create_app

    settings = Settings() if database_url is None else Settings(database_url=database_url)
    _check_can_listen(host, port)
    url = settings.resolved_database_url()
    upgrade_to_head(url)
    typer.echo(f"pointillist: database {_redacted(url)} is up to date", err=True)
    typer.echo(f"pointillist: serving on http://{host}:{port} (API docs at /docs)", err=True)
    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from loopback;
    # the app reads it only from POINTILLIST_TRUSTED_PROXIES (pointillist.web.proxies).
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=False)


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
