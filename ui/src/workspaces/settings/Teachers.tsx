// Settings → Teachers: the models that write strategy B and C examples. The built-in model is always
// listed; others are OpenAI-compatible servers or Mistral, with their key in the OS keyring.
import { useCallback, useEffect, useState } from "react";
import { api } from "../../backend";
import type { ApiError, KeySource, TeacherConfig, TeacherKind, TeacherView, TestTeacherOutput } from "../../generated/types";

const KIND_LABEL: Record<TeacherKind, string> = {
  built_in: "Built-in model",
  open_ai_compatible: "OpenAI-compatible",
  mistral: "Mistral",
};

const NEW_TEACHER: TeacherConfig = {
  name: "",
  kind: "open_ai_compatible",
  base_url: "http://localhost:8000/v1",
  model: "",
  max_in_flight: 8,
  requests_per_minute: 0,
  tokens_per_minute: 0,
  price: { input_per_million: 0, output_per_million: 0 },
  timeout_seconds: 120,
  max_tokens: 1024,
  temperature: 0.3,
  json_mode: true,
};

function keyText(k: KeySource): string {
  if (k.kind === "keyring") return "in the OS keyring";
  if (k.kind === "environment") return `from ${k.variable}`;
  return "none";
}

export function Teachers({ onError }: { onError: (e: ApiError | null) => void }) {
  const [teachers, setTeachers] = useState<TeacherView[]>([]);
  const [editing, setEditing] = useState<{ config: TeacherConfig; isNew: boolean } | null>(null);
  const [tests, setTests] = useState<Record<string, TestTeacherOutput | "running">>({});
  const [keys, setKeys] = useState<Record<string, string>>({});
  const [keyProblem, setKeyProblem] = useState<Record<string, string>>({});

  const refresh = useCallback(() => {
    api.listTeachers().then(setTeachers, onError);
  }, [onError]);
  useEffect(refresh, [refresh]);

  async function save(config: TeacherConfig) {
    onError(null);
    try {
      await api.saveTeacher(config);
      setEditing(null);
      refresh();
    } catch (e) {
      onError(e as ApiError);
    }
  }

  async function remove(name: string) {
    onError(null);
    try {
      await api.deleteTeacher({ name });
      refresh();
    } catch (e) {
      onError(e as ApiError);
    }
  }

  async function setKey(name: string, key: string | null) {
    setKeyProblem((p) => ({ ...p, [name]: "" }));
    try {
      await api.setTeacherKey({ name, key });
      setKeys((k) => ({ ...k, [name]: "" }));
      refresh();
    } catch (e) {
      // Most often: no keyring here. The message names the environment variable to use instead.
      setKeyProblem((p) => ({ ...p, [name]: `The key was not ${key === null ? "removed" : "saved"}: ${(e as ApiError).message}` }));
    }
  }

  async function test(name: string) {
    setTests((t) => ({ ...t, [name]: "running" }));
    try {
      const out = await api.testTeacher({ name });
      setTests((t) => ({ ...t, [name]: out }));
    } catch (e) {
      const message = (e as ApiError).message;
      setTests((t) => ({ ...t, [name]: { ok: false, models: [], model_found: false, error: message, millis: 0 } }));
    }
  }

  return (
    <section className="teachers" data-testid="teachers">
      <div className="row section-head">
        <h2>Teachers</h2>
        <button className="secondary small" data-testid="teacher-add" onClick={() => setEditing({ config: { ...NEW_TEACHER }, isNew: true })}>
          Add teacher
        </button>
      </div>
      <p className="muted small-print">
        Teachers write first-person retellings and in-voice questions and answers from the books. Keys are kept in the OS keyring, never in projects or
        settings.
      </p>
      {editing && <TeacherForm initial={editing.config} isNew={editing.isNew} onSave={save} onCancel={() => setEditing(null)} />}
      <ul className="teacher-list">
        {teachers.map((t) => {
          const c = t.config;
          const result = tests[c.name];
          const builtin = c.kind === "built_in";
          return (
            <li key={c.name} className="card teacher" data-testid={`teacher-${c.name}`}>
              <div className="row teacher-head">
                <strong>{c.name}</strong>
                <span className="badge">{KIND_LABEL[c.kind]}</span>
                <span className="muted grow ellipsis" title={builtin ? c.model : `${c.base_url} · ${c.model}`}>
                  {builtin ? "runs on this computer, free" : `${c.model} at ${c.base_url}`}
                </span>
                <button className="secondary small" data-testid={`teacher-test-${c.name}`} disabled={result === "running"} onClick={() => test(c.name)}>
                  {result === "running" ? "Testing…" : "Test connection"}
                </button>
                <button className="secondary small" data-testid={`teacher-edit-${c.name}`} onClick={() => setEditing({ config: { ...c }, isNew: false })}>
                  Edit
                </button>
                <button className="secondary small" data-testid={`teacher-delete-${c.name}`} onClick={() => remove(c.name)} title={builtin ? "Back to the built-in defaults" : "Remove the teacher and its key"}>
                  {builtin ? "Reset" : "Delete"}
                </button>
              </div>
              {!builtin && (
                <div className="muted small-print">
                  {c.price.input_per_million > 0 || c.price.output_per_million > 0
                    ? `${c.price.input_per_million} / ${c.price.output_per_million} per million tokens in / out · `
                    : ""}
                  {c.max_in_flight} in flight
                  {c.requests_per_minute > 0 ? ` · ${c.requests_per_minute} requests/min` : ""}
                  {c.tokens_per_minute > 0 ? ` · ${c.tokens_per_minute} tokens/min` : ""}
                </div>
              )}
              {!builtin && (
                <form
                  className="row key-row"
                  onSubmit={(e) => {
                    e.preventDefault();
                    if (keys[c.name]?.trim()) setKey(c.name, keys[c.name]);
                  }}
                >
                  <span className="muted nowrap" data-testid={`teacher-key-${c.name}`}>
                    Key: {keyText(t.key)}
                    {t.needs_key && t.key.kind === "none" ? " (required)" : ""}
                  </span>
                  <input
                    type="password"
                    autoComplete="off"
                    placeholder="Paste an API key"
                    aria-label={`API key for ${c.name}`}
                    value={keys[c.name] ?? ""}
                    onChange={(e) => setKeys((k) => ({ ...k, [c.name]: e.target.value }))}
                  />
                  <button type="submit" className="small" disabled={!keys[c.name]?.trim()}>
                    Save key
                  </button>
                  <button type="button" className="secondary small" disabled={t.key.kind !== "keyring"} onClick={() => setKey(c.name, null)}>
                    Clear key
                  </button>
                </form>
              )}
              {!builtin && (keyProblem[c.name] || t.keyring_error) && (
                <p className="warn-text" data-testid={`teacher-keyring-${c.name}`}>
                  {keyProblem[c.name] || `The OS keyring cannot be used: ${t.keyring_error}`}
                </p>
              )}
              {result && result !== "running" && <TestResult result={result} />}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function TestResult({ result }: { result: TestTeacherOutput }) {
  if (!result.ok) {
    return (
      <p className="error-text" data-testid="teacher-test-result" data-ok="false">
        Connection failed: {result.error}
      </p>
    );
  }
  return (
    <div data-testid="teacher-test-result" data-ok="true">
      <p className="ok-text">
        Connected in {result.millis} ms.{" "}
        {result.model_found ? "The model is available." : "The configured model is not in the list below; check its name."}
      </p>
      <ul className="model-names">
        {result.models.slice(0, 50).map((m) => (
          <li key={m}>
            <code>{m}</code>
          </li>
        ))}
        {result.models.length > 50 && <li className="muted">and {result.models.length - 50} more</li>}
      </ul>
    </div>
  );
}

function NumberField({ label, value, onChange, step, hint }: { label: string; value: number; onChange: (n: number) => void; step?: number; hint?: string }) {
  return (
    <label>
      {label}
      <input type="number" min={0} step={step ?? 1} value={value} onChange={(e) => onChange(Number(e.target.value))} />
      {hint && <small>{hint}</small>}
    </label>
  );
}

function TeacherForm({ initial, isNew, onSave, onCancel }: { initial: TeacherConfig; isNew: boolean; onSave: (c: TeacherConfig) => void; onCancel: () => void }) {
  const [c, setC] = useState<TeacherConfig>(initial);
  const set = (patch: Partial<TeacherConfig>) => setC((x) => ({ ...x, ...patch }));
  const builtin = c.kind === "built_in";
  return (
    <form
      className="card teacher-form"
      data-testid="teacher-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(c);
      }}
    >
      <h3>{isNew ? "New teacher" : `Edit ${c.name}`}</h3>
      <div className="form-grid">
        <label>
          Name
          <input data-testid="teacher-name" value={c.name} disabled={!isNew} placeholder="local-vllm" onChange={(e) => set({ name: e.target.value })} />
        </label>
        <label>
          Kind
          <select
            data-testid="teacher-kind"
            value={c.kind}
            disabled={builtin}
            onChange={(e) => {
              const kind = e.target.value as TeacherKind;
              set(kind === "mistral" && (!c.base_url || c.base_url.startsWith("http://localhost")) ? { kind, base_url: "https://api.mistral.ai/v1" } : { kind });
            }}
          >
            {builtin && <option value="built_in">{KIND_LABEL.built_in}</option>}
            <option value="open_ai_compatible">{KIND_LABEL.open_ai_compatible}</option>
            <option value="mistral">{KIND_LABEL.mistral}</option>
          </select>
        </label>
        {!builtin && (
          <label className="wide">
            Base URL
            <input data-testid="teacher-base-url" value={c.base_url} placeholder="http://localhost:8000/v1" onChange={(e) => set({ base_url: e.target.value })} />
            <small>With the API version, like https://api.mistral.ai/v1 or http://localhost:11434/v1</small>
          </label>
        )}
        <label className="wide">
          Model
          <input data-testid="teacher-model" value={c.model} placeholder={builtin ? "built-in" : "mistral-large-latest"} onChange={(e) => set({ model: e.target.value })} />
          {builtin && <small>"built-in" or a model file in the model folder</small>}
        </label>
        {!builtin && (
          <>
            <NumberField label="Price in (per million tokens)" step={0.01} value={c.price.input_per_million} onChange={(n) => set({ price: { ...c.price, input_per_million: n } })} />
            <NumberField label="Price out (per million tokens)" step={0.01} value={c.price.output_per_million} onChange={(n) => set({ price: { ...c.price, output_per_million: n } })} />
            <NumberField label="Requests per minute" hint="0: no limit" value={c.requests_per_minute} onChange={(n) => set({ requests_per_minute: n })} />
            <NumberField label="Tokens per minute" hint="0: no limit" value={c.tokens_per_minute} onChange={(n) => set({ tokens_per_minute: n })} />
            <NumberField label="Requests in flight" value={c.max_in_flight} onChange={(n) => set({ max_in_flight: n })} />
          </>
        )}
        <NumberField label="Timeout (seconds)" value={c.timeout_seconds} onChange={(n) => set({ timeout_seconds: n })} />
        <NumberField label="Most tokens per answer" value={c.max_tokens} onChange={(n) => set({ max_tokens: n })} />
        <NumberField label="Temperature" step={0.05} value={c.temperature} onChange={(n) => set({ temperature: n })} />
        {!builtin && (
          <label className="check wide">
            <input type="checkbox" checked={c.json_mode} onChange={(e) => set({ json_mode: e.target.checked })} /> Ask for JSON output (turn off for servers
            that refuse response_format)
          </label>
        )}
      </div>
      <div className="row">
        <button type="submit" data-testid="teacher-save">
          Save teacher
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
