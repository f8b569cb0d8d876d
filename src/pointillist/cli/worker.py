"""``pointillist worker``: send the messages that are due (aftercare, appointment
reminders with invitations, the touch-up recall), polling, or once for cron."""

from __future__ import annotations

from typing import Annotated

import typer

from pointillist.cli._common import DatabaseUrl
from pointillist.cli.app import app


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="One pass, then exit (for cron or a systemd timer).")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Send the messages that are due, then wait and look again, until Ctrl-C.

    Mail and SMS are set up per clinic on the web app's Clinic > Messages page. Run it on
    the machine of `pointillist serve` (or with the same data directory: its secret key
    signs the unsubscribe links), or use `serve --with-worker`. Several workers may run at
    once: each message is sent by one of them, once.
    """
    import logging
    import signal
    import threading

    from pointillist.errors import PointillistError
    from pointillist.messaging.config import timing
    from pointillist.messaging.worker import Worker
    from pointillist.settings import Settings
    from pointillist.store.client_keys import KeyFile
    from pointillist.store.db import make_engine, session_factory
    from pointillist.store.migrate import current_revision, head_revision

    settings = Settings(database_url=database_url) if database_url else Settings()
    url = settings.resolved_database_url()
    current, head = current_revision(url), head_revision()
    if current != head:
        raise PointillistError(
            f"the database is at schema {current or 'none'}, this worker needs {head}; "
            "start `pointillist serve` once (it migrates the database), then the worker"
        )
    logging.basicConfig(level=logging.INFO, format="pointillist worker: %(message)s")
    stop = threading.Event()

    def ask_to_stop(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        typer.echo("pointillist worker: stopping after the message in hand ...", err=True)
        stop.set()

    signal.signal(signal.SIGINT, ask_to_stop)
    signal.signal(signal.SIGTERM, ask_to_stop)
    engine = make_engine(url)
    try:
        every = "once" if once else f"every {timing().poll_seconds:g} s (Ctrl-C stops)"
        typer.echo(f"pointillist worker: sending due messages {every}", err=True)
        keys = KeyFile(settings.client_keys_file)
        Worker(session_factory(engine, keys=keys), settings.secret_key()).run(stop, once=once)
    finally:
        engine.dispose()
    typer.echo("pointillist worker: stopped", err=True)
