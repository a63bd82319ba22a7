// The console's CRM section (docs/crm.md): leads with filters and conversion, contact and
// company cards with every conversation and the timeline, deals as a board per pipeline with
// drag-and-drop between stages, and the "start deal" action of a conversation.
// Client text is only ever rendered as text nodes (JSX escapes it); never innerHTML.
import { useEffect, useState } from "preact/hooks";
import { ApiError, S, api, editsCrm, fail, openThread, readsCrm, t, toast, update, upsert, type Conv } from "./core";
import { ChannelIcon } from "./ui";

type Rec = Record<string, any> & { id: string };
type Stage = { id: string; name: string; semantic: "open" | "won" | "lost" };
type Pipeline = { id: string; name: string; stages: Stage[]; is_default?: boolean };
type Activity = { id: string; type: string; text: string | null; data: Record<string, any>; actor_id: string | null; created_at: string };

const TABS = ["leads", "contacts", "companies", "deals"] as const;
const LEAD_STATUSES = ["new", "in_progress", "converted", "junk"];
const ACTIVITY_TYPES = new Set([
  "lead_created", "contact_created", "company_created", "deal_created", "conversation_opened",
  "conversation_closed", "responsible_set", "stage_changed", "note", "lead_converted",
  "lead_matched_contact", "message_sent", "updated",
]);

export function openCrmCard(entity: string, id: string): void {
  S.view = "crm";
  S.crmCard = { entity, id };
  update();
}

/** Shows a conversation (e.g. from a CRM card) in the inbox. */
export async function openConversation(id: string): Promise<void> {
  try {
    const c = await api<Conv>("GET", `/api/v1/conversations/${id}`);
    S.convs.set(c.id, c);
    S.seen.set(c.id, c.unread);
    S.selected = c.id;
    S.view = "inbox";
    openThread(c.id);
    update();
  } catch (err) { fail(err); }
}

function who(id: string | null | undefined): string {
  if (!id) return "—";
  return S.names.get(id) || t("crm.someone"); // operators know only their lines' members
}

function when(iso: string): string {
  return new Date(iso).toLocaleString(S.lang === "ru" ? "ru-RU" : "en-GB", { dateStyle: "short", timeStyle: "short" });
}

/** Addresses as a list, those only typed into a form marked unverified. */
function addresses(values: string[], unverified: string[] | undefined): string {
  const claims = new Set(unverified || []);
  return values.map((v) => (claims.has(v) ? `${v} (${t("crm.unverified")})` : v)).join(", ") || "—";
}

function money(d: Rec): string {
  return d.amount == null ? "—" : `${d.amount}${d.currency ? ` ${d.currency}` : ""}`;
}

// --- the conversation's "start deal" -----------------------------------------------------------

export function StartDeal({ c }: { c: Conv }) {
  const start = async () => {
    try {
      await api("POST", `/api/v1/conversations/${c.id}/deal`, { title: t("crm.dealFor", { name: c.client.name || t("list.unknownClient") }) });
      const fresh = await api<Conv>("GET", `/api/v1/conversations/${c.id}`);
      upsert(fresh);
      toast(t("crm.dealStarted"));
    } catch (err) {
      if (err instanceof ApiError && err.code === "deal_exists") toast(t("crm.dealExists"));
      else fail(err);
    }
  };
  return <button data-testid="start-deal" onClick={start}>{t("crm.startDeal")}</button>;
}

// --- the section ---------------------------------------------------------------------------------

export function CrmSection() {
  const card = S.crmCard;
  return (
    <div class="page crm" data-testid="crm">
      {readsCrm() && (
        <div class="tabs" role="tablist">
          {TABS.map((tab) => (
            <button role="tab" class={!card && S.crmTab === tab ? "tab on" : "tab"} data-testid={`crm-tab-${tab}`}
              aria-selected={!card && S.crmTab === tab} onClick={() => { S.crmTab = tab; S.crmCard = null; update(); }}>
              {t(`crm.tab.${tab}`)}
            </button>
          ))}
        </div>
      )}
      {card ? <RecordCard entity={card.entity} id={card.id} />
        : !readsCrm() ? <p class="empty">{t("crm.noAccess")}</p>
        : S.crmTab === "leads" ? <Leads />
        : S.crmTab === "deals" ? <DealBoard />
        : <People entity={S.crmTab} />}
    </div>
  );
}

// --- leads -----------------------------------------------------------------------------------------

function Leads() {
  const [status, setStatus] = useState("");
  const [source, setSource] = useState("");
  const [responsible, setResponsible] = useState("");
  const [leads, setLeads] = useState<Rec[] | null>(null);
  const [converting, setConverting] = useState<Rec | null>(null);
  const load = () => {
    const q = new URLSearchParams({ limit: "200" });
    if (status) q.set("status", status);
    if (source.trim()) q.set("source", source.trim());
    if (responsible) q.set("responsible_id", responsible);
    api<{ leads: Rec[] }>("GET", `/api/v1/crm/leads?${q}`).then((b) => setLeads(b.leads)).catch(fail);
  };
  useEffect(load, [status, source, responsible]);
  return (
    <div>
      <div class="row filters">
        <label class="inline">{t("crm.status")}
          <select data-testid="lead-filter-status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">{t("crm.any")}</option>
            {LEAD_STATUSES.map((s) => <option value={s}>{t(`crm.lead.${s}`)}</option>)}
          </select></label>
        <label class="inline">{t("crm.source")}
          <input data-testid="lead-filter-source" value={source} onChange={(e) => setSource((e.target as HTMLInputElement).value)} /></label>
        <label class="inline">{t("crm.responsible")}
          <select data-testid="lead-filter-responsible" value={responsible} onChange={(e) => setResponsible((e.target as HTMLSelectElement).value)}>
            <option value="">{t("crm.any")}</option>
            <option value="me">{t("crm.me")}</option>
            {[...S.names].filter(([id]) => id !== S.me?.id).map(([id, name]) => <option value={id}>{name}</option>)}
          </select></label>
      </div>
      {leads === null ? <p>{t("conv.loading")}</p> : leads.length === 0 ? <p class="empty">{t("list.empty")}</p> : (
        <table class="crm-table"><thead><tr>
          <th>{t("crm.title")}</th><th>{t("crm.name")}</th><th>{t("crm.emails")}</th><th>{t("crm.phones")}</th>
          <th>{t("crm.source")}</th><th>{t("crm.status")}</th><th>{t("crm.responsible")}</th><th />
        </tr></thead><tbody>{leads.map((lead) => (
          <tr data-testid="lead-row" data-id={lead.id} data-status={lead.status}>
            <td><button class="link" data-testid="lead-open" onClick={() => openCrmCard("leads", lead.id)}>{lead.title}</button></td>
            <td>{lead.name || "—"}</td><td>{lead.emails.join(", ") || "—"}</td><td>{lead.phones.join(", ") || "—"}</td>
            <td>{lead.source || "—"}</td>
            <td data-testid="lead-status">{t(`crm.lead.${lead.status}`)}</td>
            <td>{who(lead.responsible_id)}</td>
            <td>{editsCrm() && (lead.status === "new" || lead.status === "in_progress") &&
              <button class="primary" data-testid="convert" onClick={() => setConverting(lead)}>{t("crm.convert")}</button>}</td>
          </tr>
        ))}</tbody></table>
      )}
      {converting && <ConvertDialog lead={converting} close={(done) => { setConverting(null); if (done) load(); }} />}
    </div>
  );
}

function ConvertDialog({ lead, close }: { lead: Rec; close: (done: boolean) => void }) {
  const [contact, setContact] = useState(true);
  const [company, setCompany] = useState("");
  const [deal, setDeal] = useState(true);
  const [title, setTitle] = useState(lead.title);
  const [amount, setAmount] = useState("");
  const [currency, setCurrency] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = { contact };
    if (company.trim()) body.company = { title: company.trim() };
    if (deal) {
      body.deal = {
        title: title.trim() || lead.title,
        ...(amount ? { amount: Number(amount) } : {}),
        ...(currency.trim() ? { currency: currency.trim().toUpperCase() } : {}),
      };
    }
    try {
      await api("POST", `/api/v1/crm/leads/${lead.id}/convert`, body);
      toast(t("crm.converted"));
      close(true);
    } catch (err) { fail(err); }
  };
  return (
    <div class="modal" role="dialog" data-testid="convert-dialog">
      <form class="card form" onSubmit={submit}>
        <h3>{t("crm.convertTitle", { title: lead.title })}</h3>
        <label class="inline"><input type="checkbox" data-testid="convert-contact" checked={contact} onChange={() => setContact(!contact)} />{t("crm.convertContact")}</label>
        <label>{t("crm.convertCompany")}<input data-testid="convert-company" value={company} onInput={(e) => setCompany((e.target as HTMLInputElement).value)} /></label>
        <label class="inline"><input type="checkbox" data-testid="convert-deal" checked={deal} onChange={() => setDeal(!deal)} />{t("crm.convertDeal")}</label>
        {deal && <>
          <label>{t("crm.title")}<input data-testid="convert-deal-title" value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} /></label>
          <label>{t("crm.amount")}<input type="number" min={0} data-testid="convert-deal-amount" value={amount} onInput={(e) => setAmount((e.target as HTMLInputElement).value)} /></label>
          <label>{t("crm.currency")}<input maxLength={3} data-testid="convert-deal-currency" value={currency} onInput={(e) => setCurrency((e.target as HTMLInputElement).value)} /></label>
        </>}
        <div class="row">
          <button class="primary" type="submit" data-testid="convert-submit">{t("crm.convert")}</button>
          <button type="button" onClick={() => close(false)}>{t("act.cancel")}</button>
        </div>
      </form>
    </div>
  );
}

// --- contacts and companies --------------------------------------------------------------------------

function People({ entity }: { entity: "contacts" | "companies" }) {
  const [q, setQ] = useState("");
  const [items, setItems] = useState<Rec[] | null>(null);
  useEffect(() => {
    const query = new URLSearchParams({ limit: "200" });
    if (q.trim()) query.set("q", q.trim());
    api<Record<string, Rec[]>>("GET", `/api/v1/crm/${entity}?${query}`).then((b) => setItems(b[entity])).catch(fail);
  }, [entity, q]);
  const row = entity === "contacts" ? "contact-row" : "company-row";
  return (
    <div>
      <input class="search" data-testid="crm-search" placeholder={t("crm.search")} value={q} onChange={(e) => setQ((e.target as HTMLInputElement).value)} />
      {items === null ? <p>{t("conv.loading")}</p> : items.length === 0 ? <p class="empty">{t("list.empty")}</p> : (
        <table class="crm-table"><thead><tr>
          <th>{t(entity === "contacts" ? "crm.name" : "crm.title")}</th><th>{t("crm.emails")}</th><th>{t("crm.phones")}</th><th>{t("crm.responsible")}</th>
        </tr></thead><tbody>{items.map((r) => (
          <tr data-testid={row} data-id={r.id}>
            <td><button class="link" onClick={() => openCrmCard(entity, r.id)}>{r.name || r.title}</button></td>
            <td>{r.emails.join(", ") || "—"}</td><td>{r.phones.join(", ") || "—"}</td><td>{who(r.responsible_id)}</td>
          </tr>
        ))}</tbody></table>
      )}
    </div>
  );
}

// --- a record's card -----------------------------------------------------------------------------------

function RecordCard({ entity, id }: { entity: string; id: string }) {
  const [record, setRecord] = useState<Rec | null>(null);
  const [timeline, setTimeline] = useState<{ activities: Activity[]; conversations: Conv[] } | null>(null);
  const [pipeline, setPipeline] = useState<Pipeline | null>(null);
  const [note, setNote] = useState("");
  const [matches, setMatches] = useState<Rec[]>([]);
  const load = async () => {
    try {
      const r = await api<Rec>("GET", `/api/v1/crm/${entity}/${id}`);
      setRecord(r);
      // Contacts an unverified address of the lead names: a hint, never a link. Those the
      // caller may not read are left out.
      const possible: string[] = entity === "leads" ? r.possible_contact_ids || [] : [];
      const found = await Promise.all(possible.map((cid) => api<Rec>("GET", `/api/v1/crm/contacts/${cid}`).catch(() => null)));
      setMatches(found.filter((c): c is Rec => c !== null));
      setTimeline(await api("GET", `/api/v1/crm/${entity}/${id}/timeline`));
      if (entity === "deals") setPipeline(await api<Pipeline>("GET", `/api/v1/crm/pipelines/${r.pipeline_id}`));
    } catch (err) { fail(err); }
  };
  useEffect(() => { setRecord(null); setTimeline(null); setMatches([]); load(); }, [entity, id]);
  if (!record) return <p>{t("conv.loading")}</p>;
  const link = (target: string, targetId: string | null | undefined, key: string) => targetId
    ? <p><b>{t(key)}:</b> <button class="link" data-testid={`card-link-${target}`} onClick={() => openCrmCard(target, targetId)}>{t(`crm.badge.${target}`)}</button></p>
    : null;
  const addNote = async (e: Event) => {
    e.preventDefault();
    if (!note.trim()) return;
    try {
      await api("POST", `/api/v1/crm/${entity}/${id}/notes`, { text: note.trim() });
      setNote("");
      await load();
    } catch (err) { fail(err); }
  };
  const stage = pipeline?.stages.find((s) => s.id === record.stage);
  return (
    <div class="crm-card card" data-testid="crm-card" data-entity={entity} data-id={id}>
      <div class="row"><h2 data-testid="crm-card-title">{t(`crm.badge.${entity}`)}: {record.title || record.name}</h2><span class="grow" />
        {readsCrm() && <button data-testid="crm-card-back" onClick={() => { S.crmCard = null; update(); }}>{t("crm.back")}</button>}</div>
      <div class="crm-fields">
        {record.name && record.title && <p><b>{t("crm.name")}:</b> {record.name}</p>}
        {record.emails && <p><b>{t("crm.emails")}:</b> {addresses(record.emails, record.unverified_emails)}</p>}
        {record.phones && <p><b>{t("crm.phones")}:</b> {addresses(record.phones, record.unverified_phones)}</p>}
        {matches.map((c) => (
          <p data-testid="possible-match" data-id={c.id}><b>{t("crm.possibleMatch")}:</b>{" "}
            <button class="link" onClick={() => openCrmCard("contacts", c.id)}>{c.name || t("list.unknownClient")}</button></p>
        ))}
        {entity === "leads" && <p><b>{t("crm.status")}:</b> {t(`crm.lead.${record.status}`)} · <b>{t("crm.source")}:</b> {record.source || "—"}</p>}
        {entity === "deals" && <>
          <p><b>{t("crm.pipeline")}:</b> {pipeline?.name || record.pipeline_id} · <b>{t("crm.stage")}:</b> <span data-testid="deal-stage">{stage?.name || record.stage}</span>
            {record.closed && <> · {t(record.won ? "crm.won" : "crm.lost")}</>}</p>
          <p><b>{t("crm.amount")}:</b> {money(record)}</p>
        </>}
        {"responsible_id" in record && <p><b>{t("crm.responsible")}:</b> {who(record.responsible_id)}</p>}
        {link("contacts", record.contact_id, "crm.contact")}
        {link("companies", record.company_id, "crm.company")}
        {link("deals", record.deal_id, "crm.deal")}
        {link("leads", entity !== "leads" ? record.lead_id : null, "crm.lead")}
      </div>
      {entity === "contacts" && editsCrm() && <WriteToClient contactId={id} conversations={timeline?.conversations || []} sent={load} />}
      <div class="crm-columns">
        <section>
          <h3>{t("crm.conversations")}</h3>
          {!timeline ? <p>{t("conv.loading")}</p> : timeline.conversations.length === 0 ? <p class="empty">{t("list.empty")}</p> : (
            <ul class="plain" data-testid="card-conversations">{timeline.conversations.map((c) => (
              <li><button class="link" data-testid="card-conversation" data-id={c.id} onClick={() => openConversation(c.id)}>
                <ChannelIcon type={c.channel.type} /> {c.client?.name || t("list.unknownClient")} · {when(c.created_at)} · {t(`conv.status.${c.status}`)}
              </button>{c.last_message && <div class="preview">{c.last_message.text}</div>}</li>
            ))}</ul>
          )}
        </section>
        <section>
          <h3>{t("crm.timeline")}</h3>
          {timeline && (
            <ol class="timeline" data-testid="timeline">{timeline.activities.map((a) => (
              <li data-testid="timeline-entry" data-type={a.type}>
                <small>{when(a.created_at)}{a.actor_id ? ` · ${who(a.actor_id)}` : ""}</small>
                <div><b>{ACTIVITY_TYPES.has(a.type) ? t(`crm.act.${a.type}`) : a.type}</b>{a.text ? ` — ${a.text}` : ""}</div>
              </li>
            ))}</ol>
          )}
          {editsCrm() && (
            <form class="row" onSubmit={addNote}>
              <input class="grow" data-testid="note-text" placeholder={t("crm.note")} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
              <button type="submit" data-testid="note-add">{t("act.add")}</button>
            </form>
          )}
        </section>
      </div>
    </div>
  );
}

function WriteToClient({ contactId, conversations, sent }: { contactId: string; conversations: Conv[]; sent: () => void }) {
  const [text, setText] = useState("");
  const [channelId, setChannelId] = useState("");
  const channels = new Map<string, string>();
  for (const c of conversations) channels.set(c.channel.id, c.channel.type);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!text.trim()) return;
    try {
      await api("POST", `/api/v1/crm/contacts/${contactId}/messages`, { text: text.trim(), ...(channelId ? { channel_id: channelId } : {}) });
      setText("");
      toast(t("crm.sent"));
      sent();
    } catch (err) {
      if (err instanceof ApiError && err.code === "no_channel") toast(t("crm.noChannel"));
      else fail(err);
    }
  };
  return (
    <form class="card form write" data-testid="write-to-client" onSubmit={submit}>
      <h3>{t("crm.write")}</h3>
      <label class="inline">{t("crm.channel")}
        <select data-testid="write-channel" value={channelId} onChange={(e) => setChannelId((e.target as HTMLSelectElement).value)}>
          <option value="">{t("crm.lastChannel")}</option>
          {[...channels].map(([chId, type]) => <option value={chId}>{t(`ch.type.${type}`)}</option>)}
        </select></label>
      <textarea rows={2} data-testid="write-text" value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <button class="primary" type="submit" data-testid="write-send">{t("compose.send")}</button>
    </form>
  );
}

// --- deals: the board ---------------------------------------------------------------------------------

function DealBoard() {
  const [pipelines, setPipelines] = useState<Pipeline[]>([]);
  const [pipelineId, setPipelineId] = useState("");
  const [pipeline, setPipeline] = useState<Pipeline | null>(null);
  const [deals, setDeals] = useState<Rec[] | null>(null);
  const [over, setOver] = useState<string | null>(null);
  useEffect(() => {
    api<{ pipelines: Pipeline[] }>("GET", "/api/v1/crm/pipelines").then((b) => {
      setPipelines(b.pipelines);
      setPipelineId((b.pipelines.find((p) => p.is_default) || b.pipelines[0])?.id || "");
    }).catch(fail);
  }, []);
  const load = async () => {
    if (!pipelineId) return;
    try {
      setPipeline(await api<Pipeline>("GET", `/api/v1/crm/pipelines/${pipelineId}`));
      setDeals((await api<{ deals: Rec[] }>("GET", `/api/v1/crm/deals?pipeline_id=${encodeURIComponent(pipelineId)}&limit=500`)).deals);
    } catch (err) { fail(err); }
  };
  useEffect(() => { setDeals(null); load(); }, [pipelineId]);
  const move = async (dealId: string, stage: string) => {
    const deal = deals?.find((d) => d.id === dealId);
    if (!deal || deal.stage === stage) return;
    setDeals(deals!.map((d) => (d.id === dealId ? { ...d, stage } : d))); // optimistic
    try {
      await api("PATCH", `/api/v1/crm/deals/${dealId}`, { stage });
    } catch (err) {
      if (err instanceof ApiError && err.code === "stage_changed") toast(t("crm.stageChanged"));
      else fail(err);
    }
    await load();
  };
  const editable = editsCrm();
  return (
    <div>
      <label class="inline">{t("crm.pipeline")}
        <select data-testid="pipeline-select" value={pipelineId} onChange={(e) => setPipelineId((e.target as HTMLSelectElement).value)}>
          {pipelines.map((p) => <option value={p.id}>{p.name}</option>)}
        </select></label>
      {!pipeline || deals === null ? <p>{t("conv.loading")}</p> : (
        <div class="deal-board" data-testid="deal-board">
          {pipeline.stages.map((s) => {
            const inStage = deals.filter((d) => d.stage === s.id);
            return (
              <section class={`stage-column sem-${s.semantic}${over === s.id ? " over" : ""}`} data-testid="stage-column" data-stage={s.id}
                onDragOver={(e) => { if (editable) { e.preventDefault(); if (over !== s.id) setOver(s.id); } }}
                onDragLeave={() => setOver(null)}
                onDrop={(e) => { e.preventDefault(); setOver(null); const dealId = e.dataTransfer?.getData("text/plain"); if (dealId) move(dealId, s.id); }}>
                <h4>{s.name} <span class="count">{inStage.length}</span></h4>
                {inStage.map((d) => (
                  <div class="deal-card" data-testid="deal-card" data-id={d.id} draggable={editable}
                    onDragStart={(e) => { e.dataTransfer?.setData("text/plain", d.id); if (e.dataTransfer) e.dataTransfer.effectAllowed = "move"; }}
                    onClick={() => openCrmCard("deals", d.id)}>
                    <b>{d.title}</b>
                    <div class="muted">{money(d)} · {who(d.responsible_id)}</div>
                  </div>
                ))}
              </section>
            );
          })}
        </div>
      )}
    </div>
  );
}
