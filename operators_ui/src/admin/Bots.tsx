// Admin: the bots that answer first (issue 17, point 5) — a menu of nodes; the first greets,
// each says its text in Russian and English and offers choices that lead to another node or do
// something (answer, transfer to a line, hand over to an operator, send a form, close).
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { Bot, BotAction, BotChoice, BotDraft, BotNode, Form } from "../api/types";
import { t } from "../i18n";
import { S } from "../state/store";
import { fail, toast } from "../state/ui";
import { FieldError } from "../ui/FieldError";
import { Confirm } from "./Confirm";
import { TextsInput } from "./Forms";

const ACTIONS = ["next", "answer", "transfer", "operator", "form", "close"];
const empty = () => ({ ru: null, en: null });
const blankNode = (n: number): BotNode => ({ id: n === 1 ? "start" : `node_${n}`, text: empty(), choices: [] });
const blankBot = (): BotDraft => ({ name: "", nodes: [blankNode(1)] });

/** What a choice does, as the select shows it: "next" (another node) or its action's type. */
const doing = (c: BotChoice): string => (c.action ? c.action.type : "next");

function withDoing(c: BotChoice, what: string, nodes: BotNode[]): BotChoice {
  if (what === "next") return { label: c.label, next: nodes[0]?.id ?? "start" };
  const action: BotAction = what === "answer" ? { type: "answer", text: empty() }
    : what === "transfer" ? { type: "transfer", line_id: S.lines[0]?.id ?? "" }
    : what === "form" ? { type: "form", form_id: "" }
    : { type: what as "operator" | "close" };
  return { label: c.label, action };
}

function ChoiceEditor({ c, nodes, forms, set, remove, err, at }: {
  c: BotChoice; nodes: BotNode[]; forms: Form[]; set: (c: BotChoice) => void; remove: () => void; err: unknown; at: string;
}) {
  const a = c.action;
  return (
    <div class="card choice" data-testid="bot-choice">
      <TextsInput value={c.label} label={t("bots.choice")} testid="bot-choice-label" set={(label) => set({ ...c, label })} />
      <label>{t("bots.does")}<select data-testid="bot-choice-does" value={doing(c)} onChange={(e) => set(withDoing(c, (e.target as HTMLSelectElement).value, nodes))}>
        {ACTIONS.map((x) => <option key={x} value={x}>{t(`bots.does.${x}`)}</option>)}</select></label>
      {!a && <label>{t("bots.next")}<select data-testid="bot-choice-next" value={c.next ?? ""} onChange={(e) => set({ ...c, next: (e.target as HTMLSelectElement).value })}>
        {nodes.map((n) => <option key={n.id} value={n.id}>{n.id}</option>)}</select></label>}
      {a?.type === "answer" && <TextsInput value={a.text} label={t("bots.answer")} testid="bot-choice-answer" set={(text) => set({ ...c, action: { type: "answer", text } })} />}
      {a?.type === "transfer" && <label>{t("bots.line")}<select data-testid="bot-choice-line" value={a.line_id} onChange={(e) => set({ ...c, action: { type: "transfer", line_id: (e.target as HTMLSelectElement).value } })}>
        {S.lines.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}</select></label>}
      {a?.type === "form" && <label>{t("bots.form")}<select data-testid="bot-choice-form" value={a.form_id} onChange={(e) => set({ ...c, action: { type: "form", form_id: (e.target as HTMLSelectElement).value } })}>
        <option value="">—</option>{forms.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}</select></label>}
      <FieldError err={err} name={at} />
      <button class="danger" data-testid="bot-choice-remove" onClick={remove}>{t("bots.removeChoice")}</button>
    </div>
  );
}

function BotEditor({ bot, done }: { bot: Bot | BotDraft; done: (saved: boolean) => void }) {
  const [v, setV] = useState<BotDraft>({ name: bot.name, nodes: bot.nodes.map((n) => ({ ...n, choices: [...n.choices] })) });
  const [forms, setForms] = useState<Form[]>([]);
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => { api.listForms().then(setForms).catch(() => setForms([])); }, []);
  const setNode = (i: number, patch: Partial<BotNode>) => setV({ ...v, nodes: v.nodes.map((n, j) => (j === i ? { ...n, ...patch } : n)) });
  const save = async () => {
    setErr(null);
    try {
      if ("id" in bot) await api.patchBot(bot.id, v);
      else await api.createBot(v);
      toast(t("bots.saved"));
      done(true);
    } catch (error) { setErr(error); }
  };
  return (
    <div class="card form" data-testid="bot-editor">
      <label>{t("bots.name")}<input data-testid="bot-name" value={v.name} onInput={(e) => setV({ ...v, name: (e.target as HTMLInputElement).value })} /></label>
      <FieldError err={err} name="name" />
      {v.nodes.map((n, i) => (
        <fieldset key={i} data-testid="bot-node"><legend>{i === 0 ? t("bots.greeting") : t("bots.node", { id: n.id })}</legend>
          <label>{t("bots.nodeId")}<input data-testid="bot-node-id" value={n.id} onInput={(e) => setNode(i, { id: (e.target as HTMLInputElement).value })} /></label>
          <TextsInput value={n.text} label={t("bots.text")} testid="bot-node-text" set={(text) => setNode(i, { text })} />
          {n.choices.map((c, k) => <ChoiceEditor key={k} c={c} nodes={v.nodes} forms={forms} err={err} at={`nodes.${i}.choices.${k}`}
            set={(next) => setNode(i, { choices: n.choices.map((x, j) => (j === k ? next : x)) })}
            remove={() => setNode(i, { choices: n.choices.filter((_, j) => j !== k) })} />)}
          <button data-testid="bot-choice-add" onClick={() => setNode(i, { choices: [...n.choices, { label: empty(), action: { type: "operator" } }] })}>{t("bots.addChoice")}</button>
          <FieldError err={err} name={`nodes.${i}`} />
          {i > 0 && <button class="danger" data-testid="bot-node-remove" onClick={() => setV({ ...v, nodes: v.nodes.filter((_, j) => j !== i) })}>{t("bots.removeNode")}</button>}
        </fieldset>
      ))}
      <button data-testid="bot-node-add" onClick={() => setV({ ...v, nodes: [...v.nodes, blankNode(v.nodes.length + 1)] })}>{t("bots.addNode")}</button>
      <FieldError err={err} name="form" fields={["name", "nodes"]} />
      <div class="row"><button class="primary" data-testid="bot-save" onClick={save}>{t("act.save")}</button><button onClick={() => done(false)}>{t("act.cancel")}</button></div>
    </div>
  );
}

export function Bots() {
  const [items, setItems] = useState<Bot[]>([]);
  const [editing, setEditing] = useState<Bot | BotDraft | null>(null);
  const [deleting, setDeleting] = useState<Bot | null>(null);
  const reload = () => api.listBots().then(setItems).catch(fail);
  useEffect(() => { reload(); }, []);
  return (
    <div class="page">
      <h2>{t("bots.title")}</h2>
      <p class="hint">{t("bots.hint")}</p>
      {editing ? <BotEditor bot={editing} done={(saved) => { setEditing(null); if (saved) reload(); }} /> : <>
        <button class="primary" data-testid="bot-new" onClick={() => setEditing(blankBot())}>{t("bots.new")}</button>
        <table class="cards"><tbody>{items.map((b) => (
          <tr key={b.id} data-testid="bot-row" data-bot-id={b.id}>
            <td class="card-title"><b>{b.name}</b></td>
            <td data-label={t("bots.nodes")}>{t("bots.count", { n: String(b.nodes.length) })}</td>
            <td><div class="row wrap">
              <button data-testid="bot-edit" aria-label={`${t("act.edit")}: ${b.name}`} onClick={() => setEditing(b)}>{t("act.edit")}</button>
              <button class="danger" data-testid="bot-delete" aria-label={`${t("act.delete")}: ${b.name}`} onClick={() => setDeleting(b)}>{t("act.delete")}</button>
            </div></td>
          </tr>
        ))}</tbody></table>
        {!items.length && <p class="empty">{t("bots.none")}</p>}
      </>}
      {deleting && (
        <Confirm testid="bot-delete-dialog" title={t("bots.deleteTitle", { name: deleting.name })} action={t("act.delete")} close={() => setDeleting(null)}
          run={async () => { await api.deleteBot(deleting.id); reload(); }} />
      )}
    </div>
  );
}
