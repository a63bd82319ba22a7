// The supervisor board of a line: waiting, longest wait, active, today, first answers, the
// day by hour and per operator. Refreshed every 5 s and soon after any presence change.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { LineBoard } from "../api/types";
import { t } from "../i18n";
import { oversees } from "../state/session";
import { S } from "../state/store";
import { duration, number } from "../ui/format";
import { HourChart, OperatorChart } from "./Charts";

export function Board() {
  const lines = S.lines.filter((l) => oversees(l.id));
  const [lineId, setLineId] = useState(lines[0]?.id || "");
  const [data, setData] = useState<LineBoard | null>(null);
  useEffect(() => {
    if (!lineId) return;
    let timer: number | undefined;
    const load = () => api.lineBoard(lineId).then(setData).catch(() => undefined);
    const soon = () => { clearTimeout(timer); timer = window.setTimeout(load, 300); };
    load();
    const every = window.setInterval(load, 5000);
    window.addEventListener("ol-presence", soon);
    return () => { clearInterval(every); clearTimeout(timer); window.removeEventListener("ol-presence", soon); };
  }, [lineId, S.convs]);
  if (!lines.length) return <p class="empty">{t("board.noLines")}</p>;
  const figure = (key: string, value: string | number, id: string) => (
    <div class="figure"><div class="label">{t(key)}</div><div class="value" data-testid={id}>{value}</div></div>
  );
  return (
    <div class="page" data-testid="board">
      <h2>{t("board.title")}</h2>
      <label class="inline">{t("board.line")}
        <select data-testid="board-line" value={lineId} onChange={(e) => setLineId((e.target as HTMLSelectElement).value)}>
          {lines.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
        </select>
      </label>
      {data && data.line_id === lineId && <>
        <div class="figures">
          {figure("board.waiting", data.waiting, "board-waiting")}
          {figure("board.longest", duration(data.longest_wait_s * 1000), "board-longest-wait")}
          {figure("board.active", data.active, "board-active")}
          {figure("board.today", data.today, "board-today")}
          {figure("board.avgFirst", data.avg_first_response_s == null ? "—" : duration(data.avg_first_response_s * 1000), "board-avg-first-response")}
        </div>
        <div class="charts">
          <HourChart counts={data.by_hour} />
          <OperatorChart operators={data.operators} />
        </div>
        <table class="cards">
          <thead><tr>
            <th>{t("board.operator")}</th><th>{t("board.status")}</th><th>{t("board.load")}</th>
            <th>{t("board.todayCol")}</th><th>{t("board.firstCol")}</th><th>{t("board.csat")}</th>
          </tr></thead>
          <tbody>{data.operators.map((m) => (
            <tr key={m.id} data-testid="board-operator" data-user-id={m.id}><td class="card-title">{m.name}</td>
              <td data-testid="board-operator-status" data-status={m.status} data-label={t("board.status")}><span class={`dot status-${m.status}`} /> {t(`status.${m.status}`)}</td>
              <td data-testid="board-operator-load" data-label={t("board.load")}>{m.max_active ? `${m.active} / ${m.max_active}` : `${m.active}`}</td>
              <td data-testid="board-operator-today" data-label={t("board.todayCol")}>{m.today}</td>
              <td data-label={t("board.firstCol")}>{m.avg_first_response_s == null ? "—" : duration(m.avg_first_response_s * 1000)}</td>
              <td data-testid="board-operator-csat" data-label={t("board.csat")}>{m.csat_avg == null ? "—" : number(m.csat_avg, 1)}</td></tr>
          ))}</tbody>
        </table>
      </>}
    </div>
  );
}
