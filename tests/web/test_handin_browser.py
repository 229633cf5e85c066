"""Handing in from the assignments page in a real browser (Debian's Chromium driven by Playwright)
against ``autograder serve``: the attempt's page goes from queued to the result by itself, shows
the notebook's own tests, and the hidden checks only after the instructor's release."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.web.handin_notebooks import broken


def test_the_attempt_page_updates_by_itself_and_shows_hidden_checks_after_release(handin_server, browser):
    server = handin_server
    page = browser.new_page()
    page.goto(server.url + "/login")
    page.fill("#token", server.tokens["bob"])
    page.click("#login")
    expect(page).to_have_url(re.compile(r"/assignments$"))
    page.set_input_files("#notebook-xor", files=[{"name": "xor.ipynb", "mimeType": "application/x-ipynb+json",
                                                  "buffer": broken(server.course)}])
    page.click("#handin-xor")
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    expect(page.locator("#state")).to_have_text("done", timeout=120_000)  # no reload: the page polls
    rows = page.locator("#tests tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.filter(has_text="test_make_xor_data")).to_contain_text("failed")
    expect(rows.filter(has_text="test_xor_net_structure")).to_contain_text("passed")
    expect(page.locator("#hidden-status")).to_contain_text("releases feedback")
    expect(page.locator("#hidden")).to_be_hidden()
    assert "test_relu_model_fits_xor" not in page.content()
    released = httpx.put(f"{server.url}/api/instructor/assignments/xor/feedback",
                         headers={"Authorization": f"Bearer {server.instructor}"}, json={"released": True})
    assert released.status_code == 200
    page.reload()
    expect(page.locator("#hidden")).to_be_visible()
    expect(page.locator("#hidden tbody tr").filter(has_text="test_make_xor_data_shapes_and_corners")).to_contain_text("0 / 1")
    expect(page.locator("#hidden tbody tr").filter(has_text="test_relu_model_fits_xor")).to_contain_text("2 / 2")
