// The console's CRM section (docs/crm.md): leads with filters and conversion, contact and
// company cards with every conversation and the timeline, deals as a board per pipeline; for
// admins also the pipeline editor and the CRM webhooks.
// Client text is only ever rendered as text nodes (JSX escapes it); never innerHTML.
import { useState } from "preact/hooks";
import { t } from "../i18n";
import { isAdmin, readsCrm } from "../state/session";
import { S, type CrmTab } from "../state/store";
import { setCrmTab } from "../state/ui";
import { DealBoard } from "./DealBoard";
import { Leads } from "./Leads";
import { People } from "./People";
import { Pipelines } from "./Pipelines";
import { RecordCard } from "./RecordCard";
import { Webhooks } from "./Webhooks";

const TABS: CrmTab[] = ["leads", "contacts", "companies", "deals"];
// The CRM's settings, admins only: kept in this screen (no record card opens in them).
type SettingsTab = "pipelines" | "webhooks";
const SETTINGS: SettingsTab[] = ["pipelines", "webhooks"];

export function CrmSection() {
  const [settings, setSettings] = useState<SettingsTab | null>(null);
  const card = S.crmCard;
  const shown = card ? null : settings;
  return (
    <div class="page crm" data-testid="crm">
      {readsCrm() && (
        <div class="tabs" role="tablist">
          {TABS.map((tab) => (
            <button key={tab} role="tab" class={!card && !shown && S.crmTab === tab ? "tab on" : "tab"} data-testid={`crm-tab-${tab}`}
              aria-selected={!card && !shown && S.crmTab === tab} onClick={() => { setSettings(null); setCrmTab(tab); }}>
              {t(`crm.tab.${tab}`)}
            </button>
          ))}
          {isAdmin() && SETTINGS.map((tab) => (
            <button key={tab} role="tab" class={shown === tab ? "tab on" : "tab"} data-testid={`crm-tab-${tab}`}
              aria-selected={shown === tab} onClick={() => { setSettings(tab); if (card) setCrmTab(S.crmTab); }}>
              {t(`crm.tab.${tab}`)}
            </button>
          ))}
        </div>
      )}
      {card ? <RecordCard entity={card.entity} id={card.id} />
        : !readsCrm() ? <p class="empty">{t("crm.noAccess")}</p>
        : shown === "pipelines" ? <Pipelines />
        : shown === "webhooks" ? <Webhooks />
        : S.crmTab === "leads" ? <Leads />
        : S.crmTab === "deals" ? <DealBoard />
        : <People entity={S.crmTab} />}
    </div>
  );
}
