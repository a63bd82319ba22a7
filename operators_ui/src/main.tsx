// The operator console: sign-in, inbox, conversation, supervisor board and admin screens.
// Client text is only ever rendered as text nodes (JSX escapes it); never innerHTML.
import { render } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import {
  S, api, boot, emit, fail, isAdmin, loadClosed, loadLines, loadOlder, onUpdate, openThread,
  editsCrm, oversees, readsCrm, setLang, setStatus, signIn, signOut, supervisesAny, t, thread, toast, uid, update, upsert,
  uploadFile, type Attachment, type Conv, type Msg, type User,
} from "./core";
import { CrmSection, StartDeal, openCrmCard } from "./crm";
import { CSS } from "./styles";
import { ChannelIcon, Icon } from "./ui";

const EMOJI = "😀 😂 😊 😍 🤔 😢 👍 🙏 👋 🎉 ❤️ 🔥 ✅ ⭐ 🚚 💳".split(" ");
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return t("time.s", { n: s });
  if (s < 3600) return t("time.m", { n: Math.floor(s / 60) });
  return t("time.h", { n: Math.floor(s / 3600) });
}

function LangSwitch() {
  return (
    <select data-testid="lang-switch" aria-label={t("nav.language")} value={S.lang}
      onChange={(e) => setLang((e.target as HTMLSelectElement).value as "en" | "ru")}>
      <option value="ru">Русский</option>
      <option value="en">English</option>
    </select>
  );
}

// --- sign-in ---------------------------------------------------------------------------------

function Login() {
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    try {
      await signIn(String(data.get("email")), String(data.get("password")));
    } catch {
      setError(t("login.failed"));
    }
  };
  return (
    <div class="login">
      <form onSubmit={submit} class="card">
        <h1>{t("login.title")}</h1>
        <label>{t("login.email")}<input name="email" type="email" required data-testid="login-email" autocomplete="username" /></label>
        <label>{t("login.password")}<input name="password" type="password" required data-testid="login-password" autocomplete="current-password" /></label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" data-testid="login-submit">{t("login.submit")}</button>
        <div class="row"><span>{t("nav.language")}</span><LangSwitch /></div>
      </form>
    </div>
  );
}

// --- shell -----------------------------------------------------------------------------------

function Header() {
  const views: [typeof S.view, string, boolean][] = [
    ["inbox", "nav.inbox", true],
    ["board", "nav.board", supervisesAny()],
    ["crm", "nav.crm", readsCrm()],
    ["answers", "nav.answers", true],
    ["users", "nav.users", isAdmin()],
    ["lines", "nav.lines", isAdmin()],
    ["channels", "nav.channels", isAdmin()],
  ];
  return (
    <header class="top">
      <strong class="brand">{t("app.title")}</strong>
      <nav>
        {views.filter((v) => v[2]).map(([v, key]) => (
          <button class={S.view === v ? "tab on" : "tab"} data-testid={`nav-${v}`} onClick={() => { S.view = v; if (v === "crm") S.crmCard = null; update(); }}>{t(key)}</button>
        ))}
      </nav>
      <span class="grow" />
      <label class="inline">{t("status.label")}
        <select data-testid="status-switch" value={S.status} class={`status-${S.status}`}
          onChange={(e) => setStatus((e.target as HTMLSelectElement).value).catch(fail)}>
          {["online", "away", "offline"].map((s) => <option value={s}>{t(`status.${s}`)}</option>)}
        </select>
      </label>
      <LangSwitch />
      <span class="me" data-testid="me">{S.me!.name}</span>
      <button data-testid="sign-out" onClick={() => signOut()}>{t("nav.signout")}</button>
    </header>
  );
}

function App() {
  if (S.booting) return <div class="center">{t("login.loading")}</div>;
  if (!S.me) return <Login />;
  return (
    <div class="shell">
      <Header />
      {!S.connected && <div class="banner" data-testid="connection-banner" role="status">{t("conn.lost")}</div>}
      {S.toast && <div class="toast" role="alert" data-testid="toast">{S.toast}</div>}
      <main>
        {S.view === "inbox" && <Inbox />}
        {S.view === "board" && <Board />}
        {S.view === "crm" && <CrmSection />}
        {S.view === "answers" && <Answers />}
        {S.view === "users" && <Users />}
        {S.view === "lines" && <Lines />}
        {S.view === "channels" && <Channels />}
      </main>
    </div>
  );
}

// --- inbox -----------------------------------------------------------------------------------

function tabs(): string[] {
  const list = ["offered", "mine", "pinned", "queue"];
  if (supervisesAny()) list.push("all");
  list.push("closed");
  return list;
}

function inTab(c: Conv, tab: string): boolean {
  const me = S.me!.id;
  const mine = c.assignee_id === me || c.participants.some((p) => p.user_id === me);
  switch (tab) {
    case "offered": return c.status === "offered" && c.offered_to.includes(me);
    case "mine": return c.status === "active" && mine;
    case "pinned": return c.pinned && c.status !== "closed";
    case "queue": return c.status === "queued" || (c.status === "offered" && !c.offered_to.includes(me));
    case "all": return c.status !== "closed";
    default: return false;
  }
}

export function listed(): Conv[] {
  if (S.tab === "closed") return S.closed;
  return [...S.convs.values()].filter((c) => inTab(c, S.tab)).sort((a, b) => (a.id < b.id ? 1 : -1));
}

function select(id: string): void {
  S.selected = id;
  const c = S.convs.get(id) || S.closed.find((x) => x.id === id);
  if (c) { S.convs.set(id, c); S.seen.set(id, c.unread); }
  openThread(id);
  update();
}

function Inbox() {
  const items = listed();
  return (
    <div class="inbox">
      <section class="list">
        <div class="tabs" role="tablist">
          {tabs().map((tab) => {
            const n = tab === "closed" ? 0 : [...S.convs.values()].filter((c) => inTab(c, tab)).length;
            return (
              <button role="tab" class={S.tab === tab ? "tab on" : "tab"} data-testid={`tab-${tab}`} aria-selected={S.tab === tab}
                onClick={() => { S.tab = tab; if (tab === "closed") loadClosed().catch(fail); update(); }}>
                {t(`tab.${tab}`)}{n ? <span class="count">{n}</span> : null}
              </button>
            );
          })}
        </div>
        {S.tab === "closed" && (
          <input class="search" data-testid="closed-search" placeholder={t("list.search")} value={S.closedQ}
            onInput={(e) => { S.closedQ = (e.target as HTMLInputElement).value; loadClosed().catch(fail); }} />
        )}
        <ul data-testid="conversation-list">
          {items.map((c) => <Row c={c} />)}
        </ul>
        {!items.length && <p class="empty">{t("list.empty")}</p>}
        <p class="hint">{t("keys.help")}</p>
      </section>
      <section class="conv">{S.selected ? <Conversation id={S.selected} /> : <p class="empty">{t("conv.none")}</p>}</section>
    </div>
  );
}

async function accept(id: string): Promise<void> {
  try {
    const ack = await emit<{ conversation: Conv }>("conversation:accept", { id });
    upsert(ack.conversation);
    S.tab = "mine";
    select(id);
  } catch (err) { fail(err); }
}

function Row({ c }: { c: Conv }) {
  const unread = Math.max(0, (c.unread || 0) - (S.seen.get(c.id) ?? 0));
  const waitingSince = c.queued_at || c.created_at;
  const offeredToMe = c.status === "offered" && c.offered_to.includes(S.me!.id);
  return (
    <li data-testid="conversation-item" data-id={c.id} class={S.selected === c.id ? "item on" : "item"} onClick={() => select(c.id)}>
      <ChannelIcon type={c.channel.type} />
      <div class="grow">
        <div class="row"><b class="name">{c.client.name || t("list.unknownClient")}</b>
          {unread > 0 && <span class="unread" data-testid="unread">{unread}</span>}
        </div>
        <div class="preview">{c.last_message?.text || t("list.noMessages")}</div>
        <div class="meta">
          {(c.status === "queued" || c.status === "offered") && <span data-testid="wait-time">{t("list.waiting", { t: duration(S.now - Date.parse(waitingSince)) })}</span>}
          {offeredToMe && c.offer_expires_at && <span class="countdown" data-testid="countdown">{t("list.expires", { t: duration(Date.parse(c.offer_expires_at) - S.now) })}</span>}
        </div>
      </div>
      {offeredToMe && <button class="primary" data-testid="accept" onClick={(e) => { e.stopPropagation(); accept(c.id); }}>{t("act.accept")}</button>}
    </li>
  );
}

// --- one conversation ---------------------------------------------------------------------------

function dayLabel(iso: string): string {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (d.toDateString() === today.toDateString()) return t("msg.today");
  if (d.toDateString() === yesterday.toDateString()) return t("msg.yesterday");
  return d.toLocaleDateString(S.lang === "ru" ? "ru-RU" : "en-GB", { day: "numeric", month: "long", year: "numeric" });
}

function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString(S.lang === "ru" ? "ru-RU" : "en-GB", { hour: "2-digit", minute: "2-digit" });
}

function Bubble({ m }: { m: Msg }) {
  const kind = m.direction === "system" ? "system" : m.direction;
  return (
    <div data-testid="message" data-seq={m.seq} data-hidden={m.hidden ? "true" : "false"} class={`msg ${kind}${m.hidden ? " hidden" : ""}`}>
      <div class="who">
        {m.direction === "system" ? t("msg.system") : m.author.name || (m.direction === "in" ? t("list.unknownClient") : "")}
        {m.hidden && <span class="tag" data-testid="hidden-tag">{t("msg.hidden")}</span>}
      </div>
      {m.text && <div class="text">{m.text}</div>}
      {m.attachments.map((a) => <AttachmentView a={a} />)}
      {m.original && (
        <a class="file" data-testid="original" href={m.original.url || `/api/v1/files/${m.original.id}`} download={m.original.name}>
          <Icon name="clip" size={14} /> {t("msg.original")}
        </a>
      )}
      <div class="when">{clock(m.created_at)}
        {m.direction === "out" && !m.hidden && <span class="delivery" data-testid="delivery" data-status={m.status}> · {t(`msg.${m.status}`)}</span>}
      </div>
    </div>
  );
}

function AttachmentView({ a }: { a: Attachment }) {
  const url = a.url || `/api/v1/files/${a.id}`;
  if (a.mime.startsWith("image/")) {
    return <a href={url} target="_blank" rel="noopener"><img class="preview-img" src={url} alt={a.name} /></a>;
  }
  return <a class="file" href={url} target="_blank" rel="noopener" download={a.name}><Icon name="clip" size={14} /> {a.name} ({Math.ceil(a.size / 1024)} KB)</a>;
}

function Thread({ id }: { id: string }) {
  const th = thread(id);
  const box = useRef<HTMLDivElement>(null);
  const prev = useRef({ height: 0, first: 0, last: 0 });
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const first = th.msgs[0]?.seq || 0;
    const last = th.msgs.length;
    if (prev.current.first && first < prev.current.first) {
      el.scrollTop += el.scrollHeight - prev.current.height; // older page above: keep the view
    } else if (last !== prev.current.last) {
      el.scrollTop = el.scrollHeight;
    }
    prev.current = { height: el.scrollHeight, first, last };
  });
  const onScroll = () => {
    const el = box.current;
    if (el && el.scrollTop < 40 && !th.complete) { prev.current.height = el.scrollHeight; loadOlder(id).catch(fail); }
  };
  let lastDay = "";
  return (
    <div class="thread" ref={box} onScroll={onScroll} data-testid="thread">
      {th.loading && <p class="empty">{t("conv.loading")}</p>}
      {th.older && <p class="empty">{t("conv.older")}</p>}
      {th.complete && th.msgs.length > 0 && <p class="start">{t("conv.start")}</p>}
      {th.msgs.map((m) => {
        const day = new Date(m.created_at).toDateString();
        const sep = day !== lastDay ? <div class="day" data-testid="day-separator">{dayLabel(m.created_at)}</div> : null;
        lastDay = day;
        return <>{sep}<Bubble m={m} /></>;
      })}
    </div>
  );
}

function Conversation({ id }: { id: string }) {
  const c = S.convs.get(id);
  const [picker, setPicker] = useState<null | "transfer" | "invite">(null);
  const [card, setCard] = useState(false);
  if (!c) return <p class="empty">{t("conv.loading")}</p>;
  const me = S.me!.id;
  const assignee = c.assignee_id === me;
  const over = oversees(c.line_id);
  const inside = assignee || c.participants.some((p) => p.user_id === me);
  const open = c.status !== "closed";
  const act = (event: string, payload: Record<string, unknown>) => async () => {
    try {
      const ack = await emit<{ conversation: Conv }>(event, { id, ...payload });
      upsert(ack.conversation);
      update();
    } catch (err) { fail(err); }
  };
  const typing = S.typing.get(id);
  // The badge opens the most advanced record: the deal, else the contact, else the lead.
  const crm: [string, string] | null = c.crm?.deal_id ? ["deals", c.crm.deal_id]
    : c.crm?.contact_id ? ["contacts", c.crm.contact_id] : c.crm?.lead_id ? ["leads", c.crm.lead_id] : null;
  return (
    <div class="conversation">
      <div class="head">
        <ChannelIcon type={c.channel.type} />
        <button class="link client" data-testid="client-name" onClick={() => setCard(!card)} title={t("conv.card")}>{c.client.name || t("list.unknownClient")}</button>
        {crm ? <button class="badge crm" data-testid="crm-badge" data-entity={crm[0]} title={t(`crm.badge.${crm[0]}`)}
          onClick={() => openCrmCard(crm[0], crm[1])}>{t("conv.crm")} · {t(`crm.badge.${crm[0]}`)}</button> : null}
        {editsCrm() && !c.crm?.deal_id && <StartDeal c={c} />}
        <span class={`badge st-${c.status}`} data-testid="conversation-status">{t(`conv.status.${c.status}`)}</span>
        <span class="grow" />
        {((c.status === "offered" && c.offered_to.includes(me)) || (c.status === "queued" && !over)) && <button class="primary" data-testid="accept" onClick={() => accept(id)}>{t("act.accept")}</button>}
        {open && c.status === "active" && (assignee || over) && <button data-testid="transfer" onClick={() => setPicker("transfer")}>{t("act.transfer")}</button>}
        {open && c.status === "active" && (inside || over) && <button data-testid="invite" onClick={() => setPicker("invite")}>{t("act.invite")}</button>}
        {c.status === "active" && assignee && <button data-testid="pin" onClick={act("conversation:pin", { pinned: !c.pinned })}>{t(c.pinned ? "act.unpin" : "act.pin")}</button>}
        {c.status === "active" && assignee && <button data-testid="return" onClick={act("conversation:return", {})}>{t("act.return")}</button>}
        {open && over && !inside && <button data-testid="join-hidden" onClick={act("conversation:join", { hidden: true })}>{t("act.joinHidden")}</button>}
        {open && !assignee && c.participants.some((p) => p.user_id === me) && <button data-testid="leave" onClick={act("conversation:leave", {})}>{t("act.leave")}</button>}
        {open && (assignee || over) && <button class="danger" data-testid="close" onClick={act("conversation:close", {})}>{t("act.close")}</button>}
      </div>
      <div class="body">
        <div class="col">
          <Thread id={id} />
          {typing && typing.until > S.now && <div class="typing" data-testid="typing">{t("msg.typing", { name: typing.name })}</div>}
          {open ? <Composer c={c} /> : <p class="empty">{t("compose.closed")}</p>}
        </div>
        {card && <ClientCard clientId={c.client.id} close={() => setCard(false)} />}
      </div>
      {picker && <Picker c={c} mode={picker} close={() => setPicker(null)} />}
    </div>
  );
}

type Member = { id: string; name: string; status: string; active: number; max_active: number; operator: boolean };

function Picker({ c, mode, close }: { c: Conv; mode: "transfer" | "invite"; close: () => void }) {
  const [members, setMembers] = useState<Member[] | null>(null);
  useEffect(() => {
    api<{ members: Member[] }>("GET", `/api/v1/console/lines/${c.line_id}/members`)
      .then((b) => setMembers(b.members.filter((m) => m.id !== S.me!.id && m.id !== c.assignee_id)))
      .catch((err) => { fail(err); close(); });
  }, [c.id]);
  const pick = async (payload: Record<string, string>) => {
    try {
      const event = mode === "transfer" ? "conversation:transfer" : "conversation:invite";
      const ack = await emit<{ conversation: Conv }>(event, { id: c.id, ...payload });
      upsert(ack.conversation);
      close();
      update();
    } catch (err) { fail(err); }
  };
  const lines = S.lines.filter((l) => l.id !== c.line_id);
  return (
    <div class="modal" data-testid={`${mode}-picker`} role="dialog">
      <div class="card">
        <h3>{t(mode === "transfer" ? "pick.transferTitle" : "pick.inviteTitle")}</h3>
        <h4>{t("pick.operators")}</h4>
        {members === null ? <p>{t("conv.loading")}</p> : members.length === 0 ? <p>{t("pick.none")}</p> : (
          <ul class="pick">
            {members.map((m) => (
              <li><button data-testid="pick-user" data-user-id={m.id} onClick={() => pick(mode === "transfer" ? { to_user_id: m.id } : { user_id: m.id })}>
                <span class={`dot status-${m.status}`} /> {m.name} <small>{t(`status.${m.status}`)} · {t("pick.load", { n: m.active, max: m.max_active })}</small>
              </button></li>
            ))}
          </ul>
        )}
        {mode === "transfer" && lines.length > 0 && <><h4>{t("pick.lines")}</h4>
          <ul class="pick">{lines.map((l) => <li><button data-testid="pick-line" onClick={() => pick({ to_line_id: l.id })}>{l.name}</button></li>)}</ul></>}
        <button onClick={close}>{t("act.cancel")}</button>
      </div>
    </div>
  );
}

type QuickAnswer = { id: string; title: string; text: string; line_id: string | null };
let answersCache: { at: number; items: QuickAnswer[] } = { at: 0, items: [] };
async function quickAnswers(force = false): Promise<QuickAnswer[]> {
  if (force || Date.now() - answersCache.at > 30000) {
    answersCache = { at: Date.now(), items: (await api<{ quick_answers: QuickAnswer[] }>("GET", "/api/v1/console/quick-answers")).quick_answers };
  }
  return answersCache.items;
}

const drafts = new Map<string, string>();

function Composer({ c }: { c: Conv }) {
  const [text, setText] = useState(drafts.get(c.id) || "");
  const [hidden, setHidden] = useState(false);
  const [files, setFiles] = useState<Attachment[]>([]);
  const [uploading, setUploading] = useState<string | null>(null);
  const [emoji, setEmoji] = useState(false);
  const [answers, setAnswers] = useState<QuickAnswer[] | null>(null);
  const [pickIdx, setPickIdx] = useState(0);
  const area = useRef<HTMLTextAreaElement>(null);
  const typingOn = useRef(false);
  const typingTimer = useRef<number | undefined>(undefined);
  useEffect(() => { setText(drafts.get(c.id) || ""); setFiles([]); setHidden(false); }, [c.id]);
  useEffect(() => {
    const focus = () => area.current?.focus();
    window.addEventListener("ol-focus-composer", focus);
    return () => window.removeEventListener("ol-focus-composer", focus);
  }, []);
  const stopTyping = () => {
    if (typingOn.current) { typingOn.current = false; emit("typing", { conversation_id: c.id, on: false }).catch(() => undefined); }
  };
  const onInput = async (value: string) => {
    setText(value);
    drafts.set(c.id, value);
    if (value.startsWith("/")) {
      const q = value.slice(1).toLowerCase();
      const all = await quickAnswers();
      setAnswers(all.filter((a) => a.title.toLowerCase().includes(q) || a.text.toLowerCase().includes(q)));
      setPickIdx(0);
    } else setAnswers(null);
    if (!hidden && value) {
      if (!typingOn.current) { typingOn.current = true; emit("typing", { conversation_id: c.id, on: true }).catch(() => undefined); }
      clearTimeout(typingTimer.current);
      typingTimer.current = window.setTimeout(stopTyping, 3000);
    }
  };
  const useAnswer = (a: QuickAnswer) => { setText(a.text); drafts.set(c.id, a.text); setAnswers(null); area.current?.focus(); };
  const send = async () => {
    const body = text.trim();
    if (!body && !files.length) return;
    const client_msg_id = uid();
    const th = thread(c.id);
    const local: Msg = {
      id: client_msg_id, conversation_id: c.id, seq: th.lastSeq + 0.5, direction: "out",
      author: { type: "operator", id: S.me!.id, name: S.me!.name }, text: body, attachments: files,
      hidden, status: "pending", created_at: new Date().toISOString(), client_msg_id, local: true,
    };
    th.msgs = [...th.msgs, local];
    setText(""); drafts.delete(c.id); setFiles([]); setAnswers(null);
    clearTimeout(typingTimer.current); stopTyping();
    update();
    try {
      const ack = await emit<{ message: Msg }>("message:send", { conversation_id: c.id, text: body, hidden, client_msg_id, attachments: files.map((f) => f.id) });
      th.msgs = th.msgs.filter((m) => m.client_msg_id !== client_msg_id || !m.local);
      if (!th.msgs.some((m) => m.seq === ack.message.seq)) th.msgs = [...th.msgs.filter((m) => !m.local), ack.message, ...th.msgs.filter((m) => m.local)].sort((a, b) => (a.local ? 1 : 0) - (b.local ? 1 : 0) || a.seq - b.seq);
      th.lastSeq = Math.max(th.lastSeq, ack.message.seq);
      update();
    } catch (err) {
      local.status = "failed";
      update();
      fail(err);
    }
  };
  const onKey = (e: KeyboardEvent) => {
    if (answers && answers.length) {
      if (e.key === "ArrowDown") { e.preventDefault(); setPickIdx((pickIdx + 1) % answers.length); return; }
      if (e.key === "ArrowUp") { e.preventDefault(); setPickIdx((pickIdx - 1 + answers.length) % answers.length); return; }
      if (e.key === "Enter") { e.preventDefault(); useAnswer(answers[pickIdx]); return; }
      if (e.key === "Escape") { setAnswers(null); return; }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  };
  const attach = async (e: Event) => {
    const input = e.target as HTMLInputElement;
    for (const file of Array.from(input.files || [])) {
      try {
        setUploading(t("compose.uploading", { name: file.name, p: 0 }));
        const stored = await uploadFile(file, (p) => setUploading(t("compose.uploading", { name: file.name, p })));
        setFiles((prev) => [...prev, stored]);
      } catch (err) { fail(err); }
    }
    setUploading(null);
    input.value = "";
  };
  return (
    <div class={hidden ? "composer whisper" : "composer"} data-testid="composer-box" data-hidden={hidden ? "true" : "false"}>
      {hidden && <div class="whisper-note" data-testid="whisper-banner">{t("compose.hiddenBanner")}</div>}
      {answers && (
        <ul class="answers" data-testid="quick-answers">
          {answers.length === 0 ? <li class="empty">{t("qa.none")}</li> : answers.map((a, i) => (
            <li class={i === pickIdx ? "on" : ""} data-testid="quick-answer" onMouseDown={(e) => { e.preventDefault(); useAnswer(a); }}><b>{a.title}</b> {a.text.slice(0, 80)}</li>
          ))}
        </ul>
      )}
      {emoji && <div class="emoji">{EMOJI.map((x) => <button onClick={() => { onInput(text + x); setEmoji(false); area.current?.focus(); }}>{x}</button>)}</div>}
      {(files.length > 0 || uploading) && (
        <div class="files">{files.map((f) => <span class="chip"><Icon name="clip" size={14} /> {f.name}</span>)}{uploading && <span class="chip" data-testid="upload-progress">{uploading}</span>}</div>
      )}
      <textarea ref={area} data-testid="composer" rows={3} value={text}
        placeholder={t(hidden ? "compose.hiddenPlaceholder" : "compose.placeholder")}
        onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)} onKeyDown={onKey} />
      <div class="tools">
        <button data-testid="hidden-toggle" aria-pressed={hidden} class={hidden ? "toggle on" : "toggle"} onClick={() => { setHidden(!hidden); stopTyping(); }}><Icon name="lock" size={14} /> {t("compose.hidden")}</button>
        <button title={t("compose.emoji")} aria-label={t("compose.emoji")} onClick={() => setEmoji(!emoji)}><Icon name="smile" /></button>
        <label class="button" title={t("compose.attach")}><Icon name="clip" /><input type="file" data-testid="attach" hidden multiple onChange={attach} /><span class="sr">{t("compose.attach")}</span></label>
        <span class="grow" />
        <button class="primary" data-testid="send" onClick={send}>{t("compose.send")}</button>
      </div>
    </div>
  );
}

function ClientCard({ clientId, close }: { clientId: string; close: () => void }) {
  const [data, setData] = useState<any>(null);
  useEffect(() => { api("GET", `/api/v1/console/clients/${clientId}`).then(setData).catch(fail); }, [clientId]);
  return (
    <aside class="card client-card" data-testid="client-card">
      <div class="row"><h3>{t("card.title")}</h3><span class="grow" /><button onClick={close} aria-label={t("card.close")}>×</button></div>
      {!data ? <p>{t("conv.loading")}</p> : <>
        <p><b>{data.client.name || t("list.unknownClient")}</b></p>
        <h4>{t("card.contacts")}</h4>
        <p>{data.client.email || "—"}<br />{data.client.phone || "—"}</p>
        <h4>{t("card.identities")}</h4>
        <ul>{data.identities.map((i: any) => <li><ChannelIcon type={i.type || "widget"} /> {i.name || i.channel_id}</li>)}</ul>
        <h4>{t("card.conversations")}</h4>
        <ul data-testid="client-conversations">{data.conversations.map((c: Conv) => (
          <li><button class="link" onClick={() => { S.convs.set(c.id, c); select(c.id); }}><ChannelIcon type={c.channel.type} /> {new Date(c.created_at).toLocaleDateString()} · {t(`conv.status.${c.status}`)}</button></li>
        ))}</ul>
      </>}
    </aside>
  );
}

// --- supervisor board ---------------------------------------------------------------------------

function Board() {
  const lines = S.lines.filter((l) => oversees(l.id));
  const [lineId, setLineId] = useState(lines[0]?.id || "");
  const [data, setData] = useState<any>(null);
  useEffect(() => {
    if (!lineId) return;
    let timer: number | undefined;
    const load = () => api("GET", `/api/v1/console/lines/${lineId}/board`).then(setData).catch(() => undefined);
    const soon = () => { clearTimeout(timer); timer = window.setTimeout(load, 300); };
    load();
    const every = window.setInterval(load, 5000);
    window.addEventListener("ol-presence", soon);
    return () => { clearInterval(every); clearTimeout(timer); window.removeEventListener("ol-presence", soon); };
  }, [lineId, S.convs]);
  if (!lines.length) return <p class="empty">{t("board.noLines")}</p>;
  const figure = (key: string, value: string | number, id: string) => (
    <div class="figure"><div class="label">{t(key)}</div><div class="value" data-testid={id}>{value}</div></div>
  );
  return (
    <div class="page" data-testid="board">
      <h2>{t("board.title")}</h2>
      <label class="inline">{t("board.line")}
        <select data-testid="board-line" value={lineId} onChange={(e) => setLineId((e.target as HTMLSelectElement).value)}>
          {lines.map((l) => <option value={l.id}>{l.name}</option>)}
        </select>
      </label>
      {data && data.line_id === lineId && <>
        <div class="figures">
          {figure("board.waiting", data.waiting, "board-waiting")}
          {figure("board.longest", duration(data.longest_wait_s * 1000), "board-longest-wait")}
          {figure("board.active", data.active, "board-active")}
          {figure("board.today", data.today, "board-today")}
          {figure("board.avgFirst", data.avg_first_response_s == null ? "—" : duration(data.avg_first_response_s * 1000), "board-avg-first-response")}
        </div>
        <div class="charts">
          <HourChart counts={data.by_hour} />
          <OperatorChart operators={data.operators} />
        </div>
        <table>
          <thead><tr>
            <th>{t("board.operator")}</th><th>{t("board.status")}</th><th>{t("board.load")}</th>
            <th>{t("board.todayCol")}</th><th>{t("board.firstCol")}</th><th>{t("board.csat")}</th>
          </tr></thead>
          <tbody>{data.operators.map((m: BoardOperator) => (
            <tr data-testid="board-operator" data-user-id={m.id}><td>{m.name}</td>
              <td data-testid="board-operator-status" data-status={m.status}><span class={`dot status-${m.status}`} /> {t(`status.${m.status}`)}</td>
              <td data-testid="board-operator-load">{m.max_active ? `${m.active} / ${m.max_active}` : `${m.active}`}</td>
              <td data-testid="board-operator-today">{m.today}</td>
              <td>{m.avg_first_response_s == null ? "—" : duration(m.avg_first_response_s * 1000)}</td>
              <td data-testid="board-operator-csat">{m.csat_avg == null ? "—" : m.csat_avg.toFixed(1)}</td></tr>
          ))}</tbody>
        </table>
      </>}
    </div>
  );
}

type BoardOperator = Member & {
  today: number; today_closed: number; avg_first_response_s: number | null; csat_avg: number | null;
};

const two = (n: number): string => String(n).padStart(2, "0");

/** Today's conversations of the line by hour of the line's day: when the load comes. */
function HourChart({ counts }: { counts: number[] }) {
  const max = Math.max(1, ...counts);
  const slot = 22, top = 16, height = 110;
  return (
    <figure class="chart" data-testid="board-hour-chart">
      <figcaption>{t("board.byHour")}</figcaption>
      <svg viewBox={`0 0 ${24 * slot} ${top + height + 18}`} width={24 * slot} height={top + height + 18} role="img" aria-label={t("board.byHour")}>
        <line x1="0" x2={24 * slot} y1={top + height} y2={top + height} class="axis-line" />
        {counts.map((n, hour) => {
          const bar = Math.round((n / max) * height);
          return (
            <g data-testid="board-hour-bar" data-hour={hour} data-count={n}>
              <title>{`${two(hour)}:00–${two(hour)}:59 · ${n}`}</title>
              <rect x={hour * slot + 3} y={top + height - bar} width={slot - 6} height={bar} class="bar" />
              {n > 0 && <text x={hour * slot + slot / 2} y={top + height - bar - 4} text-anchor="middle" class="bar-value">{n}</text>}
              {hour % 3 === 0 && <text x={hour * slot + slot / 2} y={top + height + 14} text-anchor="middle" class="axis">{two(hour)}</text>}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** Today's conversations per operator, side by side: who carries the line. */
function OperatorChart({ operators }: { operators: BoardOperator[] }) {
  const max = Math.max(1, ...operators.map((m) => m.today));
  return (
    <figure class="chart" data-testid="board-operator-chart">
      <figcaption>{t("board.byOperator")}</figcaption>
      {operators.map((m) => (
        <div class="hbar-row" data-testid="board-operator-bar" data-user-id={m.id} data-count={m.today}>
          <span class="hbar-name">{m.name}</span>
          <span class="hbar"><span class="hbar-fill" style={{ width: `${(m.today / max) * 100}%` }} /></span>
          <span class="hbar-value">{m.today}</span>
        </div>
      ))}
    </figure>
  );
}

// --- quick answers -------------------------------------------------------------------------------

function Answers() {
  const [items, setItems] = useState<QuickAnswer[]>([]);
  const reload = () => quickAnswers(true).then(setItems).catch(fail);
  useEffect(() => { reload(); }, []);
  const managed = S.lines.filter((l) => oversees(l.id));
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const d = new FormData(form);
    try {
      await api("POST", "/api/v1/console/quick-answers", { title: d.get("title"), text: d.get("text"), line_id: d.get("line_id") || null });
      form.reset();
      reload();
    } catch (err) { fail(err); }
  };
  return (
    <div class="page">
      <h2>{t("qa.title")}</h2>
      <table><tbody>{items.map((a) => (
        <tr><td><b>{a.title}</b></td><td class="pre">{a.text}</td><td>{a.line_id ? S.lines.find((l) => l.id === a.line_id)?.name : t("qa.personal")}</td>
          <td><button onClick={() => api("DELETE", `/api/v1/console/quick-answers/${a.id}`).then(reload).catch(fail)}>{t("act.delete")}</button></td></tr>
      ))}</tbody></table>
      <form class="card form" onSubmit={submit} data-testid="qa-form">
        <label>{t("qa.name")}<input name="title" required maxLength={100} data-testid="qa-title" /></label>
        <label>{t("qa.text")}<textarea name="text" required rows={3} data-testid="qa-text" /></label>
        <label>{t("qa.scope")}<select name="line_id"><option value="">{t("qa.personal")}</option>{managed.map((l) => <option value={l.id}>{l.name}</option>)}</select></label>
        <button class="primary" type="submit" data-testid="qa-save">{t("act.save")}</button>
      </form>
    </div>
  );
}

// --- admin: users --------------------------------------------------------------------------------

function Users() {
  const [users, setUsers] = useState<User[]>([]);
  const reload = () => api<{ users: User[] }>("GET", "/api/v1/users").then((b) => { setUsers(b.users); for (const u of b.users) S.names.set(u.id, u.name); }).catch(fail);
  useEffect(() => { reload(); }, []);
  const patch = (id: string, body: Record<string, unknown>) => api("PATCH", `/api/v1/users/${id}`, body).then(reload).catch(fail);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const d = Object.fromEntries(new FormData(form));
    try { await api("POST", "/api/v1/users", d); form.reset(); reload(); } catch (err) { fail(err); }
  };
  const roles = ["operator", "supervisor", "manager", "admin"];
  return (
    <div class="page">
      <h2>{t("users.title")}</h2>
      <table>
        <thead><tr><th>{t("users.name")}</th><th>{t("users.email")}</th><th>{t("users.role")}</th><th>{t("users.state")}</th><th /></tr></thead>
        <tbody>{users.map((u) => (
          <tr data-testid="user-row"><td>{u.name}</td><td>{u.email}</td>
            <td><select value={u.role} onChange={(e) => patch(u.id, { role: (e.target as HTMLSelectElement).value })}>{roles.map((r) => <option value={r}>{t(`role.${r}`)}</option>)}</select></td>
            <td>{t(u.active ? "users.active" : "users.inactive")}</td>
            <td>{u.id !== S.me!.id && <button onClick={() => patch(u.id, { active: !u.active })}>{t(u.active ? "users.deactivate" : "users.activate")}</button>}</td></tr>
        ))}</tbody>
      </table>
      <form class="card form" onSubmit={submit}>
        <h3>{t("users.new")}</h3>
        <label>{t("users.name")}<input name="name" required data-testid="user-name" /></label>
        <label>{t("users.email")}<input name="email" type="email" required data-testid="user-email" /></label>
        <label>{t("users.password")}<input name="password" type="password" minLength={8} required data-testid="user-password" /></label>
        <label>{t("users.role")}<select name="role" data-testid="user-role">{roles.map((r) => <option value={r}>{t(`role.${r}`)}</option>)}</select></label>
        <button class="primary" type="submit" data-testid="user-save">{t("act.create")}</button>
      </form>
    </div>
  );
}

// --- admin: lines --------------------------------------------------------------------------------

function blankLine(): Record<string, any> {
  return {
    name: "", operators: [], supervisors: [], distribution: "round_robin", accept_timeout_s: 60,
    max_active_per_operator: 5, working_hours: null, messages: {}, no_answer_after_s: 60,
    auto_close_after_s: 86400, csat: { enabled: false }, crm: { create_lead: true, source: null, deal_for_existing_contact: false, pipeline_id: null },
  };
}

function zones(): string[] {
  try { return (Intl as any).supportedValuesOf("timeZone"); } catch { return ["UTC", "Europe/Moscow"]; }
}

function Lines() {
  const [editing, setEditing] = useState<Record<string, any> | null>(null);
  const [users, setUsers] = useState<User[]>([]);
  useEffect(() => { api<{ users: User[] }>("GET", "/api/v1/users").then((b) => setUsers(b.users)).catch(fail); }, []);
  return (
    <div class="page">
      <h2>{t("lines.title")}</h2>
      <ul class="plain">{S.lines.map((l) => (
        <li data-testid="line-row"><b>{l.name}</b> · {t(`dist.${l.distribution}`)} <button onClick={() => setEditing(structuredClone(l))}>{t("act.edit")}</button></li>
      ))}</ul>
      <button class="primary" data-testid="line-new" onClick={() => setEditing(blankLine())}>{t("lines.new")}</button>
      {editing && <LineEditor line={editing} users={users} done={() => setEditing(null)} />}
    </div>
  );
}

function LineEditor({ line, users, done }: { line: Record<string, any>; users: User[]; done: () => void }) {
  const [v, setV] = useState(line);
  const set = (patch: Record<string, any>) => setV({ ...v, ...patch });
  const num = (key: string) => (
    <input type="number" min={0} value={v[key] ?? ""} data-testid={`line-${key}`} onInput={(e) => {
      const raw = (e.target as HTMLInputElement).value; set({ [key]: raw === "" ? null : Number(raw) });
    }} />
  );
  const toggleMember = (key: "operators" | "supervisors", id: string) =>
    set({ [key]: v[key].includes(id) ? v[key].filter((x: string) => x !== id) : [...v[key], id] });
  const wh = v.working_hours as null | { timezone: string; week: Record<string, [string, string][]>; holidays: string[] };
  const setWh = (patch: Record<string, any>) => set({ working_hours: { ...wh!, ...patch } });
  const [holiday, setHoliday] = useState("");
  const save = async () => {
    const body = { ...v };
    delete body.id; delete body.created_at;
    try {
      if (line.id) await api("PATCH", `/api/v1/lines/${line.id}`, body);
      else await api("POST", "/api/v1/lines", body);
      await loadLines();
      toast(t("lines.saved"));
      done();
    } catch (err) { fail(err); }
  };
  const msgKeys = ["welcome", "after_hours", "closing", "auto_close", "no_answer", "queued", "csat"];
  return (
    <div class="card form line-editor" data-testid="line-editor">
      <label>{t("lines.name")}<input data-testid="line-name" value={v.name} onInput={(e) => set({ name: (e.target as HTMLInputElement).value })} /></label>
      <fieldset><legend>{t("lines.operators")}</legend>
        {users.map((u) => <label class="inline"><input type="checkbox" data-testid="line-operator" data-user-id={u.id} checked={v.operators.includes(u.id)} onChange={() => toggleMember("operators", u.id)} />{u.name}</label>)}
      </fieldset>
      <fieldset><legend>{t("lines.supervisors")}</legend>
        {users.map((u) => <label class="inline"><input type="checkbox" data-testid="line-supervisor" data-user-id={u.id} checked={v.supervisors.includes(u.id)} onChange={() => toggleMember("supervisors", u.id)} />{u.name}</label>)}
      </fieldset>
      <label>{t("lines.distribution")}<select data-testid="line-distribution" value={v.distribution} onChange={(e) => set({ distribution: (e.target as HTMLSelectElement).value })}>
        {["round_robin", "strict_order", "all_at_once"].map((d) => <option value={d}>{t(`dist.${d}`)}</option>)}</select></label>
      <label>{t("lines.acceptTimeout")}{num("accept_timeout_s")}</label>
      <label>{t("lines.maxActive")}{num("max_active_per_operator")}</label>
      <label>{t("lines.noAnswer")}{num("no_answer_after_s")}</label>
      <label>{t("lines.autoClose")}{num("auto_close_after_s")}</label>
      <fieldset data-testid="working-hours"><legend>{t("wh.title")}</legend>
        <label class="inline"><input type="checkbox" data-testid="wh-enabled" checked={!!wh} onChange={() => set({ working_hours: wh ? null : { timezone: "UTC", week: { mon: [["09:00", "18:00"]], tue: [["09:00", "18:00"]], wed: [["09:00", "18:00"]], thu: [["09:00", "18:00"]], fri: [["09:00", "18:00"]], sat: [], sun: [] }, holidays: [] } })} />{t("wh.enabled")}</label>
        {wh && <>
          <label>{t("wh.timezone")}<input list="ol-zones" data-testid="wh-timezone" value={wh.timezone} onInput={(e) => setWh({ timezone: (e.target as HTMLInputElement).value })} /></label>
          <datalist id="ol-zones">{zones().map((z) => <option value={z} />)}</datalist>
          <table><tbody>{DAYS.map((day) => (
            <tr data-testid={`wh-day-${day}`}><th>{t(`day.${day}`)}</th><td>
              {(wh.week[day] || []).length === 0 && <span class="muted">{t("wh.noIntervals")} </span>}
              {(wh.week[day] || []).map(([start, end], i) => {
                const change = (which: 0 | 1, value: string) => {
                  const list = (wh.week[day] || []).map((x) => [...x] as [string, string]);
                  list[i][which] = value;
                  setWh({ week: { ...wh.week, [day]: list } });
                };
                return <span class="interval">
                  <input type="time" data-testid="wh-start" value={start} onInput={(e) => change(0, (e.target as HTMLInputElement).value)} />–
                  <input type="time" data-testid="wh-end" value={end} onInput={(e) => change(1, (e.target as HTMLInputElement).value)} />
                  <button aria-label={t("act.delete")} onClick={() => setWh({ week: { ...wh.week, [day]: (wh.week[day] || []).filter((_, j) => j !== i) } })}>×</button>
                </span>;
              })}
              <button data-testid={`wh-add-${day}`} onClick={() => setWh({ week: { ...wh.week, [day]: [...(wh.week[day] || []), ["09:00", "18:00"]] } })}>{t("wh.addInterval")}</button>
            </td></tr>
          ))}</tbody></table>
          <div><b>{t("wh.holidays")}</b> {wh.holidays.map((h) => <span class="chip" data-testid="holiday">{h} <button onClick={() => setWh({ holidays: wh.holidays.filter((x) => x !== h) })}>×</button></span>)}
            <input type="date" data-testid="holiday-input" value={holiday} onInput={(e) => setHoliday((e.target as HTMLInputElement).value)} />
            <button data-testid="holiday-add" onClick={() => { if (holiday && !wh.holidays.includes(holiday)) setWh({ holidays: [...wh.holidays, holiday] }); setHoliday(""); }}>{t("act.add")}</button></div>
        </>}
      </fieldset>
      <fieldset><legend>{t("lines.messages")}</legend>
        {msgKeys.map((k) => <label>{t(`lines.msg.${k}`)}<textarea rows={2} data-testid={`line-msg-${k}`} value={v.messages?.[k] ?? ""} onInput={(e) => set({ messages: { ...v.messages, [k]: (e.target as HTMLTextAreaElement).value || null } })} /></label>)}
      </fieldset>
      <label class="inline"><input type="checkbox" checked={!!v.csat?.enabled} onChange={() => set({ csat: { enabled: !v.csat?.enabled } })} />{t("lines.csat")}</label>
      <fieldset><legend>{t("lines.crm")}</legend>
        <label class="inline"><input type="checkbox" checked={!!v.crm?.create_lead} onChange={() => set({ crm: { ...v.crm, create_lead: !v.crm?.create_lead } })} />{t("lines.crmLead")}</label>
        <label>{t("lines.crmSource")}<input value={v.crm?.source ?? ""} onInput={(e) => set({ crm: { ...v.crm, source: (e.target as HTMLInputElement).value || null } })} /></label>
        <label class="inline"><input type="checkbox" checked={!!v.crm?.deal_for_existing_contact} onChange={() => set({ crm: { ...v.crm, deal_for_existing_contact: !v.crm?.deal_for_existing_contact } })} />{t("lines.crmDeal")}</label>
        <label>{t("lines.crmPipeline")}<input value={v.crm?.pipeline_id ?? ""} onInput={(e) => set({ crm: { ...v.crm, pipeline_id: (e.target as HTMLInputElement).value || null } })} /></label>
      </fieldset>
      <div class="row"><button class="primary" data-testid="line-save" onClick={save}>{t("act.save")}</button><button onClick={done}>{t("act.cancel")}</button></div>
    </div>
  );
}

// --- admin: channels -----------------------------------------------------------------------------

const CHANNEL_FIELDS: Record<string, string[]> = {
  widget: ["title", "color", "allowed_origins", "prechat_fields", "agreement_text"],
  telegram: ["bot_token", "mode", "api_base"],
  vk: ["group_id", "access_token", "confirmation_code", "secret", "mode", "api_base"],
  email: ["imap_host", "imap_port", "smtp_host", "smtp_port", "username", "password", "address", "blocklist"],
  api: [],
};
const LIST_FIELDS = new Set(["allowed_origins", "blocklist"]);
const NUMBER_FIELDS = new Set(["imap_port", "smtp_port", "group_id"]);

function Embed({ embed }: { embed: string }) {
  const [copied, setCopied] = useState(false);
  // The hub makes it absolute (PUBLIC_URL, else the address the console talks to).
  const snippet = embed;
  return (
    <div class="embed"><b>{t("ch.embed")}</b> <small>{t("ch.embedHelp")}</small>
      <textarea readOnly rows={2} data-testid="embed-snippet" value={snippet} />
      <button data-testid="embed-copy" onClick={() => navigator.clipboard.writeText(snippet).then(() => setCopied(true)).catch(fail)}>{t(copied ? "act.copied" : "act.copy")}</button>
    </div>
  );
}

function Channels() {
  const [lineId, setLineId] = useState(S.lines[0]?.id || "");
  const [channels, setChannels] = useState<any[]>([]);
  const [type, setType] = useState("widget");
  const [created, setCreated] = useState<any>(null);
  const reload = () => { if (lineId) api<{ channels: any[] }>("GET", `/api/v1/lines/${lineId}/channels`).then((b) => setChannels(b.channels)).catch(fail); };
  useEffect(() => { reload(); setCreated(null); }, [lineId]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const d = new FormData(e.target as HTMLFormElement);
    const config: Record<string, unknown> = {};
    for (const f of CHANNEL_FIELDS[type]) {
      if (f === "prechat_fields") { config[f] = d.getAll(f); continue; }
      const raw = String(d.get(f) ?? "").trim();
      if (!raw) continue;
      config[f] = LIST_FIELDS.has(f) ? raw.split(/[\n,]+/).map((x) => x.trim()).filter(Boolean) : NUMBER_FIELDS.has(f) ? Number(raw) : raw;
    }
    try {
      const body = await api("POST", `/api/v1/lines/${lineId}/channels`, { type, config });
      setCreated(body);
      (e.target as HTMLFormElement).reset();
      reload();
    } catch (err) { fail(err); }
  };
  return (
    <div class="page">
      <h2>{t("ch.title")}</h2>
      <label class="inline">{t("ch.line")}<select data-testid="channel-line" value={lineId} onChange={(e) => setLineId((e.target as HTMLSelectElement).value)}>
        {S.lines.map((l) => <option value={l.id}>{l.name}</option>)}</select></label>
      {channels.length === 0 && <p class="empty">{t("ch.none")}</p>}
      <table><tbody>{channels.map((ch) => (
        <tr data-testid="channel-row"><td><ChannelIcon type={ch.type} /> {t(`ch.type.${ch.type}`)}</td><td>{ch.config?.title || ch.config?.address || ""}</td>
          <td>{t(ch.active ? "ch.enabled" : "ch.disabled")} <button onClick={() => api("PATCH", `/api/v1/channels/${ch.id}`, { active: !ch.active }).then(reload).catch(fail)}>{t(ch.active ? "users.deactivate" : "users.activate")}</button></td>
          <td>{t("ch.webhook")}: {ch.webhook_url || t("ch.webhookNone")}{ch.secrets_set?.length ? ` · ${t("ch.secretsSet")}: ${ch.secrets_set.join(", ")}` : ""}</td>
          <td>{ch.embed && <Embed embed={ch.embed} />}</td></tr>
      ))}</tbody></table>
      {created?.embed && <div data-testid="channel-created"><Embed embed={created.embed} /></div>}
      {created?.webhook_secret && <p data-testid="channel-created">{t("ch.webhook")}: {created.webhook_url} · {created.webhook_secret}</p>}
      <form class="card form" onSubmit={submit} data-testid="channel-form">
        <h3>{t("ch.new")}</h3>
        <label>{t("ch.type")}<select data-testid="channel-type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
          {Object.keys(CHANNEL_FIELDS).map((k) => <option value={k}>{t(`ch.type.${k}`)}</option>)}</select></label>
        {CHANNEL_FIELDS[type].map((f) => f === "prechat_fields" ? (
          <fieldset><legend>{t("ch.field.prechat_fields")}</legend>{["name", "email", "phone"].map((p) => <label class="inline"><input type="checkbox" name="prechat_fields" value={p} />{t(`ch.prechat.${p}`)}</label>)}</fieldset>
        ) : f === "mode" ? (
          <label>{t("ch.field.mode")}<select name="mode">{(type === "vk" ? ["callback", "longpoll"] : ["webhook", "polling"]).map((m) => <option value={m}>{m}</option>)}</select></label>
        ) : LIST_FIELDS.has(f) ? (
          <label>{t(`ch.field.${f}`)}<textarea name={f} rows={2} data-testid={`channel-${f}`} /></label>
        ) : (
          <label>{t(`ch.field.${f}`)}<input name={f} data-testid={`channel-${f}`} type={f.includes("password") || f.includes("token") || f === "secret" ? "password" : f === "color" ? "color" : "text"} /></label>
        ))}
        <button class="primary" type="submit" data-testid="channel-save">{t("act.create")}</button>
      </form>
    </div>
  );
}

// --- keyboard shortcuts, clock, start ---------------------------------------------------------------

document.addEventListener("keydown", (e) => {
  if (!S.me || S.view !== "inbox" || !e.altKey) return;
  const items = listed();
  const at = items.findIndex((c) => c.id === S.selected);
  if (e.key === "ArrowDown" && items.length) { e.preventDefault(); select(items[Math.min(items.length - 1, at + 1)].id); }
  else if (e.key === "ArrowUp" && items.length) { e.preventDefault(); select(items[Math.max(0, at - 1)].id); }
  else if (e.key === "Enter" && S.selected) { e.preventDefault(); accept(S.selected); }
  else if (e.key.toLowerCase() === "m") { e.preventDefault(); window.dispatchEvent(new CustomEvent("ol-focus-composer")); }
});

setInterval(() => {
  S.now = Date.now();
  for (const [id, ty] of S.typing) if (ty.until < S.now) S.typing.delete(id);
  update();
}, 1000);

const style = document.createElement("style");
style.textContent = CSS;
document.head.appendChild(style);
const root = document.getElementById("app")!;
onUpdate(() => render(<App />, root));
update();
boot();
