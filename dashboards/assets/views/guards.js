// Guards: every breaker, limiter, bulkhead and degrade switch the services report
// (/api/v1/guards), the decision in force (an operator's over a rule's) and its audit trail
// (/api/v1/guards/audit). Operator buttons post a decision with who and why, after a
// confirmation; "release" hands the guard back to its rules.
"use strict";

(function () {
  const T = window.Taishan;
  const view = document.getElementById("view");
  document.getElementById("controls").innerHTML = `<span class="updated" id="updated"></span>`;

  const COMMANDS = {
    breaker: [["open_breaker", "Open"], ["half_open_breaker", "Half-open"], ["close_breaker", "Close"]],
    degrade: [["degrade", "Degrade"], ["undegrade", "Undegrade"]],
    rate_limit: [["set_rate_limit", "Set rate…"]],
    concurrency: [],
  };
  const commandText = (c) => (c ? c.command.replace(/_/g, " ") + (c.rate ? ` ${c.rate}/s` : "") : "");
  const sourceText = (s) => (!s ? "" : s.kind === "operator" ? s.who : s.kind === "rule" ? `rule ${s.alert}` : s.kind);
  const decisionText = (d) => (d ? `${commandText(d.command)} by ${sourceText(d.source)}${d.reason ? ` — ${d.reason}` : ""}` : "");
  // One line of the audit trail: a decision (who, why), its application, or a state change.
  function auditRow(e) {
    const t = e.target || (e.decision || {}).target || {};
    const [who, what, why] = e.event === "decided"
      ? [sourceText(e.decision.source), commandText(e.decision.command) + (e.in_force ? "" : " (overridden)"), e.decision.reason]
      : e.event === "applied" ? ["service", "applied " + commandText(e.command), e.error || ""]
      : e.event === "reported" ? ["service", `${e.from} → ${e.to}`, ""] : ["", e.event, ""];
    return `<tr data-event="${T.esc(e.event)}"><td>${new Date(e.at_ms).toLocaleTimeString("en-GB")}</td><td>${T.esc(t.service)}/${T.esc(t.guard)}</td><td>${T.esc(e.event)}</td><td>${T.esc(who)}</td><td>${T.esc(what)}</td><td>${T.esc(why)}</td></tr>`;
  }
  const stateClass = (s) => (/open|degraded|rejecting/.test(s) ? (s === "half_open" ? "warn" : "bad") : "good");

  async function load() {
    const [list, audit] = await Promise.all([T.api("/api/v1/guards"), T.api("/api/v1/guards/audit", { limit: 50 })]);
    const guards = list.guards.sort((a, b) => (a.target.service + a.target.guard).localeCompare(b.target.service + b.target.guard));
    const rows = guards.map((g) => {
      const kind = g.reported ? g.reported.kind : "";
      const state = g.reported ? g.reported.state : "not reported";
      const buttons = (COMMANDS[kind] || []).map(([c, label]) => `<button data-command="${c}">${label}</button>`).join("") +
        (g.manual ? `<button data-command="release">Release</button>` : "");
      return `<tr data-guard="${T.esc(g.target.service)}/${T.esc(g.target.guard)}" data-state="${T.esc(state)}"><td>${T.esc(g.target.service)}</td><td><strong>${T.esc(g.target.guard)}</strong></td><td>${T.esc(kind)}</td><td><span class="badge ${stateClass(state)}">${T.esc(state)}</span></td><td>${g.manual ? `<span class="badge manual">operator</span> ${T.esc(decisionText(g.manual))}` : g.automatic ? `<span class="badge rule">rule</span> ${T.esc(decisionText(g.automatic))}` : `<span class="note">its own</span>`}</td><td class="actions">${buttons}</td></tr>`;
    });
    const entries = audit.entries.map(auditRow);
    view.innerHTML = `<section class="panel"><h3>Guards</h3><div class="scroll"><table id="guard-list"><thead><tr><th>service</th><th>guard</th><th>kind</th><th>state</th><th>decision in force</th><th></th></tr></thead><tbody>${rows.join("")}</tbody></table></div></section>` +
      `<section class="panel"><h3>Audit trail</h3><div class="scroll"><table id="audit"><thead><tr><th>when</th><th>guard</th><th>event</th><th>who</th><th>what</th><th>why</th></tr></thead><tbody>${entries.join("") || `<tr><td colspan="6" class="note">No decision yet.</td></tr>`}</tbody></table></div></section>`;
    view.dataset.loaded = "1";
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
  }

  view.addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-command]");
    if (!b) return;
    const target = b.closest("[data-guard]").dataset.guard;
    const who = T.operator();
    if (!who) return;
    const reason = prompt(`Why ${b.textContent.toLowerCase()} ${target}? (kept in the audit trail)`);
    if (reason === null || !reason.trim()) return;
    if (!confirm(`${b.textContent} ${target} now, as ${who}?`)) return;
    let command = { command: b.dataset.command };
    if (b.dataset.command === "release") command = { command: "release", probe: true };
    if (b.dataset.command === "set_rate_limit") {
      const rate = Number(prompt("Requests per second to admit:", "10"));
      if (!(rate > 0)) return;
      command = { command: "set_rate_limit", rate, burst: Math.max(1, Math.ceil(rate)) };
    }
    try {
      await T.act("POST", `/api/v1/guards/${target}`, { ...command, reason, who });
      await load();
    } catch (err) {
      alert("Not done: " + err.message);
    }
  });
  const refresh = () => load().catch((e) => { view.innerHTML = `<div class="error">${T.esc(e.message)}</div>`; });
  refresh();
  setInterval(refresh, 5000);
})();
