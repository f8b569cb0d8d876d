"""Appointments, the session log with a lot, recall, stock and the clinic's settings, in
the browser. Each test makes its own records (other e2e tests share the demo clinic)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect


def _open_day(day: date, step: int) -> date:
    # The demo clinic keeps the packaged calendar: closed on Sundays.
    while day.weekday() == 6:
        day += timedelta(days=step)
    return day


def _book(page, client: str, day: date, at: str, minutes: str) -> None:
    form = page.locator("#book-form")
    form.get_by_label("Client").select_option(label=client)
    form.get_by_label("Day").fill(day.isoformat())
    form.get_by_label("Start time").fill(at)
    form.get_by_label("Length (minutes)").fill(minutes)
    form.get_by_role("button", name="Book").click()


def _new_client(page, name: str) -> str:
    page.get_by_role("link", name="Clients", exact=True).first.click()
    page.get_by_role("link", name="New client").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Add client").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    return re.search(r"/clients/(\d+)", page.url).group(1)


def test_book_appointments_and_a_double_booking_is_refused(signed_in):
    steps = signed_in("front-desk")
    page = steps.page
    day = _open_day(date.today() + timedelta(days=9), 1)
    page.get_by_role("link", name="Appointments").click()
    expect(page.get_by_role("heading", name="Appointments")).to_be_visible()
    expect(page.get_by_label("Practitioner", exact=True)).to_have_value(re.compile(r"\d+"))
    steps.shot("week calendar")

    _book(page, "Jordan Ellis", day, "15:00", "60")
    expect(page.get_by_role("status")).to_contain_text("Booked Jordan Ellis")
    expect(page.locator("ol.calendar")).to_contain_text("15:00-16:00")

    _book(page, "Alex Moreno", day, "15:30", "45")
    alert = page.locator("#form-error")
    expect(alert).to_contain_text("Priya Practitioner is already booked on")
    expect(alert).to_contain_text("15:00-16:00")
    expect(alert).to_contain_text("Jordan Ellis")
    # Nothing typed is lost.
    expect(page.get_by_label("Start time")).to_have_value("15:30")
    expect(page.get_by_label("Length (minutes)")).to_have_value("45")
    expect(page.locator("#f-client_id option:checked")).to_have_text("Alex Moreno")
    steps.shot("double booking refused")

    page.get_by_label("Start time").fill("16:00")
    page.locator("#book-form").get_by_role("button", name="Book").click()
    expect(page.get_by_role("status")).to_contain_text("Booked Alex Moreno")
    expect(page.locator("ol.calendar-week")).to_contain_text("16:00-16:45")
    steps.shot("week with the bookings")
    page.get_by_role("link", name=day.strftime("%a %d %b")).click()
    # The day: a column per practitioner, a row per 15 minutes, bookings as blocks.
    day_view = page.get_by_role("table", name=re.compile("Appointments on"))
    expect(
        day_view.get_by_role("columnheader", name=re.compile("Priya Practitioner"))
    ).to_be_visible()
    expect(day_view.get_by_role("rowheader", name="15:00")).to_be_visible()
    jordan = day_view.locator("td.booked", has_text="Jordan Ellis")
    expect(jordan).to_contain_text("15:00-16:00")
    expect(jordan).to_have_attribute("rowspan", "4")
    expect(day_view.locator("td.booked", has_text="Alex Moreno")).to_have_attribute("rowspan", "3")
    # Side by side in time order: Alex's block starts in the row after Jordan's ends.
    top = jordan.bounding_box()
    below = day_view.locator("td.booked", has_text="Alex Moreno").bounding_box()
    assert below["y"] >= top["y"] + top["height"] - 1
    # Keyboard: the blocks are links, reached with Tab from the grid's scroll region.
    page.locator(".day-grid-scroll").focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        if "Jordan Ellis" in (page.evaluate("document.activeElement.textContent") or ""):
            break
    assert "15:00-16:00" in page.evaluate("document.activeElement.textContent")
    steps.shot("day view")
    page.set_viewport_size({"width": 1280, "height": 1000})
    steps.shot("day view at 1280 px")
    page.set_viewport_size({"width": 800, "height": 1000})

    # The front desk sees the booking, not the session log.
    day_view.get_by_role("link", name=re.compile("Alex Moreno")).click()
    expect(page.get_by_role("heading", name=re.compile("Session: Alex Moreno"))).to_be_visible()
    expect(page.get_by_role("heading", name="Pigment lots")).to_have_count(0)
    expect(page.get_by_label("Notes")).to_have_count(0)
    steps.shot("session for the front desk")
    assert page.goto(steps.base + "/recall?lot=X").status == 403


def test_record_a_session_with_a_lot_then_recall_the_lot(signed_in):
    steps = signed_in("practitioner")
    page = steps.page

    page.get_by_role("link", name="Stock").click()
    form = page.locator("#bottle-form")
    form.get_by_label("Brand").fill("Ink Co")
    form.get_by_label("Shade").fill("Dark ash")
    form.get_by_label("Lot (batch) number").fill("OLD-2024")
    form.get_by_label("Expires on").fill((date.today() - timedelta(days=2)).isoformat())
    form.get_by_role("button", name="Add to stock").click()
    expect(page.locator("#form-error")).to_contain_text("discard it, do not record it")
    expect(page.get_by_label("Lot (batch) number")).to_have_value("OLD-2024")
    steps.shot("expired bottle refused")

    page.get_by_label("Lot (batch) number").fill("E2E-LOT-7")
    expires = (date.today() + timedelta(days=400)).isoformat()
    page.get_by_label("Expires on").fill(expires)
    page.get_by_label("Opened on").fill(date.today().isoformat())
    page.locator("#bottle-form").get_by_role("button", name="Add to stock").click()
    expect(page.get_by_role("status")).to_have_text("Bottle of lot E2E-LOT-7 added to stock.")
    expect(page.locator("#stock")).to_contain_text("E2E-LOT-7")
    steps.shot("stock")

    client_id = _new_client(page, "Kim Lindqvist")
    day = _open_day(date.today(), -1)  # completed sessions are today or earlier
    page.get_by_role("link", name="Appointments").click()
    _book(page, "Kim Lindqvist", day, "17:00", "60")
    expect(page.get_by_role("status")).to_contain_text("Booked Kim Lindqvist")
    page.locator("ol.calendar").get_by_role("link", name="Kim Lindqvist").click()
    expect(page.get_by_role("heading", name=re.compile("Session: Kim Lindqvist"))).to_be_visible()

    page.get_by_label("Needle").fill("1RL 0.25 mm")
    page.get_by_label("crown/vertex").check()
    page.get_by_label("temples").check()
    page.get_by_label("Notes").fill("Light bleeding at the crown; go 0.1 mm shallower next time.")
    page.get_by_role("button", name="Save the log").click()
    expect(page.get_by_role("status")).to_have_text("Session log saved.")
    expect(page.get_by_label("crown/vertex")).to_be_checked()

    lot_picker = page.get_by_label("Bottle used")
    lot_picker.select_option(label=f"Lot E2E-LOT-7: Ink Co Dark ash, expires {expires}")
    page.get_by_role("button", name="Record this lot").click()
    expect(page.get_by_role("status")).to_contain_text("Lot E2E-LOT-7 (Ink Co Dark ash) recorded.")

    page.get_by_role("button", name="Mark as completed").click()
    expect(page.get_by_role("alert").filter(has_text="cannot be completed")).to_contain_text(
        "has not signed the 'treatment' consent"
    )
    steps.shot("completion refused without consent")

    _sign_treatment_consent(page, steps.base, client_id, "Kim Lindqvist")
    # The refusal was the answer to a POST: open the session page again, not a re-send.
    page.goto(page.url.removesuffix("/complete"))
    page.get_by_role("button", name="Mark as completed").click()
    expect(page.get_by_role("status")).to_contain_text("Session completed")
    expect(page.locator(".status")).to_have_text("completed")
    expect(page.locator(".lots")).to_contain_text("Lot E2E-LOT-7")
    steps.shot("session completed with a lot")

    page.get_by_role("link", name="Recall").click()
    page.get_by_label("Lot (batch) number").fill("e2e-lot-7")
    page.get_by_role("button", name="Find clients").click()
    hits = page.locator("#recall-hits")
    expect(hits).to_contain_text("Kim Lindqvist")
    expect(page.get_by_role("heading", name=re.compile("Lot e2e-lot-7: 1 session"))).to_be_visible()
    steps.shot("lot recall")


def _sign_treatment_consent(page, base: str, client_id: str, name: str) -> None:
    """Signed through the API with the page's own session (the consent page is its own
    e2e test)."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "pointillist_csrf")
    headers = {"X-CSRF-Token": csrf}
    template = page.request.get(f"{base}/api/consent-templates?name=treatment").json()[-1]
    consent = page.request.post(
        f"{base}/api/clients/{client_id}/consents",
        data={"template_id": template["id"]},
        headers=headers,
    ).json()
    signed = page.request.post(
        f"{base}/api/consents/{consent['id']}/sign", data={"signer_name": name}, headers=headers
    )
    assert signed.ok, signed.text()


def test_settings_change_with_errors_shown_and_nothing_lost(signed_in):
    steps = signed_in("owner")
    page = steps.page
    page.get_by_role("link", name="Clinic", exact=True).click()
    expect(page.get_by_role("textbox", name="Currency", exact=True)).to_have_value("USD")
    steps.shot("clinic settings")

    page.locator("#settings-form").evaluate("form => form.noValidate = true")
    page.get_by_role("textbox", name="Currency", exact=True).fill("EUR")
    page.get_by_label("Tax (%)").fill("21")
    page.get_by_label("Opens at").fill("10:00")
    page.get_by_label("Closes at").fill("08:00")
    page.get_by_label("Closed dates").fill("2026-12-25\n31/12/2026")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#form-error")).to_be_visible()
    expect(page.get_by_role("textbox", name="Currency", exact=True)).to_have_value("EUR")
    expect(page.get_by_label("Tax (%)")).to_have_value("21")
    expect(page.get_by_label("Closed dates")).to_have_value("2026-12-25\n31/12/2026")
    steps.shot("settings refused")

    page.get_by_label("Closes at").fill("18:00")
    page.get_by_label("Opens at").fill("09:00")
    page.get_by_label("Closed dates").fill("2026-12-25")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Clinic settings saved.")
    expect(page.get_by_role("textbox", name="Currency", exact=True)).to_have_value("EUR")
    expect(page.locator("#files-h + p")).to_contain_text("currency")
    steps.shot("settings saved")

    page.get_by_role("link", name="Users and roles").click()
    expect(page.locator("#users")).to_contain_text("desk@demo.pointillist")
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("#audit")).to_contain_text("owner@demo.pointillist")
    steps.shot("audit log")

    # Back to the demo's prices, for the other tests that quote.
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("textbox", name="Currency", exact=True).fill("USD")
    page.get_by_label("Tax (%)").fill("0")
    page.get_by_label("Closed dates").fill("")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Clinic settings saved.")


def test_another_clinics_user_gets_404_on_sessions_and_calendars(signed_in, app_server):
    clinic = app_server.admin("create-clinic", "Third Studio", "--format", "json")
    clinic_id = re.search(r'"id": (\d+)', clinic).group(1)
    password = "the third clinic's password"
    app_server.admin(
        "create-user",
        "--clinic",
        clinic_id,
        "--email",
        "owner@third.example",
        "--name",
        "Theo Third",
        "--role",
        "owner",
        password=password,
    )
    steps = signed_in(email="owner@third.example", password=password)
    page = steps.page
    for path in ("/sessions/1", "/appointments?practitioner=1"):
        response = page.goto(steps.base + path)
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    steps.shot("another clinic's session is not found")
