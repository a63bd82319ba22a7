// The console's CRM section (docs/crm.md): leads with filters and conversion, contact and
// company cards with every conversation and the timeline, deals as a board per pipeline.
// Client text is only ever rendered as text nodes (JSX escapes it); never innerHTML.
import { t } from "../i18n";
import { readsCrm } from "../state/session";
import { S, type CrmTab } from "../state/store";
import { setCrmTab } from "../state/ui";
import { DealBoard } from "./DealBoard";
import { Leads } from "./Leads";
import { People } from "./People";
import { RecordCard } from "./RecordCard";

const TABS: CrmTab[] = ["leads", "contacts", "companies", "deals"];

export function CrmSection() {
  const card = S.crmCard;
  return (
    <div class="page crm" data-testid="crm">
      {readsCrm() && (
        <div class="tabs" role="tablist">
          {TABS.map((tab) => (
            <button key={tab} role="tab" class={!card && S.crmTab === tab ? "tab on" : "tab"} data-testid={`crm-tab-${tab}`}
              aria-selected={!card && S.crmTab === tab} onClick={() => setCrmTab(tab)}>
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
