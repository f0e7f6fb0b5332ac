/**
 * `npm run bench`: how much accepting a message costs on top of the Worker's bare request path.
 * Starts a fresh local server, loads `POST /noop` (same global middleware, no work) and then
 * `POST /v1/messages` with autocannon, and writes test/bench/RESULTS.md. Only 202s count as
 * successes. Options (flag or environment variable):
 *   --connections / BENCH_CONNECTIONS   concurrent connections (50)
 *   --duration    / BENCH_DURATION      seconds per measured endpoint (10)
 *   --warmup      / BENCH_WARMUP        seconds of unmeasured load per endpoint first (2)
 *   --send-rate   / BENCH_SEND_RATE     the demo tenant's release rate, msg/s (500)
 *   --log-level   / BENCH_LOG_LEVEL     the Worker's LOG_LEVEL var (wrangler.toml's value)
 *   --wrangler-log-level / BENCH_WRANGLER_LOG_LEVEL   wrangler's --log-level (info)
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { startLocalServer } from "../../scripts/local-server.mjs";
import { ROOT } from "../../scripts/seed.mjs";

const require = createRequire(import.meta.url);
const BENCH_DIR = join(ROOT, "test", "bench");

const { values: flags } = parseArgs({
  options: {
    connections: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    "send-rate": { type: "string" },
    "log-level": { type: "string" },
    "wrangler-log-level": { type: "string" },
  },
});

function option(flag, variable, fallback) {
  const value = flags[flag] ?? process.env[variable];
  return value === undefined || value === "" ? fallback : value;
}

const settings = {
  connections: Number(option("connections", "BENCH_CONNECTIONS", 50)),
  duration: Number(option("duration", "BENCH_DURATION", 10)),
  warmup: Number(option("warmup", "BENCH_WARMUP", 2)),
  sendRate: Number(option("send-rate", "BENCH_SEND_RATE", 500)),
  logLevel: option("log-level", "BENCH_LOG_LEVEL", undefined),
  wranglerLogLevel: option("wrangler-log-level", "BENCH_WRANGLER_LOG_LEVEL", "info"),
};

let sequence = 0;
/**
 * A different recipient per request: the dispatcher orders messages per recipient, so one shared
 * number would measure that queue instead of acceptance. The last digit stays out of 0–2 so no
 * number ends in the sandbox's special 0000/0001/0002.
 */
function nextRecipient() {
  sequence += 1;
  return `+86139${String(sequence % 10_000_000).padStart(7, "0")}${3 + (sequence % 7)}`;
}

function load(server, endpoint, seconds) {
  const common = {
    connections: settings.connections,
    duration: seconds,
    method: "POST",
    // Latency percentiles then describe successful responses only; failures are counted apart.
    excludeErrorStats: true,
  };
  if (endpoint === "noop") {
    return autocannon({ ...common, url: `${server.url}/noop` });
  }
  return autocannon({
    ...common,
    url: `${server.url}/v1/messages`,
    headers: {
      authorization: `Bearer ${server.apiKey}`,
      "content-type": "application/json",
    },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ to: nextRecipient(), body: "Your Relaybox code is 482913" }),
        }),
      },
    ],
  });
}

function summarise(result) {
  const accepted = result.statusCodeStats["202"]?.count ?? 0;
  const statuses = Object.entries(result.statusCodeStats)
    .filter(([code]) => code !== "202")
    .map(([code, stats]) => `${code}×${stats.count}`);
  return {
    acceptedPerSecond: accepted / result.duration,
    accepted,
    p50: result.latency.p50,
    p99: result.latency.p99,
    other: statuses.join(", ") || "none",
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

async function measure(server, endpoint) {
  if (settings.warmup > 0) {
    await load(server, endpoint, settings.warmup);
  }
  console.log(`Loading POST ${endpoint === "noop" ? "/noop" : "/v1/messages"}…`);
  return summarise(await load(server, endpoint, settings.duration));
}

/** Columns padded the way `npm run lint` (Biome) formats Markdown tables. */
function markdownTable(header, rows) {
  const cells = [header, ...rows].map((cells) => cells.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  const [head, ...body] = cells;
  return [line(head), rule, ...body.map(line)].join("\n");
}

function configuredLogLevel() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  return /^LOG_LEVEL\s*=\s*"([^"]*)"/m.exec(toml)?.[1] ?? "unset";
}

function format(number, digits = 1) {
  return Number.isFinite(number) ? number.toFixed(digits) : "n/a";
}

function report(noop, send, loadBefore) {
  const cpuList = cpus();
  const wranglerVersion = require("wrangler/package.json").version;
  const row = (name, r) => [
    name,
    format(r.acceptedPerSecond),
    r.p50,
    r.p99,
    r.accepted,
    r.other,
    r.errors,
    r.timeouts,
  ];
  const table = markdownTable(
    ["endpoint", "202/s", "p50 ms", "p99 ms", "202s", "other statuses", "errors", "timeouts"],
    [row("POST /noop", noop), row("POST /v1/messages", send)],
  );
  return `# Benchmark results

Written by \`npm run bench\` (test/bench/run.mjs); rerun it to refresh this file.

- Date: ${new Date().toISOString()}
- Machine: ${cpuList[0]?.model ?? "unknown CPU"}, ${cpuList.length} cores, ${format(totalmem() / 2 ** 30, 0)} GiB RAM
- Load average (1 min) before the run: ${format(loadBefore, 2)}; other work on the machine skews the numbers
- Node ${process.version}, wrangler ${wranglerVersion} (\`wrangler dev\`, local workerd; autocannon on the same machine)
- Log level: Worker \`LOG_LEVEL\` ${settings.logLevel ?? `${configuredLogLevel()} (wrangler.toml)`}, wrangler \`--log-level\` ${settings.wranglerLogLevel}
- Load: ${settings.connections} connections, ${settings.duration} s per endpoint after ${settings.warmup} s of warm-up; demo tenant send rate ${settings.sendRate} msg/s; every message to a different recipient

${table}

- Throughput, send / noop: **${format(send.acceptedPerSecond / noop.acceptedPerSecond, 2)}**
- p99 latency, send / noop: **${format(send.p99 / noop.p99, 2)}**

Latencies are of successful (2xx) responses. Local numbers compare code paths on one machine;
they say nothing about Cloudflare's network, where D1, Durable Objects and Queues are remote.
`;
}

async function main() {
  const persistTo = join(BENCH_DIR, "tmp", "state");
  rmSync(persistTo, { recursive: true, force: true });
  console.log("Starting a local server…");
  const vars = settings.logLevel ? { LOG_LEVEL: settings.logLevel } : {};
  const server = await startLocalServer({
    persistTo,
    vars,
    logLevel: settings.wranglerLogLevel,
    extraSql: `UPDATE tenants SET send_rate = ${Math.trunc(settings.sendRate)} WHERE id = 'tnt_demo';`,
  });
  try {
    const loadBefore = loadavg()[0];
    const noop = await measure(server, "noop");
    const send = await measure(server, "send");
    const markdown = report(noop, send, loadBefore);
    writeFileSync(join(BENCH_DIR, "RESULTS.md"), markdown);
    console.log(`\n${markdown}`);
    if (noop.accepted === 0 || send.accepted === 0) {
      console.error(`No 202 from one endpoint: see ${server.logFile}`);
      process.exitCode = 1;
    }
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
