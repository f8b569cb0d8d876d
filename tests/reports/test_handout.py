"""The client handout, printed by WeasyPrint and read back with pdfminer.six: what a
client keeps must say the dates, the aftercare, the money and the lots."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from pointillist.reports.handout import (
    PAGE_POINTS,
    ClinicDetails,
    Handout,
    InkRecord,
    PreviewImage,
    handout_from_plan,
    handout_html,
    handout_pdf,
)
from tests.reports.pdf_reading import images, pages
from tests.reports.pdf_reading import text as pdf_text

CLINIC = ClinicDetails("Scalp Studio Utrecht", "NL-UT-0042", "GGD Utrecht", dt.date(2027, 6, 30))
INK = (
    InkRecord(
        dt.date(2026, 12, 29), "Perma Blend", "Midnight 1:4", "PB-24017", dt.date(2028, 3, 31)
    ),
    InkRecord(
        dt.date(2026, 12, 29), "Tattoo Pro", "Carbon Soft", "TP-88120", dt.date(2027, 11, 30)
    ),
)


def long_day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%B %Y}"


def money(value) -> str:
    return f"${float(value):,.2f}"


@pytest.fixture(scope="module")
def printed():
    """One caution plan (test patch, referral-free) printed on A4 and on Letter."""
    from pointillist.domain import PlanRequest, client_from_mapping, consult, load_policy
    from tests.domain.conftest import CONSULTATION

    client = client_from_mapping({"name": "Jan de Vries", "pattern": "norwood-5", "fitzpatrick": 5})
    plan = consult(client, PlanRequest(CONSULTATION), load_policy())
    handout = handout_from_plan(plan, clinic=CLINIC, opening_time=dt.time(9, 30), ink=INK)
    return plan, {paper: handout_pdf(handout, paper=paper) for paper in ("a4", "letter")}


def test_the_handout_says_the_clinic_dates_aftercare_money_and_lots(printed):
    plan, pdfs = printed
    text = pdf_text(pdfs["a4"])
    assert "Scalp Studio Utrecht" in text and "Licence NL-UT-0042, GGD Utrecht" in text
    assert "Prepared for Jan de Vries" in text
    # Every session day, with the clinic's opening time, and the test patch first.
    assert plan.test_patch is not None
    assert f"{long_day(plan.test_patch.date)} 09:30 Test patch" in text
    for session in plan.sessions:
        assert f"{long_day(session.date)} 09:30 Session {session.number}" in text
    # The course restriction of the source article, with its last day.
    course_end = max(w.end for w in plan.aftercare)
    assert "No saunas, swimming, hot showers, steam rooms" in text
    assert f"{course_end.day} {course_end:%B %Y}" in text
    assert plan.quote is not None
    assert f"Total {money(plan.quote.total)}" in text
    assert f"Deposit to book {money(plan.quote.deposit)}" in text
    for record in INK:
        assert record.lot in text and record.brand in text
    assert "Annex XVII entry 75" in text and "EN 17169" in text
    assert "cm²" in text and "cm2" not in text
    # Caution for type V skin: the plain-words verdict and the finding for the client.
    assert "Treatment can go ahead, with extra care" in text


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_every_page_is_the_paper_asked_for(printed, paper):
    _, pdfs = printed
    found = pages(pdfs[paper])
    assert found
    width, height = PAGE_POINTS[paper]
    for page in found:
        assert page.width == pytest.approx(width, abs=0.5)
        assert page.height == pytest.approx(height, abs=0.5)


def test_a_preview_image_keeps_its_proportions():
    image = Image.new("RGB", (900, 400), (200, 170, 150))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    handout = Handout(
        clinic=CLINIC,
        client_name="A",
        made_on=dt.date(2026, 12, 1),
        appointments=(),
        aftercare=(),
        downtime="",
        previews=(PreviewImage("Before and after", buffer.getvalue()),),
    )
    placed = images(handout_pdf(handout))
    assert len(placed) == 1
    shown = placed[0]
    assert shown.srcsize == (900, 400)
    assert shown.width / shown.height == pytest.approx(900 / 400, rel=0.01)
    assert shown.width > 300  # printed large enough to see, not a thumbnail


def test_whom_to_see_when_screening_refers(run):
    plan = run(conditions=["anticoagulants"], fitzpatrick=2)
    assert plan.screening.outcome == "refer"
    text = pdf_text(handout_pdf(handout_from_plan(plan, clinic=CLINIC)))
    assert "Before treatment, please see the professional named below" in text
    referral = next(f.refer_to for f in plan.screening.findings if f.refer_to)
    assert f"Whom to see: {referral}" in text


def test_a_declined_client_gets_reasons_and_no_dates_or_quote(run):
    plan = run(conditions=["keloid-history"])
    text = pdf_text(handout_pdf(handout_from_plan(plan, clinic=CLINIC)))
    assert "not right for you" in text
    assert "No appointments yet" in text
    assert "Your quote" not in text and "Total" not in text
    assert "saunas" not in text  # no course, no course restrictions


def test_without_the_plan_there_is_no_health_data():
    """What front-desk staff print: appointments, aftercare and ink, nothing clinical."""
    handout = Handout(
        clinic=CLINIC,
        client_name="Jan de Vries",
        made_on=dt.date(2026, 12, 1),
        appointments=(),
        aftercare=(),
        downtime="No downtime.",
        ink=INK,
    )
    text = pdf_text(handout_pdf(handout, paper="letter"))
    assert "PB-24017" in text
    for clinical in ("Your screening", "Your quote", "Before and after", "cm²"):
        assert clinical not in text


def test_what_a_record_holds_is_printed_as_text_never_as_markup():
    handout = Handout(
        clinic=ClinicDetails('<img src="http://example.invalid/x.png">Studio'),
        client_name="<b>Jan</b>",
        made_on=dt.date(2026, 12, 1),
        appointments=(),
        aftercare=(),
        downtime="",
    )
    html = handout_html(handout)
    assert "<b>Jan</b>" not in html and "&lt;b&gt;Jan&lt;/b&gt;" in html
    assert '<img src="http' not in html
    assert "<b>Jan</b>" in pdf_text(handout_pdf(handout))
    assert "Back to" not in html  # the web app's links are the page's, not the PDF's


def test_an_unknown_paper_is_refused():
    from pointillist.errors import PointillistError

    handout = Handout(CLINIC, "A", dt.date(2026, 12, 1), (), (), "")
    with pytest.raises(PointillistError, match="use a4 or letter"):
        handout_pdf(handout, paper="a5")  # type: ignore[arg-type]


def test_the_templates_ship_in_the_wheel():
    import fnmatch
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    globs = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"][
        "pointillist"
    ]
    for name in ("handout.html", "handout.css"):
        assert any(fnmatch.fnmatch(f"reports/templates/handout/{name}", g) for g in globs)


def test_printing_leaves_the_photo_checks_strict(tmp_path):
    """WeasyPrint makes Pillow accept truncated images when imported; after a handout
    is printed, a truncated photo must still be refused."""
    from PIL import ImageFile

    from pointillist.errors import PointillistError
    from pointillist.imaging.io import load_image

    handout_pdf(Handout(CLINIC, "A", dt.date(2026, 12, 1), (), (), ""))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 80)).save(buffer, format="JPEG")
    with pytest.raises(PointillistError, match="damaged or truncated"):
        load_image(buffer.getvalue()[: len(buffer.getvalue()) // 2])
