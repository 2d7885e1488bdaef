import { useCallback, useEffect, useState } from "react";
import { api } from "./backend";
import type { ApiError, ProjectInfo, Theme } from "./generated/types";
import { ErrorBanner } from "./components/ErrorBanner";
import { JobsPanel } from "./components/JobsPanel";
import { ProjectPicker } from "./components/ProjectPicker";
import { Sources } from "./workspaces/Sources";
import { Train } from "./workspaces/train/Train";
import { Review } from "./workspaces/review/Review";
import { SettingsPage } from "./workspaces/SettingsPage";
import { ChatPage } from "./workspaces/ChatPage";

type View = "sources" | "review" | "train" | "chat" | "settings";

const WORKSPACES: { id: View; label: string; key: string }[] = [
  { id: "sources", label: "Sources", key: "1" },
  { id: "review", label: "Review", key: "2" },
  { id: "train", label: "Train", key: "3" },
  { id: "chat", label: "Chat", key: "4" },
];

function applyTheme(theme: Theme) {
  document.documentElement.dataset.theme = theme;
}

export default function App() {
  const [project, setProject] = useState<ProjectInfo | null>(null);
  const [view, setView] = useState<View>("sources");
  const [ready, setReady] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [showJobs, setShowJobs] = useState(true);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    api.getSettings().then((s) => applyTheme(s.theme), () => undefined);
    api
      .startup()
      .then((s) => {
        if (s.open_project) setProject(s.open_project);
        if (s.error) setError(s.error);
      }, setError)
      .finally(() => setReady(true));
  }, []);

  // Keyboard: Ctrl+1..4 workspaces, Ctrl+, settings, Ctrl+J jobs, Ctrl+W back to the project picker.
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (!(e.ctrlKey || e.metaKey) || !project) return;
      const ws = WORKSPACES.find((w) => w.key === e.key);
      if (ws) setView(ws.id);
      else if (e.key === ",") setView("settings");
      else if (e.key.toLowerCase() === "j") setShowJobs((v) => !v);
      else if (e.key.toLowerCase() === "w") setProject(null);
      else return;
      e.preventDefault();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [project]);

  const jobsChanged = useCallback(() => {
    setVersion((v) => v + 1);
    if (project) api.projectInfo({ path: project.path }).then(setProject, () => undefined);
  }, [project?.path]); // eslint-disable-line react-hooks/exhaustive-deps

  if (!ready) return <div className="splash">Opening…</div>;

  if (!project) {
    return (
      <>
        <ErrorBanner error={error} onDismiss={() => setError(null)} />
        <ProjectPicker
          onOpen={(p) => {
            setProject(p);
            setView("sources");
          }}
        />
      </>
    );
  }

  return (
    <div className={`shell ${showJobs ? "with-jobs" : ""}`}>
      <nav className="sidebar" aria-label="Workspaces">
        <div className="project-name" data-testid="project-name" title={project.path}>
          <img src="/icon.png" alt="" width={28} height={28} />
          <div>
            <strong>{project.name}</strong>
            <span className="muted">{project.persona ? `Persona: ${project.persona}` : "No persona chosen"}</span>
          </div>
        </div>
        {WORKSPACES.map((w) => (
          <button
            key={w.id}
            className={`nav ${view === w.id ? "active" : ""}`}
            data-testid={`nav-${w.id}`}
            aria-current={view === w.id ? "page" : undefined}
            onClick={() => setView(w.id)}
          >
            {w.label}
            <kbd>Ctrl+{w.key}</kbd>
          </button>
        ))}
        <div className="spacer" />
        <button className={`nav ${view === "settings" ? "active" : ""}`} data-testid="nav-settings" onClick={() => setView("settings")}>
          Settings <kbd>Ctrl+,</kbd>
        </button>
        <button className="nav" data-testid="toggle-jobs" onClick={() => setShowJobs((v) => !v)}>
          Jobs <kbd>Ctrl+J</kbd>
        </button>
        <button className="nav" data-testid="close-project" onClick={() => setProject(null)}>
          Close project <kbd>Ctrl+W</kbd>
        </button>
      </nav>
      <main className="content">
        {project.interrupted_jobs > 0 && (
          <div className="notice" data-testid="interrupted-notice">
            {project.interrupted_jobs} job(s) were interrupted when Grimoire last stopped; see the jobs panel.
          </div>
        )}
        {view === "sources" && <Sources project={project} version={version} onProject={setProject} />}
        {view === "review" && <Review project={project} version={version} />}
        {view === "train" && <Train project={project} />}
        {view === "chat" && <ChatPage project={project} />}
        {view === "settings" && <SettingsPage onTheme={applyTheme} />}
      </main>
      {showJobs && <JobsPanel project={project.path} onChange={jobsChanged} />}
    </div>
  );
}
