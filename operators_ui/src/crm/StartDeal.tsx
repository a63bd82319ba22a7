// The conversation's "start deal" action.
import * as crm from "../api/crm";
import { ApiError } from "../api/http";
import type { Conv } from "../api/types";
import { t } from "../i18n";
import { refreshConversation } from "../state/conversations";
import { fail, toast } from "../state/ui";

export function StartDeal({ c }: { c: Conv }) {
  const start = async () => {
    try {
      await crm.startDeal(c.id, t("crm.dealFor", { name: c.client.name || t("list.unknownClient") }));
      await refreshConversation(c.id);
      toast(t("crm.dealStarted"));
    } catch (err) {
      if (err instanceof ApiError && err.code === "deal_exists") toast(t("crm.dealExists"));
      else fail(err);
    }
  };
  return <button data-testid="start-deal" onClick={start}>{t("crm.startDeal")}</button>;
}
