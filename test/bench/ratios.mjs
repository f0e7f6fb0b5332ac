/**
 * The send path against the no-op route, shared by the `ratios` and `compare` sections: a server
 * with fresh state and bench tenants (`startRatiosServer`), then `measureRatios` loads
 * POST /noop, POST /v1/messages for 1 tenant and spread over `--tenants` tenants (a key per
 * request, round-robin), each after a warm-up, the backlog drained after each send run. Only 202s
 * count; any other status, connection error or time-out is a problem that makes the run invalid.
 */
import { rmSync } from "node:fs";
import autocannon from "autocannon";
import { startLocalServer } from "../../scripts/local-server.mjs";
import {
  benchTenants,
  format,
  listAll,
  loadLine,
  machine,
  markdownTable,
  passFail,
  recipient,
  setSendRate,
  waitForQuiet,
  workerdCpuSeconds,
} from "./lib.mjs";

/** Issue 22's targets: for 1 tenant, then for the run spread over `--tenants` tenants. */
export const TARGETS = [
  { throughput: 0.65, p99: 1.6 },
  { throughput: 0.6, p99: 1.8 },
];

const BODY = "Your Relaybox code is 482913";
let sequence = 0;

/** One autocannon run; for the send path each request takes the next key round-robin. */
export function load(server, { path, keys, connections, seconds }) {
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

export function summarise(name, result) {
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

/**
 * Starts `wrangler dev` from `root` (a source snapshot) on the fresh state `persistTo`, with a
 * 1-tenant and a `--tenants` set of bench tenants at the bench's send rate; `extraSql` runs after
 * the seed (the stats section drops the rollup triggers with it).
 */
export async function startRatiosServer(
  settings,
  { root, persistTo, inspectorPort, extraSql = "", localTraces = false },
) {
  rmSync(persistTo, { recursive: true, force: true });
  const solo = benchTenants(1, { prefix: "solo", sendRate: settings.sendRate, root });
  const multi = benchTenants(settings.tenants, { sendRate: settings.sendRate, root });
  console.log(`Starting a local server from ${root}…`);
  const server = await startLocalServer({
    cwd: root,
    persistTo,
    vars: settings.vars,
    logLevel: settings.wranglerLogLevel,
    inspectorPort,
    extraSql: `${solo.sql}\n${multi.sql}\n${extraSql}`,
    localTraces,
  });
  try {
    for (const { adminKey } of [...solo.tenants, ...multi.tenants]) {
      await setSendRate(server, adminKey, settings.sendRate);
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    server,
    keyRateLimit: solo.keyRateLimit,
    soloKeys: solo.tenants.map((t) => t.apiKey),
    multiKeys: multi.tenants.map((t) => t.apiKey),
  };
}

/**
 * The three load runs on a server of `startRatiosServer`. Returns them (`runs`: no-op, 1 tenant,
 * N tenants), the send runs' `ratios` to the no-op's ({throughput, p99}), how long each backlog
 * took to drain, the messages that did not end delivered, and the problems that make it invalid.
 */
export async function measureRatios({ server, soloKeys, multiKeys }, settings, rounds = 1) {
  const before = { load: machine().load, at: new Date().toISOString() };
  const measured = [];
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) {
      console.log(`Round ${round} of ${rounds}`);
    }
    measured.push(await measureRound({ server, soloKeys, multiKeys }, settings));
  }
  const last = measured[measured.length - 1];
  // The ratios of each round, then their means: throughput and latency drift with the machine
  // from one minute to the next, and the three runs of a round are side by side.
  const ratios = [0, 1].map((i) => ({
    throughput: mean(measured.map((m) => m.ratios[i].throughput)),
    p99: mean(measured.map((m) => m.ratios[i].p99)),
  }));
  return {
    before,
    runs: measured.flatMap((m) => m.runs),
    roundRatios: measured.map((m) => m.ratios),
    rounds,
    ratios,
    settleTimes: last.settleTimes,
    notDelivered: last.notDelivered,
    problems: measured.flatMap((m) => m.problems),
  };
}

function mean(values) {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** One round: the no-op, 1 tenant, then N tenants, each backlog drained before the next. */
async function measureRound({ server, soloKeys, multiKeys }, settings) {
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
  const settleTimes = [
    { name: "after 1 tenant", seconds: soloSettle },
    { name: `after ${settings.tenants} tenants`, seconds: multiSettle },
  ];
  return { runs: [noop, one, many], ratios, settleTimes, notDelivered, problems };
}

/** The `ratios` section's own targets, as failure lines. */
export function ratioTargetFailures(ratios, settings) {
  const failures = [];
  ratios.forEach((ratio, i) => {
    const name = i === 0 ? "1 tenant" : `${settings.tenants} tenants`;
    const target = TARGETS[i];
    if (!(ratio.throughput >= target.throughput)) {
      failures.push(
        `${name}: throughput ratio ${format(ratio.throughput, 2)} < ${target.throughput}`,
      );
    }
    if (!(ratio.p99 <= target.p99)) {
      failures.push(`${name}: p99 ratio ${format(ratio.p99, 2)} > ${target.p99}`);
    }
  });
  return failures;
}

/** One row per load run: rates, latencies, what else came back, workerd CPU per 202. */
export function runsTable(runs, lead = []) {
  return markdownTable(
    [
      ...lead.map(([head]) => head),
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
    runs.map((r, i) => [
      ...lead.map(([, cells]) => cells[i]),
      r.name,
      format(r.perSecond),
      r.p50,
      r.p99,
      r.accepted,
      r.others.map((o) => `${o.code}×${o.count}`).join(", ") || "none",
      r.errors,
      r.timeouts,
      r.cpuMsPer202.map((ms) => format(ms, 2)).join(" + ") || "—",
    ]),
  );
}

/** The bullets that say how `measureRatios` loads the server (also quoted by `compare`). */
export function methodLines(settings, keyRateLimit) {
  return `- Load: autocannon, ${settings.connections} connections, ${settings.duration} s per run after ${settings.warmup} s of warm-up (same connections, not counted), one \`wrangler dev\` with fresh state for all three runs
- Requests: the same JSON body everywhere (\`{"to", "body"}\`, ${BODY.length} characters of text), a different recipient per request (+86 138…, never a sandbox special ending); \`POST /noop\` runs the global middleware only
- Tenants: 1 tenant for "1 tenant"; ${settings.tenants} other tenants for "${settings.tenants} tenants", the key taken round-robin per request; each tenant's send rate ${settings.sendRate} msg/s (so releases keep up); per-key request limit ${keyRateLimit ? `${keyRateLimit.perSecond}/s, burst ${keyRateLimit.burst}` : "none (no limit columns in the schema)"}
- Only 202s count; any other status, connection error or time-out fails the run
- wrangler's local trace store off (\`X_LOCAL_OBSERVABILITY=false\`): under \`wrangler dev\` it sends every span of the Worker to a collector worker in the same workerd that writes it to SQLite, which production does not do in the Worker's process (the last table of section 1 measures the send path with it on)
- workerd CPU per 202: the CPU time (user + system, from /proc) the server's workerd processes spent during the run, background work included, divided by the 202s; first the Worker's own process, then wrangler's proxy in front of it. Other work on the machine disturbs it less than throughput and latency`;
}

export function ratiosMarkdown(settings, measured, keyRateLimit, traced) {
  const { before, runs, ratios, settleTimes, notDelivered, problems, rounds } = measured;
  const [, solo, multi] = runs;
  const roundLead = rounds > 1 ? [["round", runs.map((_, i) => Math.floor(i / 3) + 1)]] : [];
  const perRound =
    rounds > 1
      ? `\n\nEach round's ratios (throughput / noop, p99 / noop), whose means are above: ${measured.roundRatios
          .map(
            (r, i) =>
              `round ${i + 1}: 1 tenant ${format(r[0].throughput, 2)}, ${format(r[0].p99, 2)}; ${settings.tenants} tenants ${format(r[1].throughput, 2)}, ${format(r[1].p99, 2)}`,
          )
          .join("; ")}.`
      : "";
  const ratioRows = [solo, multi].map((run, i) => [
    run.name,
    format(ratios[i].throughput, 2),
    `${passFail(ratios[i].throughput >= TARGETS[i].throughput)} (≥ ${format(TARGETS[i].throughput, 2)})`,
    format(ratios[i].p99, 2),
    `${passFail(ratios[i].p99 <= TARGETS[i].p99)} (≤ ${format(TARGETS[i].p99, 2)})`,
  ]);
  const ratioTable = markdownTable(
    [
      "send run",
      rounds > 1 ? `throughput / noop, mean of ${rounds} rounds` : "throughput / noop",
      "target",
      rounds > 1 ? `p99 / noop, mean of ${rounds} rounds` : "p99 / noop",
      "target",
    ],
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
${methodLines(settings, keyRateLimit)}
- Backlog drained between runs (all messages final) before the next warm-up — ${settleText}
- After the last drain, messages of these runs (all to ordinary numbers) that did not end delivered: ${notDelivered.length ? notDelivered.join(", ") : "none"}

${runsTable(runs, roundLead)}

${ratioTable}${perRound}

${problems.length === 0 ? "No 429, 5xx, other non-202, connection error or time-out." : `**The run is not valid:** ${problems.join("; ")}.`}${traced ? tracedMarkdown(traced) : ""}`;
}

/**
 * The same three runs right after, on a second fresh server with wrangler's local trace store on
 * (as `npm start` runs): what that store costs each route, so the figures above can be read
 * against the earlier results files, which were measured with it on.
 */
function tracedMarkdown({ runs, ratios, problems }) {
  const [noop, solo, multi] = runs;
  const cpu = (run) => run.cpuMsPer202.reduce((sum, ms) => sum + ms, 0);
  return `

### The same runs with wrangler's local trace store on (as under \`npm start\`)

Right after the runs above (once their server has stopped), one round on a second \`wrangler dev\` with fresh state and \`X_LOCAL_OBSERVABILITY=true\`; no targets. The store records every span and log line of a request (one span for the no-op; an RPC, SQL statements, D1 batches, queue sends and a receipt for a message).

${runsTable(runs)}

${markdownTable(
  ["send run", "throughput / noop", "p99 / noop", "workerd CPU per 202, all processes, / noop's"],
  [solo, multi].map((run, i) => [
    run.name,
    format(ratios[i].throughput, 2),
    format(ratios[i].p99, 2),
    format(cpu(run) / cpu(noop), 2),
  ]),
)}

${problems.length === 0 ? "No 429, 5xx, other non-202, connection error or time-out." : `Problems in these runs: ${problems.join("; ")}.`}`;
}
