"""Plan and quote in the browser: change the plan within the rules, book it in one step."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect


def next_monday() -> date:
    today = date.today()
    return today + timedelta(days=7 - today.weekday())


def test_change_the_plan_and_book_it_in_one_step(signed_in):
    steps = signed_in("practitioner")
    page = steps.page
    page.get_by_role("link", name="Sam Rivera").click()
    page.get_by_role("navigation", name="Client").get_by_role("link", name="Plan and quote").click()
    expect(page.get_by_role("heading", name="Quote", exact=True)).to_be_visible()
    expect(page.locator("tr.total")).to_contain_text("USD")
    steps.shot("plan and quote")

    monday = next_monday()
    page.get_by_label("First session").fill(monday.isoformat())
    page.get_by_label("Sessions", exact=True).fill("9")
    page.get_by_label("Days between sessions").fill("14")
    page.get_by_role("button", name="Make the new plan and quote").click()
    expect(page.locator("#f-sessions-error")).to_be_visible()
    expect(page.get_by_label("Days between sessions")).to_have_value("14")
    steps.shot("plan outside the rules")

    page.get_by_label("Sessions", exact=True).fill("3")
    page.get_by_role("button", name="Make the new plan and quote").click()
    expect(page.get_by_role("status")).to_have_text("Plan and quote updated.")
    expect(page.get_by_role("heading", name="3 sessions")).to_be_visible()
    expect(page.locator("table.list").nth(1)).to_contain_text(monday.isoformat())

    page.get_by_label("Start time").fill("06:00")
    page.get_by_role("button", name="Book").click()
    expect(page.locator("main [role=alert]").first).to_contain_text("nothing was booked")
    steps.shot("booking refused before opening time")

    # A long session is split over two days: one appointment per day.
    book = page.get_by_role("button", name=re.compile(r"^Book \d+ appointments$"))
    days = int(book.inner_text().split()[1])
    assert days >= 3
    page.get_by_label("Start time").fill("09:30")
    book.click()
    expect(page.get_by_role("status")).to_contain_text(f"Booked {days} appointments at 09:30")
    expect(page.locator("ul.booked li")).to_have_count(days)
    steps.shot("plan booked")

    page.get_by_role("navigation", name="Client").get_by_role("link", name="Overview").click()
    expect(page.locator("ol.timeline")).to_contain_text("Session planned")
