"""A picture of the plan for the client: sessions and aftercare windows on a calendar."""

from __future__ import annotations

import datetime as dt
import io
import textwrap

from pointillist.domain.consultation import TreatmentPlan
from pointillist.errors import PointillistError

_SESSION = "#3b3b3b"
_RESTRICTION_COLOURS = ("#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fdd0a2")


def plan_timeline_png(plan: TreatmentPlan, *, dpi: int = 150) -> bytes:
    """Render the sessions and aftercare windows as a timeline (PNG bytes).

    One row per session and one per restriction; bars span the dates. Raises
    :class:`PointillistError` when the plan has no dated sessions to draw.
    """
    if not plan.sessions:
        raise PointillistError(
            "this plan has no dated sessions to draw (screening "
            f"{plan.screening.outcome}); use --format text or json to see why"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[tuple[str, list[tuple[dt.date, dt.date]], str]] = [
        ("SMP sessions", [(d.date, d.date) for s in plan.sessions for d in s.days], _SESSION)
    ]
    if plan.test_patch is not None:
        patch = plan.test_patch
        rows.insert(
            0,
            (
                "Test patch, healing check",
                [(patch.date, patch.date), (patch.healing_check_date, patch.healing_check_date)],
                _SESSION,
            ),
        )
    labels: dict[tuple[str, ...], list[tuple[dt.date, dt.date]]] = {}
    for window in plan.aftercare:
        labels.setdefault(window.avoid, []).append((window.start, window.end))
    for index, (avoid, spans) in enumerate(labels.items()):
        text = textwrap.fill("No " + ", ".join(avoid), width=44)
        rows.append((text, spans, _RESTRICTION_COLOURS[index % len(_RESTRICTION_COLOURS)]))

    origin = plan.test_patch.date if plan.test_patch else plan.sessions[0].date

    def x(day: dt.date) -> int:
        return (day - origin).days

    footer = "\n".join(
        [
            *textwrap.wrap(plan.downtime, width=170),
            "Coloured bars: what to avoid on those dates (inclusive).",
        ]
    )
    footer_lines = footer.count("\n") + 1
    height = 0.62 * len(rows) + 1.4 + 0.13 * footer_lines
    fig, ax = plt.subplots(figsize=(11, height), dpi=dpi)
    for y, (_, spans, colour) in enumerate(rows):
        for start, end in spans:
            ax.barh(y, x(end) + 1 - x(start), left=x(start), height=0.6, color=colour)
    session_row = 1 if plan.test_patch is not None else 0
    if plan.test_patch is not None:
        for label, day in (
            ("test patch", plan.test_patch.date),
            ("healing check", plan.test_patch.healing_check_date),
        ):
            ax.annotate(
                f"{label}\n{day:%d %b}",
                (x(day), 0),
                xytext=(9, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
    for session in plan.sessions:
        ax.annotate(
            f"{session.number}: {session.date:%d %b}\n{session.duration_minutes / 60:.1f} h",
            (x(session.date), session_row),
            xytext=(9, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(range(len(rows)), [label for label, _, _ in rows], fontsize=8)
    ax.invert_yaxis()
    last = max(w.end for w in plan.aftercare) if plan.aftercare else plan.sessions[-1].last_date
    ticks = [origin + dt.timedelta(days=d) for d in range(0, x(last) + 2, 14)]
    ax.set_xticks([x(t) for t in ticks], [f"{t:%d %b %Y}" for t in ticks])
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    name = plan.client.name or plan.client.pattern
    ax.set_title(
        f"SMP plan for {name}: {len(plan.sessions)} sessions over {plan.area.total_cm2:.0f} cm²",
        fontsize=10,
        loc="left",
    )
    fig.text(0.01, 0.01, footer, fontsize=7, color="#555555", va="bottom")
    fig.tight_layout(rect=(0, 0.13 * footer_lines / height + 0.02, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
