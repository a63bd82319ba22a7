// Admin: a line's channels — listed, switched on and off, edited, and connected through a form
// generated from the kind's config schema (GET /api/v1/channel-types): no kind is known here.
import { useEffect, useMemo, useState } from "preact/hooks";
import * as api from "../api/client";
import type { Channel, ChannelType, CreatedChannel } from "../api/types";
import { localized, t } from "../i18n";
import { S } from "../state/store";
import { fail, toast } from "../state/ui";
import { ChannelIcon } from "../ui/Icon";
import { Confirm } from "./Confirm";
import { FieldError } from "../ui/FieldError";
import { parseSchema, type ParsedSchema } from "./schema";
import { SchemaFields, collectFromForm } from "./SchemaFields";

function Embed({ embed }: { embed: string }) {
  const [copied, setCopied] = useState(false);
  // The hub makes it absolute (PUBLIC_URL, else the address the console talks to).
  return (
    <div class="embed"><b>{t("ch.embed")}</b> <small>{t("ch.embedHelp")}</small>
      <textarea readOnly rows={2} data-testid="embed-snippet" aria-label={t("ch.embed")} value={embed} />
      <button data-testid="embed-copy" onClick={() => navigator.clipboard.writeText(embed).then(() => setCopied(true)).catch(fail)}>{t(copied ? "act.copied" : "act.copy")}</button>
    </div>
  );
}

/** A value to paste elsewhere, with a button that copies it. */
function Copyable({ label, value, testid }: { label: string; value: string; testid: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <p class="copyable">{label}: <code data-testid={testid}>{value}</code>{" "}
      <button type="button" data-testid={`${testid}-copy`} aria-label={`${t("act.copy")}: ${label}`}
        onClick={() => navigator.clipboard.writeText(value).then(() => setCopied(true)).catch(fail)}>{t(copied ? "act.copied" : "act.copy")}</button>
    </p>
  );
}

/** What creating a channel answered that is shown only now: the embed, the webhook or inbound
 * address, generated secrets. */
function Created({ created, form, testid = "channel-created" }: { created: CreatedChannel; form: ParsedSchema | undefined; testid?: string }) {
  const once = (form?.once || [])
    .map((o) => ({ ...o, value: created[o.key] ?? created.config?.[o.key] }))
    .filter((o) => o.value !== undefined && o.value !== null && o.value !== "");
  const inbound = typeof created.inbound_url === "string" ? created.inbound_url : null;
  return (
    <div data-testid={testid} class="card">
      {created.embed && <Embed embed={created.embed} />}
      {created.webhook_url && <Copyable label={t("ch.webhook")} value={created.webhook_url} testid="created-webhook-url" />}
      {inbound && <Copyable label={t("ch.inbound")} value={inbound} testid="created-inbound-url" />}
      {once.map((o) => <Copyable key={o.key} label={localized(o.title)} value={String(o.value)} testid={`created-${o.key}`} />)}
      {once.length > 0 && <p class="hint" data-testid="created-once-help">{t("ch.onceHelp")}</p>}
    </div>
  );
}

function ChannelEditor({ channel, form, done }: { channel: Channel; form: ParsedSchema; done: (saved: boolean) => void }) {
  const [err, setErr] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    try {
      await api.patchChannel(channel.id, { config: collectFromForm(form.fields, e.target as HTMLFormElement, true) });
      toast(t("ch.saved"));
      done(true);
    } catch (error) { setErr(error); }
  };
  return (
    <form class="card form" onSubmit={submit} data-testid="channel-edit-form">
      <SchemaFields fields={form.fields} values={channel.config} editing idPrefix={`ch-edit-${channel.id}`} err={err} />
      <FieldError err={err} name="form" fields={form.fields.map((f) => f.key)} />
      <div class="row"><button class="primary" type="submit" data-testid="channel-edit-save">{t("act.save")}</button>
        <button type="button" onClick={() => done(false)}>{t("act.cancel")}</button></div>
    </form>
  );
}

export function AdminChannels() {
  const [lineId, setLineId] = useState(S.lines[0]?.id || "");
  const [channels, setChannels] = useState<Channel[]>([]);
  const [types, setTypes] = useState<ChannelType[]>([]);
  const [type, setType] = useState("");
  const [created, setCreated] = useState<CreatedChannel | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [refused, setRefused] = useState<unknown>(null);
  // A delete or a secret rotation waiting for its confirmation; what a rotation answered.
  const [asking, setAsking] = useState<{ channel: Channel; what: "delete" | "rotate" } | null>(null);
  const [rotated, setRotated] = useState<CreatedChannel | null>(null);
  const forms = useMemo(() => new Map(types.map((k) => [k.type, parseSchema(k.schema)])), [types]);
  const reload = () => { if (lineId) api.lineChannels(lineId).then(setChannels).catch(fail); };
  useEffect(() => {
    api.listChannelTypes().then((list) => {
      setTypes(list);
      // The widget first, as before: most lines start with the website chat.
      setType((list.find((k) => k.type === "widget") || list[0])?.type || "");
    }).catch(fail);
  }, []);
  useEffect(() => { reload(); setCreated(null); setEditing(null); setRotated(null); }, [lineId]);
  const typeTitle = (kind: string) => {
    const known = types.find((k) => k.type === kind);
    return known ? localized(known.title, kind) : t(`ch.type.${kind}`);
  };
  /** A config field's name in the console's language, from the kind's schema. */
  const fieldTitle = (kind: string, key: string) => {
    const parsed = forms.get(kind);
    const title = parsed?.fields.find((f) => f.key === key)?.title || parsed?.once.find((o) => o.key === key)?.title;
    return localized(title, key);
  };
  const form = forms.get(type);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!form) return;
    const el = e.target as HTMLFormElement;
    setRefused(null);
    try {
      setCreated(await api.createChannel(lineId, type, collectFromForm(form.fields, el, false)));
      el.reset();
      reload();
    } catch (err) { setRefused(err); fail(err); }
  };
  return (
    <div class="page">
      <h2>{t("ch.title")}</h2>
      <label class="inline">{t("ch.line")}<select data-testid="channel-line" value={lineId} onChange={(e) => setLineId((e.target as HTMLSelectElement).value)}>
        {S.lines.map((l) => <option key={l.id} value={l.id}>{l.archived ? `${l.name} (${t("lines.archived")})` : l.name}</option>)}</select></label>
      {channels.length === 0 && <p class="empty">{t("ch.none")}</p>}
      <table class="cards"><tbody>{channels.map((ch) => (
        <tr key={ch.id} data-testid="channel-row" data-type={ch.type}><td class="card-title"><ChannelIcon type={ch.type} /> {typeTitle(ch.type)}</td>
          <td>{String(ch.config?.title || ch.config?.address || "")}</td>
          <td>{t(ch.active ? "ch.enabled" : "ch.disabled")} <button onClick={() => api.patchChannel(ch.id, { active: !ch.active }).then(reload).catch(fail)}>{t(ch.active ? "users.deactivate" : "users.activate")}</button></td>
          <td>{t("ch.webhook")}: {ch.webhook_url || t("ch.webhookNone")}{ch.secrets_set?.length ? ` · ${t("ch.secretsSet")}: ${ch.secrets_set.map((k) => fieldTitle(ch.type, k)).join(", ")}` : ""}</td>
          <td>{ch.embed && <Embed embed={ch.embed} />}</td>
          <td><div class="row wrap">
            {forms.has(ch.type) && <button data-testid="channel-edit" onClick={() => setEditing(editing === ch.id ? null : ch.id)}>{t("act.edit")}</button>}
            {(forms.get(ch.type)?.once.length ?? 0) > 0 && <button data-testid="channel-rotate" onClick={() => setAsking({ channel: ch, what: "rotate" })}>{t("ch.rotate")}</button>}
            <button class="danger" data-testid="channel-delete" onClick={() => setAsking({ channel: ch, what: "delete" })}>{t("act.delete")}</button>
          </div></td></tr>
      ))}</tbody></table>
      {asking?.what === "delete" && (
        <Confirm testid="channel-delete-dialog" title={t("ch.deleteTitle", { type: typeTitle(asking.channel.type) })} action={t("act.delete")} close={() => setAsking(null)}
          run={async () => { await api.deleteChannel(asking.channel.id); setEditing(null); setRotated(null); toast(t("ch.deleted")); reload(); }}>
          <p>{t("ch.deleteText")}</p>
        </Confirm>
      )}
      {asking?.what === "rotate" && (
        <Confirm testid="channel-rotate-dialog" title={t("ch.rotateTitle", { type: typeTitle(asking.channel.type) })} action={t("ch.rotate")} close={() => setAsking(null)}
          run={async () => { setCreated(null); setRotated(await api.rotateChannelSecret(asking.channel.id)); }}>
          <p>{t("ch.rotateText")}</p>
        </Confirm>
      )}
      {rotated && <Created created={rotated} form={forms.get(rotated.type)} testid="channel-rotated" />}
      {editing && (() => {
        const ch = channels.find((x) => x.id === editing);
        const chForm = ch && forms.get(ch.type);
        return ch && chForm ? <ChannelEditor key={ch.id} channel={ch} form={chForm} done={(saved) => { setEditing(null); if (saved) reload(); }} /> : null;
      })()}
      {created && <Created created={created} form={forms.get(created.type)} />}
      <form class="card form" onSubmit={submit} data-testid="channel-form">
        <h3>{t("ch.new")}</h3>
        <label>{t("ch.type")}<select data-testid="channel-type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
          {types.map((k) => <option key={k.type} value={k.type}>{localized(k.title, k.type)}</option>)}</select></label>
        {form && <SchemaFields key={type} fields={form.fields} editing={false} idPrefix={`ch-new-${type}`} err={refused} />}
        <button class="primary" type="submit" data-testid="channel-save">{t("act.create")}</button>
      </form>
    </div>
  );
}
