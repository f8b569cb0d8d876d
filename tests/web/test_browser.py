"""The sign-in page in a real browser (Debian's Chromium through Playwright).

Checks what only a browser can: that the Secure, SameSite=Strict session cookie is kept
on http://127.0.0.1, that the page's script sends the CSRF token, that a request without
it is refused, and that an expired clinic licence is shown on the page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.web.test_serve import running_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "a long passphrase for the browser"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="browser test: no chromium on PATH (apt-get install chromium)"
)


def _admin(data_dir: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTILLIST_")}
    env.update(POINTILLIST_DATA=str(data_dir), POINTILLIST_NEW_PASSWORD=PASSWORD)
    command = [str(Path(sys.executable).with_name("pointillist")), "admin", *args]
    subprocess.run(command, env=env, check=True, capture_output=True)


def test_sign_in_page_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    data_dir = tmp_path / "data"
    expired = (date.today() - timedelta(days=3)).isoformat()
    _admin(
        data_dir,
        "create-clinic",
        "Scalp Studio",
        "--licence-number",
        "NL-1",
        "--licence-expires",
        expired,
    )
    _admin(
        data_dir,
        "create-user",
        "--clinic",
        "1",
        "--email",
        "desk@studio.example",
        "--name",
        "Dana",
        "--role",
        "front-desk",
    )

    with running_server([], data_dir) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{base}/")
            page.fill("input[name=email]", "desk@studio.example")
            page.fill("input[name=password]", "not the password")
            page.click("button[type=submit]")
            page.wait_for_selector("#error:not([hidden])")
            assert "wrong e-mail or password" in page.inner_text("#error")

            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#signed-in:not([hidden])")
            assert "Dana" in page.inner_text("#who")
            assert "front-desk" in page.inner_text("#role")
            assert "book or reschedule sessions" in page.inner_text("#permissions")
            assert f"expired on {expired}" in page.inner_text("#warning")

            post = """async (headers) => {
                const r = await fetch('/api/clients', {method: 'POST', body: '{"name": "Pat"}',
                    headers: {'Content-Type': 'application/json', ...headers}});
                return r.status;
            }"""
            assert page.evaluate(post, {}) == 403
            token = page.evaluate("document.cookie.match(/pointillist_csrf=([^;]+)/)[1]")
            assert page.evaluate(post, {"X-CSRF-Token": token}) == 201
            assert "pointillist_session" not in page.evaluate("document.cookie")  # HttpOnly

            page.click("#logout")
            page.wait_for_selector("#login:not([hidden])")
            page.reload()
            page.wait_for_selector("#login:not([hidden])")
        finally:
            browser.close()
