"""What every page test starts with: Debian's Chromium, headless and offline (Playwright's own
browser download cannot work here), and pages whose console errors are collected so a test
can fail on them."""

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
