import { useCallback, useEffect, useState } from "react";
import { api, pickPath } from "../backend";
import type { ApiError, BookSummary, ProjectInfo } from "../generated/types";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";

export function Sources({ project, version }: { project: ProjectInfo; version: number }) {
  const [books, setBooks] = useState<BookSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [path, setPath] = useState("");

  const refresh = useCallback(() => {
    api.listBooks({ path: project.path }).then(setBooks, setError);
  }, [project.path]);
  useEffect(refresh, [refresh, version]);

  async function importFiles(files: string[]) {
    setError(null);
    try {
      await api.importBooks({ project: project.path, files });
      setPath("");
    } catch (e) {
      setError(e as ApiError);
    }
  }

  async function browse() {
    const files = await pickPath({ directory: false, multiple: true, title: "Import books", filters: [{ name: "Books", extensions: ["txt", "epub", "html", "htm"] }] });
    if (files?.length) importFiles(files);
  }

  const importBar = (
    <form
      className="row import-bar"
      onSubmit={(e) => {
        e.preventDefault();
        if (path.trim()) importFiles([path.trim()]);
      }}
    >
      <button type="button" onClick={browse}>
        Import books…
      </button>
      <input data-testid="import-path" value={path} onChange={(e) => setPath(e.target.value)} placeholder="or type a file path and press Enter" />
    </form>
  );

  return (
    <div className="workspace" data-testid="workspace-sources">
      <header className="workspace-header">
        <h1>Sources</h1>
        {importBar}
      </header>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {books && books.length === 0 ? (
        <EmptyState title="No books yet" testId="sources-empty">
          <p>Import the novels your character appears in: plain text (Project Gutenberg files are fine), in series order.</p>
          <p>Grimoire splits them into chapters, finds every quotation and who speaks it, and builds dialogue examples for the persona.</p>
        </EmptyState>
      ) : (
        <table className="table" data-testid="books">
          <thead>
            <tr>
              <th>#</th>
              <th>Title</th>
              <th>Characters</th>
              <th>From</th>
              <th>Imported</th>
            </tr>
          </thead>
          <tbody>
            {books?.map((b) => (
              <tr key={b.id}>
                <td>{b.series_index}</td>
                <td>{b.title}</td>
                <td>{b.chars.toLocaleString()}</td>
                <td className="muted ellipsis" title={b.source_path}>
                  {b.source_path}
                </td>
                <td className="muted">{new Date(b.imported_at).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
