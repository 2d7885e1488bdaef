import { useEffect, useMemo, useState } from "react";
import { api } from "../../backend";
import type { ApiError, BookSummary, ChapterView, StoredCharacter, StoredQuote } from "../../generated/types";
import { speakerColor } from "./colors";

type Piece = { text: string; quote?: StoredQuote };

/** Joins the hard-wrapped lines of a paragraph for display (offsets were taken before this). */
const unwrap = (text: string) => text.replace(/([^\n])\n(?=[^\n])/g, "$1 ");

/** Splits a chapter into narration and quotations (offsets are Unicode scalar values). */
function pieces(view: ChapterView): Piece[] {
  const chars = Array.from(view.text);
  const out: Piece[] = [];
  let at = 0;
  for (const q of view.quotes) {
    const s = Math.max(0, q.start - view.offset);
    const e = Math.min(chars.length, q.end - view.offset);
    if (s < at || e <= s) continue;
    if (s > at) out.push({ text: chars.slice(at, s).join("") });
    out.push({ text: chars.slice(s, e).join(""), quote: q });
    at = e;
  }
  if (at < chars.length) out.push({ text: chars.slice(at).join("") });
  return out;
}

export function Reader({
  project,
  book,
  characters,
  onCorrected,
  onError,
}: {
  project: string;
  book: BookSummary;
  characters: StoredCharacter[];
  onCorrected: (c: StoredCharacter[]) => void;
  onError: (e: ApiError) => void;
}) {
  const [chapter, setChapter] = useState(0);
  const [view, setView] = useState<ChapterView | null>(null);
  const [editing, setEditing] = useState<StoredQuote | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => setChapter(0), [book.id]);
  useEffect(() => {
    api.readChapter({ project, book_id: book.id, chapter }).then(setView, onError);
  }, [project, book.id, chapter, reload, onError]);

  const parts = useMemo(() => (view ? pieces(view) : []), [view]);

  async function correct(q: StoredQuote, speaker: string | null) {
    setEditing(null);
    try {
      onCorrected(await api.correctSpeaker({ project, book_id: q.book_id, start: q.start, end: q.end, speaker }));
      setReload((r) => r + 1);
    } catch (e) {
      onError(e as ApiError);
    }
  }

  if (!view) return <div className="reader muted">Reading…</div>;
  return (
    <div className="reader" data-testid="reader">
      <div className="row reader-nav">
        <select data-testid="chapter-select" value={chapter} onChange={(e) => setChapter(Number(e.target.value))}>
          {view.chapters.map((c) => (
            <option key={c.idx} value={c.idx}>
              {c.title || `Part ${c.idx + 1}`}
            </option>
          ))}
        </select>
        <button className="secondary small" disabled={chapter === 0} onClick={() => setChapter((c) => c - 1)}>
          ‹ Previous
        </button>
        <button className="secondary small" disabled={chapter >= view.chapters.length - 1} onClick={() => setChapter((c) => c + 1)}>
          Next ›
        </button>
        <span className="muted">{view.quotes.filter((q) => q.role === "speech").length} quotations</span>
      </div>
      <article className="reader-text">
        {parts.map((p, i) =>
          p.quote ? (
            <span
              key={i}
              className={`quote role-${p.quote.role}`}
              data-testid="quote"
              data-speaker={p.quote.speaker ?? ""}
              style={{ borderColor: speakerColor(p.quote.speaker), color: p.quote.role === "speech" || p.quote.role === "thought" ? speakerColor(p.quote.speaker) : undefined }}
              title={`${p.quote.speaker ?? "unattributed"} · ${p.quote.kind} · ${(p.quote.confidence * 100).toFixed(0)}%\n${p.quote.reason}\n(click to change the speaker)`}
              onClick={() => setEditing(p.quote!)}
            >
              {unwrap(p.text)}
            </span>
          ) : (
            <span key={i}>{unwrap(p.text)}</span>
          ),
        )}
      </article>
      {editing && (
        <div className="popover" role="dialog" aria-label="Change speaker" data-testid="speaker-dialog">
          <p>
            Who says <em>{Array.from(view.text).slice(editing.start - view.offset, editing.end - view.offset).join("").slice(0, 80)}</em>?
          </p>
          <p className="muted small-print">Now: {editing.speaker ?? "nobody"} ({editing.reason})</p>
          <select
            data-testid="speaker-select"
            defaultValue={editing.speaker ?? ""}
            onChange={(e) => correct(editing, e.target.value === "" ? null : e.target.value)}
          >
            <option value="">— nobody / not speech —</option>
            {characters.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
          <button className="secondary small" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </div>
      )}
    </div>
  );
}
