// The API, as the page uses it: same-origin fetch (the HttpOnly cookie carries the token) and errors in words.
export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function call(path, { method = "GET", body } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path.startsWith("/") ? path : `${API}/${path}`, init);
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data || {});
  return data;
}

export const act = (id, action, body) =>
  call(`jobs/${id}${action === "delete" ? "" : "/" + action}`, { method: action === "delete" ? "DELETE" : "POST", body });
