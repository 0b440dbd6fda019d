"""What every page test starts with: Debian's Chromium, headless and offline (Playwright's own
browser download cannot work here), and pages whose console errors are collected so a test
can fail on them."""

import time

CHROMIUM = "/usr/bin/chromium"


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


def watched_page(browser):
    """A 1280x800 page and the list its console errors and uncaught exceptions go to."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda x: errors.append(str(x)))
    return page, errors


def wait_until(page, expression, timeout=10000, interval=100):
    """Waits until the JavaScript `expression` is truthy in `page`, asking from the test's
    side every `interval` ms. Playwright's own wait_for_function compiles its predicate
    inside the page, which the pages' Content-Security-Policy (no eval) refuses, as it
    should; an evaluation from the test's side is not the page's script."""
    deadline = time.monotonic() + timeout / 1000
    last = None
    while True:
        try:
            if page.evaluate(expression):
                return
        except Exception as e:  # the page is navigating; ask again
            last = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} ms for {expression!r} (last error: {last})")
        time.sleep(interval / 1000)
