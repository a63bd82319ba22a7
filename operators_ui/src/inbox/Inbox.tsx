// The inbox: tabs of conversations (offered, mine, pinned, queue, all, closed) beside the open one.
import type { Conv, SearchMatch } from "../api/types";
import { Conversation } from "../conversation/Conversation";
import { t } from "../i18n";
import { useNow } from "../state/clock";
import { accept, inTab, listed, loadClosed, loadMoreClosed, select, tabs } from "../state/conversations";
import { S, type InboxTab } from "../state/store";
import { showOpened, showsConversation } from "../shell/phone";
import { fail, setClosedQuery, setInboxTab } from "../state/ui";
import { duration } from "../ui/format";
import { ChannelIcon } from "../ui/Icon";
import { Rating } from "../ui/Rating";

function openTab(tab: InboxTab): void {
  setInboxTab(tab);
  if (tab === "closed") loadClosed().catch(fail);
}

export function Inbox() {
  const items = listed();
  return (
    // On a phone, one of the two shows: the list, or (class "open") the conversation.
    <div class={showsConversation() ? "inbox open" : "inbox"}>
      <section class="list">
        <div class="tabs" role="tablist">
          {tabs().map((tab) => {
            const n = tab === "closed" ? 0 : [...S.convs.values()].filter((c) => inTab(c, tab)).length;
            return (
              <button key={tab} role="tab" class={S.tab === tab ? "tab on" : "tab"} data-testid={`tab-${tab}`} aria-selected={S.tab === tab}
                onClick={() => openTab(tab)}>
                {t(`tab.${tab}`)}{n ? <span class="count">{n}</span> : null}
              </button>
            );
          })}
        </div>
        {S.tab === "closed" && (
          <input class="search" data-testid="closed-search" placeholder={t("list.search")} value={S.closedQ}
            onInput={(e) => { setClosedQuery((e.target as HTMLInputElement).value); loadClosed().catch(fail); }} />
        )}
        <ul data-testid="conversation-list" onClickCapture={showOpened}>
          {items.map((c) => <Row key={c.id} c={c} />)}
        </ul>
        {S.tab === "closed" && S.closedCursor && (
          <button class="more" data-testid="closed-more" onClick={() => loadMoreClosed().catch(fail)}>{t("list.more")}</button>
        )}
        {!items.length && <p class="empty">{t("list.empty")}</p>}
        <p class="hint">{t("keys.help")}</p>
      </section>
      <section class="conv">{S.selected ? <Conversation id={S.selected} /> : <p class="empty">{t("conv.none")}</p>}</section>
    </div>
  );
}

/** How long it has waited and how long the offer has left: the only part of a row that ticks. */
function Waiting({ c, offeredToMe }: { c: Conv; offeredToMe: boolean }) {
  const now = useNow();
  // A transferred client has waited since their unanswered message, or since the transfer.
  const unanswered = c.last_message?.direction === "in" ? c.last_message.created_at : null;
  const waitingSince = c.transfer ? unanswered || c.transfer.at || c.created_at : c.queued_at || c.created_at;
  return (
    <div class="meta">
      {(c.status === "queued" || c.status === "offered") && <span data-testid="wait-time" data-since={waitingSince}>{t("list.waiting", { t: duration(now - Date.parse(waitingSince)) })}</span>}
      {offeredToMe && c.offer_expires_at && <span class="countdown" data-testid="countdown">{t("list.expires", { t: duration(Date.parse(c.offer_expires_at) - now) })}</span>}
    </div>
  );
}

/** Where a search found the conversation: the message's words around the match, marked. */
function Match({ m }: { m: SearchMatch }) {
  const parts = [];
  let at = 0;
  for (const [start, end] of m.highlights) {
    if (start > at) parts.push(m.text.slice(at, start));
    parts.push(<mark key={start}>{m.text.slice(start, end)}</mark>);
    at = end;
  }
  parts.push(m.text.slice(at));
  return (
    <div class="preview match" data-testid="match" title={t("list.foundIn")}>
      {m.hidden && <span class="tag">{t("msg.hidden")}</span>}{parts}
    </div>
  );
}

function Row({ c }: { c: Conv }) {
  const unread = Math.max(0, (c.unread || 0) - (S.seen.get(c.id) ?? 0));
  const offeredToMe = c.status === "offered" && c.offered_to.includes(S.me!.id);
  return (
    <li data-testid="conversation-item" data-id={c.id} class={S.selected === c.id ? "item on" : "item"} onClick={() => select(c.id)}>
      <ChannelIcon type={c.channel.type} />
      <div class="grow">
        <div class="row"><b class="name">{c.client.name || t("list.unknownClient")}</b>
          {unread > 0 && <span class="unread" data-testid="unread">{unread}</span>}
        </div>
        {c.match ? <Match m={c.match} /> : <div class="preview">{c.last_message?.text || t("list.noMessages")}</div>}
        <Waiting c={c} offeredToMe={offeredToMe} />
        {c.status === "closed" && <Rating csat={c.csat} comment />}
      </div>
      {offeredToMe && <button class="primary" data-testid="accept" onClick={(e) => { e.stopPropagation(); accept(c.id); }}>{t("act.accept")}</button>}
    </li>
  );
}
