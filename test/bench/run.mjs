/**
 * `npm run bench`: what accepting a message costs, whether load survives a crash, and whether the
 * dispatcher drains at its tenant's rate. Sections, in order (select with `--only` / `--skip`):
 *   ratios   one server, fresh state: POST /noop, then POST /v1/messages for 1 tenant and spread
 *            over 10 tenants (a key per request, round-robin), each after a warm-up; only 202s
 *            count; any other status (429, 5xx…), connection error or time-out fails the run.
 *            `--ratio-rounds` rounds of the three on the same server, the ratios averaged over
 *            them; then one round on a second server with wrangler's local trace store on.
 *            Targets (issue 22), on the means: 1 tenant ≥ 0.65 × no-op's throughput and p99
 *            ≤ 1.6 × its p99; 10 tenants ≥ 0.6 × and ≤ 1.8 ×.
 *   profile  on the same server, a CPU profile of the Worker under POST /v1/messages load,
 *            through wrangler dev's inspector (profile.mjs); the whole profile is written to
 *            test/bench/tmp/profile-messages.cpuprofile
 *   compare  the ratios' measurement (ratios.mjs, shared) on the sources of `--baseline` (a git
 *            ref, through `git archive`) and on the current tree, alternately (baseline,
 *            current, … for `--compare-rounds` rounds), each on its own fresh server and state:
 *            current's mean throughput ratios must stay ≥ 0.9 × the baseline's, its mean p99
 *            ratios ≤ 1.1 × (compare.mjs). Needs a baseline: `--only compare` without one is an
 *            error, a run that selects every section leaves it out
 *   crash    load sent through a fake carrier outside the Worker, SIGKILL mid-burst, restart:
 *            every 202 must read back final, every carrier acceptance must have its recorded
 *            attempt, none sent twice, no claim without its attempt (crash-load.mjs)
 *   shards   one tenant with dispatch_shards 4 and both dispatch queues: 50,000 messages to 5,000
 *            recipients (singles and batches) with a per-recipient sequence number, counted at a
 *            fake carrier: 0 lost, 0 duplicates, 0 out of order, the rate within 2% over the
 *            steady part; then again with a SIGKILL mid-run and a restart (shards.mjs)
 *   drain    20,000 messages accepted while paused, then released at 1,000 msg/s: the rate the
 *            sandbox saw and each recipient's order, for two acceptance orders (drain.mjs)
 *   batch    one CSV batch to many recipients: its 202 and the drain rate (batch.mjs)
 *   chaos    two flaky fake carriers with failover; the same carrier checks as crash (chaos.mjs)
 *   inbound  POST /noop, then the sandbox's inbound SMS hook, at a fixed rate: every post stored
 *            once, one inbound.received each, the hook's p99 ≤ 2 × the no-op's (inbound.mjs)
 *   verify   verification starts to --verify-count numbers, each with its check, and as many
 *            plain sends, in ABBA blocks: a start's p99 ≤ 1.5 × a plain send's; then 100
 *            concurrent starts to one number: exactly one 201, one message, one carrier send
 *            (verify.mjs)
 *   desk     inbound sandbox SMS saying 人工 (desk on, one agent online), one after another from
 *            --desk-messages numbers: the latency to the conversation's event on the agent's
 *            WebSocket (/v1/desk/live, an API key), p95 ≤ 1 s (desk.mjs)
 *   export   100,000 messages seeded, GET /v1/messages/export?format=csv read to its end while
 *            the Worker isolate's heap is sampled through the inspector: every row arrives, and
 *            the heap's peak stays within 16 MB of before (export.mjs)
 *   stats    the ratios' measurement with the rollups on and off (their triggers dropped), back
 *            to back: on ≥ 0.9 × off; then GET /v1/stats over 30 days × 10 groupings on a
 *            million messages' rollups, each median ≤ 100 ms (stats.mjs)
 *   model    the load model (model.mjs, no server): each component's utilisation against
 *            Cloudflare's published limits for the issue's traffic mixes, the first to
 *            saturate and the settings each needs; its arithmetic is tested by
 *            `node --test test/bench/model.test.mjs`
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
 *   --baseline / BENCH_BASELINE                the git ref compare measures against, e.g. main
 *   --ratio-rounds / BENCH_RATIO_ROUNDS [3]       rounds of section 1's three runs, averaged
 *   --compare-rounds / BENCH_COMPARE_ROUNDS [2]   baseline-then-current measurement pairs
 *   --crash-duration / BENCH_CRASH_DURATION [20] s   --crash-kill-at / BENCH_CRASH_KILL_AT [10] s
 *   --crash-settle-timeout / BENCH_CRASH_SETTLE_TIMEOUT [180] s
 *   --shards-count / BENCH_SHARDS_COUNT [4]   --shards-rate / BENCH_SHARDS_RATE [250] msg/s
 *   --shards-messages / BENCH_SHARDS_MESSAGES [50000]   (a multiple of the recipients, ≤ 99 each)
 *   --shards-recipients / BENCH_SHARDS_RECIPIENTS [5000]
 *   --shards-single-share / BENCH_SHARDS_SINGLE_SHARE [0.1]   recipients sent singles, not batches
 *   --shards-kill-at / BENCH_SHARDS_KILL_AT [0.4]   share of the messages at the carrier at SIGKILL
 *   --shards-settle-timeout / BENCH_SHARDS_SETTLE_TIMEOUT [240] s after the release
 *   --drain-rate / BENCH_DRAIN_RATE [1000]     --drain-recipients / BENCH_DRAIN_RECIPIENTS [2000]
 *   --drain-per-recipient / BENCH_DRAIN_PER_RECIPIENT [10]
 *   --drain-concurrency / BENCH_DRAIN_CONCURRENCY [50]
 *   --batch-recipients / BENCH_BATCH_RECIPIENTS [100000]   --batch-rate / BENCH_BATCH_RATE [1000]
 *   --batch-profile / BENCH_BATCH_PROFILE [0]   1: profile the batch's POST (batch.mjs)
 *   --chaos-messages / BENCH_CHAOS_MESSAGES [5000]   messages the chaos run sends
 *   --inbound-rate / BENCH_INBOUND_RATE [2000]   inbound posts/s (and no-op posts/s)
 *   --inbound-duration / BENCH_INBOUND_DURATION [10] s of each at that rate
 *   --verify-count / BENCH_VERIFY_COUNT [1000]   verification starts (and plain sends) measured
 *   --verify-concurrency / BENCH_VERIFY_CONCURRENCY [20]   clients, one request in flight each
 *   --desk-messages / BENCH_DESK_MESSAGES [200]   inbound 人工 messages the desk section times
 *   --export-rows / BENCH_EXPORT_ROWS [100000]   messages the export section seeds and exports
 *   --stats-rounds / BENCH_STATS_ROUNDS [1]   on/off measurement pairs (0: only GET /v1/stats)
 *   --stats-messages / BENCH_STATS_MESSAGES [1000000]   messages the seeded rollups hold
 *   --stats-repeats / BENCH_STATS_REPEATS [10]   timed calls per grouping
 *   --drain-order / BENCH_DRAIN_ORDER [both]   how each recipient's messages are accepted, one
 *            drain run each: grouped (a client sends one recipient's messages, then the next
 *            recipient's), interleaved (every recipient's 1st message, then every 2nd, …), both
 *   --log-level / BENCH_LOG_LEVEL              the Worker's LOG_LEVEL var [wrangler.toml's]
 *   --wrangler-log-level / BENCH_WRANGLER_LOG_LEVEL   wrangler's --log-level [info]
 * e.g. a quick look: `npm run bench -- --duration 5 --warmup 1 --only ratios`; against main:
 * `npm run bench -- --only compare --baseline main`.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../../scripts/local-server.mjs";
import { runBatch } from "./batch.mjs";
import { runChaos } from "./chaos.mjs";
import { runCompare } from "./compare.mjs";
import { runCrash } from "./crash-load.mjs";
import { runDesk } from "./desk.mjs";
import { drainIntro, runDrain } from "./drain.mjs";
import { runExport } from "./export.mjs";
import { runInbound } from "./inbound.mjs";
import {
  BENCH_DIR,
  configuredLogLevel,
  format,
  loadLine,
  machine,
  markdownTable,
  must,
  option,
  snapshotRef,
  snapshotSource,
  updateResults,
} from "./lib.mjs";
import { profileWorker } from "./profile.mjs";
import {
  load,
  measureRatios,
  ratiosMarkdown,
  ratioTargetFailures,
  startRatiosServer,
  summarise,
} from "./ratios.mjs";
import { runShards } from "./shards.mjs";
import { runStats } from "./stats.mjs";
import { runVerify } from "./verify.mjs";

const SECTIONS = [
  "ratios",
  "profile",
  "compare",
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
/** In-process micro-benchmarks of our domain code against libraries (no server). */
const MICRO_BENCHES = {
  segments: async () => (await import("./segments.mjs")).runSegmentsBench(),
  matcher: async () => (await import("./matcher.mjs")).runMatcherBench(),
  model: async () => {
    const { modelMarkdown, modelResults } = await import("./model.mjs");
    // Arithmetic, not a measurement: it has no target to fail.
    return { markdown: modelMarkdown(modelResults(), markdownTable), failures: [] };
  },
};

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
  "inbound-rate": ["BENCH_INBOUND_RATE", 2000],
  "inbound-duration": ["BENCH_INBOUND_DURATION", 10],
  "verify-count": ["BENCH_VERIFY_COUNT", 1000],
  "verify-concurrency": ["BENCH_VERIFY_CONCURRENCY", 20],
  "desk-messages": ["BENCH_DESK_MESSAGES", 200],
  "export-rows": ["BENCH_EXPORT_ROWS", 100_000],
  "stats-rounds": ["BENCH_STATS_ROUNDS", 1],
  "stats-messages": ["BENCH_STATS_MESSAGES", 1_000_000],
  "stats-repeats": ["BENCH_STATS_REPEATS", 10],
  "compare-rounds": ["BENCH_COMPARE_ROUNDS", 2],
  "ratio-rounds": ["BENCH_RATIO_ROUNDS", 3],
  "shards-count": ["BENCH_SHARDS_COUNT", 4],
  "shards-messages": ["BENCH_SHARDS_MESSAGES", 50_000],
  "shards-recipients": ["BENCH_SHARDS_RECIPIENTS", 5000],
  "shards-single-share": ["BENCH_SHARDS_SINGLE_SHARE", 0.1],
  "shards-rate": ["BENCH_SHARDS_RATE", 250],
  "shards-kill-at": ["BENCH_SHARDS_KILL_AT", 0.4],
  "shards-settle-timeout": ["BENCH_SHARDS_SETTLE_TIMEOUT", 240],
};
const STRING_OPTIONS = {
  only: ["BENCH_ONLY", ""],
  skip: ["BENCH_SKIP", ""],
  "drain-order": ["BENCH_DRAIN_ORDER", "both"],
  "log-level": ["BENCH_LOG_LEVEL", ""],
  "wrangler-log-level": ["BENCH_WRANGLER_LOG_LEVEL", "info"],
  baseline: ["BENCH_BASELINE", ""],
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
  if (settings.sections.includes("compare") && !settings.baseline) {
    if (only.includes("compare")) {
      throw new Error(
        "the compare section needs the commit to compare against: --baseline <git ref> or BENCH_BASELINE (e.g. --baseline main)",
      );
    }
    // Without a baseline there is nothing to compare: a default run leaves the section out.
    settings.sections = settings.sections.filter((name) => name !== "compare");
  }
  if (!Number.isInteger(settings.ratioRounds) || settings.ratioRounds < 1) {
    throw new Error(`--ratio-rounds must be a whole number ≥ 1, not ${settings.ratioRounds}`);
  }
  if (!Number.isInteger(settings.compareRounds) || settings.compareRounds < 1) {
    throw new Error(`--compare-rounds must be a whole number ≥ 1, not ${settings.compareRounds}`);
  }
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

/** Section 1's runs again on a server with wrangler's local trace store on (no targets). */
async function measureWithLocalTraces(settings) {
  console.log("The same runs with wrangler's local trace store on…");
  const traced = await startRatiosServer(settings, {
    root: settings.source.dir,
    persistTo: join(BENCH_DIR, "tmp", "state-traced"),
    localTraces: true,
  });
  try {
    return await measureRatios(traced, settings);
  } finally {
    await traced.server.stop();
  }
}

async function runRatiosAndProfile(settings, failures) {
  const sections = {};
  const inspectorPort = settings.sections.includes("profile") ? await freePort() : undefined;
  const started = await startRatiosServer(settings, {
    root: settings.source.dir,
    persistTo: join(BENCH_DIR, "tmp", "state"),
    inspectorPort,
  });
  const { server, soloKeys, multiKeys } = started;
  let measured;
  try {
    if (settings.sections.includes("ratios")) {
      measured = await measureRatios(started, settings, settings.ratioRounds);
      failures.push(...measured.problems, ...ratioTargetFailures(measured.ratios, settings));
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
  if (measured) {
    // Once the first server is gone, so that the two never share the machine.
    sections.ratios = ratiosMarkdown(
      settings,
      measured,
      started.keyRateLimit,
      // Already traced when X_LOCAL_OBSERVABILITY=true asks every server for the store.
      process.env.X_LOCAL_OBSERVABILITY === "true"
        ? undefined
        : await measureWithLocalTraces(settings),
    );
  }
  return sections;
}

function setupMarkdown(settings, info) {
  return `## Machine and settings (latest run)

- Date: ${new Date().toISOString()}; sections run: ${settings.sections.join(", ")}
- Machine: ${info.cpu}, ${info.cores} cores, ${format(info.memoryGiB, 0)} GiB RAM; ${loadLine(info.load)} before the run. The load generator, wrangler and workerd share these cores, so other work on the machine skews every figure.
- Node ${info.node}, wrangler ${info.wrangler} (\`wrangler dev\`, local workerd), autocannon ${info.autocannon}
- Log level: Worker \`LOG_LEVEL\` ${settings.workerLogLevel}; wrangler \`--log-level\` ${settings.wranglerLogLevel}
- wrangler's local trace store: ${process.env.X_LOCAL_OBSERVABILITY === "true" ? "on (X_LOCAL_OBSERVABILITY=true)" : "off (X_LOCAL_OBSERVABILITY=false), as for every server tests and benches start (scripts/local-server.mjs): `wrangler dev` otherwise sends every span of the Worker to a collector in the same workerd that writes it to SQLite, which production does not do in the Worker's process; section 1 ends with a round with it on"}
- Code: commit ${settings.source.commit}${settings.source.dirty ? " plus uncommitted changes to src/, migrations/ or wrangler.toml" : ""}, copied to a temporary directory when the run started; every server runs that copy, so edits made during the run cannot reload the Worker mid-measurement
- Every server binds 127.0.0.1 only, with its own fresh state under test/bench/tmp/ (its wrangler.log is there too)`;
}

async function main() {
  const settings = readSettings();
  // Both snapshots when the run starts, the baseline first: a ref that names no commit stops
  // the run before anything is written.
  settings.baselineSource = settings.sections.includes("compare")
    ? snapshotRef(settings.baseline)
    : undefined;
  settings.source = snapshotSource();
  const info = machine();
  console.log(`Sections: ${settings.sections.join(", ")}`);
  const failures = [];
  const sections = { setup: setupMarkdown(settings, info) };
  try {
    if (settings.sections.includes("ratios") || settings.sections.includes("profile")) {
      Object.assign(sections, await runRatiosAndProfile(settings, failures));
    }
    if (settings.sections.includes("compare")) {
      const compare = await runCompare(settings);
      sections.compare = compare.markdown;
      failures.push(...compare.failures);
    }
    if (settings.sections.includes("crash")) {
      const crash = await runCrash(settings);
      sections.crash = crash.markdown;
      failures.push(...crash.failures);
    }
    if (settings.sections.includes("shards")) {
      const shards = await runShards(settings);
      sections.shards = shards.markdown;
      failures.push(...shards.failures);
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
    if (settings.sections.includes("inbound")) {
      const inbound = await runInbound(settings);
      sections.inbound = inbound.markdown;
      failures.push(...inbound.failures);
    }
    if (settings.sections.includes("verify")) {
      const verify = await runVerify(settings);
      sections.verify = verify.markdown;
      failures.push(...verify.failures);
    }
    if (settings.sections.includes("desk")) {
      const desk = await runDesk(settings);
      sections.desk = desk.markdown;
      failures.push(...desk.failures);
    }
    if (settings.sections.includes("export")) {
      const exported = await runExport(settings);
      sections.export = exported.markdown;
      failures.push(...exported.failures);
    }
    if (settings.sections.includes("stats")) {
      const stats = await runStats(settings);
      sections.stats = stats.markdown;
      failures.push(...stats.failures);
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
    settings.baselineSource?.remove();
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
