// Actions on what the console shows: the language, the screen, the inbox tab, the CRM card and
// the toast. Components call these; they never write the store themselves.
import { errorText } from "../api/http";
import type { Lang } from "../api/types";
import { changed, storage, write, type CrmTab, type InboxOrder, type InboxTab, type View } from "./store";

export function setLang(lang: Lang): void {
  write.lang = lang;
  localStorage.setItem(storage.LANG_KEY, lang);
  document.documentElement.lang = lang;
  changed();
}

let toastTimer: number | undefined;

export function toast(text: string): void {
  write.toast = text;
  changed();
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => { if (write.toast === text) { write.toast = null; changed(); } }, 5000);
}

/** The console's one failure path: the error in the user's language (api/http.ts errorText). */
export function fail(err: unknown): void {
  toast(errorText(err));
}

export function setView(view: View): void {
  write.view = view;
  if (view === "crm") write.crmCard = null;
  changed();
}

export function setInboxTab(tab: InboxTab): void {
  write.tab = tab;
  changed();
}

export function setInboxOrder(order: InboxOrder): void {
  write.order = order;
  changed();
}

export function setLateOnly(on: boolean): void {
  write.lateOnly = on;
  changed();
}

export function setClosedQuery(q: string): void {
  write.closedQ = q;
  changed();
}

export function setCrmTab(tab: CrmTab): void {
  write.crmTab = tab;
  write.crmCard = null;
  changed();
}

export function openCrmCard(entity: CrmTab, id: string): void {
  write.view = "crm";
  write.crmCard = { entity, id };
  changed();
}

export function closeCrmCard(): void {
  write.crmCard = null;
  changed();
}

/** Remembers who is who, so lists can name people by id. */
export function rememberNames(people: readonly { id: string; name: string }[]): void {
  for (const p of people) write.names.set(p.id, p.name);
  changed();
}
