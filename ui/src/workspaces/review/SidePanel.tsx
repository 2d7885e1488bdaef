// The side panel: every turn editable in place, the source passage with the quotation highlighted, and
// the examples before and after in the listing.
import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from "react";
import type { ExampleDetail, Message, Role } from "../../generated/types";
import { flagLabel, oneLine, personaLine } from "./format";

export interface SidePanelHandle {
  edit(): void;
}

interface Props {
  detail: ExampleDetail | null;
  onSave: (messages: Message[], tags: string[]) => Promise<void>;
  onStatus: (status: "approved" | "rejected" | "pending") => void;
  onMove: (delta: number) => void;
}

export const SidePanel = forwardRef<SidePanelHandle, Props>(function SidePanel({ detail, onSave, onStatus, onMove }, ref) {
  const [draft, setDraft] = useState<Message[]>([]);
  const [tags, setTags] = useState("");
  const [saving, setSaving] = useState(false);
  const first = useRef<HTMLTextAreaElement | null>(null);
  const example = detail?.example;

  useEffect(() => {
    setDraft(example ? example.messages.map((m) => ({ ...m })) : []);
    setTags(example ? example.tags.join(", ") : "");
  }, [example?.id, example?.revision]); // eslint-disable-line react-hooks/exhaustive-deps

  useImperativeHandle(ref, () => ({ edit: () => first.current?.focus() }), []);

  if (!detail || !example) return <aside className="review-side muted" data-testid="review-side">Select an example.</aside>;

  const tagList = tags.split(",").map((t) => t.trim()).filter(Boolean);
  const dirty = JSON.stringify(draft) !== JSON.stringify(example.messages) || tagList.join(",") !== example.tags.join(",");
  const hasSystem = draft[0]?.role === "system";
  const set = (i: number, patch: Partial<Message>) => setDraft((d) => d.map((m, j) => (j === i ? { ...m, ...patch } : m)));
  const save = async () => {
    setSaving(true);
    try {
      await onSave(draft, tagList);
    } finally {
      setSaving(false);
    }
  };

  return (
    <aside className="review-side" data-testid="review-side" data-id={example.id}>
      <div className="side-head">
        <strong>
          #{example.id} · {example.strategy} · <span className={`status status-${example.status}`} data-testid="side-status">{example.status}</span>
        </strong>
        <span className="side-actions">
          <button className="small" data-testid="approve" onClick={() => onStatus("approved")}>Approve <kbd>a</kbd></button>
          <button className="small secondary" data-testid="reject" onClick={() => onStatus("rejected")}>Reject <kbd>r</kbd></button>
        </span>
      </div>
      {example.flags.length > 0 && (
        <div className="flags" data-testid="side-flags">
          {example.flags.map((f) => <span key={f} className="flag">{flagLabel(f)}</span>)}
        </div>
      )}
      <form
        className="turns"
        data-testid="editor"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            void save();
          } else if (e.key === "Escape") (e.target as HTMLElement).blur();
        }}
      >
        {!hasSystem && (
          <button type="button" className="small secondary" data-testid="add-system" onClick={() => setDraft((d) => [{ role: "system", content: "" }, ...d])}>
            + System prompt
          </button>
        )}
        {draft.map((m, i) => (
          <div key={i} className={`turn turn-${m.role}`}>
            <div className="turn-head">
              <select value={m.role} aria-label="Role" data-testid={`turn-role-${i}`} onChange={(e) => set(i, { role: e.target.value as Role })}>
                <option value="system">system</option>
                <option value="user">user</option>
                <option value="assistant">assistant</option>
              </select>
              <button type="button" className="small ghost" title="Delete this turn" data-testid={`turn-delete-${i}`} onClick={() => setDraft((d) => d.filter((_, j) => j !== i))}>
                ✕
              </button>
            </div>
            <textarea
              ref={i === 0 ? first : undefined}
              data-testid={`turn-${i}`}
              value={m.content}
              rows={Math.min(10, Math.max(2, Math.ceil(m.content.length / 60)))}
              onChange={(e) => set(i, { content: e.target.value })}
            />
          </div>
        ))}
        <div className="turn-add">
          <button type="button" className="small secondary" data-testid="add-user" onClick={() => setDraft((d) => [...d, { role: "user", content: "" }])}>+ User turn</button>
          <button type="button" className="small secondary" data-testid="add-assistant" onClick={() => setDraft((d) => [...d, { role: "assistant", content: "" }])}>+ Persona turn</button>
        </div>
        <label className="tags">
          Tags
          <input data-testid="tags" value={tags} onChange={(e) => setTags(e.target.value)} placeholder="comma, separated" />
        </label>
        <div className="save-row">
          <button type="submit" data-testid="save-edit" disabled={!dirty || saving}>
            {saving ? "Saving…" : "Save"} <kbd>Ctrl+Enter</kbd>
          </button>
          {dirty && (
            <button type="button" className="secondary" onClick={() => { setDraft(example.messages.map((m) => ({ ...m }))); setTags(example.tags.join(", ")); }}>
              Discard
            </button>
          )}
        </div>
      </form>
      <section className="passages" data-testid="passage">
        <h3>Source</h3>
        {detail.passages.length === 0 && <p className="muted">No source passage (imported or generated).</p>}
        {detail.passages.map((p) => (
          <div key={`${p.book_id}-${p.start}`}>
            <p className="muted">{p.book_title}{p.chapter_title ? ` · ${p.chapter_title}` : ""}</p>
            <p className="passage-text">
              {p.parts.map((part, i) => (part.highlight ? <mark key={i} data-testid="passage-highlight">{part.text}</mark> : <span key={i}>{part.text}</span>))}
            </p>
          </div>
        ))}
      </section>
      <section className="neighbours">
        <button className="link" data-testid="prev-example" disabled={!detail.previous} onClick={() => onMove(-1)}>
          <span className="muted">← Previous</span>
          {detail.previous ? oneLine(personaLine(detail.previous), 90) : "—"}
        </button>
        <button className="link" data-testid="next-example" disabled={!detail.next} onClick={() => onMove(1)}>
          <span className="muted">Next →</span>
          {detail.next ? oneLine(personaLine(detail.next), 90) : "—"}
        </button>
      </section>
    </aside>
  );
});
