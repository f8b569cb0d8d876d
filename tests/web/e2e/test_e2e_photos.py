"""Photos in the browser: drag and drop, the camera input, the view, marketing consent."""

from __future__ import annotations

import base64
import io

from PIL import Image
from playwright.sync_api import expect

DROP = """async ([b64, name, type]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type }));
    return transfer;
}"""


def scalp_png() -> bytes:
    image = Image.new("RGB", (320, 240), (205, 160, 130))
    for x in range(0, 320, 7):
        for y in range(x % 5, 240, 9):
            image.putpixel((x, y), (60, 45, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_upload_by_drag_and_drop_and_set_marketing_consent(signed_in):
    steps = signed_in("practitioner")
    page = steps.page
    page.get_by_role("link", name="Alex Moreno").click()
    page.get_by_role("link", name="Photos").click()
    expect(page.get_by_role("heading", name="1 photo")).to_be_visible()
    camera = page.locator("#f-camera")
    assert camera.get_attribute("capture") == "environment"
    assert camera.get_attribute("accept") == "image/*"

    page.get_by_role("radio", name="top").check()
    page.get_by_role("button", name="Keep the photo").click()
    expect(page.locator("#f-file-error")).to_contain_text("choose a photo")
    expect(page.get_by_role("radio", name="top")).to_be_checked()
    steps.shot("no photo chosen")

    transfer = page.evaluate_handle(
        DROP, [base64.b64encode(b"not a photo").decode(), "notes.jpg", "image/jpeg"]
    )
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})
    page.get_by_role("button", name="Keep the photo").click()
    expect(page.locator("main [role=alert]")).to_be_visible()
    expect(page.locator("#f-file-error")).not_to_be_empty()
    expect(page.get_by_role("radio", name="top")).to_be_checked()
    steps.shot("not a photo")

    transfer = page.evaluate_handle(
        DROP, [base64.b64encode(scalp_png()).decode(), "crown.png", "image/png"]
    )
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})
    expect(page.locator("[data-chosen]")).to_contain_text("crown.png")
    expect(page.get_by_role("img", name="The photo chosen")).to_be_visible()
    page.get_by_label("The client agrees to this photo being used in marketing").check()
    steps.shot("photo dropped")
    page.get_by_role("button", name="Keep the photo").click()
    expect(page.get_by_role("status")).to_contain_text("Photo kept (top, 320 x 240 pixels")
    expect(page.get_by_role("heading", name="2 photos")).to_be_visible()
    card = page.locator(".photo-card").first
    expect(card).to_contain_text("top")
    consent = card.get_by_label("May be used in marketing")
    expect(consent).to_be_checked()
    for image in page.locator(".photo-card img").all():
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") > 0
    # At 800 px (a tablet in portrait) the card's button reads on one line.
    preview = card.get_by_role("link", name="Preview SMP on this photo")
    line = preview.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert preview.bounding_box()["height"] < 2 * line
    steps.shot("photo kept")

    consent.uncheck()
    expect(page.locator(".photo-card").first.get_by_role("status")).to_have_text(
        "Marketing use refused: record only."
    )
    page.reload()
    expect(
        page.locator(".photo-card").first.get_by_label("May be used in marketing")
    ).not_to_be_checked()
    steps.shot("marketing consent withdrawn")
