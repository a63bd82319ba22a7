// CRM webhooks (admin; docs/crm.md, "Editing"): listed, created (URL and events), edited (URL,
// events, paused or active) and deleted after a confirmation. The signing secret is shown once,
// right after creation, with a copy button: the hub never sends it again.
import { useEffect, useState } from "preact/hooks";
import * as crm from "../api/crm";
import { WEBHOOK_EVENTS, type Webhook } from "../api/crm";
import { t } from "../i18n";
import { fail, toast } from "../state/ui";
import { focusOnMount, message } from "./Fields";

export function Webhooks() {
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [created, setCreated] = useState<Webhook | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const load = () => crm.listWebhooks().then(setHooks).catch(fail);
  useEffect(() => { load(); }, []);
  const remove = async (id: string) => {
    try {
      await crm.deleteWebhook(id);
      setConfirming(null);
      toast(t("crm.webhookDeleted"));
      await load();
    } catch (err) { fail(err); }
  };
  return (
    <div class="webhooks" data-testid="webhooks">
      <p class="muted">{t("crm.webhooksHelp")}</p>
      {created?.secret && <SecretOnce hook={created} close={() => setCreated(null)} />}
      {hooks === null ? <p>{t("conv.loading")}</p> : hooks.length === 0 ? <p class="empty">{t("list.empty")}</p> : (
        <ul class="plain webhook-list">{hooks.map((h) => (
          <li key={h.id} class="card" data-testid="webhook-row" data-id={h.id}>
            {editing === h.id ? (
              <HookForm hook={h} done={async (saved) => { setEditing(null); if (saved) { toast(t("crm.webhookSaved")); await load(); } }} />
            ) : <>
              <div class="row">
                <b class="grow webhook-url" data-testid="webhook-url">{h.url}</b>
                <span data-testid="webhook-active" class={h.active ? "" : "muted"}>{t(h.active ? "crm.webhookActive" : "crm.webhookPaused")}</span>
              </div>
              <div class="muted" data-testid="webhook-events">{h.events.map((e) => t(`crm.event.${e}`)).join(", ")}</div>
              <div class="row">
                <button type="button" data-testid="webhook-edit" aria-label={t("crm.editField", { field: h.url })} onClick={() => setEditing(h.id)}>{t("act.edit")}</button>
                {confirming === h.id ? <>
                  <span>{t("crm.deleteWebhookQ")}</span>
                  <button ref={focusOnMount} type="button" class="danger" data-testid="webhook-delete-confirm" onClick={() => remove(h.id)}>{t("crm.confirmDelete")}</button>
                  <button type="button" onClick={() => setConfirming(null)}>{t("act.cancel")}</button>
                </> : <button type="button" class="danger" data-testid="webhook-delete" aria-label={t("crm.deleteWebhook", { url: h.url })}
                  onClick={() => setConfirming(h.id)}>{t("act.delete")}</button>}
              </div>
            </>}
          </li>
        ))}</ul>
      )}
      <h3>{t("crm.newWebhook")}</h3>
      <HookForm done={async (saved) => { if (saved) { setCreated(saved); await load(); } }} />
    </div>
  );
}

/** The form of a new webhook (no ``hook``) or of an existing one. */
function HookForm({ hook, done }: { hook?: Webhook; done: (saved: Webhook | null) => void }) {
  const [url, setUrl] = useState(hook?.url || "");
  const [events, setEvents] = useState<string[]>(hook?.events || [...WEBHOOK_EVENTS]);
  const [active, setActive] = useState(hook?.active ?? true);
  const [error, setError] = useState("");
  const prefix = hook ? "webhook-edit" : "webhook-new";
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const body = { url: url.trim(), events: WEBHOOK_EVENTS.filter((ev) => events.includes(ev)) };
      const saved = hook ? await crm.patchWebhook(hook.id, { ...body, active }) : await crm.createWebhook(body);
      if (!hook) { setUrl(""); setEvents([...WEBHOOK_EVENTS]); }
      done(saved);
    } catch (err) { setError(message(err)); }
  };
  return (
    <form class="form webhook-form" data-testid={`${prefix}-form`} onSubmit={submit} noValidate>
      <label>{t("crm.webhookUrl")}
        <input type="url" required data-testid={`${prefix}-url`} maxLength={2083} placeholder="https://" value={url}
          onInput={(e) => setUrl((e.target as HTMLInputElement).value)} /></label>
      <fieldset>
        <legend>{t("crm.webhookEvents")}</legend>
        {WEBHOOK_EVENTS.map((ev) => (
          <label key={ev} class="inline"><input type="checkbox" data-testid={`${prefix}-event`} data-event={ev} checked={events.includes(ev)}
            onChange={() => setEvents(events.includes(ev) ? events.filter((x) => x !== ev) : [...events, ev])} />{t(`crm.event.${ev}`)}</label>
        ))}
      </fieldset>
      {hook && <label class="inline"><input type="checkbox" data-testid={`${prefix}-active`} checked={active} onChange={() => setActive(!active)} />
        {t("crm.webhookActive")}</label>}
      {error && <p class="error" role="alert" data-testid={`${prefix}-error`}>{error}</p>}
      <div class="row">
        <button class="primary" type="submit" data-testid={`${prefix}-save`}>{t(hook ? "act.save" : "act.create")}</button>
        {hook && <button type="button" onClick={() => done(null)}>{t("act.cancel")}</button>}
      </div>
    </form>
  );
}

function SecretOnce({ hook, close }: { hook: Webhook; close: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(hook.secret || "");
      setCopied(true);
    } catch {
      // No clipboard (an insecure origin): the text is selected for Ctrl+C instead.
      const field = document.querySelector<HTMLInputElement>("[data-testid=webhook-secret]");
      field?.select();
    }
  };
  return (
    <div class="card secret-once" role="status" data-testid="webhook-secret-once">
      <p><b>{t("crm.webhookSecret")}</b> {t("crm.webhookSecretOnce")}</p>
      <div class="row">
        <input class="grow" readOnly data-testid="webhook-secret" aria-label={t("crm.webhookSecret")} value={hook.secret}
          onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button type="button" data-testid="webhook-secret-copy" onClick={copy}>{t(copied ? "act.copied" : "act.copy")}</button>
        <button type="button" data-testid="webhook-secret-close" onClick={close}>{t("crm.done")}</button>
      </div>
    </div>
  );
}
