// The client's card beside a conversation: contacts, channel identities, other conversations
// (with the client's rating of each).
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { ClientCard as Card } from "../api/types";
import { t } from "../i18n";
import { select } from "../state/conversations";
import { fail } from "../state/ui";
import { dateTime } from "../ui/format";
import { ChannelIcon } from "../ui/Icon";
import { Rating } from "../ui/Rating";

export function ClientCard({ clientId, close }: { clientId: string; close: () => void }) {
  const [data, setData] = useState<Card | null>(null);
  useEffect(() => { api.clientCard(clientId).then(setData).catch(fail); }, [clientId]);
  return (
    <aside class="card client-card" data-testid="client-card">
      <div class="row"><h3>{t("card.title")}</h3><span class="grow" /><button onClick={close} aria-label={t("card.close")}>×</button></div>
      {!data ? <p>{t("conv.loading")}</p> : <>
        <p><b>{data.client.name || t("list.unknownClient")}</b></p>
        <h4>{t("card.contacts")}</h4>
        <p>{data.client.email || "—"}<br />{data.client.phone || "—"}</p>
        <h4>{t("card.identities")}</h4>
        <ul>{data.identities.map((i, n) => <li key={`${i.channel_id}-${n}`} data-testid="client-identity"><ChannelIcon type={i.type || "widget"} /> {i.name || t(`ch.type.${i.type || "widget"}`)}</li>)}</ul>
        <h4>{t("card.conversations")}</h4>
        <ul data-testid="client-conversations">{data.conversations.map((c) => (
          <li key={c.id}><button class="link" onClick={() => select(c.id, c)}><ChannelIcon type={c.channel.type} /> {dateTime(c.created_at)} · {t(`conv.status.${c.status}`)}</button>
            {" "}<Rating csat={c.csat} comment /></li>
        ))}</ul>
      </>}
    </aside>
  );
}
