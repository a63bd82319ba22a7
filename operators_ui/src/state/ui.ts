// Actions on what the console shows: the language, the screen, the inbox tab, the CRM card and
// the toast. Components call these; they never write the store themselves.
import type { Lang } from "../api/types";
import { t } from "../i18n";
import { changed, storage, write, type CrmTab, type InboxTab, type View } from "./store";

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

export function fail(err: unknown): void {
  toast(t("err.generic", { msg: err instanceof Error ? err.message : String(err) }));
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
