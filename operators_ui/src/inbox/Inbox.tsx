// The inbox: tabs of conversations (offered, mine, pinned, queue, all, closed) beside the open one.
import { useState } from "preact/hooks";
import type { Conv, SearchMatch } from "../api/types";
import { Conversation } from "../conversation/Conversation";
import { t } from "../i18n";
import { useNow } from "../state/clock";
import { accept, inTab, late, listed, loadClosed, loadMoreClosed, nextDue, select, tabs } from "../state/conversations";
import { unreadOf } from "../state/notice";
import { S, type InboxOrder, type InboxTab } from "../state/store";
import { showOpened, showsConversation } from "../shell/phone";
import { fail, setClosedQuery, setInboxOrder, setInboxTab, setLateOnly } from "../state/ui";
import { duration } from "../ui/format";
import { ChannelIcon } from "../ui/Icon";
import { Rating } from "../ui/Rating";

function openTab(tab: InboxTab): void {
  setInboxTab(tab);
  if (tab === "closed") loadClosed().catch(fail);
}

/** The list's keys: the arrows, Home and End move between rows, Enter or Space opens one. */
function onListKey(e: KeyboardEvent): void {
  const list = e.currentTarget as HTMLElement;
  const rows = [...list.querySelectorAll<HTMLElement>(":scope > li[data-id]")];
  const at = rows.indexOf(e.target as HTMLElement);
  // Keys on a row's own button (Accept) are the button's; Alt+arrows are the inbox shortcuts.
  if (at < 0 || e.altKey || e.ctrlKey || e.metaKey) return;
  const next = { ArrowDown: Math.min(rows.length - 1, at + 1), ArrowUp: Math.max(0, at - 1), Home: 0, End: rows.length - 1 }[e.key];
  if (next !== undefined) { e.preventDefault(); rows[next].focus(); return; }
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); showOpened(); select(rows[at].dataset.id!); }
}

export function Inbox() {
  const items = listed();
  // One row is in the Tab order (roving tabindex): the one last focused, else the open one,
  // else the first; the arrows move from there.
  const [focused, setFocused] = useState<string | null>(null);
  const stop = [focused, S.selected].find((id) => id && items.some((c) => c.id === id)) || items[0]?.id;
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
        {S.tab !== "closed" && (
          <div class="row list-tools" data-testid="list-tools">
            <label>{t("list.order")}{" "}
              <select data-testid="list-order" value={S.order} onChange={(e) => setInboxOrder((e.target as HTMLSelectElement).value as InboxOrder)}>
                <option value="newest">{t("list.order.newest")}</option>
                <option value="due">{t("list.order.due")}</option>
              </select>
            </label>
            <label class="inline"><input type="checkbox" data-testid="list-late" checked={S.lateOnly} onChange={() => setLateOnly(!S.lateOnly)} />{t("list.lateOnly")}</label>
          </div>
        )}
        {S.tab === "closed" && (
          <input class="search" data-testid="closed-search" placeholder={t("list.search")} value={S.closedQ}
            onInput={(e) => { setClosedQuery((e.target as HTMLInputElement).value); loadClosed().catch(fail); }} />
        )}
        <ul data-testid="conversation-list" aria-label={t(`tab.${S.tab}`)} onClickCapture={showOpened} onKeyDown={onListKey}>
          {items.map((c) => <Row key={c.id} c={c} tabStop={c.id === stop} onFocus={() => setFocused(c.id)} />)}
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
      <Due c={c} now={now} />
    </div>
  );
}

/** The response-time clock: "late" once one ran out, else the time left on the soonest. */
function Due({ c, now }: { c: Conv; now: number }) {
  if (c.status === "closed") return null;
  if (late(c)) {
    const kinds = c.sla!.breached.map((k) => t(`sla.kind.${k}`)).join(", ");
    return <span class="tag late" data-testid="sla-late" title={kinds}>{t("sla.late")}</span>;
  }
  const due = nextDue(c);
  if (!Number.isFinite(due)) return null;
  const left = due - now;
  return left > 0
    ? <span class="due" data-testid="sla-due">{t("sla.dueIn", { t: duration(left) })}</span>
    : <span class="tag late" data-testid="sla-late">{t("sla.late")}</span>;
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

function Row({ c, tabStop, onFocus }: { c: Conv; tabStop: boolean; onFocus: () => void }) {
  const unread = unreadOf(c);
  const offeredToMe = c.status === "offered" && c.offered_to.includes(S.me!.id);
  return (
    <li data-testid="conversation-item" data-id={c.id} class={S.selected === c.id ? "item on" : "item"} tabIndex={tabStop ? 0 : -1}
      aria-current={S.selected === c.id ? "true" : undefined} onFocus={(e) => { if (e.target === e.currentTarget) onFocus(); }} onClick={() => select(c.id)}>
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
