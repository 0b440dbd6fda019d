// What every Taishan page shares: the API helpers (JSON in Prometheus's envelope, state-
// changing requests with the CSRF token), number formatting by unit, HTML escaping, colours.
"use strict";

window.Taishan = (function () {
  const COLORS = ["#2f80ed", "#27ae60", "#eb5757", "#f2994a", "#9b51e0", "#56ccf2", "#bdbdbd", "#219653", "#f2c94c", "#6fcf97"];
  const THRESHOLD_COLORS = { green: "#27ae60", yellow: "#e2b93b", red: "#eb5757", blue: "#2f80ed" };

  async function unwrap(r) {
    const body = await r.json().catch(() => ({ error: r.status + " " + r.statusText }));
    if (!r.ok || (body && body.status === "error")) {
      // The status travels with the message: a page may treat "not yet there" (404) apart.
      throw Object.assign(new Error((body && body.error) || r.statusText), { status: r.status });
    }
    return body && body.status === "success" ? body.data : body;
  }
  // GET path?params, the `data` of Prometheus's envelope (or the whole body without one).
  async function api(path, params) {
    const q = params ? "?" + new URLSearchParams(params).toString() : "";
    return unwrap(await fetch(path + q, { headers: { Accept: "application/json" } }));
  }
  // A state-changing request: carries the page's CSRF token; the server also checks Origin.
  async function act(method, path, body) {
    const token = document.querySelector('meta[name="csrf-token"]');
    const r = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token ? token.content : "" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return unwrap(r);
  }
  // Who acts, for the audit trail: asked once, kept in this browser.
  function operator() {
    let who = localStorage.getItem("taishan.operator");
    if (!who) {
      who = (prompt("Your name, for the audit trail:") || "").trim();
      if (who) localStorage.setItem("taishan.operator", who);
    }
    return who;
  }

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
      case "money": return v.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 });
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
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const time = (unixSeconds) => new Date(unixSeconds * 1000).toLocaleTimeString("en-GB");
  const ago = (ms) => {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 120 ? s + "s ago" : s < 7200 ? Math.round(s / 60) + "m ago" : Math.round(s / 3600) + "h ago";
  };

  // A uPlot line chart of [xs, ...ys] into el; `names` label the series. `extra`, when
  // given: `styles[i]` overrides series i's look ({stroke, dash, width, fill, points;
  // legend: false leaves it out of the legend}), and
  // `bands` are uPlot bands (a fill between two series).
  function lineChart(el, unit, columns, names, height, extra) {
    const many = names.length > 8;
    const opts = {
      width: Math.max(200, el.clientWidth),
      height: height || 180,
      // Past 8 series the legend lists only the hovered values, in a scrolling box.
      legend: { show: true, live: true },
      cursor: { points: { size: 5 } },
      // Ratios read from 0 and never past 100%, even before there is data.
      scales: unit === "ratio"
        ? { x: { time: true }, y: { range: (u, min, max) => [0, Math.min(1, Math.max(max ?? 0, 0.01) * 1.1)] } }
        : { x: { time: true } },
      axes: [{ stroke: "#8a93a6", grid: { stroke: "#2a3142" } }, { stroke: "#8a93a6", grid: { stroke: "#2a3142" }, size: 70, values: (u, vals) => vals.map((v) => format(unit, v)) }],
      // A series of a few values (just after start, or a short-lived one) is drawn as points
      // too: a line of three values at the edge of the range is too thin to see.
      series: [{}].concat(names.map((name, i) => Object.assign({
        label: name, stroke: COLORS[i % COLORS.length], width: 1.5,
        points: { size: 5, fill: COLORS[i % COLORS.length], show: (u, si) => u.data[si].filter((v) => v !== null).length < 40 },
        value: (u, v) => format(unit, v),
      }, (extra && extra.styles && extra.styles[i]) || {}))),
      bands: (extra && extra.bands) || [],
    };
    el.classList.toggle("many-series", many);
    const plot = new uPlot(opts, columns, el);
    // Series styled `legend: false` draw but are not listed.
    const rows = plot.root.querySelectorAll(".u-legend .u-series");
    names.forEach((_, i) => { if (extra && extra.styles && extra.styles[i] && extra.styles[i].legend === false && rows[i + 1]) rows[i + 1].style.display = "none"; });
    return plot;
  }

  // A view page's parts: its body, its controls form, the query string it was opened with.
  function page() {
    const form = document.getElementById("controls");
    // The controls act as they change; Enter in a field must not reload the page. (Here,
    // not in an onsubmit attribute: the pages' policy runs no inline script.)
    if (form && !form.dataset.guarded) {
      form.dataset.guarded = "1";
      form.addEventListener("submit", (e) => e.preventDefault());
    }
    return { view: document.getElementById("view"), form, query: new URLSearchParams(location.search) };
  }
  // A range picker of `ranges` (seconds).
  function rangeSelect(ranges) {
    const label = (r) => (r < 3600 ? r / 60 + "m" : r / 3600 + "h");
    return `<label>range <select name="range">${ranges.map((r) => `<option value="${r}">${label(r)}</option>`).join("")}</select></label>`;
  }

  return { COLORS, THRESHOLD_COLORS, api, act, operator, format, esc, time, ago, lineChart, page, rangeSelect };
})();
