// Training and validation loss curves with uPlot: one run's, with other runs' validation curves
// dashed behind it for comparison.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Metric } from "../../generated/types";

/** What a curve needs of a metric: a training run's metrics are these, and a Mistral job's
 * checkpoints become them. */
export type CurvePoint = Pick<Extract<Metric, { kind: "train" }>, "kind" | "step" | "loss"> | Pick<Extract<Metric, { kind: "eval" }>, "kind" | "step" | "val_loss">;

export interface Series {
  label: string;
  metrics: CurvePoint[];
}

const COLORS = ["#8a5cf6", "#e0793a", "#2e9f6b", "#d14b8f", "#3b82c4"];

/** Aligns every curve on one step axis, as uPlot wants: null where a curve has no point. */
function table(main: Series, others: Series[]): uPlot.AlignedData {
  const steps = new Set<number>();
  for (const s of [main, ...others]) for (const m of s.metrics) steps.add(m.step);
  const xs = [...steps].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const column = (metrics: CurvePoint[], kind: CurvePoint["kind"]) => {
    const ys: (number | null)[] = xs.map(() => null);
    for (const m of metrics) {
      if (m.kind !== kind) continue;
      ys[at.get(m.step)!] = m.kind === "train" ? m.loss : m.val_loss;
    }
    return ys;
  };
  return [xs, column(main.metrics, "train"), column(main.metrics, "eval"), ...others.map((o) => column(o.metrics, "eval"))] as uPlot.AlignedData;
}

export function LossChart({ main, others = [], height = 260 }: { main: Series; others?: Series[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = `${others.map((o) => o.label).join("|")}`;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height,
      scales: { x: { time: false } },
      axes: [{ label: "step" }, { label: "loss" }],
      series: [
        { label: "step" },
        { label: `${main.label} training`, stroke: COLORS[0], width: 1.5, spanGaps: true },
        { label: `${main.label} validation`, stroke: COLORS[1], width: 2, spanGaps: true, points: { show: true, size: 6 } },
        ...others.map((o, i) => ({
          label: `${o.label} validation`,
          stroke: COLORS[(i + 2) % COLORS.length],
          dash: [6, 4],
          width: 1.5,
          spanGaps: true,
        })),
      ],
    };
    plot.current = new uPlot(opts, table(main, others), el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(320, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its series change; new points go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [main.label, shape, height]);

  useEffect(() => {
    plot.current?.setData(table(main, others));
  }, [main, others]);

  return <div className="loss-chart" ref={box} data-testid="loss-chart" data-points={main.metrics.length} />;
}
