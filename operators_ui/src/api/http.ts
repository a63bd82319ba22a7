// The one place the console talks HTTP to the hub: the bearer token, JSON bodies and the hub's
// error body turned into an ApiError. The endpoint functions (api/client.ts, api/crm.ts) use it.
// errorText / fieldError turn an error into what the user reads, in their language (docs/i18n.md).
import { hasText, t } from "../i18n";

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public details?: unknown) { super(message); }
}

/** An error whose message is already in the user's language: shown as it is. */
export class LocalError extends Error {}

/** One field a 422 names: its dotted path, the field code (missing, too_long, ...) and the bound. */
export interface FieldProblem { field: string; code: string; limit?: number }

// Error codes that are about one field of a form, though they are not a 422 with field details.
const CODE_FIELDS: Record<string, string> = { email_taken: "email", title_taken: "title" };

type Method = "GET" | "POST" | "PATCH" | "DELETE";

let token: () => string | null = () => null;
let unauthorized: () => void = () => {};

/** Wires the session in: where the token comes from, and what a 401 of a signed-in user does. */
export function configureHttp(getToken: () => string | null, onUnauthorized: () => void): void {
  token = getToken;
  unauthorized = onUnauthorized;
}

/** The hub's error body (`{"error": {code, message, details?}}`) as an ApiError. */
export function apiError(status: number, body: any, fallback: string): ApiError {
  const err = body?.error || {};
  return new ApiError(status, err.code || "http_error", err.message || fallback, err.details);
}

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) unauthorized();
    throw apiError(response.status, data, response.statusText);
  }
  return data as T;
}

/** Uploads one file with progress (fetch has no upload progress, hence XHR). `failed`: the text
 * (in the user's language) of a failure the hub did not explain. */
export function upload<T>(path: string, file: File, progress: (percent: number) => void, failed: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Authorization", `Bearer ${token()}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress(Math.round((e.loaded / e.total) * 100)); };
    xhr.onload = () => {
      let body: any = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status < 300 && body) resolve(body as T);
      else if (body?.error) reject(apiError(xhr.status, body, failed));
      else reject(new LocalError(failed));
    };
    xhr.onerror = () => reject(new LocalError(failed));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}

// What a code's text may mention, from the error's details ("try again in {retry_after_s} s").
function vars(details: unknown): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (details && typeof details === "object" && !Array.isArray(details)) {
    for (const [k, v] of Object.entries(details)) {
      if (typeof v === "number") out[k] = k.endsWith("_bytes") ? `${Math.round(v / 1048576)}` : v;
      else if (typeof v === "string") out[k] = v;
    }
  }
  return out;
}

/** What to tell the user about a failure, in their language: the text of the hub's error code,
 * else one by HTTP status; never the hub's English message or an exception's. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (hasText(`errors.${err.code}`)) return t(`errors.${err.code}`, vars(err.details));
    if (hasText(`errors.status.${err.status}`)) return t(`errors.status.${err.status}`);
    return t(err.status >= 500 ? "errors.status.500" : "errors.generic");
  }
  if (err instanceof LocalError) return err.message;
  if (err instanceof TypeError) return t("errors.network"); // fetch could not reach the hub
  return t("errors.generic");
}

/** The fields a validation error names (empty for any other error). */
export function fieldProblems(err: unknown): FieldProblem[] {
  if (!(err instanceof ApiError)) return [];
  const field = CODE_FIELDS[err.code];
  if (field) return [{ field, code: err.code }];
  if (!Array.isArray(err.details)) return [];
  return err.details.flatMap((d: any) => {
    const path = typeof d?.field === "string" ? d.field : Array.isArray(d?.loc) ? d.loc.join(".") : null;
    return path === null ? [] : [{ field: path, code: String(d.code || "invalid"), limit: typeof d.limit === "number" ? d.limit : undefined }];
  });
}

/** The text to show next to the form field `name` (or anything inside it, e.g. "messages" for
 * "messages.welcome.ru"), or null when the error is not about it. */
export function fieldError(err: unknown, name: string): string | null {
  const found = fieldProblems(err).find((p) => p.field === name || p.field.startsWith(`${name}.`));
  if (!found) return null;
  if (found.code in CODE_FIELDS || hasText(`errors.${found.code}`) && !hasText(`errors.field.${found.code}`)) return errorText(err);
  const key = hasText(`errors.field.${found.code}`) ? `errors.field.${found.code}` : "errors.field.invalid";
  return t(key, found.limit === undefined ? {} : { limit: found.limit });
}
