// Taishan's dashboard page: reads the dashboard's spec from the page, asks the Prometheus
// API on the same address for each panel's data, draws charts with uPlot, and redraws on
// each server-sent "refresh" event. The page's state (range, refresh, variables) lives in
// the URL so a link shows the same view.
"use strict";

(function () {
  const spec = JSON.parse(document.getElementById("spec").textContent);
  const form = document.getElementById("controls");
  const charts = new Map();
  const COLORS = ["#2f80ed", "#27ae60", "#eb5757", "#f2994a", "#9b51e0", "#56ccf2", "#bdbdbd", "#219653", "#f2c94c", "#6fcf97"];
  const THRESHOLD_COLORS = { green: "#27ae60", yellow: "#e2b93b", red: "#eb5757", blue: "#2f80ed" };
  let events = null;

  // --- state in the URL --------------------------------------------------------------
  function readUrl() {
    const q = new URLSearchParams(location.search);
    for (const el of form.elements) {
      if (el.name && q.has(el.name)) el.dataset.wanted = q.get(el.name);
      if (el.name && q.has(el.name) && [...el.options].some((o) => o.value === q.get(el.name))) el.value = q.get(el.name);
    }
  }
  function writeUrl() {
    const q = new URLSearchParams();
    for (const el of form.elements) if (el.name) q.set(el.name, el.value);
    history.replaceState(null, "", location.pathname + "?" + q.toString());
  }
  const rangeSeconds = () => Number(form.elements.range.value);
  const refreshSeconds = () => Number(form.elements.refresh.value);

  // --- the Prometheus API ------------------------------------------------------------
  async function api(path, params) {
    const r = await fetch(path + "?" + new URLSearchParams(params).toString());
    const body = await r.json().catch(() => ({ error: r.status + " " + r.statusText }));
    if (!r.ok || body.status !== "success") throw new Error(body.error || r.statusText);
    return body.data;
  }
  function substitute(expr) {
    return expr.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name) => {
      const el = form.querySelector(`[data-variable="${name}"]`);
      if (!el) return whole;
      return el.value === "__all" ? ".*" : el.value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    });
  }
  async function fillVariables() {
    for (const el of form.querySelectorAll("[data-variable]")) {
      const params = el.dataset.metric ? { "match[]": el.dataset.metric } : {};
      let values = [];
      try {
        values = await api(`/api/v1/label/${encodeURIComponent(el.dataset.label)}/values`, params);
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

  // --- units -------------------------------------------------------------------------
  function format(unit, v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const fixed = (x, d) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: 0 });
    switch (unit) {
      case "ratio": return fixed(v * 100, v > 0.999 && v < 1 ? 2 : 1) + "%";
      case "seconds":
        if (Math.abs(v) < 1) return fixed(v * 1000, 1) + " ms";
        if (Math.abs(v) < 120) return fixed(v, 2) + " s";
        return fixed(v / 60, 1) + " min";
      case "per_second": return fixed(v, Math.abs(v) < 10 ? 2 : 0) + "/s";
      case "money": return fixed(v, 2);
      case "bytes": {
        const units = ["B", "KiB", "MiB", "GiB", "TiB"];
        let i = 0;
        while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
        return fixed(v, 1) + " " + units[i];
      }
      case "count": return fixed(v, 0);
      default: return fixed(v, 3);
    }
  }
  function thresholdColor(panel, v) {
    let color = null;
    for (const t of panel.thresholds || []) if (v >= t.value) color = THRESHOLD_COLORS[t.color];
    return color;
  }
  function legendOf(query, metric) {
    if (!query.legend) {
      const pairs = Object.entries(metric).filter(([k]) => k !== "__name__").map(([k, v]) => `${k}="${v}"`);
      return (metric.__name__ || "") + (pairs.length ? "{" + pairs.join(", ") + "}" : "");
    }
    return query.legend.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (w, k) => metric[k] ?? "");
  }

  // --- panels ------------------------------------------------------------------------
  async function panelData(panel, instant) {
    const end = Math.floor(Date.now() / 1000);
    const range = rangeSeconds();
    const step = Math.max(5, Math.round(range / 240));
    const series = [];
    for (const query of panel.queries) {
      const expr = substitute(query.expr);
      const data = instant
        ? await api("/api/v1/query", { query: expr, time: end })
        : await api("/api/v1/query_range", { query: expr, start: end - range, end, step });
      for (const s of data.result || []) {
        const values = instant ? [s.value] : s.values;
        series.push({ name: legendOf(query, s.metric) || panel.title, metric: s.metric, values: values.map(([t, v]) => [t, Number(v)]) });
      }
    }
    return { series, start: end - range, end, step };
  }
  function lastValue(series) {
    const s = series[0];
    if (!s || !s.values.length) return null;
    return s.values[s.values.length - 1][1];
  }
  function drawStat(el, panel, data, gauge) {
    const v = lastValue(data.series);
    const color = v === null ? null : thresholdColor(panel, v);
    const max = Math.max(...(panel.thresholds || []).map((t) => t.value), 1);
    el.innerHTML = `<div class="stat-value"${color ? ` style="color:${color}"` : ""}>${format(panel.unit, v)}</div>` +
      (gauge ? `<div class="gauge"><div style="width:${Math.max(0, Math.min(100, (100 * (v || 0)) / max))}%;background:${color || COLORS[0]}"></div></div>` : "") +
      (data.series.length === 0 ? `<div class="note">no series matched</div>` : "");
  }
  function drawTable(el, panel, data) {
    if (!data.series.length) { el.innerHTML = `<div class="note">no series matched</div>`; return; }
    const labels = [...new Set(data.series.flatMap((s) => Object.keys(s.metric)).filter((k) => k !== "__name__"))].sort();
    const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
    const rows = data.series.map((s) => `<tr>${labels.map((l) => `<td>${esc(s.metric[l] ?? "")}</td>`).join("")}<td class="num">${format(panel.unit, lastValue([s]))}</td></tr>`);
    el.innerHTML = `<table><thead><tr>${labels.map((l) => `<th>${esc(l)}</th>`).join("")}<th>${esc(panel.queries[0].legend || "value")}</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  }
  function drawChart(el, key, panel, data) {
    const xs = [];
    for (let t = data.start; t <= data.end; t += data.step) xs.push(t);
    const index = new Map(xs.map((t, i) => [t, i]));
    const columns = [xs];
    for (const s of data.series) {
      const ys = new Array(xs.length).fill(null);
      for (const [t, v] of s.values) {
        const i = index.get(t);
        if (i !== undefined) ys[i] = Number.isFinite(v) ? v : null;
      }
      columns.push(ys);
    }
    // How many values the chart holds: the page's test reads it, as a person reads the lines.
    el.closest("[data-panel]").dataset.points = columns.slice(1).flat().filter((v) => v !== null).length;
    const names = data.series.map((s) => s.name).join("\u0000");
    const existing = charts.get(key);
    const width = Math.max(200, el.clientWidth);
    if (existing && existing.names === names) {
      existing.plot.setData(columns);
      if (Math.abs(existing.plot.width - width) > 2) existing.plot.setSize({ width, height: 180 });
      return;
    }
    if (existing) existing.plot.destroy();
    el.innerHTML = data.series.length ? "" : `<div class="note">no series matched</div>`;
    if (!data.series.length) { charts.delete(key); return; }
    const opts = {
      width,
      height: 180,
      legend: { show: data.series.length <= 8 },
      cursor: { points: { size: 5 } },
      // Ratios read from 0 and never past 100%, even before there is data.
      scales: panel.unit === "ratio"
        ? { x: { time: true }, y: { range: (u, min, max) => [0, Math.min(1, Math.max(max ?? 0, 0.01) * 1.1)] } }
        : { x: { time: true } },
      axes: [{ stroke: "#8a93a6", grid: { stroke: "#2a3142" } }, { stroke: "#8a93a6", grid: { stroke: "#2a3142" }, size: 70, values: (u, vals) => vals.map((v) => format(panel.unit, v)) }],
      // A series of a few values (just after start, or a short-lived one) is drawn as points
      // too: a line of three values at the edge of the range is too thin to see.
      series: [{}].concat(data.series.map((s, i) => ({
        label: s.name, stroke: COLORS[i % COLORS.length], width: 1.5,
        points: { size: 5, fill: COLORS[i % COLORS.length], show: (u, si) => u.data[si].filter((v) => v !== null).length < 40 },
        value: (u, v) => format(panel.unit, v),
      }))),
    };
    charts.set(key, { plot: new uPlot(opts, columns, el), names });
  }
  async function drawPanel(article) {
    const [r, p] = article.dataset.panel.split("-").map(Number);
    const panel = spec.rows[r].panels[p];
    const body = article.querySelector(".body");
    try {
      const instant = panel.type !== "timeseries";
      const data = await panelData(panel, instant);
      if (panel.type === "stat" || panel.type === "gauge") drawStat(body, panel, data, panel.type === "gauge");
      else if (panel.type === "table") drawTable(body, panel, data);
      else drawChart(body, article.dataset.panel, panel, data);
      article.classList.remove("failed");
    } catch (e) {
      article.classList.add("failed");
      body.innerHTML = `<div class="error"></div>`;
      body.firstChild.textContent = "query failed: " + e.message;
      charts.delete(article.dataset.panel);
    }
  }
  async function drawAll() {
    await Promise.all([...document.querySelectorAll("[data-panel]")].map(drawPanel));
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  }

  // --- live updates ------------------------------------------------------------------
  function listen() {
    if (events) events.close();
    events = null;
    const every = refreshSeconds();
    if (!every) return;
    events = new EventSource(`/ui/events?every=${every}`);
    events.addEventListener("refresh", drawAll);
  }

  form.addEventListener("change", () => { writeUrl(); listen(); drawAll(); });
  window.addEventListener("resize", () => drawAll());
  readUrl();
  fillVariables().then(() => { readUrl(); writeUrl(); drawAll(); listen(); });
})();
