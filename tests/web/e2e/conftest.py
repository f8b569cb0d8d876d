"""End-to-end harness: the real server, a real browser (Debian's Chromium via Playwright).

``app_server`` (once per test session) starts ``pointillist demo-clinic`` on a free port
with a fresh SQLite database in a temporary data directory: the demo clinic's owner,
practitioner and front-desk user (``data/demo.toml``) and its clients with photos, but no
rendered preview (it takes seconds and no test needs it); its messages go to a test SMTP
server in this process (``app_server.mail``, aiosmtpd). ``admin`` runs
``pointillist admin ...`` against the same database (a second clinic, more users).

``signed_in(role)`` opens a new browser context at 800 x 1000 CSS pixels (a 10-inch
tablet in portrait: every page must be usable at that width), signs in through the
sign-in form and returns a :class:`Steps`: ``steps.page`` is the Playwright page and
``steps.shot("what")`` saves a screenshot under
``test-artefacts/e2e/<test name>/NN-what.png`` (``POINTILLIST_TEST_ARTEFACTS`` moves the
folder). A page that logs a JavaScript error or a Content-Security-Policy violation fails
the test at the end.

Playwright never downloads a browser here: ``executable_path`` is the system Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.web.test_serve import running_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 800, "height": 1000}
REPO = Path(__file__).resolve().parents[3]
POINTILLIST = Path(sys.executable).with_name("pointillist")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM is not None:
        return
    skip = pytest.mark.skip(
        reason="end-to-end tests: no chromium on PATH (apt-get install chromium)"
    )
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(skip)


def artefacts_dir() -> Path:
    """Where the screenshots go (kept after the run, for people to look at)."""
    return Path(os.environ.get("POINTILLIST_TEST_ARTEFACTS", REPO / "test-artefacts"))


@dataclass
class AppServer:
    base: str
    data_dir: Path
    #: What the demo clinic's messages worker sent (a test SMTP server, aiosmtpd).
    mail: Any = None

    def admin(self, *args: str, password: str | None = None) -> str:
        """Run ``pointillist admin <args>`` on the server's database; return stdout."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("POINTILLIST_")}
        env["POINTILLIST_DATA"] = str(self.data_dir)
        if password is not None:
            env["POINTILLIST_NEW_PASSWORD"] = password
        done = subprocess.run(
            [str(POINTILLIST), "admin", *args], env=env, check=True, capture_output=True, text=True
        )
        return done.stdout


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    from tests.messaging.conftest import running_smtp_server

    data_dir = tmp_path_factory.mktemp("e2e") / "data"
    with running_smtp_server() as mail:
        command = ["demo-clinic", "--no-preview", "--data", str(data_dir)]
        command += ["--mail-port", str(mail.port)]
        with running_server([], data_dir, command=command) as base:
            yield AppServer(base=base, data_dir=data_dir, mail=mail)


@pytest.fixture(scope="session")
def demo() -> dict[str, Any]:
    """The demo clinic's description (logins, clients), as the server seeded it."""
    from pointillist.web.demo import demo_table

    return demo_table()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Per module, not per session: Playwright's sync API keeps an asyncio loop running in
    # the main thread while it is open, and later tests that call asyncio.run would fail.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Steps:
    """A signed-in browser page and its numbered screenshots."""

    page: Any
    base: str
    folder: Path
    problems: list[str] = field(default_factory=list)
    count: int = 0

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> Path:
        """Save a full-page screenshot of the current state as the next step."""
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.folder / f"{self.count:02d}-{slug}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _watch(page: Any, problems: list[str]) -> None:
    def on_console(message: Any) -> None:
        # 4xx answers to forms are expected (they carry the form back with its message).
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))


@pytest.fixture
def signed_in(
    app_server: AppServer, browser: Any, demo: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[Callable[..., Steps]]:
    folder = artefacts_dir() / "e2e" / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    opened: list[tuple[Any, Steps]] = []

    def sign_in(
        role: str = "practitioner", *, email: str | None = None, password: str | None = None
    ) -> Steps:
        if email is None:
            email = next(u["email"] for u in demo["users"] if u["role"] == role)
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        steps = Steps(page=page, base=app_server.base, folder=folder)
        # Later sign-ins in the same test number their shots after the earlier ones.
        steps.count = sum(s.count for _, s in opened)
        _watch(page, steps.problems)
        opened.append((context, steps))
        steps.goto("/")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password or demo["logins"]["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/clients$"))
        return steps

    yield sign_in
    problems = [p for _, steps in opened for p in steps.problems]
    for context, _ in opened:
        context.close()
    assert not problems, f"the browser reported errors: {problems}"
