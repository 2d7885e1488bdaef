// Counts by status and strategy, a token-length histogram (inline SVG) and what an export would write.
import type { LengthUnit, Stats } from "../../generated/types";
import { unitLabel } from "./format";

export function StatsBar({ stats, exportable, unit }: { stats: Stats | null; exportable: number; unit: LengthUnit }) {
  if (!stats) return <div className="stats-bar" data-testid="stats-bar" />;
  const max = Math.max(1, ...stats.histogram.map((b) => b.count));
  const w = 14;
  return (
    <div className="stats-bar" data-testid="stats-bar">
      <span data-testid="stats-total"><strong>{stats.total.toLocaleString()}</strong> shown</span>
      <span className="status-pending" data-testid="stats-pending">{stats.by_status.pending.toLocaleString()} pending</span>
      <span className="status-approved" data-testid="stats-approved">{stats.by_status.approved.toLocaleString()} approved</span>
      <span className="status-rejected" data-testid="stats-rejected">{stats.by_status.rejected.toLocaleString()} rejected</span>
      <span className="muted">
        A {stats.by_strategy.a} · B {stats.by_strategy.b} · C {stats.by_strategy.c} · imported {stats.by_strategy.imported}
      </span>
      <span className="muted">{stats.flagged.toLocaleString()} flagged</span>
      <svg className="histogram" width={stats.histogram.length * w} height={28} role="img" aria-label={`Length histogram (${unitLabel(unit).toLowerCase()})`} data-testid="histogram">
        {stats.histogram.map((b, i) => {
          const h = Math.max(2, Math.round((b.count / max) * 26));
          return (
            <rect key={b.min} x={i * w} y={28 - h} width={w - 2} height={h}>
              <title>{`${b.min}–${b.max - 1} ${unitLabel(unit).toLowerCase()}: ${b.count}`}</title>
            </rect>
          );
        })}
      </svg>
      <span className="exportable" data-testid="stats-exportable"><strong>{exportable.toLocaleString()}</strong> would be exported</span>
    </div>
  );
}
