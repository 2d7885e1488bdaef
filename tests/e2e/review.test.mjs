// The Review workspace in the real Grimoire window: the sample project's dialogue extracted, then
// reviewed with the keyboard, edited in place, undone, searched, acted on in bulk and exported.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { helpers, openSession, scratch } from "./harness.mjs";

const APP = process.env.GRIMOIRE_APP;
const SHOTS = path.join(import.meta.dirname, "screenshots");

const { env, remove } = scratch("review");
let stop;
let browser;
const { byTestId, shot, jobCompleted, sampleOpened } = helpers(() => browser, SHOTS);

// WebKitWebDriver hangs on the actions endpoint (browser.keys), and a script it runs never returns
// when the event it dispatches calls into the backend before the script ends (React runs a discrete
// event's effects synchronously, and the grid's cursor effect loads the example). So key presses and
// clicks on grid rows are dispatched as DOM events on the next tick, after the script has returned.
// Buttons and inputs elsewhere are clicked through WebDriver as a user would.
async function press(key, mods = {}) {
  await browser.execute(
    (k, m) => setTimeout(() => (document.activeElement ?? document.body).dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, ...m }))),
    key,
    mods,
  );
}

async function domClick(el) {
  await browser.execute((e) => setTimeout(() => e.click()), el);
}

// WebDriver's own clicks and typing hang the same way inside the workspace (its handlers call the
// backend at once), so text is set as the browser's own input would set it (the native setter, then
// the input event React listens to), and clicks are dispatched on the next tick too.
async function typeInto(el, text) {
  await browser.execute(
    (e, t) =>
      setTimeout(() => {
        Object.getOwnPropertyDescriptor(Object.getPrototypeOf(e), "value").set.call(e, t);
        e.dispatchEvent(new Event("input", { bubbles: true }));
      }),
    el,
    text,
  );
}

// A row's whole text: WebDriver's element text leaves out what the grid's narrow columns clip.
async function textOf(el) {
  return browser.execute((e) => e.textContent, el);
}

async function rows() {
  return browser.$$('[data-testid="grid-row"][data-id]');
}

async function cursorRow() {
  const row = await browser.$('[data-testid="grid-row"].cursor');
  await row.waitForExist({ timeout: 10_000 });
  return row;
}

async function count(id) {
  return Number((await (await byTestId(id)).getText()).replace(/[^0-9]/g, ""));
}

describe("the Review workspace", { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(APP && fs.existsSync(APP), `GRIMOIRE_APP must name the built app (got ${APP})`);
    ({ browser, stop } = await openSession({ app: APP, env }));
  });

  after(async () => {
    await stop?.();
    remove();
  });

  it("shows the empty state until examples exist, then extracts them", async () => {
    await sampleOpened();
    await (await byTestId("nav-review")).click();
    await byTestId("review-empty");
    await (await byTestId("nav-sources")).click();
    // The bar for a line's speaker: tags, beats and two-person exchanges the tags confirm, not bare guesses.
    assert.equal(await (await byTestId("extract-min-confidence")).getValue(), "0.6");
    await (await byTestId("extract-start")).click();
    await jobCompleted("Extract dialogue", 90_000);
  });

  it("lists the examples in the grid with their stats and the source passage", async () => {
    await (await byTestId("nav-review")).click();
    await byTestId("review-grid");
    await browser.waitUntil(async () => (await rows()).length > 5, { timeout: 15_000, timeoutMsg: "no rows in the grid" });
    await browser.waitUntil(async () => (await count("stats-total")) > 200, { timeout: 10_000, timeoutMsg: "the stats bar counts under 200 examples" });
    assert.match(await (await byTestId("stats-pending")).getText(), /pending/);
    await (await byTestId("passage-highlight")).waitForDisplayed({ timeout: 10_000 });
  });

  it("approves with the keyboard and moves on", async () => {
    await domClick(await (await rows())[1].$(".grid-td"));
    await browser.waitUntil(async () => (await (await cursorRow()).getAttribute("data-index")) === "1", { timeout: 5_000, timeoutMsg: "a click did not move the cursor" });
    await press("k");
    await browser.waitUntil(async () => (await (await cursorRow()).getAttribute("data-index")) === "0", { timeout: 5_000, timeoutMsg: "k did not move the cursor up" });
    await press("a");
    await browser.waitUntil(async () => (await (await browser.$('[data-testid="grid-row"][data-index="0"]')).getAttribute("data-status")) === "approved", {
      timeout: 10_000,
      timeoutMsg: "the first example was not approved",
    });
    await browser.waitUntil(async () => /1 approved/.test(await (await byTestId("stats-approved")).getText()), { timeout: 10_000 });
    await press("j");
    await browser.waitUntil(async () => (await (await cursorRow()).getAttribute("data-index")) === "1", { timeout: 5_000 });
  });

  it("edits a turn in place, saves it, and undoes the edit", async () => {
    const id = await (await cursorRow()).getAttribute("data-id");
    await browser.waitUntil(async () => (await (await byTestId("review-side")).getAttribute("data-id")) === id, { timeout: 10_000 });
    await press("e");
    const areas = await browser.$$('textarea[data-testid^="turn-"]');
    const last = areas[areas.length - 1];
    const before = await last.getValue();
    await typeInto(last, "I dearly love a laugh, edited in the test.");
    await browser.waitUntil(async () => (await last.getValue()).includes("edited in the test"), { timeout: 5_000 });
    await domClick(await byTestId("save-edit"));
    const row = () => browser.$(`[data-testid="grid-row"][data-id="${id}"]`);
    await browser.waitUntil(async () => (await textOf(await row())).includes("edited in the test"), {
      timeout: 10_000,
      timeoutMsg: "the edit did not reach the grid",
    });
    await shot("review-edited");
    await browser.execute(() => document.activeElement?.blur());
    await press("z", { ctrlKey: true });
    await browser.waitUntil(async () => !(await textOf(await row())).includes("edited in the test"), {
      timeout: 10_000,
      timeoutMsg: "Ctrl+Z did not undo the edit",
    });
    assert.match(await (await byTestId("review-message")).getText(), /Undid/);
    const restored = (await browser.$$('textarea[data-testid^="turn-"]')).at(-1);
    assert.equal(await restored.getValue(), before);
  });

  it("searches all turns and rejects everything the search matches in one action", async () => {
    const all = await count("stats-total");
    await typeInto(await byTestId("review-search"), "Pemberley");
    await browser.waitUntil(async () => {
      const n = await count("stats-total");
      return n > 0 && n < all;
    }, { timeout: 10_000, timeoutMsg: "the search did not narrow the grid" });
    const matched = await count("stats-total");
    // The side panel follows the cursor, which a new search puts on its first match.
    await browser.waitUntil(
      async () => /Pemberley/i.test((await browser.execute(() => [...document.querySelectorAll('textarea[data-testid^="turn-"]')].map((t) => t.value))).join(" ")),
      { timeout: 10_000, timeoutMsg: "the first match does not mention Pemberley" },
    );
    await domClick(await byTestId("bulk-reject"));
    await browser.waitUntil(async () => /rejected/.test(await (await byTestId("stats-rejected")).getText()) && (await count("stats-rejected")) === matched, {
      timeout: 10_000,
      timeoutMsg: `the ${matched} matching examples were not all rejected`,
    });
    await typeInto(await byTestId("review-search"), "");
    await browser.waitUntil(async () => (await count("stats-total")) === all, { timeout: 10_000, timeoutMsg: "clearing the search did not bring every example back" });
    assert.equal(await count("stats-rejected"), matched);
    assert.match(await (await byTestId("stats-approved")).getText(), /1 approved/);
  });

  it("shows the shortcut sheet and exports the approved examples", async () => {
    await press("?");
    await byTestId("shortcut-sheet");
    await shot("review-shortcuts");
    await domClick(await byTestId("shortcut-sheet"));
    await domClick(await byTestId("export-open"));
    await domClick(await byTestId("export-run"));
    const result = await byTestId("export-result", 30_000);
    assert.match(await result.getText(), /Wrote 1 training and 0 validation|Wrote 0 training and 1 validation/);
    const train = await (await byTestId("export-train")).getText();
    const validation = await (await byTestId("export-validation")).getText();
    const lines = [train, validation].map((f) => fs.readFileSync(f, "utf8").split("\n").filter(Boolean).length);
    assert.equal(lines[0] + lines[1], 1);
    await shot("review");
  });
});
