// What every WebDriver test file shares: waiting for tauri-driver, and the few element helpers.
// (Not a test file: node --test only runs *.test.mjs.)
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

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
  async function setValue(id, value) {
    const input = await byTestId(id);
    await input.clearValue();
    await input.setValue(value);
  }
  async function shot(name) {
    fs.mkdirSync(shots, { recursive: true });
    await current().saveScreenshot(path.join(shots, `${name}.png`));
  }
  return { byTestId, setValue, shot };
}
