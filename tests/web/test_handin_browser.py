"""The whole hand-in walk in a real browser (Debian's Chromium driven by Playwright) against
``autograder serve``: a student logs in, downloads the notebook and its data, hands in a broken
and then a correct notebook, and each attempt's page goes from queued to the result by itself;
the hidden checks stay hidden until the instructor, in the same browser, releases feedback on the
dashboard and downloads the Canvas export."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

from playwright.sync_api import expect

from tests.web.handin_notebooks import broken, correct


def log_in(browser, url: str, token: str):
    page = browser.new_page(accept_downloads=True)  # a context of its own: its own session cookie
    page.goto(url + "/login")
    page.fill("#token", token)
    page.click("#login")
    return page


def download(page, selector: str) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path())


def hand_in(page, url: str, notebook: bytes) -> str:
    """Hand ``notebook`` in from the assignments page; the attempt page's URL once it shows "done"."""
    page.goto(url + "/assignments")
    page.set_input_files("#notebook-xor", files=[{"name": "xor.ipynb", "mimeType": "application/x-ipynb+json",
                                                  "buffer": notebook}])
    page.click("#handin-xor")
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    expect(page.locator("#state")).to_have_text("done", timeout=120_000)  # no reload: the page polls
    return page.url


def test_a_student_downloads_hands_in_and_sees_hidden_checks_once_the_instructor_releases(handin_server, browser):
    server = handin_server
    page = log_in(browser, server.url, server.tokens["bob"])
    expect(page).to_have_url(re.compile(r"/assignments$"))
    notebook = json.loads(download(page, "#assignment-xor a[href$='/xor.ipynb']").read_text())
    assert notebook["nbformat"] == 4 and any("def make_xor_data" in "".join(c["source"]) for c in notebook["cells"])
    names = zipfile.ZipFile(download(page, "#assignment-xor a[href$='/data.zip']")).namelist()
    assert names and not [n for n in names if "instructor" in n or "solution" in n], names

    broken_attempt = hand_in(page, server.url, broken(server.course))
    rows = page.locator("#tests tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.filter(has_text="test_make_xor_data")).to_contain_text("failed")
    expect(rows.filter(has_text="test_xor_net_structure")).to_contain_text("passed")
    expect(page.locator("#hidden-status")).to_contain_text("releases feedback")
    expect(page.locator("#hidden")).to_be_hidden()
    assert "test_relu_model_fits_xor" not in page.content()

    hand_in(page, server.url, correct(server.course))
    expect(page.locator("#tests tbody tr").filter(has_text="failed")).to_have_count(0)
    expect(page.locator("#hidden")).to_be_hidden()

    staff = log_in(browser, server.url, server.instructor)
    staff.goto(server.url + "/instructor/assignments/xor")
    expect(staff.locator("#feedback-status")).to_have_text("held back")
    staff.click("#release")
    expect(staff.locator("#feedback-status")).to_have_text("released")
    rows = list(csv.reader(download(staff, "a[href$='format=canvas']").read_text().splitlines()))
    assert rows[0][:2] == ["Student", "ID"] and "xor" in rows[0]

    page.goto(broken_attempt)
    expect(page.locator("#hidden")).to_be_visible()
    expect(page.locator("#hidden tbody tr").filter(has_text="test_make_xor_data_shapes_and_corners")).to_contain_text("0 / 1")
    expect(page.locator("#hidden tbody tr").filter(has_text="test_relu_model_fits_xor")).to_contain_text("2 / 2")
