// Admin: a line's channels — listed, switched on and off, and connected.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { Channel, CreatedChannel } from "../api/types";
import { t } from "../i18n";
import { S } from "../state/store";
import { fail } from "../state/ui";
import { ChannelIcon } from "../ui/Icon";

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
  return (
    <div class="embed"><b>{t("ch.embed")}</b> <small>{t("ch.embedHelp")}</small>
      <textarea readOnly rows={2} data-testid="embed-snippet" value={embed} />
      <button data-testid="embed-copy" onClick={() => navigator.clipboard.writeText(embed).then(() => setCopied(true)).catch(fail)}>{t(copied ? "act.copied" : "act.copy")}</button>
    </div>
  );
}

export function AdminChannels() {
  const [lineId, setLineId] = useState(S.lines[0]?.id || "");
  const [channels, setChannels] = useState<Channel[]>([]);
  const [type, setType] = useState("widget");
  const [created, setCreated] = useState<CreatedChannel | null>(null);
  const reload = () => { if (lineId) api.lineChannels(lineId).then(setChannels).catch(fail); };
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
      setCreated(await api.createChannel(lineId, type, config));
      (e.target as HTMLFormElement).reset();
      reload();
    } catch (err) { fail(err); }
  };
  return (
    <div class="page">
      <h2>{t("ch.title")}</h2>
      <label class="inline">{t("ch.line")}<select data-testid="channel-line" value={lineId} onChange={(e) => setLineId((e.target as HTMLSelectElement).value)}>
        {S.lines.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}</select></label>
      {channels.length === 0 && <p class="empty">{t("ch.none")}</p>}
      <table><tbody>{channels.map((ch) => (
        <tr key={ch.id} data-testid="channel-row"><td><ChannelIcon type={ch.type} /> {t(`ch.type.${ch.type}`)}</td><td>{String(ch.config?.title || ch.config?.address || "")}</td>
          <td>{t(ch.active ? "ch.enabled" : "ch.disabled")} <button onClick={() => api.patchChannel(ch.id, { active: !ch.active }).then(reload).catch(fail)}>{t(ch.active ? "users.deactivate" : "users.activate")}</button></td>
          <td>{t("ch.webhook")}: {ch.webhook_url || t("ch.webhookNone")}{ch.secrets_set?.length ? ` · ${t("ch.secretsSet")}: ${ch.secrets_set.join(", ")}` : ""}</td>
          <td>{ch.embed && <Embed embed={ch.embed} />}</td></tr>
      ))}</tbody></table>
      {created?.embed && <div data-testid="channel-created"><Embed embed={created.embed} /></div>}
      {created?.webhook_secret && <p data-testid="channel-created">{t("ch.webhook")}: {created.webhook_url} · {created.webhook_secret}</p>}
      <form class="card form" onSubmit={submit} data-testid="channel-form">
        <h3>{t("ch.new")}</h3>
        <label>{t("ch.type")}<select data-testid="channel-type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
          {Object.keys(CHANNEL_FIELDS).map((k) => <option key={k} value={k}>{t(`ch.type.${k}`)}</option>)}</select></label>
        {CHANNEL_FIELDS[type].map((f) => f === "prechat_fields" ? (
          <fieldset key={`${type}.${f}`}><legend>{t("ch.field.prechat_fields")}</legend>{["name", "email", "phone"].map((p) => <label key={p} class="inline"><input type="checkbox" name="prechat_fields" value={p} />{t(`ch.prechat.${p}`)}</label>)}</fieldset>
        ) : f === "mode" ? (
          <label key={`${type}.${f}`}>{t("ch.field.mode")}<select name="mode">{(type === "vk" ? ["callback", "longpoll"] : ["webhook", "polling"]).map((m) => <option key={m} value={m}>{m}</option>)}</select></label>
        ) : LIST_FIELDS.has(f) ? (
          <label key={`${type}.${f}`}>{t(`ch.field.${f}`)}<textarea name={f} rows={2} data-testid={`channel-${f}`} /></label>
        ) : (
          <label key={`${type}.${f}`}>{t(`ch.field.${f}`)}<input name={f} data-testid={`channel-${f}`} type={f.includes("password") || f.includes("token") || f === "secret" ? "password" : f === "color" ? "color" : "text"} /></label>
        ))}
        <button class="primary" type="submit" data-testid="channel-save">{t("act.create")}</button>
      </form>
    </div>
  );
}
