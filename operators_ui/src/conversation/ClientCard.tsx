// The client's card beside a conversation: contacts, channel identities, other conversations.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { ClientCard as Card } from "../api/types";
import { t } from "../i18n";
import { select } from "../state/conversations";
import { fail } from "../state/ui";
import { ChannelIcon } from "../ui/Icon";

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
        <ul>{data.identities.map((i, n) => <li key={`${i.channel_id}-${n}`}><ChannelIcon type={i.type || "widget"} /> {i.name || i.channel_id}</li>)}</ul>
        <h4>{t("card.conversations")}</h4>
        <ul data-testid="client-conversations">{data.conversations.map((c) => (
          <li key={c.id}><button class="link" onClick={() => select(c.id, c)}><ChannelIcon type={c.channel.type} /> {new Date(c.created_at).toLocaleDateString()} · {t(`conv.status.${c.status}`)}</button></li>
        ))}</ul>
      </>}
    </aside>
  );
}
