"""Consent on the tablet: the text, a typed name and a drawn signature; immutable once signed."""

from __future__ import annotations

from playwright.sync_api import expect

RESIGN = """async (url) => {
    const token = document.cookie.match(/pointillist_csrf=([^;]+)/)[1];
    const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token },
        body: "signer_name=Someone+Else&read=yes&typed_only=yes",
    });
    return [response.status, await response.text()];
}"""


def draw_signature(page) -> None:
    pad = page.locator("canvas.signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.1 * w, y + 0.7 * h)
    page.mouse.down()
    for i in range(1, 30):
        page.mouse.move(x + (0.1 + 0.027 * i) * w, y + (0.7 - 0.4 * ((i % 6) / 6)) * h, steps=2)
    page.mouse.up()


def test_front_desk_has_the_client_sign_with_a_drawn_signature(signed_in):
    steps = signed_in("front-desk")
    page = steps.page
    page.get_by_role("link", name="Alex Moreno").click()
    page.get_by_role("navigation", name="Client").get_by_role("link", name="Consents").click()
    page.get_by_role("radio", name="treatment (version 1)").check()
    page.get_by_role("button", name="Show it to the client").click()
    expect(page.locator(".consent-text")).to_contain_text("Consent to scalp micropigmentation")
    expect(page.locator(".consent-text")).to_contain_text("Demo SMP Studio")
    name = page.get_by_label("Full name of the person signing")
    expect(name).to_have_value("Alex Moreno")
    steps.shot("consent to sign")

    name.fill("")
    page.get_by_role("button", name="Sign the consent").click()
    expect(page.locator("#f-signer_name-error")).to_contain_text("type the full name")
    expect(page.locator("#f-read-error")).to_contain_text("read the text")
    expect(page.locator("#f-signature-error")).to_contain_text("draw the signature")
    steps.shot("consent errors")

    draw_signature(page)
    page.get_by_role("button", name="Sign the consent").click()
    # The drawing survives the error: it comes back in the form and on the canvas.
    expect(page.locator("#f-signature-error")).to_have_count(0)
    assert page.locator("[data-signature-value]").input_value().startswith("data:image/png")
    page.get_by_label("I have read this text").check()
    page.get_by_label("Full name of the person signing").fill("Alex Moreno")
    steps.shot("signature drawn")
    page.get_by_role("button", name="Sign the consent").click()

    expect(page.get_by_role("status")).to_contain_text("Consent signed by Alex Moreno")
    expect(page.get_by_role("img", name="Signature of Alex Moreno")).to_be_visible()
    natural = page.get_by_role("img", name="Signature of Alex Moreno").evaluate(
        "img => img.naturalWidth"
    )
    assert natural > 0
    expect(page.locator(".hashes")).to_contain_text("verified: unchanged since it was signed")
    steps.shot("consent signed")

    status, body = page.evaluate(RESIGN, page.url + "/sign")
    assert status == 409 and "cannot be changed" in body
    page.reload()
    expect(page.locator(".signed")).to_contain_text("Alex Moreno")
