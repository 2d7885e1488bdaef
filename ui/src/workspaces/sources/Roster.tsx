import { useCallback, useEffect, useState } from "react";
import { api } from "../../backend";
import type { ApiError, ProjectInfo, StoredCharacter } from "../../generated/types";
import { speakerColor } from "./colors";

export function Roster({
  project,
  characters,
  onChanged,
  onPersona,
  onError,
}: {
  project: ProjectInfo;
  characters: StoredCharacter[];
  onChanged: (c: StoredCharacter[]) => void;
  onPersona: (p: ProjectInfo) => void;
  onError: (e: ApiError) => void;
}) {
  const [selected, setSelected] = useState<string[]>([]);
  const [name, setName] = useState("");
  const [filter, setFilter] = useState("");
  // Names the person ignored (not characters, or not to be used): kept out of the list, restorable.
  const [ignored, setIgnored] = useState<string[]>([]);
  const loadIgnored = useCallback(() => api.ignoredCharacters({ path: project.path }).then(setIgnored, onError), [project.path, onError]);
  useEffect(() => {
    loadIgnored();
  }, [loadIgnored]);

  async function run(action: () => Promise<StoredCharacter[]>) {
    try {
      onChanged(await action());
      setSelected([]);
      setName("");
    } catch (e) {
      onError(e as ApiError);
    }
    loadIgnored();
  }

  /** Ignores each selected character in turn; the last answer is the roster after all of them. */
  async function ignoreSelected() {
    let roster = characters;
    for (const n of selected) roster = await api.ignoreCharacter({ project: project.path, name: n, ignored: true });
    return roster;
  }

  const shown = characters.filter((c) => !filter || c.name.toLowerCase().includes(filter.toLowerCase()) || c.aliases.some((a) => a.toLowerCase().includes(filter.toLowerCase())));
  const one = selected.length === 1 ? characters.find((c) => c.name === selected[0]) : undefined;

  return (
    <section className="roster" data-testid="roster">
      <h3>Characters</h3>
      <input placeholder="Filter…" value={filter} onChange={(e) => setFilter(e.target.value)} />
      <ul>
        {shown.map((c) => (
          <li key={c.name} className={project.persona === c.name ? "persona" : ""} data-testid="character">
            <label className="row">
              <input
                type="checkbox"
                checked={selected.includes(c.name)}
                onChange={(e) => setSelected((s) => (e.target.checked ? [...s, c.name] : s.filter((n) => n !== c.name)))}
              />
              <span className="dot" style={{ background: speakerColor(c.name) }} />
              <span className="grow">
                <strong>{c.name}</strong>
                {c.aliases.length > 0 && <span className="muted small-print"> {c.aliases.join(", ")}</span>}
              </span>
              <span className="muted" title={`${c.mentions} mentions, ${c.gender}`}>
                {c.quotes}
              </span>
            </label>
          </li>
        ))}
      </ul>
      <div className="roster-actions">
        <input placeholder="New name (merge / rename / split)" value={name} onChange={(e) => setName(e.target.value)} />
        <div className="row wrap">
          <button className="small" disabled={!one} data-testid="make-persona" onClick={() => one && api.setPersona({ project: project.path, persona: one.name }).then(onPersona, onError)}>
            Make persona
          </button>
          <button className="small secondary" disabled={selected.length < 2} onClick={() => run(() => api.mergeCharacters({ project: project.path, names: selected, into: name || selected[0] }))}>
            Merge
          </button>
          <button className="small secondary" disabled={!one || !name} onClick={() => one && run(() => api.renameCharacter({ project: project.path, from: one.name, to: name }))}>
            Rename
          </button>
          <button
            className="small secondary"
            disabled={!one || one.aliases.length === 0 || !name}
            title="Takes the alias typed above out of the selected character, as a character of its own"
            onClick={() => one && run(() => api.splitCharacter({ project: project.path, alias: one.aliases.find((a) => a === name) ?? one.aliases[0], new_name: name }))}
          >
            Split alias
          </button>
          <button
            className="small secondary"
            disabled={selected.length === 0}
            data-testid="ignore-character"
            title="Not a character, or not one to use: its lines go to the next best speaker or to nobody"
            onClick={() => run(ignoreSelected)}
          >
            Ignore
          </button>
        </div>
      </div>
      {ignored.length > 0 && (
        <details className="roster-ignored" data-testid="ignored-characters">
          <summary className="muted">Ignored ({ignored.length})</summary>
          <ul>
            {ignored.map((n) => (
              <li key={n} className="row" data-testid="ignored-character">
                <span className="grow">{n}</span>
                <button className="small secondary" onClick={() => run(() => api.ignoreCharacter({ project: project.path, name: n, ignored: false }))}>
                  Restore
                </button>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
