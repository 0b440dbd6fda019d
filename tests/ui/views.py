"""Opens each dashboard of a running Taishan in headless Chromium, as a person would: every
view loads, every panel shows a value or a chart (no "loading", no failed query), the page
logs no console error and redraws by itself; a screenshot of each view at 1280x800 and at a
phone's width goes to the artifacts directory.

usage: views.py BASE_URL ARTIFACTS_DIR NAME...
"""
import json
import sys

from playwright.sync_api import sync_playwright

base, artifacts, names = sys.argv[1], sys.argv[2], sys.argv[3:]
report = {}
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    for name in names:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda x, e=errors: e.append(str(x)))
        path = "/" if name == "home" else f"/d/{name}"
        # A short refresh so live updates are seen within the test.
        page.goto(f"{base}{path}?refresh=5")
        page.wait_for_function(
            "document.getElementById('updated').textContent.startsWith('updated')", timeout=20000
        )
        first = page.inner_text("#updated")
        panels = page.eval_on_selector_all(
            "[data-panel]",
            """els => els.map(el => ({
                title: el.querySelector('h3').innerText,
                type: el.className,
                failed: el.classList.contains('failed'),
                text: el.querySelector('.body').innerText.trim(),
                charts: el.querySelectorAll('canvas').length,
                points: Number(el.dataset.points || 0),
            }))""",
        )
        page.screenshot(path=f"{artifacts}/{name}-1280.png", full_page=True)
        # The next server-sent refresh redraws the page without a reload.
        page.wait_for_function(
            f"document.getElementById('updated').textContent !== {json.dumps(first)}", timeout=20000
        )
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        page.screenshot(path=f"{artifacts}/{name}-phone.png", full_page=True)
        report[name] = {"panels": panels, "errors": errors, "redrawn": True, "url": page.url}
        page.close()
    browser.close()
print(json.dumps(report))
