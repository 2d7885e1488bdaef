// The Train workspace in the real Grimoire window (tauri-driver + WebKitWebDriver under Xvfb): a
// project with an export made by the `grimoire` CLI, then a short QLoRA run of the built-in model
// set up, estimated, followed live and merged from the window.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { cliBeside, exportedProject, helpers, openSession, scratch } from "./harness.mjs";

const APP = process.env.GRIMOIRE_APP;
const SHOTS = path.join(import.meta.dirname, "screenshots");

const { tmp, env, remove } = scratch("train");
const project = path.join(tmp, "lizzy");
let stop;
let browser;
const { byTestId, setValue, shot } = helpers(() => browser, SHOTS);

const grimoire = cliBeside(APP, env);

describe("the Train workspace", { timeout: 400_000 }, () => {
  before(async () => {
    assert.ok(APP && fs.existsSync(APP), `GRIMOIRE_APP must name the built app (got ${APP})`);
    exportedProject(grimoire, project, tmp);

    ({ browser, stop } = await openSession({ app: APP, env, args: [project] }));
  });

  after(async () => {
    await stop?.();
    remove();
  });

  it("sets up a run and shows its estimate", async () => {
    await byTestId("project-name", 30_000);
    await (await byTestId("nav-train")).click();
    await byTestId("train-empty");
    await (await byTestId("train-new")).click();
    await byTestId("train-form");
    await setValue("train-epochs", "10");
    await setValue("train-steps", "3");
    await setValue("train-seq", "64");
    await (await byTestId("train-estimate")).click();
    const plan = await byTestId("train-plan", 60_000);
    assert.match(await plan.getText(), /5 training and 1 validation examples.* 3 steps/);
  });

  it("trains, draws the curve as it goes, and merges the adapter", async () => {
    await (await byTestId("train-start")).click();
    const row = await browser.$('[data-testid="run-row"]');
    await row.waitForExist({ timeout: 30_000 });
    await browser.waitUntil(async () => (await row.getAttribute("data-state")) === "completed", {
      timeout: 240_000,
      interval: 1000,
      timeoutMsg: "the run did not complete",
    });
    const chart = await byTestId("loss-chart");
    await browser.waitUntil(async () => Number(await chart.getAttribute("data-points")) >= 3, { timeout: 10_000 });
    assert.match(await row.getText(), /3\/3/);
    await shot("train");
    await (await byTestId("run-merge")).click();
    const message = await byTestId("train-message");
    await browser.waitUntil(async () => /Merged into .*merged/.test(await message.getText()), {
      timeout: 120_000,
      timeoutMsg: "the merge did not report its folder",
    });
    // The same run handed to Axolotl: data, config.yml and README in the project's exports.
    await (await byTestId("run-axolotl")).click();
    await browser.waitUntil(async () => /Axolotl folder written: .*axolotl-/.test(await message.getText()), {
      timeout: 30_000,
      timeoutMsg: "the Axolotl export did not report its folder",
    });
    const axolotl = fs.readdirSync(path.join(project, "exports")).find((d) => d.startsWith("axolotl-"));
    assert.ok(axolotl && fs.existsSync(path.join(project, "exports", axolotl, "config.yml")));
    const runs = fs.readdirSync(path.join(project, "runs")).filter((d) => !d.startsWith("."));
    assert.equal(runs.length, 1);
    assert.ok(fs.existsSync(path.join(project, "runs", runs[0], "adapter_model.safetensors")));
    assert.ok(fs.existsSync(path.join(project, "runs", runs[0], "merged", "config.json")));
  });
});
