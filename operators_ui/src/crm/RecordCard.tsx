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
import { S } from "../state/store";
import { closeCrmCard, fail, openCrmCard, toast } from "../state/ui";
import { dateTime } from "../ui/format";
import { ChannelIcon } from "../ui/Icon";
import { Field, type Option } from "./Fields";
import { ACTIVITY_TYPES, activityText, addresses, money, pipelineName, stageName, who } from "./format";

const EDITABLE_LEAD_STATUSES = ["new", "in_progress", "junk"];
const CURRENCY_MAX = 3;

export function RecordCard({ entity, id }: { entity: CrmEntity; id: string }) {
  const [record, setRecord] = useState<Rec | null>(null);
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [pipeline, setPipeline] = useState<Pipeline | null>(null);
  const [pipelines, setPipelines] = useState<Pipeline[]>([]);
  const [companies, setCompanies] = useState<Rec[]>([]);
  const [contacts, setContacts] = useState<Rec[]>([]);
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
  // What the card's selects offer: the pipelines, companies and contacts to link.
  useEffect(() => {
    if (!editsCrm()) return;
    const few = new URLSearchParams({ limit: "200" });
    if (entity === "deals") crm.listPipelines().then(setPipelines).catch(fail);
    if (entity === "deals" || entity === "contacts") crm.listRecords("companies", few).then(setCompanies).catch(fail);
    if (entity === "deals") crm.listRecords("contacts", few).then(setContacts).catch(fail);
  }, [entity, id]);
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
  /** The props every field of this card shares: its value, and its save (one PATCH, then the
   * card and timeline again, so what shows is what the hub stored). */
  const f = (name: string, label: string) => ({
    name, label, value: record[name] ?? null, editable: editsCrm(),
    save: async (value: unknown) => {
      if (entity === "deals" && name === "stage") {
        try { await crm.moveDeal(id, String(value)); } catch (err) {
          if (err instanceof ApiError && err.code === "stage_changed") toast(t("crm.stageChanged"));
          throw err;
        }
      } else {
        const sent = name === "currency" && typeof value === "string" ? value.toUpperCase() : value;
        await crm.patchRecord(entity, id, { [name]: sent });
      }
      await load();
    },
  });
  const linked = (target: CrmEntity, targetId: string | null | undefined, known: Rec[]) => {
    if (!targetId) return "—";
    const found = known.find((r) => r.id === targetId);
    return <button class="link" data-testid={`card-link-${target}`} onClick={() => openCrmCard(target, targetId)}>
      {found ? found.name || found.title : t(`crm.badge.${target}`)}</button>;
  };
  return (
    <div class="crm-card card" data-testid="crm-card" data-entity={entity} data-id={id}>
      <div class="row"><h2 data-testid="crm-card-title">{t(`crm.badge.${entity}`)}: {record.title || record.name}</h2><span class="grow" />
        {readsCrm() && <button data-testid="crm-card-back" onClick={closeCrmCard}>{t("crm.back")}</button>}</div>
      <div class="crm-fields" data-testid="crm-fields">
        {(entity === "leads" || entity === "companies" || entity === "deals") &&
          <Field {...f("title", t("crm.title"))} maxLength={300} />}
        {(entity === "leads" || entity === "contacts") && <Field {...f("name", t("crm.name"))} maxLength={200} />}
        {entity !== "deals" && <>
          <Field {...f("emails", t("crm.emails"))} kind="list" inputType="email" maxLength={320}
            display={addresses(record.emails || [], record.unverified_emails)} />
          <Field {...f("phones", t("crm.phones"))} kind="list" inputType="tel" maxLength={50}
            display={addresses(record.phones || [], record.unverified_phones)} />
        </>}
        {matches.map((c) => (
          <p key={c.id} data-testid="possible-match" data-id={c.id}><b>{t("crm.possibleMatch")}:</b>{" "}
            <button class="link" onClick={() => openCrmCard("contacts", c.id)}>{c.name || t("list.unknownClient")}</button></p>
        ))}
        {entity === "leads" && (
          <Field {...f("status", t("crm.status"))} kind="select" editable={editsCrm() && record.status !== "converted"}
            display={<span data-testid="lead-card-status">{t(`crm.lead.${record.status}`)}</span>}
            options={EDITABLE_LEAD_STATUSES.map((v) => ({ value: v, label: t(`crm.lead.${v}`) }))} />
        )}
        {(entity === "leads" || entity === "contacts") && <Field {...f("source", t("crm.source"))} maxLength={200} />}
        {entity === "deals" && <>
          <Field {...f("pipeline_id", t("crm.pipeline"))} kind="select" display={pipeline ? pipelineName(pipeline) : record.pipeline_id}
            options={pipelines.map((p) => ({ value: p.id, label: pipelineName(p) }))} />
          <Field {...f("stage", t("crm.stage"))} kind="select"
            display={<><span data-testid="deal-stage">{stage ? stageName(stage) : record.stage}</span>
              {record.closed && <> · {t(record.won ? "crm.won" : "crm.lost")}</>}</>}
            options={(pipeline?.stages || []).map((s) => ({ value: s.id, label: stageName(s) }))} />
          <Field {...f("amount", t("crm.amount"))} kind="number" display={money(record)} />
          <Field {...f("currency", t("crm.currency"))} maxLength={CURRENCY_MAX} />
        </>}
        {"responsible_id" in record && (
          <Field {...f("responsible_id", t("crm.responsible"))} kind="select" display={who(record.responsible_id)}
            none="—" options={staff(record.responsible_id)} />
        )}
        {entity === "deals" && (
          <Field {...f("contact_id", t("crm.contact"))} kind="select" none="—" options={named(contacts, record.contact_id)}
            display={linked("contacts", record.contact_id, contacts)} />
        )}
        {(entity === "deals" || entity === "contacts") && (
          <Field {...f("company_id", t("crm.company"))} kind="select" none="—" options={named(companies, record.company_id)}
            display={linked("companies", record.company_id, companies)} />
        )}
        {entity !== "deals" && link("contacts", entity === "leads" ? record.contact_id : null, "crm.contact")}
        {entity === "leads" && link("companies", record.company_id, "crm.company")}
        {link("deals", record.deal_id, "crm.deal")}
        {link("leads", entity !== "leads" ? record.lead_id : null, "crm.lead")}
        <Field {...f("comments", t("crm.comments"))} kind="textarea" maxLength={4000}
          display={record.comments ? <span class="pre">{record.comments}</span> : "—"} />
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
                <div><b>{ACTIVITY_TYPES.has(a.type) ? t(`crm.act.${a.type}`) : a.type}</b>{activityText(a) ? ` — ${activityText(a)}` : ""}</div>
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

/** Staff a record can be given to (the names the console knows; the current one always, so
 * saving another field's choice never changes it by accident). */
function staff(current: string | null | undefined): Option[] {
  const options = [...S.names].map(([value, label]) => ({ value, label }));
  if (current && !S.names.has(current)) options.unshift({ value: current, label: who(current) });
  return options;
}

/** Records to link as options; the linked one stays listed even beyond the first page. */
function named(records: Rec[], current: string | null | undefined): Option[] {
  const options = records.map((r) => ({ value: r.id, label: r.name || r.title || r.id }));
  if (current && !options.some((o) => o.value === current)) options.unshift({ value: current, label: current });
  return options;
}
