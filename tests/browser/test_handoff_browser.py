"""The hand-off code in a real browser: the QR code a phone shows and the one printed on paper both read
back (with zbar, as a phone camera app would) as the link, and the pages with it have no axe violations.

The QR codes read back are saved in /tmp/shots/; screenshots for a human to look at too, with
RUXGUIDE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import Page, expect

from screening.permissions import OPEN_HANDOFF, TREATING_CLINICIAN
from tests.support.browser import (
    AXE,
    BROWSER_MARGINS,
    MANY_CAUTIONS,
    PHONE,
    NewPage,
    audit,
    keep_screenshot,
    post_answers,
)

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
BUTTON = "Make a code for my clinician"
PASSWORD = "a long test password 4 clinicians"
TOOLS_MISSING = "zbarimg and pdftoppm are required in CI: apt-get install zbar-tools poppler-utils"


@pytest.fixture(scope="session")
def zbarimg() -> str:
    """Debian's zbar, to read QR codes from images; required in CI, where .ci/run installs it."""
    path, pdftoppm = shutil.which("zbarimg"), shutil.which("pdftoppm")
    if path is None or pdftoppm is None:
        if os.environ.get("CI"):
            pytest.fail(TOOLS_MISSING, pytrace=False)
        pytest.skip(TOOLS_MISSING)
    return path


def decode(zbarimg: str, image: Path) -> list[str]:
    """Every QR code zbar reads in the image (none: an empty list)."""
    found = subprocess.run(
        [zbarimg, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return found.stdout.splitlines()


def make_code(page: Page) -> str:
    """Press the button on the result as a patient would; the address the page then shows."""
    page.goto("/check/result/")
    page.get_by_role("button", name=BUTTON, exact=True).click()
    page.wait_for_url("**/check/result/#handoff")
    holder = page.locator("[data-handoff-url]")
    expect(holder.locator("svg")).to_be_visible()
    address = holder.get_attribute("data-handoff-url")
    assert address and "/admin/handoff/?code=" in address
    return address


def test_the_phone_shows_a_qr_code_that_reads_back_as_the_link(new_page: NewPage, zbarimg: str) -> None:
    page = new_page(viewport=PHONE)
    post_answers(page, MANY_CAUTIONS)
    address = make_code(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#handoff").scroll_into_view_if_needed()
    keep_screenshot(page, SHOTS / "handoff-result-phone.png")
    keep_screenshot(page, SHOTS / "handoff-result-phone-full.png", full_page=True)
    qr_image = SHOTS / "handoff-qr-phone.png"
    page.locator("#handoff svg").screenshot(path=str(qr_image))
    assert decode(zbarimg, qr_image) == [address]
    assert page.get_by_role("link", name=address).count() == 1  # the link's text is the address, unbroken
    # The link wraps: nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_button_works_without_javascript(new_page: NewPage) -> None:
    page = new_page(javascript=False)
    post_answers(page, MANY_CAUTIONS)
    address = make_code(page)
    page.goto("/check/result/print/")
    expect(page.locator("[data-handoff-url]")).to_have_attribute("data-handoff-url", address)


def test_the_printed_qr_code_reads_back_as_the_link_at_300_dpi(page: Page, zbarimg: str, tmp_path: Path) -> None:
    post_answers(page, MANY_CAUTIONS)
    address = make_code(page)
    page.goto("/check/result/print/")
    pdf = tmp_path / "result.pdf"
    pdf.write_bytes(page.pdf(format="A4", margin=BROWSER_MARGINS, print_background=False))
    # Grey levels, as zbar reads any image (it converts colour to grey first), and uncompressed: writing
    # every page as a 300 dpi PNG took three seconds, this takes a fifth of one.
    subprocess.run(["pdftoppm", "-r", "300", "-gray", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.pgm"))
    assert pages
    read = {number: decode(zbarimg, image) for number, image in enumerate(pages, start=1)}
    found = [number for number, codes in read.items() if codes]
    assert len(found) == 1, read
    assert read[found[0]] == [address]
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The page with the code, as a PNG for a human to look at.
    only = str(found[0])
    shot = SHOTS / "handoff-printout-page"  # pdftoppm adds .png
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-singlefile", "-f", only, "-l", only, str(pdf), str(shot)],
        check=True,
        timeout=120,
    )
    text = page.locator("#handoff").inner_text()
    assert "It does not hold your name." in text and "The code works until" in text


def test_the_result_with_a_code_has_no_axe_violations(page: Page) -> None:
    post_answers(page, MANY_CAUTIONS)
    make_code(page)
    audit(page, "result-with-code")


@pytest.fixture
def treating_clinician(server_url: str) -> User:
    """A staff user who may only open codes (a transactional flush may have emptied the group)."""
    group, _ = Group.objects.get_or_create(name=TREATING_CLINICIAN)
    group.permissions.set(Permission.objects.filter(content_type__app_label="screening", codename=OPEN_HANDOFF))
    user = User.objects.create_user("dr.okafor", password=PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


def test_the_clinician_signs_in_from_the_link_and_sees_an_accessible_page(
    new_page: NewPage, treating_clinician: User
) -> None:
    patient = new_page()
    post_answers(patient, MANY_CAUTIONS)
    address = make_code(patient)

    doctor = new_page()
    doctor.goto(address)
    doctor.wait_for_url(lambda url: "/admin/login/" in url)
    assert "Psoriasis" not in doctor.locator("body").inner_text()
    doctor.locator("#id_username").fill(treating_clinician.username)
    doctor.locator("#id_password").fill(PASSWORD)
    doctor.get_by_role("button", name="Log in", exact=True).click()
    doctor.wait_for_url(address)
    expect(doctor.get_by_role("heading", name="A patient's hand-off code", exact=True)).to_be_visible()
    expect(
        doctor.get_by_role("link", name="Download the answers as a FHIR QuestionnaireResponse (JSON)")
    ).to_be_visible()
    keep_screenshot(doctor, SHOTS / "handoff-clinician.png")
    keep_screenshot(doctor, SHOTS / "handoff-clinician-full.png", full_page=True)
    keep_screenshot(doctor.locator(".handoff-rule").first, SHOTS / "handoff-clinician-rule.png")
    results = AXE.run(doctor)
    assert not results.violations_count, results.generate_report()
    with doctor.expect_download() as download:
        doctor.get_by_role("link", name="Download the answers as a FHIR QuestionnaireResponse (JSON)").click()
    assert download.value.suggested_filename.startswith("ruxguide-questionnaire-response-v")
