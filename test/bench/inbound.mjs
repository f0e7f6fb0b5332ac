/**
 * Inbound SMS hook under load (run by `npm run bench`, or alone with `--only inbound`): one
 * tenant whose sandbox hook token the bench sets, a webhook endpoint for `inbound.received` on a
 * local sink, then POST /noop and `POST /hooks/sms/sandbox/{hook_token}/inbound` with
 * `{from, to, body}` (each post its own sender and text) at `--inbound-rate` posts/s for
 * `--inbound-duration` s each, at a fixed rate (autocannon's overallRate). Targets: every post
 * answered 2xx; every answered post stored exactly once (read back through `GET /v1/inbound`);
 * `inbound.received` delivered for each stored message, one event each; the hook's p99 ≤ 2 × the
 * no-op's at the same rate.
 *
 * Written to the contract of issue 15 (the hook, GET /v1/inbound's `{data: [{id, from, body…}],
 * next_cursor}`, the `inbound.received` event `{id, type, data: {id, from, body…}}`) before the
 * inbound hook existed: until it does, the section fails at its first post.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import autocannon from "autocannon";
import { freePort, startLocalServer } from "../../scripts/local-server.mjs";
import {
  BENCH_DIR,
  benchTenants,
  format,
  loadLine,
  machine,
  markdownTable,
  must,
  passFail,
  recipient,
  sleep,
} from "./lib.mjs";

export const TARGET_P99 = 2.0;
const OUR_NUMBER = "+8610690000";
const READ_BACK_TIMEOUT_MS = 180_000;

/** A local endpoint that answers 200 to every delivery and keeps what it got. */
async function startSink() {
  const deliveries = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      try {
        deliveries.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        deliveries.push({ unreadable: true });
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}/inbound`,
    deliveries,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Posts at a fixed overall rate; each post's number is kept per connection (a connection has one
 * request in flight), so each 2xx is known by the sender it carried.
 */
async function postAtRate(server, path, { rate, seconds, connections, first, answered }) {
  let next = first;
  const result = await autocannon({
    url: `${server.url}${path}`,
    method: "POST",
    connections,
    overallRate: rate,
    duration: seconds,
    excludeErrorStats: true,
    headers: { "content-type": "application/json" },
    requests: [
      {
        setupRequest: (request, context) => {
          const n = next++;
          context.n = n;
          return {
            ...request,
            body: JSON.stringify({ from: recipient(n), to: OUR_NUMBER, body: `bench ${n}` }),
          };
        },
        onResponse: (status, _body, context) => {
          if (status >= 200 && status < 300) {
            answered?.push(context.n);
          }
        },
      },
    ],
  });
  const ok = Object.entries(result.statusCodeStats)
    .filter(([code]) => code.startsWith("2"))
    .reduce((sum, [, stats]) => sum + stats.count, 0);
  const others = Object.entries(result.statusCodeStats)
    .filter(([code]) => !code.startsWith("2"))
    .map(([code, stats]) => `${stats.count} × ${code}`);
  return {
    sent: next - first,
    ok,
    perSecond: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    others,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** Every inbound message of the tenant, through GET /v1/inbound. */
async function listInbound(server, key) {
  const rows = [];
  let cursor = null;
  for (let page = 0; page < 10_000; page++) {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) {
      query.set("cursor", cursor);
    }
    const body = await must(server, "GET", `/v1/inbound?${query}`, { key, timeoutMs: 30_000 });
    rows.push(...body.data);
    cursor = body.next_cursor;
    if (!cursor) {
      return rows;
    }
  }
  throw new Error("more than 10,000 pages of inbound messages");
}

/** Polls until `done()` or the time-out; resolves the seconds it took, or null. */
async function waitFor(done, timeoutMs) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await done()) {
      return (Date.now() - started) / 1000;
    }
    await sleep(1000);
  }
  return null;
}

function problemsOf(name, run) {
  const problems = run.others.map((other) => `${name}: ${other}`);
  if (run.errors > 0) {
    problems.push(`${name}: ${run.errors} connection errors`);
  }
  if (run.timeouts > 0) {
    problems.push(`${name}: ${run.timeouts} time-outs`);
  }
  if (run.ok === 0) {
    problems.push(`${name}: no 2xx at all`);
  }
  return problems;
}

export async function runInbound(settings) {
  const persistTo = join(BENCH_DIR, "tmp", "inbound");
  rmSync(persistTo, { recursive: true, force: true });
  const before = machine().load;
  const startedIso = new Date().toISOString();
  const { tenants, sql } = benchTenants(1, {
    prefix: "inbound",
    sendRate: settings.sendRate,
    root: settings.source.dir,
  });
  const { tenantId, adminKey } = tenants[0];
  const hookToken = randomBytes(24).toString("hex");
  const sink = await startSink();
  console.log("inbound: starting a local server…");
  const server = await startLocalServer({
    cwd: settings.source.dir,
    persistTo,
    vars: { ...settings.vars, WEBHOOK_ALLOW_LOCAL_HTTP: "true" },
    logLevel: settings.wranglerLogLevel,
    extraSql: `${sql}
UPDATE provider_settings SET hook_token = '${hookToken}'
WHERE tenant_id = '${tenantId}' AND provider = 'sandbox';`,
  });
  const failures = [];
  const options = {
    rate: settings.inboundRate,
    seconds: settings.inboundDuration,
    connections: settings.connections,
  };
  const hookPath = `/hooks/sms/sandbox/${hookToken}/inbound`;
  try {
    await must(server, "POST", "/v1/webhooks", {
      key: adminKey,
      json: { url: sink.url, events: ["inbound.received"] },
    });
    if (settings.warmup > 0) {
      console.log(`inbound: warm-up ${settings.warmup} s of each`);
      const warm = { ...options, seconds: settings.warmup };
      await postAtRate(server, "/noop", { ...warm, first: 0 });
      await postAtRate(server, hookPath, { ...warm, first: 10_000_000 });
    }
    console.log(`inbound: POST /noop, ${options.rate}/s for ${options.seconds} s`);
    const noop = await postAtRate(server, "/noop", { ...options, first: 0 });
    failures.push(...problemsOf("POST /noop", noop));
    console.log(`inbound: the hook, ${options.rate}/s for ${options.seconds} s`);
    const answered = [];
    const hook = await postAtRate(server, hookPath, { ...options, first: 1, answered });
    failures.push(...problemsOf("the inbound hook", hook));
    const ratio = hook.p99 / noop.p99;
    if (!(ratio <= TARGET_P99)) {
      failures.push(`the hook's p99 is ${format(ratio, 2)} × the no-op's (target ≤ ${TARGET_P99})`);
    }

    // Read back: each answered post stored once (warm-up posts carry numbers ≥ 10,000,000).
    const expected = new Set(answered.map((n) => `bench ${n}`));
    let stored = [];
    const storedAfter = await waitFor(async () => {
      stored = (await listInbound(server, adminKey)).filter(
        (row) => !/^bench 1\d{7}/.test(row.body),
      );
      const bodies = new Set(stored.map((row) => row.body));
      return [...expected].every((body) => bodies.has(body));
    }, READ_BACK_TIMEOUT_MS);
    const perBody = new Map();
    for (const row of stored) {
      perBody.set(row.body, (perBody.get(row.body) ?? 0) + 1);
    }
    const lost = [...expected].filter((body) => !perBody.has(body)).length;
    const doubled = [...perBody.values()].filter((count) => count > 1).length;
    if (lost > 0) {
      failures.push(`inbound: ${lost} answered posts not stored`);
    }
    if (doubled > 0) {
      failures.push(`inbound: ${doubled} posts stored more than once`);
    }

    // inbound.received: one event (one event id) per stored message, whatever was redelivered.
    const ids = new Set(stored.map((row) => row.id));
    const eventsOf = () => {
      const byInbound = new Map();
      for (const event of sink.deliveries) {
        if (event.type === "inbound.received" && ids.has(event.data?.id)) {
          const events = byInbound.get(event.data.id) ?? new Set();
          events.add(event.id);
          byInbound.set(event.data.id, events);
        }
      }
      return byInbound;
    };
    const eventsAfter = await waitFor(
      async () => eventsOf().size >= ids.size,
      READ_BACK_TIMEOUT_MS,
    );
    const byInbound = eventsOf();
    const withoutEvent = ids.size - byInbound.size;
    const manyEvents = [...byInbound.values()].filter((events) => events.size > 1).length;
    if (withoutEvent > 0) {
      failures.push(`inbound: ${withoutEvent} stored messages without inbound.received`);
    }
    if (manyEvents > 0) {
      failures.push(`inbound: ${manyEvents} stored messages with more than one inbound.received`);
    }

    const table = markdownTable(
      ["route", "posts", "2xx", "2xx/s", "p50 ms", "p99 ms", "other answers"],
      [
        [
          "POST /noop",
          noop.sent,
          noop.ok,
          format(noop.perSecond),
          noop.p50,
          noop.p99,
          noop.others.join(", ") || "none",
        ],
        [
          "POST /hooks/sms/sandbox/…/inbound",
          hook.sent,
          hook.ok,
          format(hook.perSecond),
          hook.p50,
          hook.p99,
          hook.others.join(", ") || "none",
        ],
      ],
    );
    const checks = markdownTable(
      ["check", "result", "target"],
      [
        [
          "hook p99 / no-op p99",
          format(ratio, 2),
          `≤ ${TARGET_P99} ${passFail(ratio <= TARGET_P99)}`,
        ],
        [
          "answered posts not stored",
          `${lost} (read back ${storedAfter === null ? "timed out" : `after ${format(storedAfter)} s`})`,
          `0 ${passFail(lost === 0)}`,
        ],
        ["posts stored more than once", doubled, `0 ${passFail(doubled === 0)}`],
        [
          "stored without `inbound.received`",
          `${withoutEvent} (${eventsAfter === null ? "timed out" : `all after ${format(eventsAfter)} s`})`,
          `0 ${passFail(withoutEvent === 0)}`,
        ],
        [
          "stored with more than one `inbound.received`",
          manyEvents,
          `0 ${passFail(manyEvents === 0)}`,
        ],
      ],
    );
    const markdown = `## 8. Inbound SMS hook under load

- Run: ${startedIso}, ${loadLine(before)} before the run; a fresh server, one tenant, a webhook endpoint for \`inbound.received\` on a local sink
- How: autocannon at a fixed ${options.rate} posts/s (overallRate) for ${options.seconds} s, ${options.connections} connections, after a ${settings.warmup} s warm-up of each; every hook post its own sender and text (\`{from, to, body}\`)

${table}

${checks}`;
    return { markdown, failures };
  } finally {
    await server.stop();
    await sink.stop();
  }
}
