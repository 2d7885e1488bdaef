// Compare mode of the Chat workspace: one message goes to the base model and to a training run's
// adapter, both replies stream at once (the engine interleaves them over one copy of the base);
// blind mode hides which is which and keeps the person's picks per run in the project. A model
// fine-tuned on Mistral's servers can take the tuned side too: both replies then come from Mistral
// (its base model and the tuned one), through the teacher that created the job.
import { Composer } from "../../components/Composer";
import { useEffect, useRef, useState } from "react";
import { api } from "../../backend";
import type { ApiError, ChatMessage, ChatParams, MistralJobView, ProjectInfo, PromptPreset, RunView, VoteTally, Winner } from "../../generated/types";
import { ErrorBanner } from "../../components/ErrorBanner";

type Side = "base" | "tuned";
type Pane = { messages: ChatMessage[]; streaming: { id: number | null; text: string } | null; stats: string };
const EMPTY: Pane = { messages: [], streaming: null, stats: "" };
/** The value of a Mistral job in the tuned-run list (blind votes are kept under it too). */
const MISTRAL = "mistral:";

export function ComparePanel({
  project,
  model,
  params,
  setParams,
  onSaved,
}: {
  project: ProjectInfo;
  model: string;
  params: ChatParams;
  setParams: (p: ChatParams) => void;
  /** Called after the two sides of an exchange were saved as conversations. */
  onSaved?: () => void;
}) {
  const [runs, setRuns] = useState<RunView[]>([]);
  const [tunedOnMistral, setTunedOnMistral] = useState<MistralJobView[]>([]);
  const [runId, setRunId] = useState("");
  const [system, setSystem] = useState(project.persona ? `You are ${project.persona}.` : "");
  const [presets, setPresets] = useState<PromptPreset[]>([]);
  const [presetName, setPresetName] = useState("");
  const [panes, setPanes] = useState<Record<Side, Pane>>({ base: EMPTY, tuned: EMPTY });
  const [draft, setDraft] = useState("");
  const [blind, setBlind] = useState(false);
  // In blind mode, whether A is the tuned reply (drawn again for every message).
  const [tunedIsA, setTunedIsA] = useState(true);
  const [voted, setVoted] = useState<Winner | null>(null);
  const [tally, setTally] = useState<VoteTally | null>(null);
  const [notice, setNotice] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  // The conversations the two sides are saved as (0: not yet), and how far they were saved.
  const saved = useRef<{ base: number; tuned: number; upTo: number }>({ base: 0, tuned: 0, upTo: 0 });

  const run = runs.find((r) => r.run_id === runId);
  const remote = tunedOnMistral.find((j) => MISTRAL + j.id === runId);
  const ready = run ?? remote;
  useEffect(() => {
    api.listRuns({ path: project.path }).then((all) => {
      const ready = all.filter((r) => r.has_adapter);
      setRuns(ready);
      setRunId((id) => id || ready[0]?.run_id || "");
    }, setError);
    api.mistralChatModels({ path: project.path }).then((jobs) => {
      setTunedOnMistral(jobs);
      setRunId((id) => id || (jobs[0] ? MISTRAL + jobs[0].id : ""));
    }, setError);
    api.promptPresets({ path: project.path }).then(setPresets, setError);
  }, [project.path]);
  useEffect(() => {
    if (runId) api.blindTally({ project: project.path, run_id: runId }).then(setTally, setError);
    setPanes({ base: EMPTY, tuned: EMPTY });
    setVoted(null);
    saved.current = { base: 0, tuned: 0, upTo: 0 };
  }, [project.path, runId]);

  const busy = panes.base.streaming != null || panes.tuned.streaming != null;
  const withSystem = (m: ChatMessage[]): ChatMessage[] => (system.trim() ? [{ role: "system", content: system.trim() }, ...m] : m);
  const update = (side: Side, f: (p: Pane) => Pane) => setPanes((all) => ({ ...all, [side]: f(all[side]) }));

  /** The model (and adapter or Mistral teacher) that answers on `side`. */
  function targetOf(side: Side) {
    const adapter = side === "tuned" ? run?.dir ?? null : null;
    // On Mistral, the base side is the job's base model and the tuned side its result.
    return remote
      ? { model: side === "tuned" ? remote.fine_tuned_model ?? remote.model : remote.model, adapter: null, teacher: remote.teacher }
      : { model, adapter, teacher: null };
  }

  async function start(side: Side, history: ChatMessage[]) {
    update(side, (p) => ({ ...p, messages: history, streaming: { id: null, text: "" }, stats: "" }));
    try {
      const target = targetOf(side);
      const started = await api.chat({ ...target, messages: withSystem(history), params }, (e) => {
        if (e.type === "chunk") update(side, (p) => ({ ...p, streaming: p.streaming && { ...p.streaming, text: p.streaming.text + e.text } }));
        else if (e.type === "done")
          update(side, (p) => ({
            messages: [...p.messages, { role: "assistant", content: e.text }],
            streaming: null,
            stats: `${e.tokens} tokens · ${e.tokens_per_second.toFixed(1)} tok/s · ${e.finish}`,
          }));
        else if (e.type === "error") {
          update(side, (p) => ({ ...p, streaming: null }));
          setError(e.error);
        }
      });
      update(side, (p) => ({ ...p, streaming: p.streaming && { ...p.streaming, id: started.stream_id } }));
    } catch (e) {
      update(side, (p) => ({ ...p, streaming: null }));
      setError(e as ApiError);
    }
  }

  function send() {
    const text = draft.trim();
    if (!text || busy || !ready) return;
    setError(null);
    setDraft("");
    setVoted(null);
    setTunedIsA(Math.random() < 0.5);
    for (const side of ["base", "tuned"] as Side[]) start(side, [...panes[side].messages, { role: "user", content: text }]);
  }

  async function vote(winner: Winner) {
    const base = panes.base.messages;
    const tuned = panes.tuned.messages;
    const prompt = [...base].reverse().find((m) => m.role === "user")?.content ?? "";
    try {
      const t = await api.recordBlindVote({
        project: project.path,
        run_id: runId,
        winner,
        prompt,
        base_reply: base[base.length - 1]?.content ?? "",
        tuned_reply: tuned[tuned.length - 1]?.content ?? "",
      });
      setTally(t);
      setVoted(winner);
    } catch (e) {
      setError(e as ApiError);
    }
  }

  async function toReview(side: Side, index: number) {
    try {
      const id = await api.replyToReview({ project: project.path, messages: withSystem(panes[side].messages.slice(0, index + 1)) });
      setNotice(`Sent to Review as example #${id} (pending, tagged “chat”).`);
    } catch (e) {
      setError(e as ApiError);
    }
  }

  async function draftPrompt() {
    try {
      setSystem(await api.draftSystemPrompt({ path: project.path }));
    } catch (e) {
      setError(e as ApiError);
    }
  }

  async function savePreset() {
    const name = presetName.trim();
    if (!name) return;
    try {
      setPresets(await api.savePromptPreset({ project: project.path, preset: { name, prompt: system } }));
    } catch (e) {
      setError(e as ApiError);
    }
  }

  const num = (key: keyof ChatParams, value: string) => setParams({ ...params, [key]: Number(value) });
  const lastDone = panes.base.messages.at(-1)?.role === "assistant" && panes.tuned.messages.at(-1)?.role === "assistant" && !busy;

  // Once both sides have answered, each side is kept in the project as a conversation (updated in
  // place as the exchange goes on), so it can be reopened and exported like any chat.
  const length = panes.base.messages.length + panes.tuned.messages.length;
  useEffect(() => {
    if (!lastDone || saved.current.upTo === length) return;
    saved.current.upTo = length;
    const sides: Side[] = ["base", "tuned"];
    Promise.all(
      sides.map((side) => {
        const { model: m, adapter } = targetOf(side);
        return api
          .saveConversation({ project: project.path, id: saved.current[side], model: m, adapter, messages: withSystem(panes[side].messages), params })
          .then((c) => {
            saved.current[side] = c.id;
          });
      }),
    ).then(() => onSaved?.(), setError);
  }, [lastDone, length]);
  const order: Side[] = blind ? (tunedIsA ? ["tuned", "base"] : ["base", "tuned"]) : ["base", "tuned"];
  const baseLabel = remote ? `Base: ${remote.model}` : "Base model";
  const tunedLabel = remote ? `Tuned on Mistral: ${remote.fine_tuned_model}` : `Tuned: ${runId}`;
  const label = (side: Side, i: number) => (blind && !voted ? (i === 0 ? "A" : "B") : side === "base" ? baseLabel : tunedLabel);
  const total = tally ? tally.tuned + tally.base + tally.tie + tally.neither : 0;
  const others = tally ? [tally.tie ? `${tally.tie} equal` : "", tally.neither ? `${tally.neither} neither` : ""].filter(Boolean).join(", ") : "";

  return (
    <div className="chat-grid" data-testid="compare">
      <aside className="chat-side">
        <label>
          Tuned run
          <select data-testid="compare-run" value={runId} onChange={(e) => setRunId(e.target.value)}>
            {runs.length === 0 && tunedOnMistral.length === 0 && <option value="">No run with an adapter yet</option>}
            {runs.map((r) => (
              <option key={r.run_id} value={r.run_id}>
                {r.run_id}
              </option>
            ))}
            {tunedOnMistral.length > 0 && (
              <optgroup label="Tuned on Mistral">
                {tunedOnMistral.map((j) => (
                  <option key={j.id} value={MISTRAL + j.id} data-testid="compare-mistral-option">
                    {j.fine_tuned_model}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
        </label>
        <label className="row">
          <input type="checkbox" data-testid="compare-blind" checked={blind} onChange={(e) => { setBlind(e.target.checked); setVoted(null); }} /> Blind (A / B)
        </label>
        <p className="muted small-print" data-testid="compare-tally">
          {total ? `tuned preferred ${tally?.tuned} of ${total}${others ? ` (${others})` : ""}` : "No blind votes for this run yet"}
        </p>
        <label>
          System prompt
          <textarea data-testid="compare-system" rows={6} value={system} onChange={(e) => setSystem(e.target.value)} placeholder="Empty: the model's own default" />
        </label>
        <button className="secondary" data-testid="compare-draft" onClick={draftPrompt}>
          Draft from the book
        </button>
        <div className="row">
          <select
            data-testid="compare-presets"
            value=""
            onChange={(e) => {
              const p = presets.find((x) => x.name === e.target.value);
              if (p) {
                setSystem(p.prompt);
                setPresetName(p.name);
              }
            }}
          >
            <option value="">Presets…</option>
            {presets.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div className="row">
          <input placeholder="Preset name" value={presetName} onChange={(e) => setPresetName(e.target.value)} />
          <button className="secondary" onClick={savePreset} disabled={!presetName.trim()}>
            Save
          </button>
          <button
            className="secondary"
            disabled={!presets.some((p) => p.name === presetName.trim())}
            onClick={() => api.deletePromptPreset({ project: project.path, name: presetName.trim() }).then(setPresets, setError)}
          >
            Delete
          </button>
        </div>
        <label>
          Temperature <input type="number" step={0.1} min={0} max={2} value={params.temperature} onChange={(e) => num("temperature", e.target.value)} />
        </label>
        <label>
          Top-p <input type="number" step={0.05} min={0} max={1} value={params.top_p} onChange={(e) => num("top_p", e.target.value)} />
        </label>
        <label>
          Max tokens <input data-testid="compare-max-tokens" type="number" min={1} max={4096} value={params.max_tokens} onChange={(e) => num("max_tokens", e.target.value)} />
        </label>
        <label>
          Seed <input type="number" min={0} value={params.seed} onChange={(e) => num("seed", e.target.value)} />
        </label>
        <button className="secondary" onClick={() => { setPanes({ base: EMPTY, tuned: EMPTY }); setVoted(null); }} disabled={busy}>
          New comparison
        </button>
      </aside>
      <section className="chat-main">
        <ErrorBanner error={error} onDismiss={() => setError(null)} />
        {notice && <p className="muted small-print" data-testid="compare-notice">{notice}</p>}
        <div className="compare-panes">
          {order.map((side, i) => {
            const pane = panes[side];
            return (
              <div key={side} className="compare-pane" data-testid={`pane-${blind && !voted ? (i === 0 ? "a" : "b") : side}`}>
                <div className="row compare-pane-head">
                  <strong>{label(side, i)}</strong>
                  {pane.streaming && (
                    <button type="button" className="secondary" data-testid="pane-stop" onClick={() => pane.streaming?.id != null && api.cancelChat(pane.streaming.id)}>
                      Stop
                    </button>
                  )}
                </div>
                <div className="messages">
                  {pane.messages.map((m, j) => (
                    <div key={j} className={`message ${m.role}`} data-testid={`pane-message-${m.role}`}>
                      {m.content}
                      {m.role === "assistant" && (!blind || voted) && (
                        <button className="link small-print" data-testid="to-review" onClick={() => toReview(side, j)}>
                          To review
                        </button>
                      )}
                    </div>
                  ))}
                  {pane.streaming && (
                    <div className="message assistant streaming" data-testid="pane-streaming">
                      {pane.streaming.text || <span className="muted">thinking…</span>}
                    </div>
                  )}
                </div>
                {pane.stats && <p className="muted small-print">{pane.stats}</p>}
                {blind && lastDone && !voted && (
                  <button data-testid={`vote-${i === 0 ? "a" : "b"}`} onClick={() => vote(side)}>
                    {i === 0 ? "A" : "B"} is more in character
                  </button>
                )}
              </div>
            );
          })}
        </div>
        {blind && lastDone && !voted && (
          <div className="row" data-testid="vote-other">
            <button className="secondary" data-testid="vote-tie" onClick={() => vote("tie")}>
              Both equally
            </button>
            <button className="secondary" data-testid="vote-neither" onClick={() => vote("neither")}>
              Neither sounds like them
            </button>
          </div>
        )}
        {blind && voted && (
          <p data-testid="compare-revealed">
            {voted === "tie"
              ? "You found them equally in character."
              : voted === "neither"
                ? "You found neither in character."
                : `You picked the ${voted === "tuned" ? "tuned" : "base"} reply.`}{" "}
            {order[0] === "tuned" ? "A was the tuned reply." : "A was the base model's."}
          </p>
        )}
        <Composer testId="compare-input" value={draft} onChange={setDraft} onSend={send} placeholder={ready ? "One message to both (Enter sends)" : "Train a run first: compare needs its adapter (or a model tuned on Mistral)"}>
          <button type="submit" data-testid="compare-send" disabled={!draft.trim() || busy || !ready}>
            Send to both
          </button>
        </Composer>
      </section>
    </div>
  );
}
