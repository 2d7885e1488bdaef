import { useCallback, useEffect, useState } from "react";
import { api, pickPath } from "../backend";
import type { ApiError, BookSummary, ProjectInfo, StoredCharacter } from "../generated/types";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";
import { ExtractPanel } from "./sources/ExtractPanel";
import { Reader } from "./sources/Reader";
import { Roster } from "./sources/Roster";
import { TeacherPanel } from "./sources/TeacherPanel";

export function Sources({ project, version, onProject }: { project: ProjectInfo; version: number; onProject: (p: ProjectInfo) => void }) {
  const [books, setBooks] = useState<BookSummary[] | null>(null);
  const [characters, setCharacters] = useState<StoredCharacter[]>([]);
  const [bookId, setBookId] = useState<number | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [path, setPath] = useState("");
  const [dragging, setDragging] = useState(false);
  const [teacherOpen, setTeacherOpen] = useState(false);

  const refresh = useCallback(() => {
    api.listBooks({ path: project.path }).then((b) => {
      setBooks(b);
      setBookId((id) => (id !== null && b.some((x) => x.id === id) ? id : (b[0]?.id ?? null)));
    }, setError);
    api.listCharacters({ path: project.path }).then(setCharacters, setError);
  }, [project.path]);
  useEffect(refresh, [refresh, version]);

  // Files dropped on the window arrive through Tauri's drag-and-drop event, with their paths.
  useEffect(() => {
    let unlisten: (() => void) | undefined;
    import("@tauri-apps/api/webview")
      .then(({ getCurrentWebview }) =>
        getCurrentWebview().onDragDropEvent((e) => {
          if (e.payload.type === "over" || e.payload.type === "enter") setDragging(true);
          else if (e.payload.type === "leave") setDragging(false);
          else if (e.payload.type === "drop") {
            setDragging(false);
            if (e.payload.paths.length) importFiles(e.payload.paths);
          }
        }),
      )
      .then((u) => (unlisten = u))
      .catch(() => undefined);
    return () => unlisten?.();
  }, [project.path]); // eslint-disable-line react-hooks/exhaustive-deps

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
    const files = await pickPath({ directory: false, multiple: true, title: "Import books", filters: [{ name: "Books", extensions: ["txt", "epub", "html", "htm", "xhtml"] }] });
    if (files?.length) importFiles(files);
  }

  const book = books?.find((b) => b.id === bookId) ?? null;

  /** Moves the shown book one place earlier (-1) or later (+1) in the series. */
  async function move(by: -1 | 1) {
    if (!books || !book) return;
    const ids = books.map((b) => b.id);
    const at = ids.indexOf(book.id);
    if (at + by < 0 || at + by >= ids.length) return;
    [ids[at], ids[at + by]] = [ids[at + by], ids[at]];
    try {
      setBooks(await api.reorderBooks({ project: project.path, book_ids: ids }));
    } catch (e) {
      setError(e as ApiError);
    }
  }

  return (
    <div className={`workspace sources ${dragging ? "dragging" : ""}`} data-testid="workspace-sources">
      <header className="workspace-header">
        <h1>Sources</h1>
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
          <input data-testid="import-path" value={path} onChange={(e) => setPath(e.target.value)} placeholder="or type a file path and press Enter, or drop files here" />
        </form>
      </header>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {books && books.length === 0 ? (
        <EmptyState title="No books yet" testId="sources-empty">
          <p>Import the novels your character appears in, in series order: plain text (Project Gutenberg files are fine), EPUB or HTML. Drop them on the window or use Import.</p>
          <p>Grimoire splits them into chapters, finds every quotation and who speaks it, and builds dialogue examples for the persona.</p>
        </EmptyState>
      ) : (
        <div className={`sources-grid ${teacherOpen ? "teacher-open" : ""}`}>
          <div className="sources-main">
            <div className="row books-bar" data-testid="books">
              {books?.map((b) => (
                <button
                  key={b.id}
                  className={`chip ${b.id === bookId ? "active" : ""}`}
                  onClick={() => {
                    setBookId(b.id);
                    setTeacherOpen(false);
                  }}
                  title={`${b.source_path} · ${b.chars.toLocaleString()} characters`}
                >
                  {b.series_index}. {b.title}
                </button>
              ))}
              {books && book && books.length > 1 && (
                <>
                  <button className="small secondary" data-testid="book-earlier" title="Earlier in the series" disabled={books[0].id === book.id} onClick={() => move(-1)}>
                    ‹
                  </button>
                  <button className="small secondary" data-testid="book-later" title="Later in the series" disabled={books[books.length - 1].id === book.id} onClick={() => move(1)}>
                    ›
                  </button>
                </>
              )}
            </div>
            {teacherOpen ? (
              <TeacherPanel project={project} onError={setError} onClose={() => setTeacherOpen(false)} />
            ) : (
              book && <Reader project={project.path} book={book} characters={characters} onCorrected={setCharacters} onError={setError} />
            )}
          </div>
          <div className="sources-side" hidden={teacherOpen}>
            <ExtractPanel key={project.persona ?? ""} project={project} onError={setError} />
            <section className="extract" data-testid="teacher-card">
              <h3>Teacher data</h3>
              <p className="muted small-print">First-person retellings of the narration and in-voice questions and answers, written by a teacher model.</p>
              <button data-testid="teacher-panel-open" disabled={teacherOpen} onClick={() => setTeacherOpen(true)}>
                Open teacher data
              </button>
            </section>
            <Roster project={project} characters={characters} onChanged={setCharacters} onPersona={onProject} onError={setError} />
          </div>
        </div>
      )}
    </div>
  );
}
