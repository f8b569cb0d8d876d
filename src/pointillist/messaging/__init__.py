"""Messages a clinic sends its clients by itself: aftercare the day after each session,
the end of the restriction window, appointment reminders with a calendar invitation, and
the touch-up recall, by e-mail (SMTP) and SMS (a webhook the clinic plugs its provider in).

The pieces, in the order a message meets them:

- :mod:`~pointillist.messaging.schedule` finds what is due in the records and puts one
  row per message and channel in the outbox (``store.models.OutboxMessage``), once:
  a unique key makes planning twice harmless;
- :mod:`~pointillist.messaging.outbox` claims a due row with a lease, records the outcome,
  backs off after failures, and lets staff retry or cancel;
- :mod:`~pointillist.messaging.templates` renders the clinic's wording,
  :mod:`~pointillist.messaging.mail` and :mod:`~pointillist.messaging.sms` deliver it;
- :mod:`~pointillist.messaging.worker` runs the loop (``pointillist worker``).

Delivery is at most once: see :mod:`pointillist.messaging.outbox` for why and what that
costs. It sits between the store (which it reads and writes) and the web app and CLI
(which call it), and may use the domain and the reports.
"""
