"""Copy the web app's screenshots from the end-to-end tests into docs/images/webapp/.

Run from the repository root after the browser tests:

    .venv/bin/pytest tests/web/e2e
    .venv/bin/python docs/update_webapp_screenshots.py

The tests save a screenshot of every step under ``test-artefacts/e2e/<test>/``; the ones
docs/webapp.md shows are listed below, those showing photos as JPEG (``.jpg``), the rest
as palette PNG (docs/_screenshots.py).
"""

from __future__ import annotations

import sys

from _screenshots import copy_screenshots

CLIENTS = "test_sign_in_add_a_client_and_find_them"
CONSULTATION = "test_consultation_wizard_gives_the_verdict_and_whom_to_see"
PHOTOS = "test_upload_by_drag_and_drop_and_set_marketing_consent"
EDITOR = "test_move_the_hairline_paint_area_and_save_a_preview"
PLAN = "test_change_the_plan_and_book_it_in_one_step"
CONSENT = "test_front_desk_has_the_client_sign_with_a_drawn_signature"
FRONT_DESK = "test_front_desk_sees_no_health_data"
BOOKING = "test_book_appointments_and_a_double_booking_is_refused"
SESSION = "test_record_a_session_with_a_lot_then_recall_the_lot"
SETTINGS = "test_settings_change_with_errors_shown_and_nothing_lost"
POLICY = "test_the_owner_edits_the_policy_files"

SHOTS = {
    "clients.png": f"{CLIENTS}/01-client-list.png",
    "new-client-errors.png": f"{CLIENTS}/02-new-client-with-errors.png",
    "client-page.png": f"{CLIENTS}/03-client-page.png",
    "consultation-pattern.png": f"{CONSULTATION}/01-step-1-patterns.png",
    "consultation-health.png": f"{CONSULTATION}/03-step-2-skin-and-health.png",
    "consultation-verdict.png": f"{CONSULTATION}/05-verdict.png",
    "photos-dropped.jpg": f"{PHOTOS}/03-photo-dropped.png",
    "photos-kept.jpg": f"{PHOTOS}/04-photo-kept.png",
    "editor.jpg": f"{EDITOR}/04-mid-frontal-point-moved.png",
    "editor-shade.jpg": f"{EDITOR}/03-darkest-shade.png",
    "editor-painted.jpg": f"{EDITOR}/05-area-painted-in.png",
    "editor-saved.jpg": f"{EDITOR}/07-saved-preview-on-the-client-page.png",
    "plan.png": f"{PLAN}/01-plan-and-quote.png",
    "plan-booked.png": f"{PLAN}/04-plan-booked.png",
    "consent-sign.png": f"{CONSENT}/03-signature-drawn.png",
    "consent-signed.png": f"{CONSENT}/04-consent-signed.png",
    "front-desk.png": f"{FRONT_DESK}/01-client-page-for-the-front-desk.png",
    "front-desk-refused.png": f"{FRONT_DESK}/02-health-data-refused.png",
    "appointments-week.png": f"{BOOKING}/03-week-with-the-bookings.png",
    "appointments-clash.png": f"{BOOKING}/02-double-booking-refused.png",
    "appointments-day.png": f"{BOOKING}/04-day-view.png",
    "appointments-day-wide.png": f"{BOOKING}/05-day-view-at-1280-px.png",
    "session-completed.png": f"{SESSION}/04-session-completed-with-a-lot.png",
    "stock.png": f"{SESSION}/02-stock.png",
    "recall.png": f"{SESSION}/05-lot-recall.png",
    "clinic-settings-errors.png": f"{SETTINGS}/02-settings-refused.png",
    "policy-files.png": f"{POLICY}/01-policy-files.png",
    "policy-refused.png": f"{POLICY}/02-clinic-policy-refused.png",
}


if __name__ == "__main__":
    sys.exit(copy_screenshots(SHOTS, "webapp"))
