import { Composer } from "../components/Composer";
import { useEffect, useRef, useState } from "react";
import { api } from "../backend";
import type { ApiError, ChatMessage, ChatParams, ConversationView, MistralJobView, ModelEntry, ProjectInfo } from "../generated/types";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";
import { ComparePanel } from "./chat/ComparePanel";

/** A model tuned on Mistral, as the model list holds it: `mistral|TEACHER|MODEL` (teacher names have no `|`). */
const onMistral = (teacher: string, model: string) => `mistral|${teacher}|${model}`;
function target(value: string): { model: string; teacher: string | null } {
  const [prefix, teacher, ...model] = value.split("|");
  return prefix === "mistral" && model.length > 0 ? { model: model.join("|"), teacher } : { model: value, teacher: null };
}

const DEFAULT_PARAMS: ChatParams = { temperature: 0.7, top_p: 0.9, top_k: 40, repetition_penalty: 1.1, max_tokens: 256, seed: 42 };

export function ChatPage({ project }: { project: ProjectInfo }) {
  const [models, setModels] = useState<ModelEntry[]>([]);
  const [tunedOnMistral, setTunedOnMistral] = useState<MistralJobView[]>([]);
  const [model, setModel] = useState("built-in");
  const [adapter, setAdapter] = useState("");
  const [system, setSystem] = useState(project.persona ? `You are ${project.persona}.` : "");
  const [params, setParams] = useState<ChatParams>(DEFAULT_PARAMS);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState("");
  const [streaming, setStreaming] = useState<{ id: number | null; text: string; status: string } | null>(null);
  const [conversations, setConversations] = useState<ConversationView[]>([]);
  const [conversationId, setConversationId] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const [stats, setStats] = useState("");
  const [exported, setExported] = useState("");
  const [mode, setMode] = useState<"single" | "compare">("single");
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    api.listModels().then((m) => setModels(m.filter((x) => x.status === "ready")), setError);
    api.mistralChatModels({ path: project.path }).then(setTunedOnMistral, setError);
    api.listConversations({ path: project.path }).then(setConversations, setError);
  }, [project.path]);
  useEffect(() => bottom.current?.scrollIntoView({ block: "end" }), [messages, streaming?.text]);

  function open(c: ConversationView) {
    setConversationId(c.id);
    setModel(c.model);
    setAdapter(c.adapter ?? "");
    setParams(c.params);
    const sys = c.messages.find((m) => m.role === "system");
    setSystem(sys?.content ?? "");
    setMessages(c.messages.filter((m) => m.role !== "system"));
  }

  function fresh() {
    setConversationId(0);
    setMessages([]);
    setStats("");
  }

  async function send() {
    const text = draft.trim();
    if (!text || streaming) return;
    setError(null);
    const history: ChatMessage[] = [...messages, { role: "user", content: text }];
    setMessages(history);
    setDraft("");
    const full: ChatMessage[] = system.trim() ? [{ role: "system", content: system.trim() }, ...history] : history;
    setStreaming({ id: null, text: "", status: "thinking…" });
    try {
      const started = await api.chat({ ...target(model), adapter: target(model).teacher ? null : adapter.trim() || null, messages: full, params }, (e) => {
        if (e.type === "loading") setStreaming((s) => s && { ...s, status: "loading the model…" });
        else if (e.type === "chunk") setStreaming((s) => s && { ...s, text: s.text + e.text, status: "" });
        else if (e.type === "done") {
          setStreaming(null);
          const done: ChatMessage[] = [...history, { role: "assistant", content: e.text }];
          setMessages(done);
          setStats(`${e.tokens} tokens · ${e.tokens_per_second.toFixed(1)} tok/s · ${e.finish}${e.dropped_messages ? ` · ${e.dropped_messages} old messages left out` : ""}`);
          const all: ChatMessage[] = system.trim() ? [{ role: "system", content: system.trim() }, ...done] : done;
          api
            .saveConversation({ project: project.path, id: conversationId, model, adapter: adapter.trim() || null, messages: all, params })
            .then((c) => {
              setConversationId(c.id);
              return api.listConversations({ path: project.path });
            })
            .then(setConversations, setError);
        } else if (e.type === "error") {
          setStreaming(null);
          setError(e.error);
        }
      });
      setStreaming((s) => s && { ...s, id: started.stream_id });
    } catch (e) {
      setStreaming(null);
      setError(e as ApiError);
    }
  }

  async function toReview(index: number) {
    const upTo = messages.slice(0, index + 1);
    const all: ChatMessage[] = system.trim() ? [{ role: "system", content: system.trim() }, ...upTo] : upTo;
    try {
      const id = await api.replyToReview({ project: project.path, messages: all });
      setStats(`Sent to Review as example #${id} (pending, tagged “chat”).`);
    } catch (e) {
      setError(e as ApiError);
    }
  }

  function stop() {
    if (streaming?.id != null) api.cancelChat(streaming.id);
  }

  const num = (key: keyof ChatParams, value: string) => setParams({ ...params, [key]: Number(value) });

  return (
    <div className="workspace chat" data-testid="workspace-chat">
      <header className="workspace-header">
        <h1>Chat</h1>
        <div className="row" role="tablist">
          <button role="tab" data-testid="chat-mode-single" className={mode === "single" ? "" : "secondary"} onClick={() => setMode("single")}>
            Chat
          </button>
          <button role="tab" data-testid="chat-mode-compare" className={mode === "compare" ? "" : "secondary"} onClick={() => setMode("compare")}>
            Compare
          </button>
        </div>
        <div className="row chat-model">
          <select data-testid="chat-model" value={model} onChange={(e) => setModel(e.target.value)}>
            {models.map((m) => (
              <option key={m.id} value={m.builtin ? "built-in" : m.path}>
                {m.name}
              </option>
            ))}
            {tunedOnMistral.length > 0 && (
              <optgroup label="Tuned on Mistral">
                {tunedOnMistral.map((j) => (
                  <option key={j.id} value={onMistral(j.teacher, j.fine_tuned_model ?? j.model)}>
                    {j.fine_tuned_model}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
          {mode === "single" && (
            <input placeholder="Adapter folder (a training run), optional" value={adapter} onChange={(e) => setAdapter(e.target.value)} />
          )}
        </div>
      </header>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {mode === "compare" ? (
        <ComparePanel
          project={project}
          model={target(model).teacher ? "built-in" : model}
          params={params}
          setParams={setParams}
          onSaved={() => api.listConversations({ path: project.path }).then(setConversations, setError)}
        />
      ) : (
      <div className="chat-grid">
        <aside className="chat-side">
          <button className="secondary" onClick={fresh}>
            New conversation
          </button>
          {conversations.length > 0 && (
            <div className="row" data-testid="conversations-export">
              <span className="muted">Export all:</span>
              {(["jsonl", "markdown"] as const).map((format) => (
                <button
                  key={format}
                  className="small ghost"
                  data-testid={`conversations-export-${format}`}
                  title={format === "jsonl" ? "Mistral JSONL: train on it, or import it into Review" : "A transcript to read or share"}
                  onClick={() =>
                    api
                      .exportConversations({ project: project.path, id: null, format, out: null })
                      .then((o) => setExported(`${o.conversations} written to ${o.file}`), setError)
                  }
                >
                  {format === "jsonl" ? "JSONL" : "Markdown"}
                </button>
              ))}
            </div>
          )}
          {exported && <p className="muted small-print" data-testid="conversations-exported">{exported}</p>}
          <ul className="conversations" data-testid="conversations">
            {conversations.map((c) => (
              <li key={c.id} className={c.id === conversationId ? "active" : ""}>
                <button className="link" onClick={() => open(c)}>
                  {c.title}
                  <span className="muted small-print">{new Date(c.updated_at).toLocaleString()}</span>
                </button>
              </li>
            ))}
          </ul>
          <label>
            System prompt
            <textarea data-testid="chat-system" rows={4} value={system} onChange={(e) => setSystem(e.target.value)} placeholder="Empty: the model's own default" />
          </label>
          <label>
            Temperature <input type="number" step={0.1} min={0} max={2} value={params.temperature} onChange={(e) => num("temperature", e.target.value)} />
          </label>
          <label>
            Top-p <input type="number" step={0.05} min={0} max={1} value={params.top_p} onChange={(e) => num("top_p", e.target.value)} />
          </label>
          <label>
            Max tokens <input data-testid="chat-max-tokens" type="number" min={1} max={4096} value={params.max_tokens} onChange={(e) => num("max_tokens", e.target.value)} />
          </label>
          <label>
            Seed <input type="number" min={0} value={params.seed} onChange={(e) => num("seed", e.target.value)} />
          </label>
        </aside>
        <section className="chat-main">
          <div className="messages" data-testid="messages">
            {messages.length === 0 && !streaming && (
              <EmptyState title="Say something" testId="chat-empty">
                <p>Talk to the base model now; once a training run finishes, put its adapter above and talk to the persona.</p>
              </EmptyState>
            )}
            {messages.map((m, i) => (
              <div key={i} className={`message ${m.role}`} data-testid={`message-${m.role}`}>
                {m.content}
                {m.role === "assistant" && (
                  <button className="link small-print" data-testid="to-review" onClick={() => toReview(i)}>
                    To review
                  </button>
                )}
              </div>
            ))}
            {streaming && (
              <div className="message assistant streaming" data-testid="message-streaming">
                {streaming.text || <span className="muted">{streaming.status}</span>}
              </div>
            )}
            <div ref={bottom} />
          </div>
          <Composer testId="chat-input" value={draft} onChange={setDraft} onSend={send} placeholder="Write a message (Enter sends, Shift+Enter for a new line)">
            {streaming ? (
              <button type="button" data-testid="chat-stop" onClick={stop}>
                Stop
              </button>
            ) : (
              <button type="submit" data-testid="chat-send" disabled={!draft.trim()}>
                Send
              </button>
            )}
          </Composer>
          {stats && <p className="muted small-print" data-testid="chat-stats">{stats}</p>}
        </section>
      </div>
      )}
    </div>
  );
}
