"""``pointillist serve`` starts a real server: SQLite with no set-up, PostgreSQL by URL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from pointillist.cli import main

POINTILLIST = Path(sys.executable).with_name("pointillist")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    args: list[str], data_dir: Path, command: tuple[str, ...] | list[str] = ("serve",)
) -> Iterator[str]:
    """Run ``pointillist serve`` (or ``command``) on a free port until /healthz answers;
    yield its URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTILLIST_")}
    env["POINTILLIST_DATA"] = str(data_dir)
    process = subprocess.Popen(
        [str(POINTILLIST), *command, "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group, so that worker processes (--workers) end with it.
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                raise AssertionError(f"the server did not start: {process.communicate()[1]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        _stop(process)
        process.communicate()


def _stop(process: subprocess.Popen) -> None:
    """Stop the server as Ctrl-C would, then end whatever is left of its process group."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def test_serve_runs_on_sqlite_with_no_set_up(tmp_path):
    data_dir = tmp_path / "fresh"
    with running_server([], data_dir) as base:
        health = httpx.get(f"{base}/healthz").json()
        assert health == {"status": "ok", "database": "sqlite", "version": health["version"]}
        assert httpx.get(f"{base}/api/clients").status_code == 401
    assert (data_dir / "pointillist.sqlite3").is_file()


def test_serve_migrates_an_empty_database_given_by_url(tmp_path, empty_database_url):
    url = empty_database_url()
    with running_server(["--database-url", url], tmp_path / "data") as base:
        assert httpx.get(f"{base}/healthz").status_code == 200

    from pointillist.store.migrate import current_revision, head_revision

    assert current_revision(url) == head_revision()


def test_serve_reports_an_unreachable_database_in_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("POINTILLIST_DATA", str(tmp_path))
    code = main(
        ["serve", "--database-url", "postgresql://nobody@127.0.0.1:1/none", "--port", "8999"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot open the database") and err.count("\n") == 1


@pytest.mark.parametrize("bad", ["mysql://u@h/d", "not a url"])
def test_serve_refuses_an_unsupported_database_url(capsys, bad):
    assert main(["serve", "--database-url", bad]) == 2
    assert "error:" in capsys.readouterr().err


def test_serve_reports_a_port_in_use_in_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("POINTILLIST_DATA", str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}") and err.count("\n") == 1
    assert not (tmp_path / "pointillist.sqlite3").exists()  # nothing done before the check


def test_serve_refuses_several_workers_on_sqlite(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("POINTILLIST_DATA", str(tmp_path))
    monkeypatch.delenv("POINTILLIST_DATABASE_URL", raising=False)
    assert main(["serve", "--workers", "4"]) == 2
    assert "--workers above 1 needs PostgreSQL" in capsys.readouterr().err


def test_serve_runs_several_workers_on_postgresql(tmp_path, empty_database_url):
    url = empty_database_url()
    if url.startswith("sqlite"):
        pytest.skip("several workers need PostgreSQL")
    with running_server(["--database-url", url, "--workers", "2"], tmp_path / "data") as base:
        answers = [httpx.get(f"{base}/healthz").json()["database"] for _ in range(4)]
    assert answers == ["postgresql"] * 4


def test_serve_ignores_x_forwarded_for_from_loopback_without_a_trusted_proxy(tmp_path):
    # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: every guess would then
    # come from an address of the guesser's choosing, and the throttle would never bite.
    with running_server([], tmp_path / "data") as base:
        answers = [
            httpx.post(
                f"{base}/api/auth/login",
                json={"email": f"guess{i}@example.org", "password": "wrong password"},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            ).status_code
            for i in range(31)
        ]
    assert answers[:30] == [401] * 30 and answers[30] == 429
