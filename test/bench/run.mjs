/**
 * `npm run bench`: what accepting a message costs, whether load survives a crash, and whether the
 * dispatcher drains at its tenant's rate. Sections, in order (select with `--only` / `--skip`):
 *   ratios   one server, fresh state: POST /noop, then POST /v1/messages for 1 tenant and spread
 *            over 10 tenants (a key per request, round-robin), each after a warm-up; only 202s
 *            count; any other status (429, 5xx…), connection error or time-out fails the run.
 *            Targets: send throughput ≥ 0.40 × no-op's, send p99 ≤ 2.0 × no-op's.
 *   profile  on the same server, a CPU profile of the Worker under POST /v1/messages load,
 *            through wrangler dev's inspector (profile.mjs); the whole profile is written to
 *            test/bench/tmp/profile-messages.cpuprofile
 *   crash    load sent through a fake carrier outside the Worker, SIGKILL mid-burst, restart:
 *            every 202 must read back final, every carrier acceptance must have its recorded
 *            attempt, none sent twice, no claim without its attempt (crash-load.mjs)
 *   drain    20,000 messages accepted while paused, then released at 1,000 msg/s: the rate the
 *            sandbox saw and each recipient's order, for two acceptance orders (drain.mjs)
 *   batch    one CSV batch to many recipients: its 202 and the drain rate (batch.mjs)
 *   chaos    two flaky fake carriers with failover; the same carrier checks as crash (chaos.mjs)
 * Writes test/bench/RESULTS.md (only the sections that ran). Exits 1 if anything failed.
 *
 * Options (flag, or environment variable; defaults in brackets):
 *   --only / BENCH_ONLY, --skip / BENCH_SKIP   comma-separated section names
 *   --connections / BENCH_CONNECTIONS [50]     --duration / BENCH_DURATION [20] s per measurement
 *   --warmup / BENCH_WARMUP [3] s              --tenants / BENCH_TENANTS [10]
 *   --send-rate / BENCH_SEND_RATE [5000]       bench tenants' release rate, msg/s
 *   --settle-timeout / BENCH_SETTLE_TIMEOUT [120] s to wait for a backlog between measurements
 *   --profile-seconds / BENCH_PROFILE_SECONDS [10]
 *   --profile-tenants / BENCH_PROFILE_TENANTS [1]   profile the 1-tenant load, or (any other
 *            number) the load spread over the --tenants tenants
 *   --crash-duration / BENCH_CRASH_DURATION [20] s   --crash-kill-at / BENCH_CRASH_KILL_AT [10] s
 *   --crash-settle-timeout / BENCH_CRASH_SETTLE_TIMEOUT [180] s
 *   --drain-rate / BENCH_DRAIN_RATE [1000]     --drain-recipients / BENCH_DRAIN_RECIPIENTS [2000]
 *   --drain-per-recipient / BENCH_DRAIN_PER_RECIPIENT [10]
 *   --drain-concurrency / BENCH_DRAIN_CONCURRENCY [50]
 *   --batch-recipients / BENCH_BATCH_RECIPIENTS [100000]   --batch-rate / BENCH_BATCH_RATE [1000]
 *   --batch-profile / BENCH_BATCH_PROFILE [0]   1: profile the batch's POST (batch.mjs)
 *   --chaos-messages / BENCH_CHAOS_MESSAGES [5000]   messages the chaos run sends
 *   --drain-order / BENCH_DRAIN_ORDER [both]   how each recipient's messages are accepted, one
 *            drain run each: grouped (a client sends one recipient's messages, then the next
 *            recipient's), interleaved (every recipient's 1st message, then every 2nd, …), both
 *   --log-level / BENCH_LOG_LEVEL              the Worker's LOG_LEVEL var [wrangler.toml's]
 *   --wrangler-log-level / BENCH_WRANGLER_LOG_LEVEL   wrangler's --log-level [info]
 * e.g. a quick look: `npm run bench -- --duration 5 --warmup 1 --only ratios`.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { freePort, startLocalServer } from "../../scripts/local-server.mjs";
import { runBatch } from "./batch.mjs";
import { runChaos } from "./chaos.mjs";
import { runCrash } from "./crash-load.mjs";
import { drainIntro, runDrain } from "./drain.mjs";
import {
  BENCH_DIR,
  benchTenants,
  configuredLogLevel,
  format,
  listAll,
  loadLine,
  machine,
  markdownTable,
  must,
  option,
  passFail,
  recipient,
  setSendRate,
  snapshotSource,
  updateResults,
  waitForQuiet,
  workerdCpuSeconds,
} from "./lib.mjs";
import { profileWorker } from "./profile.mjs";

const SECTIONS = ["ratios", "profile", "crash", "drain", "batch", "chaos", "segments", "matcher"];
/** In-process micro-benchmarks of our domain code against libraries (no server). */
const MICRO_BENCHES = {
  segments: async () => (await import("./segments.mjs")).runSegmentsBench(),
  matcher: async () => (await import("./matcher.mjs")).runMatcherBench(),
};
const TARGET_THROUGHPUT = 0.4;
const TARGET_P99 = 2.0;

const NUMBER_OPTIONS = {
  connections: ["BENCH_CONNECTIONS", 50],
  duration: ["BENCH_DURATION", 20],
  warmup: ["BENCH_WARMUP", 3],
  tenants: ["BENCH_TENANTS", 10],
  "send-rate": ["BENCH_SEND_RATE", 5000],
  "settle-timeout": ["BENCH_SETTLE_TIMEOUT", 120],
  "profile-seconds": ["BENCH_PROFILE_SECONDS", 10],
  "profile-tenants": ["BENCH_PROFILE_TENANTS", 1],
  "crash-duration": ["BENCH_CRASH_DURATION", 20],
  "crash-kill-at": ["BENCH_CRASH_KILL_AT", 10],
  "crash-settle-timeout": ["BENCH_CRASH_SETTLE_TIMEOUT", 180],
  "drain-rate": ["BENCH_DRAIN_RATE", 1000],
  "drain-recipients": ["BENCH_DRAIN_RECIPIENTS", 2000],
  "drain-per-recipient": ["BENCH_DRAIN_PER_RECIPIENT", 10],
  "drain-concurrency": ["BENCH_DRAIN_CONCURRENCY", 50],
  "batch-recipients": ["BENCH_BATCH_RECIPIENTS", 100_000],
  "batch-rate": ["BENCH_BATCH_RATE", 1000],
  "batch-profile": ["BENCH_BATCH_PROFILE", 0],
  "chaos-messages": ["BENCH_CHAOS_MESSAGES", 5000],
};
const STRING_OPTIONS = {
  only: ["BENCH_ONLY", ""],
  skip: ["BENCH_SKIP", ""],
  "drain-order": ["BENCH_DRAIN_ORDER", "both"],
  "log-level": ["BENCH_LOG_LEVEL", ""],
  "wrangler-log-level": ["BENCH_WRANGLER_LOG_LEVEL", "info"],
};

function readSettings() {
  const { values } = parseArgs({
    options: Object.fromEntries(
      [...Object.keys(NUMBER_OPTIONS), ...Object.keys(STRING_OPTIONS)].map((name) => [
        name,
        { type: "string" },
      ]),
    ),
  });
  const settings = {};
  for (const [name, [variable, fallback]] of Object.entries({
    ...NUMBER_OPTIONS,
    ...STRING_OPTIONS,
  })) {
    const camel = name.replace(/-(.)/g, (_, c) => c.toUpperCase());
    settings[camel] = option(values, name, variable, fallback);
  }
  const list = (text) =>
    text
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const only = list(settings.only);
  const skip = list(settings.skip);
  for (const name of [...only, ...skip]) {
    if (!SECTIONS.includes(name)) {
      throw new Error(`unknown section ${name}; sections: ${SECTIONS.join(", ")}`);
    }
  }
  settings.sections = SECTIONS.filter(
    (name) => (only.length === 0 || only.includes(name)) && !skip.includes(name),
  );
  if (!["both", "grouped", "interleaved"].includes(settings.drainOrder)) {
    throw new Error(
      `--drain-order must be both, grouped or interleaved, not ${settings.drainOrder}`,
    );
  }
  settings.logLevel = settings.logLevel || undefined;
  settings.vars = settings.logLevel ? { LOG_LEVEL: settings.logLevel } : {};
  settings.workerLogLevel = settings.logLevel ?? `${configuredLogLevel()} (wrangler.toml)`;
  return settings;
}

const BODY = "Your Relaybox code is 482913";
let sequence = 0;

/** One autocannon run; for the send path each request takes the next key round-robin. */
function load(server, { path, keys, connections, seconds }) {
  let request = 0;
  return autocannon({
    url: `${server.url}${path}`,
    method: "POST",
    connections,
    duration: seconds,
    // Latency percentiles then describe successful responses only; failures are counted apart.
    excludeErrorStats: true,
    headers: { "content-type": "application/json" },
    requests: [
      {
        setupRequest: (req) => {
          const key = keys[request++ % keys.length];
          sequence += 1;
          return {
            ...req,
            headers: { ...req.headers, authorization: `Bearer ${key}` },
            body: JSON.stringify({ to: recipient(sequence), body: BODY }),
          };
        },
      },
    ],
  });
}

function summarise(name, result) {
  const accepted = result.statusCodeStats["202"]?.count ?? 0;
  const others = Object.entries(result.statusCodeStats)
    .filter(([code]) => code !== "202")
    .map(([code, stats]) => ({ code: Number(code), count: stats.count }));
  return {
    name,
    seconds: result.duration,
    accepted,
    perSecond: accepted / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    others,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** Why a load run is not valid: any status but 202, any connection error or time-out. */
function problemsOf(run) {
  const problems = [];
  for (const { code, count } of run.others) {
    const kind =
      code === 429 ? "429 (rate limited)" : code >= 500 ? `${code} (server error)` : code;
    problems.push(`${run.name}: ${count} × ${kind}`);
  }
  if (run.errors > 0) {
    problems.push(`${run.name}: ${run.errors} connection errors`);
  }
  if (run.timeouts > 0) {
    problems.push(`${run.name}: ${run.timeouts} time-outs`);
  }
  if (run.accepted === 0) {
    problems.push(`${run.name}: no 202 at all`);
  }
  return problems;
}

async function measure(server, name, target, settings, problems) {
  const options = { ...target, connections: settings.connections };
  if (settings.warmup > 0) {
    console.log(`${name}: warm-up ${settings.warmup} s`);
    const warm = summarise(
      `${name} (warm-up)`,
      await load(server, { ...options, seconds: settings.warmup }),
    );
    problems.push(...problemsOf(warm).filter((p) => !p.endsWith("no 202 at all")));
  }
  console.log(`${name}: ${settings.duration} s, ${settings.connections} connections`);
  const cpuBefore = workerdCpuSeconds(server.pid);
  const run = summarise(name, await load(server, { ...options, seconds: settings.duration }));
  const cpuAfter = workerdCpuSeconds(server.pid);
  // Per process, busiest first: the Worker's own workerd, then wrangler's proxy in front of it.
  run.cpuMsPer202 = [...cpuAfter]
    .map(([pid, seconds]) => ((seconds - (cpuBefore.get(pid) ?? 0)) * 1000) / run.accepted)
    .sort((a, b) => b - a);
  problems.push(...problemsOf(run));
  console.log(
    `${name}: ${format(run.perSecond)} 202/s, p50 ${run.p50} ms, p99 ${run.p99} ms; workerd CPU per 202: ${run.cpuMsPer202.map((ms) => `${format(ms, 2)} ms`).join(" + ")}`,
  );
  return run;
}

async function settle(server, keys, settings, label) {
  console.log(`${label}: waiting for the backlog to drain (≤ ${settings.settleTimeout} s)`);
  const seconds = await waitForQuiet(server, keys, settings.settleTimeout * 1000);
  console.log(`${label}: ${seconds === null ? "still busy" : `quiet after ${format(seconds)} s`}`);
  return seconds;
}

function ratiosMarkdown(
  settings,
  runs,
  settleTimes,
  ratios,
  problems,
  before,
  keyLimit,
  notDelivered,
) {
  const [, solo, multi] = runs;
  const row = (r) => [
    r.name,
    format(r.perSecond),
    r.p50,
    r.p99,
    r.accepted,
    r.others.map((o) => `${o.code}×${o.count}`).join(", ") || "none",
    r.errors,
    r.timeouts,
    r.cpuMsPer202.map((ms) => format(ms, 2)).join(" + ") || "—",
  ];
  const table = markdownTable(
    [
      "run",
      "202/s",
      "p50 ms",
      "p99 ms",
      "202s",
      "other statuses",
      "errors",
      "timeouts",
      "workerd CPU ms per 202",
    ],
    runs.map(row),
  );
  const ratioRows = [solo, multi].map((run, i) => [
    run.name,
    format(ratios[i].throughput, 2),
    `${passFail(ratios[i].throughput >= TARGET_THROUGHPUT)} (≥ ${format(TARGET_THROUGHPUT, 2)})`,
    format(ratios[i].p99, 2),
    `${passFail(ratios[i].p99 <= TARGET_P99)} (≤ ${format(TARGET_P99, 2)})`,
  ]);
  const ratioTable = markdownTable(
    ["send run", "throughput / noop", "target", "p99 / noop", "target"],
    ratioRows,
  );
  const settleText = settleTimes
    .map(({ name, seconds }) =>
      seconds === null
        ? `${name}: still not drained after ${settings.settleTimeout} s`
        : `${name}: ${format(seconds)} s`,
    )
    .join("; ");
  return `## 1. Send path against the no-op route

- Run: ${before.at}, ${loadLine(before.load)} before the run
- Load: autocannon, ${settings.connections} connections, ${settings.duration} s per run after ${settings.warmup} s of warm-up (same connections, not counted), one \`wrangler dev\` with fresh state for all three runs
- Requests: the same JSON body everywhere (\`{"to", "body"}\`, ${BODY.length} characters of text), a different recipient per request (+86 138…, never a sandbox special ending); \`POST /noop\` runs the global middleware only
- Tenants: 1 tenant for "1 tenant"; ${settings.tenants} other tenants for "${settings.tenants} tenants", the key taken round-robin per request; each tenant's send rate ${settings.sendRate} msg/s (so releases keep up); per-key request limit ${keyLimit ? `${keyLimit.perSecond}/s, burst ${keyLimit.burst}` : "none (no limit columns in the schema)"}
- Only 202s count; any other status, connection error or time-out fails the run
- workerd CPU per 202: the CPU time (user + system, from /proc) the server's workerd processes spent during the run, background work included, divided by the 202s; first the Worker's own process, then wrangler's proxy in front of it. Other work on the machine disturbs it less than throughput and latency
- Backlog drained between runs (all messages final) before the next warm-up — ${settleText}
- After the last drain, messages of these runs (all to ordinary numbers) that did not end delivered: ${notDelivered.length ? notDelivered.join(", ") : "none"}

${table}

${ratioTable}

${problems.length === 0 ? "No 429, 5xx, other non-202, connection error or time-out." : `**The run is not valid:** ${problems.join("; ")}.`}`;
}

/** How many tenants the profile's load is spread over: 1, or all of `--tenants`. */
function profiledTenants(settings) {
  return settings.profileTenants === 1 ? 1 : settings.tenants;
}

function profileMarkdown(settings, profile, before) {
  const head = `## 2. Where the time goes: CPU profile of POST /v1/messages

- Run: ${before.at}, ${loadLine(before.load)} before the run
- How: V8's sampling profiler in workerd, through \`wrangler dev\`'s inspector (DevTools protocol over WebSocket), while autocannon loads \`POST /v1/messages\` (${profiledTenants(settings) === 1 ? "1 tenant" : `${settings.tenants} tenants, the key taken round-robin`}, ${settings.connections} connections) on the server of section 1; positions mapped to the sources through the bundle's source map`;
  if (!profile.ok) {
    return `${head}\n\n**No profile: ${profile.reason}.**`;
  }
  const functions = markdownTable(
    ["#", "function", "where", "self samples", "% of busy"],
    profile.functions.map((f, i) => [
      i + 1,
      f.name.replaceAll("|", "\\|"),
      (f.location || "—").replaceAll("|", "\\|"),
      f.samples,
      format(f.share * 100),
    ]),
  );
  const origins = markdownTable(
    ["source", "self samples", "% of busy"],
    profile.origins.map((o) => [o.origin, o.samples, format(o.share * 100)]),
  );
  return `${head}
- Sampling: every ${profile.samplingIntervalUs} µs for ${format(profile.durationMs / 1000)} s; ${profile.totalSamples} samples, of which ${profile.idleSamples} idle (${format((profile.idleSamples / profile.totalSamples) * 100)}%); percentages are of the ${profile.busySamples} busy samples. \`(program)\` is time in workerd's native code (I/O, SQLite, the runtime) attributed to no JavaScript function; \`(garbage collector)\` is V8's GC; \`(native)\` rows are runtime functions called from JavaScript (\`exec\` is Durable Object SQL). A function's self time also holds native work it triggers that has no frame of its own (e.g. serialising an RPC's arguments), and functions V8 inlined into it.
- Load during the profile: ${format(profile.load.perSecond)} 202/s, p99 ${profile.load.p99} ms (the profiler slows the Worker down)

Top functions by self time:

${functions}

Self time by source (file for ours, package for dependencies):

${origins}`;
}

async function runRatiosAndProfile(settings, failures) {
  const sections = {};
  const persistTo = join(BENCH_DIR, "tmp", "state");
  rmSync(persistTo, { recursive: true, force: true });
  const solo = benchTenants(1, {
    prefix: "solo",
    sendRate: settings.sendRate,
    root: settings.source.dir,
  });
  const multi = benchTenants(settings.tenants, {
    sendRate: settings.sendRate,
    root: settings.source.dir,
  });
  const inspectorPort = settings.sections.includes("profile") ? await freePort() : undefined;
  console.log("Starting a local server…");
  const server = await startLocalServer({
    cwd: settings.source.dir,
    persistTo,
    vars: settings.vars,
    logLevel: settings.wranglerLogLevel,
    inspectorPort,
    extraSql: `${solo.sql}\n${multi.sql}`,
  });
  const soloKeys = solo.tenants.map((t) => t.apiKey);
  const multiKeys = multi.tenants.map((t) => t.apiKey);
  try {
    for (const { adminKey } of [...solo.tenants, ...multi.tenants]) {
      await setSendRate(server, adminKey, settings.sendRate);
    }
    if (settings.sections.includes("ratios")) {
      const before = { load: machine().load, at: new Date().toISOString() };
      const problems = [];
      const noop = await measure(
        server,
        "POST /noop",
        { path: "/noop", keys: soloKeys },
        settings,
        problems,
      );
      const one = await measure(
        server,
        "POST /v1/messages, 1 tenant",
        { path: "/v1/messages", keys: soloKeys },
        settings,
        problems,
      );
      const soloSettle = await settle(server, soloKeys, settings, "1 tenant");
      const many = await measure(
        server,
        `POST /v1/messages, ${settings.tenants} tenants`,
        { path: "/v1/messages", keys: multiKeys },
        settings,
        problems,
      );
      const multiSettle = await settle(server, multiKeys, settings, `${settings.tenants} tenants`);
      // Every recipient is an ordinary number, so every message should end delivered.
      const notDelivered = [];
      for (const status of ["expired", "failed", "undelivered"]) {
        let count = 0;
        for (const key of [...soloKeys, ...multiKeys]) {
          count += (await listAll(server, key, { status, maxPages: 2000 })).length;
        }
        if (count > 0) {
          notDelivered.push(`${status} ${count}`);
        }
      }
      const ratios = [one, many].map((run) => ({
        throughput: run.perSecond / noop.perSecond,
        p99: run.p99 / noop.p99,
      }));
      sections.ratios = ratiosMarkdown(
        settings,
        [noop, one, many],
        [
          { name: "after 1 tenant", seconds: soloSettle },
          { name: `after ${settings.tenants} tenants`, seconds: multiSettle },
        ],
        ratios,
        problems,
        before,
        solo.keyRateLimit,
        notDelivered,
      );
      failures.push(...problems);
      ratios.forEach((ratio, i) => {
        const name = i === 0 ? "1 tenant" : `${settings.tenants} tenants`;
        if (!(ratio.throughput >= TARGET_THROUGHPUT)) {
          failures.push(
            `${name}: throughput ratio ${format(ratio.throughput, 2)} < ${TARGET_THROUGHPUT}`,
          );
        }
        if (!(ratio.p99 <= TARGET_P99)) {
          failures.push(`${name}: p99 ratio ${format(ratio.p99, 2)} > ${TARGET_P99}`);
        }
      });
    }
    if (settings.sections.includes("profile")) {
      const before = { load: machine().load, at: new Date().toISOString() };
      console.log(`Profiling the Worker for ${settings.profileSeconds} s under load…`);
      let loadResult;
      const profile = await profileWorker({
        inspectorPort,
        root: settings.source.dir,
        saveTo: join(BENCH_DIR, "tmp", "profile-messages.cpuprofile"),
        seconds: settings.profileSeconds,
        startAfterMs: 2000,
        load: async () => {
          loadResult = summarise(
            "profile load",
            await load(server, {
              path: "/v1/messages",
              keys: profiledTenants(settings) === 1 ? soloKeys : multiKeys,
              connections: settings.connections,
              seconds: settings.profileSeconds + 4,
            }),
          );
        },
      });
      if (profile.ok) {
        profile.load = loadResult;
      } else {
        console.warn(`No profile: ${profile.reason}`);
      }
      sections.profile = profileMarkdown(settings, profile, before);
    }
    // A last look that the server is healthy after everything.
    await must(server, "GET", "/healthz");
  } finally {
    await server.stop();
  }
  return sections;
}

function setupMarkdown(settings, info) {
  return `## Machine and settings (latest run)

- Date: ${new Date().toISOString()}; sections run: ${settings.sections.join(", ")}
- Machine: ${info.cpu}, ${info.cores} cores, ${format(info.memoryGiB, 0)} GiB RAM; ${loadLine(info.load)} before the run. The load generator, wrangler and workerd share these cores, so other work on the machine skews every figure.
- Node ${info.node}, wrangler ${info.wrangler} (\`wrangler dev\`, local workerd), autocannon ${info.autocannon}
- Log level: Worker \`LOG_LEVEL\` ${settings.workerLogLevel}; wrangler \`--log-level\` ${settings.wranglerLogLevel}
- Code: commit ${settings.source.commit}${settings.source.dirty ? " plus uncommitted changes to src/, migrations/ or wrangler.toml" : ""}, copied to a temporary directory when the run started; every server runs that copy, so edits made during the run cannot reload the Worker mid-measurement
- Every server binds 127.0.0.1 only, with its own fresh state under test/bench/tmp/ (its wrangler.log is there too)`;
}

async function main() {
  const settings = readSettings();
  settings.source = snapshotSource();
  const info = machine();
  console.log(`Sections: ${settings.sections.join(", ")}`);
  const failures = [];
  const sections = { setup: setupMarkdown(settings, info) };
  try {
    if (settings.sections.includes("ratios") || settings.sections.includes("profile")) {
      Object.assign(sections, await runRatiosAndProfile(settings, failures));
    }
    if (settings.sections.includes("crash")) {
      const crash = await runCrash(settings);
      sections.crash = crash.markdown;
      failures.push(...crash.failures);
    }
    if (settings.sections.includes("drain")) {
      const orders =
        settings.drainOrder === "both" ? ["grouped", "interleaved"] : [settings.drainOrder];
      const parts = [drainIntro(settings)];
      for (const drainOrder of orders) {
        const drain = await runDrain({ ...settings, drainOrder });
        parts.push(drain.markdown);
        failures.push(...drain.failures);
      }
      sections.drain = parts.join("\n\n");
    }
    if (settings.sections.includes("batch")) {
      const batch = await runBatch(settings);
      sections.batch = batch.markdown;
      failures.push(...batch.failures);
    }
    if (settings.sections.includes("chaos")) {
      const chaos = await runChaos(settings);
      sections.chaos = chaos.markdown;
      failures.push(...chaos.failures);
    }
    for (const [name, run] of Object.entries(MICRO_BENCHES)) {
      if (settings.sections.includes(name)) {
        console.log(`${name}: running in this process…`);
        const result = await run();
        sections[name] = result.markdown;
        failures.push(...result.failures);
      }
    }
  } finally {
    updateResults(sections);
    settings.source.remove();
  }
  console.log(`\nWrote ${join("test", "bench", "RESULTS.md")}`);
  for (const body of Object.values(sections)) {
    console.log(`\n${body}`);
  }
  if (failures.length > 0) {
    console.error(`\nBENCH FAILED:\n- ${failures.join("\n- ")}`);
    process.exitCode = 1;
  } else {
    console.log("\nBench passed: every section met its target.");
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
