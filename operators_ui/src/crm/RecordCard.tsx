// A CRM record's card: its fields, links to related records, its conversations and timeline,
// notes, and (for contacts and their deals) writing to the client.
import { useEffect, useState } from "preact/hooks";
import * as crm from "../api/crm";
import type { CrmEntity, Pipeline, Rec, Timeline } from "../api/crm";
import { ApiError } from "../api/http";
import type { Conv } from "../api/types";
import { t } from "../i18n";
import { openConversation, upsert } from "../state/conversations";
import { editsCrm, readsCrm } from "../state/session";
import { closeCrmCard, fail, openCrmCard, toast } from "../state/ui";
import { dateTime } from "../ui/format";
import { ChannelIcon } from "../ui/Icon";
import { ACTIVITY_TYPES, addresses, money, who } from "./format";

export function RecordCard({ entity, id }: { entity: CrmEntity; id: string }) {
  const [record, setRecord] = useState<Rec | null>(null);
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [pipeline, setPipeline] = useState<Pipeline | null>(null);
  const [note, setNote] = useState("");
  const [matches, setMatches] = useState<Rec[]>([]);
  const load = async () => {
    try {
      const r = await crm.getRecord(entity, id);
      setRecord(r);
      // Contacts an unverified address of the lead names: a hint, never a link. Those the
      // caller may not read are left out.
      const possible: string[] = entity === "leads" ? r.possible_contact_ids || [] : [];
      const found = await Promise.all(possible.map((cid) => crm.getRecord("contacts", cid).catch(() => null)));
      setMatches(found.filter((c): c is Rec => c !== null));
      setTimeline(await crm.recordTimeline(entity, id));
      if (entity === "deals") setPipeline(await crm.getPipeline(r.pipeline_id));
    } catch (err) { fail(err); }
  };
  useEffect(() => { setRecord(null); setTimeline(null); setMatches([]); load(); }, [entity, id]);
  if (!record) return <p>{t("conv.loading")}</p>;
  const link = (target: CrmEntity, targetId: string | null | undefined, key: string) => targetId
    ? <p><b>{t(key)}:</b> <button class="link" data-testid={`card-link-${target}`} onClick={() => openCrmCard(target, targetId)}>{t(`crm.badge.${target}`)}</button></p>
    : null;
  const addNote = async (e: Event) => {
    e.preventDefault();
    if (!note.trim()) return;
    try {
      await crm.addNote(entity, id, note.trim());
      setNote("");
      await load();
    } catch (err) { fail(err); }
  };
  const stage = pipeline?.stages.find((s) => s.id === record.stage);
  return (
    <div class="crm-card card" data-testid="crm-card" data-entity={entity} data-id={id}>
      <div class="row"><h2 data-testid="crm-card-title">{t(`crm.badge.${entity}`)}: {record.title || record.name}</h2><span class="grow" />
        {readsCrm() && <button data-testid="crm-card-back" onClick={closeCrmCard}>{t("crm.back")}</button>}</div>
      <div class="crm-fields">
        {record.name && record.title && <p><b>{t("crm.name")}:</b> {record.name}</p>}
        {record.emails && <p><b>{t("crm.emails")}:</b> {addresses(record.emails, record.unverified_emails)}</p>}
        {record.phones && <p><b>{t("crm.phones")}:</b> {addresses(record.phones, record.unverified_phones)}</p>}
        {matches.map((c) => (
          <p key={c.id} data-testid="possible-match" data-id={c.id}><b>{t("crm.possibleMatch")}:</b>{" "}
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
      {editsCrm() && (entity === "contacts" || (entity === "deals" && record.contact_id)) && (
        <WriteToClient contactId={entity === "contacts" ? id : record.contact_id} conversations={timeline?.conversations || []} sent={load} />
      )}
      <div class="crm-columns">
        <section>
          <h3>{t("crm.conversations")}</h3>
          {!timeline ? <p>{t("conv.loading")}</p> : timeline.conversations.length === 0 ? <p class="empty">{t("list.empty")}</p> : (
            <ul class="plain" data-testid="card-conversations">{timeline.conversations.map((c) => (
              <li key={c.id}><button class="link" data-testid="card-conversation" data-id={c.id} onClick={() => openConversation(c.id)}>
                <ChannelIcon type={c.channel.type} /> {c.client?.name || t("list.unknownClient")} · {dateTime(c.created_at)} · {t(`conv.status.${c.status}`)}
              </button>{c.last_message && <div class="preview">{c.last_message.text}</div>}</li>
            ))}</ul>
          )}
        </section>
        <section>
          <h3>{t("crm.timeline")}</h3>
          {timeline && (
            <ol class="timeline" data-testid="timeline">{timeline.activities.map((a) => (
              <li key={a.id} data-testid="timeline-entry" data-type={a.type}>
                <small>{dateTime(a.created_at)}{a.actor_id ? ` · ${who(a.actor_id)}` : ""}</small>
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
      const sentTo = await crm.writeToContact(contactId, { text: text.trim(), ...(channelId ? { channel_id: channelId } : {}) });
      // The conversation is the writer's now (one opened for it is assigned to them): in Mine.
      upsert(sentTo.conversation);
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
          {[...channels].map(([chId, type]) => <option key={chId} value={chId}>{t(`ch.type.${type}`)}</option>)}
        </select></label>
      <textarea rows={2} data-testid="write-text" aria-label={t("crm.write")} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <button class="primary" type="submit" data-testid="write-send">{t("compose.send")}</button>
    </form>
  );
}
