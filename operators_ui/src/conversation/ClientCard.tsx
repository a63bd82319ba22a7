// The client's card beside a conversation: contacts, channel identities, other conversations
// (with the client's rating of each), whether the client is blocked or was marked spam, and
// Block / Unblock for supervisors and admins (docs/spam.md).
import { useEffect, useState } from "preact/hooks";
import { Confirm } from "../admin/Confirm";
import * as api from "../api/client";
import type { ClientCard as Card } from "../api/types";
import { t } from "../i18n";
import { select } from "../state/conversations";
import { fail } from "../state/ui";
import { dateTime } from "../ui/format";
import { ChannelIcon } from "../ui/Icon";
import { Rating } from "../ui/Rating";
import { inTheirWords } from "./Spam";

export function ClientCard({ clientId, close }: { clientId: string; close: () => void }) {
  const [data, setData] = useState<Card | null>(null);
  const [blocking, setBlocking] = useState(false);
  useEffect(() => { api.clientCard(clientId).then(setData).catch(fail); }, [clientId]);
  const setBlocked = async (blocked: boolean) => {
    const client = await api.setClientBlocked(clientId, blocked);
    setData((card) => (card ? { ...card, client } : card));
  };
  return (
    <aside class="card client-card" data-testid="client-card">
      <div class="row"><h3>{t("card.title")}</h3><span class="grow" /><button onClick={close} aria-label={t("card.close")}>×</button></div>
      {!data ? <p>{t("conv.loading")}</p> : <>
        <p><b>{data.client.name || t("list.unknownClient")}</b></p>
        {data.client.blocked && <p class="badge blocked" data-testid="card-blocked">{t("card.blocked", { at: data.client.blocked_at ? dateTime(data.client.blocked_at) : "—" })}</p>}
        {data.client.spam_count > 0 && <p class="muted" data-testid="card-spam">{t("card.spam", { n: data.client.spam_count, at: data.client.spam_at ? dateTime(data.client.spam_at) : "—" })}</p>}
        {data.may_block && (data.client.blocked
          ? <button data-testid="unblock" onClick={() => setBlocked(false).catch(fail)}>{t("card.unblock")}</button>
          : <button class="danger" data-testid="block" onClick={() => setBlocking(true)}>{t("card.block")}</button>)}
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
      {blocking && (
        <Confirm testid="block-dialog" title={t("block.title")} action={t("card.block")} close={() => setBlocking(false)}
          run={() => inTheirWords(() => setBlocked(true))}>
          <p>{t("block.text")}</p>
        </Confirm>
      )}
    </aside>
  );
}
