"""A Taishan behind a web config, in headless Chromium, as an on-call person and as an
attacker's page would use it:
- the dashboards send the browser to the login page; logging in lands back on the page;
- with that session, the page's own request opens a breaker;
- a page of another loopback origin, open in the same browser (which also holds the
  alerter's basic-auth password), posts forms to open a breaker on 7070 and to silence
  everything on 9093: both are refused, and nothing changes;
- a drill report holding a <script> shows as text, and no script of it runs.
Screenshots go to the artifacts directory.

usage: security.py BASE_URL ALERTER_URL EVIL_URL ARTIFACTS_DIR USER PASSWORD
prints a JSON report.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from browser import CHROMIUM, wait_until

base, alerter, evil, artifacts, user, password = sys.argv[1:7]
report = {}
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    # The browser knows the alerter's password, as one that logged in to it once would.
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        http_credentials={"username": user, "password": password},
    )
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda x: errors.append(str(x)))

    # 1. The login page, then back to the page asked for.
    page.goto(f"{base}/d/home")
    report["login_url"] = page.url
    page.screenshot(path=f"{artifacts}/login-1280.png")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    report["wrong_password_note"] = page.inner_text(".login-note")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/d/home**", timeout=10000)
    report["after_login_url"] = page.url
    cookies = context.cookies(base)
    report["cookie"] = [
        {"name": c["name"], "httpOnly": c["httpOnly"], "sameSite": c["sameSite"]}
        for c in cookies
        if c["name"] == "taishan_session"
    ]

    # 2. The page's own request, with its session's token, opens a breaker.
    report["open_breaker"] = page.evaluate(
        """async () => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch('/api/v1/guards/payment/bank-c', {method: 'POST',
          headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
          body: JSON.stringify({command: 'open_breaker', reason: 'opened from the session', who: 'typed-name'})});
        return {status: r.status, body: await r.text()};
    }"""
    )

    # 3. Another origin's page posts forms to both listeners.
    evil_page = context.new_page()
    evil_page.goto(evil)
    wait_until(evil_page, "window.sent === 2", timeout=10000)
    evil_page.wait_for_timeout(2000)
    report["evil_frames"] = evil_page.evaluate(
        """() => Array.from(document.querySelectorAll('iframe')).map(f => {
        try { return f.contentDocument ? f.contentDocument.body.innerText : 'opaque'; }
        catch (e) { return 'opaque'; } })"""
    )
    evil_page.close()

    # 4. The drills page with a report holding markup.
    page.goto(f"{base}/ui/drills")
    try:
        wait_until(page, "document.getElementById('view').dataset.loaded === '1'", timeout=20000)
    except Exception:
        page.screenshot(path=f"{artifacts}/drills-xss-1280.png", full_page=True)
        sys.exit(f"the drills page did not load at {page.url}: {errors}\n{page.content()[:3000]}")
    frame = page.frame_locator("#report")
    frame.locator("h1").wait_for(timeout=10000)
    report["report_title"] = frame.locator("h1").inner_text()
    report["pwned"] = page.evaluate("() => window.top.__pwned === 1")
    report["history"] = page.inner_text("#history tbody")
    page.screenshot(path=f"{artifacts}/drills-xss-1280.png", full_page=True)
    report["errors"] = errors
    print(json.dumps(report))
    browser.close()
