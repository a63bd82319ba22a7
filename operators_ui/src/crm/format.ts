// How the CRM screens name people, addresses, amounts and timeline entries.
import type { Rec } from "../api/crm";
import { t } from "../i18n";
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

export function money(d: Rec): string {
  return d.amount == null ? "—" : `${d.amount}${d.currency ? ` ${d.currency}` : ""}`;
}
