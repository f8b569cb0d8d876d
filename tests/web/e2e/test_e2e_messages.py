"""Messages in the browser: what the demo clinic sent, on the Messages page and the
client's timeline; the wording refused with what was typed kept; the e-mail as the client
sees it; and its unsubscribe link, followed without signing in."""

from __future__ import annotations

import time

from playwright.sync_api import expect


def _demo_reminder(app_server):
    """The appointment reminder the demo clinic sends as it starts."""
    deadline = time.monotonic() + 60
    while not app_server.mail.messages and time.monotonic() < deadline:
        time.sleep(0.2)
    [mail] = app_server.mail.messages
    return mail


def test_the_demo_reminder_is_on_the_messages_page_and_the_timeline(app_server, signed_in):
    mail = _demo_reminder(app_server)
    steps = signed_in("front-desk")
    page = steps.page
    page.get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", name="Messages to clients")).to_be_visible()
    row = page.locator("#outbox tbody tr").first
    expect(row).to_contain_text("Jordan Ellis")
    expect(row).to_contain_text("sent")
    expect(row).to_contain_text(mail["Subject"])
    steps.shot("messages page")
    row.get_by_role("link", name="Jordan Ellis").click()
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("E-mail sent: Appointment reminder")
    expect(timeline).to_contain_text("to jordan.ellis@example.com")
    steps.shot("client timeline with the e-mail")

    # The e-mail as the client's mail program shows it (a blank page: the app's pages
    # forbid the inline styles e-mails use).
    html = mail.get_body(preferencelist=("html",)).get_content()
    letter = page.context.new_page()
    letter.set_viewport_size({"width": 640, "height": 420})
    letter.set_content(html)
    expect(letter.get_by_text("This is a reminder of your appointment")).to_be_visible()
    letter.screenshot(path=str(steps.folder / "04-the-e-mail.png"))


def test_a_template_that_does_not_render_is_refused_with_what_was_typed(signed_in):
    steps = signed_in("owner")
    page = steps.page
    page.get_by_role("link", name="Clinic").click()
    page.locator("nav.tabs").get_by_role("link", name="Messages").click()
    expect(page.get_by_label("Mail server")).to_have_value("localhost")
    expect(page.get_by_text("No password saved.")).to_be_visible()
    steps.shot("message settings")
    page.get_by_text("Appointment reminder (24 h before").click()
    subject = page.locator("#f-tpl-appointment-subject")
    subject.fill("See you {{ appointment.date }} at {{ apointment.time }}")
    page.get_by_role("button", name="Save message settings").click()
    expect(page.locator("#form-error")).to_contain_text(
        "the subject of the appointment message does not render"
    )
    expect(page.locator("#f-tpl-appointment-subject")).to_have_value(
        "See you {{ appointment.date }} at {{ apointment.time }}"
    )
    steps.shot("wording refused")


def test_the_unsubscribe_link_works_without_signing_in(app_server, browser):
    mail = _demo_reminder(app_server)
    link = mail["List-Unsubscribe"].strip("<>")
    assert link.startswith(app_server.base + "/unsubscribe/")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(link)
        expect(page.get_by_role("heading", name="Stop e-mails from the clinic?")).to_be_visible()
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
        page.screenshot(path=str(_artefact("test_the_unsubscribe_link_works_without_signing_in")))
    finally:
        context.close()


def _artefact(test: str):
    from tests.web.e2e.conftest import artefacts_dir

    folder = artefacts_dir() / "e2e" / test
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "01-unsubscribed.png"
