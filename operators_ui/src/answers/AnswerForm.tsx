// One quick answer's title, text and who it is for, as created, edited, or saved from a
// message of a conversation. Who may write which scope (docs/console.md, "Editing"): anyone
// their own, a line's supervisors and admins the line's, admins everyone's.
import { useState } from "preact/hooks";
import * as api from "../api/client";
import type { QuickAnswer, QuickAnswerDraft } from "../api/types";
import { t } from "../i18n";
import { FieldError } from "../ui/FieldError";
import { forgetAnswers } from "../state/answers";
import { isAdmin, oversees } from "../state/session";
import { S } from "../state/store";

/** The scope select's value: "personal", "everyone" or "line:<id>". */
const scopeValue = (a: { scope?: string; line_id: string | null }): string =>
  a.line_id ? `line:${a.line_id}` : a.scope === "everyone" ? "everyone" : "personal";

function draftOf(value: string): Pick<QuickAnswerDraft, "scope" | "line_id"> {
  if (value.startsWith("line:")) return { scope: "line", line_id: value.slice(5) };
  return { scope: value === "everyone" ? "everyone" : "personal", line_id: null };
}

/** Where the user may put an answer: always their own; lines they oversee (not archived); everyone for admins. */
export function scopeOptions(current?: string): { value: string; label: string }[] {
  const lines = S.lines.filter((l) => oversees(l.id) && (!l.archived || `line:${l.id}` === current));
  return [
    { value: "personal", label: t("qa.personal") },
    ...lines.map((l) => ({ value: `line:${l.id}`, label: t("qa.forLine", { name: l.name }) })),
    ...(isAdmin() || current === "everyone" ? [{ value: "everyone", label: t("qa.everyone") }] : []),
  ];
}

/** What the list shows as an answer's scope. */
export function scopeLabel(a: QuickAnswer): string {
  if (a.line_id) return t("qa.forLine", { name: S.lines.find((l) => l.id === a.line_id)?.name || "…" });
  return t(a.scope === "everyone" ? "qa.everyone" : "qa.personal");
}

export function AnswerForm({ answer, initial, done, idPrefix, testid = "qa-form" }: {
  /** The answer being edited; none: a new one. */
  answer?: QuickAnswer;
  initial?: { title?: string; text?: string };
  done: (saved: QuickAnswer | null) => void;
  idPrefix: string;
  testid?: string;
}) {
  const [title, setTitle] = useState(answer?.title ?? initial?.title ?? "");
  const [text, setText] = useState(answer?.text ?? initial?.text ?? "");
  const [scope, setScope] = useState(answer ? scopeValue(answer) : "personal");
  const [err, setErr] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    const draft: QuickAnswerDraft = { title, text, ...draftOf(scope) };
    try {
      let saved: QuickAnswer;
      if (!answer) saved = await api.createQuickAnswer(draft);
      else {
        // Only what changed: a scope left alone is not asked for again.
        const patch: Partial<QuickAnswerDraft> = {};
        if (title !== answer.title) patch.title = title;
        if (text !== answer.text) patch.text = text;
        if (scope !== scopeValue(answer)) Object.assign(patch, draftOf(scope));
        saved = Object.keys(patch).length ? await api.patchQuickAnswer(answer.id, patch) : answer;
      }
      forgetAnswers();
      if (!answer) { setTitle(""); setText(""); }
      done(saved);
    } catch (error) { setErr(error); }
  };
  const id = (k: string) => `${idPrefix}-${k}`;
  return (
    <form class="card form stack" onSubmit={submit} data-testid={testid}>
      <label for={id("title")}>{t("qa.name")}</label>
      <input id={id("title")} name="title" required maxLength={100} data-testid="qa-title" value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
      <FieldError err={err} name="title" />
      <label for={id("text")}>{t("qa.text")}</label>
      <textarea id={id("text")} name="text" required maxLength={4000} rows={3} data-testid="qa-text" value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <FieldError err={err} name="text" />
      <label for={id("scope")}>{t("qa.scope")}</label>
      <select id={id("scope")} name="scope" data-testid="qa-scope" value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value)}>
        {scopeOptions(answer ? scopeValue(answer) : undefined).map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
      <FieldError err={err} name="form" fields={["title", "text"]} />
      <div class="row"><button class="primary" type="submit" data-testid="qa-save">{t("act.save")}</button>
        {(answer || initial) && <button type="button" data-testid="qa-cancel" onClick={() => done(null)}>{t("act.cancel")}</button>}</div>
    </form>
  );
}
