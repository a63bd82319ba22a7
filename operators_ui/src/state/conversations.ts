// The conversation lists: loading them, keeping the newest copy of each, the inbox tabs, and
// the actions an operator takes on a conversation.
import * as api from "../api/client";
import type { Conv } from "../api/types";
import { emit } from "./socket";
import { S, changed, write, type InboxTab } from "./store";
import { openThread } from "./threads";
import { fail } from "./ui";
import { supervisesAny } from "./session";

// Live updates that arrive while a list load is in flight: they are newer than its snapshot.
const liveDuringLoad = new Set<Map<string, Conv>>();

export async function loadOpen(): Promise<void> {
  const live = new Map<string, Conv>();
  liveDuringLoad.add(live);
  let lists: Conv[][];
  try {
    lists = await Promise.all((["queued", "offered", "active"] as const).map((s) => api.listConversations(s, 200)));
  } finally {
    liveDuringLoad.delete(live);
  }
  const fresh = new Map<string, Conv>();
  for (const list of lists) for (const c of list) fresh.set(c.id, c);
  for (const [id, c] of live) fresh.set(id, c);
  // A conversation opened from the Closed tab or a client card stays reachable.
  if (S.selected && !fresh.has(S.selected) && S.convs.has(S.selected)) fresh.set(S.selected, S.convs.get(S.selected)!);
  write.convs = fresh;
  changed();
}

// Closed conversations come a page at a time; a search typed on while one loads drops the
// answers to what it asked before.
const CLOSED_PAGE = 50;
let closedAsked = 0;

export async function loadClosed(): Promise<void> {
  const asked = ++closedAsked;
  const page = await api.searchConversations("closed", CLOSED_PAGE, S.closedQ.trim());
  if (asked !== closedAsked) return;
  write.closed = page.conversations;
  write.closedCursor = page.next_cursor;
  changed();
}

export async function loadMoreClosed(): Promise<void> {
  if (!S.closedCursor) return;
  const asked = closedAsked;
  const page = await api.searchConversations("closed", CLOSED_PAGE, S.closedQ.trim(), S.closedCursor);
  if (asked !== closedAsked) return;
  const known = new Set(S.closed.map((c) => c.id));
  write.closed = [...S.closed, ...page.conversations.filter((c) => !known.has(c.id))];
  write.closedCursor = page.next_cursor;
  changed();
}

// A REST snapshot can land after a live event that is newer than it (a fetch in flight while the
// conversation is offered), and concurrent changes can be heard out of order: the higher ``rev``
// (raised by every change on the server) wins.
function older(c: Conv, than: Conv | undefined): boolean {
  return !!than && (c.rev ?? 0) < (than.rev ?? 0);
}

export function upsert(c: Conv): void {
  if (older(c, S.convs.get(c.id))) return;
  write.convs.set(c.id, c);
  for (const live of liveDuringLoad) live.set(c.id, c);
  // A search result keeps where it matched.
  write.closed = S.closed.map((x) => (x.id === c.id ? { ...c, match: x.match } : x));
  changed();
}

/** Fetches a conversation the lists do not hold yet (e.g. a message of one just offered). */
export async function ensureConv(id: string): Promise<Conv | null> {
  const known = S.convs.get(id);
  if (known) return known;
  try {
    const c = await api.getConversation(id);
    upsert(c);
    return S.convs.get(id) ?? c;
  } catch {
    return null;
  }
}

// --- the inbox tabs ---

export function tabs(): InboxTab[] {
  const list: InboxTab[] = ["offered", "mine", "pinned", "queue"];
  if (supervisesAny()) list.push("all");
  list.push("closed");
  return list;
}

export function inTab(c: Conv, tab: InboxTab): boolean {
  const me = S.me!.id;
  const mine = c.assignee_id === me || c.participants.some((p) => p.user_id === me);
  switch (tab) {
    case "offered": return c.status === "offered" && c.offered_to.includes(me);
    // A transfer the user sent stays in Mine until it is accepted (they may cancel it).
    case "mine": return (c.status === "active" && mine) || (c.status === "offered" && c.transfer?.from === me);
    // A pin is the assignee's (their client comes back to them), not the whole line's.
    case "pinned": return c.pinned && c.status !== "closed" && c.assignee_id === me;
    case "queue": return c.status === "queued" || (c.status === "offered" && !c.offered_to.includes(me));
    case "all": return c.status !== "closed";
    default: return false;
  }
}

/** When the conversation's soonest running response-time clock runs out (ms; none: Infinity). */
export function nextDue(c: Conv): number {
  const sla = c.sla;
  if (!sla) return Infinity;
  const dues = [sla.first_answer_due_at, sla.next_answer_due_at, sla.resolve_due_at].filter((d): d is string => !!d);
  return dues.length ? Math.min(...dues.map((d) => Date.parse(d))) : Infinity;
}

export function late(c: Conv): boolean {
  return !!c.sla?.breached?.length;
}

export function listed(): readonly Conv[] {
  if (S.tab === "closed") return S.closed;
  const newest = (a: Conv, b: Conv) => (a.id < b.id ? 1 : -1);
  const order = S.order === "due" ? (a: Conv, b: Conv) => nextDue(a) - nextDue(b) || newest(a, b) : newest;
  return [...S.convs.values()].filter((c) => inTab(c, S.tab) && (!S.lateOnly || late(c))).sort(order);
}

/** Whether the user is in this conversation or is offered it (their notifications). */
export function mine(c: Conv): boolean {
  const me = S.me!.id;
  return c.assignee_id === me || c.participants.some((p) => p.user_id === me) || c.offered_to.includes(me);
}

// --- actions ---

export function select(id: string, known?: Conv): void {
  write.selected = id;
  const c = known || S.convs.get(id) || S.closed.find((x) => x.id === id);
  if (c) { write.convs.set(id, c); write.seen.set(id, c.unread); }
  openThread(id);
  changed();
}

export function markSeen(id: string, unread: number): void {
  write.seen.set(id, unread);
}

export async function accept(id: string): Promise<void> {
  try {
    const ack = await emit<{ conversation: Conv }>("conversation:accept", { id });
    upsert(ack.conversation);
    write.tab = "mine";
    select(id);
  } catch (err) { fail(err); }
}

/** Sends one conversation event (pin, return, join, leave, close, transfer, invite). */
export async function act(event: string, id: string, payload: Record<string, unknown>): Promise<boolean> {
  try {
    const ack = await emit<{ conversation: Conv }>(event, { id, ...payload });
    upsert(ack.conversation);
    return true;
  } catch (err) { fail(err); return false; }
}

/** Shows a conversation (e.g. from a CRM card) in the inbox. */
export async function openConversation(id: string): Promise<void> {
  try {
    const c = await api.getConversation(id);
    write.convs.set(c.id, c);
    write.seen.set(c.id, c.unread);
    write.selected = c.id;
    write.view = "inbox";
    openThread(c.id);
    changed();
  } catch (err) { fail(err); }
}

/** A fresh copy from the hub, e.g. after the CRM linked a deal to it. */
export async function refreshConversation(id: string): Promise<void> {
  upsert(await api.getConversation(id));
}
