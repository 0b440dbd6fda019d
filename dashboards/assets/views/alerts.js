// Alerts: what the rules see (pending and firing, /api/v1/alerts), what the alerter holds
// (active, silenced, inhibited, acknowledged: /alerter/api/v2/alerts and incidents), who is
// on call, the silences and the history. Ack, resolve and silence act through the alerter's
// API with the page's CSRF token, the operator's name and a reason. Each alert shows the
// loudest anomaly score (its peak over 15 minutes, so it still shows once the series has
// settled) of the analyzer's series about the same service or channel, and its
// likely root causes (the `root_cause` annotation; "Why?" opens the whole ranking).
"use strict";

(function () {
  const T = window.Taishan;
  const view = document.getElementById("view");
  document.getElementById("controls").innerHTML = `<span class="updated" id="updated"></span>`;

  const labelText = (labels) => Object.entries(labels).filter(([k]) => k !== "alertname").map(([k, v]) => `${k}=${v}`).join(", ");
  const matcher = (labels) => Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\]/g, "\\$&")}"`);

  function stateOf(a, acked) {
    if (a.status.silencedBy.length) return "silenced";
    if (a.status.inhibitedBy.length) return "inhibited";
    if (acked.has(a.fingerprint)) return "acknowledged";
    return "firing";
  }

  // Names that say what an alert or a watched series is about; the others (the alert's
  // name, severity, the watch) do not make two of them related.
  const META = new Set(["alertname", "severity", "team", "watch", "metric", "__name__", "instance", "job"]);
  // The loudest anomaly score among series sharing a subject with the alert and
  // contradicting none of its labels: [score, watch] or null.
  function anomalyOf(labels, scores) {
    let best = null;
    for (const s of scores) {
      let shared = 0, clash = false;
      for (let [k, v] of Object.entries(s.metric)) {
        // Span metrics name the service `service_name`; alerts call it `service`.
        if (k === "service_name") k = "service";
        if (META.has(k) || !(k in labels)) continue;
        if (labels[k] === v) shared++; else clash = true;
      }
      const score = Number(s.value[1]);
      if (shared && !clash && (!best || score > best[0])) best = [score, s.metric.watch || s.metric.metric || ""];
    }
    return best;
  }
  const anomalyCell = (a) => a ? `<span class="badge ${a[0] > 0.8 ? "bad" : a[0] > 0.5 ? "warn" : "good"}" title="${T.esc(a[1])}" data-anomaly="${a[0].toFixed(2)}">${a[0].toFixed(2)}</span> <span class="note">${T.esc(a[1])}</span>` : `<span class="note">–</span>`;
  // The rankings opened with "Why?", kept across refreshes: key → HTML.
  const opened = new Map();
  const rootCause = (a) => a.annotations.root_cause
    ? `<div class="rca" data-rca="${T.esc(a.annotations.root_cause)}">likely root cause: <strong>${T.esc(a.annotations.root_cause)}</strong> <button data-why="${T.esc(a.labels.alertname)}" data-at="${T.esc(a.startsAt)}">Why?</button><div class="why">${opened.get(a.labels.alertname + "@" + a.startsAt) || ""}</div></div>`
    : "";

  async function why(button) {
    const box = button.parentElement.querySelector(".why");
    const key = button.dataset.why + "@" + button.dataset.at;
    if (opened.has(key)) { opened.delete(key); box.innerHTML = ""; return; }
    box.innerHTML = `<p class="loading">ranking…</p>`;
    try {
      const at = (Date.parse(button.dataset.at) / 1000).toFixed(0);
      const r = await T.api("/api/v1/analyzer/rca", { alertname: button.dataset.why, at });
      const rows = r.ranking.map((s, i) => `<tr data-suspect="${T.esc(s.name)}"><td class="num">${i + 1}</td><td><strong>${T.esc(s.name)}</strong></td><td class="num">${s.score.toFixed(2)}</td><td>${s.onset_ms ? new Date(s.onset_ms).toLocaleTimeString("en-GB") : "–"}</td><td>${T.esc(s.reasons.join("; "))}</td></tr>`);
      box.innerHTML = rows.length
        ? `<table class="ranking"><thead><tr><th>#</th><th>suspect</th><th>score</th><th>onset</th><th>why</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
        : `<p class="note">Nothing moved: no service or call left its baseline around the alert.</p>`;
      opened.set(key, box.innerHTML);
    } catch (e) {
      box.innerHTML = `<div class="error">${T.esc(e.message)}</div>`;
    }
  }

  function section(title, id, body) {
    return `<section class="panel" id="${id}"><h3>${title}</h3>${body}</section>`;
  }

  async function load() {
    const [rules, held, incidents, oncall, silences, history, scores] = await Promise.all([
      T.api("/api/v1/alerts"),
      T.api("/alerter/api/v2/alerts"),
      T.api("/alerter/api/taishan/v1/incidents"),
      T.api("/alerter/api/taishan/v1/oncall"),
      T.api("/alerter/api/v2/silences"),
      T.api("/alerter/api/taishan/v1/history", { limit: 30 }),
      T.api("/api/v1/query", { query: "max_over_time(taishan_anomaly_score[15m])" }).then((d) => d.result).catch(() => []),
    ]);
    const acked = new Set();
    for (const i of incidents.incidents || []) if (i.acknowledged) for (const fp of i.firing) acked.add(typeof fp === "string" ? fp : fp.toString(16));
    const pending = rules.alerts.filter((a) => a.state === "pending");
    const heldRows = held.map((a) => {
      const state = stateOf(a, acked);
      const buttons = state === "firing" || state === "acknowledged"
        ? `${state === "firing" ? `<button data-act="ack" data-fp="${a.fingerprint}">Ack</button>` : ""}<button data-act="resolve" data-fp="${a.fingerprint}">Resolve</button><button data-act="silence" data-fp="${a.fingerprint}">Silence 1h</button>`
        : "";
      return `<tr data-alert="${T.esc(a.labels.alertname)}" data-state="${state}"><td><span class="badge ${state}">${state}</span></td><td><strong>${T.esc(a.labels.alertname)}</strong><div class="note">${T.esc(labelText(a.labels))}</div><div>${T.esc(a.annotations.summary || a.annotations.description || "")}</div>${rootCause(a)}</td><td>${anomalyCell(anomalyOf(a.labels, scores))}</td><td>${T.ago(Date.parse(a.startsAt))}</td><td>${T.esc((a.receivers || []).map((r) => r.name).join(", "))}</td><td class="actions">${buttons}</td></tr>`;
    });
    const pendingRows = pending.map((a) => `<tr data-alert="${T.esc(a.labels.alertname)}" data-state="pending"><td><span class="badge pending">pending</span></td><td><strong>${T.esc(a.labels.alertname)}</strong><div class="note">${T.esc(labelText(a.labels))}</div></td><td>${anomalyCell(anomalyOf(a.labels, scores))}</td><td>${T.ago(Date.parse(a.activeAt))}</td><td class="num">${T.esc(Number(a.value).toPrecision(4))}</td><td></td></tr>`);
    const teams = (oncall.teams || []).map((t) => `<tr><td>${T.esc(t.team)}</td><td><strong>${T.esc((t.paged || []).map((p) => p.member).join(", ") || "nobody")}</strong> <span class="note">${T.esc((t.paged || []).map((p) => p.via).join(", "))}</span></td><td>${Object.entries(t.schedules || {}).map(([s, shift]) => `${T.esc(s)}: ${shift ? T.esc(shift.member) + ` <span class="note">until ${new Date(shift.until).toLocaleString("en-GB")}</span>` : "nobody"}`).join("<br>")}</td></tr>`);
    const active = silences.filter((s) => s.status.state === "active");
    const silenceRows = active.map((s) => `<tr><td>${T.esc(s.matchers.map((m) => `${m.name}${m.isEqual === false ? "!" : ""}${m.isRegex ? "=~" : "="}"${m.value}"`).join(", "))}</td><td>${T.esc(s.createdBy)}</td><td>${T.esc(s.comment)}</td><td>until ${new Date(s.endsAt).toLocaleTimeString("en-GB")}</td><td><button data-act="expire" data-silence="${T.esc(s.id)}">Expire</button></td></tr>`);
    const events = (history.events || []).map((e) => `<tr data-kind="${T.esc(e.kind)}"><td>${new Date(e.atMs).toLocaleTimeString("en-GB")}</td><td>${T.esc(e.kind.replace(/_/g, " "))}</td><td>${T.esc(e.alertname)} <span class="note">${T.esc(e.service)}</span></td><td>${T.esc([e.team, e.person, e.detail && (e.detail.via || e.detail.comment || e.detail.by)].filter(Boolean).join(" · "))}</td></tr>`);
    const firingCount = held.filter((a) => stateOf(a, acked) === "firing").length;
    view.innerHTML = `<div class="summary"><span class="badge firing">${firingCount} firing</span> <span class="badge pending">${pending.length} pending</span> <span class="badge acknowledged">${held.filter((a) => stateOf(a, acked) === "acknowledged").length} acknowledged</span> <span class="badge silenced">${held.filter((a) => stateOf(a, acked) === "silenced").length} silenced</span></div>` +
      section("Alerts", "alert-list", heldRows.length + pendingRows.length ? `<div class="scroll"><table><thead><tr><th>state</th><th>alert</th><th title="the loudest anomaly score of a related series over the last 15 minutes">anomaly, 15m peak</th><th>since</th><th>to</th><th></th></tr></thead><tbody>${heldRows.join("")}${pendingRows.join("")}</tbody></table></div>` : `<p class="note">Nothing is firing or pending.</p>`) +
      `<div class="grid">` +
      `<div style="--span:6">${section("On call now", "oncall", teams.length ? `<table><thead><tr><th>team</th><th>paged first</th><th>schedules</th></tr></thead><tbody>${teams.join("")}</tbody></table>` : `<p class="note">No on-call file loaded (taishan up --alerter-oncall FILE).</p>`)}</div>` +
      `<div style="--span:6">${section("Silences", "silences", silenceRows.length ? `<table><tbody>${silenceRows.join("")}</tbody></table>` : `<p class="note">No active silence.</p>`)}</div>` +
      `</div>` +
      section("History", "history", events.length ? `<div class="scroll"><table><thead><tr><th>when</th><th>what</th><th>alert</th><th>who</th></tr></thead><tbody>${events.join("")}</tbody></table></div>` : `<p class="note">No alert yet.</p>`);
    view.dataset.loaded = "1";
    view._held = held;
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
  }

  async function act(button) {
    const who = T.operator();
    if (!who) return;
    const what = button.dataset.act;
    const alert = (view._held || []).find((a) => a.fingerprint === button.dataset.fp);
    // Alertmanager's API keeps no who or why for expiring a silence: none is asked.
    const reason = what === "expire" ? "" : prompt(`Why ${what}${alert ? " " + alert.labels.alertname : ""}? (kept in the alert history)`);
    if (reason === null || (what !== "expire" && !reason.trim())) return;
    try {
      if (what === "ack" || what === "resolve") {
        await T.act("POST", `/alerter/api/taishan/v1/alerts/${what}`, { fingerprints: [button.dataset.fp], by: who, comment: reason });
      } else if (what === "silence" && alert) {
        const now = Date.now();
        const matchers = Object.entries(alert.labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
        await T.act("POST", "/alerter/api/v2/silences", { matchers, startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3600e3).toISOString(), createdBy: who, comment: reason });
      } else if (what === "expire") {
        await T.act("DELETE", "/alerter/api/v2/silence/" + encodeURIComponent(button.dataset.silence));
      }
      await load();
    } catch (e) {
      alert_(e.message);
    }
  }
  const alert_ = (m) => window.alert("Not done: " + m);

  view.addEventListener("click", (e) => {
    const w = e.target.closest("button[data-why]");
    if (w) { why(w); return; }
    const b = e.target.closest("button[data-act]");
    if (b && confirm(`${b.textContent}?`)) act(b);
  });
  const refresh = () => load().catch((e) => { view.innerHTML = `<div class="error">${T.esc(e.message)}</div>`; });
  refresh();
  setInterval(refresh, 5000);
})();
