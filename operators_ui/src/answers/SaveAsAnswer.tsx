// "Save as quick answer" on a message of the thread: the answer form in a dialog, the
// message's text in it and its first words as the title.
import { useEffect, useRef } from "preact/hooks";
import type { Msg } from "../api/types";
import { t } from "../i18n";
import { toast } from "../state/ui";
import { AnswerForm } from "./AnswerForm";

const TITLE_CHARS = 40;

function titleOf(text: string): string {
  const line = text.trim().split("\n")[0];
  if (line.length <= TITLE_CHARS) return line;
  const cut = line.slice(0, TITLE_CHARS);
  return `${cut.slice(0, cut.lastIndexOf(" ") > 10 ? cut.lastIndexOf(" ") : TITLE_CHARS)}…`;
}

export function SaveAsAnswer({ msg, close }: { msg: Msg; close: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => { if (ref.current && !ref.current.open) ref.current.showModal?.(); }, []);
  return (
    <dialog ref={ref} class="confirm card" data-testid="qa-save-dialog" aria-labelledby="qa-save-title"
      onCancel={(e) => { e.preventDefault(); close(); }}>
      <h3 id="qa-save-title">{t("qa.saveFromMessage")}</h3>
      <AnswerForm idPrefix={`qa-msg-${msg.id}`} testid="qa-msg-form" initial={{ title: titleOf(msg.text), text: msg.text }}
        done={(saved) => { if (saved) toast(t("qa.saved")); close(); }} />
    </dialog>
  );
}
