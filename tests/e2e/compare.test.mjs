// Compare mode of the Chat workspace in the real Grimoire window (tauri-driver + WebKitWebDriver
// under Xvfb): a project with a two-step training run made by the `grimoire` CLI; one message goes
// to the base model and the run's adapter and both panes fill at once; then a blind vote.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { cliBeside, exportedProject, helpers, openSession, scratch } from "./harness.mjs";

const APP = process.env.GRIMOIRE_APP;
const SHOTS = path.join(import.meta.dirname, "screenshots");

const { tmp, env, remove } = scratch("compare");
const project = path.join(tmp, "lizzy");
let stop;
let browser;
const { byTestId, setValue, shot } = helpers(() => browser, SHOTS);

const grimoire = cliBeside(APP, env);

/** The text of each pane's reply in progress, and of its finished replies. */
async function panes() {
  return browser.execute(() =>
    [...document.querySelectorAll(".compare-pane")].map((p) => ({
      id: p.getAttribute("data-testid"),
      streaming: p.querySelector('[data-testid="pane-streaming"]')?.textContent ?? null,
      replies: p.querySelectorAll('[data-testid="pane-message-assistant"]').length,
    })),
  );
}

/** Sends one message and waits until both panes have their reply; true if both were seen filling at once. */
async function sendToBoth(text, replies) {
  await setValue("compare-input", text);
  await (await byTestId("compare-send")).click();
  let together = false;
  await browser.waitUntil(
    async () => {
      const now = await panes();
      if (now.length === 2 && now.every((p) => p.streaming && p.streaming.trim() && p.streaming !== "thinking…")) together = true;
      return now.length === 2 && now.every((p) => p.replies === replies && p.streaming === null);
    },
    { timeout: 180_000, interval: 100 },
  );
  return together;
}

describe("compare mode", { timeout: 500_000 }, () => {
  before(async () => {
    assert.ok(APP && fs.existsSync(APP), `GRIMOIRE_APP must name the built app (got ${APP})`);
    exportedProject(grimoire, project, tmp);
    grimoire("train", "--project", project, "--preset", "cpu-quick", "--steps", "2", "--epochs", "10", "--seq-len", "64", "--rank", "4", "--batch", "2");

    ({ browser, stop } = await openSession({ app: APP, env, args: [project] }));
  });

  after(async () => {
    await stop?.();
    remove();
  });

  it("sends one message to the base model and the run, both panes filling at once", async () => {
    await byTestId("project-name", 30_000);
    await (await byTestId("nav-chat")).click();
    await (await byTestId("chat-mode-compare")).click();
    const run = await byTestId("compare-run");
    await browser.waitUntil(async () => (await run.getValue()) !== "", { timeout: 30_000 });
    await setValue("compare-max-tokens", "48");
    const together = await sendToBoth("Tell me about your sisters.", 1);
    assert.ok(together, "the two replies did not stream at the same time");
    const [base, tuned] = await panes();
    assert.equal(base.id, "pane-base");
    assert.equal(tuned.id, "pane-tuned");
    await shot("panes");
  });

  it("hides which reply is which in blind mode and keeps the vote", async () => {
    await (await byTestId("compare-blind")).click();
    await (await byTestId("compare-send")).waitForDisplayed();
    await setValue("compare-max-tokens", "16");
    await sendToBoth("Do you like to dance?", 2);
    assert.deepEqual((await panes()).map((p) => p.id), ["pane-a", "pane-b"]);
    await (await byTestId("vote-a", 30_000)).click();
    await byTestId("compare-revealed");
    assert.match(await (await byTestId("compare-tally")).getText(), /tuned preferred [01] of 1/);
    await shot("blind");
    // A pick may also be a tie.
    await sendToBoth("Is Mr. Darcy proud?", 3);
    await (await byTestId("vote-tie", 30_000)).click();
    assert.match(await (await byTestId("compare-revealed")).getText(), /equally in character/);
    assert.match(await (await byTestId("compare-tally")).getText(), /tuned preferred [01] of 2 \(1 equal\)/);
  });

  it("keeps both sides of the exchange as conversations of the project", async () => {
    await (await byTestId("chat-mode-single")).click();
    const list = await byTestId("conversations");
    await browser.waitUntil(async () => (await list.$$("li")).length === 2, { timeout: 10_000, timeoutMsg: "the two sides were not saved as two conversations" });
    assert.match(await list.getText(), /Tell me about your sisters\./);
  });
});
