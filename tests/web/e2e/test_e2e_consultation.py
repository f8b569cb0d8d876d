"""The consultation wizard in the browser: pattern pictures, skin and health, dates, and
the screening verdict with its reasons and whom to see."""

from __future__ import annotations

from playwright.sync_api import expect


def open_client(steps, name: str) -> None:
    steps.page.get_by_role("link", name=name).click()
    expect(steps.page.get_by_role("heading", name=name)).to_be_visible()


def test_consultation_wizard_gives_the_verdict_and_whom_to_see(signed_in):
    steps = signed_in("practitioner")
    page = steps.page
    open_client(steps, "Jordan Ellis")
    page.get_by_role("link", name="Consultation").click()
    expect(page.locator(".pattern-card svg")).to_have_count(19)
    # At 800 px every label stays inside its card ("After chemotherapy" used to spill out).
    spilled = page.locator(".pattern-card").evaluate_all(
        "cards => cards.filter(c => c.querySelector('span').scrollWidth > c.clientWidth)"
        ".map(c => c.textContent.trim())"
    )
    assert spilled == []
    steps.shot("step 1 patterns")

    page.get_by_role("button", name="Next: Skin and health").click()
    expect(page.locator("#f-pattern-error")).to_contain_text("choose the picture")
    page.get_by_label("Age (years)").fill("130")
    page.get_by_role("radio", name="Norwood 5", exact=True).check()
    page.get_by_role("button", name="Next: Skin and health").click()
    expect(page.locator("#f-age-error")).to_contain_text("out of range")
    # The pattern chosen is still chosen after the error.
    expect(page.get_by_role("radio", name="Norwood 5", exact=True)).to_be_checked()
    steps.shot("step 1 error kept the answers")
    page.get_by_label("Age (years)").fill("47")
    page.get_by_role("button", name="Next: Skin and health").click()

    expect(page.get_by_role("radio", name="Type V Rarely burns")).to_be_visible()
    page.get_by_role("radio", name="Type V Rarely burns").check()
    page.get_by_label("Takes anticoagulants, or has a bleeding disorder").check()
    steps.shot("step 2 skin and health")
    page.get_by_role("button", name="Next: Dates and price").click()

    page.get_by_label("Sessions", exact=True).fill("12")
    page.get_by_role("button", name="Screen and plan").click()
    expect(page.locator("#f-sessions-error")).to_contain_text("from 1 to 10")
    page.get_by_label("Sessions", exact=True).fill("")
    steps.shot("step 3 dates")
    page.get_by_role("button", name="Back").click()
    # Going back keeps what was ticked.
    expect(page.get_by_label("Takes anticoagulants, or has a bleeding disorder")).to_be_checked()
    page.get_by_role("button", name="Next: Dates and price").click()
    page.get_by_role("button", name="Screen and plan").click()

    expect(page.get_by_role("heading", name="Refer before treating")).to_be_visible()
    expect(page.locator(".whom")).to_contain_text("the doctor who prescribes your anticoagulant")
    expect(page.locator(".findings")).to_contain_text("Why:")
    expect(page.get_by_role("img", name="Norwood 5, seen from above")).to_be_visible()
    steps.shot("verdict")
