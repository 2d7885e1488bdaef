// Export the approved examples as Mistral JSONL with a seeded, by-chapter validation split.
import { useEffect, useState } from "react";
import { api } from "../../backend";
import type { ApiError, ExportOutput, ModelEntry } from "../../generated/types";

export function ExportPanel({ project, onClose, onError }: { project: string; onClose: () => void; onError: (e: ApiError) => void }) {
  const [fraction, setFraction] = useState(10);
  const [seed, setSeed] = useState(0);
  const [system, setSystem] = useState("");
  const [out, setOut] = useState("");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<ExportOutput | null>(null);
  const [models, setModels] = useState<ModelEntry[]>([]);
  const [tokenizer, setTokenizer] = useState("built-in");

  useEffect(() => {
    api.listModels().then((m) => setModels(m.filter((x) => x.status === "ready")), () => setModels([]));
  }, []);
  const tokenModels = models.map((m) => ({ value: m.id === "built-in" ? "built-in" : m.path, label: m.name }));
  const counting = tokenModels.some((m) => m.value === tokenizer) ? tokenizer : "";

  const run = async () => {
    setBusy(true);
    try {
      setDone(
        await api.exportExamples({
          project,
          out: out.trim() || null,
          val_fraction: fraction / 100,
          seed,
          system_prompt: system.trim() || null,
          tokenizer: counting || null,
        }),
      );
    } catch (e) {
      onError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="export-panel" data-testid="export-panel">
      <h2>Export for fine-tuning</h2>
      <label>
        Validation share: {fraction}%
        <input type="range" min={10} max={20} step={1} value={fraction} data-testid="export-fraction" onChange={(e) => setFraction(Number(e.target.value))} />
      </label>
      <label>
        Seed
        <input type="number" min={0} value={seed} data-testid="export-seed" onChange={(e) => setSeed(Math.max(0, Number(e.target.value) || 0))} />
      </label>
      <label>
        System prompt (for examples without one)
        <textarea rows={2} value={system} data-testid="export-system" onChange={(e) => setSystem(e.target.value)} />
      </label>
      <label>
        Count tokens with
        <select value={counting} data-testid="export-tokenizer" onChange={(e) => setTokenizer(e.target.value)}>
          <option value="">words (an estimate)</option>
          {tokenModels.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}'s tokenizer
            </option>
          ))}
        </select>
      </label>
      <label>
        Folder (empty: the project's exports/)
        <input value={out} data-testid="export-out" onChange={(e) => setOut(e.target.value)} placeholder="exports/<time>/" />
      </label>
      <div className="save-row">
        <button data-testid="export-run" disabled={busy} onClick={() => void run()}>{busy ? "Exporting…" : "Export"}</button>
        <button className="secondary" onClick={onClose}>Close</button>
      </div>
      {done && (
        <div className="export-result" data-testid="export-result">
          <p>
            Wrote <strong>{done.report.train}</strong> training and <strong>{done.report.validation}</strong> validation examples (
            {(done.report.train_tokens + done.report.validation_tokens).toLocaleString()} tokens):
          </p>
          <code data-testid="export-train">{done.train_file}</code>
          <code data-testid="export-validation">{done.validation_file}</code>
          {done.report.skipped.length > 0 && <p className="muted">{done.report.skipped.length} approved examples left out: they break Mistral's rules.</p>}
        </div>
      )}
    </section>
  );
}
