// How the CRM screens name people, addresses, amounts and timeline entries.
import type { Activity, Pipeline, Rec, Stage } from "../api/crm";
import { hasText, locale, t } from "../i18n";
import { S } from "../state/store";

export const ACTIVITY_TYPES = new Set([
  "lead_created", "contact_created", "company_created", "deal_created", "conversation_opened",
  "conversation_closed", "responsible_set", "stage_changed", "note", "lead_converted",
  "lead_matched_contact", "message_sent", "updated",
]);

export function who(id: string | null | undefined): string {
  if (!id) return "—";
  return S.names.get(id) || t("crm.someone"); // operators know only their lines' members
}

/** Addresses as a list, those only typed into a form marked unverified. */
export function addresses(values: string[], unverified: string[] | undefined): string {
  const claims = new Set(unverified || []);
  return values.map((v) => (claims.has(v) ? `${v} (${t("crm.unverified")})` : v)).join(", ") || "—";
}

/** An amount in the console's locale, with its currency (ISO code) where it has one. */
export function money(d: Rec): string {
  if (d.amount == null) return "—";
  const amount = Number(d.amount);
  if (d.currency) {
    try {
      return amount.toLocaleString(locale(), { style: "currency", currency: d.currency });
    } catch { /* not an ISO currency code: the number and the code as written */ }
  }
  return `${amount.toLocaleString(locale())}${d.currency ? ` ${d.currency}` : ""}`;
}

// The seeded pipeline's and stages' English names: while a name is still the seed's, it is
// shown in the console's language; a name an admin gave is shown as they wrote it.
const SEED_NAMES: Record<string, string> = {
  "pipeline.sales": "Sales", "stage.new": "New", "stage.preparing_documents": "Preparing documents",
  "stage.invoice": "Invoice", "stage.in_progress": "In progress", "stage.won": "Won", "stage.lost": "Lost",
};

function seeded(kind: "pipeline" | "stage", id: string, name: string): string {
  const key = `${kind}.${id}`;
  return SEED_NAMES[key] === name && hasText(`crm.seed.${key}`) ? t(`crm.seed.${key}`) : name;
}

export const stageName = (s: Pick<Stage, "id" | "name">): string => seeded("stage", s.id, s.name);
export const pipelineName = (p: Pick<Pipeline, "id" | "name">): string => seeded("pipeline", p.id, p.name);

// Timeline entries whose text the hub writes itself (in English): their type's label says it.
const SYSTEM_TEXTS = new Set(["conversation_opened", "conversation_closed", "lead_converted", "lead_matched_contact"]);

/** What a timeline entry says after its type, in the console's language where the hub wrote it. */
export function activityText(a: Activity): string {
  if (a.type === "stage_changed" && a.data?.from && a.data?.to) {
    return `${stageName({ id: a.data.from, name: a.data.from_name })} → ${stageName({ id: a.data.to, name: a.data.to_name })}`;
  }
  if (SYSTEM_TEXTS.has(a.type)) return "";
  return a.text || "";
}
