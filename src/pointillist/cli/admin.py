"""Operator commands: ``pointillist admin create-clinic|create-user|set-password|list-clinics|
verify-audit|fsck``, ``pointillist backup PATH`` and ``pointillist restore PATH``.

Each opens the database named by ``--database-url`` (else ``POINTILLIST_DATABASE_URL``,
else SQLite in the data directory) and brings it to the newest schema first, so they work
on a fresh install before ``pointillist serve`` has ever run.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pointillist.cli._common import (
    DatabaseUrl,
    OutputFormat,
    console,
    print_json,
    shown_database_url,
)
from pointillist.cli.app import app
from pointillist.errors import PointillistError

if TYPE_CHECKING:
    from pointillist.settings import Settings

admin_app = typer.Typer(
    name="admin",
    help="Set up clinics and staff accounts (run on the server, by its operator).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(admin_app)

Format = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


def _settings(database_url: str | None) -> Settings:
    from pointillist.settings import Settings

    return Settings() if database_url is None else Settings(database_url=database_url)


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PointillistError(
            f"{option} {value!r} is not a date; write it as YYYY-MM-DD"
        ) from None


def _open(settings: Settings) -> Any:
    from pointillist.store.client_keys import KeyFile
    from pointillist.store.db import make_engine, session_factory
    from pointillist.store.migrate import upgrade_to_head

    url = settings.resolved_database_url()
    upgrade_to_head(url)
    return session_factory(make_engine(url), keys=KeyFile(settings.client_keys_file))


def _count(number: int, noun: str) -> str:
    """``1 clinic``, ``2 clinics``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


@admin_app.command("create-clinic")
def create_clinic(
    name: Annotated[str, typer.Argument(help="The clinic's name, as on its licence.")],
    licence_number: Annotated[
        str | None, typer.Option(help="The clinic's licence or registration number.")
    ] = None,
    licence_authority: Annotated[
        str | None, typer.Option(help="Who issued it (e.g. the local health authority).")
    ] = None,
    licence_expires: Annotated[
        str | None, typer.Option(help="Licence expiry date, YYYY-MM-DD.")
    ] = None,
    database_url: DatabaseUrl = None,
    output: Format = OutputFormat.text,
) -> None:
    """Create a clinic, with the default consent templates; prints its id."""
    from pointillist.store import clinic as clinics
    from pointillist.store.db import session_scope

    expires = _parse_date(licence_expires, "--licence-expires")
    settings = _settings(database_url)
    with session_scope(_open(settings)) as session:
        created = clinics.create_clinic(
            session,
            name,
            licence_number=licence_number,
            licence_authority=licence_authority,
            licence_expires_on=expires,
        )
        warning = clinics.clinic_licence_warning(created)
        result = {
            "id": created.id,
            "name": created.name,
            "licence_number": created.licence_number,
            "licence_authority": created.licence_authority,
            "licence_expires_on": expires.isoformat() if expires else None,
            "warning": warning,
        }
    if output is OutputFormat.json:
        print_json(result)
        return
    console.print(f"Created clinic [bold]{result['id']}[/bold]: {name}")
    if warning:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(
        f"Next: pointillist admin create-user --clinic {result['id']} "
        "--email owner@example.com --name 'Your Name' --role owner"
    )


@admin_app.command("create-user")
def create_user(
    clinic: Annotated[int, typer.Option("--clinic", help="Id of the clinic (see list-clinics).")],
    email: Annotated[str, typer.Option(help="Sign-in e-mail address.")],
    name: Annotated[str, typer.Option(help="The person's name.")],
    role: Annotated[str, typer.Option(help="owner, practitioner or front-desk.")] = "owner",
    password: Annotated[
        str | None,
        typer.Option(
            envvar="POINTILLIST_NEW_PASSWORD",
            help="Asked for (twice, hidden) when not given; or set POINTILLIST_NEW_PASSWORD.",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    output: Format = OutputFormat.text,
) -> None:
    """Create a staff account in a clinic."""
    from pointillist.store import clinic as clinics
    from pointillist.store.db import session_scope
    from pointillist.store.errors import NotFound
    from pointillist.store.models import Clinic
    from pointillist.store.scope import Scope

    if password is None:
        password = typer.prompt(
            f"Password for {email}", hide_input=True, confirmation_prompt=True, err=True
        )
    settings = _settings(database_url)
    with session_scope(_open(settings)) as session:
        if session.get(Clinic, clinic) is None:
            raise NotFound(f"no clinic {clinic}; see 'pointillist admin list-clinics'")
        user = clinics.create_user(
            session, Scope.operator(clinic), email=email, name=name, role=role, password=password
        )
        result = {"id": user.id, "clinic_id": clinic, "email": user.email, "role": user.role}
    if output is OutputFormat.json:
        print_json(result)
        return
    console.print(f"Created {result['role']} [bold]{result['email']}[/bold] (user {result['id']})")


@admin_app.command("set-password")
def set_password(
    email: Annotated[str, typer.Option(help="Sign-in e-mail of the account.")],
    password: Annotated[
        str | None,
        typer.Option(
            envvar="POINTILLIST_NEW_PASSWORD",
            help="Asked for (twice, hidden) when not given; or set POINTILLIST_NEW_PASSWORD.",
        ),
    ] = None,
    activate: Annotated[
        bool, typer.Option("--activate", help="Also re-activate a deactivated account.")
    ] = False,
    database_url: DatabaseUrl = None,
    output: Format = OutputFormat.text,
) -> None:
    """Set a user's password (e.g. an owner locked out of the clinic)."""
    from sqlalchemy import select

    from pointillist.store import clinic as clinics
    from pointillist.store.accounts import normalise_email
    from pointillist.store.db import session_scope
    from pointillist.store.errors import NotFound
    from pointillist.store.models import User
    from pointillist.store.scope import Scope

    if password is None:
        password = typer.prompt(
            f"New password for {email}", hide_input=True, confirmation_prompt=True, err=True
        )
    settings = _settings(database_url)
    with session_scope(_open(settings)) as session:
        user = session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise NotFound(f"no user with e-mail {normalise_email(email)}")
        operator = Scope.operator(user.clinic_id)
        clinics.set_password(session, operator, user.id, password)
        if activate and not user.is_active:
            clinics.update_user(session, operator, user.id, is_active=True)
        result = {"id": user.id, "email": user.email, "is_active": user.is_active}
    if output is OutputFormat.json:
        print_json(result)
        return
    state = "" if result["is_active"] else " (the account is deactivated: add --activate)"
    console.print(f"Password set for [bold]{result['email']}[/bold]{state}")


@admin_app.command("list-clinics")
def list_clinics(database_url: DatabaseUrl = None, output: Format = OutputFormat.text) -> None:
    """List the clinics in the database, with licence warnings."""
    from rich.table import Table
    from sqlalchemy import func, select

    from pointillist.store.clinic import clinic_licence_warning
    from pointillist.store.db import session_scope
    from pointillist.store.models import Clinic, User

    settings = _settings(database_url)
    with session_scope(_open(settings)) as session:
        users = dict(
            session.execute(select(User.clinic_id, func.count()).group_by(User.clinic_id)).all()
        )
        rows = [
            {
                "id": c.id,
                "name": c.name,
                "licence_number": c.licence_number,
                "licence_expires_on": c.licence_expires_on.isoformat()
                if c.licence_expires_on
                else None,
                "users": int(users.get(c.id, 0)),
                "warning": clinic_licence_warning(c),
            }
            for c in session.scalars(select(Clinic).order_by(Clinic.id))
        ]
    if output is OutputFormat.json:
        print_json(rows)
        return
    if not rows:
        console.print("No clinics yet: pointillist admin create-clinic NAME")
        return
    table = Table("id", "clinic", "licence", "expires", "users", "warning")
    for row in rows:
        table.add_row(
            *(
                str(row[key]) if row[key] is not None else "-"
                for key in ("id", "name", "licence_number", "licence_expires_on", "users")
            ),
            str(row["warning"] or ""),
        )
    console.print(table)


@admin_app.command("verify-audit")
def verify_audit(database_url: DatabaseUrl = None, output: Format = OutputFormat.text) -> None:
    """Check that the audit log is whole: chain new entries, then walk the chain and
    report every entry deleted, moved or changed. Exits 1 if the log was tampered with."""
    from pointillist.store.db import session_scope
    from pointillist.store.integrity import seal_audit_log, verify_audit_log

    settings = _settings(database_url)
    factory = _open(settings)
    key = settings.integrity_key()
    while True:
        with session_scope(factory) as session:
            if seal_audit_log(session, key) == 0:
                break
    with session_scope(factory) as session:
        report = verify_audit_log(session, key)
    if output is OutputFormat.json:
        print_json({"intact": report.intact, **report.__dict__})
    elif report.intact:
        console.print(f"The audit log is intact: {report.chained} entries chained.")
    else:
        console.print(f"The audit log was tampered with ({report.chained} entries checked):")
        for problem in report.problems:
            console.print(f"- {problem}", markup=False)
    if not report.intact:
        raise typer.Exit(1)


@admin_app.command("fsck")
def fsck(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be removed.")
    ] = False,
    database_url: DatabaseUrl = None,
    output: Format = OutputFormat.text,
) -> None:
    """Remove photo files that no record refers to (health data no export or erasure
    would reach) and uploads a crash left half-written. Safe while the server runs."""
    from pointillist.store.db import session_scope
    from pointillist.store.fsck import check_photo_store
    from pointillist.store.photos import PhotoStore

    settings = _settings(database_url)
    with session_scope(_open(settings)) as session:
        report = check_photo_store(session, PhotoStore.from_settings(settings), remove=not dry_run)
    if output is OutputFormat.json:
        print_json(
            {
                "unreferenced": [str(p) for p in report.unreferenced],
                "temporaries": [str(p) for p in report.temporaries],
                "removed": report.removed,
            }
        )
        return
    if report.clean:
        console.print("The photo store is clean: every file belongs to a record.")
        return
    verb = "Would remove" if dry_run else "Removed"
    console.print(
        f"{verb} {len(report.unreferenced)} photo files no record refers to and "
        f"{len(report.temporaries)} unfinished uploads:"
    )
    for path in (*report.unreferenced, *report.temporaries):
        console.print(f"- {path}", markup=False)


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="Backup file to write, e.g. pointillist.tar.")],
    database_url: DatabaseUrl = None,
    output: Format = OutputFormat.text,
) -> None:
    """Back up the database, the photos it refers to and the sealing key into one file, all
    from one point in time (safe while the server runs)."""
    from pointillist.store.backup import backup as run_backup

    settings = _settings(database_url)
    summary = run_backup(
        settings.resolved_database_url(),
        settings.photo_dir,
        path,
        key_file=settings.integrity_key_file,
        client_keys_file=settings.client_keys_file,
    )
    if output is OutputFormat.json:
        print_json(summary.__dict__)
        return
    console.print(
        f"Backed up {shown_database_url(settings.resolved_database_url())} "
        f"({_count(summary.clinics, 'clinic')}, {_count(summary.photos, 'photo file')}, "
        f"schema {summary.revision}) "
        f"to [bold]{summary.path}[/bold]"
    )


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(help="Backup file made by 'pointillist backup'.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds records.")
    ] = False,
    database_url: DatabaseUrl = None,
    output: Format = OutputFormat.text,
) -> None:
    """Restore a backup into the database and photo store (stop the server first). An
    incomplete or damaged backup is refused before anything is changed."""
    from pointillist.store.backup import restore as run_restore

    settings = _settings(database_url)
    summary = run_restore(
        settings.resolved_database_url(),
        settings.photo_dir,
        path,
        force=force,
        key_file=settings.integrity_key_file,
        client_keys_file=settings.client_keys_file,
    )
    if output is OutputFormat.json:
        print_json(summary.__dict__)
        return
    console.print(
        f"Restored {summary.path} into {shown_database_url(settings.resolved_database_url())}: "
        f"{_count(summary.clinics, 'clinic')}, {_count(summary.photos_added, 'photo file')} added "
        f"({summary.photos_present} already there), schema {summary.revision}"
    )
    if summary.erased_again:
        console.print(
            f"Erased again {_count(summary.erased_again, 'client')} erased after this backup "
            "was made (their keys were already destroyed)."
        )
