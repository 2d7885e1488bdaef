// Fine-tuning on Mistral's servers, from the Train workspace: the data is checked against Mistral's
// rules and the cost estimated first; only then can the job be created (upload, create). Jobs are
// listed with their status, followed live (events, checkpoint losses as curves), started when they
// were created without auto-start, and cancelled. A job that succeeded is a chat model in Chat.
import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../../backend";
import type { ApiError, MistralEstimate, MistralHyperparameters, MistralJobView, MistralStatus, ProjectInfo, TeacherView } from "../../generated/types";
import { LossChart, type CurvePoint } from "./LossChart";

const MODELS = ["open-mistral-7b", "open-mistral-nemo", "mistral-small-latest", "ministral-8b-latest", "codestral-latest", "mistral-large-latest"];
const ENDED: MistralStatus[] = ["SUCCESS", "FAILED", "FAILED_VALIDATION", "CANCELLED"];

const optional = (v: string) => (v.trim() === "" ? null : Number(v));

/** A job's checkpoints as curve points: training loss, and validation loss where there is one. */
function curve(job: MistralJobView): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const c of job.checkpoints) {
    if (c.train_loss !== null) points.push({ kind: "train", step: c.step, loss: c.train_loss });
    if (c.valid_loss !== null) points.push({ kind: "eval", step: c.step, val_loss: c.valid_loss });
  }
  return points;
}

function money(v: number, currency: string) {
  return v < 0.01 ? `less than 0.01 ${currency}` : `${v.toFixed(2)} ${currency}`;
}

export function MistralPanel({ project, onError }: { project: ProjectInfo; onError: (e: ApiError | null) => void }) {
  const [teachers, setTeachers] = useState<TeacherView[]>([]);
  const [teacher, setTeacher] = useState("");
  const [model, setModel] = useState(MODELS[0]);
  const [data, setData] = useState("");
  const [by, setBy] = useState<"epochs" | "steps">("epochs");
  const [epochs, setEpochs] = useState("1");
  const [steps, setSteps] = useState("100");
  const [lr, setLr] = useState("");
  const [weightDecay, setWeightDecay] = useState("");
  const [warmup, setWarmup] = useState("");
  const [seqLen, setSeqLen] = useState("");
  const [suffix, setSuffix] = useState("");
  const [autoStart, setAutoStart] = useState(false);
  const [estimate, setEstimate] = useState<MistralEstimate | null>(null);
  const [busy, setBusy] = useState("");
  const [jobs, setJobs] = useState<MistralJobView[]>([]);
  const [refreshError, setRefreshError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [showForm, setShowForm] = useState(false);

  useEffect(() => {
    api.listTeachers().then((all) => {
      const mistral = all.filter((t) => t.config.kind === "mistral");
      setTeachers(mistral);
      setTeacher((t) => t || mistral[0]?.config.name || "");
    }, onError);
  }, [onError]);

  const load = useCallback(
    async (refresh: boolean) => {
      try {
        const list = await api.listMistralJobs({ project: project.path, refresh });
        setJobs(list.jobs);
        setRefreshError(list.refresh_error);
        setSelected((s) => s ?? list.jobs[0]?.id ?? null);
      } catch (e) {
        onError(e as ApiError);
      }
    },
    [project.path, onError],
  );

  useEffect(() => {
    load(false);
  }, [load]);

  // The followers write what Mistral says into the project; the list reads it while any follows.
  const following = jobs.some((j) => j.following);
  useEffect(() => {
    if (!following) return;
    const timer = setInterval(() => load(false), 3000);
    return () => clearInterval(timer);
  }, [following, load]);

  const hyperparameters = (): MistralHyperparameters => ({
    epochs: by === "epochs" ? optional(epochs) : null,
    training_steps: by === "steps" ? optional(steps) : null,
    learning_rate: optional(lr),
    weight_decay: optional(weightDecay),
    warmup_fraction: optional(warmup),
    seq_len: optional(seqLen),
  });
  // Any change to the form asks for a new estimate before a job can be created.
  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setEstimate(null);
  };

  async function runEstimate() {
    onError(null);
    setBusy("Checking the data…");
    try {
      setEstimate(await api.estimateMistralJob({ project: project.path, data: data.trim() || null, model, hyperparameters: hyperparameters(), tokenizer: null }));
    } catch (e) {
      onError(e as ApiError);
    } finally {
      setBusy("");
    }
  }

  async function create() {
    onError(null);
    setBusy("Uploading the data and creating the job…");
    try {
      const job = await api.createMistralJob({
        project: project.path,
        teacher,
        data: data.trim() || null,
        model,
        hyperparameters: hyperparameters(),
        suffix: suffix.trim() || null,
        auto_start: autoStart,
        tokenizer: null,
      });
      setEstimate(null);
      setShowForm(false);
      setSelected(job.id);
      await load(false);
    } catch (e) {
      onError(e as ApiError);
    } finally {
      setBusy("");
    }
  }

  async function act(what: "start" | "cancel" | "status", job: MistralJobView) {
    onError(null);
    try {
      const input = { project: project.path, job_id: job.id };
      if (what === "start") await api.startMistralJob(input);
      if (what === "cancel") await api.cancelMistralJob(input);
      if (what === "status") await api.mistralJobStatus(input);
      await load(false);
    } catch (e) {
      onError(e as ApiError);
    }
  }

  const job = jobs.find((j) => j.id === selected) ?? null;
  const points = useMemo(() => (job ? curve(job) : []), [job]);

  return (
    <section className="card mistral" data-testid="mistral-panel">
      <div className="row">
        <h3>Fine-tune on Mistral</h3>
        <span className="spacer" />
        <button className="ghost" data-testid="mistral-refresh" onClick={() => load(true)}>
          Refresh from Mistral
        </button>
        <button data-testid="mistral-new" onClick={() => setShowForm((v) => !v)}>
          {showForm ? "Hide" : "New Mistral job…"}
        </button>
      </div>
      {refreshError && <p className="error-text" data-testid="mistral-refresh-error">{refreshError}</p>}

      {showForm && (
        <div data-testid="mistral-form">
          {teachers.length === 0 && (
            <p className="muted" data-testid="mistral-no-teacher">
              Add a teacher of kind Mistral with its API key in Settings → Teachers first: its address and key are used here.
            </p>
          )}
          <div className="train-grid">
            <label>
              Teacher (API key)
              <select data-testid="mistral-teacher" value={teacher} onChange={(e) => setTeacher(e.target.value)}>
                {teachers.map((t) => (
                  <option key={t.config.name} value={t.config.name}>
                    {t.config.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Base model
              <input data-testid="mistral-model" list="mistral-models" value={model} onChange={(e) => edit(setModel)(e.target.value)} />
              <datalist id="mistral-models">
                {MODELS.map((m) => (
                  <option key={m} value={m} />
                ))}
              </datalist>
            </label>
            <label>
              Data (a folder with train.jsonl)
              <input data-testid="mistral-data" placeholder="the latest export" value={data} onChange={(e) => edit(setData)(e.target.value)} />
            </label>
            <label>
              Length
              <select value={by} onChange={(e) => edit(setBy)(e.target.value as "epochs" | "steps")}>
                <option value="epochs">by epochs</option>
                <option value="steps">by training steps</option>
              </select>
            </label>
            {by === "epochs" ? (
              <label>
                Epochs
                <input type="number" min={0.1} step={0.1} data-testid="mistral-epochs" value={epochs} onChange={(e) => edit(setEpochs)(e.target.value)} />
              </label>
            ) : (
              <label>
                Training steps
                <input type="number" min={1} data-testid="mistral-steps" value={steps} onChange={(e) => edit(setSteps)(e.target.value)} />
              </label>
            )}
            <label>
              Learning rate
              <input type="number" step="0.00001" placeholder="Mistral's default" value={lr} onChange={(e) => edit(setLr)(e.target.value)} />
            </label>
            <label>
              Weight decay
              <input type="number" step="0.01" placeholder="Mistral's default" value={weightDecay} onChange={(e) => edit(setWeightDecay)(e.target.value)} />
            </label>
            <label>
              Warm-up fraction
              <input type="number" step="0.01" placeholder="Mistral's default" value={warmup} onChange={(e) => edit(setWarmup)(e.target.value)} />
            </label>
            <label>
              Longest sequence (tokens)
              <input type="number" placeholder="Mistral's default" value={seqLen} onChange={(e) => edit(setSeqLen)(e.target.value)} />
            </label>
            <label>
              Suffix of the tuned model
              <input data-testid="mistral-suffix" value={suffix} onChange={(e) => setSuffix(e.target.value)} />
            </label>
          </div>
          <label className="check">
            <input type="checkbox" data-testid="mistral-auto-start" checked={autoStart} onChange={(e) => setAutoStart(e.target.checked)} />
            Start training as soon as Mistral has validated the data (off: Mistral shows its exact cost first, then press Start)
          </label>
          <div className="row">
            <button className="ghost" data-testid="mistral-estimate" disabled={!!busy} onClick={runEstimate}>
              Check the data and estimate the cost
            </button>
            <button data-testid="mistral-create" disabled={!!busy || !estimate?.ready || !teacher} onClick={create} title={estimate ? "" : "Estimate first"}>
              Upload and create the job
            </button>
            {busy && <span className="muted">{busy}</span>}
          </div>
          {estimate && (
            <div className="train-plan" data-testid="mistral-estimate-result" data-ready={estimate.ready}>
              <p>
                {estimate.train.valid} of {estimate.train.lines} training conversations valid
                {estimate.validation ? `, ${estimate.validation.valid} of ${estimate.validation.lines} for validation` : ", no validation file"} ·{" "}
                {estimate.train_tokens.toLocaleString()} tokens ({estimate.counted_with})
              </p>
              {[...estimate.train.problems.map((p) => ["train.jsonl", p] as const), ...(estimate.validation?.problems ?? []).map((p) => ["validation.jsonl", p] as const)]
                .slice(0, 8)
                .map(([file, p]) => (
                  <p key={`${file}${p.line}${p.message}`} className="error-text">
                    {file} line {p.line}: {p.message}
                  </p>
                ))}
              {!estimate.ready && <p className="error-text">Nothing can be uploaded until these are fixed in Review and exported again.</p>}
              <p data-testid="mistral-cost">
                <strong>Estimated cost: {estimate.cost === null ? "unknown" : money(estimate.cost, estimate.currency)}</strong>
                {estimate.billed_tokens !== null && estimate.price_per_million !== null && (
                  <>
                    {" "}
                    ({estimate.billed_tokens.toLocaleString()} tokens × {estimate.price_per_million} {estimate.currency} per million)
                  </>
                )}
                {estimate.monthly_storage !== null && ` · then ${estimate.monthly_storage} ${estimate.currency} a month to keep the model`}
              </p>
              <p className="muted small-print">
                Estimate from prices as of {estimate.prices_as_of} ({estimate.price_source}). {estimate.note}
              </p>
            </div>
          )}
        </div>
      )}

      {jobs.length > 0 && (
        <table className="runs-table" data-testid="mistral-jobs">
          <thead>
            <tr>
              <th>Job</th>
              <th>Status</th>
              <th>Base</th>
              <th>Tuned model</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id} data-testid="mistral-job-row" data-status={j.status} className={j.id === selected ? "selected" : ""} onClick={() => setSelected(j.id)}>
                <td>{j.id}</td>
                <td>
                  <span className={`status status-${j.status.toLowerCase()}`}>{j.status.replace(/_/g, " ").toLowerCase()}</span>
                  {j.following && <span className="muted"> · following</span>}
                </td>
                <td>{j.model}</td>
                <td>{j.fine_tuned_model ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {job && (
        <div className="run-detail" data-testid="mistral-job" data-status={job.status}>
          <div className="row">
            <strong>{job.id}</strong>
            <span className="muted">
              {job.model}
              {job.metadata?.cost != null ? ` · Mistral's cost ${job.metadata.cost} ${job.metadata.cost_currency ?? ""}` : ""}
              {job.estimate?.cost != null ? ` · estimated ${money(job.estimate.cost, job.estimate.currency)}` : ""}
            </span>
            <span className="spacer" />
            <button className="ghost" data-testid="mistral-check" onClick={() => act("status", job)}>
              Check now
            </button>
            {job.status === "VALIDATED" && (
              <button data-testid="mistral-start" onClick={() => act("start", job)}>
                Start
              </button>
            )}
            {!ENDED.includes(job.status) && job.status !== "CANCELLATION_REQUESTED" && (
              <button className="ghost" data-testid="mistral-cancel" onClick={() => act("cancel", job)}>
                Cancel
              </button>
            )}
          </div>
          {job.error && <p className="error-text">{job.error}</p>}
          {job.fine_tuned_model && (
            <p data-testid="mistral-tuned">
              Tuned model <code>{job.fine_tuned_model}</code>: chat with it in Chat → Compare.
            </p>
          )}
          {points.length > 0 && <LossChart main={{ label: job.id, metrics: points }} />}
          <ul className="mistral-events" data-testid="mistral-events">
            {job.events.map((e, i) => (
              <li key={i}>
                <span className="muted">{new Date(e.created_at * 1000).toLocaleString()}</span> {e.name}: {e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
