// Teachers in the real Grimoire window: the settings section, and teacher data in Sources (preview
// and a one-passage generation with the built-in model). Same harness as app.test.mjs: tauri-driver
// on port 4444 (so files run one at a time) and its own data and config folders.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { helpers, openSession, scratch } from "./harness.mjs";

const APP = process.env.GRIMOIRE_APP;
const SHOTS = path.join(import.meta.dirname, "screenshots");

const { env, remove } = scratch("teachers", { DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent" });
let stop;
let browser;
const { byTestId, setValue, shot, sampleOpened } = helpers(() => browser, SHOTS);

/** The error banner's text, when one is showing (so a wait can fail with the app's own message). */
async function bannerText() {
  const banner = await browser.$('[data-testid="error"]');
  return (await banner.isExisting()) ? await banner.getText() : null;
}

/**
 * Runs `wait`; when it fails, adds what the window and the project's database say about the jobs to
 * the error (and keeps a screenshot), so that a job that never finishes can be told from a window
 * that never shows it.
 */
async function diagnosed(wait) {
  try {
    return await wait();
  } catch (e) {
    const lines = [e.message];
    try {
      await shot("teacher-generation-failure");
      for (const job of await browser.$$('[data-testid="job"]')) {
        lines.push(`jobs panel: [${await job.getAttribute("data-status")}] ${(await job.getText()).replace(/\s+/g, " ")}`);
      }
      const status = await browser.$('[data-testid="gen-status"]');
      if (await status.isExisting()) lines.push(`generation status: ${(await status.getText()).replace(/\s+/g, " ")}`);
      lines.push(`start button enabled: ${await (await browser.$('[data-testid="gen-start"]')).isEnabled()}`);
      for (const db of findFiles(env.GRIMOIRE_DATA_DIR, "grimoire.db")) {
        const sql = "select id, kind, status, error from jobs; select job_id, idx, state from generation_items;";
        lines.push(`${db}:\n${execFileSync("sqlite3", [db, sql], { encoding: "utf8" })}`);
      }
    } catch (d) {
      lines.push(`(diagnostics failed: ${d.message})`);
    }
    throw new Error(lines.join("\n"));
  }
}

function findFiles(dir, name) {
  return fs.readdirSync(dir, { recursive: true }).filter((f) => path.basename(f) === name).map((f) => path.join(dir, f));
}

describe("teachers in the Grimoire window", { timeout: 400_000 }, () => {
  before(async () => {
    assert.ok(APP && fs.existsSync(APP), `GRIMOIRE_APP must name the built app (got ${APP})`);
    ({ browser, stop } = await openSession({ app: APP, env }));
  });

  after(async () => {
    await stop?.();
    remove();
  });

  it("lists the built-in teacher in settings and tests its connection", async () => {
    await sampleOpened();
    await (await byTestId("nav-settings")).click();
    const builtin = await byTestId("teacher-built-in");
    assert.match(await builtin.getText(), /built-in/);
    assert.match(await builtin.getText(), /Built-in model/);
    await (await byTestId("teacher-test-built-in")).click();
    const result = await byTestId("teacher-test-result", 30_000);
    assert.equal(await result.getAttribute("data-ok"), "true");
    assert.match(await result.getText(), /SmolLM2|built-in|\.gguf/i);
  });

  it("adds an OpenAI-compatible teacher, shows the exact connection error and where a key can go, and deletes it", async () => {
    await (await byTestId("teacher-add")).click();
    await setValue("teacher-name", "local-test");
    // Nothing listens on the discard port: the test must fail with the client's own error.
    await setValue("teacher-base-url", "http://127.0.0.1:9/v1");
    await setValue("teacher-model", "tiny");
    await (await byTestId("teacher-save")).click();
    const row = await byTestId("teacher-local-test");
    // textContent: WebKitWebDriver leaves text-overflow: ellipsis spans out of getText.
    assert.match(await row.getProperty("textContent"), /tiny at http:\/\/127\.0\.0\.1:9\/v1/);
    await (await byTestId("teacher-test-local-test")).click();
    const result = await row.$('[data-testid="teacher-test-result"]');
    await result.waitForDisplayed({ timeout: 30_000 });
    assert.equal(await result.getAttribute("data-ok"), "false");
    assert.match(await result.getText(), /Connection failed: .+/);
    // Saving a key: with no keyring the page names the environment variable that works instead.
    const key = await row.$('input[type="password"]');
    await key.setValue("sk-test");
    await (await row.$('button[type="submit"]')).click();
    await browser.waitUntil(
      async () => {
        const warning = await row.$('[data-testid="teacher-keyring-local-test"]');
        if ((await warning.isExisting()) && /The key was not saved: .*GRIMOIRE_TEACHER_LOCAL_TEST_KEY/.test(await warning.getText())) return true;
        return /in the OS keyring/.test(await (await row.$('[data-testid="teacher-key-local-test"]')).getText());
      },
      { timeout: 20_000, timeoutMsg: "saving a key neither stored it nor named the environment variable" },
    );
    await shot("teachers-settings");
    await (await byTestId("teacher-delete-local-test")).click();
    await browser.waitUntil(async () => !(await (await browser.$('[data-testid="teacher-local-test"]')).isExisting()), {
      timeout: 10_000,
      timeoutMsg: "the teacher was not deleted",
    });
  });

  it("previews one passage with the built-in teacher", async () => {
    await (await byTestId("nav-sources")).click();
    await (await byTestId("teacher-panel-open")).click();
    await byTestId("teacher-panel");
    await (await byTestId("gen-teacher")).selectByAttribute("value", "built-in");
    // Short passages keep the small model's prompt, and so the test, quick.
    await setValue("gen-max-chars", "500");
    await setValue("gen-limit", "1");
    await browser.waitUntil(async () => /^1 of \d+ passages$/.test(await (await byTestId("gen-count")).getText()), {
      timeout: 10_000,
      timeoutMsg: "the limit of one passage did not take",
    });
    // Before any request: what the job would send, free with the local model.
    const estimate = await byTestId("gen-estimate", 20_000);
    await browser.waitUntil(async () => /prompt \+ .* answer tokens · no cost/.test(await estimate.getText()), {
      timeout: 10_000,
      timeoutMsg: "no estimate before the preview",
    });
    const first = await browser.$('[data-testid="passage"][data-index="0"]');
    await first.waitForDisplayed({ timeout: 20_000 });
    await first.click();
    await (await byTestId("gen-preview")).click();
    await browser.waitUntil(
      async () => {
        const banner = await bannerText();
        if (banner) throw new Error(`preview failed: ${banner}`);
        return (await browser.$('[data-testid="gen-preview-result"]')).isExisting();
      },
      { timeout: 60_000, interval: 500, timeoutMsg: "no preview within a minute" },
    );
    const result = await byTestId("gen-preview-result");
    if ((await result.getAttribute("data-rejected")) === "true") {
      // The built-in model is held to the JSON object, but may still leave a string empty;
      // then the reason must say why.
      assert.match(await (await byTestId("gen-preview-rejected")).getText(), /Rejected: .{5,}/);
    } else {
      assert.match(await (await byTestId("gen-preview-examples")).getText(), /\d+ examples?/i);
    }
    assert.match(await result.getText(), /tokens · cost/);
    // The previewed passage is the job's one passage, now cached: the estimate says so.
    await browser.waitUntil(async () => /^1 already answered/.test(await (await byTestId("gen-estimate")).getText()), {
      timeout: 10_000,
      timeoutMsg: "the estimate did not count the previewed passage as cached",
    });
    await shot("teacher-preview");
  });

  it("generates from one passage as a job that completes", async () => {
    await (await byTestId("gen-start")).click();
    await diagnosed(() => browser.waitUntil(
      async () => {
        const banner = await bannerText();
        if (banner) throw new Error(`generation failed: ${banner}`);
        for (const job of await browser.$$('[data-testid="job"]')) {
          if (!(await job.getText()).includes("First-person retellings")) continue;
          const status = await job.getAttribute("data-status");
          if (status === "failed") throw new Error(`the generation job failed: ${await job.getText()}`);
          if (status === "completed") return true;
        }
        return false;
      },
      { timeout: 240_000, interval: 500, timeoutMsg: "the generation job did not complete" },
    ));
    const status = await byTestId("gen-status");
    await browser.waitUntil(async () => (await status.getAttribute("data-status")) === "completed", { timeout: 10_000 });
    assert.equal(await (await byTestId("gen-done")).getText(), "1 / 1");
    await shot("teacher-generated");
  });
});
