// A dashboard page: reads the dashboard's spec from the page and draws each panel from the
// server's evaluation of the whole view, pushed over a WebSocket (/ui/live/NAME): the server
// evaluates a view once per refresh for every page showing it. The page's state
// (range, refresh, variables) lives in the URL so a link shows the same view.
"use strict";

(function () {
  const T = window.Taishan;
  const spec = JSON.parse(document.getElementById("spec").textContent);
  const name = document.body.dataset.dashboard;
  const form = document.getElementById("controls");
  const charts = new Map();
  let events = null;
  let latest = null;

  // --- state in the URL --------------------------------------------------------------
  function readUrl() {
    const q = new URLSearchParams(location.search);
    for (const el of form.elements) {
      if (!el.name || !q.has(el.name)) continue;
      el.dataset.wanted = q.get(el.name);
      if (!el.options || [...el.options].some((o) => o.value === q.get(el.name))) el.value = q.get(el.name);
    }
    document.getElementById("fixed-end").hidden = !form.elements.end.value;
  }
  function viewQuery() {
    const q = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) q.set(el.name, el.value);
    return q;
  }
  function writeUrl() {
    history.replaceState(null, "", location.pathname + "?" + viewQuery().toString());
  }

  async function fillVariables() {
    for (const el of form.querySelectorAll("[data-variable]")) {
      const params = el.dataset.metric ? { "match[]": el.dataset.metric } : {};
      let values = [];
      try {
        values = await T.api(`/api/v1/label/${encodeURIComponent(el.dataset.label)}/values`, params);
      } catch (e) {
        values = [];
      }
      const wanted = el.dataset.wanted || el.value;
      el.innerHTML = "";
      if (el.dataset.all === "true") el.add(new Option("all", "__all"));
      for (const v of values) el.add(new Option(v, v));
      if ([...el.options].some((o) => o.value === wanted)) el.value = wanted;
    }
  }

  // --- panels ------------------------------------------------------------------------
  function thresholdColor(panel, v) {
    let color = null;
    for (const t of panel.thresholds || []) if (v >= t.value) color = T.THRESHOLD_COLORS[t.color];
    return color;
  }
  function legendOf(panel, s) {
    const query = panel.queries[s.query] || {};
    if (!query.legend) {
      const pairs = Object.entries(s.metric).filter(([k]) => k !== "__name__").map(([k, v]) => `${k}="${v}"`);
      return (s.metric.__name__ || "") + (pairs.length ? "{" + pairs.join(", ") + "}" : "") || panel.title;
    }
    return query.legend.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (w, k) => s.metric[k] ?? "").trim() || panel.title;
  }
  const lastValue = (s) => (s && s.values.length ? s.values[s.values.length - 1][1] : null);

  function drawStat(el, panel, data, gauge) {
    const v = lastValue(data.series[0]);
    const color = v === null ? null : thresholdColor(panel, v);
    const max = Math.max(...(panel.thresholds || []).map((t) => t.value), 1);
    el.innerHTML = `<div class="stat-value" data-value="${v}"${color ? ` style="color:${color}"` : ""}>${T.format(panel.unit, v)}</div>` +
      (gauge ? `<div class="gauge"><div style="width:${Math.max(0, Math.min(100, (100 * (v || 0)) / max))}%;background:${color || T.COLORS[0]}"></div></div>` : "") +
      (data.series.length === 0 ? `<div class="note">no series matched</div>` : "");
  }
  // One row per label set; one column per query (a legend without {{...}} heads it), so
  // rate, errors and latency of the same series read across.
  function drawTable(el, panel, data) {
    if (!data.series.length) { el.innerHTML = `<div class="note">no series matched</div>`; return; }
    const labels = [...new Set(data.series.flatMap((s) => Object.keys(s.metric)).filter((k) => k !== "__name__"))].sort();
    const rows = new Map();
    for (const s of data.series) {
      const key = labels.map((l) => s.metric[l] ?? "").join("\u0000");
      if (!rows.has(key)) rows.set(key, { metric: s.metric, values: [] });
      rows.get(key).values[s.query] = lastValue(s);
    }
    const heads = panel.queries.map((q, i) => (q.legend && !q.legend.includes("{{") ? q.legend : panel.queries.length > 1 ? `#${i + 1}` : "value"));
    const body = [...rows.keys()].sort().map((key) => {
      const row = rows.get(key);
      const cells = panel.queries.map((q, i) => `<td class="num">${T.format(q.unit || panel.unit, row.values[i] ?? null)}</td>`);
      return `<tr>${labels.map((l) => `<td>${T.esc(row.metric[l] ?? "")}</td>`).join("")}${cells.join("")}</tr>`;
    });
    el.innerHTML = `<div class="scroll"><table><thead><tr>${labels.map((l) => `<th>${T.esc(l)}</th>`).join("")}${heads.map((h) => `<th class="num">${T.esc(h)}</th>`).join("")}</tr></thead><tbody>${body.join("")}</tbody></table></div>`;
  }
  // Past this many bands a chart marks anomalous points only: choose a series to see its band.
  const MAX_BANDS = 4;
  const SUBJECT = new Set(["watch", "metric"]);
  // Whether a band (the analyzer's labels) is about series s (the chart's labels).
  const bandOf = (band, s) => Object.entries(band.metric).every(([k, v]) => SUBJECT.has(k) || s.metric[k] === v);

  // The analyzer's bands behind the lines: a shaded band from lower to upper, the expected
  // value dashed, and each series' points whose anomaly score passed 0.8 marked red.
  function addBands(panel, data, columns, names, aligned) {
    const styles = data.series.map(() => null);
    const bands = [];
    const shown = (data.bands || []).length <= MAX_BANDS ? data.bands || [] : [];
    for (const b of shown) {
      if (!b.lower || !b.upper) continue;
      // Named as the query names its own series ("usual range bank-a").
      const label = (panel.queries[b.query] || {}).legend ? legendOf(panel, b) : Object.entries(b.metric).filter(([k]) => !SUBJECT.has(k)).map(([, v]) => v).join(" ") || b.metric.watch;
      const at = columns.length;
      // Every unit but a plain number reads from zero: a band below it means nothing.
      const floor = panel.unit && panel.unit !== "none" ? (v) => (v === null ? null : Math.max(0, v)) : (v) => v;
      columns.push(aligned(b.upper), aligned(b.lower).map(floor), aligned(b.expected || []));
      names.push(`usual range ${label}`, `usual low ${label}`, `expected ${label}`);
      // One legend entry per band: its low and expected lines go unlisted.
      const faint = { stroke: "rgba(138,147,166,0.45)", width: 1, points: { show: false } };
      styles.push(faint, Object.assign({ legend: false }, faint), { stroke: "#8a93a6", width: 1, dash: [4, 4], points: { show: false }, legend: false });
      bands.push({ series: [at, at + 1], fill: "rgba(138,147,166,0.14)" });
    }
    for (const b of data.bands || []) {
      if (!b.score) continue;
      const scores = aligned(b.score);
      data.series.forEach((s, si) => {
        if (!bandOf(b, s)) return;
        const ys = columns[si + 1].map((v, i) => (scores[i] !== null && scores[i] > 0.8 ? v : null));
        if (!ys.some((v) => v !== null)) return;
        columns.push(ys);
        names.push(`anomalous ${names[si]}`);
        styles.push({ stroke: "transparent", width: 0, points: { show: true, size: 7, fill: "#eb5757", stroke: "#eb5757" } });
      });
    }
    return { styles, bands };
  }

  function drawChart(el, key, panel, data, frame) {
    const xs = [];
    for (let t = frame.start; t <= frame.end + 1e-9; t += frame.step) xs.push(Math.round(t));
    const index = new Map(xs.map((t, i) => [t, i]));
    const aligned = (values) => {
      const ys = new Array(xs.length).fill(null);
      for (const [t, v] of values) {
        const i = index.get(Math.round(t));
        if (i !== undefined) ys[i] = v;
      }
      return ys;
    };
    const columns = [xs];
    for (const s of data.series) columns.push(aligned(s.values));
    // How many values the chart holds: the page's test reads it, as a person reads the lines.
    const article = el.closest("[data-panel]");
    article.dataset.points = columns.slice(1).flat().filter((v) => v !== null).length;
    const names = data.series.map((s) => legendOf(panel, s));
    const extra = addBands(panel, data, columns, names, aligned);
    // What the band holds, for the page's test: whether bands are drawn ("shown") or only
    // anomalous points marked ("marks-only"), band points drawn and anomalous points marked.
    article.dataset.band = panel.queries.some((q) => q.band) ? ((data.bands || []).length > MAX_BANDS ? "marks-only" : "shown") : "";
    article.dataset.bandPoints = extra.bands.reduce((n, b) => n + columns[b.series[0]].filter((v) => v !== null).length, 0);
    article.dataset.anomalies = names.reduce((n, name, i) => n + (name.startsWith("anomalous ") ? columns[i + 1].filter((v) => v !== null).length : 0), 0);
    const existing = charts.get(key);
    const width = Math.max(200, el.clientWidth);
    if (existing && existing.names === names.join("\u0000")) {
      existing.plot.setData(columns);
      if (Math.abs(existing.plot.width - width) > 2) existing.plot.setSize({ width, height: 180 });
      return;
    }
    if (existing) existing.plot.destroy();
    el.innerHTML = data.series.length ? "" : `<div class="note">no series matched</div>`;
    if (!data.series.length) { charts.delete(key); return; }
    charts.set(key, { plot: T.lineChart(el, panel.unit, columns, names, 180, extra), names: names.join("\u0000") });
  }
  function drawFlow(el, panel, data) {
    const cell = (stage, field, unit) => {
      const f = stage[field];
      if (!f) return `<td class="num">–</td>`;
      if (f.value && f.value.error) return `<td class="num error" title="${T.esc(f.value.error)}">error</td>`;
      return `<td class="num" data-field="${field}" data-query="${T.esc(f.query)}" data-value="${f.value}">${T.format(unit, f.value)}</td>`;
    };
    const drops = (stage) => {
      const list = stage.drops && Array.isArray(stage.drops.value) ? stage.drops.value.filter((d) => d.value > 0) : [];
      return list.length ? list.map((d) => `<span class="drop">${T.esc(d.reason || "other")}: ${T.format("count", d.value)}</span>`).join(" ") : `<span class="note">none</span>`;
    };
    const range = Number(form.elements.range.value);
    const rows = data.stages.map((stage, i) => {
      const p = panel.stages[i];
      const traces = p.service ? `<a href="/ui/traces?service=${encodeURIComponent(p.service)}&range=${range}">traces</a>` : "";
      return `<tr data-stage="${T.esc(stage.name)}"><th>${i ? "→ " : ""}${T.esc(stage.name)}</th>${cell(stage, "count", "count")}${cell(stage, "amount", "money")}${cell(stage, "success", "ratio")}${cell(stage, "latency", "seconds")}<td>${drops(stage)}</td><td>${traces}</td></tr>`;
    });
    el.innerHTML = `<div class="scroll"><table class="flow"><thead><tr><th>stage</th><th class="num">count</th><th class="num">amount</th><th class="num">success</th><th class="num">latency</th><th>drops (why)</th><th></th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
  }
  async function drawAlerts(el) {
    const [rules, held, oncall] = await Promise.all([
      T.api("/api/v1/alerts").catch(() => ({ alerts: [] })),
      T.api("/alerter/api/v2/alerts", { silenced: false, inhibited: false }).catch(() => []),
      T.api("/alerter/api/taishan/v1/oncall").catch(() => null),
    ]);
    // Firing: what the alerter holds (from the rules and from outside); pending: the rules'.
    const firing = held.map((a) => ({ state: "firing", labels: a.labels }));
    const pending = (rules.alerts || []).filter((a) => a.state === "pending");
    const list = firing.concat(pending);
    const items = list.slice(0, 8).map((a) => `<li><span class="badge ${a.state}">${a.state}</span> ${T.esc(a.labels.alertname)} <span class="note">${T.esc(a.labels.service || a.labels.channel || "")}</span></li>`);
    const teams = oncall && Array.isArray(oncall.teams) ? oncall.teams : [];
    const who = teams.map((t) => `<li>${T.esc(t.team)}: <strong>${T.esc((t.paged || []).map((p) => p.member).join(", ") || "nobody")}</strong></li>`);
    el.innerHTML = `<div class="alerts-summary" data-alerts="${list.length}"><a href="/ui/alerts">${firing.length} firing, ${pending.length} pending</a></div>` +
      (items.length ? `<ul class="alert-list">${items.join("")}</ul>` : `<div class="note">nothing firing</div>`) +
      `<div class="oncall"><span class="note">on call:</span> ${who.length ? `<ul>${who.join("")}</ul>` : `<span class="note">no on-call schedule loaded</span>`}</div>`;
  }

  function drawPanel(article, frame) {
    const key = article.dataset.panel;
    const [r, p] = key.split("-").map(Number);
    const panel = spec.rows[r].panels[p];
    const body = article.querySelector(".body");
    if (panel.type === "alerts") return drawAlerts(body).catch(() => {});
    const data = frame.panels[key];
    if (!data) return;
    article.classList.toggle("failed", !!data.error);
    if (data.error) {
      body.innerHTML = `<div class="error"></div>`;
      body.firstChild.textContent = "query failed: " + data.error;
      charts.delete(key);
      return;
    }
    if (panel.type === "stat" || panel.type === "gauge") drawStat(body, panel, data, panel.type === "gauge");
    else if (panel.type === "table") drawTable(body, panel, data);
    else if (panel.type === "flow") drawFlow(body, panel, data);
    else drawChart(body, key, panel, data, frame);
  }
  function drawAll(frame) {
    latest = frame;
    document.body.dataset.end = frame.end;
    for (const article of document.querySelectorAll("[data-panel]")) drawPanel(article, frame);
    document.getElementById("updated").textContent = "updated " + T.time(frame.end);
  }

  // --- live updates ------------------------------------------------------------------
  // One socket per page; a dropped one (Taishan restarting) is reopened after 2 s.
  function listen() {
    if (events) { events.onclose = null; events.close(); }
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ui/live/${encodeURIComponent(name)}?${viewQuery().toString()}`;
    events = new WebSocket(url);
    events.onmessage = (e) => drawAll(JSON.parse(e.data));
    events.onclose = () => {
      document.getElementById("updated").textContent = "reconnecting…";
      setTimeout(listen, 2000);
    };
  }

  form.addEventListener("change", () => { writeUrl(); listen(); });
  document.getElementById("go-live").addEventListener("click", (e) => {
    e.preventDefault();
    form.elements.end.value = "";
    document.getElementById("fixed-end").hidden = true;
    writeUrl();
    listen();
  });
  window.addEventListener("resize", () => latest && drawAll(latest));
  readUrl();
  fillVariables().then(() => { readUrl(); writeUrl(); listen(); });
})();
