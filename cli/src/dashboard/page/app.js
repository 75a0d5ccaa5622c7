// shifter dashboard: the list, one deployment live (server-sent events), and the answers.
"use strict";
const token = document.querySelector('meta[name="shifter-token"]').content;
const $ = (id) => document.getElementById(id);
let current = null, stream = null, view = null;

function text(el, value) { el.textContent = value == null ? "" : String(value); return el; }
function row(cells, cls) {
  const tr = document.createElement("tr");
  if (cls) tr.className = cls;
  for (const c of cells) tr.appendChild(text(document.createElement("td"), c));
  return tr;
}
function clock(s) {
  s = Math.max(0, Math.round(s));
  const p = (n) => String(n).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${p(Math.floor(s % 3600 / 60))}` : `${Math.floor(s / 60)}:${p(s % 60)}`;
}

async function loadList() {
  const r = await fetch("/api/deployments");
  const data = await r.json();
  text($("source"), (data.simulated ? "demo (simulated account) · " : "") + data.stateMachine);
  const ul = $("list");
  ul.replaceChildren();
  for (const d of data.deployments) {
    const li = text(document.createElement("li"), `${d.id} · ${d.status}`);
    li.className = d.status + (d.id === current ? " sel" : "");
    li.onclick = () => select(d.id);
    ul.appendChild(li);
  }
  if (!current && data.deployments.length) select(data.deployments[0].id);
}

function select(id) {
  current = id;
  if (stream) stream.close();
  stream = new EventSource(`/api/deployments/${encodeURIComponent(id)}/stream`);
  stream.addEventListener("deployment", (e) => show(JSON.parse(e.data)));
  for (const li of $("list").children) li.classList.toggle("sel", li.textContent.startsWith(id + " "));
}

function show(d) {
  if (d.error) { text($("status"), d.error); return; }
  view = d;
  $("one").hidden = false;
  const doc = d.deployment || {};
  text($("title"), doc.function ? `${d.id}: ${doc.function}:${doc.alias} → version ${doc.targetVersion}` : d.id);
  text($("status"), `${d.status} · ${d.doing}`);
  $("status").className = d.status === "SUCCEEDED" ? "good" : d.status === "RUNNING" ? "" : "bad";
  for (const a of ["approve", "promote", "abort"]) $(a).disabled = !d.actions[a];
  text($("weights"), `configured ${doc.configuredWeight ?? "–"} % · observed ${d.observedWeight} % on the new version`);
  const steps = $("steps").tBodies[0];
  steps.replaceChildren();
  (doc.steps || []).forEach((s, i) => steps.appendChild(row(
    [s.current ? "▶" : i + 1, `${s.weight} %`, `${s.bakeSeconds}s`, s.approval ? "approval" : ""],
    s.current ? "current" : s.done ? "done" : "")));
  if (doc.approvalBeforePromote) steps.appendChild(row(["", "100 %", "", "approval"]));
  const w = $("watching");
  w.replaceChildren();
  const dl = [["strategy", JSON.stringify(doc.strategy)], ["alarms", (doc.alarms || []).join(", ")],
    ["hooks", Object.entries(doc.hooks || {}).map(([k, v]) => `${k}: ${v}`).join(", ")],
    ["analysis", doc.analysis ? JSON.stringify(doc.analysis) : "none"]];
  for (const [k, v] of dl) { w.appendChild(text(document.createElement("dt"), k)); w.appendChild(text(document.createElement("dd"), v)); }
  const checks = $("checks");
  checks.replaceChildren();
  for (const a of d.summary.alarmsFired || []) {
    checks.appendChild(text(document.createElement("li"), `▲ ${a.alarm} went into ALARM at ${clock(a.seconds)}`)).className = "bad";
  }
  for (const w of d.summary.waits || []) {
    const what = { approval: "approval gate", preTrafficHook: "pre-traffic hook", postTrafficHook: "post-traffic hook", provisionedConcurrency: "provisioned concurrency" }[w.kind];
    checks.appendChild(text(document.createElement("li"), `◆ ${what} ${clock(w.from)}–${clock(w.to)}`)).className = "wait";
  }
  for (const c of d.summary.alarmChecks.slice(-8)) {
    const li = text(document.createElement("li"), `${clock(c.seconds)} ${c.inAlarm.length ? "ALARM: " + c.inAlarm.join(", ") : "OK"}`);
    li.className = c.inAlarm.length ? "bad" : "good";
    checks.appendChild(li);
  }
  const analysis = $("analysis").tBodies[0];
  analysis.replaceChildren();
  const rate = (f) => f.invocations ? (100 * f.errors / f.invocations).toFixed(2) : "–";
  for (const a of d.summary.analyses || []) analysis.appendChild(row(
    [clock(a.seconds), rate(a.new), rate(a.old), a.new.p99Millis ?? "–", a.old.p99Millis ?? "–", a.verdict]));
  $("chart").src = `/api/deployments/${encodeURIComponent(d.id)}/chart.svg?n=${d.events.length}-${d.status}`;
  const ol = $("events");
  ol.replaceChildren();
  for (const e of d.events) ol.appendChild(text(document.createElement("li"), e.line));
  ol.scrollTop = ol.scrollHeight;
  if (d.status !== "RUNNING") loadList();
}

async function act(action) {
  if (!view) return;
  const reason = $("reason").value.trim();
  const what = action === "abort" ? `abort ${view.id} (reason: ${reason || "aborted from the dashboard"})` : `${action} ${view.id}`;
  if (!window.confirm(`Really ${what}?`)) return;
  const r = await fetch(`/api/deployments/${encodeURIComponent(view.id)}/${action}`, {
    method: "POST",
    headers: { "X-Shifter-Token": token, "Content-Type": "application/json" },
    body: JSON.stringify({ reason }),
  });
  const body = await r.json();
  text($("answer"), r.ok ? `${action}: answered ${body.state}` : body.error);
  $("answer").className = r.ok ? "good" : "bad";
}

for (const a of ["approve", "promote", "abort"]) $(a).onclick = () => act(a);
loadList();
setInterval(loadList, 5000);
