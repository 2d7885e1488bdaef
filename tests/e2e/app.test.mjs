// The real Grimoire window, driven through tauri-driver and WebKitWebDriver under Xvfb.
// Run by scripts/test.sh, which builds the app and sets GRIMOIRE_APP and GRIMOIRE_MODEL_DIR.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { helpers, openSession, scratch } from "./harness.mjs";

const APP = process.env.GRIMOIRE_APP;
const SHOTS = path.join(import.meta.dirname, "screenshots");

const { tmp, env, remove } = scratch("app");
let stop;
let browser;
const { byTestId, setValue, shot, jobCompleted } = helpers(() => browser, SHOTS);
let mounted = null;

describe("the Grimoire window", { timeout: 240_000 }, () => {
  before(async () => {
    assert.ok(APP && fs.existsSync(APP), `GRIMOIRE_APP must name the built app (got ${APP})`);
        ({ browser, stop } = await openSession({ app: APP, env }));
  });

  after(async () => {
    await stop?.();
    if (mounted) execFileSync("umount", ["--lazy", mounted]);
    remove();
  });

  it("opens the sample project on first run and imports its book as a job", async () => {
    const name = await byTestId("project-name", 30_000);
    assert.match(await name.getText(), /Pride and Prejudice/);
    assert.match(await name.getText(), /Elizabeth Bennet/);
    const job = await browser.$('[data-testid="job"][data-status="completed"]');
    await job.waitForExist({ timeout: 30_000 });
    const books = await byTestId("books");
    assert.match(await books.getText(), /Pride And Prejudice/);
    // The reader colours quotations by speaker; the roster lists who speaks.
    const firstQuote = await browser.$('[data-testid="quote"]');
    await firstQuote.waitForDisplayed({ timeout: 15_000 });
    assert.equal(await firstQuote.getAttribute("data-speaker"), "Mrs. Bennet");
    const roster = await byTestId("roster");
    assert.match(await roster.getText(), /Darcy/);
    await shot("sample-project");
  });

  it("corrects a speaker by clicking the quotation", async () => {
    await (await browser.$('[data-testid="quote"]')).click();
    const select = await byTestId("speaker-select");
    await select.selectByVisibleText("Mr. Bennet");
    await browser.waitUntil(async () => (await (await browser.$('[data-testid="quote"]')).getAttribute("data-speaker")) === "Mr. Bennet", {
      timeout: 15_000,
      timeoutMsg: "the first quotation did not change speaker",
    });
  });

  it("extracts dialogue examples for the persona as a job", async () => {
    await (await byTestId("extract-start")).click();
    await jobCompleted("Extract dialogue", 60_000);
    await shot("extracted");
  });

  it("refuses a folder that is not a project, with a readable message, and writes nothing", async () => {
    const folder = path.join(tmp, "holiday-photos");
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, "beach.jpg"), "jpeg");
    await (await byTestId("close-project")).click();
    await byTestId("project-picker");
    await setValue("open-path", folder);
    await (await byTestId("open-submit")).click();
    const error = await byTestId("error");
    assert.equal(await error.getAttribute("data-code"), "not_a_project");
    assert.match(await error.getText(), /not a Grimoire project/);
    assert.deepEqual(fs.readdirSync(folder), ["beach.jpg"]);
  });

  it("refuses a damaged grimoire.db and leaves it byte for byte", async () => {
    const folder = path.join(tmp, "damaged");
    fs.mkdirSync(folder);
    const bytes = Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(8192, 0x5a)]);
    fs.writeFileSync(path.join(folder, "grimoire.db"), bytes);
    await setValue("open-path", folder);
    await (await byTestId("open-submit")).click();
    await browser.waitUntil(async () => (await (await byTestId("error")).getText()).includes("damaged") || (await (await byTestId("error")).getAttribute("data-code")) !== "not_a_project", { timeout: 10_000 });
    const error = await byTestId("error");
    assert.ok(["project_damaged", "not_a_project"].includes(await error.getAttribute("data-code")));
    assert.ok(fs.readFileSync(path.join(folder, "grimoire.db")).equals(bytes));
    await shot("damaged-project");
  });

  it("creates a project and visits the four workspaces", async () => {
    const folder = path.join(tmp, "projects", "brontes");
    await setValue("create-name", "The Brontës");
    await setValue("create-path", folder);
    await setValue("create-persona", "Jane Eyre");
    await (await byTestId("create-submit")).click();
    const name = await byTestId("project-name");
    assert.match(await name.getText(), /The Brontës/);
    assert.ok(fs.existsSync(path.join(folder, "grimoire.db")));
    await byTestId("sources-empty");
    for (const ws of ["review", "train", "chat"]) {
      await (await byTestId(`nav-${ws}`)).click();
      await byTestId(`${ws}-empty`);
    }
    // Keyboard navigation: Ctrl+1 goes back to Sources.
    await browser.keys(["Control", "1"]);
    await byTestId("sources-empty");
    await shot("new-project");
  });

  it("refuses a read-only project folder with a readable message", async () => {
    const source = path.join(tmp, "projects", "brontes");
    const readOnly = path.join(tmp, "read-only-brontes");
    fs.mkdirSync(readOnly);
    if (process.getuid?.() === 0) {
      // Root writes through permission bits: a read-only bind mount is what a root user would meet.
      execFileSync("mount", ["--bind", source, readOnly]);
      mounted = readOnly;
      execFileSync("mount", ["-o", "remount,bind,ro", readOnly]);
    } else {
      fs.cpSync(source, readOnly, { recursive: true });
      fs.chmodSync(readOnly, 0o555);
    }
    await (await byTestId("close-project")).click();
    await setValue("open-path", readOnly);
    await (await byTestId("open-submit")).click();
    const error = await byTestId("error");
    assert.equal(await error.getAttribute("data-code"), "read_only");
    assert.match(await error.getText(), /read-only/);
    await shot("read-only-project");
    // Back into a writable project for the next test.
    await setValue("open-path", source);
    await (await byTestId("open-submit")).click();
    await byTestId("project-name");
  });

  it("lists the built-in model in settings", async () => {
    await (await byTestId("nav-settings")).click();
    const row = await byTestId("model-built-in");
    assert.match(await row.getText(), /SmolLM2-135M-Instruct/);
    if (process.env.GRIMOIRE_MODEL_DIR) assert.equal(await row.getAttribute("data-status"), "ready");
    await shot("settings");
  });

  it("chats with the built-in model, streaming the reply", async () => {
    await (await byTestId("nav-chat")).click();
    await byTestId("chat-empty");
    await setValue("chat-max-tokens", "8");
    await setValue("chat-input", "Good morning! How are you?");
    await (await byTestId("chat-send")).click();
    const reply = await browser.$('[data-testid="message-assistant"]');
    await reply.waitForDisplayed({ timeout: 120_000 });
    assert.ok((await reply.getText()).trim().length > 0);
    assert.match(await (await byTestId("chat-stats")).getText(), /tokens/);
    // The conversation is saved after the reply ends, and the list read again after that.
    const conversations = await byTestId("conversations");
    await browser.waitUntil(async () => /Good morning/.test(await conversations.getText()), {
      timeout: 15_000,
      timeoutMsg: "the saved conversation did not show in the list",
    });
    await shot("chat");
  });
});
