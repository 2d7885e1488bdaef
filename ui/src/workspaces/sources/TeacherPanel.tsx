// Teacher data: strategy B (narration retold in the persona's first person) and C (in-voice questions
// and answers), written by a teacher model. Choose the options and the prompt, preview one passage,
// then run the whole thing as a job whose numbers show here and whose progress shows in Jobs.
import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../../backend";
import type {
  ApiError,
  GenerationEstimate,
  GenerationItem,
  GenerationOptions,
  GenerationStatus,
  PassageList,
  PreviewOutput,
  ProjectInfo,
  PromptTemplate,
  TeacherStrategy,
  TeacherView,
} from "../../generated/types";
import { flagLabel } from "../review/format";

const PAGE = 8;
const GENERATE_KIND = "generate";
const FINISHED = new Set(["completed", "failed", "cancelled", "interrupted"]);

function latest(templates: PromptTemplate[], name: string): PromptTemplate | null {
  return templates.filter((t) => t.name === name).reduce<PromptTemplate | null>((a, t) => (!a || t.version > a.version ? t : a), null);
}

function seconds(s: number): string {
  const r = Math.round(s);
  if (r < 60) return `${r} s`;
  if (r < 3600) return `${Math.floor(r / 60)} min ${r % 60} s`;
  return `${Math.floor(r / 3600)} h ${Math.floor((r % 3600) / 60)} min`;
}

const money = (n: number) => n.toFixed(4);

function passageOf(item: GenerationItem): string {
  try {
    const p = JSON.parse(item.passage) as { passage?: { text?: string } };
    return p.passage?.text ?? "";
  } catch {
    return "";
  }
}

export function TeacherPanel({ project, onError, onClose }: { project: ProjectInfo; onError: (e: ApiError) => void; onClose: () => void }) {
  const [teachers, setTeachers] = useState<TeacherView[]>([]);
  const [teacher, setTeacher] = useState("built-in");
  const [templates, setTemplates] = useState<PromptTemplate[]>([]);
  const [prompt, setPrompt] = useState<PromptTemplate | null>(null);
  const [options, setOptions] = useState<GenerationOptions>({
    strategy: "rewrite",
    persona: null,
    pairs: 3,
    max_chars: 1500,
    min_narration: 120,
    limit: 20,
    prompt: null,
    system_prompt: project.persona ? `You are ${project.persona}.` : null,
  });
  const [offset, setOffset] = useState(0);
  const [passages, setPassages] = useState<PassageList | null>(null);
  const [chosen, setChosen] = useState<number | null>(null);
  const [preview, setPreview] = useState<PreviewOutput | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [jobId, setJobId] = useState<number | null>(null);
  const [status, setStatus] = useState<GenerationStatus | null>(null);
  const [problems, setProblems] = useState<GenerationItem[]>([]);
  const [poll, setPoll] = useState(0);
  const [estimate, setEstimate] = useState<GenerationEstimate | null>(null);

  useEffect(() => {
    api.listTeachers().then((ts) => {
      setTeachers(ts);
      setTeacher((t) => (ts.some((x) => x.config.name === t) ? t : (ts[0]?.config.name ?? t)));
    }, onError);
    api.promptTemplates().then(setTemplates, onError);
    // The newest generation of this project, so its numbers are here after coming back.
    api.listJobs({ path: project.path }).then((jobs) => {
      const last = jobs.filter((j) => j.kind === GENERATE_KIND).sort((a, b) => b.id - a.id)[0];
      if (last) setJobId(last.id);
    }, onError);
  }, [project.path, onError]);

  // The prompt editor follows the strategy: its newest saved version, or the default.
  useEffect(() => {
    setPrompt(latest(templates, options.strategy));
  }, [templates, options.strategy]);

  const saved = latest(templates, options.strategy);
  const edited = !!prompt && !!saved && (prompt.system !== saved.system || prompt.user !== saved.user);
  const effective: GenerationOptions = useMemo(() => ({ ...options, prompt }), [options, prompt]);

  const { strategy, max_chars, min_narration } = options;
  useEffect(() => {
    if (!project.persona) return;
    const sizes: GenerationOptions = { strategy, max_chars, min_narration, persona: null, pairs: 1, limit: null, prompt: null, system_prompt: null };
    api.listPassages({ project: project.path, options: sizes, offset, limit: PAGE }).then(setPassages, onError);
  }, [project.path, project.persona, strategy, max_chars, min_narration, offset, onError]);

  const refreshStatus = useCallback(
    async (id: number) => {
      try {
        const s = await api.generationStatus({ project: project.path, job_id: id });
        setStatus(s);
        setProblems(await api.generationItems({ project: project.path, job_id: id, states: ["rejected", "failed"] }));
        return s;
      } catch (e) {
        onError(e as ApiError);
        return null;
      }
    },
    [project.path, onError],
  );

  // While the job runs: its numbers every second; once finished, one last look.
  useEffect(() => {
    if (jobId === null) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      const s = await refreshStatus(jobId);
      if (!stop && s && !FINISHED.has(s.job.status)) timer = setTimeout(tick, 1000);
    };
    tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [jobId, poll, refreshStatus]);

  const set = (patch: Partial<GenerationOptions>) => setOptions((o) => ({ ...o, ...patch }));

  async function savePrompt() {
    if (!prompt) return;
    try {
      const s = await api.savePrompt({ ...prompt, name: options.strategy });
      setTemplates(await api.promptTemplates());
      setPrompt(s);
    } catch (e) {
      onError(e as ApiError);
    }
  }

  async function runPreview() {
    if (chosen === null) return;
    setPreviewing(true);
    setPreview(null);
    try {
      setPreview(await api.previewGeneration({ project: project.path, teacher, options: effective, passage: chosen }));
    } catch (e) {
      onError(e as ApiError);
    } finally {
      setPreviewing(false);
    }
  }

  async function start() {
    try {
      const { job_id } = await api.startGeneration({ project: project.path, teacher, options: effective });
      setStatus(null);
      setProblems([]);
      setJobId(job_id);
    } catch (e) {
      onError(e as ApiError);
    }
  }

  async function resume() {
    if (jobId === null) return;
    try {
      await api.resumeGeneration({ project: project.path, job_id: jobId });
      setPoll((n) => n + 1);
    } catch (e) {
      onError(e as ApiError);
    }
  }

  // What the job would send and cost, before it starts (again after a preview, whose passage is
  // then cached). A moment after the last change, so typing in a field does not ask at every key.
  useEffect(() => {
    if (!project.persona) return;
    let stale = false;
    const timer = setTimeout(() => {
      api.estimateGeneration({ project: project.path, teacher, options: effective }).then(
        (e) => !stale && setEstimate(e),
        () => !stale && setEstimate(null),
      );
    }, 300);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [project.path, project.persona, teacher, effective, preview, status?.job.status]);

  const t = teachers.find((x) => x.config.name === teacher);
  const count = passages ? (options.limit ? Math.min(options.limit, passages.total) : passages.total) : 0;
  const pages = passages ? Math.max(1, Math.ceil(passages.total / PAGE)) : 1;
  const live = status?.live;
  const running = !!status && !FINISHED.has(status.job.status);

  return (
    <section className="teacher-panel" data-testid="teacher-panel">
      <header className="row section-head">
        <h2>Teacher data</h2>
        <span className="muted grow">{project.persona ? `Persona: ${project.persona}` : "Choose a persona in the character list first."}</span>
        <button className="secondary small" data-testid="teacher-panel-close" onClick={onClose}>
          Back to the reader
        </button>
      </header>
      <div className="teacher-grid">
        <div className="teacher-options">
          <label>
            Strategy
            <select data-testid="gen-strategy" value={options.strategy} onChange={(e) => {
                set({ strategy: e.target.value as TeacherStrategy });
                setOffset(0);
                setChosen(null);
              }}
            >
              <option value="rewrite">Retell in first person (B)</option>
              <option value="qa">Questions &amp; answers (C)</option>
            </select>
          </label>
          <label>
            Teacher
            <select data-testid="gen-teacher" value={teacher} onChange={(e) => setTeacher(e.target.value)}>
              {teachers.map((x) => (
                <option key={x.config.name} value={x.config.name}>
                  {x.config.name}
                </option>
              ))}
            </select>
            {t && t.needs_key && t.key.kind === "none" && <small className="warn-text">No API key: set one in Settings → Teachers.</small>}
          </label>
          <div className="row">
            {options.strategy === "qa" && (
              <label>
                Pairs per passage
                <input type="number" data-testid="gen-pairs" min={1} max={20} value={options.pairs} onChange={(e) => set({ pairs: Number(e.target.value) })} />
              </label>
            )}
            <label>
              Passage size
              <input
                type="number"
                data-testid="gen-max-chars"
                min={200}
                step={100}
                value={options.max_chars}
                onChange={(e) => {
                  set({ max_chars: Number(e.target.value) });
                  setOffset(0);
                  setChosen(null);
                }}
              />
            </label>
            <label>
              Limit
              <input
                type="number"
                data-testid="gen-limit"
                min={1}
                placeholder="all"
                value={options.limit ?? ""}
                onChange={(e) => set({ limit: e.target.value ? Number(e.target.value) : null })}
              />
            </label>
          </div>
          <label>
            System prompt of the examples
            <input data-testid="gen-system-prompt" value={options.system_prompt ?? ""} onChange={(e) => set({ system_prompt: e.target.value || null })} />
          </label>
          {prompt && (
            <details className="prompt-editor" data-testid="prompt-editor">
              <summary>
                Teacher prompt “{prompt.name}” v{saved?.version ?? prompt.version}
                {edited && <span className="badge warn">edited, not saved</span>}
              </summary>
              <label>
                System
                <textarea rows={3} data-testid="prompt-system" value={prompt.system} onChange={(e) => setPrompt({ ...prompt, system: e.target.value })} />
              </label>
              <label>
                User <small>{"{{ persona }}, {{ passage }}, {{ book }}, {{ chapter }}, {{ pairs }}"}</small>
                <textarea rows={10} data-testid="prompt-user" value={prompt.user} onChange={(e) => setPrompt({ ...prompt, user: e.target.value })} />
              </label>
              <div className="row">
                <button className="small" data-testid="prompt-save" disabled={!edited} onClick={savePrompt}>
                  Save as v{(saved?.version ?? 0) + 1}
                </button>
                <button className="secondary small" disabled={!edited} onClick={() => setPrompt(saved)}>
                  Discard changes
                </button>
              </div>
            </details>
          )}
          <div className="row">
            <button data-testid="gen-start" disabled={!project.persona || running} onClick={start}>
              Start generation
            </button>
            <span className="muted small" data-testid="gen-count">
              {passages ? `${count} of ${passages.total} passages` : ""}
            </span>
          </div>
          {estimate && (
            <div className="muted small" data-testid="gen-estimate" data-cost-max={estimate.cost_max}>
              {estimate.cached > 0 && `${estimate.cached} already answered (cached, not paid again) · `}
              about {estimate.prompt_tokens.toLocaleString()} prompt + {estimate.completion_tokens_expected.toLocaleString()} answer tokens
              {" · "}
              {estimate.cost_max > 0
                ? `cost about ${money(estimate.cost_expected)}, at most ${money(estimate.cost_max)}`
                : "no cost (a local model, or no prices set for this teacher)"}
              {estimate.min_seconds !== null && ` · at least ${seconds(estimate.min_seconds)} at its rate limits`}
            </div>
          )}
          {status && (
            <div className="gen-status" data-testid="gen-status" data-status={status.job.status}>
              <div className="row">
                <strong className="grow">{status.job.title}</strong>
                <span className="badge">{status.job.status}</span>
              </div>
              <dl>
                <dt>Passages</dt>
                <dd data-testid="gen-done">
                  {status.totals.done + status.totals.rejected + status.totals.failed} / {status.totals.total}
                </dd>
                <dt>Examples</dt>
                <dd>{status.totals.examples}</dd>
                <dt>Rejected / failed</dt>
                <dd>
                  {status.totals.rejected} / {status.totals.failed}
                </dd>
                <dt>Tokens</dt>
                <dd>
                  {status.totals.prompt_tokens.toLocaleString()} in, {status.totals.completion_tokens.toLocaleString()} out
                  {status.totals.cached > 0 ? ` (${status.totals.cached} from cache)` : ""}
                </dd>
                <dt>Cost</dt>
                <dd>{money(status.cost)}</dd>
                {live && (
                  <>
                    <dt>Time left</dt>
                    <dd>{live.eta_seconds !== null ? `about ${seconds(live.eta_seconds)}` : "estimating…"}</dd>
                    <dt>Retries</dt>
                    <dd>{live.retries}</dd>
                  </>
                )}
              </dl>
              {status.job.error && <p className="error-text">{status.job.error}</p>}
              {["failed", "cancelled", "interrupted"].includes(status.job.status) && (
                <button className="secondary small" data-testid="gen-resume" onClick={resume}>
                  Resume (finished passages are not asked again)
                </button>
              )}
              {problems.length > 0 && (
                <details data-testid="gen-problems">
                  <summary>
                    {problems.length} rejected or failed passage{problems.length === 1 ? "" : "s"}
                  </summary>
                  <ul className="problems">
                    {problems.map((p) => (
                      <li key={p.idx}>
                        <span className={`badge ${p.state === "failed" ? "warn" : ""}`}>{p.state}</span> #{p.idx + 1}: {p.reason ?? "no reason recorded"}
                        <div className="muted ellipsis-2">{passageOf(p)}</div>
                      </li>
                    ))}
                  </ul>
                </details>
              )}
            </div>
          )}
        </div>
        <div className="teacher-passages">
          <div className="row">
            <h3 className="grow">Passages {passages ? `(${passages.total})` : ""}</h3>
            <button className="secondary small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              ‹
            </button>
            <span className="muted small" data-testid="passage-page">
              {Math.floor(offset / PAGE) + 1} / {pages}
            </span>
            <button className="secondary small" data-testid="passage-next" disabled={!passages || offset + PAGE >= passages.total} onClick={() => setOffset(offset + PAGE)}>
              ›
            </button>
          </div>
          {passages && passages.total === 0 && <p className="muted">No narration about the persona was found with these sizes.</p>}
          <ul className="passages" data-testid="passages">
            {passages?.passages.map((p) => (
              <li key={p.index}>
                <button className={`passage ${chosen === p.index ? "active" : ""}`} data-testid="passage" data-index={p.index} onClick={() => setChosen(p.index)}>
                  <span className="muted small">
                    #{p.index + 1} · {p.book_title}
                    {p.chapter_title ? ` · ${p.chapter_title}` : ` · chapter ${p.chapter + 1}`}
                  </span>
                  <span className={chosen === p.index ? "passage-full" : "ellipsis-2"}>{p.text}</span>
                </button>
              </li>
            ))}
          </ul>
          <div className="row">
            <button data-testid="gen-preview" disabled={chosen === null || previewing} onClick={runPreview}>
              {previewing ? "Asking the teacher…" : "Preview"}
            </button>
            <span className="muted small">{chosen === null ? "Choose a passage to try the prompt on." : `Passage #${chosen + 1}`}</span>
          </div>
          {preview && <Preview preview={preview} />}
        </div>
      </div>
    </section>
  );
}

function Preview({ preview }: { preview: PreviewOutput }) {
  return (
    <div className="preview" data-testid="gen-preview-result" data-rejected={preview.rejected ? "true" : "false"}>
      <p className="muted small">
        {preview.prompt_tokens} + {preview.completion_tokens} tokens · cost {money(preview.cost)}
        {preview.cached ? " · from the cache (a generation will not pay for it again)" : ""}
        {preview.repairs.length > 0 ? ` · repaired: ${preview.repairs.join(", ")}` : ""}
      </p>
      {preview.rejected ? (
        <p className="error-text" data-testid="gen-preview-rejected">
          Rejected: {preview.rejected}
        </p>
      ) : (
        <div data-testid="gen-preview-examples">
          <h3>
            {preview.examples.length} example{preview.examples.length === 1 ? "" : "s"}
          </h3>
          {preview.examples.map((ex, i) => (
            <div key={i} className="turns preview-example">
              {ex.flags.length > 0 && (
                <span className="flags">
                  {ex.flags.map((f) => (
                    <span key={f} className="flag">
                      {flagLabel(f)}
                    </span>
                  ))}
                </span>
              )}
              {ex.messages.map((m, j) => (
                <div key={j} className={`turn turn-${m.role}`}>
                  <div className="muted small">{m.role}</div>
                  <div className="turn-text">{m.content}</div>
                </div>
              ))}
            </div>
          ))}
        </div>
      )}
      <details>
        <summary>Raw teacher output</summary>
        <pre className="raw" data-testid="gen-preview-raw">
          {preview.raw || "(empty)"}
        </pre>
      </details>
      <details>
        <summary>Prompt as sent</summary>
        {preview.prompt.map((m, i) => (
          <pre key={i} className="raw">
            {m.role}: {m.content}
          </pre>
        ))}
      </details>
    </div>
  );
}
