/**
 * What the bench scripts share: options, the bench tenants' seed, a small HTTP client with
 * bounded retries, paging through the send log, recipients, Markdown and the results file.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { newApiKey, ROOT, tenantSql } from "../../scripts/seed.mjs";

const require = createRequire(import.meta.url);
export const BENCH_DIR = join(ROOT, "test", "bench");
export const RESULTS_FILE = join(BENCH_DIR, "RESULTS.md");

export const FINAL_STATUSES = ["delivered", "undelivered", "failed", "canceled", "expired"];
export const OPEN_STATUSES = ["scheduled", "queued", "sending", "sent"];

/** Per-key request limits for bench keys: far above anything one machine can send. */
export const BENCH_KEY_LIMIT = { perSecond: 1_000_000, burst: 2_000_000 };

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads one option: the command-line flag (`values` from parseArgs), else the environment
 * variable, else the fallback. Numbers are checked.
 */
export function option(values, flag, variable, fallback) {
  const value = values[flag] ?? process.env[variable];
  if (value === undefined || value === "") {
    return fallback;
  }
  if (typeof fallback === "number") {
    const number = Number(value);
    if (!Number.isFinite(number) || number < 0) {
      throw new Error(`--${flag} / ${variable} must be a non-negative number, not ${value}`);
    }
    return number;
  }
  return value;
}

/** What `wrangler dev` builds a Worker from. */
const SOURCE_PATHS = ["wrangler.toml", "tsconfig.json", "package.json", "src", "migrations"];

function git(...args) {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/**
 * Copies what `wrangler dev` builds from (wrangler.toml, tsconfig.json, package.json, src/,
 * migrations/) to a new temporary directory, with a symlink to the repository's node_modules, and
 * returns it with the commit it came from and a `remove()`. Every bench server runs there:
 * wrangler's file watcher reloads the Worker whenever src/ changes, and a reload mid-run drops
 * in-flight work (the local queue's contents, pending sandbox receipts), so edits made to the
 * repository while the bench runs must not reach the servers. (Outside the repository, so that
 * the copy never meets the type checker or the linter.)
 */
export function snapshotSource() {
  const dir = mkdtempSync(join(tmpdir(), "relaybox-bench-source-"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  for (const name of SOURCE_PATHS) {
    if (existsSync(join(ROOT, name))) {
      cpSync(join(ROOT, name), join(dir, name), { recursive: true });
    }
  }
  const commit = git("rev-parse", "--short", "HEAD") || "unknown";
  const dirty = git("status", "--porcelain", "--", "src", "migrations", "wrangler.toml") !== "";
  return { dir, commit, dirty, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Like `snapshotSource`, but the sources of the commit `ref` names (`git archive`), for comparing
 * against a baseline. src/static/docs (Swagger UI's files, which postinstall copies and git
 * ignores) is copied from the working tree, so both Workers serve the same assets.
 */
export function snapshotRef(ref) {
  const full = git("rev-parse", "--verify", "--quiet", `${ref}^{commit}`);
  if (!full) {
    throw new Error(`--baseline ${ref} names no commit in this repository`);
  }
  const dir = mkdtempSync(join(tmpdir(), "relaybox-bench-baseline-"));
  try {
    // An older commit may lack one of them; `git archive` refuses a path that is not there.
    const paths = SOURCE_PATHS.filter((name) => git("cat-file", "-t", `${full}:${name}`) !== "");
    const archive = execFileSync("git", ["archive", "--format=tar", full, "--", ...paths], {
      cwd: ROOT,
      maxBuffer: 1024 ** 3,
    });
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
    const docs = join("src", "static", "docs");
    if (existsSync(join(ROOT, docs)) && !existsSync(join(dir, docs))) {
      cpSync(join(ROOT, docs), join(dir, docs), { recursive: true });
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const commit = git("rev-parse", "--short", full);
  return { dir, ref, commit, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether the schema has migration 0002's per-key limit columns. */
export function hasKeyRateLimitColumns(root = ROOT) {
  const dir = join(root, "migrations");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .some((name) => readFileSync(join(dir, name), "utf8").includes("rate_limit_per_second"));
}

/**
 * `count` bench tenants (`tnt_bench_<prefix>01`…), each with one key (`keyMode`) that has every
 * scope and a per-key limit the bench cannot reach, a live `adminKey` to set the tenant up (test
 * keys cannot change configuration), and sandbox provider settings. Returns them and their SQL.
 */
export function benchTenants(count, { prefix = "", sendRate, root = ROOT, keyMode = "test" }) {
  const keyRateLimit = hasKeyRateLimitColumns(root) ? BENCH_KEY_LIMIT : undefined;
  const tenants = [];
  const statements = [];
  for (let i = 1; i <= count; i++) {
    const tenantId = `tnt_bench_${prefix}${String(i).padStart(2, "0")}`;
    const apiKey = newApiKey(keyMode);
    const adminKey = newApiKey("live");
    tenants.push({ tenantId, apiKey, adminKey });
    statements.push(tenantSql({ tenantId, apiKey, adminKey, sendRate, keyRateLimit }));
  }
  return { tenants, sql: statements.join("\n"), keyRateLimit };
}

/**
 * A valid CN mobile per `n` (+86 138 and 8 digits), never ending 0000, 0001 or 0002 (the sandbox's
 * failing, retried and receipt-less numbers): the last four digits run 1000–9999.
 */
export function recipient(n) {
  const head = Math.floor(n / 9000) % 10_000;
  const tail = 1000 + (n % 9000);
  return `+86138${String(head).padStart(4, "0")}${tail}`;
}

/**
 * One HTTP request with a JSON body; resolves `{status, body, error}` and never throws
 * (`status` 0 with `error` for a connection failure or a timeout).
 */
export async function call(server, method, path, { key, json, timeoutMs = 15_000 } = {}) {
  const headers = {};
  if (key) {
    headers.authorization = `Bearer ${key}`;
  }
  if (json !== undefined) {
    headers["content-type"] = "application/json";
  }
  try {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: response.status, body };
  } catch (error) {
    return { status: 0, body: null, error: error?.cause?.code ?? error?.name ?? String(error) };
  }
}

/** Like `call`, but a non-2xx answer is an error. */
export async function must(server, method, path, options) {
  const result = await call(server, method, path, options);
  if (result.status < 200 || result.status > 299) {
    const detail = result.error ?? JSON.stringify(result.body)?.slice(0, 300);
    throw new Error(`${method} ${path} answered ${result.status}: ${detail}`);
  }
  return result.body;
}

/** Sets the tenant's send rate through `PATCH /v1/tenant` and checks it with `GET`. */
export async function setSendRate(server, key, sendRate) {
  await must(server, "PATCH", "/v1/tenant", { key, json: { send_rate: sendRate } });
  const tenant = await must(server, "GET", "/v1/tenant", { key });
  if (tenant.send_rate !== sendRate) {
    throw new Error(`PATCH /v1/tenant send_rate ${sendRate}, but GET answers ${tenant.send_rate}`);
  }
}

/**
 * Every message of the key's tenant (optionally with one status), newest first, through
 * `GET /v1/messages`. Bounded by `maxPages` pages of 100.
 */
export async function listAll(server, key, { status, maxPages = 1000 } = {}) {
  const rows = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page++) {
    const query = new URLSearchParams({ limit: "100" });
    if (status) {
      query.set("status", status);
    }
    if (cursor) {
      query.set("cursor", cursor);
    }
    const body = await must(server, "GET", `/v1/messages?${query}`, { key, timeoutMs: 30_000 });
    rows.push(...body.data);
    cursor = body.next_cursor;
    if (!cursor) {
      return rows;
    }
  }
  throw new Error(`more than ${maxPages} pages of messages`);
}

/** Whether the tenant has any message in the D1 send log that is not final yet. */
export async function hasOpenMessages(server, key) {
  for (const status of OPEN_STATUSES) {
    const body = await must(server, "GET", `/v1/messages?limit=1&status=${status}`, { key });
    if (body.data.length > 0) {
      return true;
    }
  }
  return false;
}

/**
 * Waits until none of the tenants has an open message in two polls a second apart, at most
 * `timeoutMs`. Resolves the seconds it took, or null on time-out. Messages still only in a
 * dispatcher's outbox are not in the send log yet, so the second poll is what catches them.
 */
export async function waitForQuiet(server, keys, timeoutMs) {
  const started = Date.now();
  let quietPolls = 0;
  while (Date.now() - started < timeoutMs) {
    let open = false;
    for (const key of keys) {
      if (await hasOpenMessages(server, key)) {
        open = true;
        break;
      }
    }
    quietPolls = open ? 0 : quietPolls + 1;
    if (quietPolls >= 2) {
      return (Date.now() - started) / 1000;
    }
    await sleep(1000);
  }
  return null;
}

/** Runs `work(i)` for i in 0..count-1 on `size` concurrent workers, stopping early at `until`. */
export async function pool(count, size, work, { until = Number.POSITIVE_INFINITY } = {}) {
  let next = 0;
  async function worker() {
    while (next < count && Date.now() < until) {
      const index = next++;
      await work(index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(size, count) }, worker));
}

/** Columns padded the way Biome formats Markdown tables. */
export function markdownTable(header, rows) {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  const [head, ...body] = cells;
  return [line(head), rule, ...body.map(line)].join("\n");
}

export function format(number, digits = 1) {
  return Number.isFinite(number) ? number.toFixed(digits) : "n/a";
}

export function passFail(ok) {
  return ok ? "**PASS**" : "**FAIL**";
}

export function configuredLogLevel() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  return /^LOG_LEVEL\s*=\s*"([^"]*)"/m.exec(toml)?.[1] ?? "unset";
}

/** The machine and tool versions, for the results file. */
export function machine() {
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model ?? "unknown CPU",
    cores: cpuList.length,
    memoryGiB: totalmem() / 2 ** 30,
    load: loadavg(),
    node: process.version,
    wrangler: require("wrangler/package.json").version,
    autocannon: require("autocannon/package.json").version,
  };
}

export function loadLine(load = loadavg()) {
  return `load average ${load.map((l) => format(l, 2)).join(" / ")} (1 / 5 / 15 min)`;
}

/**
 * CPU seconds (user + system) each `workerd` process of a server (`group`: the process group
 * `startLocalServer` started, which is its pid) has used so far, by pid, from /proc (Linux only;
 * empty elsewhere). Sampled around a run, the difference is what the run cost the server: a figure
 * other work on the machine disturbs less than it does throughput and latency.
 */
export function workerdCpuSeconds(group) {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const usage = new Map();
  let entries = [];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return usage;
  }
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      if (stat.slice(stat.indexOf("(") + 1, close) !== "workerd") {
        continue;
      }
      // The fields after the command, from field 3 (state): pgrp is field 5, utime 14, stime 15.
      const fields = stat.slice(close + 2).split(" ");
      if (Number(fields[2]) !== group) {
        continue;
      }
      usage.set(pid, (Number(fields[11]) + Number(fields[12])) / ticksPerSecond);
    } catch {
      // The process ended meanwhile.
    }
  }
  return usage;
}

/** Percentile (0–100) of a sorted numeric array, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** The results file's sections, in order; `counts` is the lead's and never written here. */
const SECTIONS = [
  "setup",
  "ratios",
  "profile",
  "compare",
  "counts",
  "crash",
  "shards",
  "drain",
  "batch",
  "chaos",
  "inbound",
  "verify",
  "desk",
  "export",
  "stats",
  "segments",
  "matcher",
  "model",
];

const PLACEHOLDER = {
  counts: `## Operations per request

(Counts of D1 queries, Durable Object RPCs and storage operations per \`POST /v1/messages\` go
here; the bench scripts leave everything between these markers alone.)`,
};

function marker(name, edge) {
  return `<!-- ${name}:${edge} -->`;
}

function readSections(text) {
  const found = {};
  for (const name of SECTIONS) {
    const start = text.indexOf(marker(name, "start"));
    const end = text.indexOf(marker(name, "end"));
    if (start !== -1 && end > start) {
      found[name] = text.slice(start + marker(name, "start").length, end).trim();
    }
  }
  return found;
}

/**
 * Rewrites RESULTS.md with the given sections (Markdown bodies by name) and keeps every other
 * section as it was, so a partial run (`--only drain`) refreshes its own part only.
 */
export function updateResults(updates) {
  const existing = existsSync(RESULTS_FILE) ? readSections(readFileSync(RESULTS_FILE, "utf8")) : {};
  const parts = [
    "# Benchmark results",
    "",
    "Written by `npm run bench` (test/bench/run.mjs), section by section: a partial run",
    "(`--only …`) rewrites its own sections and keeps the others, each with its own date and",
    "machine load. Local numbers compare code paths on one machine (workerd simulates D1, Durable",
    "Objects and Queues on disk); they say nothing about Cloudflare's network.",
  ];
  for (const name of SECTIONS) {
    const body =
      name === "counts"
        ? (existing.counts ?? PLACEHOLDER.counts)
        : (updates[name] ?? existing[name] ?? null);
    if (body === null) {
      continue;
    }
    parts.push("", marker(name, "start"), "", body.trim(), "", marker(name, "end"));
  }
  writeFileSync(RESULTS_FILE, `${parts.join("\n")}\n`);
}

export { ROOT };
