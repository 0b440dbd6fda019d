// Explore: any PromQL expression over a range, drawn as a graph (/api/v1/query_range) and
// listed as a table of the latest values (/api/v1/query). The expression and range live in
// the URL, so a question can be shared as a link.
"use strict";

(function () {
  const T = window.Taishan;
  const { view, form, query: q } = T.page();
  form.innerHTML = T.rangeSelect([300, 900, 1800, 3600, 10800, 86400]);
  form.elements.range.value = q.get("range") || "1800";
  view.innerHTML = `<form id="ask" class="ask"><textarea name="expr" rows="2" spellcheck="false" placeholder="sum by (channel) (rate(payment_results_total[1m]))"></textarea><button type="submit">Run</button></form>
    <p class="note" id="stats"></p><div class="panel" id="graph"></div><div class="panel scroll" id="table"></div>`;
  const ask = document.getElementById("ask");
  ask.elements.expr.value = q.get("expr") || "sum by (service_name) (rate(traces_span_metrics_calls_total{span_kind=\"SPAN_KIND_SERVER\"}[1m]))";
  let plot = null;

  const name = (m) => {
    const pairs = Object.entries(m).filter(([k]) => k !== "__name__").map(([k, v]) => `${k}="${v}"`);
    return (m.__name__ || "") + "{" + pairs.join(", ") + "}";
  };

  async function run() {
    const expr = ask.elements.expr.value.trim();
    const range = Number(form.elements.range.value);
    history.replaceState(null, "", "?" + new URLSearchParams({ expr, range }).toString());
    if (!expr) return;
    const end = Math.floor(Date.now() / 1000), step = Math.max(5, Math.round(range / 240));
    const graph = document.getElementById("graph"), table = document.getElementById("table");
    const t0 = performance.now();
    try {
      const [series, now] = await Promise.all([
        T.api("/api/v1/query_range", { query: expr, start: end - range, end, step }),
        T.api("/api/v1/query", { query: expr, time: end }),
      ]);
      document.getElementById("stats").textContent = `${series.result.length} series · ${Math.round(performance.now() - t0)} ms`;
      const xs = [];
      for (let t = end - range; t <= end; t += step) xs.push(t);
      const index = new Map(xs.map((t, i) => [t, i]));
      const columns = [xs].concat(series.result.map((s) => {
        const ys = new Array(xs.length).fill(null);
        for (const [t, v] of s.values) if (index.has(t)) ys[index.get(t)] = Number(v);
        return ys;
      }));
      if (plot) plot.destroy();
      graph.innerHTML = series.result.length ? "" : `<p class="note">No series matched.</p>`;
      plot = series.result.length ? T.lineChart(graph, "none", columns, series.result.map((s) => name(s.metric)), 300) : null;
      graph.dataset.points = columns.slice(1).flat().filter((v) => v !== null).length;
      const rows = now.resultType === "vector"
        ? now.result.map((s) => `<tr><td><code>${T.esc(name(s.metric))}</code></td><td class="num">${T.esc(s.value[1])}</td></tr>`)
        : [`<tr><td>${T.esc(now.resultType)}</td><td class="num">${T.esc(JSON.stringify(now.result))}</td></tr>`];
      table.innerHTML = `<table><thead><tr><th>series</th><th class="num">value now</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
    } catch (e) {
      document.getElementById("stats").textContent = "";
      graph.innerHTML = `<div class="error">${T.esc(e.message)}</div>`;
      table.innerHTML = "";
    }
  }
  ask.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  ask.elements.expr.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey || !e.shiftKey)) { e.preventDefault(); run(); } });
  form.addEventListener("change", run);
  run();
})();
