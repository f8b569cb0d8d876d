"""``pointillist demo-clinic``: the clinic web app on a demo clinic (what ``make run`` runs)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pointillist.cli.app import app

DEMO_DATA_DIR = Path("~/.local/share/pointillist-demo")


@app.command("demo-clinic")
def demo_clinic(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8000,
    data: Annotated[
        Path,
        typer.Option(help="Data directory of the demo (SQLite database, photos, secret key)."),
    ] = DEMO_DATA_DIR,
    preview: Annotated[
        bool, typer.Option(help="Render the demo client's saved preview (a few seconds).")
    ] = True,
    with_worker: Annotated[
        bool,
        typer.Option(
            help="Send the demo clinic's messages (to a test mail server on localhost:8025)."
        ),
    ] = True,
    mail_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Port of the test mail server on localhost the demo sends to (default 8025).",
        ),
    ] = None,
) -> None:
    """Open a demo clinic (staff, clients with photos, a consultation, a plan, a saved
    preview) in its own data directory and serve the clinic app on it.

    The demo's SQLite database is kept between runs, so what you do in it stays; delete
    the data directory to start again.
    """
    import uvicorn

    from pointillist.cli.serve import _check_can_listen
    from pointillist.messaging.demo import set_up_demo_messages
    from pointillist.messaging.worker import BackgroundWorker
    from pointillist.settings import Settings
    from pointillist.store.client_keys import KeyFile
    from pointillist.store.db import make_engine, session_factory
    from pointillist.store.migrate import upgrade_to_head
    from pointillist.store.photos import PhotoStore
    from pointillist.web import create_app
    from pointillist.web.demo import DEMO_CREDIT, demo_logins, demo_table, seed_demo_clinic

    settings = Settings(data=data.expanduser(), database_url=None)
    _check_can_listen(host, port)
    upgrade_to_head(settings.resolved_database_url())
    engine = make_engine(settings.resolved_database_url())
    try:
        if preview:
            typer.echo("pointillist: opening the demo clinic (rendering its preview) ...", err=True)
        created = seed_demo_clinic(
            session_factory(engine, keys=KeyFile(settings.client_keys_file)),
            PhotoStore.from_settings(settings),
            seal_key=settings.integrity_key(),
            preview=preview,
        )
        set_up_demo_messages(
            session_factory(engine, keys=KeyFile(settings.client_keys_file)),
            f"http://{host}:{port}",
            mail_port,
        )
    finally:
        engine.dispose()
    state = "opened" if created else "already there, kept"
    typer.echo(f"pointillist: demo clinic {state} in {settings.data}", err=True)
    typer.echo(f"pointillist: demo photos: {DEMO_CREDIT}", err=True)
    typer.echo("")
    typer.echo(f"  Open http://{host}:{port}/ and sign in as:")
    for login in demo_logins():
        typer.echo(f"    {login.role:<13} {login.email:<32} password {login.password}")
    if with_worker:
        typer.echo("  Messages go to a test mail server; watch them arrive with")
        shown = mail_port or demo_table()["messaging"]["smtp_port"]
        typer.echo(f"    python -m aiosmtpd -n -l localhost:{shown}")
    typer.echo("")
    # Shown before the server's own lines, even when stdout is a pipe (a log file, CI).
    sys.stdout.flush()
    web_app = create_app(settings)
    messages = None
    if with_worker:
        messages = BackgroundWorker(
            settings.resolved_database_url(),
            settings.secret_key(),
            KeyFile(settings.client_keys_file),
        )
        messages.start()
    try:
        uvicorn.run(web_app, host=host, port=port, log_level="warning")
    finally:
        if messages is not None:
            messages.close()
