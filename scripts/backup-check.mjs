/**
 * `npm run backup:check`: the backup round trip, end to end, against a real `wrangler dev` on a
 * temporary state directory (the developer's own state is never touched). A message is sent and
 * delivered; `npm run backup` exports the D1; a later message is sent; `npm run restore` brings
 * the database back to the backup over the existing tables; the D1's files are then deleted
 * outright and the backup restored into the empty database, twice; the restarted server serves
 * the first message as it was, and the later one is gone. A file that is not an export is refused
 * before anything is touched. Exits 1 on any difference. Takes a minute or two (three server
 * starts), so it is not part of `npm test`; CI runs it (.ci/run).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  queryLocalD1,
  removeStateDir,
  startLocalServer,
  temporaryStateDir,
} from "./local-server.mjs";
import { ROOT } from "./seed.mjs";

const FINAL = ["delivered", "undelivered", "failed", "canceled", "expired"];
const VARS = { RECEIPT_DEADLINE_SECONDS: 5 };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one of the npm scripts' files as `npm run` would (same Node); resolves with its output. */
function runScript(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "scripts", script), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) {
        resolve(output);
      } else {
        reject(new Error(`${script} ${args.join(" ")} exited ${code}\n${output}`));
      }
    });
  });
}

async function send(server, body) {
  const response = await fetch(`${server.url}/v1/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ to: "+8613800138000", body }),
  });
  assert.equal(response.status, 202, await response.clone().text());
  return (await response.json()).id;
}

async function read(server, id) {
  const response = await fetch(`${server.url}/v1/messages/${id}`, {
    headers: { authorization: `Bearer ${server.apiKey}` },
  });
  return { status: response.status, message: response.ok ? await response.json() : undefined };
}

/** Waits for the sandbox's receipt, so the backup holds a settled message. */
async function final(server, id) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { message } = await read(server, id);
    if (message && FINAL.includes(message.status)) {
      return message;
    }
    await sleep(250);
  }
  throw new Error(`${id} not final after 30 s; see ${server.logFile}`);
}

async function messageIds(persistTo) {
  const rows = await queryLocalD1("SELECT id FROM messages ORDER BY id", { persistTo });
  return rows.map((row) => row.id);
}

function step(text) {
  console.log(`backup:check: ${text}`);
}

async function roundTrip(persistTo) {
  let server = await startLocalServer({ persistTo, vars: VARS });
  try {
    const kept = await send(server, "kept by the backup");
    const before = await final(server, kept);
    assert.equal(before.status, "delivered");
    await server.stop();
    server = undefined;
    step(`sent ${kept} (delivered)`);

    const backup = join(persistTo, "backups", "relaybox-check.sql");
    const output = await runScript("backup.mjs", ["--persist-to", persistTo, "--output", backup]);
    assert.match(output, /Backed up the local D1/);
    assert.ok(existsSync(backup));
    step(`backed up to ${backup}`);

    server = await startLocalServer({ persistTo, vars: VARS, prepare: false });
    const later = await send(server, "after the backup");
    await final(server, later);
    await server.stop();
    server = undefined;
    assert.deepEqual(await messageIds(persistTo), [kept, later].sort());
    step(`sent ${later} after the backup`);

    await runScript("restore.mjs", [backup, "--persist-to", persistTo]);
    assert.deepEqual(await messageIds(persistTo), [kept]);
    step("restored over the existing tables: only the backup's message is there");

    const d1Dir = join(persistTo, "v3", "d1");
    assert.ok(readdirSync(d1Dir).length > 0);
    rmSync(d1Dir, { recursive: true, force: true });
    const tables = await queryLocalD1(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'messages'",
      { persistTo },
    );
    assert.deepEqual(tables, []);
    step("wiped the local D1 (its files deleted)");
    await runScript("restore.mjs", [backup, "--persist-to", persistTo]);
    await runScript("restore.mjs", [backup, "--persist-to", persistTo]);
    step("restored into the empty database, twice");

    // The migrations it was taken at come back with it: nothing is left to apply.
    const migrations = readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql"));
    const applied = await queryLocalD1("SELECT name FROM d1_migrations", { persistTo });
    assert.equal(applied.length, migrations.length);

    server = await startLocalServer({ persistTo, vars: VARS, prepare: false });
    const after = await read(server, kept);
    assert.equal(after.status, 200);
    for (const field of ["status", "to", "body", "segments", "created_at"]) {
      assert.deepEqual(after.message[field], before[field], field);
    }
    assert.equal((await read(server, later)).status, 404);
    step(`the restarted server serves ${kept} as it was, and ${later} is gone`);
  } finally {
    await server?.stop();
  }
}

async function refusesNonExport() {
  const scratch = temporaryStateDir();
  try {
    await assert.rejects(
      runScript("restore.mjs", [join(ROOT, "package.json"), "--persist-to", scratch]),
      /does not look like a `wrangler d1 export`/,
    );
    assert.equal(existsSync(join(scratch, "v3", "d1")), false);
    step("a file that is not an export is refused before anything is touched");
  } finally {
    removeStateDir(scratch);
  }
}

async function main() {
  const started = Date.now();
  const persistTo = temporaryStateDir();
  let passed = false;
  try {
    await refusesNonExport();
    await roundTrip(persistTo);
    passed = true;
  } finally {
    if (passed) {
      removeStateDir(persistTo);
    } else {
      console.error(`backup:check: the state is kept in ${persistTo}`);
    }
  }
  console.log(`backup:check: passed in ${Math.round((Date.now() - started) / 1000)} s`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
