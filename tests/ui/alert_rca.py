"""Opens the alerts view of a running Taishan in headless Chromium while a drill's fault is in,
as the on-call engineer would: waits for a firing alert that carries its likely root causes,
reads them and the alert's anomaly score, clicks "Why?" and reads the whole ranking with its
reasons. No console error. A screenshot at 1280x800 goes to the artifacts directory.

Prints JSON: {"alert", "root_cause", "anomaly" ([score, watch]), "api_root_cause" (the alerter API's
annotation), "ranking": [[suspect, score, why]...], "kept_open", "band": {"band-points",
"anomalies"}, "errors"}.

Then DASHBOARD over the last 15 minutes: its chart TITLE draws the analyzer's band and marks
the anomalous points ("band").

usage: alert_rca.py BASE_URL ARTIFACTS_DIR ALERTNAME DASHBOARD TITLE
"""
import json
import sys

from playwright.sync_api import sync_playwright

from browser import launch, wait_until, watched_page

base, artifacts, alertname, dashboard, title = sys.argv[1:6]
with sync_playwright() as p:
    browser = launch(p)
    page, errors = watched_page(browser)
    page.goto(f"{base}/ui/alerts")
    row = page.locator(f'#alert-list tr[data-alert="{alertname}"][data-state="firing"]:has(.rca)')
    # The page refreshes itself every 5 s: the alert fires, then its ranking is drawn.
    row.first.wait_for(timeout=150000)
    row = row.first
    root_cause = row.locator(".rca").get_attribute("data-rca")
    # The alert's anomaly score: the loudest of the analyzer's series about its service.
    badge = row.locator("[data-anomaly]")
    anomaly = [float(badge.first.get_attribute("data-anomaly")), badge.first.get_attribute("title")] if badge.count() else None
    # The same alert in the alerter's API (Alertmanager's v2), with its annotation.
    held = page.request.get(f"{base}/alerter/api/v2/alerts").json()
    api_root_cause = [a["annotations"].get("root_cause") for a in held
                      if a["labels"].get("alertname") == alertname]
    row.locator("button[data-why]").click()
    ranking = page.locator(f'#alert-list tr[data-alert="{alertname}"] table.ranking tbody tr')
    ranking.first.wait_for(timeout=30000)
    rows = []
    for i in range(ranking.count()):
        cells = ranking.nth(i).locator("td").all_inner_texts()
        rows.append([cells[1], float(cells[2]), cells[4]])
    # The opened ranking stays open across the page's refresh (every 5 s), read while the
    # alert still fires (it resolves once the drill's degrade switch stops the loss).
    page.wait_for_timeout(5500)
    kept = page.locator(f'#alert-list tr[data-alert="{alertname}"] table.ranking').count()
    page.screenshot(path=f"{artifacts}/alerts-root-cause-1280.png", full_page=True)
    # The same moment on a dashboard: the chart of the failing series against the analyzer's
    # usual band, the anomalous points marked.
    page.goto(f"{base}/d/{dashboard}?range=900&refresh=5")
    chart = page.locator(f'[data-panel]:has(h3:text-is("{title}"))')
    try:
        wait_until(page,
            f"""() => [...document.querySelectorAll('[data-panel]')].some(el =>
                el.querySelector('h3').innerText === {json.dumps(title)} && Number(el.dataset.anomalies || 0) > 0)""",
            timeout=60000,
        )
    except Exception:
        pass
    band = {k: int(chart.get_attribute(f"data-{k}") or 0) for k in ("band-points", "anomalies")}
    page.screenshot(path=f"{artifacts}/{dashboard}-anomaly-1280.png", full_page=True)
    browser.close()
print(json.dumps({"alert": alertname, "root_cause": root_cause, "anomaly": anomaly,
                  "api_root_cause": api_root_cause,
                  "ranking": rows, "kept_open": kept > 0, "band": band, "errors": errors}))
