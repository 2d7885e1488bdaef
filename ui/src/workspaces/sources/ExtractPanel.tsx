import { useState } from "react";
import { api } from "../../backend";
import type { ApiError, ExtractOptions, ProjectInfo } from "../../generated/types";

export function ExtractPanel({ project, onError }: { project: ProjectInfo; onError: (e: ApiError) => void }) {
  const [options, setOptions] = useState<ExtractOptions>({
    context_turns: 2,
    min_chars: 10,
    narration: false,
    scenes: true,
    system_prompt: project.persona ? `You are ${project.persona}.` : null,
    min_confidence: 0.6,
  });
  const [started, setStarted] = useState(false);

  async function start() {
    if (!project.persona) return;
    try {
      await api.extract({ project: project.path, persona: project.persona, options });
      setStarted(true);
      setTimeout(() => setStarted(false), 2500);
    } catch (e) {
      onError(e as ApiError);
    }
  }

  return (
    <section className="extract" data-testid="extract-panel">
      <h3>Dialogue examples</h3>
      <p className="muted small-print">
        {project.persona ? `Persona: ${project.persona}` : "Choose a persona in the character list first."}
      </p>
      <label>
        Lines said before
        <input type="number" min={1} max={8} value={options.context_turns} onChange={(e) => setOptions({ ...options, context_turns: Number(e.target.value) })} />
      </label>
      <label>
        Shortest line (characters)
        <input type="number" min={0} value={options.min_chars} onChange={(e) => setOptions({ ...options, min_chars: Number(e.target.value) })} />
      </label>
      <label title="Lines whose speaker is a weaker guess are left out. 0.6 takes speech tags, beats, two-person exchanges that the tags on both sides confirm or that run long and alternation between two speakers; 0.5 also takes weaker guesses; alternation among three or more is weaker still.">
        Least speaker confidence
        <input
          type="number"
          data-testid="extract-min-confidence"
          min={0}
          max={1}
          step={0.05}
          value={options.min_confidence}
          onChange={(e) => setOptions({ ...options, min_confidence: Number(e.target.value) })}
        />
      </label>
      <label className="check">
        <input type="checkbox" checked={options.narration} onChange={(e) => setOptions({ ...options, narration: e.target.checked })} /> Narration that sets the scene
      </label>
      <label className="check">
        <input type="checkbox" checked={options.scenes} onChange={(e) => setOptions({ ...options, scenes: e.target.checked })} /> Whole scenes as conversations
      </label>
      <label>
        System prompt
        <input value={options.system_prompt ?? ""} onChange={(e) => setOptions({ ...options, system_prompt: e.target.value || null })} />
      </label>
      <button data-testid="extract-start" disabled={!project.persona} onClick={start}>
        Extract dialogue
      </button>
      {started && <span className="badge ok">Started: see Jobs</span>}
    </section>
  );
}
