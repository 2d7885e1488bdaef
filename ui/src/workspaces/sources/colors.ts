/** A stable colour per speaker, so the same character reads the same everywhere. */
export function speakerColor(name: string | null): string {
  if (!name) return "var(--unattributed)";
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) % 360;
  return `hsl(${h} 65% 45%)`;
}
