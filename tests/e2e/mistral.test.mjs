// Fine-tuning on Mistral from the Train workspace of the real Grimoire window, against a fake Mistral
// API on loopback written here (files, fine-tuning jobs with their status walk, events and
// checkpoints): the data is checked and the cost estimated before anything is sent, then the job is
// created, followed to SUCCESS with its curve, and its tuned model named.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { cliBeside, exportedProject, helpers, openSession, scratch } from "./harness.mjs";

const APP = process.env.GRIMOIRE_APP;
const SHOTS = path.join(import.meta.dirname, "screenshots");
const KEY = "e2e-secret-key";

const { tmp, env, remove } = scratch("mistral", { GRIMOIRE_TEACHER_MISTRAL_KEY: KEY });
const project = path.join(tmp, "lizzy");
let stop;
let browser;
const { byTestId, setValue, shot, jobCompleted } = helpers(() => browser, SHOTS);

const grimoire = cliBeside(APP, env);

/** What the fake Mistral API saw and holds. */
const fake = { requests: [], files: new Map(), jobs: new Map() };

function reply(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Each read of a job moves it one status on and records what Mistral would: events, checkpoints. */
function advance(job) {
  if (job.stage + 1 < job.plan.length) job.stage += 1;
  const status = job.plan[job.stage];
  if (job.body.status !== status) {
    job.body.status = status;
    job.events.push({ name: "status-updated", data: { status }, created_at: 1_700_000_000 + job.stage });
  }
  if (status === "RUNNING") {
    const step = job.checkpoints.length + 1;
    job.checkpoints.push({ metrics: { train_loss: 2 / step, valid_loss: 2.2 / step }, step_number: step * 10, created_at: 1_700_000_200 + step });
  }
  if (status === "SUCCESS") job.body.fine_tuned_model = `ft:open-mistral-7b:e2e:${job.body.suffix ?? "x"}`;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    fake.requests.push({ method: req.method, url: req.url, auth: req.headers.authorization, raw });
    if (req.headers.authorization !== `Bearer ${KEY}`) return reply(res, 401, { message: "Unauthorized" });
    const parts = req.url.split("?")[0].replace(/^\/v1\//, "").split("/");
    if (req.method === "GET" && parts[0] === "models") return reply(res, 200, { object: "list", data: [{ id: "open-mistral-7b", object: "model" }] });
    if (req.method === "POST" && parts[0] === "files") {
      const id = `file-${fake.files.size + 1}`;
      fake.files.set(id, raw);
      return reply(res, 200, { id, object: "file", bytes: raw.length, filename: "train.jsonl", purpose: "fine-tune" });
    }
    if (parts[0] !== "fine_tuning" || parts[1] !== "jobs") return reply(res, 404, { message: "Not found" });
    if (req.method === "POST" && parts.length === 2) {
      const body = JSON.parse(raw);
      const id = `job-${fake.jobs.size + 1}`;
      const job = {
        stage: 0,
        plan: body.auto_start ? ["QUEUED", "VALIDATING", "VALIDATED", "RUNNING", "RUNNING", "SUCCESS"] : ["QUEUED", "VALIDATING", "VALIDATED"],
        events: [{ name: "status-updated", data: { status: "QUEUED" }, created_at: 1_700_000_000 }],
        checkpoints: [],
        body: {
          id, object: "job", model: body.model, status: "QUEUED", auto_start: !!body.auto_start, suffix: body.suffix ?? null,
          training_files: body.training_files.map((f) => f.file_id), validation_files: body.validation_files ?? [],
          hyperparameters: body.hyperparameters, fine_tuned_model: null, created_at: 1_700_000_000, modified_at: 1_700_000_000,
        },
      };
      fake.jobs.set(id, job);
      return reply(res, 200, job.body);
    }
    if (req.method === "GET" && parts.length === 2) return reply(res, 200, { object: "list", data: [...fake.jobs.values()].map((j) => j.body), total: fake.jobs.size });
    const job = fake.jobs.get(parts[2]);
    if (!job) return reply(res, 404, { message: "No such job" });
    if (req.method === "GET") advance(job);
    else if (req.method === "POST" && parts[3] === "start") job.plan.push("STARTED", "RUNNING", "SUCCESS");
    else if (req.method === "POST" && parts[3] === "cancel") job.plan.splice(job.stage + 1, Infinity, "CANCELLATION_REQUESTED", "CANCELLED");
    else return reply(res, 404, { message: "Not found" });
    return reply(res, 200, { ...job.body, events: job.events, checkpoints: job.checkpoints });
  });
});

describe("fine-tuning on Mistral in the Grimoire window", { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(APP && fs.existsSync(APP), `GRIMOIRE_APP must name the built app (got ${APP})`);
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${server.address().port}/v1`;
    grimoire("teachers", "add", "mistral", "--kind", "mistral", "--base-url", base, "--model", "mistral-small-latest");
    exportedProject(grimoire, project, tmp);
    ({ browser, stop } = await openSession({ app: APP, env, args: [project] }));
  });

  after(async () => {
    await stop?.();
    server.close();
    remove();
  });

  it("checks the data and shows the estimated cost before anything is sent", async () => {
    await byTestId("project-name", 30_000);
    await (await byTestId("nav-train")).click();
    await (await byTestId("mistral-new")).click();
    await byTestId("mistral-form");
    await setValue("mistral-model", "open-mistral-7b");
    await setValue("mistral-suffix", "lizzy");
    if (!(await (await byTestId("mistral-auto-start")).isSelected())) await (await byTestId("mistral-auto-start")).click();
    assert.equal(await (await byTestId("mistral-create")).isEnabled(), false, "create is enabled before an estimate");
    await (await byTestId("mistral-estimate")).click();
    const result = await byTestId("mistral-estimate-result", 30_000);
    assert.equal(await result.getAttribute("data-ready"), "true", await result.getText());
    assert.match(await (await byTestId("mistral-cost")).getText(), /\$|USD/);
    assert.equal(fake.requests.filter((r) => r.url.startsWith("/v1/files") || r.url.startsWith("/v1/fine_tuning")).length, 0, "something was sent before Create");
    await shot("mistral-estimate");
  });

  it("uploads, creates the job, follows it to SUCCESS with its curve, and names the tuned model", async () => {
    await (await byTestId("mistral-create")).click();
    const row = await browser.$('[data-testid="mistral-job-row"]');
    await row.waitForExist({ timeout: 30_000 });
    // The exported training file arrived as it is on disk, with the key as a bearer token only.
    const exported = fs.readdirSync(path.join(project, "exports"), { recursive: true }).filter((f) => f.endsWith("train.jsonl"));
    assert.equal(exported.length, 1, `one export expected, found ${exported}`);
    const train = fs.readFileSync(path.join(project, "exports", exported[0]), "utf8");
    assert.ok([...fake.files.values()].some((raw) => raw.includes(train.trim())), "train.jsonl did not arrive whole");
    const create = JSON.parse(fake.requests.find((r) => r.method === "POST" && r.url === "/v1/fine_tuning/jobs").raw);
    assert.equal(create.model, "open-mistral-7b");
    assert.equal(create.suffix, "lizzy");
    assert.equal(create.auto_start, true);
    // A new job is the selected one.
    const job = await byTestId("mistral-job");
    await browser.waitUntil(
      async () => {
        if ((await job.getAttribute("data-status")) === "SUCCESS") return true;
        const check = await browser.$('[data-testid="mistral-check"]');
        if (await check.isExisting()) await check.click();
        return false;
      },
      { timeout: 60_000, interval: 1000, timeoutMsg: "the job did not reach SUCCESS" },
    );
    assert.match(await (await byTestId("mistral-tuned")).getText(), /ft:open-mistral-7b:e2e:lizzy/);
    // The local job that follows it ends with it, without waiting for its next 30-second poll.
    await jobCompleted("Mistral fine-tuning", 15_000);
    assert.match(await (await byTestId("mistral-events")).getText(), /RUNNING|running/i);
    await (await browser.$('[data-testid="mistral-job"] canvas')).waitForExist({ timeout: 10_000 });
    await shot("mistral-job");
    // The key travelled only in the Authorization header, never into the project.
    const grep = spawnSync("grep", ["-rl", KEY, project], { encoding: "utf8" });
    assert.equal(grep.stdout.trim(), "", "the key was written into the project");
  });
});
