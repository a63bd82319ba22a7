// Admin: editing one line — members, distribution, timeouts, working hours, the line's
// automatic messages, response-time targets (SLA), CSAT and what the CRM does with its conversations.
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import { listPipelines, type Pipeline } from "../api/crm";
import type { LineDraft, User, WorkingHours } from "../api/types";
import { t } from "../i18n";
import { loadLines } from "../state/session";
import { toast } from "../state/ui";
import { FieldError } from "../ui/FieldError";
import { pipelineName } from "../crm/format";
import { calendarDay } from "../ui/format";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DISTRIBUTIONS = ["round_robin", "strict_order", "all_at_once"];
const ANSWER_ACTIONS = ["next_operator", "queue"];
// Sticky routing: whom a returning client is offered first ("" = nobody in particular).
const PREFERS = ["", "last_operator", "crm_responsible"];
const PREFER_DEFAULT = { prefer: null, prefer_wait_s: 30 };
const MESSAGE_KEYS = ["welcome", "after_hours", "closing", "auto_close", "no_answer", "queued", "csat"];

// The response-time targets, in seconds like the line's other timers (unset: not watched).
const SLA_KEYS = ["first_answer_s", "next_answer_s", "resolve_s"];
const NO_SLA = { first_answer_s: null, next_answer_s: null, resolve_s: null, business_hours: false, notify_user_ids: [] as string[] };

function zones(): string[] {
  try { return (Intl as any).supportedValuesOf("timeZone"); } catch { return ["UTC", "Europe/Moscow"]; }
}

const nineToSix = (): WorkingHours => ({
  timezone: "UTC",
  week: { mon: [["09:00", "18:00"]], tue: [["09:00", "18:00"]], wed: [["09:00", "18:00"]], thu: [["09:00", "18:00"]], fri: [["09:00", "18:00"]], sat: [], sun: [] },
  holidays: [],
});

export function LineEditor({ line, users, done }: { line: LineDraft; users: User[]; done: () => void }) {
  const [v, setV] = useState(line);
  const set = (patch: Partial<LineDraft>) => setV({ ...v, ...patch });
  const num = (key: string) => (
    <input type="number" min={0} value={v[key] ?? ""} data-testid={`line-${key}`} onInput={(e) => {
      const raw = (e.target as HTMLInputElement).value; set({ [key]: raw === "" ? null : Number(raw) });
    }} />
  );
  const toggleMember = (key: "operators" | "supervisors", id: string) =>
    set({ [key]: v[key].includes(id) ? v[key].filter((x: string) => x !== id) : [...v[key], id] });
  const wh = v.working_hours as WorkingHours | null;
  const sla = { ...NO_SLA, ...(v.sla || {}) };
  const setSla = (patch: Record<string, unknown>) => set({ sla: { ...sla, ...patch } });
  const setWh = (patch: Partial<WorkingHours>) => set({ working_hours: { ...wh!, ...patch } });
  const [holiday, setHoliday] = useState("");
  const [err, setErr] = useState<unknown>(null);
  const problem = (name: string) => <FieldError err={err} name={name} />;
  const [pipelines, setPipelines] = useState<Pipeline[]>([]);
  // Only to name them: a line without the CRM (or a reader without it) keeps a bare id.
  useEffect(() => { listPipelines().then(setPipelines).catch(() => setPipelines([])); }, []);
  /** Moves an operator one place earlier or later: the order strict_order offers in. */
  const move = (i: number, by: -1 | 1) => {
    const list = [...v.operators];
    [list[i], list[i + by]] = [list[i + by], list[i]];
    set({ operators: list });
  };
  const nameOf = (id: string) => users.find((u) => u.id === id)?.name || id;
  const save = async () => {
    const { id: _id, created_at: _created, ...body } = v;
    setErr(null);
    try {
      if (line.id) await api.patchLine(line.id, body);
      else await api.createLine(body);
      await loadLines();
      toast(t("lines.saved"));
      done();
    } catch (error) { setErr(error); }
  };
  return (
    <div class="card form line-editor" data-testid="line-editor">
      <label>{t("lines.name")}<input data-testid="line-name" value={v.name} onInput={(e) => set({ name: (e.target as HTMLInputElement).value })} /></label>
      <FieldError err={err} name="name" />
      <fieldset><legend>{t("lines.operators")}</legend>
        {users.map((u) => <label key={u.id} class="inline"><input type="checkbox" data-testid="line-operator" data-user-id={u.id} checked={v.operators.includes(u.id)} onChange={() => toggleMember("operators", u.id)} />{u.name}</label>)}
        {v.operators.length > 1 && <ol class="order" data-testid="line-operator-order" aria-label={t("lines.order")}>{v.operators.map((id: string, i: number) => (
          <li key={id} data-user-id={id}>{nameOf(id)}{" "}
            <button type="button" aria-label={`${t("lines.moveUp")}: ${nameOf(id)}`} data-testid="line-operator-up" disabled={i === 0} onClick={() => move(i, -1)}>↑</button>
            <button type="button" aria-label={`${t("lines.moveDown")}: ${nameOf(id)}`} data-testid="line-operator-down" disabled={i === v.operators.length - 1} onClick={() => move(i, 1)}>↓</button>
          </li>))}</ol>}
      </fieldset>
      <fieldset><legend>{t("lines.supervisors")}</legend>
        {users.map((u) => <label key={u.id} class="inline"><input type="checkbox" data-testid="line-supervisor" data-user-id={u.id} checked={v.supervisors.includes(u.id)} onChange={() => toggleMember("supervisors", u.id)} />{u.name}</label>)}
      </fieldset>
      <label>{t("lines.distribution")}<select data-testid="line-distribution" value={v.distribution} onChange={(e) => set({ distribution: (e.target as HTMLSelectElement).value })}>
        {DISTRIBUTIONS.map((d) => <option key={d} value={d}>{t(`dist.${d}`)}</option>)}</select></label>
      <label>{t("lines.prefer")}<select data-testid="line-prefer" value={v.routing?.prefer ?? ""} onChange={(e) => set({ routing: { ...PREFER_DEFAULT, ...v.routing, prefer: (e.target as HTMLSelectElement).value || null } })}>
        {PREFERS.map((p) => <option key={p} value={p}>{t(`lines.prefer.${p || "none"}`)}</option>)}</select></label>
      {v.routing?.prefer && <label>{t("lines.preferWait")}<input type="number" min={0} data-testid="line-prefer_wait_s" value={v.routing?.prefer_wait_s ?? 30} onInput={(e) => {
        const raw = (e.target as HTMLInputElement).value; set({ routing: { ...PREFER_DEFAULT, ...v.routing, prefer_wait_s: raw === "" ? 0 : Number(raw) } });
      }} /></label>}
      <FieldError err={err} name="routing.prefer_wait_s" />
      <label>{t("lines.acceptTimeout")}{num("accept_timeout_s")}</label>
      <FieldError err={err} name="accept_timeout_s" />
      <label>{t("lines.maxActive")}{num("max_active_per_operator")}</label>
      <FieldError err={err} name="max_active_per_operator" />
      <label>{t("lines.noAnswer")}{num("no_answer_after_s")}</label>
      <FieldError err={err} name="no_answer_after_s" />
      <label>{t("lines.autoClose")}{num("auto_close_after_s")}</label>
      <FieldError err={err} name="auto_close_after_s" />
      <label>{t("lines.answerTimeout")}{num("answer_timeout_s")}</label>
      <FieldError err={err} name="answer_timeout_s" />
      <label>{t("lines.answerTimeoutAction")}<select data-testid="line-answer_timeout_action" value={v.answer_timeout_action ?? "next_operator"} onChange={(e) => set({ answer_timeout_action: (e.target as HTMLSelectElement).value })}>
        {ANSWER_ACTIONS.map((a) => <option key={a} value={a}>{t(`lines.answerTimeout.${a}`)}</option>)}</select></label>
      <fieldset data-testid="working-hours"><legend>{t("wh.title")}</legend>
        <label class="inline"><input type="checkbox" data-testid="wh-enabled" checked={!!wh} onChange={() => set({ working_hours: wh ? null : nineToSix() })} />{t("wh.enabled")}</label>
        {wh && <>
          <label>{t("wh.timezone")}<input list="ol-zones" data-testid="wh-timezone" value={wh.timezone} onInput={(e) => setWh({ timezone: (e.target as HTMLInputElement).value })} /></label>
          <datalist id="ol-zones">{zones().map((z) => <option key={z} value={z} />)}</datalist>
          <table class="week"><tbody>{DAYS.map((day) => (
            <tr key={day} data-testid={`wh-day-${day}`}><th>{t(`day.${day}`)}</th><td>
              {(wh.week[day] || []).length === 0 && <span class="muted">{t("wh.noIntervals")} </span>}
              {(wh.week[day] || []).map(([start, end], i) => {
                const change = (which: 0 | 1, value: string) => {
                  const list = (wh.week[day] || []).map((x) => [...x] as [string, string]);
                  list[i][which] = value;
                  setWh({ week: { ...wh.week, [day]: list } });
                };
                return <span key={i} class="interval">
                  <input type="time" data-testid="wh-start" value={start} onInput={(e) => change(0, (e.target as HTMLInputElement).value)} />–
                  <input type="time" data-testid="wh-end" value={end} onInput={(e) => change(1, (e.target as HTMLInputElement).value)} />
                  <button aria-label={t("act.delete")} onClick={() => setWh({ week: { ...wh.week, [day]: (wh.week[day] || []).filter((_, j) => j !== i) } })}>×</button>
                </span>;
              })}
              <button data-testid={`wh-add-${day}`} onClick={() => setWh({ week: { ...wh.week, [day]: [...(wh.week[day] || []), ["09:00", "18:00"]] } })}>{t("wh.addInterval")}</button>
            </td></tr>
          ))}</tbody></table>
          <div><b>{t("wh.holidays")}</b> {wh.holidays.map((h) => <span key={h} class="chip" data-testid="holiday">{calendarDay(h)} <button aria-label={t("act.delete")} onClick={() => setWh({ holidays: wh.holidays.filter((x) => x !== h) })}>×</button></span>)}
            <input type="date" data-testid="holiday-input" value={holiday} onInput={(e) => setHoliday((e.target as HTMLInputElement).value)} />
            <button data-testid="holiday-add" onClick={() => { if (holiday && !wh.holidays.includes(holiday)) setWh({ holidays: [...wh.holidays, holiday] }); setHoliday(""); }}>{t("act.add")}</button></div>
        </>}
        {problem("working_hours")}
      </fieldset>
      <fieldset><legend>{t("lines.messages")}</legend>
        {MESSAGE_KEYS.map((k) => <Fragment key={k}><label>{t(`lines.msg.${k}`)}<textarea rows={2} data-testid={`line-msg-${k}`} value={v.messages?.[k] ?? ""} onInput={(e) => set({ messages: { ...v.messages, [k]: (e.target as HTMLTextAreaElement).value || null } })} /></label>
          {problem(`messages.${k}`)}</Fragment>)}
      </fieldset>
      <fieldset data-testid="line-sla"><legend>{t("lines.sla")}</legend>
        <p class="hint">{t("lines.slaHint")}</p>
        {SLA_KEYS.map((k) => <Fragment key={k}><label>{t(`lines.sla.${k}`)}<input type="number" min={1} data-testid={`line-sla-${k}`} value={sla[k] ?? ""} onInput={(e) => {
          const raw = (e.target as HTMLInputElement).value; setSla({ [k]: raw === "" ? null : Number(raw) });
        }} /></label>{problem(`sla.${k}`)}</Fragment>)}
        <label class="inline"><input type="checkbox" data-testid="line-sla-business_hours" checked={!!sla.business_hours} onChange={() => setSla({ business_hours: !sla.business_hours })} />{t("lines.sla.business_hours")}</label>
        <fieldset><legend>{t("lines.sla.notify")}</legend>
          {users.map((u) => <label key={u.id} class="inline"><input type="checkbox" data-testid="line-sla-notify" data-user-id={u.id} checked={sla.notify_user_ids.includes(u.id)}
            onChange={() => setSla({ notify_user_ids: sla.notify_user_ids.includes(u.id) ? sla.notify_user_ids.filter((x: string) => x !== u.id) : [...sla.notify_user_ids, u.id] })} />{u.name}</label>)}
        </fieldset>
        {problem("sla")}
      </fieldset>
      <label class="inline"><input type="checkbox" checked={!!v.csat?.enabled} onChange={() => set({ csat: { enabled: !v.csat?.enabled } })} />{t("lines.csat")}</label>
      <fieldset><legend>{t("lines.crm")}</legend>
        <label class="inline"><input type="checkbox" checked={!!v.crm?.create_lead} onChange={() => set({ crm: { ...v.crm, create_lead: !v.crm?.create_lead } })} />{t("lines.crmLead")}</label>
        <label>{t("lines.crmSource")}<input value={v.crm?.source ?? ""} onInput={(e) => set({ crm: { ...v.crm, source: (e.target as HTMLInputElement).value || null } })} /></label>
        <label class="inline"><input type="checkbox" checked={!!v.crm?.deal_for_existing_contact} onChange={() => set({ crm: { ...v.crm, deal_for_existing_contact: !v.crm?.deal_for_existing_contact } })} />{t("lines.crmDeal")}</label>
        <label>{t("lines.crmPipeline")}<select data-testid="line-pipeline" value={v.crm?.pipeline_id ?? ""} onChange={(e) => set({ crm: { ...v.crm, pipeline_id: (e.target as HTMLSelectElement).value || null } })}>
          <option value="">{t("lines.crmPipelineDefault")}</option>
          {pipelines.map((p) => <option key={p.id} value={p.id}>{pipelineName(p)}</option>)}
          {v.crm?.pipeline_id && !pipelines.some((p) => p.id === v.crm.pipeline_id) && <option value={v.crm.pipeline_id}>{v.crm.pipeline_id}</option>}
        </select></label>
      </fieldset>
      <FieldError err={err} name="form" fields={["name", "accept_timeout_s", "max_active_per_operator", "no_answer_after_s", "auto_close_after_s", "answer_timeout_s", "working_hours", "messages", "sla", "routing"]} />
      <div class="row"><button class="primary" data-testid="line-save" onClick={save}>{t("act.save")}</button><button onClick={done}>{t("act.cancel")}</button></div>
    </div>
  );
}
