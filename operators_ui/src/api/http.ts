// The one place the console talks HTTP to the hub: the bearer token, JSON bodies and the hub's
// error body turned into an ApiError. The endpoint functions (api/client.ts, api/crm.ts) use it.

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }
}

type Method = "GET" | "POST" | "PATCH" | "DELETE";

let token: () => string | null = () => null;
let unauthorized: () => void = () => {};

/** Wires the session in: where the token comes from, and what a 401 of a signed-in user does. */
export function configureHttp(getToken: () => string | null, onUnauthorized: () => void): void {
  token = getToken;
  unauthorized = onUnauthorized;
}

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const err = data?.error || {};
    if (response.status === 401) unauthorized();
    throw new ApiError(response.status, err.code || "http_error", err.message || response.statusText);
  }
  return data as T;
}

/** Uploads one file with progress (fetch has no upload progress, hence XHR). */
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
      else reject(new Error(body?.error?.message || failed));
    };
    xhr.onerror = () => reject(new Error(failed));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}
