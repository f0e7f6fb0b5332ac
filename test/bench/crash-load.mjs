/**
 * Crash under load (run by `npm run bench`, or alone with `npm run bench -- --only crash`):
 * `connections` clients send `POST /v1/messages` (live key, routed to a fake Twilio on loopback,
 * fake-carriers.mjs, that accepts every send at once and posts receipts) for `crashDuration`
 * seconds; at `crashKillAt` seconds the server gets SIGKILL (wrangler and workerd at once, so the
 * local queue loses what it held, and a send the carrier accepted may not be recorded yet), and a
 * new server starts at once on the same state and port while the clients keep going.
 * Once the send log is quiet (bounded wait): every 202 must read back final through
 * `GET /v1/messages/{id}` (a 404 is a lost message) and in the stopped server's D1; every carrier
 * acceptance must have its recorded attempt; no message may be accepted twice (the fake answers
 * the consumer's lookups, so a message whose attempt got no answer is looked up before any resend,
 * queues/reconcile.ts), nor have two `sent` attempts; and no claim may lack its attempt.
 * Requests in flight at the kill fail: expected, only 202s count.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, startLocalServer } from "../../scripts/local-server.mjs";
import {
  carrierFailures,
  carrierRows,
  compareWithCarriers,
  readSendLog,
} from "./carrier-checks.mjs";
import { startFakeCarriers } from "./fake-carriers.mjs";
import {
  BENCH_DIR,
  benchTenants,
  call,
  FINAL_STATUSES,
  format,
  listAll,
  loadLine,
  machine,
  markdownTable,
  must,
  passFail,
  pool,
  recipient,
  setSendRate,
  sleep,
} from "./lib.mjs";

/** Short deadlines so the run settles fast; reported with the figures. */
export const CRASH_VARS = {
  RELEASE_TIMEOUT_SECONDS: 5,
  RECEIPT_DEADLINE_SECONDS: 10,
  RETRY_BASE_SECONDS: 1,
  RETRY_MAX_SECONDS: 2,
  // The fake carrier listens on http://127.0.0.1 (provider base URLs are https otherwise).
  WEBHOOK_ALLOW_LOCAL_HTTP: "true",
};
const TWILIO_TOKEN = "crash-twilio-auth-token-0123456789";
const ADAPTER_TIMEOUT_MS = 5000;
/** The message's mark in its body, which Twilio's request carries: how the fake counts it. */
const markOf = (text) => /K\d+/.exec(text ?? "")?.[0] ?? null;

async function routeToFakeTwilio(server, key, fake) {
  await must(server, "PUT", "/v1/providers/twilio", {
    key,
    json: {
      config: {
        account_sid: `AC${"c7".repeat(16)}`,
        from: "+14155550100",
        base_url: fake.url,
        timeout_ms: ADAPTER_TIMEOUT_MS,
      },
      credentials: { auth_token: TWILIO_TOKEN },
    },
  });
  await must(server, "POST", "/v1/routes", {
    key,
    json: { destination: "CN", providers: [{ provider: "twilio", priority: 1, weight: 1 }] },
  });
}

/**
 * The clients' burst with the SIGKILL and restart in its middle. `holder.server` is the server
 * that is up (the restarted one afterwards).
 */
async function burst(settings, holder, key, serverOptions) {
  const target = { url: holder.server.url };
  const run = {
    accepted: new Map(),
    statuses: new Map(),
    errors: new Map(),
    started: Date.now(),
    killedAt: null,
    restartedAt: null,
  };
  const end = run.started + settings.crashDuration * 1000;
  const killAt = run.started + settings.crashKillAt * 1000;
  let sequence = 0;
  async function client() {
    while (Date.now() < end) {
      sequence += 1;
      const result = await call(target, "POST", "/v1/messages", {
        key,
        json: { to: recipient(sequence), body: `crash check K${sequence}` },
        timeoutMs: 10_000,
      });
      run.statuses.set(result.status, (run.statuses.get(result.status) ?? 0) + 1);
      if (result.status === 202) {
        run.accepted.set(result.body.id, { afterRestart: run.restartedAt !== null });
      } else if (result.status === 0) {
        run.errors.set(result.error, (run.errors.get(result.error) ?? 0) + 1);
        // The server is down: do not spin.
        await sleep(100);
      }
    }
  }
  async function killer() {
    await sleep(Math.max(0, killAt - Date.now()));
    run.killedAt = Date.now();
    await holder.server.kill();
    console.log(`crash: killed at ${format((run.killedAt - run.started) / 1000)} s; restarting`);
    holder.server = await startLocalServer({ ...serverOptions, prepare: false });
    run.restartedAt = Date.now();
    console.log(`crash: up again at ${format((run.restartedAt - run.started) / 1000)} s`);
  }
  await Promise.all([killer(), ...Array.from({ length: settings.connections }, client)]);
  run.ended = Date.now();
  return run;
}

/**
 * Polls the send log until every 202 is final and nothing in it is open, twice in a row (a message
 * still only in a dispatcher's outbox shows up between polls), so that no consumer is mid-send
 * when the claims are counted. Resolves when, or null at the deadline.
 */
async function settle(server, key, accepted, deadline) {
  let quietPolls = 0;
  while (Date.now() < deadline) {
    try {
      const rows = await listAll(server, key, { maxPages: 5000 });
      const status = new Map(rows.map((row) => [row.id, row.status]));
      const open =
        [...accepted.keys()].some((id) => !FINAL_STATUSES.includes(status.get(id))) ||
        rows.some((row) => !FINAL_STATUSES.includes(row.status));
      quietPolls = open ? 0 : quietPolls + 1;
      if (quietPolls >= 2) {
        return Date.now();
      }
    } catch (error) {
      console.warn(`crash: a poll of the send log failed: ${error.message}`);
    }
    await sleep(2000);
  }
  return null;
}

/** Every 202 read back one by one (the API asks the dispatcher for what D1 lacks): its status. */
async function readBack(server, key, ids) {
  const statusOf = new Map();
  await pool(ids.length, 10, async (i) => {
    const result = await call(server, "GET", `/v1/messages/${ids[i]}`, { key });
    statusOf.set(
      ids[i],
      result.status === 200 ? result.body.status : `answered ${result.status || "nothing"}`,
    );
  });
  return statusOf;
}

/** The verdict: what was lost, sent twice, or sent without our record. */
function judge(run, apiStatus, log, found) {
  const inLog = new Map(log.messages.map((row) => [row.id, row]));
  const ids = [...run.accepted.keys()];
  const lost = ids.filter(
    (id) =>
      !FINAL_STATUSES.includes(apiStatus.get(id)) ||
      !FINAL_STATUSES.includes(inLog.get(id)?.status),
  );
  const duplicates = [...log.attemptsOf].filter(
    ([, attempts]) => attempts.filter((a) => a.outcome === "sent").length > 1,
  );
  const failures = [];
  if (lost.length > 0) {
    const example = (id) =>
      `${id} (GET: ${apiStatus.get(id)}, D1: ${inLog.get(id)?.status ?? "missing"})`;
    failures.push(
      `crash: ${lost.length} accepted messages not final (lost), e.g. ${lost.slice(0, 3).map(example).join(", ")}`,
    );
  }
  if (duplicates.length > 0) {
    failures.push(
      `crash: ${duplicates.length} messages with more than one \`sent\` attempt, e.g. ${duplicates[0][0]}`,
    );
  }
  failures.push(...carrierFailures("crash", found));
  if (run.accepted.size === 0) {
    failures.push("crash: no message was accepted");
  }
  if (found.acceptances === 0) {
    failures.push("crash: the fake carrier accepted nothing (are the messages routed to it?)");
  }
  return { inLog, lost, duplicates, failures };
}

function crashMarkdown(settings, run, context) {
  const { apiStatus, log, found, verdict, settledAt, before, startedIso, lookups } = context;
  const { inLog, lost, duplicates, failures } = verdict;
  const ids = [...run.accepted.keys()];
  const acceptedBefore = [...run.accepted.values()].filter((a) => !a.afterRestart).length;
  const finalByStatus = new Map();
  for (const id of ids) {
    const status = inLog.get(id)?.status ?? "(not in the send log)";
    finalByStatus.set(status, (finalByStatus.get(status) ?? 0) + 1);
  }
  const notFound = ids.filter((id) => apiStatus.get(id) === "answered 404").length;
  const missing = ids.filter((id) => !inLog.has(id)).length;
  const otherStatuses = [...run.statuses]
    .filter(([code]) => code !== 202)
    .map(([code, n]) => `${code === 0 ? "no answer" : code}×${n}`)
    .join(", ");
  const errorText = [...run.errors].map(([code, n]) => `${code}×${n}`).join(", ");
  const seconds = (ms) => format(ms / 1000);
  const table = markdownTable(
    ["figure", "value"],
    [
      [
        "202s (accepted)",
        `${ids.length} (${acceptedBefore} before the kill, ${ids.length - acceptedBefore} after the restart)`,
      ],
      ["other answers", otherStatuses || "none"],
      ["connection errors (expected around the kill)", errorText || "none"],
      [
        "killed at / up again at",
        `${seconds(run.killedAt - run.started)} s / ${seconds(run.restartedAt - run.started)} s into the burst`,
      ],
      ["final", `${ids.length - lost.length} of ${ids.length}`],
      ["final states of the 202s (D1)", [...finalByStatus].map(([s, n]) => `${s} ${n}`).join(", ")],
      [
        "lost (202 but not final, or missing)",
        `${lost.length} (${notFound} answered 404 to GET, ${missing} missing from D1) ${passFail(lost.length === 0)}`,
      ],
      [
        "duplicates (more than one `sent` attempt)",
        `${duplicates.length} ${passFail(duplicates.length === 0)}`,
      ],
      ...carrierRows(found, passFail),
      ["lookups the fake carrier answered (before a resend after no answer)", String(lookups)],
      [
        "accepted without a 202 (in flight at the kill, or answered after it)",
        String(log.messages.filter((row) => !run.accepted.has(row.id)).length),
      ],
      [
        "time to settle (send log quiet)",
        settledAt
          ? `${seconds(settledAt - run.ended)} s after the load ended, ${seconds(settledAt - run.restartedAt)} s after the restart`
          : `not within ${settings.crashSettleTimeout} s`,
      ],
    ],
  );
  return `## 3. Crash under load: nothing lost, nothing sent twice

- Run: ${startedIso}, ${loadLine(before)} before the run
- Load: ${settings.connections} clients (Node fetch, keep-alive) sending \`POST /v1/messages\` for ${settings.crashDuration} s, one tenant (live key, send rate ${settings.sendRate} msg/s), a different recipient and a mark in each body
- Carrier: route CN → Twilio, whose base URL is a fake on loopback outside the Worker (test/bench/fake-carriers.mjs): it accepts every send at once, counts acceptances by the mark in the body, answers the consumer's lookups before a resend (its Messages list by \`To\`) from what it accepted, and posts receipts (twice, \`sent\` after \`delivered\`; one posted while the server is down is lost, so its message ends expired); adapter time-out ${ADAPTER_TIMEOUT_MS / 1000} s
- Crash: SIGKILL to wrangler and workerd at ${settings.crashKillAt} s; a new \`wrangler dev\` on the same state and port at once; the clients keep sending until the burst's end
- Settings for this run: ${Object.entries(CRASH_VARS)
    .map(([k, v]) => `\`${k}\` ${v}`)
    .join(", ")}; settle bound ${settings.crashSettleTimeout} s
- Checked: the send log through the API until nothing is open, every 202 read back with \`GET /v1/messages/{id}\`, then the stopped server's D1 (\`messages\`, \`message_attempts\`) against the fake carrier's acceptances

${table}

${failures.length === 0 ? "Verdict: **PASS**: every 202 reached a final state, every carrier acceptance has its recorded attempt, and none was sent twice, at the carrier either (the carrier answers lookups, so duplicates there must be 0)." : `Verdict: **FAIL**: ${failures.join("; ")}.`}`;
}

export async function runCrash(settings) {
  const persistTo = join(BENCH_DIR, "tmp", "crash");
  rmSync(persistTo, { recursive: true, force: true });
  const before = machine().load;
  const startedIso = new Date().toISOString();
  const { tenants, sql } = benchTenants(1, {
    prefix: "crash",
    sendRate: settings.sendRate,
    root: settings.source.dir,
    keyMode: "live", // test keys reach only the sandbox, inside the Worker
  });
  const { tenantId, apiKey: key } = tenants[0];
  const fake = await startFakeCarriers({
    errorRate: 0,
    timeoutRate: 0,
    twilioToken: TWILIO_TOKEN,
    tencentHookUrl: () => "",
    keyOf: (text) => markOf(text) ?? text,
  });
  const cwd = settings.source.dir;
  const serverOptions = {
    persistTo,
    vars: { ...settings.vars, ...CRASH_VARS },
    port: await freePort(),
    cwd,
    logLevel: settings.wranglerLogLevel,
  };
  console.log(`crash: fake Twilio at ${fake.url}; starting a local server…`);
  const holder = { server: await startLocalServer({ ...serverOptions, extraSql: sql }) };
  let stopped = false;
  try {
    await setSendRate(holder.server, key, settings.sendRate);
    await routeToFakeTwilio(holder.server, key, fake);
    console.log(
      `crash: ${settings.connections} connections for ${settings.crashDuration} s, SIGKILL at ${settings.crashKillAt} s`,
    );
    const run = await burst(settings, holder, key, serverOptions);
    console.log(`crash: ${run.accepted.size} accepted; waiting for the send log to be quiet`);
    const deadline = run.ended + settings.crashSettleTimeout * 1000;
    const settledAt = await settle(holder.server, key, run.accepted, deadline);
    console.log(
      settledAt
        ? `crash: quiet ${format((settledAt - run.ended) / 1000)} s after the load ended`
        : `crash: not quiet after ${settings.crashSettleTimeout} s`,
    );
    const apiStatus = await readBack(holder.server, key, [...run.accepted.keys()]);
    await holder.server.stop();
    stopped = true;

    const log = await readSendLog({ persistTo, cwd, tenantId });
    // The fake Twilio answers lookups: a second acceptance of one message is a failure.
    const found = compareWithCarriers({
      accepted: fake.accepted,
      log,
      markOf,
      lookUp: new Set(["twilio"]),
    });
    const verdict = judge(run, apiStatus, log, found);
    const markdown = crashMarkdown(settings, run, {
      apiStatus,
      log,
      found,
      verdict,
      settledAt,
      before,
      startedIso,
      lookups: fake.stats.lookups,
    });
    return { markdown, failures: verdict.failures };
  } finally {
    if (!stopped) {
      await holder.server.stop();
    }
    await fake.stop();
  }
}
