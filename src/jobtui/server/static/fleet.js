// The runners (the TUI's H) and the schedules (its C): small tables read from the API while shown, refreshed
// every few seconds (a heartbeat's age changes by the second; no event tells of it). Pause and resume of a
// schedule are buttons only for a token that may steer; the API's own checks stay the guard.
import { call } from "./api.js";
import { boot, el, timeEl } from "./view.js";

const REFRESH_MS = 5000;
const RUNNER_GLYPH = { alive: "●", stale: "◌", gone: "✗" };
let timer = null;
let shown = null;  // "runners" | "schedules" | null

function age(seconds) {
  if (seconds < 1) return "now";
  if (seconds < 60) return `${Math.round(seconds)}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  return `${Math.floor(seconds / 3600)}h ago`;
}

function every(s) {
  if (s % 86400 === 0) return `every ${s / 86400}d`;
  if (s % 3600 === 0) return `every ${s / 3600}h`;
  if (s % 60 === 0) return `every ${s / 60}m`;
  return `every ${s}s`;
}

function table(caption, heads, body) {
  return el("table", { class: "fleet" }, el("caption", { class: "visually-hidden", text: caption }),
    el("thead", {}, el("tr", {}, heads.map(([h, cls]) => el("th", { scope: "col", class: cls, text: h })))),
    el("tbody", {}, body));
}

function jobLinks(ids) {
  if (!ids.length) return "—";
  const shown = ids.slice(0, 6).flatMap((id) => [el("a", { href: `#job/${id}`, text: `#${id}` }), " "]);
  return el("span", {}, shown, ids.length > 6 ? `+${ids.length - 6}` : null);
}

function runnersTable(runners) {
  if (!runners.length) {
    return el("p", { class: "hint", text: "No runner works on this database. Start one on any host: jobtui run" });
  }
  return table("Runners", [["Name"], ["Host", "wide"], ["PID", "wide num"], ["State"], ["Heartbeat"], ["Jobs held"]],
    runners.map((r) => el("tr", { "data-runner": r.runner_id },
      el("td", { class: "name" }, el("span", { text: r.name }),
        el("small", { class: "narrow", text: `${r.host} · pid ${r.pid}` })),
      el("td", { class: "wide", text: r.host }),
      el("td", { class: "wide num", text: String(r.pid) }),
      el("td", {}, el("span", { class: `badge r-${r.state}`, "data-state": r.state },
        el("span", { class: "glyph", "aria-hidden": "true", text: RUNNER_GLYPH[r.state] || "?" }), ` ${r.state}`)),
      el("td", { class: "age", text: age(r.heartbeat_age_s) }),
      el("td", { class: "held" }, `${r.jobs.length}/${r.concurrency} `, jobLinks(r.jobs)))));
}

async function steerSchedule(name, action, flash) {
  try {
    await call(`schedules/${encodeURIComponent(name)}/${action}`, { method: "POST" });
  } catch (e) {
    flash(`${action} ${name}: ${e.message}`);
  }
  await refresh(flash);
  document.querySelector(`#fleet-body tr[data-schedule="${CSS.escape(name)}"] button`)?.focus();
}

function schedulesTable(schedules, flash) {
  if (!schedules.length) {
    return el("p", { class: "hint", text: "No schedules. Add one from a shell: jobtui schedule add NAME --every 1h TYPE" });
  }
  const steer = Boolean(boot.can.schedule);
  const heads = [["Name"], ["Type", "wide"], ["When"], ["Next run"], ["Last job", "wide"], ["State"]];
  return table("Schedules", steer ? [...heads, ["Actions"]] : heads, schedules.map((s) => {
    const action = s.paused ? "resume" : "pause";
    return el("tr", { "data-schedule": s.name },
      el("td", { class: "name" }, el("span", { text: s.name }), el("small", { class: "narrow", text: s.type })),
      el("td", { class: "wide", text: s.type }),
      el("td", { text: s.cron ? `${s.cron}${s.timezone ? ` (${s.timezone})` : ""}` : every(s.every_s) }),
      el("td", {}, s.paused ? "—" : timeEl(s.next_run)),
      el("td", { class: "wide" }, s.last_job_id ? el("a", { href: `#job/${s.last_job_id}`, text: `#${s.last_job_id}` }) : "—"),
      el("td", {}, el("span", { class: `badge ${s.paused ? "r-stale" : "r-alive"}`, "data-state": s.paused ? "paused" : "active",
        text: s.paused ? "paused" : "active" })),
      steer ? el("td", {}, el("button", { type: "button", "data-schedule-action": action,
        "aria-label": `${s.paused ? "Resume" : "Pause"} schedule ${s.name}`, text: s.paused ? "Resume" : "Pause",
        onclick: () => steerSchedule(s.name, action, flash) })) : null);
  }));
}

// What has the keyboard focus in the table, as a selector that finds it again once the table is drawn anew.
function focusKey(box) {
  const at = document.activeElement;
  if (!at || !box.contains(at)) return null;
  if (at.tagName === "A") return `a[href="${CSS.escape(at.getAttribute("href"))}"]`;
  const name = at.closest("tr")?.dataset.schedule;
  return name === undefined ? null : `tr[data-schedule="${CSS.escape(name)}"] button`;
}

async function refresh(flash) {
  const which = shown;
  const box = document.getElementById("fleet-body");
  if (!which || !box) return;
  try {
    const data = await call(which);
    if (shown !== which) return;
    const focused = focusKey(box);
    box.replaceChildren(which === "runners" ? runnersTable(data) : schedulesTable(data, flash));
    if (focused) box.querySelector(focused)?.focus();
    box.closest("section").dataset.loaded = "1";
  } catch (e) {
    flash(e.message);
  }
}

export function showFleet(which, section, flash) {
  stopFleet();
  shown = which;
  section.replaceChildren(
    el("h1", { tabindex: "-1", text: which === "runners" ? "Runners" : "Schedules" }),
    el("p", { class: "hint", text: which === "runners"
      ? "Every runner working on this database, from any host. Keys: Esc back to the jobs."
      : "Recurring jobs. Keys: Esc back to the jobs." }),
    el("div", { id: "fleet-body" }));
  delete section.dataset.loaded;
  section.querySelector("h1").focus();  // keyboard and screen reader users start at the view's title
  refresh(flash);
  timer = setInterval(() => refresh(flash), REFRESH_MS);
}

export function stopFleet() {
  clearInterval(timer);
  timer = null;
  shown = null;
}
