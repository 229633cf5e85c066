"""The web app in a real browser: Debian's Chromium driven by Playwright against
``autograder leaderboard serve`` on 127.0.0.1."""

from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import expect

from autograder.leaderboard.roster import RosterEntry
from tests.leaderboard.boards import csv_bytes, make_board, sqlite_url, synthetic_key
from tests.leaderboard.server import Server

KEY = synthetic_key(n=400)
XSS = "<img src=x onerror=alert(1)>"


def test_login_upload_and_live_board(tmp_path, browser):
    url = sqlite_url(tmp_path)
    lb, tokens, _ = make_board(url, KEY, students=("alice", RosterEntry("mallory", display_name=XSS)))
    lb.submit(lb.authenticate(tokens["mallory"]), csv_bytes(KEY, (KEY.labels + 1) % 5))
    lb.close(at=datetime(2099, 1, 31, 23, 59))  # the deadline, shown on every page
    with Server(url, refresh=0.5) as server:
        context = browser.new_context()
        dialogs: list[str] = []
        board = context.new_page()
        board.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        board.goto(server.url + "/")
        expect(board.locator("#board tbody")).to_contain_text(XSS)  # shown as text
        board.evaluate("window.stillTheSamePage = true")

        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server.url + "/login")
        page.fill("#token", tokens["alice"])
        page.click("#login")
        expect(page).to_have_url(re.compile(r"/submit$"))
        expect(page.locator("#remaining")).to_have_text("5")
        page.set_input_files("#file", files=[{"name": "predictions.csv", "mimeType": "text/csv",
                                             "buffer": csv_bytes(KEY, KEY.labels)}])
        page.click("#upload")
        expect(page).to_have_url(re.compile(r"/result/\d+$"))
        expect(page.locator("#score")).to_have_text("1.000")

        # the open board page picks the new row up by itself, above mallory's
        first_row = board.locator("#board tbody tr").first
        expect(first_row).to_contain_text("alice", timeout=15_000)
        expect(first_row).to_contain_text("1.000")
        expect(first_row.locator("td.state")).to_have_text("no notebook")  # board.js shows the state too
        expect(first_row.locator("td").first).to_have_text("\u2013")  # and no rank without a notebook
        expect(board.locator("#board tbody tr")).to_have_count(2)
        assert board.evaluate("window.stillTheSamePage") is True  # updated in place, not reloaded

        # a malformed file: the error on the page, nothing stored
        page.goto(server.url + "/submit")
        page.set_input_files("#file", files=[{"name": "bad.csv", "mimeType": "text/csv",
                                             "buffer": b"id,label\nq1,3\n"}])
        page.click("#upload")
        expect(page.locator("#error")).to_have_text("line 2: unknown id 'q1' (not a competition test id)")
        expect(page.locator("#remaining")).to_have_text("4")
        page.goto(server.url + "/me")
        expect(page.locator("table.history tbody tr")).to_have_count(1)
        for view in (board, page):
            expect(view.locator("#deadline")).to_contain_text("Deadline: 2099-01-31 23:59 UTC")

        # the rules, linked from the board, open in the app with the deadline above them
        board.click("#rules-link")
        expect(board).to_have_url(re.compile(r"/rules$"))
        expect(board.locator("#rules h2", has_text="Teams")).to_be_visible()
        expect(board.locator("#deadline")).to_contain_text("left")
        assert dialogs == []  # the hostile display name never ran as script
        context.close()
    lb.dispose()
