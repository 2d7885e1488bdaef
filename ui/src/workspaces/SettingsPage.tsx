import { useEffect, useState } from "react";
import { api } from "../backend";
import type { ApiError, AppInfo, ModelEntry, Settings, Theme } from "../generated/types";
import { ErrorBanner } from "../components/ErrorBanner";
import { Teachers } from "./settings/Teachers";

function size(bytes: number) {
  return bytes === 0 ? "—" : `${(bytes / 1e6).toFixed(0)} MB`;
}

export function SettingsPage({ onTheme }: { onTheme: (t: Theme) => void }) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [models, setModels] = useState<ModelEntry[]>([]);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api.getSettings().then(setSettings, setError);
    api.listModels().then(setModels, setError);
    api.appInfo().then(setInfo, setError);
  }, []);

  async function save(next: Settings) {
    setError(null);
    try {
      const s = await api.updateSettings(next);
      setSettings(s);
      onTheme(s.theme);
      setModels(await api.listModels());
      setSaved(true);
      setTimeout(() => setSaved(false), 1500);
    } catch (e) {
      setError(e as ApiError);
    }
  }

  return (
    <div className="workspace" data-testid="workspace-settings">
      <header className="workspace-header">
        <h1>Settings</h1>
        {saved && <span className="badge ok">Saved</span>}
      </header>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {settings && (
        <form
          className="card settings"
          onSubmit={(e) => {
            e.preventDefault();
            save(settings);
          }}
        >
          <label>
            Model folder
            <span className="row">
              <input data-testid="model-dir" value={settings.model_dir} onChange={(e) => setSettings({ ...settings, model_dir: e.target.value })} />
              <button type="submit">Save</button>
            </span>
          </label>
          <label>
            Theme
            <select data-testid="theme" value={settings.theme} onChange={(e) => save({ ...settings, theme: e.target.value as Theme })}>
              <option value="system">Follow the desktop</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
        </form>
      )}
      <h2>Models</h2>
      <table className="table" data-testid="models">
        <thead>
          <tr>
            <th>Name</th>
            <th>Architecture</th>
            <th>Quantisation</th>
            <th>Context</th>
            <th>License</th>
            <th>Size</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id} data-testid={`model-${m.id}`} data-status={m.status}>
              <td title={m.path}>{m.name}</td>
              <td>{m.architecture ?? "?"}</td>
              <td>{m.quantization ?? "?"}</td>
              <td>{m.context_length?.toLocaleString() ?? "?"}</td>
              <td>{m.license ?? "?"}</td>
              <td>{size(m.size_bytes)}</td>
              <td>
                <span className={`badge ${m.status === "ready" ? "ok" : "warn"}`}>{m.status === "ready" ? "ready" : "not installed: run the set-up"}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Teachers onError={setError} />
      {info && (
        <p className="muted small-print">
          Grimoire {info.version} · data in {info.data_dir} · settings in {info.config_dir}
        </p>
      )}
    </div>
  );
}
