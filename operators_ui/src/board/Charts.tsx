// The board's two charts, drawn as plain SVG and bars.
import type { BoardOperator } from "../api/types";
import { t } from "../i18n";

const two = (n: number): string => String(n).padStart(2, "0");

/** Today's conversations of the line by hour of the line's day: when the load comes. */
export function HourChart({ counts }: { counts: number[] }) {
  const max = Math.max(1, ...counts);
  const slot = 22, top = 16, height = 110;
  return (
    <figure class="chart" data-testid="board-hour-chart">
      <figcaption>{t("board.byHour")}</figcaption>
      <svg viewBox={`0 0 ${24 * slot} ${top + height + 18}`} width={24 * slot} height={top + height + 18} role="img" aria-label={t("board.byHour")}>
        <line x1="0" x2={24 * slot} y1={top + height} y2={top + height} class="axis-line" />
        {counts.map((n, hour) => {
          const bar = Math.round((n / max) * height);
          return (
            <g key={hour} data-testid="board-hour-bar" data-hour={hour} data-count={n}>
              <title>{`${two(hour)}:00–${two(hour)}:59 · ${n}`}</title>
              <rect x={hour * slot + 3} y={top + height - bar} width={slot - 6} height={bar} class="bar" />
              {n > 0 && <text x={hour * slot + slot / 2} y={top + height - bar - 4} text-anchor="middle" class="bar-value">{n}</text>}
              {hour % 3 === 0 && <text x={hour * slot + slot / 2} y={top + height + 14} text-anchor="middle" class="axis">{two(hour)}</text>}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** Today's conversations per operator, side by side: who carries the line. */
export function OperatorChart({ operators }: { operators: BoardOperator[] }) {
  const max = Math.max(1, ...operators.map((m) => m.today));
  return (
    <figure class="chart" data-testid="board-operator-chart">
      <figcaption>{t("board.byOperator")}</figcaption>
      {operators.map((m) => (
        <div key={m.id} class="hbar-row" data-testid="board-operator-bar" data-user-id={m.id} data-count={m.today}>
          <span class="hbar-name">{m.name}</span>
          <span class="hbar"><span class="hbar-fill" style={{ width: `${(m.today / max) * 100}%` }} /></span>
          <span class="hbar-value">{m.today}</span>
        </div>
      ))}
    </figure>
  );
}
