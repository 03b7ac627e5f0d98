// Small DOM helpers: every value goes in as text (never HTML), so job data cannot inject markup.
export const boot = JSON.parse(document.getElementById("boot").textContent);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

export function badge(status) {
  return el("span", { class: `badge s-${status}`, "data-status": status },
    el("span", { class: "glyph", "aria-hidden": "true", text: boot.glyphs[status] || "?" }), ` ${status.replace("_", " ")}`);
}

export function bar(pct, label = "Progress") {
  const p = Math.max(0, Math.min(100, Number(pct) || 0));
  const meter = el("span", { class: "bar", role: "progressbar", "aria-label": label, "aria-valuemin": "0",
    "aria-valuemax": "100", "aria-valuenow": String(p) }, el("span", { class: "fill" }));
  meter.firstChild.style.width = `${p}%`;
  return el("span", { class: "progress" }, meter, el("span", { class: "pct", text: `${p.toFixed(0)}%` }));
}

export function when(iso) {
  if (!iso) return "—";
  const t = new Date(iso);
  const s = Math.round((Date.now() - t.getTime()) / 1000);
  if (s < 5) return "now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return t.toLocaleDateString();
}

export function timeEl(iso) {
  return iso ? el("time", { datetime: iso, title: new Date(iso).toLocaleString(), text: when(iso) }) : "—";
}

export function duration(a, b) {
  if (!a) return "—";
  const ms = (b ? new Date(b) : new Date()) - new Date(a);
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

export const allowed = (action, status) => Boolean(boot.can[action]) && (boot.actions[action] || []).includes(status);

export function dl(pairs) {
  return el("dl", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}
