// Under LANG=C (common on servers, containers and minimal desktops) WebKit reports the language as
// "C", which Intl rejects with a RangeError; uPlot formats numbers with it as soon as it loads, so
// the whole window stayed blank. Imported first in main.tsx, before anything that formats numbers.
try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(navigator, "language", { value: "en-US", configurable: true });
  Object.defineProperty(navigator, "languages", { value: ["en-US"], configurable: true });
}

export {};
