// The console's state, its REST client and its /operator socket. One mutable state object and
// one re-render per tick keep this small; every change goes through update().
import { io, type Socket } from "socket.io-client";
import dict from "./i18n.json";

export type Lang = "en" | "ru";
export type User = { id: string; name: string; email: string; role: string; active: boolean; status_preference?: string };
export type Attachment = { id: string; name: string; mime: string; size: number; url?: string | null };
export type Msg = {
  id: string; conversation_id: string; seq: number; direction: "in" | "out" | "system";
  author: { type: string; id?: string | null; name?: string | null };
  text: string; attachments: Attachment[]; hidden: boolean; status: string; created_at: string;
  client_msg_id?: string | null; local?: boolean; original?: Attachment | null;
};
export type Conv = {
  id: string; line_id: string; channel: { id: string; type: string };
  client: { id: string; name?: string | null; email?: string | null; phone?: string | null };
  status: "queued" | "offered" | "active" | "closed"; assignee_id: string | null;
  participants: { user_id: string; hidden: boolean }[]; offered_to: string[];
  offer_expires_at: string | null; pinned: boolean;
  crm: { lead_id: string | null; contact_id: string | null; deal_id: string | null };
  last_message: { text: string; direction: string; created_at: string } | null;
  unread: number; created_at: string; updated_at?: string; rev?: number; queued_at: string | null; closed_at: string | null;
};
export type Line = Record<string, any> & { id: string; name: string; operators: string[]; supervisors: string[] };
export type Thread = { msgs: Msg[]; lastSeq: number; loading: boolean; older: boolean; complete: boolean };

const TOKEN_KEY = "openlines.token";
const LANG_KEY = "openlines.lang";

function browserLang(): Lang {
  const langs = navigator.languages || [navigator.language];
  for (const l of langs) {
    if (l.toLowerCase().startsWith("ru")) return "ru";
    if (l.toLowerCase().startsWith("en")) return "en";
  }
  return "en";
}

export const S = {
  // The bearer token lives in this tab's sessionStorage: it survives a reload, dies with the
  // tab, and is what the /operator socket authenticates with (the HttpOnly cookie set at login
  // is only for same-origin file downloads and images).
  token: sessionStorage.getItem(TOKEN_KEY) as string | null,
  me: null as User | null,
  booting: true,
  lang: ((localStorage.getItem(LANG_KEY) as Lang | null) || browserLang()) as Lang,
  status: "offline",
  connected: false,
  everConnected: false,
  view: "inbox" as "inbox" | "board" | "crm" | "users" | "lines" | "channels" | "answers",
  // The CRM section: its tab and the record card open in it (also reached from a CRM badge).
  crmTab: "leads" as "leads" | "contacts" | "companies" | "deals",
  crmCard: null as { entity: string; id: string } | null,
  tab: "mine" as string,
  convs: new Map<string, Conv>(),
  closed: [] as Conv[],
  closedQ: "",
  selected: null as string | null,
  threads: new Map<string, Thread>(),
  typing: new Map<string, { name: string; until: number }>(),
  seen: new Map<string, number>(), // conversation id -> unread count when it was last opened
  lines: [] as Line[],
  names: new Map<string, string>(),
  toast: null as string | null,
  badge: 0,
  now: Date.now(),
};

let rerender: () => void = () => {};
let scheduled = false;
export function onUpdate(fn: () => void): void { rerender = fn; }
export function update(): void {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => { scheduled = false; rerender(); });
}

export function t(key: string, vars: Record<string, string | number> = {}): string {
  const table = (dict as Record<string, Record<string, string>>)[S.lang];
  let text = table[key] ?? (dict as any).en[key] ?? key;
  for (const [k, v] of Object.entries(vars)) text = text.replace(`{${k}}`, String(v));
  return text;
}

export function setLang(lang: Lang): void {
  S.lang = lang;
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
  update();
}

export function toast(text: string): void {
  S.toast = text;
  update();
  setTimeout(() => { if (S.toast === text) { S.toast = null; update(); } }, 5000);
}

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (S.token) headers.Authorization = `Bearer ${S.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const err = data?.error || {};
    if (response.status === 401 && S.me) signedOut();
    throw new ApiError(response.status, err.code || "http_error", err.message || response.statusText);
  }
  return data as T;
}

export function fail(err: unknown): void {
  toast(t("err.generic", { msg: err instanceof Error ? err.message : String(err) }));
}

export function uid(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, "0")).join("");
}

// --- session ------------------------------------------------------------------------------

export let socket: Socket | null = null;

export async function boot(): Promise<void> {
  document.documentElement.lang = S.lang;
  if (S.token) {
    try {
      S.me = await api<User>("GET", "/api/v1/me");
      await start();
    } catch {
      signedOut();
    }
  }
  S.booting = false;
  update();
}

export async function signIn(email: string, password: string): Promise<void> {
  const body = await api<{ token: string; user: User }>("POST", "/api/v1/auth/login", { email, password });
  S.token = body.token;
  sessionStorage.setItem(TOKEN_KEY, body.token);
  S.me = body.user;
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => undefined);
  }
  await start();
  update();
}

export async function signOut(): Promise<void> {
  try { await api("POST", "/api/v1/auth/logout"); } catch { /* the token may be gone already */ }
  signedOut();
}

function signedOut(): void {
  socket?.disconnect();
  socket = null;
  sessionStorage.removeItem(TOKEN_KEY);
  S.token = null; S.me = null; S.convs.clear(); S.threads.clear(); S.selected = null;
  S.connected = false; S.everConnected = false; S.view = "inbox"; S.crmCard = null;
  update();
}

export const isAdmin = (): boolean => S.me?.role === "admin";
export const oversees = (lineId: string): boolean =>
  isAdmin() || !!S.lines.find((l) => l.id === lineId && l.supervisors.includes(S.me!.id));
// CRM: managers and admins read and write everything, supervisors read (docs/crm.md).
export const editsCrm = (): boolean => S.me?.role === "admin" || S.me?.role === "manager";
export const readsCrm = (): boolean => editsCrm() || S.me?.role === "supervisor";
export const supervisesAny = (): boolean => isAdmin() || S.lines.some((l) => l.supervisors.includes(S.me!.id));

async function start(): Promise<void> {
  S.status = S.me?.status_preference || "online";
  S.tab = "mine";
  await loadLines();
  connect();
  await loadOpen();
}

export async function loadLines(): Promise<void> {
  S.lines = (await api<{ lines: Line[] }>("GET", "/api/v1/lines")).lines;
  if (supervisesAny()) {
    try {
      const users = (await api<{ users: User[] }>("GET", "/api/v1/users")).users;
      for (const u of users) S.names.set(u.id, u.name);
    } catch { /* supervisors of no line */ }
  }
  if (readsCrm()) {
    // The CRM screens name responsible people of every line.
    try {
      const staff = (await api<{ staff: { id: string; name: string }[] }>("GET", "/api/v1/console/staff")).staff;
      for (const u of staff) S.names.set(u.id, u.name);
    } catch { /* not a CRM reader after all */ }
  }
  for (const line of S.lines) {
    try {
      const members = (await api<{ members: { id: string; name: string }[] }>("GET", `/api/v1/console/lines/${line.id}/members`)).members;
      for (const m of members) S.names.set(m.id, m.name);
    } catch { /* not a member */ }
  }
  if (S.me) S.names.set(S.me.id, S.me.name);
}

// Live updates that arrive while a list load is in flight: they are newer than its snapshot.
const liveDuringLoad = new Set<Map<string, Conv>>();

export async function loadOpen(): Promise<void> {
  const live = new Map<string, Conv>();
  liveDuringLoad.add(live);
  let lists: { conversations: Conv[] }[];
  try {
    lists = await Promise.all(
      ["queued", "offered", "active"].map((s) => api<{ conversations: Conv[] }>("GET", `/api/v1/conversations?status=${s}&limit=200`)),
    );
  } finally {
    liveDuringLoad.delete(live);
  }
  const fresh = new Map<string, Conv>();
  for (const list of lists) for (const c of list.conversations) fresh.set(c.id, c);
  for (const [id, c] of live) fresh.set(id, c);
  // A conversation opened from the Closed tab or a client card stays reachable.
  if (S.selected && !fresh.has(S.selected) && S.convs.has(S.selected)) fresh.set(S.selected, S.convs.get(S.selected)!);
  S.convs = fresh;
  update();
}

export async function loadClosed(): Promise<void> {
  const q = S.closedQ.trim();
  const body = await api<{ conversations: Conv[] }>("GET", `/api/v1/conversations?status=closed&limit=100${q ? `&q=${encodeURIComponent(q)}` : ""}`);
  S.closed = body.conversations;
  update();
}

// A REST snapshot can land after a live event that is newer than it (a fetch in flight while the
// conversation is offered), and concurrent changes can be heard out of order: the higher ``rev``
// (raised by every change on the server) wins.
function older(c: Conv, than: Conv | undefined): boolean {
  return !!than && (c.rev ?? 0) < (than.rev ?? 0);
}

export function upsert(c: Conv): void {
  if (older(c, S.convs.get(c.id))) return;
  S.convs.set(c.id, c);
  for (const live of liveDuringLoad) live.set(c.id, c);
  S.closed = S.closed.map((x) => (x.id === c.id ? c : x));
  update();
}

// --- the thread ------------------------------------------------------------------------------

export function thread(id: string): Thread {
  let th = S.threads.get(id);
  if (!th) {
    th = { msgs: [], lastSeq: 0, loading: false, older: false, complete: false };
    S.threads.set(id, th);
  }
  return th;
}

function merge(th: Thread, msgs: Msg[]): void {
  const bySeq = new Map<number, Msg>();
  for (const m of th.msgs) if (!m.local) bySeq.set(m.seq, m);
  for (const m of msgs) bySeq.set(m.seq, m);
  const locals = th.msgs.filter((m) => m.local && !msgs.some((x) => x.client_msg_id && x.client_msg_id === m.client_msg_id));
  th.msgs = [...bySeq.values()].sort((a, b) => a.seq - b.seq).concat(locals);
  for (const m of msgs) th.lastSeq = Math.max(th.lastSeq, m.seq);
}

export async function openThread(id: string): Promise<void> {
  const th = thread(id);
  if (th.msgs.length || th.loading) return;
  th.loading = true;
  update();
  try {
    const body = await api<{ messages: Msg[]; last_seq: number }>("GET", `/api/v1/console/conversations/${id}/history?limit=50`);
    merge(th, body.messages);
    th.lastSeq = Math.max(th.lastSeq, body.last_seq);
    th.complete = !body.messages.length || body.messages[0].seq <= 1;
  } catch (err) {
    fail(err);
  } finally {
    th.loading = false;
    update();
  }
}

export async function loadOlder(id: string): Promise<void> {
  const th = thread(id);
  const first = th.msgs.find((m) => !m.local);
  if (th.older || th.complete || !first) return;
  th.older = true;
  update();
  try {
    const body = await api<{ messages: Msg[] }>("GET", `/api/v1/console/conversations/${id}/history?before=${first.seq}&limit=50`);
    merge(th, body.messages);
    th.complete = !body.messages.length || body.messages[0].seq <= 1;
  } finally {
    th.older = false;
    update();
  }
}

// Everything after the newest seq we hold: after a reconnect, or when a live event skipped one.
export async function catchUp(id: string): Promise<void> {
  const th = S.threads.get(id);
  if (!th || !th.msgs.length) return;
  for (;;) {
    const body = await api<{ messages: Msg[] }>("GET", `/api/v1/conversations/${id}/messages?after=${th.lastSeq}&limit=200`);
    merge(th, body.messages);
    update();
    if (body.messages.length < 200) return;
  }
}

// --- notifications ------------------------------------------------------------------------------

let audio: AudioContext | null = null;
function beep(): void {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.05;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.15);
  } catch { /* no audio device */ }
}

export function notify(title: string, body: string): void {
  if (!document.hidden) return;
  S.badge += 1;
  document.title = `(${S.badge}) ${t("app.title")}`;
  beep();
  if ("Notification" in window && Notification.permission === "granted") {
    try { new Notification(title, { body }); } catch { /* not allowed here */ }
  }
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) { S.badge = 0; document.title = t("app.title"); }
});

// --- the socket -----------------------------------------------------------------------------------

function mine(c: Conv): boolean {
  const me = S.me!.id;
  return c.assignee_id === me || c.participants.some((p) => p.user_id === me) || c.offered_to.includes(me);
}

async function ensureConv(id: string): Promise<Conv | null> {
  const known = S.convs.get(id);
  if (known) return known;
  try {
    const c = await api<Conv>("GET", `/api/v1/conversations/${id}`);
    upsert(c);
    return S.convs.get(id) ?? c;
  } catch {
    return null;
  }
}

// Re-sync what was missed while the connection was down: lists, then every thread by seq. A hub
// that is still starting may refuse a request: try again (while this connection lasts), since
// nothing live will ever bring back what was missed.
async function resync(s: Socket): Promise<void> {
  for (let attempt = 0; socket === s && s.connected; attempt++) {
    try {
      await loadOpen();
      for (const id of S.threads.keys()) await catchUp(id);
      if (S.tab === "closed") await loadClosed();
      return;
    } catch (err) {
      if (attempt === 2) fail(err);
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 5000)));
    }
  }
}

function connect(): void {
  const s = io("/operator", { auth: { token: S.token }, transports: ["websocket"], reconnectionDelayMax: 2000 });
  socket = s;
  s.on("connect", async () => {
    S.connected = true;
    s.emit("status:set", { status: S.status });
    const again = S.everConnected;
    S.everConnected = true;
    update();
    if (again) await resync(s);
  });
  s.on("disconnect", () => { S.connected = false; update(); });
  s.on("connect_error", (err: Error & { data?: { code?: string } }) => {
    S.connected = false;
    update();
    if (err.data?.code === "unauthorized" || err.data?.code === "invalid_token") { signedOut(); return; }
    // A refusal by the server is not retried by socket.io itself; a dead transport is.
    if (!s.active) setTimeout(() => { if (socket === s) s.connect(); }, 1500);
  });
  s.on("conversation:offered", (data: { conversation: Conv; expires_at: string | null }) => {
    upsert({ ...data.conversation, offer_expires_at: data.expires_at ?? data.conversation.offer_expires_at });
    notify(t("notify.offer"), data.conversation.client.name || t("list.unknownClient"));
  });
  s.on("conversation:updated", (data: { conversation: Conv }) => { upsert(data.conversation); });
  s.on("message:new", async (data: { message: Msg }) => {
    const m = data.message;
    const c = await ensureConv(m.conversation_id);
    const th = S.threads.get(m.conversation_id);
    if (th && th.msgs.length) {
      if (m.seq > th.lastSeq + 1) { merge(th, [m]); await catchUp(m.conversation_id); } else merge(th, [m]);
    }
    if (c) {
      if (!m.hidden) c.last_message = { text: m.text, direction: m.direction, created_at: m.created_at };
      if (m.direction === "in") {
        c.unread = (c.unread || 0) + 1;
        if (S.selected === c.id && !document.hidden) S.seen.set(c.id, c.unread);
        if (mine(c)) notify(t("notify.message"), m.text.slice(0, 100));
      }
      if (m.direction === "in" || m.author.id !== S.me?.id) S.typing.delete(m.conversation_id);
    }
    update();
  });
  s.on("message:updated", (data: { message: Msg }) => {
    const th = S.threads.get(data.message.conversation_id);
    if (th) { merge(th, [data.message]); update(); }
  });
  s.on("typing", (data: { conversation_id: string; on: boolean; author: { id?: string; name?: string } }) => {
    if (data.author?.id === S.me?.id) return;
    if (data.on) S.typing.set(data.conversation_id, { name: data.author?.name || "", until: Date.now() + 6000 });
    else S.typing.delete(data.conversation_id);
    update();
  });
  s.on("operator:status", (data: { user_id: string; status: string }) => {
    if (data.user_id === S.me?.id) S.status = data.status;
    window.dispatchEvent(new CustomEvent("ol-presence"));
    update();
  });
}

export function emit<T = any>(event: string, payload: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!socket || !socket.connected) { reject(new Error(t("conn.lost"))); return; }
    socket.timeout(10000).emit(event, payload, (err: Error | null, ack: any) => {
      if (err) reject(err);
      else if (!ack?.ok) reject(new ApiError(400, ack?.error?.code || "error", ack?.error?.message || "error"));
      else resolve(ack as T);
    });
  });
}

export async function setStatus(status: string): Promise<void> {
  S.status = status;
  update();
  await emit("status:set", { status });
}

export function uploadFile(file: File, progress: (p: number) => void): Promise<Attachment> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/widget/uploads");
    xhr.setRequestHeader("Authorization", `Bearer ${S.token}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress(Math.round((e.loaded / e.total) * 100)); };
    xhr.onload = () => {
      let body: any = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status < 300 && body) resolve(body as Attachment);
      else reject(new Error(body?.error?.message || t("compose.uploadFailed")));
    };
    xhr.onerror = () => reject(new Error(t("compose.uploadFailed")));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}
