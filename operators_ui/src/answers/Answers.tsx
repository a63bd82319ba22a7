// Quick answers: the user's own and those of the lines they oversee.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { QuickAnswer } from "../api/types";
import { t } from "../i18n";
import { quickAnswers } from "../state/answers";
import { oversees } from "../state/session";
import { S } from "../state/store";
import { fail } from "../state/ui";

export function Answers() {
  const [items, setItems] = useState<QuickAnswer[]>([]);
  const reload = () => quickAnswers(true).then(setItems).catch(fail);
  useEffect(() => { reload(); }, []);
  const managed = S.lines.filter((l) => oversees(l.id));
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const d = new FormData(form);
    try {
      await api.createQuickAnswer({ title: String(d.get("title") ?? ""), text: String(d.get("text") ?? ""), line_id: String(d.get("line_id") || "") || null });
      form.reset();
      reload();
    } catch (err) { fail(err); }
  };
  return (
    <div class="page">
      <h2>{t("qa.title")}</h2>
      <table class="cards"><tbody>{items.map((a) => (
        <tr key={a.id}><td class="card-title"><b>{a.title}</b></td><td class="pre">{a.text}</td><td data-label={t("qa.scope")}>{a.line_id ? S.lines.find((l) => l.id === a.line_id)?.name : t("qa.personal")}</td>
          <td><button onClick={() => api.deleteQuickAnswer(a.id).then(reload).catch(fail)}>{t("act.delete")}</button></td></tr>
      ))}</tbody></table>
      <form class="card form" onSubmit={submit} data-testid="qa-form">
        <label>{t("qa.name")}<input name="title" required maxLength={100} data-testid="qa-title" /></label>
        <label>{t("qa.text")}<textarea name="text" required rows={3} data-testid="qa-text" /></label>
        <label>{t("qa.scope")}<select name="line_id"><option value="">{t("qa.personal")}</option>{managed.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}</select></label>
        <button class="primary" type="submit" data-testid="qa-save">{t("act.save")}</button>
      </form>
    </div>
  );
}
