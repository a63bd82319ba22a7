// A conversation's messages: day separators, bubbles with attachments and delivery state, and
// older pages loaded when scrolled to the top (keeping the view where it was).
import { Fragment } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Attachment, Msg } from "../api/types";
import { SaveAsAnswer } from "../answers/SaveAsAnswer";
import { messageText, t } from "../i18n";
import { loadOlder, thread } from "../state/threads";
import { fail } from "../state/ui";
import { dayLabel, fileSize, timeOfDay } from "../ui/format";
import { Icon } from "../ui/Icon";

function Bubble({ m, save }: { m: Msg; save: (m: Msg) => void }) {
  const kind = m.direction === "system" ? "system" : m.direction;
  return (
    <div data-testid="message" data-seq={m.seq} data-hidden={m.hidden ? "true" : "false"} class={`msg ${kind}${m.hidden ? " hidden" : ""}`}>
      <div class="who">
        {m.direction === "system" ? t("msg.system") : m.author.name || (m.direction === "in" ? t("list.unknownClient") : "")}
        {m.hidden && <span class="tag" data-testid="hidden-tag">{t("msg.hidden")}</span>}
      </div>
      {m.text && <div class="text">{messageText(m)}</div>}
      {m.attachments.map((a) => <AttachmentView key={a.id} a={a} />)}
      {m.original && (
        <a class="file" data-testid="original" href={m.original.url || `/api/v1/files/${m.original.id}`} download={m.original.name}>
          <Icon name="clip" size={14} /> {t("msg.original")}
        </a>
      )}
      <div class="when">{timeOfDay(m.created_at)}
        {m.direction === "out" && !m.hidden && <span class="delivery" data-testid="delivery" data-status={m.status}> · {t(`msg.${m.status}`)}</span>}
        {m.direction !== "system" && m.text && !m.local && <button class="link msg-action" data-testid="msg-save-answer" onClick={() => save(m)}>{t("qa.saveAction")}</button>}
      </div>
    </div>
  );
}

// The box a picture is previewed in (as .preview-img in styles.ts).
const PREVIEW_W = 240;
const PREVIEW_H = 180;

/** The size a picture is previewed at, from the pixels the hub stored for it: set as the
 * image's width and height, its room is kept before it loads, so the thread does not jump. */
function previewSize(a: Attachment): { width: number; height: number } | null {
  if (!a.width || !a.height) return null;
  const scale = Math.min(1, PREVIEW_W / a.width, PREVIEW_H / a.height);
  return { width: Math.max(1, Math.round(a.width * scale)), height: Math.max(1, Math.round(a.height * scale)) };
}

function AttachmentView({ a }: { a: Attachment }) {
  const url = a.url || `/api/v1/files/${a.id}`;
  if (a.mime.startsWith("image/")) {
    const size = previewSize(a);
    return <a href={url} target="_blank" rel="noopener"><img class="preview-img" src={url} alt={a.name} width={size?.width} height={size?.height} /></a>;
  }
  return <a class="file" href={url} target="_blank" rel="noopener" download={a.name}><Icon name="clip" size={14} /> {a.name} ({fileSize(a.size)})</a>;
}

/** A stable key per message: stored ones are unique by seq (merge() keeps one per seq). */
const messageKey = (m: Msg): string => (m.local ? `local-${m.id}` : `seq-${m.seq}`);

/** Within this many pixels of the bottom, the newest message counts as in view. */
const AT_END_PX = 32;

export function Thread({ id }: { id: string }) {
  const th = thread(id);
  const [saving, setSaving] = useState<Msg | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const prev = useRef({ height: 0, first: 0, last: 0 });
  // Whether the reader is at the newest message: then what grows or shrinks the view (an
  // image without a stored size loading, a phone's keyboard opening) keeps it in view.
  const atEnd = useRef(true);
  const toEnd = () => { const el = box.current; if (el) el.scrollTop = el.scrollHeight; };
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const first = th.msgs[0]?.seq || 0;
    const last = th.msgs.length;
    if (prev.current.first && first < prev.current.first) {
      el.scrollTop += el.scrollHeight - prev.current.height; // older page above: keep the view
    } else if (last !== prev.current.last) {
      el.scrollTop = el.scrollHeight;
      atEnd.current = true;
    }
    prev.current = { height: el.scrollHeight, first, last };
  });
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const watch = new ResizeObserver(() => { if (atEnd.current) toEnd(); });
    watch.observe(el);
    return () => watch.disconnect();
  }, []);
  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight <= AT_END_PX;
    if (el.scrollTop < 40 && !th.complete) { prev.current.height = el.scrollHeight; loadOlder(id).catch(fail); }
  };
  // "load" does not bubble: caught on the way down, for every picture of the thread.
  const onLoad = (e: Event) => { if (e.target instanceof HTMLImageElement && atEnd.current) toEnd(); };
  let lastDay = "";
  return (
    <div class="thread" ref={box} onScroll={onScroll} onLoadCapture={onLoad} data-testid="thread">
      {th.loading && <p class="empty">{t("conv.loading")}</p>}
      {th.older && <p class="empty">{t("conv.older")}</p>}
      {th.complete && th.msgs.length > 0 && <p class="start">{t("conv.start")}</p>}
      {th.msgs.map((m) => {
        const day = new Date(m.created_at).toDateString();
        const sep = day !== lastDay ? <div class="day" data-testid="day-separator">{dayLabel(m.created_at)}</div> : null;
        lastDay = day;
        return <Fragment key={messageKey(m)}>{sep}<Bubble m={m} save={setSaving} /></Fragment>;
      })}
      {saving && <SaveAsAnswer msg={saving} close={() => setSaving(null)} />}
    </div>
  );
}
