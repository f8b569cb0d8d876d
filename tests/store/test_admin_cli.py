"""``pointillist admin``, ``backup`` and ``restore`` through the real command line."""

import json

import pytest

from pointillist.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("POINTILLIST_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("POINTILLIST_DATABASE_URL", raising=False)
    return tmp_path


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_clinic_user_backup_and_restore_on_a_fresh_install(env, capsys):
    clinic = _json(
        capsys,
        [
            "admin",
            "create-clinic",
            "Scalp Studio",
            "--licence-number",
            "NL-1",
            "--licence-expires",
            "2030-01-31",
            "--format",
            "json",
        ],
    )
    assert clinic["id"] == 1 and clinic["warning"] is None
    user = _json(
        capsys,
        [
            "admin",
            "create-user",
            "--clinic",
            "1",
            "--email",
            "Owner@Studio.example",
            "--name",
            "Olga",
            "--password",
            "a long pass phrase",
            "--format",
            "json",
        ],
    )
    assert user == {"id": 1, "clinic_id": 1, "email": "owner@studio.example", "role": "owner"}
    listed = _json(capsys, ["admin", "list-clinics", "--format", "json"])
    assert [(c["name"], c["users"]) for c in listed] == [("Scalp Studio", 1)]

    reset = _json(
        capsys,
        [
            "admin",
            "set-password",
            "--email",
            "OWNER@studio.example",
            "--password",
            "another long phrase",
            "--format",
            "json",
        ],
    )
    assert reset == {"id": 1, "email": "owner@studio.example", "is_active": True}
    _assert_signs_in(env, "owner@studio.example", "another long phrase")

    archive = env / "b.tar"
    made = _json(capsys, ["backup", str(archive), "--format", "json"])
    assert made["clinics"] == 1 and made["backend"] == "sqlite"

    other = f"sqlite:///{env / 'other.sqlite3'}"
    restored = _json(capsys, ["restore", str(archive), "--database-url", other, "--format", "json"])
    assert restored["clinics"] == 1
    listed = _json(capsys, ["admin", "list-clinics", "--database-url", other, "--format", "json"])
    assert listed[0]["name"] == "Scalp Studio"

    audit = _json(capsys, ["admin", "verify-audit", "--format", "json"])
    assert audit["intact"] is True and audit["chained"] >= 3 and audit["pending"] == 0
    stray = env / "data" / "photos" / "ab" / ("ab" + "0" * 62 + ".png")
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"not referenced")
    checked = _json(capsys, ["admin", "fsck", "--format", "json"])
    assert checked["unreferenced"] == [str(stray)] and checked["removed"] == 1
    assert not stray.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["admin", "create-clinic", "X", "--licence-expires", "31/01/2030"], "YYYY-MM-DD"),
        (
            [
                "admin",
                "create-user",
                "--clinic",
                "7",
                "--email",
                "a@b.c",
                "--name",
                "A",
                "--password",
                "a long pass phrase",
            ],
            "no clinic 7",
        ),
        (["admin", "list-clinics", "--database-url", "mysql://u@h/d"], "not supported"),
        (["restore", "missing.tar"], "file not found"),
    ],
)
def test_mistakes_end_in_one_line_and_exit_2(env, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_unreachable_postgres_is_a_clear_error(env, capsys):
    assert (
        main(["admin", "list-clinics", "--database-url", "postgresql://nobody@127.0.0.1:1/x"]) == 2
    )
    err = capsys.readouterr().err
    assert "cannot open the database postgresql+psycopg://nobody@127.0.0.1:1/x" in err


def _assert_signs_in(env, email, password):
    from pointillist.settings import Settings
    from pointillist.store.accounts import authenticate
    from pointillist.store.client_keys import KeyFile
    from pointillist.store.db import make_engine, session_factory

    settings = Settings()
    engine = make_engine(settings.resolved_database_url())
    with session_factory(engine, keys=KeyFile(settings.client_keys_file))() as session:
        assert authenticate(session, email, password) is not None
    engine.dispose()


def test_restore_of_a_file_that_is_not_a_tar_is_one_plain_line(env, capsys):
    junk = env / "notes.txt"
    junk.write_text("not a backup\n")
    assert main(["restore", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {junk}: not a pointillist backup (not a tar archive); "
        "give a file made by 'pointillist backup'\n"
    )


def test_text_output_counts_in_words_and_hints_the_full_next_command(env, capsys):
    assert main(["admin", "create-clinic", "Scalp Studio"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Next: pointillist admin create-user --clinic 1 --email" in out
    assert "--name" in out and "--role owner" in out
    assert main(["backup", str(env / "b.tar")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(1 clinic, 0 photo files," in out


def test_a_bad_email_says_what_an_address_looks_like(env, capsys):
    assert main(["admin", "create-clinic", "Scalp Studio", "--format", "json"]) == 0
    capsys.readouterr()
    argv = ["admin", "create-user", "--clinic", "1", "--email", "olga.studio.example"]
    assert main([*argv, "--name", "Olga", "--password", "a long pass phrase"]) == 2
    err = capsys.readouterr().err
    assert "looks like name@example.com" in err and "^" not in err and err.count("\n") == 1
