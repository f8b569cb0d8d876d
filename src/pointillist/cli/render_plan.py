"""Rich text rendering of a consultation for the practitioner's terminal."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from pointillist.domain.consultation import TreatmentPlan

OUTCOME_STYLE = {
    "proceed": "bold green",
    "caution": "bold yellow",
    "refer": "bold dark_orange",
    "defer": "bold magenta",
    "decline": "bold red",
}


def print_screening(console: Console, plan: TreatmentPlan) -> None:
    """The screening verdict and every finding with its reasons and source."""
    screening = plan.screening
    style = OUTCOME_STYLE[screening.outcome]
    client = plan.client
    who = client.name or f"{client.sex}, {client.pattern}"
    console.print(
        Panel(
            f"[{style}]{screening.outcome.upper()}[/]  {who}\n"
            f"[dim]consultation {screening.consultation_date}, rules {screening.rules_version}[/]",
            title="Screening",
            title_align="left",
        )
    )
    if client.fitzpatrick is None and client.ita_deg is not None:
        from pointillist.domain.skin_type import fitzpatrick_caveat

        console.print(
            f"Fitzpatrick estimated from ITA {client.ita_deg:g}°: type "
            f"{client.fitzpatrick_for_screening}. [dim]{fitzpatrick_caveat()}[/]"
        )
    if not screening.findings:
        console.print("No rule applied: proceed.")
        return
    findings = Table(show_lines=True)
    findings.add_column("outcome")
    findings.add_column("for the client")
    findings.add_column("for the practitioner", style="dim")
    for f in screening.findings:
        findings.add_row(
            f"[{OUTCOME_STYLE[f.outcome]}]{f.outcome}[/]\n[dim]{f.code}[/]",
            f.message,
            f"{f.reasoning}\nSource: {f.source}",
        )
    console.print(findings)
    if screening.needs_review:
        console.print("[bold]Book a review consultation: no start date can be given yet.[/]")
    elif screening.outcome == "defer" and screening.earliest_start:
        console.print(f"[bold]Earliest start: {screening.earliest_start:%a %d %b %Y}[/]")


def print_plan(console: Console, plan: TreatmentPlan) -> None:
    """The whole consultation: screening, area, sessions, aftercare, quote, touch-up."""
    print_screening(console, plan)
    area = Table(title=f"Treatment area: {plan.area.total_cm2:.0f} cm²", title_justify="left")
    area.add_column("zone")
    area.add_column("cm²", justify="right")
    for zone in plan.area.zones:
        area.add_row(zone.name, f"{zone.cm2:.1f}")
    console.print(area)
    for assumption in plan.area.assumptions:
        console.print(f"[bold yellow]Assumed:[/] {assumption}")
    if plan.start_note:
        console.print(f"[bold]{plan.start_note}[/]")
    if plan.sessions:
        table = Table(title="Sessions", title_justify="left")
        for column in ("#", "date", "duration", "impressions", "density after (/cm²)"):
            table.add_column(column, justify="right" if column != "date" else "left")
        for s in plan.sessions:
            dates = ", ".join(f"{d.date:%a %d %b %Y}" for d in s.days)
            hours = ", ".join(f"{d.minutes // 60}h{d.minutes % 60:02d}" for d in s.days)
            table.add_row(
                str(s.number), dates, hours, f"{s.impressions:,}", f"{s.target_density_per_cm2:g}"
            )
        console.print(table)
        care = Table(title="Aftercare", title_justify="left")
        care.add_column("from")
        care.add_column("until (inclusive)")
        care.add_column("avoid")
        for w in plan.aftercare:
            care.add_row(f"{w.start:%d %b %Y}", f"{w.end:%d %b %Y}", ", ".join(w.avoid))
        console.print(care)
        console.print(plan.downtime)
    if plan.quote is not None:
        quote = Table(title=f"Quote ({plan.quote.currency})", title_justify="left")
        quote.add_column("item")
        quote.add_column("amount", justify="right")
        for line in plan.quote.lines:
            quote.add_row(line.label, f"{line.amount:,.2f}")
        quote.add_row("[bold]Total[/]", f"[bold]{plan.quote.total:,.2f}[/]")
        quote.add_row("Deposit to book", f"{plan.quote.deposit:,.2f}")
        if plan.quote.deposit_note:
            quote.add_row(f"[dim]{plan.quote.deposit_note}[/]", "")
        console.print(quote)
    if plan.touch_up_date:
        console.print(f"Touch-up due around {plan.touch_up_date:%B %Y}.")
