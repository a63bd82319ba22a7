// The message threads: pages of history, live messages merged by seq, and sending a reply with
// its local copy shown until the hub acknowledges it.
import * as api from "../api/client";
import type { Attachment, Msg } from "../api/types";
import { emit } from "./socket";
import { S, changed, write, type Thread } from "./store";
import { fail } from "./ui";

export function thread(id: string): Thread {
  let th = write.threads.get(id);
  if (!th) {
    th = { msgs: [], lastSeq: 0, loading: false, older: false, complete: false };
    write.threads.set(id, th);
  }
  return th;
}

export function merge(th: Thread, msgs: Msg[]): void {
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
  changed();
  try {
    const body = await api.history(id, { limit: 50 });
    merge(th, body.messages);
    th.lastSeq = Math.max(th.lastSeq, body.last_seq);
    th.complete = !body.messages.length || body.messages[0].seq <= 1;
  } catch (err) {
    fail(err);
  } finally {
    th.loading = false;
    changed();
  }
}

export async function loadOlder(id: string): Promise<void> {
  const th = thread(id);
  const first = th.msgs.find((m) => !m.local);
  if (th.older || th.complete || !first) return;
  th.older = true;
  changed();
  try {
    const body = await api.history(id, { before: first.seq, limit: 50 });
    merge(th, body.messages);
    th.complete = !body.messages.length || body.messages[0].seq <= 1;
  } finally {
    th.older = false;
    changed();
  }
}

// Everything after the newest seq we hold: after a reconnect, or when a live event skipped one.
export async function catchUp(id: string): Promise<void> {
  const th = S.threads.get(id);
  if (!th || !th.msgs.length) return;
  for (;;) {
    const messages = await api.messagesAfter(id, th.lastSeq, 200);
    merge(th, messages);
    changed();
    if (messages.length < 200) return;
  }
}

export function uid(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Sends a reply: shown at once as a local copy, replaced by the stored one on the ack. */
export async function sendMessage(conversationId: string, text: string, hidden: boolean, files: Attachment[]): Promise<void> {
  const client_msg_id = uid();
  const th = thread(conversationId);
  const local: Msg = {
    id: client_msg_id, conversation_id: conversationId, seq: th.lastSeq + 0.5, direction: "out",
    author: { type: "operator", id: S.me!.id, name: S.me!.name }, text, attachments: files,
    hidden, status: "pending", created_at: new Date().toISOString(), client_msg_id, local: true,
  };
  th.msgs = [...th.msgs, local];
  changed();
  try {
    const ack = await emit<{ message: Msg }>("message:send", {
      conversation_id: conversationId, text, hidden, client_msg_id, attachments: files.map((f) => f.id),
    });
    th.msgs = th.msgs.filter((m) => m.client_msg_id !== client_msg_id || !m.local);
    if (!th.msgs.some((m) => m.seq === ack.message.seq)) {
      th.msgs = [...th.msgs.filter((m) => !m.local), ack.message, ...th.msgs.filter((m) => m.local)]
        .sort((a, b) => (a.local ? 1 : 0) - (b.local ? 1 : 0) || a.seq - b.seq);
    }
    th.lastSeq = Math.max(th.lastSeq, ack.message.seq);
    changed();
  } catch (err) {
    local.status = "failed";
    changed();
    fail(err);
  }
}
