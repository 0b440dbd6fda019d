"""Opens each dashboard of a running Taishan in headless Chromium, as a person would: every
view loads, every panel shows a value or a chart (no "loading", no failed query), the page
logs no console error and redraws by itself; a screenshot of each view at 1280x800 and at a
phone's width goes to the artifacts directory. A name written NAME@END opens the dashboard
at the fixed end time END (Unix seconds), as a shared link to a past moment does; such a
page is not expected to change, and its flow stages' numbers are reported with their
queries so the caller can ask PromQL the same questions. A name written NAME?VAR=VALUE opens
it with a variable chosen. Charts with the analyzer's bands report the band points drawn.

usage: views.py BASE_URL ARTIFACTS_DIR NAME[?VAR=VALUE][@END]...
"""
import json
import sys

from playwright.sync_api import sync_playwright

from browser import launch, wait_until, watched_page

base, artifacts, names = sys.argv[1], sys.argv[2], sys.argv[3:]
report = {}
with sync_playwright() as p:
    browser = launch(p)
    for spec in names:
        name, _, end = spec.partition("@")
        name, _, params = name.partition("?")
        page, errors = watched_page(browser)
        path = "/" if name == "home" else f"/d/{name}"
        # A short refresh so live updates are seen within the test.
        page.goto(f"{base}{path}?refresh=5" + (f"&range=300&end={end}" if end else "")
                  + (f"&{params}" if params else ""))
        wait_until(page,
            "document.getElementById('updated').textContent.startsWith('updated')", timeout=20000
        )
        # Just after start a panel may wait for its first values: give it until 40 s, then
        # report what it shows.
        try:
            wait_until(page,
                """() => [...document.querySelectorAll('[data-panel]')].every(el => {
                    const t = el.querySelector('.body').innerText;
                    if (t.includes('loading') || t.includes('no series matched')) return false;
                    return el.classList.contains('timeseries') ? Number(el.dataset.points || 0) > 0 : /[0-9]/.test(t);
                })""",
                timeout=40000,
            )
        except Exception:
            pass
        first = page.inner_text("#updated")
        # The alerts panel fills from its own requests, after the first frame.
        wait_until(page,
            "[...document.querySelectorAll('.panel.alerts .body')].every(b => !b.innerText.includes('loading'))",
            timeout=10000,
        )
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
        collected_at_ms = page.evaluate("Date.now()")
        flow = page.eval_on_selector_all(
            "[data-field]",
            """els => els.map(el => ({
                stage: el.closest('[data-stage]').dataset.stage,
                field: el.dataset.field,
                query: el.dataset.query,
                value: el.dataset.value,
                shown: el.innerText,
            }))""",
        )
        # The analyzer's bands follow its first scores (every 15 s by default).
        try:
            wait_until(page,
                """() => [...document.querySelectorAll('[data-band="shown"]')]
                    .every(el => Number(el.dataset.bandPoints || 0) > 0)""",
                timeout=60000,
            )
        except Exception:
            pass
        bands = page.eval_on_selector_all(
            "[data-band]:not([data-band=''])",
            """els => els.map(el => ({
                title: el.querySelector('h3').innerText,
                band: el.dataset.band,
                band_points: Number(el.dataset.bandPoints || 0),
                anomalies: Number(el.dataset.anomalies || 0),
            }))""",
        )
        shot = name + ("-at-end" if end else "") + ("-" + params.partition("=")[2] if params else "")
        page.screenshot(path=f"{artifacts}/{shot}-1280.png", full_page=True)
        redrawn = False
        if not end:
            # The next pushed update redraws the page without a reload.
            wait_until(page,
                f"document.getElementById('updated').textContent !== {json.dumps(first)}",
                timeout=20000,
            )
            redrawn = True
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        page.screenshot(path=f"{artifacts}/{shot}-phone.png", full_page=True)
        report[spec] = {
            "panels": panels,
            "bands": bands,
            "flow": flow,
            "end": page.evaluate("document.body.dataset.end"),
            "collected_at_ms": collected_at_ms,
            "errors": errors,
            "redrawn": redrawn,
            "url": page.url,
        }
        page.close()
    browser.close()
print(json.dumps(report))
