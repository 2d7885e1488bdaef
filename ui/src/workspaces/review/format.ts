// Small helpers shared by the grid and the side panel.
import type { Example, ExampleFilter, LengthUnit, QualityFlag } from "../../generated/types";

export const EMPTY_FILTER: ExampleFilter = {
  status: [],
  strategy: [],
  flags: [],
  unflagged: false,
  book_id: null,
  chapter: null,
  tag: null,
  min_tokens: null,
  max_tokens: null,
  text: null,
};

export const FLAGS: QualityFlag[] = [
  "exact_duplicate",
  "near_duplicate",
  "too_short",
  "too_long",
  "third_person",
  "addressed_by_name",
  "narration",
  "empty_turn",
  "bad_turn_order",
  "unsupported_detail",
  "longer_than_source",
  "meta_talk",
];

export const flagLabel = (f: QualityFlag) => f.replace(/_/g, " ");

/** The persona's last line: what the grid shows in its "persona line" column. */
export function personaLine(e: Example): string {
  for (let i = e.messages.length - 1; i >= 0; i--) if (e.messages[i].role === "assistant") return e.messages[i].content;
  return "";
}

/** What was said to the persona just before their last line. */
export function saidToThem(e: Example): string {
  let seenAssistant = false;
  for (let i = e.messages.length - 1; i >= 0; i--) {
    const m = e.messages[i];
    if (m.role === "assistant") seenAssistant = true;
    else if (m.role === "user" && seenAssistant) return m.content;
  }
  return "";
}

export function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** True when typing into a field, where single-key shortcuts must not fire. */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable;
}

/** The name of what a project's example lengths count. */
export function unitLabel(unit: LengthUnit): string {
  return unit === "words" ? "Words" : "Tokens";
}
