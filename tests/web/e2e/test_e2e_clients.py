"""Clients in the browser: sign in, find, add, open; who may see what."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_sign_in_add_a_client_and_find_them(signed_in):
    steps = signed_in("practitioner")
    page = steps.page
    expect(page.get_by_role("heading", name="Clients")).to_be_visible()
    expect(page.get_by_role("link", name="Sam Rivera")).to_be_visible()
    steps.shot("client list")

    page.get_by_role("link", name="New client").click()
    page.get_by_label("Name").fill("")
    page.get_by_label("E-mail").fill("not an address")
    page.get_by_label("Phone").fill("+31 6 1234 5678")
    page.get_by_label("Clinical notes").fill("Mild psoriasis, controlled.")
    # The browser's own checks would stop the form; the server's message is the one tested.
    page.locator("form.form").evaluate("form => form.noValidate = true")
    page.get_by_role("button", name="Add client").click()
    expect(page.locator("#f-name-error")).to_have_text("give the client's name")
    expect(page.locator("#f-email-error")).to_contain_text("not an e-mail address")
    # Nothing typed is lost.
    expect(page.get_by_label("Phone")).to_have_value("+31 6 1234 5678")
    expect(page.get_by_label("Clinical notes")).to_have_value("Mild psoriasis, controlled.")
    steps.shot("new client with errors")

    page.locator("form.form").evaluate("form => form.noValidate = true")
    page.get_by_label("Name").fill("Robin Vermeer")
    page.get_by_label("E-mail").fill("robin@example.nl")
    page.get_by_role("button", name="Add client").click()
    expect(page.get_by_role("heading", name="Robin Vermeer")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Robin Vermeer added.")
    expect(page.locator(".details")).to_contain_text("Mild psoriasis, controlled.")
    steps.shot("client page")

    page.get_by_role("link", name="Clients", exact=True).first.click()
    page.get_by_label("Search by name, e-mail or phone").press_sequentially("verm")
    expect(page.locator("#client-rows tbody tr")).to_have_count(1)
    expect(page.locator("#client-rows")).to_contain_text("Robin Vermeer")
    steps.shot("search")


def test_front_desk_sees_no_health_data(signed_in):
    steps = signed_in("front-desk")
    page = steps.page
    page.get_by_role("link", name="Sam Rivera").click()
    expect(page.get_by_role("heading", name="Sam Rivera")).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline).not_to_contain_text("Consultation")
    expect(timeline).not_to_contain_text("Photo")
    expect(page.locator(".details")).not_to_contain_text("Clinical notes")
    expect(page.get_by_role("link", name="Consultation")).to_have_count(0)
    steps.shot("client page for the front desk")

    client_url = page.url
    for path in ("/consultation", "/photos", "/plan", "/consultations/1"):
        response = page.goto(client_url + path)
        assert response is not None and response.status == 403, path
        expect(page.locator("main [role=alert]")).to_contain_text("front-desk user cannot")
    steps.shot("health data refused")
    response = page.goto(steps.base + "/api/photos/1/file")
    assert response is not None and response.status == 403


def test_another_clinics_user_gets_404(signed_in, app_server):
    clinic = app_server.admin("create-clinic", "Other Studio", "--format", "json")
    clinic_id = re.search(r'"id": (\d+)', clinic).group(1)
    password = "another clinic's password"
    app_server.admin(
        "create-user",
        "--clinic",
        clinic_id,
        "--email",
        "owner@other.example",
        "--name",
        "Oscar Other",
        "--role",
        "owner",
        password=password,
    )
    steps = signed_in(email="owner@other.example", password=password)
    page = steps.page
    expect(page.get_by_role("link", name="Sam Rivera")).to_have_count(0)
    response = page.goto(steps.base + "/clients/1")
    assert response is not None and response.status == 404
    expect(page.locator("main [role=alert]")).to_have_text("no client 1 in this clinic")
    steps.shot("another clinic's client is not found")
