// The console's shared state and its subscriptions. Components read it through useStore() and
// change it only by calling the actions in state/*.ts, which write through `write` and call
// changed(); subscribers then re-render once per microtask, however many writes there were.
import { useLayoutEffect, useState } from "preact/hooks";
import type { Conv, Lang, Line, Presence, User } from "../api/types";

export type View = "inbox" | "board" | "crm" | "users" | "lines" | "channels" | "answers" | "forms" | "bots";
export type InboxTab = "offered" | "mine" | "pinned" | "queue" | "all" | "closed";
export type InboxOrder = "newest" | "due";
export type CrmTab = "leads" | "contacts" | "companies" | "deals";
export type Thread = { msgs: import("../api/types").Msg[]; lastSeq: number; loading: boolean; older: boolean; complete: boolean };

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

export type State = {
  // The bearer token lives in this tab's sessionStorage: it survives a reload, dies with the
  // tab, and is what the /operator socket authenticates with (the HttpOnly cookie set at login
  // is only for same-origin file downloads and images).
  token: string | null;
  me: User | null;
  booting: boolean;
  lang: Lang;
  status: Presence;
  connected: boolean;
  everConnected: boolean;
  view: View;
  // The CRM section: its tab and the record card open in it (also reached from a CRM badge).
  crmTab: CrmTab;
  crmCard: { entity: CrmTab; id: string } | null;
  tab: InboxTab;
  // The open tabs' order (newest first, or the soonest response-time due first) and filter.
  order: InboxOrder;
  lateOnly: boolean;
  convs: Map<string, Conv>;
  closed: Conv[];
  closedQ: string;
  // Where the next page of the Closed list starts (null: it is all shown).
  closedCursor: string | null;
  selected: string | null;
  threads: Map<string, Thread>;
  typing: Map<string, { name: string; until: number }>;
  seen: Map<string, number>; // conversation id -> unread count when it was last opened
  lines: Line[];
  names: Map<string, string>;
  toast: string | null;
};

/** The writable state: for the actions in state/ only. */
export const write: State = {
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,
  booting: true,
  lang: (localStorage.getItem(LANG_KEY) as Lang | null) || browserLang(),
  status: "offline",
  connected: false,
  everConnected: false,
  view: "inbox",
  crmTab: "leads",
  crmCard: null,
  tab: "mine",
  order: "newest",
  lateOnly: false,
  convs: new Map(),
  closed: [],
  closedQ: "",
  closedCursor: null,
  selected: null,
  threads: new Map(),
  typing: new Map(),
  seen: new Map(),
  lines: [],
  names: new Map(),
  toast: null,
};

type ReadOnly<T> = {
  readonly [K in keyof T]: T[K] extends Map<infer A, infer B> ? ReadonlyMap<A, B>
    : T[K] extends (infer E)[] ? readonly E[] : T[K];
};
/** The state as components see it: the compiler refuses writes to it. */
export const S: ReadOnly<State> = write;

export const storage = { TOKEN_KEY, LANG_KEY };

const listeners = new Set<() => void>();
let scheduled = false;

/** Tells every subscriber that the state changed (once per microtask). */
export function changed(): void {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    for (const fn of [...listeners]) fn();
  });
}

export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => { listeners.delete(fn); };
}

/** Re-renders the calling component whenever the shared state changes. */
export function useStore(): ReadOnly<State> {
  const [, setTick] = useState(0);
  // A layout effect subscribes during the commit itself, so a change made right after the first
  // render (boot() without a token) is not missed.
  useLayoutEffect(() => subscribe(() => setTick((n) => n + 1)), []);
  return S;
}
