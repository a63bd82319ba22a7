// Quick answers: the user's own, those of their lines and those for everyone; each one they
// may manage can be edited and deleted (after a confirmation).
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { QuickAnswer } from "../api/types";
import { t } from "../i18n";
import { Confirm } from "../admin/Confirm";
import { forgetAnswers, quickAnswers } from "../state/answers";
import { isAdmin, oversees } from "../state/session";
import { S } from "../state/store";
import { fail, toast } from "../state/ui";
import { AnswerForm, scopeLabel } from "./AnswerForm";

/** Whether the user may change or delete it (the hub decides; this only hides the buttons). */
function manages(a: QuickAnswer): boolean {
  if (a.line_id) return oversees(a.line_id);
  if (a.scope === "everyone") return isAdmin();
  return !a.owner_id || a.owner_id === S.me?.id;
}

export function Answers() {
  const [items, setItems] = useState<QuickAnswer[]>([]);
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<QuickAnswer | null>(null);
  const reload = () => quickAnswers(true).then(setItems).catch(fail);
  useEffect(() => { reload(); }, []);
  return (
    <div class="page">
      <h2>{t("qa.title")}</h2>
      <table class="cards"><tbody>{items.map((a) => (
        editing === a.id
          ? <tr key={a.id}><td colSpan={4}><AnswerForm answer={a} idPrefix={`qa-edit-${a.id}`} testid="qa-edit-form"
              done={(saved) => { setEditing(null); if (saved) { toast(t("qa.saved")); reload(); } }} /></td></tr>
          : <tr key={a.id} data-testid="qa-row" data-answer-id={a.id}><td class="card-title"><b>{a.title}</b></td><td class="pre">{a.text}</td>
              <td data-label={t("qa.scope")} data-testid="qa-row-scope">{scopeLabel(a)}</td>
              <td>{manages(a) && <div class="row wrap">
                <button data-testid="qa-edit" aria-label={`${t("act.edit")}: ${a.title}`} onClick={() => setEditing(a.id)}>{t("act.edit")}</button>
                <button class="danger" data-testid="qa-delete" aria-label={`${t("act.delete")}: ${a.title}`} onClick={() => setDeleting(a)}>{t("act.delete")}</button>
              </div>}</td></tr>
      ))}</tbody></table>
      {deleting && (
        <Confirm testid="qa-delete-dialog" title={t("qa.deleteTitle", { title: deleting.title })} action={t("act.delete")} close={() => setDeleting(null)}
          run={async () => { await api.deleteQuickAnswer(deleting.id); forgetAnswers(); reload(); }}>
          <p class="pre">{deleting.text}</p>
        </Confirm>
      )}
      <h3>{t("qa.new")}</h3>
      <AnswerForm idPrefix="qa-new" done={(saved) => { if (saved) reload(); }} />
    </div>
  );
}
