// Topology: the service graph of the range from /api/topology, laid out left to right by call
// depth (callers left of callees), each node coloured by the health of the calls it serves and
// each edge labelled with its rate, error ratio and p95. A node opens the service's traces.
"use strict";

(function () {
  const T = window.Taishan;
  const { view, form, query: q } = T.page();
  form.innerHTML = `${T.rangeSelect([300, 900, 1800, 3600, 10800])}<span class="updated" id="updated"></span>`;
  form.elements.range.value = q.get("range") || "900";

  const health = (errors) => (errors > 0.05 ? "bad" : errors > 0.01 ? "warn" : "good");

  // Columns by longest call depth from the callers nobody calls.
  function layout(nodes, edges) {
    const depth = new Map(nodes.map((n) => [n, 0]));
    for (let pass = 0; pass < nodes.length; pass++) {
      let moved = false;
      for (const e of edges) {
        if (e.client === e.server) continue;
        const d = depth.get(e.client) + 1;
        if (d > depth.get(e.server) && d < nodes.length) { depth.set(e.server, d); moved = true; }
      }
      if (!moved) break;
    }
    const columns = [];
    for (const n of nodes) (columns[depth.get(n)] ||= []).push(n);
    return columns.filter(Boolean);
  }

  function draw(data) {
    const range = Number(form.elements.range.value);
    const edges = data.edges;
    const served = new Map();
    for (const e of edges) {
      const s = served.get(e.server) || { requests: 0, failed: 0, kind: e.connectionType, p95: null };
      s.requests += e.requests; s.failed += e.failed;
      // The node's p95: its slowest caller's view of it.
      if (e.p95Seconds !== null && (s.p95 === null || e.p95Seconds > s.p95)) s.p95 = e.p95Seconds;
      served.set(e.server, s);
    }
    const columns = layout(data.nodes, edges);
    const W = Math.max(view.clientWidth, 640), colW = W / Math.max(columns.length, 1);
    const rows = Math.max(...columns.map((c) => c.length), 1), H = Math.max(260, rows * 90);
    const pos = new Map();
    columns.forEach((col, i) => col.forEach((n, j) => pos.set(n, { x: colW * i + colW / 2, y: (H / col.length) * (j + 0.5) })));
    const edgeSvg = edges.map((e) => {
      const a = pos.get(e.client), b = pos.get(e.server);
      if (!a || !b) return "";
      const ratio = e.requests ? e.failed / e.requests : 0;
      const mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2 - 8;
      const label = `${T.format("per_second", e.requests / range)} · ${T.format("ratio", ratio)} err · p95 ${T.format("seconds", e.p95Seconds)}`;
      return `<g class="edge ${health(ratio)}" data-edge="${T.esc(e.client)}->${T.esc(e.server)}"><path d="M${a.x + 60},${a.y} C${mx},${a.y} ${mx},${b.y} ${b.x - 60},${b.y}" marker-end="url(#arrow)"/><text x="${mx}" y="${my}">${T.esc(label)}</text></g>`;
    }).join("");
    const nodeSvg = data.nodes.map((n) => {
      const p = pos.get(n), s = served.get(n);
      const ratio = s && s.requests ? s.failed / s.requests : 0;
      const kind = s && s.kind ? s.kind : "service";
      const sub = s ? `${T.format("per_second", s.requests / range)} · ${T.format("ratio", ratio)} err` : "entry";
      const p95 = s && s.p95 !== null ? `p95 ${T.format("seconds", s.p95)}` : "";
      return `<a href="/ui/traces?service=${encodeURIComponent(n)}&range=${range}"><g class="node ${health(ratio)} ${T.esc(kind)}" data-node="${T.esc(n)}" transform="translate(${p.x - 60},${p.y - 26})"><rect width="120" height="52" rx="${kind === "database" ? 14 : 6}"/><text x="60" y="17">${T.esc(n)}</text><text class="sub" x="60" y="31">${T.esc(sub)}</text><text class="sub" x="60" y="44">${T.esc(p95)}</text></g></a>`;
    }).join("");
    const table = edges.map((e) => `<tr><td>${T.esc(e.client)}</td><td>${T.esc(e.server)}</td><td>${T.esc(e.connectionType || "http/rpc")}</td><td class="num">${T.format("per_second", e.requests / range)}</td><td class="num">${T.format("ratio", e.requests ? e.failed / e.requests : 0)}</td><td class="num">${T.format("seconds", e.p95Seconds)}</td></tr>`).join("");
    view.innerHTML = (edges.length ? "" : `<p class="note">No calls between services in this range yet.</p>`) +
      `<div class="panel graph"><svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="service graph"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a93a6"/></marker></defs>${edgeSvg}${nodeSvg}</svg></div>` +
      `<div class="panel scroll"><table><thead><tr><th>caller</th><th>callee</th><th>kind</th><th class="num">rate</th><th class="num">errors</th><th class="num">p95</th></tr></thead><tbody>${table}</tbody></table></div>`;
    document.getElementById("updated").textContent = "updated " + T.time(data.end);
  }

  async function load() {
    const range = Number(form.elements.range.value);
    history.replaceState(null, "", "?range=" + range);
    const end = Date.now() / 1000;
    try {
      draw(await T.api("/api/topology", { start: end - range, end }));
    } catch (e) {
      view.innerHTML = `<div class="error">${T.esc(e.message)}</div>`;
    }
  }
  form.addEventListener("change", load);
  load();
  setInterval(load, 10000);
})();
