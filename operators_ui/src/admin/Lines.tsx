// Admin: the lines, a new or existing one in the editor, and archiving or deleting one (each
// after a confirmation). A line with open conversations cannot be deleted: archiving is offered.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { Line, LineDraft, User } from "../api/types";
import { ApiError } from "../api/http";
import { t } from "../i18n";
import { loadLines } from "../state/session";
import { S } from "../state/store";
import { fail, toast } from "../state/ui";
import { Confirm } from "./Confirm";
import { LineEditor } from "./LineEditor";

// The texts a new line starts with, in the console's language (the hub's own defaults are English).
const defaultTexts = (): Record<string, string> =>
  Object.fromEntries(["no_answer", "queued", "csat"].map((k) => [k, t(`lines.default.${k}`)]));

function blankLine(): LineDraft {
  return {
    name: "", operators: [], supervisors: [], distribution: "round_robin", accept_timeout_s: 60,
    max_active_per_operator: 5, working_hours: null, messages: defaultTexts(), no_answer_after_s: 60,
    auto_close_after_s: 86400, answer_timeout_s: null, answer_timeout_action: "next_operator", csat: { enabled: false }, crm: { create_lead: true, source: null, deal_for_existing_contact: false, pipeline_id: null },
  };
}

type Pending = { line: Line; what: "delete" | "archive" | "restore"; open?: number };

/** The confirmation of one step; a refused delete (open conversations) turns into the offer to archive. */
function LineConfirm({ pending, set }: { pending: Pending; set: (p: Pending | null) => void }) {
  const { line, what } = pending;
  const close = () => set(null);
  const archive = (archived: boolean) => async () => {
    await api.patchLine(line.id, { archived });
    await loadLines();
    toast(t(archived ? "lines.archivedDone" : "lines.restoredDone"));
  };
  if (what === "delete") {
    const run = async () => {
      try {
        await api.deleteLine(line.id);
      } catch (err) {
        if (err instanceof ApiError && err.code === "line_in_use") {
          const open = Number((err as ApiError & { details?: { open_conversations?: number } }).details?.open_conversations) || undefined;
          // Swapped for the archive offer in the same step: the dialog stays open.
          set({ line, what: "archive", open: open ?? -1 });
          return false;
        }
        throw err;
      }
      await loadLines();
      toast(t("lines.deleted"));
    };
    return (
      <Confirm key="delete" testid="line-delete-dialog" title={t("lines.deleteTitle", { name: line.name })} action={t("act.delete")} run={run} close={close}>
        <p>{t("lines.deleteText")}</p>
      </Confirm>
    );
  }
  if (what === "archive") {
    return (
      <Confirm key="archive" testid="line-archive-dialog" title={t("lines.archiveTitle", { name: line.name })} action={t("lines.archive")} run={archive(true)} close={close}>
        {pending.open !== undefined && <p data-testid="line-in-use">{pending.open > 0 ? t("lines.inUseCount", { n: pending.open }) : t("lines.inUse")}</p>}
        <p>{t("lines.archiveText")}</p>
      </Confirm>
    );
  }
  return (
    <Confirm key="restore" testid="line-restore-dialog" danger={false} title={t("lines.restoreTitle", { name: line.name })} action={t("lines.restore")} run={archive(false)} close={close}>
      <p>{t("lines.restoreText")}</p>
    </Confirm>
  );
}

export function Lines() {
  const [editing, setEditing] = useState<LineDraft | null>(null);
  const [users, setUsers] = useState<User[]>([]);
  const [pending, setPending] = useState<Pending | null>(null);
  useEffect(() => { api.listUsers().then(setUsers).catch(fail); }, []);
  return (
    <div class="page">
      <h2>{t("lines.title")}</h2>
      <ul class="plain">{S.lines.map((l) => (
        <li key={l.id} data-testid="line-row" data-line-id={l.id} data-archived={l.archived ? "true" : "false"} class="row wrap">
          <b>{l.name}</b> · {t(`dist.${l.distribution}`)}
          {l.archived && <span class="chip" data-testid="line-archived">{t("lines.archived")}</span>}
          <button data-testid="line-edit" aria-label={`${t("act.edit")}: ${l.name}`} onClick={() => setEditing(structuredClone(l))}>{t("act.edit")}</button>
          {l.archived
            ? <button data-testid="line-restore" onClick={() => setPending({ line: l, what: "restore" })}>{t("lines.restore")}</button>
            : <button data-testid="line-archive" onClick={() => setPending({ line: l, what: "archive" })}>{t("lines.archive")}</button>}
          <button class="danger" data-testid="line-delete" aria-label={`${t("act.delete")}: ${l.name}`} onClick={() => setPending({ line: l, what: "delete" })}>{t("act.delete")}</button>
        </li>
      ))}</ul>
      <button class="primary" data-testid="line-new" onClick={() => setEditing(blankLine())}>{t("lines.new")}</button>
      {editing && <LineEditor key={editing.id || "new"} line={editing} users={users} done={() => setEditing(null)} />}
      {pending && <LineConfirm pending={pending} set={setPending} />}
    </div>
  );
}
