// Logs: search (/api/logs/search: service, minimum severity, text or regex, range) newest
// first with "more" paging, a live tail that asks every two seconds for what came after the
// newest line shown, and each line's trace one click away.
"use strict";

(function () {
  const T = window.Taishan;
  const { view, form, query: q } = T.page();
  form.innerHTML = `<label>service <select name="service"><option value="">any</option></select></label>
    <label>at least <select name="severity"><option value="">any</option><option>debug</option><option>info</option><option>warn</option><option>error</option></select></label>
    <label>text <input name="q" size="18" placeholder="contains…"></label>
    ${T.rangeSelect([300, 900, 3600, 10800, 86400])}
    <button type="submit">Search</button>
    <label class="toggle"><input type="checkbox" name="tail"> live tail</label>`;
  form.elements.range.value = "900";
  view.innerHTML = `<div class="panel scroll"><table class="logs"><thead><tr><th>time</th><th>service</th><th>level</th><th>message</th><th>trace</th></tr></thead><tbody id="lines"></tbody></table><p id="more-box"></p></div>`;
  const lines = document.getElementById("lines");
  let next = null, newestNs = 0n, tail = null;

  function params() {
    const p = {};
    for (const k of ["service", "severity", "q"]) if (form.elements[k].value) p[k] = form.elements[k].value;
    return p;
  }
  function row(l) {
    const sev = (l.severityText || "").toLowerCase();
    const trace = l.traceId ? `<a href="/ui/traces?trace=${encodeURIComponent(l.traceId)}" data-trace-link="${T.esc(l.traceId)}">${T.esc(l.traceId.slice(0, 8))}…</a>` : "";
    return `<tr class="sev-${T.esc(sev)}"><td>${new Date(Number(BigInt(l.timeUnixNano) / 1000000n)).toLocaleTimeString("en-GB")}</td><td>${T.esc(l.service)}</td><td>${T.esc(l.severityText)}</td><td>${T.esc(l.body)}</td><td>${trace}</td></tr>`;
  }
  function remember(found) {
    for (const l of found) if (BigInt(l.timeUnixNano) > newestNs) newestNs = BigInt(l.timeUnixNano);
  }
  async function search(more) {
    const range = Number(form.elements.range.value);
    const end = Math.floor(Date.now() / 1000) + 1;
    const p = { ...params(), start: end - range, end, limit: 100 };
    if (more && next) p.cursor = next;
    const s = new URLSearchParams(params());
    s.set("range", range);
    history.replaceState(null, "", "?" + s.toString());
    try {
      const data = await T.api("/api/logs/search", p);
      if (!more) { lines.innerHTML = ""; newestNs = 0n; }
      lines.insertAdjacentHTML("beforeend", data.lines.map(row).join(""));
      remember(data.lines);
      next = data.next;
      document.getElementById("more-box").innerHTML = next ? `<button type="button" id="more">more</button>` : lines.children.length ? "" : `<span class="note">No line matches in this range.</span>`;
    } catch (e) {
      document.getElementById("more-box").innerHTML = `<span class="error">${T.esc(e.message)}</span>`;
    }
  }
  // The tail asks for lines newer than the newest shown, and puts them on top.
  async function follow() {
    const end = Math.floor(Date.now() / 1000) + 1;
    const start = newestNs ? Number(newestNs / 1000000000n) : end - 60;
    try {
      const data = await T.api("/api/logs/search", { ...params(), start, end, limit: 500 });
      const fresh = data.lines.filter((l) => BigInt(l.timeUnixNano) > newestNs);
      if (fresh.length) {
        lines.insertAdjacentHTML("afterbegin", fresh.map(row).join(""));
        remember(fresh);
        while (lines.children.length > 1000) lines.lastElementChild.remove();
      }
    } catch (e) {
      /* the next tick retries */
    }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); search(false); });
  form.addEventListener("change", (e) => {
    if (e.target.name !== "tail") return;
    clearInterval(tail);
    tail = e.target.checked ? setInterval(follow, 2000) : null;
  });
  view.addEventListener("click", (e) => { if (e.target.id === "more") search(true); });
  T.api("/api/services").then((r) => {
    for (const s of r.data || []) form.elements.service.add(new Option(s, s));
  }).finally(() => {
    for (const el of form.elements) if (el.name && q.has(el.name)) el.value = q.get(el.name);
    search(false);
  });
})();
