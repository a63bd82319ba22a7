// Admin: the lines, and a new or existing one in the editor.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { LineDraft, User } from "../api/types";
import { t } from "../i18n";
import { S } from "../state/store";
import { fail } from "../state/ui";
import { LineEditor } from "./LineEditor";

// The texts a new line starts with, in the console's language (the hub's own defaults are English).
const defaultTexts = (): Record<string, string> =>
  Object.fromEntries(["no_answer", "queued", "csat"].map((k) => [k, t(`lines.default.${k}`)]));

function blankLine(): LineDraft {
  return {
    name: "", operators: [], supervisors: [], distribution: "round_robin", accept_timeout_s: 60,
    max_active_per_operator: 5, working_hours: null, messages: defaultTexts(), no_answer_after_s: 60,
    auto_close_after_s: 86400, csat: { enabled: false }, crm: { create_lead: true, source: null, deal_for_existing_contact: false, pipeline_id: null },
  };
}

export function Lines() {
  const [editing, setEditing] = useState<LineDraft | null>(null);
  const [users, setUsers] = useState<User[]>([]);
  useEffect(() => { api.listUsers().then(setUsers).catch(fail); }, []);
  return (
    <div class="page">
      <h2>{t("lines.title")}</h2>
      <ul class="plain">{S.lines.map((l) => (
        <li key={l.id} data-testid="line-row"><b>{l.name}</b> · {t(`dist.${l.distribution}`)} <button onClick={() => setEditing(structuredClone(l))}>{t("act.edit")}</button></li>
      ))}</ul>
      <button class="primary" data-testid="line-new" onClick={() => setEditing(blankLine())}>{t("lines.new")}</button>
      {editing && <LineEditor line={editing} users={users} done={() => setEditing(null)} />}
    </div>
  );
}
