// The widget bundle: the visitor's chat inside the shadow root the loader made. Talks to the
// hub's /widget Socket.IO namespace (API.md) and uploads files with XHR (progress events).
import { io, type Socket } from "socket.io-client";
import { errorText, fill, pickTexts, type Texts } from "./i18n";
import { CSS } from "./styles";
import { el, renderText } from "./text";

// width/height: an image's pixels as shown, when the hub could read them.
type Attachment = {
  id: string;
  name: string;
  mime: string;
  size: number;
  url?: string | null;
  width?: number | null;
  height?: number | null;
};
type Author = { type: "client" | "operator" | "system"; id?: string | null; name?: string | null };
type Message = {
  id: string;
  conversation_id: string;
  seq: number;
  direction: string;
  author: Author;
  text: string;
  attachments: Attachment[];
  status: string;
  created_at: string;
};
type WidgetConfig = {
  title: string;
  color: string;
  greeting?: string | null;
  language?: string;
  prechat_fields: string[];
  agreement_text?: string | null;
  upload_max_bytes: number;
  max_text: number;
};
type Session = {
  token: string;
  visitor_id: string;
  conversation_id: string | null;
  identified?: boolean;
  verified_email?: string | null;
  line: { title: string | null; online: boolean; open_now: boolean };
  widget: WidgetConfig;
};
type Ack = { ok: boolean; error?: { code: string; message: string }; [k: string]: unknown };
// A message the visitor wrote that the hub has not confirmed yet; kept in localStorage so a
// reload or a dropped connection resends it with the same client_msg_id (the hub dedupes).
type Pending = {
  client_msg_id: string;
  text: string;
  attachments: Attachment[];
  created_at: string;
  failed?: string;
};
// left: the closed conversation the visitor left with "New conversation" (not drawn again).
type Stored = { token?: string; prechat?: boolean; left?: string };
// The history ack: the latest conversation's public messages and whether it is closed.
type History = { messages: Message[]; conversation_id: string | null; closed?: boolean; csat?: string | null };

const EMOJI = "😀 😂 😊 😍 🤔 😢 😮 😡 👍 👎 🙏 👋 🎉 ❤️ 🔥 ✅ ❌ ⭐ 📎 📷 💬 🕒 🚚 💳".split(" ");

const SVG = '<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true">';
const ICON_CLIP = `${SVG}<path d="M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7"/></svg>`;
const ICON_SMILE = `${SVG}<circle cx="12" cy="12" r="9"/><path d="M8 14s1.5 2 4 2 4-2 4-2M9 9h.01M15 9h.01"/></svg>`;

type Loader = { key: string; base: string; identity?: string; identityHash?: string; root: ShadowRoot; open: boolean };
const loader = (window as unknown as { OpenLines: Loader }).OpenLines;
// Refusals that no retry can change: stop, and say the chat is not available here.
const REFUSED_FOR_GOOD = ["origin_not_allowed", "unknown_widget", "invalid_identity", "invalid_auth"];
// The hub refused for now (too many connections): try again after this long.
const RETRY_REFUSED_MS = 15000;

function uid(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// The box a picture is previewed in (as .ol-m img in styles.ts); within this many pixels of
// the bottom, the newest message counts as in view.
const PREVIEW_PX = 220;
const AT_END_PX = 32;

/** The size a picture is previewed at, from the pixels the hub stored for it. */
function previewSize(file: Attachment): { width: number; height: number } | null {
  if (!file.width || !file.height) return null;
  const scale = Math.min(1, PREVIEW_PX / file.width, PREVIEW_PX / file.height);
  return { width: Math.max(1, Math.round(file.width * scale)), height: Math.max(1, Math.round(file.height * scale)) };
}

function clock(iso: string): string {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

class Widget {
  private key = loader.key;
  private base = loader.base;
  private root = loader.root;
  private t: Texts = pickTexts(undefined, navigator.languages || [navigator.language]);
  private socket!: Socket;
  private session: Session | null = null;
  private stored: Stored;
  private outbox: Pending[];
  private inflight = new Set<string>();
  private shown = new Map<string, HTMLElement>(); // message id or client_msg_id -> bubble
  private open = false;
  private unread = 0;
  private refused = "";
  private reconnecting = false;
  private closedConversation: string | null = null;
  // The conversation the thread shows; ids are time-ordered, so a newer one compares greater.
  private conversationId: string | null = null;
  private drafts: Attachment[] = [];
  // Send pressed while a file was still uploading: the message goes as soon as the last one lands.
  private sendWhenUploaded = false;
  private typingSent = 0;
  private typingOff: number | undefined;
  private typingShown: number | undefined;
  private noticeTimer: number | undefined;
  private markReady!: () => void;
  // Whether the visitor is at the newest message: then a picture loading (one without a stored
  // size) or the panel resizing (a phone's keyboard) keeps it in view.
  private atEnd = true;
  // Resolves with the first session: uploads need the visitor token.
  private ready = new Promise<void>((resolve) => (this.markReady = resolve));

  // DOM
  private launcher: HTMLButtonElement;
  private badge = el("span", { class: "ol-b", "data-testid": "ol-unread", hidden: "" });
  private panel = el("div", { class: "ol-p", hidden: "", role: "dialog", "data-testid": "ol-panel" });
  private titleEl = el("b");
  private subtitle = el("small");
  private status = el("div", { class: "ol-s", "data-testid": "ol-status", role: "status", hidden: "" });
  private notice = el("div", { class: "ol-n", "data-testid": "ol-notice", role: "alert", hidden: "" });
  private queue = el("div", { class: "ol-q", "data-testid": "ol-queue-position", hidden: "" });
  private thread = el("div", { class: "ol-t", "aria-live": "polite" });
  private typingEl = el("div", { class: "ol-ty", "data-testid": "ol-typing" });
  private uploads = el("div", { class: "ol-u", hidden: "" });
  private composer = el("div", { class: "ol-c" });
  private input = el("textarea", { "data-testid": "ol-input", rows: "1" });
  private fileInput = el("input", { type: "file", hidden: "", multiple: "" });
  private emojiBox = el("div", { class: "ol-e", hidden: "" });
  private prechatForm = el("form", { class: "ol-f", hidden: "", "data-testid": "ol-prechat" });

  constructor() {
    this.stored = this.read<Stored>(`openlines:${this.key}`, {});
    this.outbox = this.read<Pending[]>(`openlines:${this.key}:outbox`, []);
    const style = el("style");
    style.textContent = CSS;
    this.root.appendChild(style);
    this.launcher = this.root.querySelector("[data-testid=ol-launcher]") as HTMLButtonElement;
    this.launcher.onmouseenter = this.launcher.onfocus = null;
    this.launcher.onclick = () => this.toggle(!this.open);
    this.launcher.appendChild(this.badge);
    this.build();
    this.applyTexts();
    this.connect();
    if (loader.open) this.toggle(true);
  }

  // --- storage ------------------------------------------------------------------------------

  private read<T>(name: string, fallback: T): T {
    try {
      const raw = localStorage.getItem(name);
      return raw ? (JSON.parse(raw) as T) : fallback;
    } catch {
      return fallback;
    }
  }

  private write(name: string, value: unknown): void {
    try {
      localStorage.setItem(name, JSON.stringify(value));
    } catch {
      // Private modes may refuse storage; the chat still works for this page view.
    }
  }

  private saveOutbox(): void {
    this.write(`openlines:${this.key}:outbox`, this.outbox.filter((p) => !p.failed));
  }

  // --- layout -------------------------------------------------------------------------------

  private build(): void {
    const header = el("div", { class: "ol-h" });
    const names = el("div");
    names.append(this.titleEl, this.subtitle);
    const close = el("button", { class: "ol-x", "data-testid": "ol-close", type: "button" }, "×");
    close.onclick = () => {
      this.toggle(false);
      this.launcher.focus();
    };
    header.append(names, close);
    // Escape closes the panel from anywhere in it; the focus goes back to the launcher.
    this.panel.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape" || ev.isComposing) return;
      ev.preventDefault();
      this.toggle(false);
      this.launcher.focus();
    });

    const attach = el("button", { class: "ic", "data-testid": "ol-attach", type: "button" });
    attach.innerHTML = ICON_CLIP; // a constant of this file, never client text
    attach.onclick = () => this.fileInput.click();
    this.fileInput.onchange = () => {
      for (const file of Array.from(this.fileInput.files || [])) this.upload(file);
      this.fileInput.value = "";
    };
    const emoji = el("button", { class: "ic", "data-testid": "ol-emoji", type: "button" });
    emoji.innerHTML = ICON_SMILE; // a constant of this file, never client text
    emoji.onclick = () => this.emojiBox.toggleAttribute("hidden");
    for (const e of EMOJI) {
      const b = el("button", { type: "button" }, e);
      b.onclick = () => {
        this.input.value += e;
        this.emojiBox.setAttribute("hidden", "");
        this.input.focus();
      };
      this.emojiBox.appendChild(b);
    }
    const send = el("button", { "data-testid": "ol-send", type: "button" });
    send.onclick = () => this.submit();
    this.input.onkeydown = (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) {
        ev.preventDefault();
        this.submit();
      }
    };
    this.input.oninput = () => this.typing();
    this.input.onpaste = (ev) => {
      const files = Array.from(ev.clipboardData?.files || []);
      if (files.length) {
        ev.preventDefault();
        for (const file of files) this.upload(file);
      }
    };
    this.composer.append(this.emojiBox, attach, emoji, this.input, send, this.fileInput);

    this.panel.ondragover = (ev) => {
      ev.preventDefault();
      this.panel.classList.add("ol-dz");
    };
    this.panel.ondragleave = () => this.panel.classList.remove("ol-dz");
    this.panel.ondrop = (ev) => {
      ev.preventDefault();
      this.panel.classList.remove("ol-dz");
      for (const file of Array.from(ev.dataTransfer?.files || [])) this.upload(file);
    };
    this.panel.append(
      header,
      this.status,
      this.queue,
      this.notice,
      this.prechatForm,
      this.thread,
      this.typingEl,
      this.uploads,
      this.composer,
    );
    this.root.appendChild(this.panel);
    this.thread.onscroll = () => {
      const el = this.thread;
      this.atEnd = el.scrollHeight - el.scrollTop - el.clientHeight <= AT_END_PX;
    };
    // "load" does not bubble: caught on the way down, for every picture of the thread.
    this.thread.addEventListener("load", (ev) => { if (ev.target instanceof HTMLImageElement && this.atEnd) this.scroll(); }, true);
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => { if (this.atEnd) this.scroll(); }).observe(this.thread);
    }
  }

  private applyTexts(): void {
    const t = this.t;
    const cfg = this.session?.widget;
    this.launcher.setAttribute("aria-label", t.launcher);
    (this.root.querySelector("[data-testid=ol-close]") as HTMLElement).setAttribute("aria-label", t.close);
    this.titleEl.textContent = cfg?.title || t.launcher;
    this.panel.setAttribute("aria-label", cfg?.title || t.launcher);
    this.input.placeholder = t.placeholder;
    const send = this.root.querySelector("[data-testid=ol-send]") as HTMLElement;
    send.textContent = t.send;
    (this.root.querySelector("[data-testid=ol-attach]") as HTMLElement).title = t.attach;
    (this.root.querySelector("[data-testid=ol-emoji]") as HTMLElement).title = t.emoji;
    if (cfg) this.root.host.setAttribute("style", `--ol-c:${cfg.color}`);
    this.renderSubtitle();
  }

  private renderSubtitle(operatorName?: string | null): void {
    if (operatorName) {
      this.subtitle.textContent = operatorName;
      this.subtitle.setAttribute("data-testid", "ol-operator");
      return;
    }
    if (this.subtitle.getAttribute("data-testid") === "ol-operator") return;
    this.subtitle.textContent = this.session?.line.online ? this.t.online : this.t.offline;
  }

  private toggle(open: boolean): void {
    this.open = open;
    this.panel.toggleAttribute("hidden", !open);
    if (open) {
      this.unread = 0;
      this.renderBadge();
      this.input.focus();
      this.scroll();
    }
  }

  private renderBadge(): void {
    this.badge.textContent = String(this.unread);
    this.badge.toggleAttribute("hidden", this.unread === 0);
  }

  private renderStatus(): void {
    // The connection state on the host element, for the page (and tests) to observe.
    const state = this.refused ? "refused" : this.reconnecting ? "reconnecting" : this.session ? "ready" : "connecting";
    this.root.host.setAttribute("data-ol-state", state);
    let text = "";
    // Refused for good: the panel says so in the visitor's language and offers nothing to type in.
    if (this.refused) {
      for (const part of [this.composer, this.prechatForm, this.queue, this.typingEl]) part.setAttribute("hidden", "");
    }
    if (this.refused) text = this.refused;
    else if (this.reconnecting) text = this.t.reconnecting;
    else if (this.session && !this.session.line.open_now) text = this.t.afterHours;
    this.status.textContent = text;
    this.status.toggleAttribute("hidden", !text);
  }

  private say(text: string): void {
    this.notice.textContent = text;
    this.notice.removeAttribute("hidden");
    clearTimeout(this.noticeTimer);
    this.noticeTimer = window.setTimeout(() => this.notice.setAttribute("hidden", ""), 8000);
  }

  private scroll(): void {
    this.thread.scrollTop = this.thread.scrollHeight;
    this.atEnd = true;
  }

  // --- connection ---------------------------------------------------------------------------

  private connect(): void {
    const { identity, identityHash } = loader;
    this.socket = io(`${this.base}/widget`, {
      // The newest token the hub handed out (it is fresh on every connect).
      auth: (cb) =>
        cb({ key: this.key, token: this.stored.token, ...(identity ? { identity, identity_hash: identityHash } : {}) }),
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      // A websocket at once: one request per connect instead of a long poll's handshake, a
      // post, a poll and an upgrade (a reconnect storm costs the hub a quarter). Where a proxy
      // or network refuses websockets, the same connect tries long polling next.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
    });
    const s = this.socket;
    s.on("session", (session: Session) => this.onSession(session));
    s.on("connect_error", (err: Error & { data?: { code?: string } }) => {
      // The hub's refusals carry {code, message} as the error's data.
      const code = err.data?.code || "";
      if (REFUSED_FOR_GOOD.includes(code)) {
        this.refused = this.t.refused;
        s.disconnect(); // refused for good: no reconnect loop against a site that may not chat
      } else {
        this.reconnecting = true;
        // A refusal by the hub (over a limit) is not retried by socket.io itself; a lost
        // transport is (s.active).
        if (!s.active) window.setTimeout(() => s.connect(), RETRY_REFUSED_MS * (1 + Math.random()));
      }
      this.renderStatus();
    });
    s.on("disconnect", (reason: string) => {
      this.reconnecting = reason !== "io client disconnect";
      this.inflight.clear();
      this.renderStatus();
    });
    s.on("message:new", ({ message }: { message: Message }) => this.onMessage(message, true));
    s.on("typing", (data: { on: boolean; author?: Author }) => this.onTyping(data));
    s.on("queue:position", ({ position }: { position: number | null }) => {
      this.queue.textContent = position ? fill(this.t.queue, position) : "";
      this.queue.toggleAttribute("hidden", !position);
    });
    s.on("conversation:assigned", (data: { operator?: { name?: string | null } }) =>
      this.renderSubtitle(data.operator?.name),
    );
    s.on("conversation:closed", ({ conversation_id }: { conversation_id: string }) =>
      this.onClosed(conversation_id),
    );
    s.on("csat:request", ({ conversation_id }: { conversation_id: string }) =>
      this.showCsat(conversation_id),
    );
  }

  private onSession(session: Session): void {
    const first = this.session === null;
    this.session = session;
    this.reconnecting = false;
    this.stored.token = session.token;
    this.write(`openlines:${this.key}`, this.stored);
    this.t = pickTexts(session.widget.language, navigator.languages || [navigator.language]);
    this.applyTexts();
    this.renderStatus();
    this.markReady();
    if (first) {
      if (session.widget.greeting) {
        this.thread.appendChild(el("div", { class: "ol-g", "data-testid": "ol-greeting" }, session.widget.greeting));
      }
      for (const pending of this.outbox) this.renderPending(pending);
    }
    this.togglePrechat();
    this.socket.emit("history", { limit: 100 }, (ack: Ack) => {
      if (ack.ok) this.onHistory(ack as unknown as History);
      this.flush();
    });
  }

  /** Draws the latest conversation as it stands: after a reload or a reconnect, a closed one
   * keeps its marker and, while a rating is awaited, its rating card. */
  private onHistory(history: History): void {
    const id = history.conversation_id;
    if (!id || (history.closed && this.stored.left === id)) return; // left behind: a clean thread
    for (const m of history.messages) this.onMessage(m, false);
    if (!this.follow(id) || !history.closed) return;
    this.onClosed(id);
    if (history.csat === "requested") this.showCsat(id);
  }

  /** The pre-chat fields to ask: not the e-mail when the site already proved it. */
  private prechatFields(cfg: WidgetConfig): string[] {
    return cfg.prechat_fields.filter((f) => !(f === "email" && this.session?.verified_email));
  }

  private togglePrechat(): void {
    const cfg = this.session?.widget;
    const need =
      !!cfg && this.prechatFields(cfg).length > 0 && !this.stored.prechat && !this.session?.conversation_id;
    if (need && !this.prechatForm.childElementCount) this.buildPrechat(cfg as WidgetConfig);
    this.prechatForm.toggleAttribute("hidden", !need);
    this.thread.toggleAttribute("hidden", need);
    this.composer.toggleAttribute("hidden", need || this.closedConversation !== null);
  }

  private buildPrechat(cfg: WidgetConfig): void {
    const t = this.t;
    const form = this.prechatForm;
    form.appendChild(el("div", {}, t.prechatIntro));
    const inputs: Record<string, HTMLInputElement> = {};
    const types: Record<string, string> = { name: "text", email: "email", phone: "tel" };
    for (const field of this.prechatFields(cfg)) {
      const input = el("input", {
        type: types[field] || "text",
        name: field,
        placeholder: (t as Record<string, string>)[field] || field,
        "data-testid": `ol-prechat-${field}`,
        required: "",
      });
      inputs[field] = input;
      form.appendChild(input);
    }
    let agree: HTMLInputElement | null = null;
    if (cfg.agreement_text) {
      const label = el("label");
      agree = el("input", { type: "checkbox", "data-testid": "ol-prechat-agreement" });
      label.append(agree, el("span", {}, cfg.agreement_text));
      form.appendChild(label);
    }
    const submit = el("button", { class: "ol-btn", type: "submit", "data-testid": "ol-prechat-submit" }, t.start);
    form.appendChild(submit);
    form.onsubmit = (ev) => {
      ev.preventDefault();
      if (agree && !agree.checked) {
        this.say(t.agreementRequired);
        return;
      }
      const data: Record<string, string> = {};
      for (const [name, input] of Object.entries(inputs)) {
        if (input.value.trim()) data[name] = input.value.trim();
      }
      this.socket.emit("prechat", data, (ack: Ack) => {
        if (!ack.ok) {
          this.say(errorText(t, ack.error?.code, t.failed));
          return;
        }
        this.notice.setAttribute("hidden", "");
        this.stored.prechat = true;
        this.write(`openlines:${this.key}`, this.stored);
        this.togglePrechat();
        this.input.focus();
      });
    };
  }

  // --- messages -----------------------------------------------------------------------------

  private bubble(kind: string, text: string, attachments: Attachment[], meta: string, author?: string): HTMLElement {
    const node = el("div", { class: `ol-m ${kind}`, "data-testid": "ol-message" });
    if (author) node.appendChild(el("span", { class: "au" }, author));
    const body = el("span", { class: "tx" });
    renderText(body, text);
    node.appendChild(body);
    for (const file of attachments) node.appendChild(this.attachmentNode(file));
    node.appendChild(el("span", { class: "mt" }, meta));
    return node;
  }

  private fileUrl(file: Attachment): string {
    const url = new URL(file.url || `/api/v1/files/${file.id}`, this.base + "/");
    url.searchParams.set("token", this.stored.token || "");
    return url.toString();
  }

  private attachmentNode(file: Attachment): HTMLElement {
    if (file.mime.startsWith("image/")) {
      const link = el("a", { href: this.fileUrl(file), target: "_blank", rel: "noopener" });
      const size = previewSize(file);
      // With the size the hub stored, the picture's room is kept before it loads: no jump.
      const dims: Record<string, string> = size ? { width: String(size.width), height: String(size.height) } : {};
      link.appendChild(el("img", { src: this.fileUrl(file), alt: file.name, "data-testid": "ol-attachment-image", ...dims }));
      return link;
    }
    const size = file.size > 1 << 20 ? `${(file.size / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(file.size / 1024)} KB`;
    return el(
      "a",
      { class: "fl", href: this.fileUrl(file), download: file.name, "data-testid": "ol-attachment-file", title: this.t.download },
      `📄 ${file.name} (${size})`,
    );
  }

  private statusLabel(status: string): string {
    const t = this.t as Record<string, string>;
    return t[status] || status;
  }

  private onMessage(message: Message, live: boolean): void {
    const client = message.author.type === "client";
    if (this.shown.has(message.id) || !this.follow(message.conversation_id)) return;
    const kind = client ? "own" : message.author.type === "operator" ? "op" : "sys";
    const meta = client ? `${clock(message.created_at)} · ${this.statusLabel(message.status === "delivered" ? "sent" : message.status)}` : clock(message.created_at);
    const author = kind === "op" ? message.author.name || this.t.operator : undefined;
    const node = this.bubble(kind, message.text, message.attachments || [], meta, author);
    node.dataset.id = message.id;
    this.shown.set(message.id, node);
    this.insertOrdered(node, message.conversation_id, message.seq);
    if (kind === "op") {
      this.renderSubtitle(message.author.name);
      this.queue.setAttribute("hidden", "");
      this.typingEl.textContent = "";
      if (live && !this.open) {
        this.unread += 1;
        this.renderBadge();
      }
    }
    this.scroll();
  }

  /** Whether a message of ``conversationId`` belongs in the thread. A newer conversation than
   * the one shown (a manager wrote after a close, or the visitor started one in another tab)
   * takes the thread over; an older one's messages are not drawn. */
  private follow(conversationId: string): boolean {
    const shown = this.conversationId;
    if (shown === conversationId) return true;
    if (shown !== null && conversationId < shown) return false;
    if (shown !== null) this.clearThread();
    this.conversationId = conversationId;
    if (this.closedConversation !== null) {
      this.closedConversation = null;
      this.togglePrechat();
    }
    return true;
  }

  /** Empties the thread for a new conversation; the visitor's unconfirmed messages stay. */
  private clearThread(): void {
    for (const child of Array.from(this.thread.children) as HTMLElement[]) {
      if (child.dataset.pending === undefined) child.remove();
    }
    for (const [key, node] of this.shown) if (!node.isConnected) this.shown.delete(key);
    this.subtitle.removeAttribute("data-testid");
    this.renderSubtitle();
  }

  /** Puts a stored message in its place: by conversation, then seq. What has no seq (the
   * visitor's pending messages, the closed marker, the rating card) stays after it. */
  private insertOrdered(node: HTMLElement, conversationId: string, seq: number): void {
    node.dataset.conv = conversationId;
    node.dataset.seq = String(seq);
    for (const child of Array.from(this.thread.children) as HTMLElement[]) {
      const { conv, seq: other } = child.dataset;
      const later = conv !== undefined && (conv > conversationId || (conv === conversationId && Number(other) > seq));
      if (other === "" || later) {
        this.thread.insertBefore(node, child);
        return;
      }
    }
    this.thread.appendChild(node);
  }

  private renderPending(pending: Pending): void {
    const meta = `${clock(pending.created_at)} · ${pending.failed ? this.t.failed : this.t.sending}`;
    const node = this.bubble(`own${pending.failed ? " failed" : ""}`, pending.text, pending.attachments, meta);
    node.dataset.seq = "";
    node.dataset.pending = pending.client_msg_id;
    if (pending.failed) {
      const retry = el("button", { class: "rt", type: "button", "data-testid": "ol-retry" }, this.t.retry);
      retry.onclick = () => {
        pending.failed = undefined;
        this.outbox.push(pending);
        node.remove();
        this.shown.delete(pending.client_msg_id);
        this.renderPending(pending);
        this.saveOutbox();
        this.flush();
      };
      node.querySelector(".mt")?.appendChild(retry);
    }
    const old = this.shown.get(pending.client_msg_id);
    if (old) old.replaceWith(node);
    else this.thread.appendChild(node);
    this.shown.set(pending.client_msg_id, node);
    this.scroll();
  }

  private submit(): void {
    const text = this.input.value.trim();
    const max = this.session?.widget.max_text || 4000;
    if (!text && !this.drafts.length) return;
    if (text.length > max) {
      this.say(fill(this.t.tooLong, max));
      return;
    }
    if (this.drafts.some((d) => !d.id)) {
      this.sendWhenUploaded = true;
      return;
    }
    this.sendWhenUploaded = false;
    const pending: Pending = {
      client_msg_id: uid(),
      text,
      attachments: this.drafts,
      created_at: new Date().toISOString(),
    };
    this.drafts = [];
    this.uploads.replaceChildren();
    this.uploads.setAttribute("hidden", "");
    this.input.value = "";
    this.stopTyping();
    this.outbox.push(pending);
    this.saveOutbox();
    this.renderPending(pending);
    this.flush();
  }

  /** Sends every unconfirmed message, oldest first; safe to call again at any time. */
  private flush(): void {
    if (!this.socket.connected || !this.session) return;
    for (const pending of this.outbox) {
      if (this.inflight.has(pending.client_msg_id)) continue;
      this.inflight.add(pending.client_msg_id);
      const payload = {
        text: pending.text,
        client_msg_id: pending.client_msg_id,
        attachments: pending.attachments.map((a) => a.id),
      };
      this.socket.timeout(10000).emit("message:send", payload, (err: Error | null, ack: Ack) => {
        this.inflight.delete(pending.client_msg_id);
        if (err) return; // no answer: it stays in the outbox and goes again after reconnecting
        this.outbox = this.outbox.filter((p) => p !== pending);
        if (ack.ok) {
          this.shown.get(pending.client_msg_id)?.remove();
          this.shown.delete(pending.client_msg_id);
          this.onMessage(ack.message as Message, true);
        } else {
          const code = ack.error?.code;
          pending.failed = code || "failed";
          this.say(errorText(this.t, code, this.t.failed));
          this.renderPending(pending);
        }
        this.saveOutbox();
      });
    }
  }

  // --- typing -------------------------------------------------------------------------------

  private typing(): void {
    const now = Date.now();
    if (now - this.typingSent > 3000 && this.socket.connected) {
      this.typingSent = now;
      this.socket.emit("typing", { on: true });
    }
    clearTimeout(this.typingOff);
    this.typingOff = window.setTimeout(() => this.stopTyping(), 4000);
  }

  private stopTyping(): void {
    clearTimeout(this.typingOff);
    if (this.typingSent && this.socket.connected) this.socket.emit("typing", { on: false });
    this.typingSent = 0;
  }

  private onTyping({ on, author }: { on: boolean; author?: Author }): void {
    clearTimeout(this.typingShown);
    this.typingEl.textContent = on ? `${author?.name || this.t.operator} ${this.t.typing}` : "";
    if (on) this.typingShown = window.setTimeout(() => (this.typingEl.textContent = ""), 8000);
  }

  // --- close, CSAT, new conversation --------------------------------------------------------

  private onClosed(conversationId: string): void {
    if (this.conversationId !== null && conversationId < this.conversationId) return; // an older one
    this.conversationId = conversationId;
    if (this.closedConversation === conversationId) return; // already drawn (a reconnect)
    this.closedConversation = conversationId;
    this.queue.setAttribute("hidden", "");
    this.typingEl.textContent = "";
    const box = el("div", { class: "ol-m sys", "data-testid": "ol-closed" }, this.t.closed);
    const again = el("button", { class: "ol-btn", type: "button", "data-testid": "ol-new-conversation" }, this.t.newConversation);
    again.onclick = () => this.startNew();
    box.appendChild(el("br"));
    box.appendChild(again);
    box.dataset.seq = "";
    this.thread.appendChild(box);
    this.composer.setAttribute("hidden", "");
    this.scroll();
  }

  /** Leaves a closed conversation behind: a clean thread, the composer back; a reload does not
   * draw it again. */
  private startNew(): void {
    if (this.closedConversation === null) return;
    this.stored.left = this.closedConversation;
    this.write(`openlines:${this.key}`, this.stored);
    this.closedConversation = null;
    this.clearThread();
    this.togglePrechat();
    this.input.focus();
  }

  private showCsat(conversationId: string): void {
    if (conversationId !== this.conversationId || this.thread.querySelector("[data-testid=ol-csat]")) return;
    const t = this.t;
    const card = el("div", { class: "ol-cs", "data-testid": "ol-csat" });
    card.dataset.seq = "";
    card.appendChild(el("div", {}, t.csatAsk));
    const stars = el("div", { class: "st" });
    let rating = 0;
    const buttons: HTMLButtonElement[] = [];
    for (let i = 1; i <= 5; i++) {
      const b = el("button", { type: "button", "data-testid": "ol-csat-star", "aria-label": `${i}/5` }, "★");
      b.onclick = () => {
        rating = i;
        buttons.forEach((other, j) => other.classList.toggle("on", j < i));
        submit.disabled = false;
      };
      buttons.push(b);
      stars.appendChild(b);
    }
    const comment = el("textarea", { placeholder: t.csatComment, "data-testid": "ol-csat-comment", maxlength: "1000" });
    const submit = el("button", { class: "ol-btn", type: "button", "data-testid": "ol-csat-submit" }, t.csatSubmit);
    submit.disabled = true;
    submit.onclick = () => {
      const payload: { rating: number; comment?: string } = { rating };
      if (comment.value.trim()) payload.comment = comment.value.trim();
      this.socket.emit("csat:submit", payload, (ack: Ack) => {
        if (!ack.ok) {
          this.say(errorText(t, ack.error?.code, t.failed));
          return;
        }
        card.replaceChildren(el("div", { "data-testid": "ol-csat-thanks" }, t.csatThanks));
      });
    };
    card.append(stars, comment, submit);
    const closed = this.thread.querySelector("[data-testid=ol-closed]");
    if (closed) this.thread.insertBefore(card, closed);
    else this.thread.appendChild(card);
    this.scroll();
  }

  // --- files --------------------------------------------------------------------------------

  private upload(file: File): void {
    const max = this.session?.widget.upload_max_bytes || 10 << 20;
    if (file.size > max) {
      this.say(fill(this.t.fileTooLarge, Math.floor(max / (1 << 20))));
      return;
    }
    const draft: Attachment = { id: "", name: file.name, mime: file.type, size: file.size };
    this.drafts.push(draft);
    const chip = el("div", { class: "ch", "data-testid": "ol-upload" });
    if (file.type.startsWith("image/")) chip.appendChild(el("img", { src: URL.createObjectURL(file), alt: "" }));
    chip.appendChild(el("span", { class: "nm" }, file.name));
    const bar = el("progress", { max: "100", value: "0", "data-testid": "ol-upload-progress" });
    const remove = el("button", { class: "rm", type: "button" }, "×");
    chip.append(bar, remove);
    this.uploads.appendChild(chip);
    this.uploads.removeAttribute("hidden");
    const drop = () => {
      this.drafts = this.drafts.filter((d) => d !== draft);
      chip.remove();
      if (!this.drafts.length) this.uploads.setAttribute("hidden", "");
    };
    const xhr = new XMLHttpRequest();
    remove.onclick = () => {
      xhr.abort();
      drop();
    };
    this.ready.then(() => this.send(xhr, file, draft, bar, chip, drop));
  }

  private uploadFailed(drop: () => void, message?: string): void {
    drop();
    // The visitor reads why before anything goes: a message without its file is not what was meant.
    this.sendWhenUploaded = false;
    this.say(message || this.t.uploadFailed);
  }

  private send(
    xhr: XMLHttpRequest,
    file: File,
    draft: Attachment,
    bar: HTMLProgressElement,
    chip: HTMLElement,
    drop: () => void,
  ): void {
    xhr.open("POST", `${this.base}/api/v1/widget/uploads`);
    xhr.setRequestHeader("X-Visitor-Token", this.stored.token || "");
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) bar.value = Math.round((ev.loaded / ev.total) * 100);
    };
    xhr.onload = () => {
      let body: { id?: string; name?: string; mime?: string; size?: number; url?: string; error?: { code?: string; message: string } } = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: a proxy error page; reported below as a generic failure
      }
      if (xhr.status >= 200 && xhr.status < 300 && body.id) {
        Object.assign(draft, { id: body.id, mime: body.mime || draft.mime, size: body.size ?? draft.size, url: body.url });
        bar.value = 100;
        chip.dataset.done = "1";
        if (this.sendWhenUploaded && this.drafts.every((d) => d.id)) this.submit();
      } else {
        this.uploadFailed(drop, errorText(this.t, body.error?.code, this.t.uploadFailed));
      }
    };
    xhr.onerror = () => this.uploadFailed(drop);
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  }
}

if (loader?.root) new Widget();
