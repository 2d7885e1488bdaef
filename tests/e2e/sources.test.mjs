// The Sources workspace in the real Grimoire window: the roster's Ignore (and Restore) on the
// sample project, and a second book moved earlier in the series.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { helpers, openSession, scratch } from "./harness.mjs";

const APP = process.env.GRIMOIRE_APP;
const SHOTS = path.join(import.meta.dirname, "screenshots");

const { tmp, env, remove } = scratch("sources");
let stop;
let browser;
const { byTestId, shot, jobCompleted, sampleOpened } = helpers(() => browser, SHOTS);

// As in review.test.mjs: a WebDriver command whose event handler calls the backend at once may
// never return under WebKitWebDriver, so clicks, typing and choices are DOM events on the next tick.
async function domClick(el) {
  await browser.execute((e) => setTimeout(() => e.click()), el);
}

async function setNative(el, value, event) {
  await browser.execute(
    (e, v, ev) =>
      setTimeout(() => {
        Object.getOwnPropertyDescriptor(Object.getPrototypeOf(e), "value").set.call(e, v);
        e.dispatchEvent(new Event(ev, { bubbles: true }));
      }),
    el,
    value,
    event,
  );
}

/** The names in the roster's list (ignored ones are not there). */
async function rosterNames() {
  return browser.execute(() => [...document.querySelectorAll('[data-testid="character"] strong')].map((s) => s.textContent));
}

/** The speakers of the quotations the reader shows. */
async function speakers() {
  return browser.execute(() => [...document.querySelectorAll('[data-testid="quote"]')].map((q) => q.getAttribute("data-speaker")));
}

/** Shows the chapter titled `title` and waits until the reader holds `phrase` from it. */
async function showChapter(title, phrase) {
  const select = await byTestId("chapter-select");
  const value = await browser.execute((s, t) => [...s.options].find((o) => o.textContent === t)?.value, select, title);
  assert.ok(value !== undefined, `no chapter ${title}`);
  await setNative(select, value, "change");
  await browser.waitUntil(async () => (await browser.execute(() => document.querySelector('[data-testid="reader"]')?.textContent ?? "")).includes(phrase), {
    timeout: 15_000,
    timeoutMsg: `${title} was not shown`,
  });
}

const CHAPTER_II = "Mr. Bennet was among the earliest";
const CHAPTER_III = "Not all that Mrs. Bennet";

describe("the Sources workspace", { timeout: 240_000 }, () => {
  before(async () => {
    assert.ok(APP && fs.existsSync(APP), `GRIMOIRE_APP must name the built app (got ${APP})`);
    ({ browser, stop } = await openSession({ app: APP, env }));
  });

  after(async () => {
    await stop?.();
    remove();
  });

  it("ignores a character from the roster and restores it", async () => {
    await sampleOpened();
    await showChapter("CHAPTER III.", CHAPTER_III);
    await browser.waitUntil(async () => (await speakers()).includes("Mr. Bingley"), { timeout: 15_000, timeoutMsg: "Bingley speaks in chapter III" });
    const quotes = (await speakers()).length;
    await browser.waitUntil(async () => (await rosterNames()).includes("Mr. Bingley"), { timeout: 15_000 });
    await browser.execute(() =>
      setTimeout(() =>
        [...document.querySelectorAll('[data-testid="character"]')]
          .find((li) => li.querySelector("strong")?.textContent === "Mr. Bingley")
          .querySelector('input[type="checkbox"]')
          .click(),
      ),
    );
    await browser.waitUntil(async () => !(await (await byTestId("ignore-character")).getAttribute("disabled")), { timeout: 5_000 });
    await domClick(await byTestId("ignore-character"));
    await browser.waitUntil(async () => !(await rosterNames()).includes("Mr. Bingley"), { timeout: 30_000, timeoutMsg: "Bingley is still in the roster" });
    const ignored = await byTestId("ignored-characters");
    assert.match(await browser.execute((e) => e.textContent, ignored), /Ignored \(1\)/);
    // The reader reloads with the same quotations, none of them his.
    await showChapter("CHAPTER II.", CHAPTER_II);
    await showChapter("CHAPTER III.", CHAPTER_III);
    await browser.waitUntil(async () => !(await speakers()).includes("Mr. Bingley"), { timeout: 15_000, timeoutMsg: "a quotation is still Bingley's" });
    assert.equal((await speakers()).length, quotes);
    await shot("roster-ignored");
    await browser.execute((d) => d.setAttribute("open", ""), ignored);
    const restore = await (await byTestId("ignored-character")).$("button");
    await domClick(restore);
    await browser.waitUntil(async () => (await rosterNames()).includes("Mr. Bingley"), { timeout: 30_000, timeoutMsg: "Bingley did not come back" });
  });

  it("moves a second book earlier in the series", async () => {
    const file = path.join(tmp, "Prequel.txt");
    fs.writeFileSync(file, 'CHAPTER I\n\n"Before it all began," said Mr. Bingley.\n');
    await setNative(await byTestId("import-path"), file, "input");
    await browser.waitUntil(async () => (await browser.execute(() => document.querySelector('[data-testid="import-path"]').value)).endsWith("Prequel.txt"));
    await browser.execute(() => setTimeout(() => document.querySelector(".import-bar").requestSubmit()));
    await jobCompleted("Import Prequel.txt", 60_000);
    const chips = async () => browser.execute(() => [...document.querySelectorAll('[data-testid="books"] .chip')].map((c) => c.textContent));
    await browser.waitUntil(async () => (await chips()).length === 2, { timeout: 15_000, timeoutMsg: "the second book is not listed" });
    assert.match((await chips())[1], /^2\. Prequel/);
    await domClick((await browser.$$('[data-testid="books"] .chip'))[1]);
    await domClick(await byTestId("book-earlier"));
    await browser.waitUntil(async () => /^1\. Prequel/.test((await chips())[0]), { timeout: 15_000, timeoutMsg: "the book did not move" });
    assert.match((await chips())[1], /^2\. Pride And Prejudice/);
    await shot("books-reordered");
  });
});
