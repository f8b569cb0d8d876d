"""`make bench-server`: the records server under a clinic's load, on loopback, bounded in time.

Starts ``pointillist serve`` on a fresh database (SQLite in a temporary data directory, or
a new PostgreSQL database it drops afterwards), seeds one clinic (10 practitioners, one
API token per simulated user, 200 clients), then lets ``--users`` signed-in users work
for ``--duration`` seconds. Each user does the day's mix in turn, with ``--think`` seconds
(+-50%, so users do not march in step) between requests:

- list the clients (``GET /api/clients``),
- search them by part of a name (``GET /api/clients?q=...``),
- read one (``GET /api/clients/{id}``, audited),
- record a consultation (``POST /api/clients/{id}/consultations``: screening, plan, quote),
- upload a 1 MP JPEG (``POST /api/clients/{id}/photos``: decoded, stripped, re-encoded;
  128 distinct pictures, so many uploads store a new file).

It reports, per action and overall, the count, errors, and the 50th and 95th percentile
and the worst latency. An error is any answer other than the expected 2xx, or no answer
within 30 s; with ``--overload``, a 503 that carries ``Retry-After`` is the expected way
to say no (the user waits as told, then goes on), and the run passes when nothing else
fails and nothing hangs. Results are added to ``bench/server_results.json`` under
``--label``.

This is a measurement, not a test: run it on a quiet machine and report the conditions
(CPU count and load average are printed and saved with the figures, and the CPU time the
server used per request, which holds better across machines than latencies). The users
run in this one process at lower priority (nice 10): they stand for other machines. How
late this process wakes from a 10 ms sleep is measured too: on a machine so busy that
the users wait for a CPU, the latencies include that wait, and the report says so.
``--cost N`` measures instead the server's CPU per request of each action, N sent one at
a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from pointillist.store.db import libpq_url, make_engine, session_factory, session_scope

RESULTS = Path(__file__).with_name("server_results.json")
POINTILLIST = Path(sys.executable).with_name("pointillist")
ACTIONS = ("list", "search", "read", "consult", "upload")
CLIENTS = 200
PRACTITIONERS = 10
PHOTO_VARIANTS = 128
REQUEST_TIMEOUT_S = 30.0
LAG_TICK_S = 0.01
SURNAMES = ("Smith", "Jansen", "Garcia", "Nowak", "Rossi", "Dubois", "Silva", "Kim", "Okafor")


@dataclass
class Outcome:
    action: str
    status: int  # 0: no answer in time, -1: the connection failed
    seconds: float
    retry_after: bool
    failure: str = ""
    started: float = 0.0  # time.monotonic() when the request was sent


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _database(kind: str, data_dir: Path, postgres_url: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{data_dir / 'pointillist.sqlite3'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"pointillist_bench_{uuid.uuid4().hex[:10]}"
    admin = libpq_url(postgres_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _seed(url: str, users: int, data_dir: Path) -> tuple[list[str], list[int]]:
    """One clinic: practitioners sharing the simulated users' tokens, and the clients."""
    from pointillist.store import accounts, clinic, records
    from pointillist.store.migrate import upgrade_to_head
    from pointillist.store.models import User
    from pointillist.store.scope import Scope

    upgrade_to_head(url)
    engine = make_engine(url)
    rng = random.Random(7)
    # argon2 is slow on purpose; the users sign in with tokens, so one hash serves all.
    password_hash = accounts.hash_password("load test passphrase, not used")
    from pointillist.settings import Settings
    from pointillist.store.client_keys import KeyFile

    keys = KeyFile(Settings(data=data_dir).client_keys_file)
    with session_scope(session_factory(engine, keys=keys)) as db:
        new_clinic = clinic.create_clinic(
            db, "Load Test Clinic", licence_expires_on=date.today() + timedelta(days=365)
        )
        db.flush()
        operator = Scope.operator(new_clinic.id)
        staff = []
        for number in range(PRACTITIONERS):
            user = User(
                clinic_id=new_clinic.id,
                email=f"practitioner{number}@load.example",
                name=f"Practitioner {number}",
                role="owner" if number == 0 else "practitioner",
                password_hash=password_hash,
            )
            db.add(user)
            db.flush()
            staff.append(user)
        tokens = [
            accounts.issue_token(db, operator, staff[n % PRACTITIONERS].id, f"user {n}")[0]
            for n in range(users)
        ]
        owner = Scope.for_user(staff[0])
        client_ids = []
        for number in range(CLIENTS):
            client = records.create_client(
                db,
                owner,
                name=f"{rng.choice('ABCDEFGHJKLMNPRST')}. {rng.choice(SURNAMES)} {number}",
                email=f"client{number}@load.example",
                date_of_birth=date(1960 + number % 40, 1 + number % 12, 1 + number % 28),
            )
            db.flush()
            client_ids.append(client.id)
    engine.dispose()
    return tokens, client_ids


def _photos() -> list[bytes]:
    """Distinct 1 MP (1152 x 864) JPEGs with skin-like texture, as a phone sends them."""
    rng = np.random.default_rng(3)
    height, width = 864, 1152
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack(
        [180 + 30 * np.sin(xx / 97.0), 140 + 25 * np.cos(yy / 71.0), 120 + 10 * np.sin(xx / 53.0)],
        axis=2,
    )
    out = []
    for _ in range(PHOTO_VARIANTS):
        noise = rng.integers(-10, 11, size=(height, width, 3), dtype=np.int16)
        pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=88)
        out.append(buffer.getvalue())
    return out


@contextlib.contextmanager
def _server(url: str, data_dir: Path, port: int, workers: int) -> Iterator[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTILLIST_")}
    env["POINTILLIST_DATA"] = str(data_dir)
    args = [str(POINTILLIST), "serve", "--port", str(port), "--database-url", url]
    if workers > 1:
        args += ["--workers", str(workers)]
    log = (data_dir / "server.log").open("w")
    # Its own process group, so that its worker processes end with it.
    process = subprocess.Popen(
        args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"the server did not start:\n{(data_dir / 'server.log').read_text()}"
                )
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


async def _request(
    client: httpx.AsyncClient, action: str, token: str, client_ids: list[int], photo: bytes
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    client_id = random.choice(client_ids)
    if action == "list":
        return await client.get("/api/clients", params={"limit": 50}, headers=headers)
    if action == "search":
        return await client.get(
            "/api/clients", params={"search": random.choice(SURNAMES)[:3]}, headers=headers
        )
    if action == "read":
        return await client.get(f"/api/clients/{client_id}", headers=headers)
    if action == "consult":
        answers = {
            "pattern": random.choice(["norwood-3", "norwood-4", "norwood-5", "norwood-6"]),
            "sex": "male",
            "age": random.randint(25, 65),
            "fitzpatrick": random.randint(1, 6),
        }
        return await client.post(
            f"/api/clients/{client_id}/consultations", json={"answers": answers}, headers=headers
        )
    return await client.post(
        f"/api/clients/{client_id}/photos",
        files={"file": ("photo.jpg", photo, "image/jpeg")},
        data={"kind": "top"},
        headers=headers,
    )


async def _user(
    client: httpx.AsyncClient,
    token: str,
    client_ids: list[int],
    photos: list[bytes],
    think: float,
    until: float,
    run: Run,
    overload: bool,
) -> None:
    async with client:
        await asyncio.sleep(random.uniform(0, think))
        turn = random.randrange(len(ACTIONS))
        while time.monotonic() < until:
            action = ACTIONS[turn % len(ACTIONS)]
            start = time.monotonic()
            wait = think * random.uniform(0.5, 1.5)
            try:
                response = await _request(client, action, token, client_ids, random.choice(photos))
                status, retry = response.status_code, "retry-after" in response.headers
            except httpx.TimeoutException:
                status, retry = 0, False
            except httpx.TransportError:
                status, retry = -1, False
            run.outcomes.append(Outcome(action, status, time.monotonic() - start, retry, "", start))
            if status == 503 and retry and overload:
                wait = float(response.headers["retry-after"])
            else:
                turn += 1
            await asyncio.sleep(wait)


async def _watch_lag(until: float, lags: list[float]) -> None:
    """How late this process wakes from a short sleep: when the machine is so busy that the
    users themselves wait for a CPU, their latencies include that wait (reported, so a
    reader can tell a slow server from a starved load generator)."""
    while time.monotonic() < until:
        start = time.monotonic()
        await asyncio.sleep(LAG_TICK_S)
        lags.append(max(0.0, time.monotonic() - start - LAG_TICK_S))


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by the server and its worker processes."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name may hold spaces: fields count from after its ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) == pid or int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _measure_cost(args: argparse.Namespace, photos: list[bytes]) -> int:
    """Server CPU per request of each action, sent one at a time (``--cost N``)."""
    with tempfile.TemporaryDirectory(prefix="pointillist-cost-") as tmp:
        data_dir = Path(tmp)
        with _database(args.database, data_dir, args.postgres_url) as url:
            tokens, client_ids = _seed(url, 1, data_dir)
            port = _free_port()
            with _server(url, data_dir, port, args.workers) as server:

                async def each_action() -> dict[str, float]:
                    cost = {}
                    async with httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{port}", timeout=REQUEST_TIMEOUT_S
                    ) as client:
                        for action in ACTIONS:  # first requests warm caches up: not counted
                            for _ in range(5):
                                photo = random.choice(photos)
                                await _request(client, action, tokens[0], client_ids, photo)
                        for action in ACTIONS:
                            before = _cpu_seconds(server.pid)
                            for _ in range(args.cost):
                                photo = random.choice(photos)
                                response = await _request(
                                    client, action, tokens[0], client_ids, photo
                                )
                                response.raise_for_status()
                            cost[action] = 1000 * (_cpu_seconds(server.pid) - before) / args.cost
                    return cost

                load = os.getloadavg()
                cost = asyncio.run(each_action())
    mix = sum(cost.values()) / len(cost)
    print(
        f"server CPU per request, {args.cost} of each one at a time ({args.database}; "
        f"load {load[0]:.1f}): "
        + ", ".join(f"{a} {ms:.1f} ms" for a, ms in cost.items())
        + f"; the mix {mix:.1f} ms"
    )
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    saved[args.label or f"{args.database}-cost"] = {
        "database": args.database,
        "requests_per_action": args.cost,
        "server_cpu_ms": {a: round(ms, 1) for a, ms in cost.items()},
        "server_cpu_ms_mix": round(mix, 1),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in load],
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.write_text(json.dumps(saved, indent=2) + "\n")
    return 0


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _p95_by_window(outcomes: list[Outcome], started: float, duration: float) -> list[float]:
    """The 95th percentile of answered requests' latency in each 10 s of the run."""
    windows: list[list[float]] = [[] for _ in range(max(1, math.ceil(duration / 10)))]
    for o in outcomes:
        if o.status > 0:
            index = min(len(windows) - 1, max(0, int((o.started - started) // 10)))
            windows[index].append(1000 * o.seconds)
    return [round(_percentile(w, 95), 1) for w in windows]


def _summary(outcomes: list[Outcome], overload: bool) -> dict[str, Any]:
    def ok(o: Outcome) -> bool:
        return 200 <= o.status < 300 or (overload and o.status == 503 and o.retry_after)

    served = [o.seconds * 1000 for o in outcomes if 200 <= o.status < 300]
    return {
        "requests": len(outcomes),
        "served": len(served),
        "refused_503": sum(o.status == 503 and o.retry_after for o in outcomes),
        "errors": sum(not ok(o) for o in outcomes),
        "timeouts": sum(o.status == 0 for o in outcomes),
        "p50_ms": round(_percentile(served, 50), 1),
        "p95_ms": round(_percentile(served, 95), 1),
        "max_ms": round(max((o.seconds * 1000 for o in outcomes), default=0.0), 1),
        "error_statuses": sorted({o.status for o in outcomes if not ok(o)}),
        "connection_failures": sorted({o.failure for o in outcomes if o.failure})[:5],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "POINTILLIST_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="Server to create the benchmark's own database on.",
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="Seconds between requests.")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--p95-ms", type=float, default=None, help="Goal for the 95th pct.")
    parser.add_argument(
        "--overload", action="store_true", help="503 + Retry-After counts as a proper answer."
    )
    parser.add_argument("--label", default=None)
    parser.add_argument(
        "--cost",
        type=int,
        default=0,
        metavar="N",
        help="Instead of the users: N requests of each action one at a time, and the "
        "server CPU each took (a figure that depends little on the machine's other load).",
    )
    args = parser.parse_args()
    label = args.label or f"{args.database}-{args.users}u"

    photos = _photos()
    if args.cost:
        return _measure_cost(args, photos)
    with tempfile.TemporaryDirectory(prefix="pointillist-load-") as tmp:
        data_dir = Path(tmp)
        with _database(args.database, data_dir, args.postgres_url) as url:
            tokens, client_ids = _seed(url, args.users, data_dir)
            port = _free_port()
            with _server(url, data_dir, port, args.workers) as server:
                # The users stand for other machines: this process yields the CPU to the
                # server it measures (the server was started before, at normal priority).
                os.nice(10)
                load_before = os.getloadavg()
                cpu_before = _cpu_seconds(server.pid)
                own_before = time.process_time()
                run = Run()
                lags: list[float] = []
                # One connection per user, as a browser or a script at a desk would hold
                # it; made before the clock starts, with one TLS context for all (httpx
                # builds one per client otherwise, ~70 ms of CPU each, though unused here).
                tls = ssl.create_default_context()
                clients = [
                    httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{port}", timeout=REQUEST_TIMEOUT_S, verify=tls
                    )
                    for _ in tokens
                ]

                async def all_users(until: float) -> None:
                    await asyncio.gather(
                        _watch_lag(until, lags),
                        *(
                            _user(
                                client,
                                token,
                                client_ids,
                                photos,
                                args.think,
                                until,
                                run,
                                args.overload,
                            )
                            for client, token in zip(clients, tokens, strict=True)
                        ),
                    )

                started = time.monotonic()
                asyncio.run(all_users(started + args.duration))
                elapsed = time.monotonic() - started
                load_after = os.getloadavg()
                server_cpu = _cpu_seconds(server.pid) - cpu_before
                users_cpu = time.process_time() - own_before

    overall = _summary(run.outcomes, args.overload)
    per_action = {
        a: _summary([o for o in run.outcomes if o.action == a], args.overload) for a in ACTIONS
    }
    result = {
        "database": args.database,
        "workers": args.workers,
        "users": args.users,
        "think_s": args.think,
        "duration_s": round(elapsed, 1),
        "overload": args.overload,
        "p95_goal_ms": args.p95_ms,
        "overall": overall,
        "actions": per_action,
        "server_cpu_s": round(server_cpu, 1),
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, overall["requests"]), 1),
        "users_cpu_s": round(users_cpu, 1),
        "users_lag_p95_ms": round(1000 * _percentile(lags, 95), 1),
        "users_lag_max_ms": round(1000 * max(lags, default=0.0), 1),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    passed = overall["errors"] == 0 and (
        args.p95_ms is None or args.overload or overall["p95_ms"] < args.p95_ms
    )
    result["passed"] = passed

    print(
        f"\n{label}: {args.users} users, {args.think:g} s think, {elapsed:.0f} s, "
        f"{args.database} x{args.workers}; {os.cpu_count()} CPUs, load {load_before[0]:.1f} "
        f"before, {load_after[0]:.1f} after"
    )
    columns = ("requests", "errors", "503", "p50 ms", "p95 ms", "max ms")
    print(f"{'action':<9}" + "".join(f"{c:>9}" for c in columns))
    for name, row in [*per_action.items(), ("all", overall)]:
        print(
            f"{name:<9}{row['requests']:>9}{row['errors']:>9}{row['refused_503']:>9}"
            f"{row['p50_ms']:>9}{row['p95_ms']:>9}{row['max_ms']:>9}"
        )
    print(
        f"server CPU: {server_cpu:.1f} s, {result['server_cpu_ms_per_request']} ms per request "
        f"({server_cpu / elapsed:.2f} cores busy on average); the simulated users took "
        f"{users_cpu:.1f} s and woke up to {result['users_lag_p95_ms']} ms late (p95; "
        f"latencies include that wait for a CPU)"
    )
    # When the slow requests happened: a warm-up (each worker's first requests) shows as
    # a slow first window, a saturated server as slow windows throughout.
    windows = _p95_by_window(run.outcomes, started, args.duration)
    result["p95_ms_by_10s_window"] = windows
    print("p95 ms by 10 s window: " + ", ".join(f"{w:g}" for w in windows))
    goal = f", goal p95 < {args.p95_ms:g} ms" if args.p95_ms and not args.overload else ""
    print(f"{'PASS' if passed else 'FAIL'}: {overall['errors']} errors{goal}")

    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    saved[label] = result
    RESULTS.write_text(json.dumps(saved, indent=2) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
