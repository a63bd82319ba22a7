// CRM contacts and companies: a searchable list opening each record's card.
import { useEffect, useState } from "preact/hooks";
import * as crm from "../api/crm";
import type { Rec } from "../api/crm";
import { t } from "../i18n";
import { fail, openCrmCard } from "../state/ui";
import { who } from "./format";

export function People({ entity }: { entity: "contacts" | "companies" }) {
  const [q, setQ] = useState("");
  const [items, setItems] = useState<Rec[] | null>(null);
  useEffect(() => {
    const query = new URLSearchParams({ limit: "200" });
    if (q.trim()) query.set("q", q.trim());
    crm.listRecords(entity, query).then(setItems).catch(fail);
  }, [entity, q]);
  const row = entity === "contacts" ? "contact-row" : "company-row";
  return (
    <div>
      <input class="search" data-testid="crm-search" placeholder={t("crm.search")} value={q} onChange={(e) => setQ((e.target as HTMLInputElement).value)} />
      {items === null ? <p>{t("conv.loading")}</p> : items.length === 0 ? <p class="empty">{t("list.empty")}</p> : (
        <table class="crm-table cards"><thead><tr>
          <th>{t(entity === "contacts" ? "crm.name" : "crm.title")}</th><th>{t("crm.emails")}</th><th>{t("crm.phones")}</th><th>{t("crm.responsible")}</th>
        </tr></thead><tbody>{items.map((r) => (
          <tr key={r.id} data-testid={row} data-id={r.id}>
            <td class="card-title"><button class="link" onClick={() => openCrmCard(entity, r.id)}>{r.name || r.title}</button></td>
            <td data-label={t("crm.emails")}>{r.emails.join(", ") || "—"}</td><td data-label={t("crm.phones")}>{r.phones.join(", ") || "—"}</td><td data-label={t("crm.responsible")}>{who(r.responsible_id)}</td>
          </tr>
        ))}</tbody></table>
      )}
    </div>
  );
}
