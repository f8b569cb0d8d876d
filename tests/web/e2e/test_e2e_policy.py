"""The clinic's own policy files, edited on the owner's policy page: checked on save with
one message naming the key, nothing typed lost, audited, and in force where they apply."""

from __future__ import annotations

from playwright.sync_api import expect


def tabs(page):
    return page.get_by_role("navigation", name="Clinic")


def _save(page, kind: str, text: str) -> None:
    form = page.locator(f"#policy-{kind}")
    form.get_by_role("textbox").fill(text)
    form.get_by_role("button").click()


def test_the_owner_edits_the_policy_files(signed_in):
    steps = signed_in("owner")
    page = steps.page
    page.get_by_role("link", name="Clinic", exact=True).click()
    tabs(page).get_by_role("link", name="Policy files").click()
    expect(tabs(page).get_by_role("link", name="Policy files")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_label("Clinic policy (TOML)")).to_have_value("")
    steps.shot("policy files")

    typo = "[pricing]\nbase_fe = 450\n"
    _save(page, "clinic", typo)
    error = page.locator("#p-clinic-error")
    expect(error).to_contain_text("clinic policy: pricing.base_fe: unknown key; allowed here:")
    expect(error).to_contain_text("base_fee")
    expect(page.get_by_label("Clinic policy (TOML)")).to_have_value(typo)
    steps.shot("clinic policy refused")

    _save(page, "clinic", "[pricing]\nbase_fee = 450\n")
    expect(page.get_by_role("status")).to_contain_text("The clinic's clinic policy saved.")
    expect(page.get_by_label("Clinic policy (TOML)")).to_have_value("[pricing]\nbase_fee = 450\n")
    expect(page.locator("#p-clinic-h .tag")).to_have_text("this clinic's own")
    # The settings page shows the value now in force.
    tabs(page).get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Base fee")).to_have_value("450")

    tabs(page).get_by_role("link", name="Policy files").click()
    _save(page, "rules", "[[rules]\n")
    expect(page.locator("#p-rules-error")).to_contain_text("screening rules: not valid TOML")
    expect(page.get_by_label("Screening rules (TOML)")).to_have_value("[[rules]\n")

    house = '[[generic_shades]]\nid = "house-2"\nname = "House mix 1:2"\ndilution = -2\n'
    _save(page, "pigments", house)
    expect(page.locator("#p-pigments-error")).to_contain_text("pigment catalogue: generic_shades")
    expect(page.get_by_label("Pigment catalogue (TOML)")).to_have_value(house)
    steps.shot("pigment catalogue refused")
    _save(page, "pigments", house.replace("-2", "2"))
    expect(page.get_by_role("status")).to_contain_text("pigment catalogue saved")
    page.get_by_role("link", name="Stock").click()
    expect(page.locator("#shades option[value='House mix 1:2']")).to_have_count(1)

    page.get_by_role("link", name="Clinic", exact=True).click()
    tabs(page).get_by_role("link", name="Audit log").click()
    expect(page.locator("#audit")).to_contain_text("policy_files.pigments")
    steps.shot("audited")

    # Emptied, the served files apply again (other tests share this clinic).
    tabs(page).get_by_role("link", name="Policy files").click()
    for kind in ("clinic", "pigments"):
        _save(page, kind, "")
        expect(page.get_by_role("status")).to_contain_text("removed")
    tabs(page).get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Base fee")).not_to_have_value("450")
