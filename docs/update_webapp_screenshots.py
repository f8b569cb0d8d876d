"""Copy the web app's screenshots from the end-to-end tests into docs/images/webapp/.

Run from the repository root after the browser tests:

    .venv/bin/pytest tests/web/e2e
    .venv/bin/python docs/update_webapp_screenshots.py

The tests save a screenshot of every step under ``test-artefacts/e2e/<test>/``; the ones
docs/webapp.md shows are listed below. They are stored with a 256-colour palette (a
third of the size; the pages are flat colours and text).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "test-artefacts" / "e2e"
TARGET = ROOT / "docs" / "images" / "webapp"

SHOTS = {
    "clients.png": "test_sign_in_add_a_client_and_find_them/01-client-list.png",
    "new-client-errors.png": "test_sign_in_add_a_client_and_find_them/02-new-client-with-errors.png",
    "client-page.png": "test_sign_in_add_a_client_and_find_them/03-client-page.png",
    "consultation-pattern.png": (
        "test_consultation_wizard_gives_the_verdict_and_whom_to_see/01-step-1-patterns.png"
    ),
    "consultation-health.png": (
        "test_consultation_wizard_gives_the_verdict_and_whom_to_see/03-step-2-skin-and-health.png"
    ),
    "consultation-verdict.png": (
        "test_consultation_wizard_gives_the_verdict_and_whom_to_see/05-verdict.png"
    ),
    "photos-dropped.png": "test_upload_by_drag_and_drop_and_set_marketing_consent/03-photo-dropped.png",
    "photos-kept.png": "test_upload_by_drag_and_drop_and_set_marketing_consent/04-photo-kept.png",
    "plan.png": "test_change_the_plan_and_book_it_in_one_step/01-plan-and-quote.png",
    "plan-booked.png": "test_change_the_plan_and_book_it_in_one_step/04-plan-booked.png",
    "consent-sign.png": (
        "test_front_desk_has_the_client_sign_with_a_drawn_signature/03-signature-drawn.png"
    ),
    "consent-signed.png": (
        "test_front_desk_has_the_client_sign_with_a_drawn_signature/04-consent-signed.png"
    ),
    "editor.png": "test_move_the_hairline_paint_area_and_save_a_preview/03-mid-frontal-point-moved.png",
    "editor-painted.png": "test_move_the_hairline_paint_area_and_save_a_preview/04-area-painted-in.png",
    "editor-saved.png": (
        "test_move_the_hairline_paint_area_and_save_a_preview/06-saved-preview-on-the-client-page.png"
    ),
    "front-desk.png": "test_front_desk_sees_no_health_data/01-client-page-for-the-front-desk.png",
    "front-desk-refused.png": "test_front_desk_sees_no_health_data/02-health-data-refused.png",
    "appointments-week.png": (
        "test_book_appointments_and_a_double_booking_is_refused/03-week-with-the-bookings.png"
    ),
    "appointments-clash.png": (
        "test_book_appointments_and_a_double_booking_is_refused/02-double-booking-refused.png"
    ),
    "session-completed.png": (
        "test_record_a_session_with_a_lot_then_recall_the_lot/04-session-completed-with-a-lot.png"
    ),
    "stock.png": "test_record_a_session_with_a_lot_then_recall_the_lot/02-stock.png",
    "recall.png": "test_record_a_session_with_a_lot_then_recall_the_lot/05-lot-recall.png",
    "clinic-settings-errors.png": (
        "test_settings_change_with_errors_shown_and_nothing_lost/02-settings-refused.png"
    ),
}


def main() -> int:
    missing = [name for name in SHOTS.values() if not (SOURCE / name).is_file()]
    if missing:
        print(f"run the browser tests first; missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    TARGET.mkdir(parents=True, exist_ok=True)
    for target, source in SHOTS.items():
        image = Image.open(SOURCE / source).convert("RGB")
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            TARGET / target, optimize=True
        )
        print(f"docs/images/webapp/{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
