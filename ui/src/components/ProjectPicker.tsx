import { useEffect, useState } from "react";
import { api, pickPath } from "../backend";
import type { ApiError, ProjectInfo, RecentProject } from "../generated/types";
import { ErrorBanner } from "./ErrorBanner";

export function ProjectPicker({ onOpen }: { onOpen: (p: ProjectInfo) => void }) {
  const [recent, setRecent] = useState<RecentProject[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [name, setName] = useState("");
  const [folder, setFolder] = useState("");
  const [persona, setPersona] = useState("");
  const [openPath, setOpenPath] = useState("");

  useEffect(() => {
    api.recentProjects().then(setRecent, setError);
  }, []);

  async function attempt(action: () => Promise<ProjectInfo>) {
    setBusy(true);
    setError(null);
    try {
      onOpen(await action());
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  }

  async function browse(set: (p: string) => void) {
    const picked = await pickPath({ directory: true, title: "Choose a folder" });
    if (picked?.[0]) set(picked[0]);
  }

  return (
    <main className="picker" data-testid="project-picker">
      <header className="picker-header">
        <img src="/icon.png" alt="" width={56} height={56} />
        <div>
          <h1>Grimoire</h1>
          <p>Turn novels into a character you can talk to.</p>
        </div>
      </header>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <div className="picker-grid">
        <form
          className="card"
          data-testid="create-form"
          onSubmit={(e) => {
            e.preventDefault();
            attempt(() => api.createProject({ path: folder, name, persona: persona || null }));
          }}
        >
          <h2>New project</h2>
          <label>
            Name
            <input data-testid="create-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="The Brontës" required />
          </label>
          <label>
            Folder
            <span className="row">
              <input data-testid="create-path" value={folder} onChange={(e) => setFolder(e.target.value)} placeholder="~/Grimoire/brontes" required />
              <button type="button" className="secondary" onClick={() => browse(setFolder)}>
                Browse…
              </button>
            </span>
          </label>
          <label>
            Persona <small>(optional, can be chosen later)</small>
            <input data-testid="create-persona" value={persona} onChange={(e) => setPersona(e.target.value)} placeholder="Jane Eyre" />
          </label>
          <button type="submit" data-testid="create-submit" disabled={busy}>
            Create project
          </button>
        </form>

        <form
          className="card"
          data-testid="open-form"
          onSubmit={(e) => {
            e.preventDefault();
            attempt(() => api.openProject({ path: openPath }));
          }}
        >
          <h2>Open a project</h2>
          <label>
            Folder
            <span className="row">
              <input data-testid="open-path" value={openPath} onChange={(e) => setOpenPath(e.target.value)} placeholder="/path/to/project" required />
              <button type="button" className="secondary" onClick={() => browse(setOpenPath)}>
                Browse…
              </button>
            </span>
          </label>
          <button type="submit" data-testid="open-submit" disabled={busy}>
            Open
          </button>
          <hr />
          <button type="button" className="secondary" data-testid="open-sample" disabled={busy} onClick={() => attempt(api.openSampleProject)}>
            Open the sample project (Pride and Prejudice)
          </button>
        </form>

        <section className="card recent" data-testid="recent-projects">
          <h2>Recent</h2>
          {recent.length === 0 ? (
            <p className="muted">Projects you open appear here.</p>
          ) : (
            <ul>
              {recent.map((r) => (
                <li key={r.path}>
                  <button className="link" onClick={() => attempt(() => api.openProject({ path: r.path }))} title={r.path}>
                    <strong>{r.name}</strong>
                    <span className="muted">{r.path}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </main>
  );
}
