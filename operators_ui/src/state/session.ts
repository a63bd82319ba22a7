// Signing in and out, who the user is and what they may do, and the lines they see.
import * as api from "../api/client";
import { configureHttp } from "../api/http";
import type { Presence } from "../api/types";
import { connect, disconnect, emit } from "./socket";
import { inTab, loadOpen } from "./conversations";
import { S, changed, storage, write } from "./store";

configureHttp(() => write.token, () => { if (write.me) signedOut(); });

export async function boot(): Promise<void> {
  document.documentElement.lang = S.lang;
  if (S.token) {
    try {
      write.me = await api.getMe();
      await start();
    } catch {
      signedOut();
    }
  }
  write.booting = false;
  changed();
}

export async function signIn(email: string, password: string): Promise<void> {
  const body = await api.login(email, password);
  write.token = body.token;
  sessionStorage.setItem(storage.TOKEN_KEY, body.token);
  write.me = body.user;
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => undefined);
  }
  await start();
  changed();
}

export async function signOut(): Promise<void> {
  try { await api.logout(); } catch { /* the token may be gone already */ }
  signedOut();
}

export function signedOut(): void {
  disconnect();
  sessionStorage.removeItem(storage.TOKEN_KEY);
  write.token = null; write.me = null; write.convs.clear(); write.threads.clear(); write.selected = null;
  write.connected = false; write.everConnected = false; write.view = "inbox"; write.crmCard = null;
  changed();
}

export const isAdmin = (): boolean => S.me?.role === "admin";
export const oversees = (lineId: string): boolean =>
  isAdmin() || !!S.lines.find((l) => l.id === lineId && l.supervisors.includes(S.me!.id));
// CRM: managers and admins read and write everything, supervisors read (docs/crm.md).
export const editsCrm = (): boolean => S.me?.role === "admin" || S.me?.role === "manager";
export const readsCrm = (): boolean => editsCrm() || S.me?.role === "supervisor";
export const supervisesAny = (): boolean => isAdmin() || S.lines.some((l) => l.supervisors.includes(S.me!.id));

async function start(): Promise<void> {
  write.status = S.me?.status_preference || "online";
  write.tab = "mine";
  await loadLines();
  connect();
  await loadOpen();
  // An offer waiting at sign-in is what needs the user first.
  if ([...S.convs.values()].some((c) => inTab(c, "offered"))) {
    write.tab = "offered";
    changed();
  }
}

export async function loadLines(): Promise<void> {
  write.lines = await api.listLines();
  if (supervisesAny()) {
    try {
      for (const u of await api.listUsers()) write.names.set(u.id, u.name);
    } catch { /* supervisors of no line */ }
  }
  if (readsCrm()) {
    // The CRM screens name responsible people of every line.
    try {
      for (const u of await api.listStaff()) write.names.set(u.id, u.name);
    } catch { /* not a CRM reader after all */ }
  }
  for (const line of S.lines) {
    try {
      for (const m of await api.lineMembers(line.id)) write.names.set(m.id, m.name);
    } catch { /* not a member */ }
  }
  if (S.me) write.names.set(S.me.id, S.me.name);
  changed();
}

export async function setStatus(status: Presence): Promise<void> {
  write.status = status;
  changed();
  await emit("status:set", { status });
}
