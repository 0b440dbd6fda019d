"""Opens the drills view of a running Taishan in headless Chromium after drills have run,
as a person would: the history lists each run with its verdict and timings, the timings
chart holds values, the newest report shows its timeline (the export, inline) with its
marks; clicking another run shows that one; the kill switch asks first, then reports the
services clean; a drill started with its Run button shows its progress and stops on Stop.
No console error. Screenshots at 1280x800 go to the artifacts directory.

usage: drills.py BASE_URL ARTIFACTS_DIR
"""
import json
import sys

from playwright.sync_api import sync_playwright

from browser import launch, wait_until, watched_page

base, artifacts = sys.argv[1], sys.argv[2]
with sync_playwright() as p:
    browser = launch(p)
    page, errors = watched_page(browser)
    dialogs = []

    def answer(d):
        dialogs.append(d.message)
        # The operator's name, asked once for the audit trail.
        d.accept("drill-test" if d.type == "prompt" else None)

    page.on("dialog", answer)
    page.goto(f"{base}/ui/drills")
    wait_until(page, "document.getElementById('view').dataset.loaded === '1'", timeout=20000)
    rows = page.locator("#history tbody tr")
    drills = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
    verdicts = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())]
    points = int(page.get_attribute("#timings", "data-points") or 0)
    frame = page.frame_locator("#report")
    frame.locator("h1").wait_for(timeout=10000)
    newest = frame.locator("h1").inner_text()
    marks = frame.locator("svg text").all_text_contents()
    page.screenshot(path=f"{artifacts}/drills-1280.png", full_page=True)

    rows.nth(1).click()
    wait_until(page,
        "document.querySelector('#history tr.selected') && document.querySelector('#history tr.selected').rowIndex === 2",
        timeout=10000,
    )
    frame = page.frame_locator("#report")
    frame.locator("h1").wait_for(timeout=10000)
    second = frame.locator("h1").inner_text()

    page.click("#kill")
    page.wait_for_timeout(1000)
    wait_until(page, "document.getElementById('view').dataset.loaded === '1'", timeout=10000)
    armed = page.inner_text("#armed tbody")

    # Run a drill from the page, watch it start, stop it from the page.
    page.click("tr[data-drill='bank-channel-outage'] button[data-run='45s']")
    page.wait_for_selector("#running", timeout=10000)
    running = page.inner_text("#running h3")
    page.screenshot(path=f"{artifacts}/drills-running-1280.png", full_page=True)
    page.click("#stop")
    wait_until(page, "!document.getElementById('running')", timeout=60000)
    wait_until(page, "document.querySelectorAll('#history tbody tr').length === 3", timeout=20000)
    stopped = page.inner_text("#history tbody tr:first-child")
    print(json.dumps({
        "drills": drills, "verdicts": verdicts, "points": points, "newest": newest,
        "marks": marks, "second": second, "dialogs": dialogs, "armed": armed, "errors": errors,
        "running": running, "stopped": stopped,
    }))
    browser.close()
