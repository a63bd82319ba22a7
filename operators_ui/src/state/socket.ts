// The /operator socket: live conversation and message events into the store, acks of the
// console's own events, re-sync after a reconnect; what the user should notice goes to notice.ts.
import { io, type Socket } from "socket.io-client";
import { ApiError, LocalError } from "../api/http";
import type { Conv, Msg, Presence, SlaKind } from "../api/types";
import { t } from "../i18n";
import { ensureConv, loadClosed, loadOpen, mine, upsert } from "./conversations";
import { signedOut } from "./session";
import { S, changed, write } from "./store";
import { messageArrived, offerArrived } from "./notice";
import { catchUp, merge } from "./threads";
import { fail, toast } from "./ui";

let socket: Socket | null = null;

// --- the connection ---

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

export function disconnect(): void {
  socket?.disconnect();
  socket = null;
}

export function connect(): void {
  const s = io("/operator", { auth: { token: S.token }, transports: ["websocket"], reconnectionDelayMax: 2000 });
  socket = s;
  s.on("connect", async () => {
    write.connected = true;
    s.emit("status:set", { status: S.status });
    const again = S.everConnected;
    write.everConnected = true;
    changed();
    if (again) await resync(s);
  });
  s.on("disconnect", () => { write.connected = false; changed(); });
  s.on("connect_error", (err: Error & { data?: { code?: string } }) => {
    write.connected = false;
    changed();
    if (err.data?.code === "unauthorized" || err.data?.code === "invalid_token") { signedOut(); return; }
    // A refusal by the server is not retried by socket.io itself; a dead transport is.
    if (!s.active) setTimeout(() => { if (socket === s) s.connect(); }, 1500);
  });
  s.on("conversation:offered", (data: { conversation: Conv; expires_at: string | null }) => {
    upsert({ ...data.conversation, offer_expires_at: data.expires_at ?? data.conversation.offer_expires_at });
    offerArrived(data.conversation);
  });
  s.on("conversation:updated", (data: { conversation: Conv }) => { upsert(data.conversation); });
  // A response-time clock ran out: the line's supervisors and the people it names hear it.
  s.on("sla:breached", (data: { conversation: Conv; kind: SlaKind }) => {
    upsert(data.conversation);
    const name = data.conversation.client.name || t("list.unknownClient");
    toast(t("sla.alert", { kind: t(`sla.kind.${data.kind}`), name }));
  });
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
        if (S.selected === c.id && !document.hidden) write.seen.set(c.id, c.unread);
        if (mine(c)) messageArrived(c, m.text);
      }
      if (m.direction === "in" || m.author.id !== S.me?.id) write.typing.delete(m.conversation_id);
    }
    changed();
  });
  s.on("message:updated", (data: { message: Msg }) => {
    const th = S.threads.get(data.message.conversation_id);
    if (th) { merge(th, [data.message]); changed(); }
  });
  s.on("typing", (data: { conversation_id: string; on: boolean; author: { id?: string; name?: string } }) => {
    if (data.author?.id === S.me?.id) return;
    if (data.on) write.typing.set(data.conversation_id, { name: data.author?.name || "", until: Date.now() + 6000 });
    else write.typing.delete(data.conversation_id);
    changed();
  });
  s.on("operator:status", (data: { user_id: string; status: Presence }) => {
    if (data.user_id === S.me?.id) write.status = data.status;
    window.dispatchEvent(new CustomEvent("ol-presence"));
    changed();
  });
}

export function emit<T = unknown>(event: string, payload: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!socket || !socket.connected) { reject(new LocalError(t("conn.lost"))); return; }
    socket.timeout(10000).emit(event, payload, (err: Error | null, ack: any) => {
      if (err) reject(err);
      else if (!ack?.ok) reject(new ApiError(400, ack?.error?.code || "error", ack?.error?.message || "error", ack?.error?.details));
      else resolve(ack as T);
    });
  });
}
