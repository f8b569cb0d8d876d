"""The client handout in the browser: its page preview (same HTML as the PDF, under the
app's content security policy) and the download button, for a practitioner and for the
front desk."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect
from tests.reports.pdf_reading import pages, text


def download_handout(page, paper: str) -> bytes:
    page.get_by_label("Paper").select_option(label=paper)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download handout (PDF)").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    return Path(download.path()).read_bytes()


def test_preview_and_download_the_handout(signed_in):
    steps = signed_in("practitioner")
    page = steps.page
    page.get_by_role("link", name="Sam Rivera").click()
    page.get_by_role("link", name="Preview the handout").click()
    expect(page.get_by_role("heading", name="Your screening")).to_be_visible()
    expect(page.locator(".masthead .clinic")).to_have_text("Demo SMP Studio")
    # The stylesheet loaded under the app's policy: the sheet is laid out as paper.
    assert page.locator(".sheet").evaluate("e => getComputedStyle(e).backgroundColor") == (
        "rgb(255, 255, 255)"
    )
    steps.shot("handout preview")
    page.get_by_role("link", name="Back to Sam Rivera").click()

    data = download_handout(page, "US Letter")
    assert data.startswith(b"%PDF-")
    written = text(data)
    assert "Demo SMP Studio" in written and "Licence DEMO-0001" in written
    assert "Prepared for Sam Rivera" in written and "Your screening" in written
    assert "No saunas, swimming, hot showers, steam rooms" in written
    assert "Total $" in written and "Deposit to book $" in written
    assert {(round(p.width), round(p.height)) for p in pages(data)} == {(612, 792)}


def test_front_desk_downloads_a_handout_without_health_data(signed_in):
    steps = signed_in("front-desk")
    page = steps.page
    page.get_by_role("link", name="Sam Rivera").click()
    expect(page.get_by_text("added when a practitioner prints it")).to_be_visible()
    steps.shot("client page for the front desk")
    data = download_handout(page, "A4")
    written = text(data)
    assert "Demo SMP Studio" in written and "Ink passport" in written
    for clinical in ("Your screening", "Your quote", "Total", "norwood"):
        assert clinical not in written
    assert {(round(p.width), round(p.height)) for p in pages(data)} == {(595, 842)}
