"""Pushes log lines to a Loki push URL with python-logging-loki, as an app would.

usage: push_logs.py URL TENANT TRACE_ID
"""
import logging
import sys

import logging_loki

url, tenant, trace_id = sys.argv[1:4]
handler = logging_loki.LokiHandler(url=url, tags={"application": "loan"}, version="1")
# The tenant header, as a multi-tenant Loki (or its gateway) expects it.
handler.emitter.session.headers["X-Scope-OrgID"] = tenant
log = logging.getLogger("loan.drawdowns")
log.setLevel(logging.INFO)
log.addHandler(handler)
log.info("drawdown d-1 granted")
log.warning("bank-b slow to confirm d-2", extra={"tags": {"trace_id": trace_id, "channel": "bank-b"}})
log.error("drawdown d-3 failed: timeout")
handler.close()
