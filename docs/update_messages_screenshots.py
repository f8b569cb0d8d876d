"""Copy the screenshots of messages to clients from the end-to-end tests into
docs/images/messages/ (docs/reminders.md shows them).

Run from the repository root after the browser tests:

    .venv/bin/pytest tests/web/e2e/test_e2e_messages.py
    .venv/bin/python docs/update_messages_screenshots.py
"""

from __future__ import annotations

import sys

from _screenshots import copy_screenshots

SENT = "test_the_demo_reminder_is_on_the_messages_page_and_the_timeline"
WORDING = "test_a_template_that_does_not_render_is_refused_with_what_was_typed"
UNSUBSCRIBE = "test_the_unsubscribe_link_works_without_signing_in"

SHOTS = {
    "messages-page.png": f"{SENT}/01-messages-page.png",
    "client-timeline.png": f"{SENT}/02-client-timeline-with-the-e-mail.png",
    "appointment-email.png": f"{SENT}/04-the-e-mail.png",
    "settings.png": f"{WORDING}/01-message-settings.png",
    "wording-refused.png": f"{WORDING}/02-wording-refused.png",
    "unsubscribed.png": f"{UNSUBSCRIBE}/01-unsubscribed.png",
}


if __name__ == "__main__":
    sys.exit(copy_screenshots(SHOTS, "messages"))
