// Traces: search (/api/search, Tempo's parameters), a trace's waterfall from its OTLP/JSON
// (/api/traces/ID) with a span's details on click, and the trace's logs beside it
// (/api/logs/search?trace_id=ID). The search and the open trace live in the URL.
"use strict";

(function () {
  const T = window.Taishan;
  const { view, form, query: q } = T.page();
  form.innerHTML = `<label>service <select name="service"><option value="">any</option></select></label>
    <label>operation <input name="operation" size="16" placeholder="POST /api/…"></label>
    <label>status <select name="status"><option value="">any</option><option value="error">errors</option><option value="ok">ok</option></select></label>
    <label>slower than <input name="minDuration" size="6" placeholder="100ms"></label>
    ${T.rangeSelect([300, 900, 3600, 10800, 86400])}
    <button type="submit">Search</button>`;
  form.elements.range.value = q.get("range") || "900";
  view.innerHTML = `<div class="traces-layout" id="layout"><section class="panel scroll" id="results"><span class="loading">searching…</span></section><section id="trace" class="trace"></section></div>`;
  const results = document.getElementById("results");
  const traceBox = document.getElementById("trace");

  const attr = (v) => (v ? v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ?? JSON.stringify(v) : "");
  const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];

  function state() {
    const out = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) out.set(el.name, el.value);
    return out;
  }

  async function search() {
    const s = state();
    const range = Number(form.elements.range.value);
    const end = Math.floor(Date.now() / 1000);
    const params = { start: end - range, end, limit: 50 };
    if (s.get("service")) params.service = s.get("service");
    if (s.get("operation")) params.operation = s.get("operation");
    if (s.get("minDuration")) params.minDuration = s.get("minDuration");
    if (s.get("status")) params.tags = "status=" + s.get("status");
    try {
      const data = await T.api("/api/search", params);
      const rows = data.traces.map((t) => `<tr data-trace="${T.esc(t.traceID)}" class="${t.errorCount ? "bad" : ""}" tabindex="0"><td>${T.time(Number(t.startTimeUnixNano) / 1e9)}</td><td>${T.esc(t.rootServiceName)}</td><td>${T.esc(t.rootTraceName)}</td><td class="num">${T.format("seconds", t.durationMs / 1000)}</td><td class="num">${t.spanCount}</td><td class="num">${t.errorCount || ""}</td></tr>`).join("");
      results.innerHTML = data.traces.length
        ? `<table class="clickable"><thead><tr><th>start</th><th>service</th><th>operation</th><th class="num">duration</th><th class="num">spans</th><th class="num">errors</th></tr></thead><tbody>${rows}</tbody></table>`
        : `<p class="note">No trace matches in this range.</p>`;
    } catch (e) {
      results.innerHTML = `<div class="error">${T.esc(e.message)}</div>`;
    }
  }

  function spansOf(otlp) {
    const spans = [];
    for (const rs of otlp.resourceSpans || []) {
      const service = attr((rs.resource.attributes || []).find((a) => a.key === "service.name")?.value) || "?";
      for (const ss of rs.scopeSpans || []) for (const s of ss.spans || []) spans.push({ ...s, service, start: Number(s.startTimeUnixNano) / 1e6, end: Number(s.endTimeUnixNano) / 1e6 });
    }
    // Depth-first from the roots, children by start time: the order a person reads a call tree.
    const ids = new Set(spans.map((s) => s.spanId));
    const children = new Map();
    for (const s of spans) {
      const parent = ids.has(s.parentSpanId) ? s.parentSpanId : "";
      (children.get(parent) || children.set(parent, []).get(parent)).push(s);
    }
    const ordered = [];
    const walk = (id, depth) => (children.get(id) || []).sort((a, b) => a.start - b.start).forEach((s) => { ordered.push({ ...s, depth }); walk(s.spanId, depth + 1); });
    walk("", 0);
    return ordered;
  }

  function showSpan(s) {
    const rows = (s.attributes || []).map((a) => `<tr><th>${T.esc(a.key)}</th><td>${T.esc(attr(a.value))}</td></tr>`).join("");
    const events = (s.events || []).map((e) => `<li>${T.esc(e.name)} ${(e.attributes || []).map((a) => T.esc(a.key + "=" + attr(a.value))).join(" ")}</li>`).join("");
    document.getElementById("span").innerHTML = `<h3>${T.esc(s.service)} · ${T.esc(s.name)}</h3>
      <table><tr><th>kind</th><td>${KINDS[s.kind] || s.kind}</td></tr><tr><th>duration</th><td>${T.format("seconds", (s.end - s.start) / 1000)}</td></tr>
      <tr><th>status</th><td>${s.status && s.status.code === 2 ? `<span class="badge firing">error</span> ${T.esc(s.status.message)}` : "ok"}</td></tr><tr><th>span id</th><td><code>${T.esc(s.spanId)}</code></td></tr>${rows}</table>${events ? `<ul>${events}</ul>` : ""}`;
  }

  // A trace linked from a log line may not be here yet: services export a span when it ends,
  // a second or more after the logs written inside it. A 404 is asked again for a while.
  const ARRIVAL_RETRY_MS = 2000, ARRIVAL_PATIENCE_MS = 60000;
  let opening = 0;

  async function fetchArrived(id, attempt) {
    const started = Date.now();
    for (;;) {
      try {
        return await T.api("/api/traces/" + encodeURIComponent(id));
      } catch (e) {
        if (e.status !== 404 || Date.now() - started >= ARRIVAL_PATIENCE_MS) throw e;
        if (attempt !== opening) return null;
        traceBox.innerHTML = `<p class="note waiting" id="trace-waiting">The spans of trace <code>${T.esc(id)}</code> have not arrived yet (services send a span when it ends, a little after its logs). Trying again every ${ARRIVAL_RETRY_MS / 1000} s for up to ${ARRIVAL_PATIENCE_MS / 1000} s…</p>`;
        await new Promise((done) => setTimeout(done, ARRIVAL_RETRY_MS));
        if (attempt !== opening) return null;
      }
    }
  }

  async function openTrace(id) {
    const attempt = ++opening;
    const url = new URL(location.href);
    url.searchParams.set("trace", id);
    history.replaceState(null, "", url);
    document.getElementById("layout").classList.add("split");
    traceBox.innerHTML = `<span class="loading">loading trace…</span>`;
    try {
      const found = await fetchArrived(id, attempt);
      // Another trace was opened meanwhile: it owns the box now.
      if (found === null || attempt !== opening) return;
      const spans = spansOf(found);
      const t0 = Math.min(...spans.map((s) => s.start)), t1 = Math.max(...spans.map((s) => s.end));
      const total = Math.max(t1 - t0, 0.001);
      const bars = spans.map((s, i) => `<div class="span-row ${s.status && s.status.code === 2 ? "bad" : ""}" data-span="${i}" tabindex="0"><div class="span-name" style="padding-left:${s.depth * 12}px">${T.esc(s.service)} <span class="note">${T.esc(s.name)}</span></div><div class="span-track"><div class="span-bar" style="left:${(100 * (s.start - t0)) / total}%;width:${Math.max(0.3, (100 * (s.end - s.start)) / total)}%"></div><span class="span-dur">${T.format("seconds", (s.end - s.start) / 1000)}</span></div></div>`).join("");
      traceBox.innerHTML = `<div class="panel"><h3>Trace <code>${T.esc(id)}</code> · ${spans.length} spans · ${T.format("seconds", total / 1000)}</h3><div class="waterfall" id="waterfall">${bars}</div></div>
        <div class="panel" id="span"><p class="note">Click a span for its attributes.</p></div>
        <div class="panel scroll"><h3>Logs of this trace</h3><div id="trace-logs"><span class="loading">loading…</span></div></div>`;
      document.getElementById("waterfall").addEventListener("click", (e) => {
        const row = e.target.closest("[data-span]");
        if (row) showSpan(spans[Number(row.dataset.span)]);
      });
      const start = Math.floor(t0 / 1000) - 60, end = Math.ceil(t1 / 1000) + 60;
      const logs = await T.api("/api/logs/search", { trace_id: id, start, end, limit: 200 });
      if (attempt !== opening) return;
      document.getElementById("trace-logs").innerHTML = logs.lines.length
        ? `<table class="logs">${logs.lines.map((l) => `<tr class="sev-${T.esc((l.severityText || "").toLowerCase())}"><td>${T.time(Number(l.timeUnixNano) / 1e9)}</td><td>${T.esc(l.service)}</td><td>${T.esc(l.severityText)}</td><td>${T.esc(l.body)}</td></tr>`).join("")}</table>`
        : `<p class="note">This trace logged nothing.</p>`;
    } catch (e) {
      if (attempt === opening) traceBox.innerHTML = `<div class="error">${T.esc(e.message)}</div>`;
    }
  }

  results.addEventListener("click", (e) => {
    const row = e.target.closest("[data-trace]");
    if (row) openTrace(row.dataset.trace);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const s = state();
    if (new URLSearchParams(location.search).get("trace")) s.set("trace", new URLSearchParams(location.search).get("trace"));
    history.replaceState(null, "", "?" + s.toString());
    search();
  });

  T.api("/api/services").then((r) => {
    for (const s of r.data || []) form.elements.service.add(new Option(s, s));
    for (const el of form.elements) if (el.name && q.has(el.name)) el.value = q.get(el.name);
    search();
    if (q.get("trace")) openTrace(q.get("trace"));
  }).catch((e) => { results.innerHTML = `<div class="error">${T.esc(e.message)}</div>`; });
})();
