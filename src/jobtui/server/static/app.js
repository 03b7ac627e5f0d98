// The job page: the list and one job, live through the API's event stream (EventSource reconnects by itself
// with Last-Event-ID, so what happened while it was away arrives on reconnect).
import { API, act, call } from "./api.js";
import { showFleet, stopFleet } from "./fleet.js";
import { openNew, submitNew } from "./newjob.js";
import { allowed, badge, bar, boot, dl, duration, el, timeEl } from "./view.js";

const $ = (id) => document.getElementById(id);
const jobs = new Map();      // job_id -> the job as last seen (list fields)
const rows = new Map();      // job_id -> <tr>
let next = null;             // the next (older) page's link (keyset, newest first)
let query = "";              // the list's filters, as the API's query string
let selected = null;         // the highlighted job in the list
let openJob = null;          // the job whose page is shown
let detail = null;           // its detail
let logSource = null;
let refreshTimer = null;

function show(id, view = id) {
  for (const s of ["login", "list-view", "job-view", "fleet-view"]) $(s).hidden = s !== id;
  for (const a of $("views").querySelectorAll("a")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
}

function flash(text, kind = "error") {
  const box = el("div", { class: `toast ${kind}`, role: "alert", text });
  document.body.append(box);
  setTimeout(() => box.remove(), 6000);
}

// ---------------------------------------------------------------- list
function matches(job) {
  const status = $("f-status").value, type = $("f-type").value;
  const text = $("f-text").value.trim().toLowerCase();
  if (status && job.status !== status) return false;
  if (type && job.type !== type) return false;
  if (!text) return true;
  const hay = [job.job_id, job.type, job.current_step, job.progress_message, job.error_message, job.status]
    .join(" ").toLowerCase();
  return hay.includes(text);
}

function row(job) {
  const tr = el("tr", { "data-id": job.job_id, tabindex: "-1", class: job.job_id === selected ? "sel" : null,
    onclick: () => go(job.job_id) },
    el("td", { class: "num" }, el("a", { href: `#job/${job.job_id}`, text: String(job.job_id) })),
    el("td", {}, badge(job.status)),
    el("td", { class: "type", text: job.type }),
    el("td", {}, bar(job.progress_percentage, `Progress of job ${job.job_id}`)),
    el("td", { class: "wide stage", text: job.current_step || "—", title: job.progress_message || null }),
    el("td", { class: "wide" }, timeEl(job.started_at || job.created_at)),
    el("td", { class: "wide" }, timeEl(job.updated_at)));
  tr.hidden = !matches(job);
  return tr;
}

// A job's last change, in ms: a `progress` snapshot read before a status change can arrive after its event
// (the stream sends events, then the newest snapshot), and must not turn a paused job back to running.
const changedMs = (job) => Math.max(job.updated_at_ms ?? 0, job.updated_at ? Date.parse(job.updated_at) : 0);

// The list is newest first: a job older than the last listed one belongs to a page not loaded yet (nothing kept
// for it); a new one goes on top, one between listed ones (a filter it now matches) in its place.
function place(tr, id) {
  const body = $("rows");
  let before = body.firstElementChild;
  while (before && Number(before.dataset.id) > id) before = before.nextElementSibling;
  body.insertBefore(tr, before);
}

function upsert(job, { append = false } = {}) {
  const tr = rows.get(job.job_id);
  if (!tr && !append && next !== null && job.job_id < lastListed()) return;
  const old = jobs.get(job.job_id);
  if (old && changedMs(job) < changedMs(old)) return;
  const merged = old ? { ...old, ...job } : job;
  jobs.set(job.job_id, merged);
  const fresh = row(merged);
  if (tr) tr.replaceWith(fresh);
  else if (append) $("rows").append(fresh);
  else place(fresh, job.job_id);
  rows.set(job.job_id, fresh);
  if (!append) trim();
  $("empty").hidden = rows.size > 0;
}

function lastListed() {
  return Number($("rows").lastElementChild?.dataset.id ?? Infinity);
}

// A page left open for days sees every job the system runs: the live list keeps at most MAX_ROWS, dropping the
// oldest finished ones first (never the highlighted one), so its DOM and memory stay bounded.
const MAX_ROWS = 1000;
const FINISHED = new Set(["completed", "cancelled", "failed"]);

function trim() {
  if (rows.size <= MAX_ROWS) return;
  const oldest = [...rows.keys()].sort((a, b) => a - b);
  const drop = (pick) => {
    for (const id of oldest) {
      if (rows.size <= MAX_ROWS) return;
      if (rows.has(id) && id !== selected && id !== openJob && pick(jobs.get(id))) remove(id);
    }
  };
  drop((job) => FINISHED.has(job.status));
  drop(() => true);
  // 'Load more' continues below the oldest job still listed (the finished ones taken off above it stay off).
  next = `${API}/jobs?${query}&before_id=${lastListed()}`;
  $("more").hidden = false;
  $("trimmed").hidden = false;
}

function remove(id) {
  rows.get(id)?.remove();
  rows.delete(id);
  jobs.delete(id);
}

async function loadList(url) {
  if (!url) {
    jobs.clear();
    rows.clear();
    $("rows").replaceChildren();
    $("trimmed").hidden = true;
    const q = new URLSearchParams({ limit: "500", order: "desc" });
    if ($("f-status").value) q.append("status", $("f-status").value);
    if ($("f-type").value) q.append("type", $("f-type").value);
    query = q.toString();
    url = `${API}/jobs?${query}`;
  }
  const page = await call(url);
  next = page.next;
  for (const job of page.jobs) upsert(job, { append: true });
  $("more").hidden = next === null;
  $("empty").hidden = rows.size > 0;
  document.body.dataset.loaded = "1";
}

function visibleIds() {
  return [...$("rows").children].filter((tr) => !tr.hidden).map((tr) => Number(tr.dataset.id));
}

function select(delta) {
  const ids = visibleIds();
  if (!ids.length) return;
  const at = ids.indexOf(selected);
  selected = ids[Math.max(0, Math.min(ids.length - 1, at < 0 ? 0 : at + delta))];
  for (const [id, tr] of rows) tr.classList.toggle("sel", id === selected);
  rows.get(selected)?.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------- one job
function go(id) {
  location.hash = `job/${id}`;
}

async function steer(id, action, body) {
  const job = jobs.get(id) || detail;
  if (action === "cancel" && !confirm(`Cancel job ${id}? Its checkpoints are kept; resume continues it.`)) return;
  if (action === "delete" && !confirm(`Delete job ${id} with its items, logs and workspace?`)) return;
  if (job && !allowed(action, job.status)) return;
  try {
    const r = await act(id, action, body);
    if (r.job) upsert(r.job);
    if (action === "delete") { remove(id); location.hash = ""; return; }
    if (openJob === id) scheduleRefresh(0);
  } catch (e) {
    flash(`${action}: ${e.message}`);
  }
}

function actionBar(job) {
  const bar = el("div", { class: "actions", role: "group", "aria-label": "Actions" });
  const simple = [["pause", "Pause (p)"], ["resume", "Resume (r)"], ["retry", "Retry"], ["cancel", "Cancel (c)"]];
  for (const [action, label] of simple) {
    if (allowed(action, job.status)) {
      bar.append(el("button", { type: "button", "data-action": action, text: label,
        class: action === "cancel" ? "danger" : null, onclick: () => steer(job.job_id, action) }));
    }
  }
  if (allowed("rewind", job.status) && job.stages?.length) {
    const sel = el("select", { "aria-label": "Stage to rewind to", id: "rewind-stage" },
      job.stages.map((s) => el("option", { value: s.name, text: s.name })));
    bar.append(el("span", { class: "combo" }, sel, el("button", { type: "button", "data-action": "rewind",
      text: "Rewind", onclick: () => steer(job.job_id, "rewind", { stage: sel.value }) })));
  }
  if (allowed("fail", job.status)) {
    bar.append(el("button", { type: "button", "data-action": "fail", class: "danger", text: "Fail…", onclick: () => {
      const reason = prompt(`Fail job ${job.job_id}: why?`);
      if (reason && reason.trim()) steer(job.job_id, "fail", { reason: reason.trim() });
    } }));
  }
  if (allowed("delete", job.status)) {
    bar.append(el("button", { type: "button", "data-action": "delete", class: "danger", text: "Delete",
      onclick: () => steer(job.job_id, "delete") }));
  }
  return bar;
}

function outCell(s) {
  const text = s.error || (s.output === null || s.output === undefined ? "" : JSON.stringify(s.output));
  return el("td", { class: s.error ? "out err" : "out", title: text.slice(0, 2000) || null, text: text.slice(0, 300) });
}

function stageTable(job) {
  return el("table", { class: "stages" },
    el("thead", {}, el("tr", {}, ["Stage", "Status", "Items", "Tries", "Time", "Output"].map((h) =>
      el("th", { scope: "col", text: h })))),
    el("tbody", {}, (job.stages || []).map((s, i) => el("tr", { class: i === job.current_step_index ? "cur" : null },
      el("td", { text: `${i + 1}. ${s.name}` }),
      el("td", {}, el("span", { class: `badge st-${s.status}`, text: s.status })),
      el("td", { class: "num", text: s.items_total === null ? (s.items_done ? String(s.items_done) : "—")
        : `${s.items_done}/${s.items_total}${s.items_failed ? ` (${s.items_failed} failed)` : ""}` }),
      el("td", { class: "num", text: String(s.attempts) }),
      el("td", { class: "num", text: s.started_at ? duration(s.started_at, s.finished_at) : "—" }),
      outCell(s)))));
}

function jobInfo(job, history) {
  const alerts = [];
  if (job.status === "paused" && (job.pause_reason || "").startsWith("auto-paused")) {
    alerts.push(el("p", { class: "alert warn", role: "alert", id: "auto-pause" },
      `${job.consecutive_failures} consecutive errors, job auto-paused. `,
      el("span", { class: "why", text: (job.pause_reason.match(/\((.*)\)$/) || [null, ""])[1] }),
      " Fix the cause, then resume."));
  }
  if (job.error_message) alerts.push(el("p", { class: "alert", id: "job-error", text: job.error_message }));
  const deps = (job.depends_on || []).map((d) => el("a", { href: `#job/${d.job_id}`, class: "dep" },
    `#${d.job_id} `, badge(d.status || "queued")));
  const files = (job.files || []).map((f) => el("li", {}, el("a", {
    href: `${API}/jobs/${job.job_id}/files/${encodeURI(f.path || f.name)}`, download: "", text: f.path || f.name })));
  return el("div", { id: "job-info" },
    el("div", { class: "job-title" }, el("a", { href: "#", class: "back", text: "← Jobs" }),
      el("h1", {}, `#${job.job_id} ${job.type} `), badge(job.status)),
    alerts,
    el("div", { class: "summary" }, bar(job.progress_percentage), el("span", { class: "msg", text: job.progress_message || "" })),
    actionBar(job),
    dl([["Current step", job.current_step], ["Step", `${Math.min(job.current_step_index + 1, job.total_steps)} of ${job.total_steps}`],
      ["Last successful", job.last_successful_step], ["Failed step", job.failed_step],
      ["Can resume", job.can_resume ? "yes" : "no"], ["In a row", job.consecutive_failures
        ? `${job.consecutive_failures} consecutive failures` : null],
      ["Pause reason", job.pause_reason], ["Retries", `${job.retry_count} of ${job.max_retries}`],
      ["Created", timeEl(job.created_at)], ["Started", timeEl(job.started_at)], ["Updated", timeEl(job.updated_at)],
      ["Depends on", deps.length ? el("span", {}, deps) : null],
      ["Items", job.counters ? `${job.counters.items_done} done, ${job.counters.items_failed} failed` : null]]),
    el("h2", { text: "Stages" }), el("div", { class: "scroll" }, stageTable(job)),
    el("h2", { text: "Downloads" }),
    el("ul", { class: "downloads" },
      el("li", {}, el("a", { href: `${API}/jobs/${job.job_id}/export?format=csv`, id: "export-csv", download: "", text: "Results (CSV)" })),
      el("li", {}, el("a", { href: `${API}/jobs/${job.job_id}/export?format=jsonl`, download: "", text: "Results (JSON lines)" })),
      files),
    el("h2", { text: "History" }),
    el("ol", { class: "history" }, history.map((h) => el("li", {}, timeEl(h.at),
      ` ${h.action}: ${h.from ? h.from + " → " : ""}${h.to || ""} by ${h.source}${h.detail ? ` (${h.detail})` : ""}`))));
}

async function refreshJob() {
  const id = openJob;
  if (id === null) return;
  try {
    const [job, history] = await Promise.all([call(`jobs/${id}`), call(`jobs/${id}/history`)]);
    if (openJob !== id) return;
    detail = job;
    const focused = document.activeElement?.dataset?.action;
    const info = jobInfo(job, history);
    $("job-info") ? $("job-info").replaceWith(info) : $("job-view").prepend(info);
    if (focused) info.querySelector(`[data-action="${focused}"]`)?.focus();
  } catch (e) {
    if (e.status === 404) { $("job-view").replaceChildren(el("p", { class: "alert", text: `No job ${id}.` })); }
    else flash(e.message);
  }
}

function scheduleRefresh(ms = 150) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshJob, ms);
}

function followLog(id) {
  logSource?.close();
  const box = el("ol", { class: "log", id: "log", "aria-live": "off" });
  const follow = el("input", { type: "checkbox", id: "follow", checked: true });
  $("job-view").replaceChildren(el("h2", { text: "Log" }),
    el("label", { class: "follow" }, follow, " follow"), box);
  logSource = new EventSource(`${API}/jobs/${id}/logs/stream`);
  logSource.addEventListener("log", (e) => {
    const line = JSON.parse(e.data);
    box.append(el("li", { class: `lvl-${line.level}` },
      el("time", { text: new Date(line.ts_ms).toLocaleTimeString() }), " ", line.message));
    while (box.childElementCount > 2000) box.firstChild.remove();
    if (follow.checked) box.scrollTop = box.scrollHeight;
  });
  logSource.addEventListener("end", () => logSource?.close());
}

// The address `jobtui serve` prints carries the token in the fragment (never sent to a server). It only fills the
// sign-in form: a person presses Sign in (a POST), so no link can sign a browser in as another token by itself.
function tokenFromAddress() {
  const m = location.hash.match(/^#token=([^&]+)$/);
  if (!m) return false;
  history.replaceState(null, "", location.pathname);
  $("token").value = decodeURIComponent(m[1]);
  $("login-from-link").hidden = false;
  return true;
}

function route() {
  const m = location.hash.match(/^#job\/(\d+)$/);
  if (tokenFromAddress() || !boot.me) {
    show("login");
    $("login-error").hidden = location.hash !== "#bad-token";
    ($("token").value ? $("sign-in") : $("token")).focus();
    return;
  }
  const fleet = location.hash.match(/^#(runners|schedules)$/);
  if (!fleet) stopFleet();
  if (fleet) {
    openJob = null;
    logSource?.close();
    logSource = null;
    show("fleet-view", fleet[1]);
    showFleet(fleet[1], $("fleet-view"), flash);
  } else if (m) {
    const id = Number(m[1]);
    if (openJob !== id) { openJob = id; detail = null; selected = id; followLog(id); }
    show("job-view", "list-view");
    refreshJob();
  } else {
    openJob = null;
    logSource?.close();
    logSource = null;
    show("list-view");
    rows.get(selected)?.focus();
  }
}

// ---------------------------------------------------------------- live
function connect() {
  const src = new EventSource(`${API}/events?after_id=${boot.head}`);
  const live = $("live");
  const state = (text, cls) => { live.textContent = text; live.className = `live ${cls}`; document.body.dataset.live = cls; };
  src.onopen = () => state("live", "on");
  src.onerror = () => {
    state("disconnected — reconnecting…", "off");
    if (src.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  };
  src.addEventListener("job", (e) => {
    const ev = JSON.parse(e.data);
    if (ev.job === null) remove(ev.job_id); else upsert(ev.job);
    if (ev.job_id === openJob) scheduleRefresh();
  });
  src.addEventListener("progress", (e) => {
    for (const p of JSON.parse(e.data).jobs) {
      if (jobs.has(p.job_id)) upsert(p);
      if (p.job_id === openJob) scheduleRefresh(300);
    }
  });
  src.addEventListener("reset", () => loadList().catch((err) => flash(err.message)));
  src.addEventListener("shutdown", () => state("server stopping — reconnecting…", "off"));
}

// ---------------------------------------------------------------- keys and start
function onKey(e) {
  if (e.target.closest("input, select, textarea, dialog") || e.ctrlKey || e.metaKey || e.altKey) {
    if (e.key === "Escape" && e.target.id === "f-text") e.target.blur();
    return;
  }
  if (e.key === "Enter" && e.target.closest("a, button")) return;  // the focused link or button's own Enter
  const list = !$("list-view").hidden, steerable = list || !$("job-view").hidden;
  const id = openJob ?? selected;
  const job = id === null || !steerable ? null : jobs.get(id) || detail;
  const keys = {
    j: () => list && select(1), k: () => list && select(-1),
    Enter: () => list && selected !== null && go(selected),
    Escape: () => { if (location.hash.length > 1) location.hash = ""; },
    H: () => { location.hash = "runners"; }, C: () => { location.hash = "schedules"; },
    "/": () => { if (!list) location.hash = ""; setTimeout(() => $("f-text").focus()); },
    p: () => job && steer(id, "pause"), r: () => job && steer(id, "resume"), c: () => job && steer(id, "cancel"),
  };
  if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
}

async function start() {
  window.addEventListener("hashchange", route);
  if (!boot.me) { route(); return; }
  $("who").textContent = `${boot.me.name} (${boot.me.scope})`;
  $("logout").hidden = false;
  $("views").hidden = false;
  $("new-job").hidden = !boot.can.submit;
  for (const s of boot.order) $("f-status").append(el("option", { value: s, text: `${boot.glyphs[s]} ${s}` }));
  call("types").then((types) => types.forEach((t) => $("f-type").append(el("option", { value: t.name, text: t.name }))))
    .catch(() => {});
  $("f-status").onchange = $("f-type").onchange = () => loadList().catch((err) => flash(err.message));
  $("f-text").oninput = () => { for (const [id, tr] of rows) tr.hidden = !matches(jobs.get(id)); };
  $("filters").onsubmit = (e) => e.preventDefault();
  $("more").onclick = () => loadList(next).catch((err) => flash(err.message));
  $("new-job").onclick = () => openNew().catch((err) => flash(err.message));
  $("new-form").onsubmit = (e) => submitNew(e, (job) => { upsert(job); go(job.job_id); });
  $("new-cancel").onclick = () => $("new-dialog").close();
  document.addEventListener("keydown", onKey);
  connect();
  route();
  await loadList();
  if (selected === null) select(0);
  setInterval(() => document.querySelectorAll("time[datetime]").forEach((t) => {
    if (!t.closest(".log")) t.textContent = timeEl(t.getAttribute("datetime")).textContent;
  }), 15000);
}

start().catch((e) => flash(e.message));
