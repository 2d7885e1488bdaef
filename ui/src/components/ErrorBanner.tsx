import type { ApiError } from "../generated/types";

const HINTS: Partial<Record<ApiError["code"], string>> = {
  project_damaged: "The database file was left as it is. Restore it from a backup, or create a new project.",
  newer_version: "This project was saved by a newer Grimoire.",
};

export function ErrorBanner({ error, onDismiss }: { error: ApiError | null; onDismiss: () => void }) {
  if (!error) return null;
  const hint = HINTS[error.code];
  return (
    <div className="error-banner" role="alert" data-testid="error" data-code={error.code}>
      <div>
        <strong>{error.message}</strong>
        {hint && <p>{hint}</p>}
      </div>
      <button className="ghost" onClick={onDismiss} aria-label="Dismiss">
        ✕
      </button>
    </div>
  );
}
