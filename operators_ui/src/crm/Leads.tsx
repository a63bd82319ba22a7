// CRM leads: filtered by status, source and responsible, and converted into a contact,
// company and deal.
import { useEffect, useState } from "preact/hooks";
import * as crm from "../api/crm";
import type { Rec } from "../api/crm";
import { t } from "../i18n";
import { editsCrm } from "../state/session";
import { S } from "../state/store";
import { fail, openCrmCard, toast } from "../state/ui";
import { who } from "./format";

const LEAD_STATUSES = ["new", "in_progress", "converted", "junk"];

export function Leads() {
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
    crm.listRecords("leads", q).then(setLeads).catch(fail);
  };
  useEffect(load, [status, source, responsible]);
  return (
    <div>
      <div class="row filters">
        <label class="inline">{t("crm.status")}
          <select data-testid="lead-filter-status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">{t("crm.any")}</option>
            {LEAD_STATUSES.map((s) => <option key={s} value={s}>{t(`crm.lead.${s}`)}</option>)}
          </select></label>
        <label class="inline">{t("crm.source")}
          <input data-testid="lead-filter-source" value={source} onChange={(e) => setSource((e.target as HTMLInputElement).value)} /></label>
        <label class="inline">{t("crm.responsible")}
          <select data-testid="lead-filter-responsible" value={responsible} onChange={(e) => setResponsible((e.target as HTMLSelectElement).value)}>
            <option value="">{t("crm.any")}</option>
            <option value="me">{t("crm.me")}</option>
            {[...S.names].filter(([id]) => id !== S.me?.id).map(([id, name]) => <option key={id} value={id}>{name}</option>)}
          </select></label>
      </div>
      {leads === null ? <p>{t("conv.loading")}</p> : leads.length === 0 ? <p class="empty">{t("list.empty")}</p> : (
        <table class="crm-table cards"><thead><tr>
          <th>{t("crm.title")}</th><th>{t("crm.name")}</th><th>{t("crm.emails")}</th><th>{t("crm.phones")}</th>
          <th>{t("crm.source")}</th><th>{t("crm.status")}</th><th>{t("crm.responsible")}</th><th />
        </tr></thead><tbody>{leads.map((lead) => (
          <tr key={lead.id} data-testid="lead-row" data-id={lead.id} data-status={lead.status}>
            <td class="card-title"><button class="link" data-testid="lead-open" onClick={() => openCrmCard("leads", lead.id)}>{lead.title}</button></td>
            <td data-label={t("crm.name")}>{lead.name || "—"}</td><td data-label={t("crm.emails")}>{lead.emails.join(", ") || "—"}</td><td data-label={t("crm.phones")}>{lead.phones.join(", ") || "—"}</td>
            <td data-label={t("crm.source")}>{lead.source || "—"}</td>
            <td data-testid="lead-status" data-label={t("crm.status")}>{t(`crm.lead.${lead.status}`)}</td>
            <td data-label={t("crm.responsible")}>{who(lead.responsible_id)}</td>
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
    const body: crm.Conversion = { contact };
    if (company.trim()) body.company = { title: company.trim() };
    if (deal) {
      body.deal = {
        title: title.trim() || lead.title,
        ...(amount ? { amount: Number(amount) } : {}),
        ...(currency.trim() ? { currency: currency.trim().toUpperCase() } : {}),
      };
    }
    try {
      await crm.convertLead(lead.id, body);
      toast(t("crm.converted"));
      close(true);
    } catch (err) { fail(err); }
  };
  return (
    <div class="modal" role="dialog" aria-modal="true" aria-label={t("crm.convertTitle", { title: lead.title })} data-testid="convert-dialog">
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
