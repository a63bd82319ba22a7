// The reply box: text with drafts per conversation, "/" quick answers, emoji, attachments,
// the hidden (whisper) mode, and the typing signal to the client.
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../api/client";
import type { Attachment, Conv, QuickAnswer } from "../api/types";
import { t } from "../i18n";
import { quickAnswers } from "../state/answers";
import { emit } from "../state/socket";
import { S } from "../state/store";
import { sendMessage } from "../state/threads";
import { fail } from "../state/ui";
import { Icon } from "../ui/Icon";

const EMOJI = "😀 😂 😊 😍 🤔 😢 👍 🙏 👋 🎉 ❤️ 🔥 ✅ ⭐ 🚚 💳".split(" ");

// Unsent text per conversation: it survives switching between conversations.
const drafts = new Map<string, string>();

export function Composer({ c }: { c: Conv }) {
  const [text, setText] = useState(drafts.get(c.id) || "");
  const [chosenHidden, setHidden] = useState(false);
  // Joined hidden and not the assignee: everything written is a whisper until a take-over.
  const me = S.me!.id;
  const whisperOnly = c.assignee_id !== me && c.participants.some((p) => p.user_id === me && p.hidden);
  const hidden = whisperOnly || chosenHidden;
  const [files, setFiles] = useState<Attachment[]>([]);
  const [uploading, setUploading] = useState<string | null>(null);
  const [emoji, setEmoji] = useState(false);
  const [answers, setAnswers] = useState<QuickAnswer[] | null>(null);
  const [pickIdx, setPickIdx] = useState(0);
  const area = useRef<HTMLTextAreaElement>(null);
  const typingOn = useRef(false);
  const typingTimer = useRef<number | undefined>(undefined);
  useEffect(() => { setText(drafts.get(c.id) || ""); setFiles([]); setHidden(false); }, [c.id]);
  useEffect(() => {
    const focus = () => area.current?.focus();
    window.addEventListener("ol-focus-composer", focus);
    return () => window.removeEventListener("ol-focus-composer", focus);
  }, []);
  const stopTyping = () => {
    if (typingOn.current) { typingOn.current = false; emit("typing", { conversation_id: c.id, on: false }).catch(() => undefined); }
  };
  const onInput = async (value: string) => {
    setText(value);
    drafts.set(c.id, value);
    if (value.startsWith("/")) {
      const q = value.slice(1).toLowerCase();
      const all = await quickAnswers();
      setAnswers(all.filter((a) => a.title.toLowerCase().includes(q) || a.text.toLowerCase().includes(q)));
      setPickIdx(0);
    } else setAnswers(null);
    if (!hidden && value) {
      if (!typingOn.current) { typingOn.current = true; emit("typing", { conversation_id: c.id, on: true }).catch(() => undefined); }
      clearTimeout(typingTimer.current);
      typingTimer.current = window.setTimeout(stopTyping, 3000);
    }
  };
  // The phone's way to quick answers (no "/" to type on the go): all of them, picked with a tap
  // or, the focus back in the text, with the arrows and Enter as after "/".
  const toggleAnswers = async () => {
    if (answers) { setAnswers(null); return; }
    try { setAnswers(await quickAnswers()); } catch (err) { fail(err); return; }
    setPickIdx(0);
    area.current?.focus();
  };
  const useAnswer = (a: QuickAnswer) => { setText(a.text); drafts.set(c.id, a.text); setAnswers(null); area.current?.focus(); };
  const send = async () => {
    const body = text.trim();
    if (!body && !files.length) return;
    const attached = files;
    setText(""); drafts.delete(c.id); setFiles([]); setAnswers(null);
    clearTimeout(typingTimer.current); stopTyping();
    await sendMessage(c.id, body, hidden, attached);
  };
  const onKey = (e: KeyboardEvent) => {
    if (answers && answers.length) {
      if (e.key === "ArrowDown") { e.preventDefault(); setPickIdx((pickIdx + 1) % answers.length); return; }
      if (e.key === "ArrowUp") { e.preventDefault(); setPickIdx((pickIdx - 1 + answers.length) % answers.length); return; }
      if (e.key === "Enter") { e.preventDefault(); useAnswer(answers[pickIdx]); return; }
      if (e.key === "Escape") { setAnswers(null); return; }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  };
  const attach = async (e: Event) => {
    const input = e.target as HTMLInputElement;
    for (const file of Array.from(input.files || [])) {
      try {
        setUploading(t("compose.uploading", { name: file.name, p: 0 }));
        const stored = await api.uploadFile(file, (p) => setUploading(t("compose.uploading", { name: file.name, p })), t("compose.uploadFailed"));
        setFiles((prev) => [...prev, stored]);
      } catch (err) { fail(err); }
    }
    setUploading(null);
    input.value = "";
  };
  return (
    <div class={hidden ? "composer whisper" : "composer"} data-testid="composer-box" data-hidden={hidden ? "true" : "false"}>
      {hidden && <div class="whisper-note" data-testid="whisper-banner">{t(whisperOnly ? "compose.whisperOnly" : "compose.hiddenBanner")}</div>}
      {answers && (
        <ul class="answers" data-testid="quick-answers" id={`answers-${c.id}`}>
          {answers.length === 0 ? <li class="empty">{t("qa.none")}</li> : answers.map((a, i) => (
            <li key={a.id} class={i === pickIdx ? "on" : ""} data-testid="quick-answer" onMouseDown={(e) => { e.preventDefault(); useAnswer(a); }}><b>{a.title}</b> {a.text.slice(0, 80)}</li>
          ))}
        </ul>
      )}
      {emoji && <div class="emoji">{EMOJI.map((x) => <button key={x} onClick={() => { onInput(text + x); setEmoji(false); area.current?.focus(); }}>{x}</button>)}</div>}
      {(files.length > 0 || uploading) && (
        <div class="files">{files.map((f) => <span key={f.id} class="chip"><Icon name="clip" size={14} /> {f.name}</span>)}{uploading && <span class="chip" data-testid="upload-progress">{uploading}</span>}</div>
      )}
      <textarea ref={area} data-testid="composer" rows={3} value={text}
        placeholder={t(hidden ? "compose.hiddenPlaceholder" : "compose.placeholder")}
        onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)} onKeyDown={onKey} />
      <div class="tools">
        <button data-testid="hidden-toggle" aria-pressed={hidden} disabled={whisperOnly} class={hidden ? "toggle on" : "toggle"} onClick={() => { setHidden(!hidden); stopTyping(); }}><Icon name="lock" size={14} /> {t("compose.hidden")}</button>
        <button title={t("compose.emoji")} aria-label={t("compose.emoji")} onClick={() => setEmoji(!emoji)}><Icon name="smile" /></button>
        <label class="button" title={t("compose.attach")}><Icon name="clip" /><input type="file" class="sr" data-testid="attach" multiple onChange={attach} /><span class="sr">{t("compose.attach")}</span></label>
        <button class="phone-only" data-testid="quick-answers-toggle" aria-expanded={!!answers} aria-controls={`answers-${c.id}`}
          title={t("compose.quick")} onClick={toggleAnswers}><span aria-hidden="true">/</span><span class="sr">{t("compose.quick")}</span></button>
        <span class="grow" />
        <button class="primary" data-testid="send" onClick={send}>{t("compose.send")}</button>
      </div>
    </div>
  );
}
