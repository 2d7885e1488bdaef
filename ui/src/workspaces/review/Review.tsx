// The Review workspace: a keyboard-first grid over the project's examples with filters, bulk actions,
// a stats bar, a side panel to edit in place, undo/redo and the export.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../../backend";
import type { ApiError, BookSummary, BulkOp, Example, ExampleDetail, ExampleFilter, Message, ProjectInfo, QualityFlag, Sort, Stats, Status, Strategy } from "../../generated/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Review as EmptyReview } from "../Placeholders";
import { ExportPanel } from "./ExportPanel";
import { EMPTY_FILTER, FLAGS, flagLabel, isTyping, unitLabel } from "./format";
import { Grid, PAGE, PageCache, type GridHandle } from "./Grid";
import { SidePanel, type SidePanelHandle } from "./SidePanel";
import { StatsBar } from "./StatsBar";

const SHORTCUTS: [string, string][] = [
  ["j / ↓", "next example"],
  ["k / ↑", "previous example"],
  ["a", "approve"],
  ["r", "reject"],
  ["e / Enter", "edit the first turn"],
  ["Ctrl+Enter", "save the edit"],
  ["x / Space", "select or unselect"],
  ["n", "next unreviewed"],
  ["/", "search"],
  ["Ctrl+Z", "undo"],
  ["Ctrl+Shift+Z", "redo"],
  ["?", "this sheet"],
];

export function Review({ project, version }: { project: ProjectInfo; version?: number }) {
  const path = project.path;
  const [filter, setFilter] = useState<ExampleFilter>(EMPTY_FILTER);
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<Sort>({ key: "id", descending: false });
  const [cache, setCache] = useState(() => new PageCache());
  const [generation, setGeneration] = useState(0);
  const [, bump] = useState(0);
  const [cursor, setCursor] = useState(0);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [detail, setDetail] = useState<ExampleDetail | null>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [overall, setOverall] = useState<Stats | null>(null);
  const [books, setBooks] = useState<BookSummary[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [sheet, setSheet] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [tagText, setTagText] = useState("");
  const [message, setMessage] = useState("");
  const grid = useRef<GridHandle>(null);
  const side = useRef<SidePanelHandle>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  const anchor = useRef<number | null>(null);

  const effective = useMemo<ExampleFilter>(() => ({ ...filter, text: search.trim() || null }), [filter, search]);

  const refreshStats = useCallback(() => {
    api.exampleStats({ project: path, filter: effective }).then(setStats, setError);
    api.exampleStats({ project: path, filter: EMPTY_FILTER }).then(setOverall, setError);
  }, [path, effective]);

  // A new filter, sort or project: a fresh cache, reloaded from the top.
  const reload = useCallback(
    (keepCursor: boolean) => {
      const fresh = new PageCache();
      fresh.total = keepCursor ? cache.total : 0;
      api.listExamples({ project: path, filter: effective, sort, offset: 0, limit: PAGE }).then((page) => {
        fresh.total = page.total;
        fresh.pages.set(0, page.rows);
        setCache(fresh);
        setGeneration((g) => g + 1);
        if (!keepCursor) setCursor(0);
        else setCursor((c) => Math.min(c, Math.max(0, page.total - 1)));
      }, setError);
      refreshStats();
    },
    [path, effective, sort, cache.total, refreshStats],
  );

  useEffect(() => {
    const t = setTimeout(() => reload(false), 150);
    return () => clearTimeout(t);
  }, [path, effective, sort, version]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    api.listBooks({ path }).then(setBooks, setError);
  }, [path, version]);

  const loadPage = useCallback(
    (p: number) => {
      if (cache.pages.has(p) || cache.loading.has(p)) return;
      cache.loading.add(p);
      api.listExamples({ project: path, filter: effective, sort, offset: p * PAGE, limit: PAGE }).then(
        (page) => {
          cache.loading.delete(p);
          cache.pages.set(p, page.rows);
          bump((n) => n + 1);
        },
        (e) => {
          cache.loading.delete(p);
          setError(e);
        },
      );
    },
    [cache, path, effective, sort],
  );

  const current: Example | undefined = cache.row(cursor);
  const currentId = current?.id;
  const currentRev = current?.revision;

  useEffect(() => {
    if (currentId === undefined) {
      setDetail(null);
      return;
    }
    let live = true;
    api.getExample({ project: path, id: currentId, filter: effective, sort, position: cursor }).then((d) => live && setDetail(d), setError);
    return () => {
      live = false;
    };
  }, [currentId, currentRev, cursor, path]); // eslint-disable-line react-hooks/exhaustive-deps

  const move = useCallback(
    (to: number) => {
      const next = Math.max(0, Math.min(cache.total - 1, to));
      setCursor(next);
      grid.current?.scrollTo(next);
    },
    [cache.total],
  );

  const applied = (e: Example) => {
    cache.replace(e);
    bump((n) => n + 1);
    refreshStats();
  };

  const edit = async (input: { messages?: Message[]; status?: Status; tags?: string[] }) => {
    if (!current) return;
    try {
      const e = await api.editExample({ project: path, id: current.id, messages: input.messages ?? null, status: input.status ?? null, tags: input.tags ?? null });
      applied(e);
      setMessage(input.messages ? "Saved" : `Marked ${e.status}`);
    } catch (e) {
      setError(e as ApiError);
    }
  };

  const undo = async (redo: boolean) => {
    try {
      const outcome = await (redo ? api.reviewRedo({ path }) : api.reviewUndo({ path }));
      setMessage(outcome ? `${redo ? "Redid" : "Undid"}: ${outcome.action.label}` : `Nothing to ${redo ? "redo" : "undo"}`);
      if (outcome) reload(true);
    } catch (e) {
      setError(e as ApiError);
    }
  };

  const bulk = async (op: BulkOp) => {
    const target = selected.size > 0 ? { ids: [...selected] } : { filter: effective };
    try {
      const outcome = await api.bulkExamples({ project: path, target, op });
      setMessage(`${outcome.changed.toLocaleString()} examples changed`);
      setSelected(new Set());
      reload(true);
    } catch (e) {
      setError(e as ApiError);
    }
  };

  const toggle = (id: number, index: number, range: boolean) => {
    setSelected((s) => {
      const next = new Set(s);
      if (range && anchor.current !== null) {
        const [a, b] = [Math.min(anchor.current, index), Math.max(anchor.current, index)];
        for (let i = a; i <= b; i++) {
          const r = cache.row(i);
          if (r) next.add(r.id);
        }
      } else if (next.has(id)) next.delete(id);
      else next.add(id);
      anchor.current = index;
      return next;
    });
  };

  const nextUnreviewed = async () => {
    for (let i = cursor + 1; i < cache.total; i++) {
      const p = Math.floor(i / PAGE);
      if (!cache.pages.has(p)) {
        const page = await api.listExamples({ project: path, filter: effective, sort, offset: p * PAGE, limit: PAGE });
        cache.pages.set(p, page.rows);
      }
      if (cache.row(i)?.status === "pending") return move(i);
      if (i - cursor > 20 * PAGE) break;
    }
    setMessage("No unreviewed example below");
  };

  // Keyboard first. Single keys only outside text fields; Ctrl+Z/Ctrl+Shift+Z outside them too, so that
  // a textarea keeps its own undo while typing.
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (isTyping(e.target)) return;
      const k = e.key;
      if ((e.ctrlKey || e.metaKey) && k.toLowerCase() === "z") {
        void undo(e.shiftKey);
      } else if (e.ctrlKey || e.metaKey || e.altKey) {
        return;
      } else if (k === "j" || k === "ArrowDown") move(cursor + 1);
      else if (k === "k" || k === "ArrowUp") move(cursor - 1);
      else if (k === "PageDown") move(cursor + 20);
      else if (k === "PageUp") move(cursor - 20);
      else if (k === "a") void edit({ status: "approved" });
      else if (k === "r") void edit({ status: "rejected" });
      else if (k === "u") void edit({ status: "pending" });
      else if (k === "e" || k === "Enter") side.current?.edit();
      else if (k === "x" || k === " ") current && toggle(current.id, cursor, e.shiftKey);
      else if (k === "n") void nextUnreviewed();
      else if (k === "/") searchBox.current?.focus();
      else if (k === "?") setSheet((s) => !s);
      else if (k === "Escape") {
        setSheet(false);
        setSelected(new Set());
      } else return;
      e.preventDefault();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  if (overall && overall.total === 0) return <EmptyReview project={project} />;

  const setF = (patch: Partial<ExampleFilter>) => setFilter((f) => ({ ...f, ...patch }));
  const num = (v: string) => (v.trim() === "" ? null : Math.max(0, Math.floor(Number(v)) || 0));
  const scope = selected.size > 0 ? `${selected.size} selected` : `all ${(stats?.total ?? 0).toLocaleString()} matching`;

  return (
    <div className="workspace review" data-testid="workspace-review">
      <header className="workspace-header">
        <h1>Review</h1>
        <input
          ref={searchBox}
          className="review-search"
          type="search"
          placeholder="Search all turns  ( / )"
          data-testid="review-search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape" || e.key === "Enter") (e.target as HTMLElement).blur();
          }}
        />
        <span className="header-actions">
          <button className="secondary" data-testid="shortcuts-open" onClick={() => setSheet(true)}>Shortcuts <kbd>?</kbd></button>
          <button data-testid="export-open" onClick={() => setExporting((x) => !x)}>Export…</button>
        </span>
      </header>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <div className="review-filters" data-testid="review-filters">
        <select aria-label="Status" data-testid="filter-status" value={filter.status[0] ?? ""} onChange={(e) => setF({ status: e.target.value ? [e.target.value as Status] : [] })}>
          <option value="">Any status</option>
          <option value="pending">Pending</option>
          <option value="approved">Approved</option>
          <option value="rejected">Rejected</option>
        </select>
        <select aria-label="Strategy" data-testid="filter-strategy" value={filter.strategy[0] ?? ""} onChange={(e) => setF({ strategy: e.target.value ? [e.target.value as Strategy] : [] })}>
          <option value="">Any strategy</option>
          <option value="A">A: from the books</option>
          <option value="B">B: teacher-written user turn</option>
          <option value="C">C: teacher-written scene</option>
          <option value="imported">Imported</option>
        </select>
        <select
          aria-label="Flag"
          data-testid="filter-flag"
          value={filter.unflagged ? "none" : (filter.flags[0] ?? "")}
          onChange={(e) => setF(e.target.value === "none" ? { flags: [], unflagged: true } : { flags: e.target.value ? [e.target.value as QualityFlag] : [], unflagged: false })}
        >
          <option value="">Flagged or not</option>
          <option value="none">No flag</option>
          {FLAGS.map((f) => <option key={f} value={f}>{flagLabel(f)}</option>)}
        </select>
        <select aria-label="Book" data-testid="filter-book" value={filter.book_id ?? ""} onChange={(e) => setF({ book_id: e.target.value ? Number(e.target.value) : null })}>
          <option value="">Any book</option>
          {books.map((b) => <option key={b.id} value={b.id}>{b.title}</option>)}
        </select>
        <input aria-label="Chapter" placeholder="Chapter" type="number" min={1} data-testid="filter-chapter" value={filter.chapter === null ? "" : filter.chapter + 1} onChange={(e) => { const n = num(e.target.value); setF({ chapter: n === null || n < 1 ? null : n - 1 }); }} />
        <input aria-label="Tag" placeholder="Tag" data-testid="filter-tag" value={filter.tag ?? ""} onChange={(e) => setF({ tag: e.target.value.trim() || null })} />
        <input aria-label="Minimum length" placeholder={`Min ${unitLabel(project.length_unit).toLowerCase()}`} type="number" min={0} data-testid="filter-min" value={filter.min_tokens ?? ""} onChange={(e) => setF({ min_tokens: num(e.target.value) })} />
        <input aria-label="Maximum length" placeholder={`Max ${unitLabel(project.length_unit).toLowerCase()}`} type="number" min={0} data-testid="filter-max" value={filter.max_tokens ?? ""} onChange={(e) => setF({ max_tokens: num(e.target.value) })} />
        <button className="small secondary" onClick={() => { setFilter(EMPTY_FILTER); setSearch(""); }}>Clear</button>
      </div>
      <StatsBar stats={stats} exportable={overall?.exportable ?? 0} unit={project.length_unit} />
      <div className="bulk-bar" data-testid="bulk-bar">
        <span className="muted" data-testid="bulk-scope">{scope}:</span>
        <button className="small" data-testid="bulk-approve" onClick={() => void bulk({ set_status: "approved" })}>Approve</button>
        <button className="small secondary" data-testid="bulk-reject" onClick={() => void bulk({ set_status: "rejected" })}>Reject</button>
        <input className="bulk-tag" placeholder="tag" aria-label="Tag to add" data-testid="bulk-tag-text" value={tagText} onChange={(e) => setTagText(e.target.value)} />
        <button className="small secondary" data-testid="bulk-tag" disabled={!tagText.trim()} onClick={() => void bulk({ add_tag: tagText.trim() })}>Tag</button>
        <span className="spacer" />
        <span className="muted" role="status" data-testid="review-message">{message}</span>
        <button className="small ghost" title="Undo (Ctrl+Z)" data-testid="undo" onClick={() => void undo(false)}>↶ Undo</button>
        <button className="small ghost" title="Redo (Ctrl+Shift+Z)" data-testid="redo" onClick={() => void undo(true)}>↷ Redo</button>
      </div>
      {exporting && <ExportPanel project={path} onClose={() => setExporting(false)} onError={setError} />}
      <div className="review-main">
        <Grid
          ref={grid}
          cache={cache}
          generation={generation}
          books={books}
          cursor={cursor}
          selected={selected}
          loadPage={loadPage}
          onCursor={move}
          onToggle={toggle}
          filter={effective}
          sort={sort}
          onSort={setSort}
          unit={project.length_unit}
        />
        <SidePanel ref={side} detail={detail} onSave={(messages, tags) => edit({ messages, tags })} onStatus={(status) => void edit({ status })} onMove={(d) => move(cursor + d)} />
      </div>
      {sheet && (
        <div className="sheet" role="dialog" aria-label="Keyboard shortcuts" data-testid="shortcut-sheet" onClick={() => setSheet(false)}>
          <div className="sheet-body">
            <h2>Keyboard</h2>
            <table>
              <tbody>
                {SHORTCUTS.map(([k, what]) => (
                  <tr key={k}>
                    <td><kbd>{k}</kbd></td>
                    <td>{what}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </div>
  );
}
