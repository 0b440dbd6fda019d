"""The browser side of `cargo bench --bench ui`, in Debian's chromium through Playwright.

load BASE COUNT: opens the home view COUNT times, each in a fresh browser context (an
    empty cache, as a first visit) and then once more in the same context (a return visit),
    and prints one JSON line per visit: the navigation timing (ms from navigation start to
    the response's end, DOM interactive, DOMContentLoaded, load), when the first data was
    drawn, and the bytes received from the network until then (Chrome DevTools Protocol's
    encoded lengths: headers and bodies, the live stream's bytes included).
hold BASE COUNT SECONDS [distinct]: opens COUNT home views with live updates every 5 s,
    prints "ready" once every page has drawn, keeps them open SECONDS, then prints a JSON
    line with how many pages were redrawn meanwhile. With "distinct" each page shows
    another range (30 min plus a minute per page), so the server keeps a feed per page.
"""
import json
import sys
import time

from playwright.sync_api import sync_playwright

DRAWN = "document.getElementById('updated').textContent.startsWith('updated')"


def visit(context, base):
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    received = {}
    cdp.on("Network.dataReceived", lambda e: received.__setitem__(e["requestId"], received.get(e["requestId"], 0) + e["encodedDataLength"]))
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__(e["requestId"], max(received.get(e["requestId"], 0), e["encodedDataLength"])))
    page.goto(f"{base}/?refresh=5")
    page.wait_for_function(DRAWN, timeout=30000)
    drawn = page.evaluate("performance.now()")
    timing = page.evaluate(
        """() => { const n = performance.getEntriesByType('navigation')[0];
                   return {response_end: n.responseEnd, dom_interactive: n.domInteractive,
                           dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd}; }"""
    )
    page.wait_for_timeout(200)
    timing["first_data_drawn"] = drawn
    timing["bytes"] = sum(received.values())
    page.close()
    return timing


def load(base, count):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(count):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            print(json.dumps({"visit": "first", **visit(context, base)}), flush=True)
            print(json.dumps({"visit": "return", **visit(context, base)}), flush=True)
            context.close()
        browser.close()


def hold(base, count, seconds, distinct):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        pages = []
        for _ in range(count):
            page = context.new_page()
            range_s = 1800 + 60 * len(pages) if distinct else 1800
            page.goto(f"{base}/?refresh=5&range={range_s}")
            pages.append(page)
        for page in pages:
            page.wait_for_function(DRAWN, timeout=30000)
        first = [page.inner_text("#updated") for page in pages]
        print("ready", flush=True)
        time.sleep(seconds)
        redrawn = [page.inner_text("#updated") != f for page, f in zip(pages, first)]
        print(json.dumps({"pages": count, "redrawn": sum(redrawn)}), flush=True)
        browser.close()


mode, base = sys.argv[1], sys.argv[2]
if mode == "load":
    load(base, int(sys.argv[3]))
else:
    hold(base, int(sys.argv[3]), float(sys.argv[4]), len(sys.argv) > 5 and sys.argv[5] == "distinct")
