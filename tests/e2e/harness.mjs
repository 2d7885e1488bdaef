// What every WebDriver test file shares: waiting for tauri-driver, and the few element helpers.
// (Not a test file: node --test only runs *.test.mjs.)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * A scratch folder for one test file, with the app's own data and config folders inside it (so no
 * test touches the person's settings or another test's projects) and settings that point the model
 * folder at the built-in model the set-up installed (GRIMOIRE_MODEL_DIR). `env` runs the app there;
 * `extraEnv` is added to it.
 */
export function scratch(name, extraEnv = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `grimoire-e2e-${name}-`));
  const dataDir = path.join(tmp, "data");
  const configDir = path.join(tmp, "config");
  fs.mkdirSync(configDir, { recursive: true });
  const modelDir = process.env.GRIMOIRE_MODEL_DIR;
  if (modelDir) fs.writeFileSync(path.join(configDir, "settings.json"), JSON.stringify({ model_dir: modelDir }));
  const env = { ...process.env, GRIMOIRE_DATA_DIR: dataDir, GRIMOIRE_CONFIG_DIR: configDir, ...extraEnv };
  return { tmp, dataDir, configDir, env, remove: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}

/** Resolves once something listens on `port` on loopback, or rejects after `timeoutMs`. */
export function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.end();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`tauri-driver did not listen on ${port}`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

/** Element helpers over the session `current()` returns (it is created in `before`). */
export function helpers(current, shots) {
  async function byTestId(id, timeout = 15000) {
    const el = await current().$(`[data-testid="${id}"]`);
    await el.waitForDisplayed({ timeout });
    return el;
  }
  /**
   * Replaces the value of a field. A React field that re-renders between WebDriver's clear and its
   * typing gets its old value back and the keys appended to it ("20" and "1" made "201"), so this
   * checks the field and types again until it holds exactly `value`.
   */
  async function setValue(id, value) {
    const input = await byTestId(id);
    await current().waitUntil(
      async () => {
        await input.clearValue();
        await input.setValue(value);
        return (await input.getValue()) === String(value);
      },
      { timeout: 10000, interval: 300, timeoutMsg: `the field ${id} did not take the value ${value}` },
    );
  }
  async function shot(name) {
    fs.mkdirSync(shots, { recursive: true });
    await current().saveScreenshot(path.join(shots, `${name}.png`));
  }
  /** Waits until the jobs panel shows a completed job whose text includes `title`. */
  async function jobCompleted(title, timeout) {
    await current().waitUntil(
      async () => {
        for (const job of await current().$$('[data-testid="job"][data-status="completed"]')) {
          if ((await job.getText()).includes(title)) return true;
        }
        return false;
      },
      { timeout, timeoutMsg: `the job "${title}" did not complete` },
    );
  }
  /** Waits until the sample project is open and its book imported (the app's first run). */
  async function sampleOpened() {
    await byTestId("project-name", 30_000);
    await (await current().$('[data-testid="job"][data-status="completed"]')).waitForExist({ timeout: 30_000 });
  }
  return { byTestId, setValue, shot, jobCompleted, sampleOpened };
}

/**
 * Kills what is left of a session's app: a test that fails while the app is busy (a long generation)
 * can end with the app still running, holding the cores and Xvfb, through every later test file.
 * The app is known by the data folder in its environment. Linux only; elsewhere it does nothing.
 */
function killLeftovers(dataDir) {
  if (!dataDir || !fs.existsSync("/proc")) return;
  const marker = `GRIMOIRE_DATA_DIR=${dataDir}`;
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(marker)) process.kill(Number(pid), "SIGKILL");
    } catch {
      // Gone already, or not ours to read.
    }
  }
}

/**
 * Starts tauri-driver and a session of the app at `app` with `args`, in the environment `env`
 * (its own data and config folders). Returns `{ browser, stop }`.
 */
export async function openSession({ app, env, args = [], port = 4444 }) {
  const { spawn } = await import("node:child_process");
  const { remote } = await import("webdriverio");
  const driver = spawn("tauri-driver", ["--port", String(port)], { env, stdio: ["ignore", "inherit", "inherit"] });
  await waitForPort(port, 20_000);
  const browser = await remote({
    hostname: "127.0.0.1",
    port,
    logLevel: "error",
    capabilities: { "tauri:options": { application: app, args }, "wdio:enforceWebDriverClassic": true },
  });
  const stop = async () => {
    await browser.deleteSession().catch(() => undefined);
    driver.kill();
    killLeftovers(env.GRIMOIRE_DATA_DIR);
  };
  return { browser, stop };
}

/** Six of Elizabeth Bennet's exchanges, as Mistral JSONL lines. */
export const ELIZABETH_LINES = [
  ["How do you like Mr. Darcy?", "I could easily forgive his pride, if he had not mortified mine."],
  ["Will you dance, Miss Bennet?", "Indeed, sir, I have not the least intention of dancing."],
  ["What do you think of Mr. Collins?", "He is not a sensible man, and I cannot think well of him."],
  ["Is Jane well?", "Jane is very well, I thank you, and sends her love."],
  ["Do you walk every morning?", "I dearly love a walk before breakfast, whatever the weather."],
  ["Are you fond of reading?", "I am not a great reader, and I have pleasure in many things."],
].map(([q, a]) => JSON.stringify({ messages: [{ role: "user", content: q }, { role: "assistant", content: a }] }));

/**
 * Makes a project at `project` with those exchanges approved and exported, through the `grimoire`
 * CLI (`grimoire(...args)` runs it): what Review would have produced.
 */
export function exportedProject(grimoire, project, scratch) {
  const file = path.join(scratch, "lines.jsonl");
  fs.writeFileSync(file, ELIZABETH_LINES.join("\n"));
  grimoire("project", "new", project, "--persona", "Elizabeth Bennet");
  grimoire("import-jsonl", "--project", project, file);
  grimoire("review", "approve", "--project", project, "--all");
  grimoire("export", "--project", project, "--system", "You are Elizabeth Bennet.");
}

/**
 * The `grimoire` CLI built beside the app at `app` (or GRIMOIRE_CLI), as a function that runs it
 * with `args` in the environment `env` and returns its output; it fails at once when the CLI is
 * missing.
 */
export function cliBeside(app, env) {
  const cli = process.env.GRIMOIRE_CLI ?? (app ? path.join(path.dirname(app), "grimoire") : undefined);
  return function grimoire(...args) {
    if (!cli || !fs.existsSync(cli)) throw new Error(`the grimoire CLI must be built beside the app (got ${cli})`);
    return execFileSync(cli, args, { env, encoding: "utf8" });
  };
}
