"""The preview editor in the browser: the hairline moved, the area painted, a saved preview."""

from __future__ import annotations

import re

from playwright.sync_api import expect

RENDERED = re.compile(
    r"Re-rendered in (\d+) ms on the server \(([^)]*)\); treatment area ([\d.]+) cm²"
)


def rendered(page) -> tuple[str, float]:
    """The stages the last edit re-ran, and the treatment area."""
    status = page.locator("[data-status]")
    expect(status).to_have_text(RENDERED, timeout=90_000)
    match = RENDERED.search(status.inner_text())
    assert match is not None
    return match.group(2), float(match.group(3))


def renders(page) -> int:
    return int(page.locator("[data-editor]").get_attribute("data-renders") or 0)


def wait_for_new_render(page, before: int) -> None:
    """Wait until the editor has shown a render newer than ``before`` (a count)."""
    page.wait_for_function(
        "n => Number(document.querySelector('[data-editor]').dataset.renders || 0) > n",
        arg=before,
        timeout=60_000,
    )
    expect(page.locator("[data-busy]")).to_be_hidden(timeout=60_000)
    assert page.locator("[data-error]").is_hidden(), page.locator("[data-error]").inner_text()


def test_move_the_hairline_paint_area_and_save_a_preview(signed_in):
    steps = signed_in("practitioner")
    page = steps.page
    page.get_by_role("link", name="Sam Rivera").click()
    page.get_by_role("navigation", name="Client").get_by_role("link", name="Photos").click()
    page.get_by_role("link", name="Preview SMP on this photo").first.click()
    rendered(page)
    line = page.locator("[data-hairline]")
    first_line = line.get_attribute("points")
    assert first_line
    steps.shot("editor opened")

    before = renders(page)
    page.get_by_label("Hairline height").fill("9.5")
    wait_for_new_render(page, before)
    assert line.get_attribute("points") != first_line
    # Only the design and what follows it ran again, not the face or the head.
    stages, _ = rendered(page)
    assert stages.startswith("hairline") and "regions" not in stages, stages
    steps.shot("hairline higher")

    before = renders(page)
    page.get_by_label("Years healed").fill("5")
    wait_for_new_render(page, before)
    assert rendered(page)[0] == "skin, render, compose"

    # Another shade of the catalogue: only the look is redone, and the picture changes.
    shade = page.get_by_label("Pigment shade")
    options = shade.locator("option").all_inner_texts()
    assert options[0].startswith("Recommended (cb-")
    assert options[1:] == [f"Carbon black 1:{n}" for n in range(6, 0, -1)] + [
        "Carbon black, undiluted"
    ]
    picture = page.locator("[data-preview-image]").get_attribute("src")
    before = renders(page)
    shade.select_option(label="Carbon black, undiluted")
    wait_for_new_render(page, before)
    assert rendered(page)[0] == "skin, render, compose"
    assert page.locator("[data-preview-image]").get_attribute("src") != picture
    steps.shot("darkest shade")

    # Drag the mid-frontal point down by 40 screen pixels.
    handle = page.get_by_role("slider", name=re.compile("Mid-frontal point"))
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    before = renders(page)
    moved_line = line.get_attribute("points")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 + 40, steps=5)
    page.mouse.up()
    wait_for_new_render(page, before)
    assert line.get_attribute("points") != moved_line
    # And with the keyboard.
    handle.focus()
    before = renders(page)
    page.keyboard.press("Shift+ArrowDown")
    wait_for_new_render(page, before)
    steps.shot("mid-frontal point moved")

    _, area_before = rendered(page)
    page.get_by_role("radio", name="Add area").check()
    page.get_by_label("Brush size").fill("60")
    brush = page.locator("[data-brush]")
    brush.scroll_into_view_if_needed()
    box = brush.bounding_box()
    before = renders(page)
    page.mouse.move(box["x"] + 0.35 * box["width"], box["y"] + 0.18 * box["height"])
    page.mouse.down()
    for i in range(12):
        page.mouse.move(
            box["x"] + (0.35 + 0.025 * i) * box["width"], box["y"] + 0.18 * box["height"], steps=2
        )
    page.mouse.up()
    wait_for_new_render(page, before)
    stages, area_after = rendered(page)
    assert area_after > area_before
    assert stages.startswith("treatment"), stages
    steps.shot("area painted in")

    page.get_by_role("button", name="Render full size and save").click()
    expect(page.locator("[data-saved]")).to_contain_text("Saved as a preview", timeout=120_000)
    steps.shot("full size saved")
    page.get_by_role("link", name="the client's page").click()
    previews = page.get_by_role("heading", name="Saved previews")
    expect(previews).to_be_visible()
    expect(page.locator(".previews li").first).to_contain_text("hairline 9.5 cm")
    expect(page.locator(".previews li").first).to_contain_text("shade cb-1:0")
    steps.shot("saved preview on the client page")
