// CRM deals as a board per pipeline, moved between stages by drag and drop.
import { useEffect, useState } from "preact/hooks";
import * as crm from "../api/crm";
import type { Pipeline, Rec } from "../api/crm";
import { ApiError } from "../api/http";
import { t } from "../i18n";
import { editsCrm } from "../state/session";
import { fail, openCrmCard, toast } from "../state/ui";
import { money, pipelineName, stageName, who } from "./format";

export function DealBoard() {
  const [pipelines, setPipelines] = useState<Pipeline[]>([]);
  const [pipelineId, setPipelineId] = useState("");
  const [pipeline, setPipeline] = useState<Pipeline | null>(null);
  const [deals, setDeals] = useState<Rec[] | null>(null);
  const [over, setOver] = useState<string | null>(null);
  useEffect(() => {
    crm.listPipelines().then((list) => {
      setPipelines(list);
      setPipelineId((list.find((p) => p.is_default) || list[0])?.id || "");
    }).catch(fail);
  }, []);
  const load = async () => {
    if (!pipelineId) return;
    try {
      setPipeline(await crm.getPipeline(pipelineId));
      setDeals(await crm.listDeals(pipelineId));
    } catch (err) { fail(err); }
  };
  useEffect(() => { setDeals(null); load(); }, [pipelineId]);
  const move = async (dealId: string, stage: string) => {
    const deal = deals?.find((d) => d.id === dealId);
    if (!deal || deal.stage === stage) return;
    setDeals(deals!.map((d) => (d.id === dealId ? { ...d, stage } : d))); // optimistic
    try {
      await crm.moveDeal(dealId, stage);
    } catch (err) {
      if (err instanceof ApiError && err.code === "stage_changed") toast(t("crm.stageChanged"));
      else fail(err);
    }
    await load();
  };
  const editable = editsCrm();
  return (
    <div>
      <label class="inline">{t("crm.pipeline")}
        <select data-testid="pipeline-select" value={pipelineId} onChange={(e) => setPipelineId((e.target as HTMLSelectElement).value)}>
          {pipelines.map((p) => <option key={p.id} value={p.id}>{pipelineName(p)}</option>)}
        </select></label>
      {!pipeline || deals === null ? <p>{t("conv.loading")}</p> : (
        <div class="deal-board" data-testid="deal-board" tabIndex={0} role="region" aria-label={pipelineName(pipeline)}>
          {pipeline.stages.map((s) => {
            const inStage = deals.filter((d) => d.stage === s.id);
            return (
              <section key={s.id} class={`stage-column sem-${s.semantic}${over === s.id ? " over" : ""}`} data-testid="stage-column" data-stage={s.id}
                style={s.color ? { borderTop: `4px solid ${s.color}` } : undefined}
                onDragOver={(e) => { if (editable) { e.preventDefault(); if (over !== s.id) setOver(s.id); } }}
                onDragLeave={() => setOver(null)}
                onDrop={(e) => { e.preventDefault(); setOver(null); const dealId = e.dataTransfer?.getData("text/plain"); if (dealId) move(dealId, s.id); }}>
                <h4>{stageName(s)} <span class="count">{inStage.length}</span></h4>
                {inStage.map((d) => (
                  <div key={d.id} class="deal-card" data-testid="deal-card" data-id={d.id} draggable={editable}
                    onDragStart={(e) => { e.dataTransfer?.setData("text/plain", d.id); if (e.dataTransfer) e.dataTransfer.effectAllowed = "move"; }}
                    role="button" tabIndex={0} onClick={() => openCrmCard("deals", d.id)}
                    onKeyDown={(e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openCrmCard("deals", d.id); } }}>
                    <b>{d.title}</b>
                    <div class="muted">{money(d)} · {who(d.responsible_id)}</div>
                  </div>
                ))}
              </section>
            );
          })}
        </div>
      )}
    </div>
  );
}
