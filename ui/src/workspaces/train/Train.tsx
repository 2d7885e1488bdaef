// The Train workspace: set up a QLoRA run (data, base model, preset or hyper-parameters, an
// estimate of time and memory), follow it live (loss and validation curves, tokens/s, ETA,
// memory), cancel and resume it, merge it, and compare past runs.
import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../../backend";
import type { ApiError, GgufType, LoraTarget, ModelEntry, ProjectInfo, RunDetail, RunView, TrainConfig, TrainPlan, TrainPreset } from "../../generated/types";
import { EmptyState } from "../../components/EmptyState";
import { ErrorBanner } from "../../components/ErrorBanner";
import { LossChart, type Series } from "./LossChart";
import { EvalPanel } from "./EvalPanel";
import { MistralPanel } from "./MistralPanel";

const TARGETS: LoraTarget[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

function duration(s: number): string {
  if (!Number.isFinite(s)) return "—";
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function bytes(n: number): string {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GB` : `${Math.round(n / (1 << 20))} MB`;
}

const loss = (v: number | null) => (v === null ? "—" : v.toFixed(3));

export function Train({ project }: { project: ProjectInfo }) {
  const [presets, setPresets] = useState<TrainPreset[]>([]);
  const [models, setModels] = useState<ModelEntry[]>([]);
  const [base, setBase] = useState("built-in");
  const [data, setData] = useState("");
  const [preset, setPreset] = useState("cpu-quick");
  const [config, setConfig] = useState<TrainConfig | null>(null);
  // Until a setting is changed the run is asked for by preset name, so the service may keep the
  // activations when they fit in memory (faster); the plan then shows what it chose.
  const [edited, setEdited] = useState(false);
  const [plan, setPlan] = useState<TrainPlan | null>(null);
  const [planning, setPlanning] = useState(false);
  const [runs, setRuns] = useState<RunView[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [detail, setDetail] = useState<RunDetail | null>(null);
  const [compare, setCompare] = useState<Record<string, RunDetail>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [message, setMessage] = useState("");
  const [showForm, setShowForm] = useState(false);
  const [ggufType, setGgufType] = useState<GgufType>("base");
  const [exporting, setExporting] = useState(false);

  useEffect(() => {
    api.trainPresets().then((p) => {
      setPresets(p);
      setConfig(p.find((x) => x.name === "cpu-quick")?.config ?? p[0]?.config ?? null);
    }, setError);
    api.listModels().then((m) => setModels(m.filter((x) => x.status === "ready")), setError);
  }, []);

  const refresh = useCallback(async () => {
    try {
      const list = await api.listRuns({ path: project.path });
      setRuns(list);
      setSelected((s) => s ?? list[0]?.run_id ?? null);
    } catch (e) {
      setError(e as ApiError);
    }
  }, [project.path]);

  useEffect(() => {
    refresh();
  }, [refresh]);

  // While a run trains, its curve and the list follow it.
  const running = runs.some((r) => r.state === "running");
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(refresh, 2000);
    return () => clearInterval(timer);
  }, [running, refresh]);

  const selectedRun = runs.find((r) => r.run_id === selected) ?? null;
  useEffect(() => {
    if (!selected) {
      setDetail(null);
      return;
    }
    api.trainingRun({ project: project.path, run_id: selected }).then(setDetail, setError);
  }, [selected, project.path, selectedRun?.step, selectedRun?.state]);

  function choosePreset(name: string) {
    setPreset(name);
    const p = presets.find((x) => x.name === name);
    if (p) setConfig(p.config);
    setEdited(false);
    setPlan(null);
  }

  function edit(change: Partial<TrainConfig>) {
    if (config) setConfig({ ...config, ...change });
    setEdited(true);
    setPlan(null);
  }

  const input = () => ({ project: project.path, base, data: data.trim() || null, preset, config: edited ? config : null });

  async function estimate() {
    setError(null);
    setPlanning(true);
    try {
      const p = await api.planTraining(input());
      setPlan(p);
      if (!edited) setConfig(p.config);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setPlanning(false);
    }
  }

  async function start() {
    setError(null);
    try {
      await api.startTraining(input());
      setShowForm(false);
      setSelected(null);
      setMessage("Training started: the curve fills in as steps finish.");
      await refresh();
    } catch (e) {
      setError(e as ApiError);
    }
  }

  async function act(what: "cancel" | "resume" | "merge", run: RunView) {
    setError(null);
    try {
      if (what === "cancel" && run.job_id !== null) await api.cancelJob({ project: project.path, job_id: run.job_id });
      if (what === "resume") await api.resumeTraining({ project: project.path, run_id: run.run_id });
      if (what === "merge") {
        const out = await api.mergeRun({ project: project.path, run_id: run.run_id, out: null });
        setMessage(`Merged into ${out.out}`);
      }
      await refresh();
    } catch (e) {
      setError(e as ApiError);
    }
  }

  async function axolotl(run: RunView) {
    setError(null);
    try {
      const hfId = run.base === "built-in" ? null : window.prompt("The base model's Hugging Face id (for example mistralai/Mistral-7B-Instruct-v0.3)", "");
      if (run.base !== "built-in" && !hfId) return;
      const out = await api.exportAxolotl({ project: project.path, run_id: run.run_id, config: null, base_model: hfId, multi_gpu: "none", out: null });
      setMessage(`Axolotl folder written: ${out.dir} (run: ${out.command}; see its README for several GPUs)`);
    } catch (e) {
      setError(e as ApiError);
    }
  }

  async function exportGguf(run: RunView) {
    setError(null);
    setExporting(true);
    setMessage("Merging the adapter into the base and writing the GGUF…");
    try {
      const out = await api.exportGguf({ project: project.path, run_id: run.run_id, quantization: ggufType, system_prompt: null, out: null });
      setMessage(`GGUF written: ${out.gguf} (${out.weights}, ${(out.bytes / 1e6).toFixed(1)} MB), with an Ollama Modelfile beside it. Ollama: ${out.command}`);
    } catch (e) {
      setMessage("");
      setError(e as ApiError);
    } finally {
      setExporting(false);
    }
  }

  async function exportAdapter(run: RunView) {
    setError(null);
    try {
      const hfId = run.base === "built-in" ? null : window.prompt("The base model's Hugging Face id (for example mistralai/Mistral-7B-Instruct-v0.3)", "");
      if (run.base !== "built-in" && !hfId) return;
      const out = await api.exportAdapter({ project: project.path, run_id: run.run_id, base_model: hfId, out: null });
      setMessage(`Adapter written in the PEFT format: ${out.dir} (model card: ${out.readme})`);
    } catch (e) {
      setError(e as ApiError);
    }
  }

  async function toggleCompare(run: RunView) {
    if (compare[run.run_id]) {
      const { [run.run_id]: _, ...rest } = compare;
      setCompare(rest);
      return;
    }
    try {
      const d = await api.trainingRun({ project: project.path, run_id: run.run_id });
      setCompare({ ...compare, [run.run_id]: d });
    } catch (e) {
      setError(e as ApiError);
    }
  }

  const others: Series[] = useMemo(
    () => Object.values(compare).filter((d) => d.run.run_id !== selected).map((d) => ({ label: d.run.run_id, metrics: d.metrics })),
    [compare, selected],
  );
  const lastStep = detail?.metrics.filter((m) => m.kind === "train").at(-1);

  return (
    <div className="workspace train" data-testid="workspace-train">
      <header className="workspace-header">
        <h1>Train</h1>
        <button data-testid="train-new" onClick={() => setShowForm((v) => !v)}>
          {showForm ? "Hide the new run" : "New run…"}
        </button>
      </header>
      {error && <ErrorBanner error={error} onDismiss={() => setError(null)} />}
      {message && (
        <p className="badge ok" data-testid="train-message" onClick={() => setMessage("")}>
          {message}
        </p>
      )}

      {showForm && config && (
        <section className="card train-form" data-testid="train-form">
          <h3>New run</h3>
          <div className="train-grid">
            <label>
              Base model
              <select data-testid="train-base" value={base} onChange={(e) => (setBase(e.target.value), setPlan(null))}>
                {models.length === 0 && <option value="built-in">built-in</option>}
                {models.map((m) => (
                  <option key={m.id} value={m.id === "built-in" ? "built-in" : m.path}>
                    {m.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Data (a folder with train.jsonl)
              <input data-testid="train-data" placeholder="the latest export" value={data} onChange={(e) => (setData(e.target.value), setPlan(null))} />
            </label>
            <label>
              Preset
              <select data-testid="train-preset" value={preset} onChange={(e) => choosePreset(e.target.value)}>
                {presets.map((p) => (
                  <option key={p.name} value={p.name}>
                    {p.name}
                  </option>
                ))}
              </select>
              <span className="muted small-print">{presets.find((p) => p.name === preset)?.description}</span>
            </label>
            <label>
              Epochs
              <input type="number" min={1} data-testid="train-epochs" value={config.epochs} onChange={(e) => edit({ epochs: Number(e.target.value) })} />
            </label>
            <label>
              Stop after steps
              <input
                type="number"
                min={1}
                data-testid="train-steps"
                placeholder="all"
                value={config.max_steps ?? ""}
                onChange={(e) => edit({ max_steps: e.target.value ? Number(e.target.value) : null })}
              />
            </label>
            <label>
              Learning rate
              <input type="number" step="0.00001" value={config.learning_rate} onChange={(e) => edit({ learning_rate: Number(e.target.value) })} />
            </label>
            <label>
              LoRA rank
              <input type="number" min={1} value={config.lora.r} onChange={(e) => edit({ lora: { ...config.lora, r: Number(e.target.value) } })} />
            </label>
            <label>
              LoRA alpha
              <input type="number" min={1} value={config.lora.alpha} onChange={(e) => edit({ lora: { ...config.lora, alpha: Number(e.target.value) } })} />
            </label>
            <label>
              Batch size
              <input type="number" min={1} value={config.batch_size} onChange={(e) => edit({ batch_size: Number(e.target.value) })} />
            </label>
            <label>
              Longest sequence (tokens)
              <input type="number" min={32} data-testid="train-seq" value={config.max_seq_len} onChange={(e) => edit({ max_seq_len: Number(e.target.value) })} />
            </label>
            <label>
              Validation every (steps)
              <input type="number" min={0} value={config.eval_every} onChange={(e) => edit({ eval_every: Number(e.target.value) })} />
            </label>
            <label>
              Seed
              <input type="number" value={config.seed} onChange={(e) => edit({ seed: Number(e.target.value) })} />
            </label>
          </div>
          <fieldset className="targets">
            <legend>Projections</legend>
            {TARGETS.map((t) => (
              <label key={t} className="check">
                <input
                  type="checkbox"
                  checked={config.lora.targets.includes(t)}
                  onChange={(e) =>
                    edit({ lora: { ...config.lora, targets: e.target.checked ? [...config.lora.targets, t] : config.lora.targets.filter((x) => x !== t) } })
                  }
                />
                {t.replace("_proj", "")}
              </label>
            ))}
            <label className="check">
              <input type="checkbox" checked={config.activation_checkpointing} onChange={(e) => edit({ activation_checkpointing: e.target.checked })} />
              Recompute activations (less memory)
            </label>
          </fieldset>
          <div className="row">
            <button className="ghost" data-testid="train-estimate" disabled={planning} onClick={estimate}>
              {planning ? "Reading the data…" : "Estimate"}
            </button>
            <button data-testid="train-start" onClick={start}>
              Start training
            </button>
          </div>
          {plan && (
            <p className="train-plan" data-testid="train-plan">
              {plan.data.train_examples} training and {plan.data.validation_examples} validation examples ({plan.data.trained_tokens.toLocaleString()} trained
              tokens{plan.data.truncated > 0 ? `, ${plan.data.truncated} shortened` : ""}) · {plan.estimate.total_steps} steps · about{" "}
              {duration(plan.estimate.seconds)} · peak memory about {bytes(plan.estimate.peak_memory_bytes)} ·{" "}
              {plan.estimate.trainable_params.toLocaleString()} trained parameters
            </p>
          )}
        </section>
      )}

      {runs.length === 0 && (
        <EmptyState title="No training runs yet" testId="train-empty">
          <p>Export approved examples from Review, then fine-tune a base model on them with QLoRA. The built-in model trains on a CPU.</p>
          <p>Loss and validation curves, checkpoints and the finished adapters appear here. Press “New run…” to set one up.</p>
        </EmptyState>
      )}

      {runs.length > 0 && (
        <section className="runs" data-testid="train-runs">
          <table className="runs-table">
            <thead>
              <tr>
                <th>Run</th>
                <th>State</th>
                <th>Steps</th>
                <th>Loss</th>
                <th>Validation</th>
                <th>Best</th>
                <th>Base</th>
                <th>Compare</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr
                  key={r.run_id}
                  data-testid="run-row"
                  data-state={r.state}
                  className={r.run_id === selected ? "selected" : ""}
                  onClick={() => setSelected(r.run_id)}
                >
                  <td>{r.run_id}</td>
                  <td>
                    <span className={`status status-${r.state}`}>{r.state.replace("_", " ")}</span>
                  </td>
                  <td>
                    {r.step}/{r.total_steps || "?"}
                  </td>
                  <td>{loss(r.train_loss)}</td>
                  <td>{loss(r.val_loss)}</td>
                  <td>{loss(r.best_val_loss)}</td>
                  <td>{r.base}</td>
                  <td>
                    <input type="checkbox" aria-label="Compare" checked={!!compare[r.run_id]} onClick={(e) => e.stopPropagation()} onChange={() => toggleCompare(r)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}

      {selectedRun && detail && (
        <section className="card run-detail" data-testid="run-detail" data-run={selectedRun.run_id}>
          <div className="row">
            <h3>{selectedRun.run_id}</h3>
            <span className="muted">
              {lastStep && lastStep.kind === "train"
                ? `${Math.round(lastStep.tokens_per_s)} tokens/s · ${Math.round(lastStep.peak_rss_mb)} MB peak`
                : "waiting for the first step…"}
              {selectedRun.state === "running" && lastStep && lastStep.kind === "train" && selectedRun.total_steps > 0
                ? ` · about ${duration((lastStep.elapsed_s / lastStep.step) * (selectedRun.total_steps - lastStep.step))} left`
                : ""}
            </span>
            <span className="spacer" />
            {selectedRun.state === "running" && (
              <button className="ghost" data-testid="run-cancel" onClick={() => act("cancel", selectedRun)}>
                Stop
              </button>
            )}
            {(selectedRun.state === "stopped" || selectedRun.state === "failed") && (
              <button data-testid="run-resume" onClick={() => act("resume", selectedRun)}>
                Resume
              </button>
            )}
            <button className="ghost" data-testid="run-axolotl" title="The same data and settings, ready for Axolotl on GPUs" onClick={() => axolotl(selectedRun)}>
              Export for Axolotl
            </button>
            {selectedRun.has_adapter && selectedRun.state !== "running" && (
              <button className="ghost" data-testid="run-merge" onClick={() => act("merge", selectedRun)}>
                Merge into the base
              </button>
            )}
            {selectedRun.has_adapter && selectedRun.state !== "running" && (
              <>
                <select
                  data-testid="run-gguf-type"
                  title="Storage type of the GGUF's weights"
                  value={ggufType}
                  onChange={(e) => setGgufType(e.target.value as GgufType)}
                >
                  <option value="base">as the base (Q4_1 for the built-in)</option>
                  <option value="q8_0">Q8_0</option>
                  <option value="f16">F16</option>
                </select>
                <button
                  className="ghost"
                  data-testid="run-export-gguf"
                  disabled={exporting}
                  title="The merged persona as one GGUF file for llama.cpp and Ollama, with a Modelfile"
                  onClick={() => exportGguf(selectedRun)}
                >
                  {exporting ? "Exporting…" : "Export GGUF"}
                </button>
                <button
                  className="ghost"
                  data-testid="run-export-adapter"
                  title="The adapter alone in the PEFT format, with a Hugging Face model card"
                  onClick={() => exportAdapter(selectedRun)}
                >
                  Export adapter
                </button>
              </>
            )}
          </div>
          {selectedRun.error && <p className="error-text">{selectedRun.error}</p>}
          <LossChart main={{ label: selectedRun.run_id, metrics: detail.metrics }} others={others} />
          <p className="muted small-print">
            LoRA r {selectedRun.config.lora.r}, alpha {selectedRun.config.lora.alpha} on {selectedRun.config.lora.targets.map((t) => t.replace("_proj", "")).join(", ")} ·
            lr {selectedRun.config.learning_rate} · batch {selectedRun.config.batch_size} × {selectedRun.config.max_seq_len} · {selectedRun.dir}
          </p>
          <EvalPanel project={project.path} run={selectedRun} runs={runs} onError={setError} onStarted={setMessage} />
        </section>
      )}

      <MistralPanel project={project} onError={setError} />
    </div>
  );
}
