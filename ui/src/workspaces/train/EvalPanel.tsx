// A run's persona evaluation: perplexity of base, tuned and control on the held-out replies,
// how often a classifier trained on the books takes each model's replies for the persona, style
// figures against the canon lines, and sample replies side by side; optionally a teacher model's
// 1–7 grades, labelled as a teacher judge's opinion.
import { useEffect, useState } from "react";
import { api } from "../../backend";
import type { ApiError, EvalReport, JudgeScore, ModelKind, RunView, TeacherView } from "../../generated/types";

const pct = (v: number) => `${Math.round(v * 100)}%`;
const num = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "—");

export function EvalPanel({ project, run, runs, onError, onStarted }: {
  project: string;
  run: RunView;
  runs: RunView[];
  onError: (e: ApiError) => void;
  onStarted: (message: string) => void;
}) {
  const [report, setReport] = useState<EvalReport | null>(null);
  const [prompts, setPrompts] = useState(20);
  const [teachers, setTeachers] = useState<TeacherView[]>([]);
  const [judge, setJudge] = useState("");
  const control = runs.find((r) => r.control_for === run.run_id) ?? null;

  useEffect(() => {
    setReport(null);
    if (run.has_report) api.evalReport({ project, run_id: run.run_id }).then(setReport, onError);
  }, [project, run.run_id, run.has_report, onError]);

  useEffect(() => {
    api.listTeachers().then(setTeachers, onError);
  }, [onError]);

  async function evaluate() {
    try {
      await api.evaluateRun({
        project,
        run_id: run.run_id,
        control_run_id: control?.has_adapter ? control.run_id : null,
        options: { max_prompts: prompts, max_tokens: 48, batch_size: 4, signature_words: 30 },
        judge: judge || null,
      });
      onStarted("Evaluation started: see Jobs. The report appears here when it ends.");
    } catch (e) {
      onError(e as ApiError);
    }
  }

  async function trainControl() {
    try {
      await api.trainControl({ project, run_id: run.run_id });
      onStarted("Control run started: the same settings on the other characters' lines.");
    } catch (e) {
      onError(e as ApiError);
    }
  }

  if (run.control_for) return <p className="muted small-print">This run is the control of {run.control_for}: it learned the other characters' lines.</p>;

  const score = (m: ModelKind) => report?.persona_scores.find((s) => s.model === m);
  const style = (m: ModelKind) => report?.style.find((s) => s.model === m)?.figures;
  const models: ModelKind[] = report?.losses.control ? ["canon", "base", "tuned", "control"] : ["canon", "base", "tuned"];
  const judged = (m: ModelKind) => report?.judge?.means.find((j) => j.model === m);
  const grade = (m: ModelKind, k: keyof JudgeScore) => {
    const j = judged(m);
    return j?.mean ? `${num(j.mean[k], 1)} / 7` : "—";
  };

  return (
    <section className="eval" data-testid="eval-panel">
      <div className="row wrap">
        <h3>Persona evaluation</h3>
        <span className="spacer" />
        {!control && run.state !== "running" && run.has_adapter && (
          <button className="ghost" data-testid="eval-control" onClick={trainControl} title="Train the same way on everybody else's lines">
            Train a control
          </button>
        )}
        <label className="inline">
          Prompts <input type="number" min={1} max={200} value={prompts} onChange={(e) => setPrompts(Number(e.target.value))} />
        </label>
        <label className="inline" title="Optional: a teacher model grades each reply 1–7 on voice, knowledge and consistency. Its grades are an opinion of another model, not a measurement.">
          Teacher judge{" "}
          <select data-testid="eval-judge" value={judge} onChange={(e) => setJudge(e.target.value)}>
            <option value="">none</option>
            {teachers.map((t) => (
              <option key={t.config.name} value={t.config.name}>
                {t.config.name} ({t.config.model})
              </option>
            ))}
          </select>
        </label>
        <button data-testid="eval-run" disabled={!run.has_adapter || run.state === "running"} onClick={evaluate}>
          {report ? "Evaluate again" : "Evaluate"}
        </button>
      </div>
      {!report && <p className="muted">No report yet. Evaluating generates replies to held-out prompts with each model: minutes on a CPU.</p>}
      {report && (
        <div data-testid="eval-report">
          <p className="eval-headline" data-testid="eval-ratios">
            Perplexity on {report.persona}'s held-out replies: base {num(report.losses.base.perplexity, 1)}, tuned {num(report.losses.tuned.perplexity, 1)} (
            <strong>{num(report.losses.tuned_over_base)}× base</strong>)
            {report.losses.control && report.losses.tuned_over_control !== null ? (
              <>
                , control {num(report.losses.control.perplexity, 1)} (<strong>{num(report.losses.tuned_over_control)}× control</strong>). The control learned the same
                books without {report.persona}: the closer this is to 1, the more of the gain is the books' voice rather than the persona.
              </>
            ) : (
              <> . {report.control.note}</>
            )}
          </p>
          <table className="runs-table">
            <thead>
              <tr>
                <th />
                {models.map((m) => (
                  <th key={m}>{m}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr>
                <td title={`A classifier trained on the books' dialogue (balanced accuracy ${pct(report.classifier.balanced_accuracy)} on held-out lines)`}>
                  judged to be {report.persona}
                </td>
                {models.map((m) => (
                  <td key={m}>{score(m) ? pct(score(m)!.judged_persona) : "—"}</td>
                ))}
              </tr>
              <tr>
                <td>words per reply</td>
                {models.map((m) => (
                  <td key={m}>{style(m) ? num(style(m)!.mean_words, 1) : "—"}</td>
                ))}
              </tr>
              <tr>
                <td>vocabulary shared with canon</td>
                {models.map((m) => (
                  <td key={m}>{style(m) ? pct(style(m)!.vocab_jaccard) : "—"}</td>
                ))}
              </tr>
              <tr>
                <td>signature words per 100</td>
                {models.map((m) => (
                  <td key={m}>{style(m) ? num(style(m)!.signature_per_100, 1) : "—"}</td>
                ))}
              </tr>
            </tbody>
            {report.judge && (
              <tbody data-testid="eval-judge-rows" title={`Grades by a teacher model (${report.judge.judge}): an opinion of another model, not a measurement`}>
                <tr>
                  <th colSpan={models.length + 1}>teacher judge: {report.judge.judge}, 1–7</th>
                </tr>
                {(["voice", "knowledge", "consistency"] as const).map((k) => (
                  <tr key={k}>
                    <td>teacher judge: {k}</td>
                    {models.map((m) => (
                      <td key={m}>{grade(m, k)}</td>
                    ))}
                  </tr>
                ))}
                <tr>
                  <td>teacher judge: replies judged</td>
                  {models.map((m) => {
                    const j = judged(m);
                    return <td key={m} title={report.judge!.replies.filter((r) => r.model === m && r.unjudged).map((r) => r.unjudged).join("\n")}>{j ? `${j.judged} of ${j.judged + j.unjudged}` : "—"}</td>;
                  })}
                </tr>
              </tbody>
            )}
          </table>
          <p className="muted small-print">
            Signature words: {report.signature_words.slice(0, 15).map((w) => w.word).join(", ")} · classifier balanced accuracy{" "}
            {pct(report.classifier.balanced_accuracy)} over {report.classifier.persona_lines} + {report.classifier.other_lines} lines
          </p>
          <details>
            <summary>Sample replies ({report.samples.length})</summary>
            {report.samples.map((s, i) => (
              <div key={i} className="eval-sample">
                <p>
                  <strong>Said to them:</strong> {s.prompt}
                </p>
                <p>
                  <strong>Canon:</strong> {s.canon}
                </p>
                <p>
                  <strong>Base:</strong> {s.base}
                </p>
                <p>
                  <strong>Tuned:</strong> {s.tuned}
                </p>
                {s.control !== null && (
                  <p>
                    <strong>Control:</strong> {s.control}
                  </p>
                )}
              </div>
            ))}
          </details>
        </div>
      )}
    </section>
  );
}
