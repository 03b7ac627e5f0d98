// The new-job dialog: a form built from GET /types (params, defaults, choices; secret params as password fields),
// and, for an admin token, a command (one shell line) or a foreach (a command once per item). The command,
// pipeline and foreach types themselves take their stages as params: not something to type into a form.
import { call } from "./api.js";
import { boot, el } from "./view.js";

const $ = (id) => document.getElementById(id);
const PROGRAM_TYPES = new Set(["command", "pipeline", "foreach"]);
const SHELL = "(command)", FOREACH = "(foreach)";

function field(id, label, input, help) {
  return el("label", { for: id }, el("span", { text: label }), input, help ? el("small", { text: help }) : null);
}

function paramField(p) {
  const id = `p-${p.name}`;
  let input;
  if (p.choices) {
    input = el("select", { id, name: p.name }, p.choices.map((c) => el("option", { value: String(c), text: String(c),
      selected: c === p.default })));
  } else if (p.type === "bool") {
    input = el("input", { id, name: p.name, type: "checkbox", checked: Boolean(p.default) });
  } else {
    const number = p.type === "int" || p.type === "float";
    const json = p.type === "list" || p.type === "dict";
    input = el("input", { id, name: p.name, type: p.secret ? "password" : number ? "number" : "text",
      step: p.type === "float" ? "any" : null, min: p.min ?? null, required: p.required,
      value: p.default === null || p.secret ? null : json ? JSON.stringify(p.default) : String(p.default),
      placeholder: p.secret && p.default ? "(default kept)" : json ? "JSON" : null });
  }
  input.dataset.kind = p.type;
  return field(id, p.name, input, p.help);
}

function commandFields(kind) {
  const name = field("c-name", "Name (optional)", el("input", { id: "c-name", type: "text", maxlength: "200" }));
  const cwd = field("c-cwd", "Working folder (optional, on the server)", el("input", { id: "c-cwd", type: "text" }));
  if (kind === SHELL) {
    return [field("c-shell", "Command line", el("input", { id: "c-shell", type: "text", required: true,
      autocomplete: "off", spellcheck: "false" }), "run by sh -c on the server, as `jobtui add --shell`"), name, cwd];
  }
  return [
    field("c-argv", "Command", el("input", { id: "c-argv", type: "text", required: true, autocomplete: "off",
      spellcheck: "false" }), "run once per item, {} replaced by the item; quotes group words (no shell)"),
    field("c-items", "Items, one per line", el("textarea", { id: "c-items", required: true, rows: "4" })),
    field("c-workers", "At once", el("input", { id: "c-workers", type: "number", min: "1", max: "64", value: "1" })),
    name, cwd];
}

// Split a command into words as a shell would for plain and quoted words (no expansion: nothing is run by a shell).
export function words(text) {
  const out = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(text)) !== null) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2] ?? m[3]);
  return out;
}

function body(kind) {
  const extra = {};
  if ($("c-name").value.trim()) extra.name = $("c-name").value.trim();
  if ($("c-cwd").value.trim()) extra.cwd = $("c-cwd").value.trim();
  if (kind === SHELL) return { shell: $("c-shell").value, ...extra };
  const items = $("c-items").value.split("\n").map((s) => s.trim()).filter(Boolean);
  return { foreach: { command: words($("c-argv").value), items, workers: Number($("c-workers").value) || 1 }, ...extra };
}

function params() {
  const out = {};
  for (const input of $("new-params").querySelectorAll("input, select")) {
    const kind = input.dataset.kind;
    if (input.type === "checkbox") out[input.name] = input.checked;
    else if (input.value === "") continue;
    else if (kind === "int") out[input.name] = parseInt(input.value, 10);
    else if (kind === "float") out[input.name] = parseFloat(input.value);
    else if (kind === "list" || kind === "dict") out[input.name] = JSON.parse(input.value);
    else out[input.name] = input.value;
  }
  return out;
}

export async function openNew() {
  const types = (await call("types")).filter((t) => !PROGRAM_TYPES.has(t.name));
  const sel = $("new-type");
  sel.replaceChildren(...types.map((t) => el("option", { value: t.name, text: t.name })),
    boot.can.command ? el("option", { value: SHELL, text: "command: a shell line" }) : null,
    boot.can.command ? el("option", { value: FOREACH, text: "foreach: a command per item" }) : null);
  const fill = () => {
    const kind = sel.value;
    const t = types.find((x) => x.name === kind);
    $("new-desc").textContent = t ? t.description || "" : kind === SHELL
      ? "One command on the server, as `jobtui add`: it survives a crash and is retried as its options say."
      : kind === FOREACH ? "A command once per item, each item checkpointed, as `jobtui foreach`." : "";
    $("new-params").replaceChildren(...(t ? t.params.map(paramField) : commandFields(kind)));
  };
  sel.onchange = fill;
  fill();
  $("new-error").hidden = true;
  $("new-dialog").showModal();
}

export async function submitNew(e, created) {
  e.preventDefault();
  const kind = $("new-type").value;
  try {
    const job = await call("jobs", { method: "POST",
      body: kind === SHELL || kind === FOREACH ? body(kind) : { type: kind, params: params() } });
    $("new-dialog").close();
    created(job);
  } catch (err) {
    $("new-error").textContent = err instanceof SyntaxError ? `a JSON param: ${err.message}` : err.message;
    $("new-error").hidden = false;
  }
}
