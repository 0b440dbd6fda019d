// Drills: the drills Taishan can run (/api/v1/chaos/drills) with Run buttons and the running
// one's progress, the drill history (/api/v1/chaos/reports, recorded by every run), each
// drill's timings over time, one report with its timeline (the evidence export, inline), the
// faults armed now (/api/v1/chaos/faults) and the kill switch (/api/v1/chaos/abort).
"use strict";

(function () {
  const T = window.Taishan;
  const { view, form, query: q } = T.page();
  form.innerHTML = `<label>drill <select name="drill"><option value="">all</option></select></label>` +
    `<button type="button" id="kill" class="danger">Kill switch: revert every fault</button> <span class="updated" id="updated"></span>`;
  let plot = null;
  const secs = (v) => (v === null || v === undefined ? "never" : T.format("seconds", v));

  function timingsChart(reports) {
    const el = document.getElementById("timings");
    if (plot) plot.destroy();
    const runs = reports.slice().reverse();
    if (!runs.length) { el.innerHTML = `<p class="note">No drill has run yet: <code>taishan drill run drills/bank-channel-outage.yaml</code></p>`; return; }
    el.innerHTML = "";
    const xs = runs.map((r) => r.timeline.started_ms / 1000);
    const fields = ["time_to_detect_seconds", "time_to_notify_seconds", "time_to_stop_loss_seconds", "time_to_recover_seconds"];
    const columns = [xs].concat(fields.map((f) => runs.map((r) => r[f])));
    plot = T.lineChart(el, "seconds", columns, ["detect", "notify", "stop loss", "recover"], 200);
    el.dataset.points = columns.slice(1).flat().filter((v) => v !== null).length;
  }

  function row(r, selected) {
    const verdict = `<span class="badge ${r.verdict === "pass" ? "good" : "bad"}">${T.esc(r.verdict)}</span>`;
    return `<tr data-report="${T.esc(r.id)}" class="${r.id === selected ? "selected" : ""} ${r.verdict === "pass" ? "" : "bad"}">` +
      `<td>${new Date(r.timeline.started_ms).toLocaleString("en-GB")}</td><td><strong>${T.esc(r.drill)}</strong></td><td>${verdict}</td>` +
      `<td class="num">${secs(r.time_to_detect_seconds)}</td><td class="num">${secs(r.time_to_notify_seconds)}</td>` +
      `<td class="num">${secs(r.time_to_stop_loss_seconds)}</td><td class="num">${secs(r.time_to_recover_seconds)}</td>` +
      `<td class="num">${T.format("money", r.failed_amount)}</td><td class="num">${T.format("money", r.money_lost)}</td><td class="num">${r.score}</td>` +
      `<td><a href="/api/v1/chaos/reports/${encodeURIComponent(r.id)}/export">export</a></td></tr>`;
  }

  async function load() {
    const drill = form.elements.drill.value;
    const [history, faults, desk] = await Promise.all([
      T.api("/api/v1/chaos/reports", drill ? { drill } : {}),
      T.api("/api/v1/chaos/faults"),
      T.api("/api/v1/chaos/drills"),
    ]);
    const reports = history.reports;
    const names = new Set(Array.from(form.elements.drill.options).map((o) => o.value));
    for (const r of reports) if (!names.has(r.drill)) { form.elements.drill.add(new Option(r.drill, r.drill)); names.add(r.drill); }
    const selected = q.get("report") || (reports[0] && reports[0].id);
    const armed = faults.faults.map((f) => `<tr><td>${T.esc(f.id)}</td><td>${T.esc(f.spec.kind)}</td><td>${T.esc(Object.entries(f.scope).filter(([k, v]) => v && k !== "percent").map(([k, v]) => `${k}=${v}`).join(" ") || "everything")} ${f.scope.percent < 100 ? f.scope.percent + "%" : ""}</td><td>${T.esc(f.by)}</td><td>${T.ago(f.armed_ms)}</td></tr>`);
    const run = desk.running;
    const drills = desk.drills.map((d) => d.problems
      ? `<tr class="bad"><td>${T.esc(d.file)}</td><td colspan="3"><pre>${T.esc(d.problems.join("\n"))}</pre></td><td></td></tr>`
      : `<tr data-drill="${T.esc(d.name)}"><td><strong>${T.esc(d.name)}</strong></td><td>${T.esc(d.description)}</td><td>${T.esc(d.expect)}</td><td class="num">${d.faults}</td>` +
        `<td class="actions"><button data-run="" ${run ? "disabled" : ""}>Run</button><button data-run="45s" ${run ? "disabled" : ""}>Run short (45s)</button></td></tr>`);
    const running = run
      ? `<section class="panel" id="running"><h3>Running: ${T.esc(run.drill)} <span class="note">started by ${T.esc(run.by)} ${T.ago(run.started_ms)}</span> <button id="stop" class="danger">Stop the drill</button></h3><pre>${T.esc(run.progress.join("\n"))}</pre></section>`
      : "";
    view.innerHTML = running +
      `<section class="panel"><h3>Drills you can run <span class="note">· ${T.esc(desk.dir)}/</span></h3><table id="drills"><thead><tr><th>drill</th><th>what it rehearses</th><th>expected alert</th><th class="num">faults</th><th></th></tr></thead><tbody>${drills.join("") || `<tr><td colspan="5" class="note">No drill files.</td></tr>`}</tbody></table></section>` +
      `<section class="panel"><h3>Faults armed now</h3><table id="armed"><thead><tr><th>id</th><th>kind</th><th>scope</th><th>by</th><th>armed</th></tr></thead><tbody>${armed.join("") || `<tr><td colspan="5" class="note">None: the services are clean.</td></tr>`}</tbody></table></section>` +
      `<section class="panel"><h3>Timings over time${drill ? " · " + T.esc(drill) : ""}</h3><div id="timings"></div></section>` +
      `<section class="panel"><h3>History</h3><div class="scroll"><table id="history"><thead><tr><th>started</th><th>drill</th><th>verdict</th><th class="num">detect</th><th class="num">notify</th><th class="num">stop loss</th><th class="num">recover</th><th class="num">failed amount</th><th class="num">money lost</th><th class="num">score</th><th></th></tr></thead><tbody>${reports.map((r) => row(r, selected)).join("")}</tbody></table></div></section>` +
      (selected ? `<section class="panel"><h3>Report</h3><iframe id="report" title="drill report" src="/api/v1/chaos/reports/${encodeURIComponent(selected)}/export?inline=true" style="width:100%;height:900px;border:0"></iframe></section>` : "");
    timingsChart(reports);
    fitReport();
    view.dataset.loaded = "1";
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
  }

  // The report is its own page (the export): as tall as it is, so the page scrolls, not it.
  function fitReport() {
    const frame = document.getElementById("report");
    if (!frame) return;
    frame.addEventListener("load", () => {
      const doc = frame.contentDocument;
      if (doc) frame.style.height = doc.documentElement.scrollHeight + 16 + "px";
    });
  }

  view.addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-run]");
    if (b) {
      const name = b.closest("[data-drill]").dataset.drill;
      const who = T.operator();
      if (!who || !confirm(`Run drill ${name}${b.dataset.run ? " (faults held " + b.dataset.run + ")" : ""} against the services now, as ${who}?`)) return;
      try { await T.act("POST", `/api/v1/chaos/drills/${encodeURIComponent(name)}/run`, b.dataset.run ? { by: who, duration: b.dataset.run } : { by: who }); }
      catch (err) { alert("The drill did not start: " + err.message); }
      return load();
    }
    if (e.target.id === "stop") {
      if (!confirm("Stop the running drill? Its faults are reverted at once.")) return;
      await T.act("POST", "/api/v1/chaos/drills/stop", {});
      return load();
    }
    const tr = e.target.closest("tr[data-report]");
    if (!tr || e.target.closest("a")) return;
    q.set("report", tr.dataset.report);
    history.replaceState(null, "", "?" + q.toString());
    load();
  });
  form.elements.drill.addEventListener("change", () => { q.delete("report"); load(); });
  document.getElementById("kill").addEventListener("click", async () => {
    if (!confirm("Revert every armed fault now? Running drills are stopped by it.")) return;
    try {
      const r = await T.act("POST", "/api/v1/chaos/abort", {});
      alert(`${r.disarmed} fault(s) disarmed; the services are clean.`);
    } catch (err) { alert("The kill switch failed: " + err.message); }
    load();
  });
  load().catch((e) => { view.innerHTML = `<div class="error">${T.esc(e.message)}</div>`; });
  // Every 5 s while a drill runs (its progress), every 15 s otherwise.
  let last = 0;
  setInterval(() => {
    const busy = !!document.getElementById("running");
    if (Date.now() - last >= (busy ? 5000 : 15000)) { last = Date.now(); load().catch(() => {}); }
  }, 1000);
})();
