// One open conversation: its header of actions (accept, transfer, invite, pin, return, join,
// leave, close, spam, CRM), the thread, who is typing and the composer; a closed one shows
// its supervisor the rating form instead of the composer.
import { useState } from "preact/hooks";
import type { Conv } from "../api/types";
import { StartDeal } from "../crm/StartDeal";
import { t } from "../i18n";
import { useNow } from "../state/clock";
import { accept, act } from "../state/conversations";
import { editsCrm, oversees } from "../state/session";
import { S, type CrmTab } from "../state/store";
import { openCrmCard } from "../state/ui";
import { backToList } from "../shell/phone";
import { ChannelIcon } from "../ui/Icon";
import { Rating } from "../ui/Rating";
import { ClientCard } from "./ClientCard";
import { Composer } from "./Composer";
import { Picker } from "./Picker";
import { Marks, RateForm, SpamAction, marksSpam } from "./Spam";
import { Thread } from "./Thread";

/** "… is typing": shown until the hub says it stopped, or six seconds without news. */
function Typing({ id }: { id: string }) {
  const now = useNow();
  const typing = S.typing.get(id);
  if (!typing || typing.until <= now) return null;
  return <div class="typing" data-testid="typing">{t("msg.typing", { name: typing.name })}</div>;
}

/** The CRM record the badge opens: the deal, else the contact, else the lead. */
function crmRecord(c: Conv): [CrmTab, string] | null {
  if (c.crm?.deal_id) return ["deals", c.crm.deal_id];
  if (c.crm?.contact_id) return ["contacts", c.crm.contact_id];
  if (c.crm?.lead_id) return ["leads", c.crm.lead_id];
  return null;
}

export function Conversation({ id }: { id: string }) {
  const c = S.convs.get(id);
  const [picker, setPicker] = useState<null | "transfer" | "invite">(null);
  const [card, setCard] = useState(false);
  if (!c) return <p class="empty">{t("conv.loading")}</p>;
  const me = S.me!.id;
  const assignee = c.assignee_id === me;
  const over = oversees(c.line_id);
  const inside = assignee || c.participants.some((p) => p.user_id === me);
  const open = c.status !== "closed";
  const on = (event: string, payload: Record<string, unknown>) => () => { act(event, id, payload); };
  const crm = crmRecord(c);
  return (
    <div class="conversation">
      <div class="head">
        <button class="back" data-testid="back" onClick={backToList} aria-label={t("conv.backLabel")}>
          <span aria-hidden="true">←</span> {t("conv.back")}
        </button>
        <ChannelIcon type={c.channel.type} />
        <button class="link client" data-testid="client-name" onClick={() => setCard(!card)} title={t("conv.card")}>{c.client.name || t("list.unknownClient")}</button>
        {crm ? <button class="badge crm" data-testid="crm-badge" data-entity={crm[0]} title={t(`crm.badge.${crm[0]}`)}
          onClick={() => openCrmCard(crm[0], crm[1])}>{t("conv.crm")} · {t(`crm.badge.${crm[0]}`)}</button> : null}
        {editsCrm() && !c.crm?.deal_id && <StartDeal c={c} />}
        <span class={`badge st-${c.status}`} data-testid="conversation-status">{t(`conv.status.${c.status}`)}</span>
        <Rating csat={c.csat} comment />
        <Marks c={c} />
        <span class="grow" />
        {((c.status === "offered" && c.offered_to.includes(me)) || (c.status === "queued" && !over)) && <button class="primary" data-testid="accept" onClick={() => accept(id)}>{t("act.accept")}</button>}
        {open && c.status === "active" && (assignee || over) && <button data-testid="transfer" onClick={() => setPicker("transfer")}>{t("act.transfer")}</button>}
        {open && c.status === "active" && (inside || over) && <button data-testid="invite" onClick={() => setPicker("invite")}>{t("act.invite")}</button>}
        {c.status === "active" && assignee && <button data-testid="pin" onClick={on("conversation:pin", { pinned: !c.pinned })}>{t(c.pinned ? "act.unpin" : "act.pin")}</button>}
        {c.status === "active" && assignee && <button data-testid="return" onClick={on("conversation:return", {})}>{t("act.return")}</button>}
        {open && over && !inside && <button data-testid="join-hidden" onClick={on("conversation:join", { hidden: true })}>{t("act.joinHidden")}</button>}
        {c.status === "active" && over && c.assignee_id && !assignee && <button data-testid="take-over" onClick={on("conversation:take_over", {})}>{t("act.takeOver")}</button>}
        {open && !assignee && c.participants.some((p) => p.user_id === me) && <button data-testid="leave" onClick={on("conversation:leave", {})}>{t("act.leave")}</button>}
        {open && marksSpam(c) && <SpamAction c={c} />}
        {open && (assignee || over) && <button class="danger" data-testid="close" onClick={on("conversation:close", {})}>{t("act.close")}</button>}
      </div>
      {c.transfer && c.status === "offered" && (c.transfer.from === me || over) && (
        <div class="banner transfer" data-testid="transfer-pending" role="status">
          {t("transfer.pending", { name: S.names.get(c.transfer.to) || t("transfer.someone") })}
          <button data-testid="transfer-cancel" onClick={on("conversation:transfer_cancel", {})}>{t("transfer.cancel")}</button>
        </div>
      )}
      <div class="body">
        <div class="col">
          <Thread id={id} />
          <Typing id={id} />
          {open ? <Composer c={c} /> : <p class="empty">{t("compose.closed")}</p>}
          {!open && over && <RateForm key={c.id} c={c} />}
        </div>
        {card && <ClientCard clientId={c.client.id} close={() => setCard(false)} />}
      </div>
      {picker && <Picker c={c} mode={picker} close={() => setPicker(null)} />}
    </div>
  );
}
