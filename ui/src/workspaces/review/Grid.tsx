// The review grid: TanStack Table for the columns (sizing, resizing, headers) and TanStack Virtual for
// the rows, fed page by page from the store so that 100,000 examples scroll without loading them all.
import { forwardRef, useEffect, useImperativeHandle, useMemo, useRef, useState } from "react";
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable, type ColumnDef } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { BookSummary, Example, ExampleFilter, LengthUnit, QualityFlag, Sort } from "../../generated/types";
import { flagLabel, oneLine, personaLine, saidToThem, unitLabel } from "./format";

export const PAGE = 100;
const ROW_HEIGHT = 34;

/** Rows fetched so far, by page; a new filter starts a new cache. */
export class PageCache {
  pages = new Map<number, Example[]>();
  loading = new Set<number>();
  total = 0;
  row(i: number): Example | undefined {
    return this.pages.get(Math.floor(i / PAGE))?.[i % PAGE];
  }
  replace(example: Example) {
    for (const rows of this.pages.values()) {
      const at = rows.findIndex((r) => r.id === example.id);
      if (at >= 0) rows[at] = example;
    }
  }
}

export interface GridHandle {
  scrollTo(index: number): void;
}

interface Props {
  cache: PageCache;
  generation: number;
  books: BookSummary[];
  cursor: number;
  selected: Set<number>;
  loadPage: (page: number) => void;
  onCursor: (index: number) => void;
  onToggle: (id: number, index: number, range: boolean) => void;
  filter: ExampleFilter;
  sort: Sort;
  onSort: (sort: Sort) => void;
  /** What the length column counts: the built-in model's tokens, or words in older projects. */
  unit: LengthUnit;
}

const col = createColumnHelper<Example>();

export const Grid = forwardRef<GridHandle, Props>(function Grid(props, ref) {
  const { cache, books, cursor, selected, loadPage, onCursor, onToggle, sort, onSort, unit } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [, setRange] = useState("");
  const bookTitle = useMemo(() => new Map(books.map((b) => [b.id, b.title])), [books]);

  const columns = useMemo(
    () =>
      [
        col.accessor("status", { header: "Status", size: 96, cell: (c) => <span className={`status status-${c.getValue()}`}>{c.getValue()}</span> }),
        col.accessor("strategy", { header: "Strategy", size: 80 }),
        col.display({ id: "persona", header: "Persona line", size: 340, cell: (c) => oneLine(personaLine(c.row.original)) }),
        col.display({ id: "said", header: "Said to them", size: 280, cell: (c) => oneLine(saidToThem(c.row.original)) }),
        col.display({
          id: "source",
          header: "Source",
          size: 170,
          cell: (c) => {
            const e = c.row.original;
            if (e.book_id === null) return <span className="muted">—</span>;
            const title = bookTitle.get(e.book_id) ?? `Book ${e.book_id}`;
            return `${oneLine(title, 18)}${e.chapter !== null ? ` · ch. ${e.chapter + 1}` : ""}`;
          },
        }),
        col.accessor("flags", {
          header: "Flags",
          size: 180,
          cell: (c) => (
            <span className="flags">
              {(c.getValue() as QualityFlag[]).map((f) => (
                <span key={f} className="flag" title={flagLabel(f)}>
                  {flagLabel(f)}
                </span>
              ))}
            </span>
          ),
        }),
        col.accessor("token_len", { header: unitLabel(unit), size: 72 }),
      ] as ColumnDef<Example, any>[], // eslint-disable-line @typescript-eslint/no-explicit-any
    [bookTitle, unit],
  );

  // The table holds only the rows in view; the virtualiser places them by their index in the listing.
  const virtual = useVirtualizer({ count: cache.total, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const items = virtual.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? -1;
  const visible: Example[] = [];
  for (let i = first; i <= last; i++) {
    const r = cache.row(i);
    if (r) visible.push(r);
  }
  const table = useReactTable({
    data: visible,
    columns,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (r) => String(r.id),
    columnResizeMode: "onChange",
    enableColumnResizing: true,
  });

  useEffect(() => {
    if (last < 0) return;
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) loadPage(p);
    setRange(`${first}-${last}`);
  }, [first, last, props.generation, loadPage]);

  // Rows have a fixed height, so keeping the cursor in view is plain arithmetic; the virtualiser's own
  // scrollToIndex keeps re-measuring and froze the WebKit window when called on every click.
  useImperativeHandle(
    ref,
    () => ({
      scrollTo: (index: number) => {
        const el = scroller.current;
        if (!el) return;
        const top = index * ROW_HEIGHT;
        if (top < el.scrollTop) el.scrollTop = top;
        else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
      },
    }),
    [],
  );

  const widths = table.getVisibleLeafColumns().map((c) => `${c.getSize()}px`);
  const template = `28px ${widths.join(" ")}`;
  const sortable: Record<string, Sort["key"]> = { status: "status", strategy: "strategy", token_len: "token_len" };

  return (
    <div className="grid" data-testid="review-grid" role="grid" aria-rowcount={cache.total}>
      <div className="grid-header" style={{ gridTemplateColumns: template }} role="row">
        <div />
        {table.getHeaderGroups()[0].headers.map((h) => {
          const key = sortable[h.column.id];
          return (
            <div key={h.id} className="grid-th" role="columnheader">
              <button
                className="ghost"
                disabled={!key}
                onClick={() => key && onSort({ key, descending: sort.key === key ? !sort.descending : false })}
              >
                {flexRender(h.column.columnDef.header, h.getContext())}
                {key && sort.key === key ? (sort.descending ? " ▼" : " ▲") : ""}
              </button>
              <span className="resizer" onMouseDown={h.getResizeHandler()} onTouchStart={h.getResizeHandler()} />
            </div>
          );
        })}
      </div>
      <div className="grid-body" ref={scroller} data-testid="grid-scroller">
        <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
          {items.map((item) => {
            const example = cache.row(item.index);
            const row = example ? table.getRow(String(example.id), true) : undefined;
            const isCursor = item.index === cursor;
            return (
              <div
                key={item.key}
                className={`grid-row ${isCursor ? "cursor" : ""} ${example && selected.has(example.id) ? "selected" : ""}`}
                role="row"
                aria-rowindex={item.index + 1}
                aria-selected={isCursor}
                data-testid="grid-row"
                data-index={item.index}
                data-id={example?.id}
                data-status={example?.status}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT, gridTemplateColumns: template }}
                onClick={(e) => {
                  if (example && (e.ctrlKey || e.metaKey || e.shiftKey)) onToggle(example.id, item.index, e.shiftKey);
                  onCursor(item.index);
                }}
              >
                <span>
                  {example && (
                    <input
                      type="checkbox"
                      aria-label="Select"
                      checked={selected.has(example.id)}
                      onClick={(e) => e.stopPropagation()}
                      onChange={() => onToggle(example.id, item.index, false)}
                    />
                  )}
                </span>
                {row
                  ? row.getVisibleCells().map((cell) => (
                      <div key={cell.id} className="grid-td" role="gridcell">
                        {flexRender(cell.column.columnDef.cell, cell.getContext())}
                      </div>
                    ))
                  : <div className="grid-td muted">Loading…</div>}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
});
