// Whom to transfer a conversation to (an operator or another line), or whom to invite.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { Conv, Member } from "../api/types";
import { t } from "../i18n";
import { act } from "../state/conversations";
import { S } from "../state/store";
import { fail } from "../state/ui";

export function Picker({ c, mode, close }: { c: Conv; mode: "transfer" | "invite"; close: () => void }) {
  const [members, setMembers] = useState<Member[] | null>(null);
  const [lines, setLines] = useState<{ id: string; name: string }[]>([]);
  useEffect(() => {
    api.lineMembers(c.line_id)
      // A transfer goes to the line's operators (supervisors join or take over instead).
      .then((list) => setMembers(list.filter((m) => m.id !== S.me!.id && m.id !== c.assignee_id && (mode === "invite" || m.operator))))
      .catch((err) => { fail(err); close(); });
    // Any line, the caller's or not: an operator hands a sales question to the sales line.
    if (mode === "transfer") api.transferLines().then((all) => setLines(all.filter((l) => l.id !== c.line_id))).catch(fail);
  }, [c.id]);
  const pick = async (payload: Record<string, string>) => {
    const event = mode === "transfer" ? "conversation:transfer" : "conversation:invite";
    if (await act(event, c.id, payload)) close();
  };
  return (
    <div class="modal" data-testid={`${mode}-picker`} role="dialog" aria-modal="true"
      aria-label={t(mode === "transfer" ? "pick.transferTitle" : "pick.inviteTitle")}>
      <div class="card">
        <h3>{t(mode === "transfer" ? "pick.transferTitle" : "pick.inviteTitle")}</h3>
        <h4>{t("pick.operators")}</h4>
        {members === null ? <p>{t("conv.loading")}</p> : members.length === 0 ? <p>{t("pick.none")}</p> : (
          <ul class="pick">
            {members.map((m) => (
              <li key={m.id}><button data-testid="pick-user" data-user-id={m.id} onClick={() => pick(mode === "transfer" ? { to_user_id: m.id } : { user_id: m.id })}>
                <span class={`dot status-${m.status}`} /> {m.name} <small>{t(`status.${m.status}`)} · {t("pick.load", { n: m.active, max: m.max_active })}</small>
              </button></li>
            ))}
          </ul>
        )}
        {mode === "transfer" && lines.length > 0 && <><h4>{t("pick.lines")}</h4>
          <ul class="pick">{lines.map((l) => <li key={l.id}><button data-testid="pick-line" onClick={() => pick({ to_line_id: l.id })}>{l.name}</button></li>)}</ul></>}
        <button onClick={close}>{t("act.cancel")}</button>
      </div>
    </div>
  );
}
