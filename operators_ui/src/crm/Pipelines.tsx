// The pipeline editor (admin; docs/crm.md, "Editing"): pipelines created, renamed and deleted;
// their stages added, renamed, coloured, deleted and reordered by drag or by keyboard (the
// handle takes ArrowUp/ArrowDown, and every row has move up/down buttons). The stages are a
// draft until Save, which sends them whole; the hub refuses (409) to drop a stage or a
// pipeline that still holds deals, and the editor says so.
import { useEffect, useRef, useState } from "preact/hooks";
import * as crm from "../api/crm";
import type { Pipeline, Rec, Stage, StageDraft } from "../api/crm";
import { ApiError } from "../api/http";
import { t } from "../i18n";
import { fail, toast } from "../state/ui";
import { focusOnMount, message } from "./Fields";
import { pipelineName } from "./format";

const SEMANTICS: Stage["semantic"][] = ["open", "won", "lost"];
// The colour a stage without one shows in the picker (the board's colour for open stages).
const DEFAULT_COLOR = "#9aa5b8";

type Row = StageDraft & { key: string };
let keys = 0;
const rowOf = (s: Stage): Row => ({ id: s.id, name: s.name, semantic: s.semantic, color: s.color ?? null, key: `k${keys++}` });

/** The deals of the pipeline in the stages ``wanted`` picks (what blocks a removal). */
async function dealsIn(pipelineId: string, wanted: (stage: string) => boolean): Promise<Rec[]> {
  return (await crm.listDeals(pipelineId)).filter((d) => wanted(d.stage));
}

/** A removal the hub refused for the deals in the way, and where the editor offers to move them. */
type Blocked = { what: "stages" | "pipeline"; deals: Rec[]; targets: { id: string; name: string }[] };

export function Pipelines() {
  const [pipelines, setPipelines] = useState<Pipeline[] | null>(null);
  const [selected, setSelected] = useState("");
  const [newName, setNewName] = useState("");
  const load = async (pick?: string) => {
    try {
      const list = await crm.listPipelines();
      setPipelines(list);
      setSelected((current) => pick || (list.some((p) => p.id === current) ? current : list[0]?.id || ""));
    } catch (err) { fail(err); }
  };
  useEffect(() => { load(); }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    if (!newName.trim()) return;
    try {
      const made = await crm.createPipeline(newName.trim(), [
        { name: t("crm.stageDefault.new"), semantic: "open", color: null },
        { name: t("crm.stageDefault.work"), semantic: "open", color: null },
        { name: t("crm.semantic.won"), semantic: "won", color: null },
        { name: t("crm.semantic.lost"), semantic: "lost", color: null },
      ]);
      setNewName("");
      toast(t("crm.pipelineCreated"));
      await load(made.id);
    } catch (err) { fail(err); }
  };
  if (pipelines === null) return <p>{t("conv.loading")}</p>;
  const pipeline = pipelines.find((p) => p.id === selected);
  return (
    <div class="pipelines" data-testid="pipelines">
      <div class="row filters">
        <label class="inline">{t("crm.pipeline")}
          <select data-testid="pipelines-select" value={selected} onChange={(e) => setSelected((e.target as HTMLSelectElement).value)}>
            {pipelines.map((p) => <option key={p.id} value={p.id}>{pipelineName(p)}</option>)}
          </select></label>
        <form class="row" onSubmit={create}>
          <label class="inline">{t("crm.newPipeline")}
            <input data-testid="pipeline-new-name" maxLength={200} value={newName} onInput={(e) => setNewName((e.target as HTMLInputElement).value)} /></label>
          <button type="submit" data-testid="pipeline-create">{t("act.create")}</button>
        </form>
      </div>
      {/* Keyed by the stored pipeline: a save or a reload starts a fresh draft. */}
      {pipeline && <PipelineEditor key={JSON.stringify(pipeline)} pipeline={pipeline} changed={load}
        others={pipelines.filter((p) => p.id !== pipeline.id)} />}
    </div>
  );
}

function PipelineEditor({ pipeline, others, changed }: {
  pipeline: Pipeline; others: Pipeline[]; changed: (pick?: string) => Promise<void>;
}) {
  const [name, setName] = useState(pipeline.name);
  const [rows, setRows] = useState<Row[]>(() => pipeline.stages.map(rowOf));
  const [error, setError] = useState("");
  const [confirming, setConfirming] = useState<string | null>(null);
  const [dragged, setDragged] = useState<string | null>(null);
  const [focusKey, setFocusKey] = useState<string | null>(null);
  const list = useRef<HTMLOListElement>(null);
  // A row moved by keyboard keeps the focus on its handle (the DOM node moves).
  useEffect(() => {
    if (!focusKey) return;
    list.current?.querySelector<HTMLElement>(`[data-key="${focusKey}"] .handle`)?.focus();
    setFocusKey(null);
  }, [focusKey, rows]);
  const dirty = name !== pipeline.name || JSON.stringify(rows.map(({ key: _k, ...r }) => r))
    !== JSON.stringify(pipeline.stages.map((s) => { const { key: _k, ...r } = rowOf(s); return r; }));
  const edit = (key: string, change: Partial<Row>) => setRows(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  const [moved, setMoved] = useState("");
  const [blocked, setBlocked] = useState<Blocked | null>(null);
  const [target, setTarget] = useState("");
  const [moving, setMoving] = useState(false);
  const move = (from: number, to: number, focus = false) => {
    if (to < 0 || to >= rows.length || from === to) return;
    const next = [...rows];
    const [row] = next.splice(from, 1);
    next.splice(to, 0, row);
    setRows(next);
    setMoved(t("crm.stageMoved", { name: row.name, n: to + 1, total: next.length }));
    if (focus) setFocusKey(row.key);
  };
  const save = async (e?: Event) => {
    e?.preventDefault();
    setError("");
    setBlocked(null);
    try {
      const stages = rows.map(({ key: _k, ...r }) => ({ ...r, name: r.name.trim() }));
      await crm.patchPipeline(pipeline.id, { name: name.trim(), stages });
      toast(t("crm.pipelineSaved"));
      await changed(pipeline.id);
    } catch (err) {
      if (err instanceof ApiError && err.code === "stage_in_use") {
        const kept = new Set(rows.map((r) => r.id));
        await offerMove("stages", () => dealsIn(pipeline.id, (stage) => !kept.has(stage)),
          rows.filter((r) => r.id).map((r) => ({ id: r.id!, name: r.name })));
      } else setError(message(err));
    }
  };
  const remove = async () => {
    setError("");
    setBlocked(null);
    try {
      await crm.deletePipeline(pipeline.id);
      toast(t("crm.pipelineDeleted"));
      await changed();
    } catch (err) {
      setConfirming(null);
      if (err instanceof ApiError && err.code === "pipeline_in_use") {
        await offerMove("pipeline", () => dealsIn(pipeline.id, () => true), others.map((p) => ({ id: p.id, name: pipelineName(p) })));
      } else setError(message(err));
    }
  };
  /** Says how many deals are in the way and offers where to move them. */
  const offerMove = async (what: Blocked["what"], deals: () => Promise<Rec[]>, targets: Blocked["targets"]) => {
    const key = what === "stages" ? "crm.stageInUse" : "crm.pipelineInUse";
    try {
      const found = await deals();
      setError(t(key, { count: found.length }));
      setBlocked({ what, deals: found, targets });
      setTarget(targets[0]?.id || "");
    } catch (err) { setError(message(err)); }
  };
  /** Moves the deals in the way (each a normal move: timeline, webhook), then retries. */
  const moveAndRetry = async () => {
    if (!blocked || !target || moving) return;
    setMoving(true);
    try {
      for (const deal of blocked.deals) {
        if (blocked.what === "stages") await crm.moveDeal(deal.id, target);
        else await crm.patchRecord("deals", deal.id, { pipeline_id: target });
      }
      if (blocked.what === "stages") await save();
      else await remove();
    } catch (err) { setError(message(err)); } finally { setMoving(false); }
  };
  return (
    <form class="card form pipeline-editor" data-testid="pipeline-editor" data-id={pipeline.id} onSubmit={save} noValidate>
      <label>{t("crm.pipelineName")}
        <input data-testid="pipeline-name" maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></label>
      <h3 id="stages-heading">{t("crm.stages")}</h3>
      <p class="muted" id="stages-help">{t("crm.stagesHelp")}</p>
      <ol class="stage-rows plain" ref={list} aria-labelledby="stages-heading" data-testid="stage-rows">
        {rows.map((row, i) => (
          <li key={row.key} data-key={row.key} data-testid="stage-row" data-id={row.id || ""}
            class={`stage-row${dragged === row.key ? " dragging" : ""}`}
            draggable onDragStart={(e) => { setDragged(row.key); e.dataTransfer?.setData("text/plain", row.key); if (e.dataTransfer) e.dataTransfer.effectAllowed = "move"; }}
            onDragEnd={() => setDragged(null)}
            onDragOver={(e) => e.preventDefault()}
            onDrop={(e) => {
              e.preventDefault();
              const key = e.dataTransfer?.getData("text/plain") || dragged;
              const from = rows.findIndex((r) => r.key === key);
              if (from >= 0) move(from, i);
              setDragged(null);
            }}
            style={{ borderLeftColor: row.color || DEFAULT_COLOR }}>
            <button type="button" class="handle" data-testid="stage-handle" aria-describedby="stages-help"
              aria-label={t("crm.stageHandle", { name: row.name || String(i + 1) })}
              onKeyDown={(e) => {
                if (e.key === "ArrowUp") { e.preventDefault(); move(i, i - 1, true); }
                if (e.key === "ArrowDown") { e.preventDefault(); move(i, i + 1, true); }
              }}>⠿</button>
            <input class="grow" data-testid="stage-name" maxLength={100} required aria-label={t("crm.stageName", { n: i + 1 })}
              value={row.name} onInput={(e) => edit(row.key, { name: (e.target as HTMLInputElement).value })} />
            <select data-testid="stage-semantic" aria-label={t("crm.stageSemantic", { n: i + 1 })} value={row.semantic}
              onChange={(e) => edit(row.key, { semantic: (e.target as HTMLSelectElement).value as Stage["semantic"] })}>
              {SEMANTICS.map((s) => <option key={s} value={s}>{t(`crm.semantic.${s}`)}</option>)}
            </select>
            <input type="color" data-testid="stage-color" aria-label={t("crm.stageColor", { n: i + 1 })} value={row.color || DEFAULT_COLOR}
              onInput={(e) => edit(row.key, { color: (e.target as HTMLInputElement).value })} />
            <button type="button" data-testid="stage-up" aria-label={t("crm.moveUp", { name: row.name })} disabled={i === 0} onClick={() => move(i, i - 1, false)}>↑</button>
            <button type="button" data-testid="stage-down" aria-label={t("crm.moveDown", { name: row.name })} disabled={i === rows.length - 1} onClick={() => move(i, i + 1, false)}>↓</button>
            {confirming === row.key ? <>
              <button ref={focusOnMount} type="button" class="danger" data-testid="stage-delete-confirm" onClick={() => { setRows(rows.filter((r) => r.key !== row.key)); setConfirming(null); }}>
                {t("crm.confirmDelete")}</button>
              <button type="button" onClick={() => setConfirming(null)}>{t("act.cancel")}</button>
            </> : <button type="button" class="danger" data-testid="stage-delete" disabled={rows.length === 1}
              aria-label={t("crm.deleteStage", { name: row.name })} onClick={() => setConfirming(row.key)}>{t("act.delete")}</button>}
          </li>
        ))}
      </ol>
      <p class="sr-only" aria-live="polite" data-testid="stage-moved">{moved}</p>
      <button type="button" data-testid="stage-add" onClick={() => setRows([...rows, { name: "", semantic: "open", color: null, key: `k${keys++}` }])}>
        {t("crm.addStage")}</button>
      {error && <p class="error" role="alert" data-testid="pipeline-error">{error}</p>}
      {blocked && blocked.targets.length > 0 && (
        <div class="row move-deals" data-testid="move-deals">
          <label class="inline">{t(blocked.what === "stages" ? "crm.moveDealsToStage" : "crm.moveDealsToPipeline")}
            <select data-testid="move-deals-target" value={target} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}>
              {blocked.targets.map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
            </select></label>
          <button type="button" class="primary" data-testid="move-deals-go" disabled={moving} onClick={moveAndRetry}>
            {t(blocked.what === "stages" ? "crm.moveAndSave" : "crm.moveAndDelete", { count: blocked.deals.length })}</button>
        </div>
      )}
      <div class="row">
        <button class="primary" type="submit" data-testid="pipeline-save" disabled={!dirty}>{t("act.save")}</button>
        {dirty && <button type="button" data-testid="pipeline-discard"
          onClick={() => { setName(pipeline.name); setRows(pipeline.stages.map(rowOf)); setError(""); setBlocked(null); }}>
          {t("crm.discard")}</button>}
        <span class="grow" />
        {!pipeline.is_default && (confirming === "pipeline" ? <>
          <span>{t("crm.deletePipelineQ", { name: pipelineName(pipeline) })}</span>
          <button ref={focusOnMount} type="button" class="danger" data-testid="pipeline-delete-confirm" onClick={remove}>{t("crm.confirmDelete")}</button>
          <button type="button" onClick={() => setConfirming(null)}>{t("act.cancel")}</button>
        </> : <button type="button" class="danger" data-testid="pipeline-delete" onClick={() => setConfirming("pipeline")}>{t("crm.deletePipeline")}</button>)}
      </div>
    </form>
  );
}
