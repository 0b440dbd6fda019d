"""Walks the views that are not panel dashboards in headless Chromium as an on-call engineer
would, and reports what each showed: the topology's nodes and edges; a trace opened from the
search list with its waterfall, a span's details and the trace's logs; a trace opened
before its spans arrive, waited for and drawn once they do; the logs, then the live tail
bringing new lines; an alert acknowledged and silenced with the buttons; a breaker
opened and released with the operator buttons, and the audit trail after; an ad-hoc PromQL
query's graph and table. Dialogs (who, why, confirm) are answered as a person would. Every
page's console errors are collected; screenshots at 1280x800 and phone width go to the
artifacts directory.

usage: journeys.py BASE_URL ARTIFACTS_DIR OTLP_HTTP_URL
"""
import json
import secrets
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

from browser import launch, wait_until, watched_page

base, artifacts, otlp = sys.argv[1], sys.argv[2], sys.argv[3]
REASON = "checked by the UI test"
report = {}


def open_view(browser, name, query=""):
    page, errors = watched_page(browser)
    # Who acts, as the page asks once per browser; every prompt gets the reason.
    page.add_init_script("localStorage.setItem('taishan.operator', 'ui-test')")
    page.on("dialog", lambda d: d.accept(REASON) if d.type == "prompt" else d.accept())
    page.goto(f"{base}/ui/{name}{query}")
    return page, errors


def shots(page, name):
    page.screenshot(path=f"{artifacts}/{name}-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    page.screenshot(path=f"{artifacts}/{name}-phone.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def rows(page, selector):
    return page.eval_on_selector_all(selector, "els => els.length")


def export_trace(trace_id):
    """Sends a two-span trace as an app would, OTLP/JSON over HTTP."""
    now = time.time_ns()
    span = lambda span_id, parent, name, start, end: {
        "traceId": trace_id, "spanId": span_id, "parentSpanId": parent, "name": name, "kind": 2,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
    }
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "late-app"}}]},
        "scopeSpans": [{"spans": [
            span("00000000000000a1", "", "GET /late", now - 50_000_000, now),
            span("00000000000000a2", "00000000000000a1", "SELECT late", now - 40_000_000, now - 10_000_000),
        ]}],
    }]}
    request = urllib.request.Request(f"{otlp}/v1/traces", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status


with sync_playwright() as p:
    browser = launch(p)

    # Topology: the demo's real edges, drawn and listed.
    page, errors = open_view(browser, "topology", "?range=300")
    page.wait_for_selector("[data-edge]", timeout=20000)
    first = page.inner_text("#updated")
    report["topology"] = {
        "nodes": page.eval_on_selector_all("[data-node]", "els => els.map(e => e.dataset.node)"),
        "edges": page.eval_on_selector_all("[data-edge]", "els => els.map(e => e.dataset.edge)"),
    }
    wait_until(page, f"document.getElementById('updated').textContent !== {json.dumps(first)}", timeout=20000)
    report["topology"]["redrawn"] = True
    shots(page, "topology")
    report["topology"]["errors"] = errors
    page.close()

    # Traces: the search lists the gateway's requests; a loan application's trace opens
    # with its waterfall and the risk service's log line.
    page, errors = open_view(browser, "traces", "?service=gateway&operation=POST%20/api/applications&range=300")
    page.wait_for_selector("[data-trace]", timeout=20000)
    listed = rows(page, "[data-trace]")
    # The oldest listed: every service has exported its spans of it by now.
    page.click("[data-trace] >> nth=-1")
    page.wait_for_selector("#waterfall .span-row", timeout=10000)
    wait_until(page, "!document.getElementById('trace-logs').innerText.includes('loading')", timeout=10000)
    page.click("#waterfall .span-row >> nth=1")
    page.wait_for_selector("#span h3", timeout=5000)
    report["traces"] = {
        "listed": listed,
        "spans": rows(page, "#waterfall .span-row"),
        "services": page.eval_on_selector_all("#waterfall .span-name", "els => [...new Set(els.map(e => e.firstChild.textContent.trim()))]"),
        "span": page.inner_text("#span h3"),
        "logs": page.inner_text("#trace-logs"),
        "url": page.url,
    }
    shots(page, "traces")
    report["traces"]["errors"] = errors
    page.close()

    # A trace opened before its spans arrive (a log line's link can be that quick): the page
    # says it is waiting, and draws the waterfall once the spans come.
    late = secrets.token_hex(16)
    page, errors = open_view(browser, "traces", f"?trace={late}")
    page.wait_for_selector("#trace-waiting", timeout=10000)
    waiting = page.inner_text("#trace-waiting")
    page.screenshot(path=f"{artifacts}/traces-waiting-1280.png")
    exported = export_trace(late)
    page.wait_for_selector("#waterfall .span-row", timeout=15000)
    report["late_trace"] = {
        "waiting": waiting,
        "exported": exported,
        "spans": rows(page, "#waterfall .span-row"),
        "errors": errors,
    }
    page.close()

    # Logs: the search, a jump to a trace, and the live tail bringing new lines.
    page, errors = open_view(browser, "logs")
    page.wait_for_selector("#lines tr", timeout=20000)
    before = rows(page, "#lines tr")
    newest = page.inner_text("#lines tr:first-child")
    page.check("input[name=tail]")
    wait_until(page, f"document.querySelector('#lines tr:first-child').innerText !== {json.dumps(newest)}", timeout=20000)
    report["logs"] = {
        "before": before,
        "after": rows(page, "#lines tr"),
        "trace_links": rows(page, "[data-trace-link]"),
        "tailed": True,
    }
    shots(page, "logs")
    page.click("[data-trace-link]")
    page.wait_for_selector("#waterfall .span-row", timeout=10000)
    report["logs"]["jumped_to"] = page.url
    report["logs"]["errors"] = errors
    page.close()

    # Alerts: the alert the caller posted is firing and paged; ack it, then silence it.
    page, errors = open_view(browser, "alerts")
    page.wait_for_selector("tr[data-alert='UiTestAlert'][data-state='firing']", timeout=20000)
    first = page.inner_text("#updated")
    wait_until(page, f"document.getElementById('updated').textContent !== {json.dumps(first)}", timeout=20000)
    oncall = page.inner_text("#oncall")
    page.click("tr[data-alert='UiTestAlert'] button[data-act='ack']")
    page.wait_for_selector("tr[data-alert='UiTestAlert'][data-state='acknowledged']", timeout=10000)
    page.click("tr[data-alert='UiTestAlert'] button[data-act='silence']")
    page.wait_for_selector("tr[data-alert='UiTestAlert'][data-state='silenced']", timeout=10000)
    page.wait_for_selector("#history tr[data-kind='acknowledged']", timeout=10000)
    report["alerts"] = {
        "oncall": oncall,
        "silences": page.inner_text("#silences"),
        "history": page.inner_text("#history"),
    }
    shots(page, "alerts")
    report["alerts"]["errors"] = errors
    page.close()

    # Guards: open bank-c's breaker by hand; the service reports it open and the audit trail
    # names who and why; then hand it back to its rules.
    page, errors = open_view(browser, "guards")
    row = "tr[data-guard='payment/bank-c']"
    page.wait_for_selector(row, timeout=20000)
    first = page.inner_text("#updated")
    wait_until(page, f"document.getElementById('updated').textContent !== {json.dumps(first)}", timeout=20000)
    page.click(f"{row} button[data-command='open_breaker']")
    page.wait_for_selector(f"{row}[data-state='open']", timeout=15000)
    decided = page.inner_text("#audit tr[data-event='decided']")
    shots(page, "guards")
    page.click(f"{row} button[data-command='release']")
    wait_until(page, f"!document.querySelector(\"{row}\").innerText.includes('operator')", timeout=15000)
    report["guards"] = {"decided": decided, "after_release": page.inner_text(row), "errors": errors}
    page.close()

    # Explore: a question in PromQL, answered as a graph and a table.
    page, errors = open_view(browser, "explore", "?expr=sum%20by%20(channel)%20(rate(payment_results_total%5B1m%5D))&range=300")
    page.wait_for_selector("#table tbody tr", timeout=20000)
    report["explore"] = {
        "points": int(page.eval_on_selector("#graph", "e => e.dataset.points || 0")),
        "rows": page.inner_text("#table"),
    }
    shots(page, "explore")
    report["explore"]["errors"] = errors
    page.close()
    browser.close()
print(json.dumps(report))
