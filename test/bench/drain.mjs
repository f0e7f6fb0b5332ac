/**
 * Drain rate (run by `npm run bench`, or alone with `npm run bench -- --only drain`): one tenant is
 * paused (`PATCH /v1/tenant {"send_rate": 0}`), `drainRecipients` × `drainPerRecipient` messages
 * are accepted (each recipient's next message only after its previous one's 202, so acceptance
 * order per recipient is unambiguous; recipients concurrently, "grouped" or "interleaved"), then
 * the rate is set to `drainRate`. Measured: the rate at which the sandbox accepted them
 * (`sent_at`), overall and over the middle 90%, each within 5% of the target; and each
 * recipient's messages sent in acceptance order.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startLocalServer } from "../../scripts/local-server.mjs";
import {
  BENCH_DIR,
  benchTenants,
  call,
  format,
  listAll,
  loadLine,
  machine,
  markdownTable,
  must,
  passFail,
  percentile,
  pool,
  recipient,
  setSendRate,
  sleep,
} from "./lib.mjs";

const TOLERANCE = 0.05;
const ACCEPT_TIMEOUT_MS = 600_000;
const LOG_TIMEOUT_MS = 120_000;

async function countWithStatus(server, key, status) {
  return (await listAll(server, key, { status, maxPages: 5000 })).length;
}

async function anyWithStatus(server, key, status) {
  const body = await must(server, "GET", `/v1/messages?limit=1&status=${status}`, { key });
  return body.data.length > 0;
}

function rateFigures(times, target) {
  const n = times.length;
  const overall = n > 1 ? (n - 1) / ((times[n - 1] - times[0]) / 1000) : Number.NaN;
  const low = Math.floor(0.05 * (n - 1));
  const high = Math.ceil(0.95 * (n - 1));
  const middle = high > low ? (high - low) / ((times[high] - times[low]) / 1000) : Number.NaN;
  // Messages per whole second of the middle 90%, to show how even the release is.
  const perSecond = new Map();
  for (let i = low; i <= high; i++) {
    const second = Math.floor((times[i] - times[low]) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  // Whole seconds only (the last is partial), including seconds in which nothing was sent.
  const lastSecond = Math.floor((times[high] - times[low]) / 1000);
  const counts = Array.from({ length: lastSecond }, (_, second) => perSecond.get(second) ?? 0).sort(
    (a, b) => a - b,
  );
  let longestGap = 0;
  let longestGapAt = 0;
  for (let i = 1; i < n; i++) {
    if (times[i] - times[i - 1] > longestGap) {
      longestGap = times[i] - times[i - 1];
      longestGapAt = times[i - 1] - times[0];
    }
  }
  const within = (rate) => Math.abs(rate - target) / target <= TOLERANCE;
  return {
    overall,
    middle,
    overallOk: within(overall),
    middleOk: within(middle),
    perSecond: {
      min: counts[0],
      median: percentile(counts, 50),
      max: counts.at(-1),
      seconds: counts.length,
      idle: counts.filter((count) => count === 0).length,
    },
    longestGap,
    longestGapAt,
  };
}

/**
 * The dispatch queue's batches as wrangler logged them (`QUEUE relaybox-dispatch 100/100 (516ms)`):
 * locally one batch runs at a time, so size ÷ duration is the consumer's ceiling.
 */
function queueBatches(logFile) {
  let text = "";
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return null;
  }
  const batches = [...text.matchAll(/QUEUE relaybox-dispatch (\d+)\/(\d+) \((\d+)ms\)/g)].map(
    (m) => ({ size: Number(m[2]), ms: Number(m[3]) }),
  );
  if (batches.length === 0) {
    return null;
  }
  const sizes = batches.map((b) => b.size).sort((a, b) => a - b);
  const durations = batches.map((b) => b.ms).sort((a, b) => a - b);
  const medianSize = percentile(sizes, 50);
  const medianMs = percentile(durations, 50);
  return {
    count: batches.length,
    medianSize,
    medianMs,
    p90Ms: percentile(durations, 90),
    ceiling: medianSize / (medianMs / 1000),
  };
}

/** The drain section's heading and method, above one subsection per acceptance order. */
export function drainIntro(settings) {
  return `## 4. Drain rate and per-recipient order

- One tenant per run, paused with \`PATCH /v1/tenant {"send_rate": 0}\`; ${settings.drainRecipients} recipients × ${settings.drainPerRecipient} messages accepted by ${settings.drainConcurrency} concurrent clients, each recipient's next message only after its previous one's 202; then \`PATCH /v1/tenant {"send_rate": ${settings.drainRate}}\`. Two acceptance orders: "grouped" puts each recipient's messages next to each other in the outbox, so the last recipients' messages can only go one after another (each waits for the previous one's send result) and the end of the drain measures that round trip; "interleaved" spreads them, so the tenant's rate is what limits the drain
- Rate from \`sent_at\` (when the sandbox accepted a message, recorded by the consumer; ms), read back through \`GET /v1/messages\`; target ${settings.drainRate} msg/s within ${TOLERANCE * 100}%, both over the whole drain and over its middle 90%
- Order: for each recipient, \`sent_at\` must not decrease in acceptance order
- Locally, Miniflare's queue hands the consumer one batch at a time and starts the next only when the previous invocation has ended, \`waitUntil\` work included; the batch row shows the ceiling that leaves, and a batch that is not full waits \`max_batch_timeout\` first`;
}

/** One drain run, accepting in `settings.drainOrder` ("grouped" or "interleaved"). */
export async function runDrain(settings) {
  const order = settings.drainOrder;
  const persistTo = join(BENCH_DIR, "tmp", `drain-${order}`);
  rmSync(persistTo, { recursive: true, force: true });
  const before = machine().load;
  const startedIso = new Date().toISOString();
  const total = settings.drainRecipients * settings.drainPerRecipient;
  const { tenants, sql } = benchTenants(1, {
    prefix: "drain",
    sendRate: settings.drainRate,
    root: settings.source.dir,
  });
  const key = tenants[0].apiKey;
  const { adminKey } = tenants[0];
  console.log(`drain (${order}): starting a local server…`);
  const server = await startLocalServer({
    cwd: settings.source.dir,
    persistTo,
    vars: settings.vars,
    logLevel: settings.wranglerLogLevel,
    extraSql: sql,
  });
  const failures = [];
  try {
    await setSendRate(server, adminKey, 0);
    console.log(`drain (${order}): paused; accepting ${total} messages`);

    // Accept: each recipient's messages in sequence (the next only after the previous one's
    // 202), recipients concurrently. "grouped": a client takes a recipient and sends all of its
    // messages, then the next recipient; "interleaved": every recipient's first message, then
    // every recipient's second, and so on.
    const byRecipient = Array.from({ length: settings.drainRecipients }, () => []);
    const acceptedInOrder = [];
    const rejected = new Map();
    const acceptStarted = Date.now();
    const until = acceptStarted + ACCEPT_TIMEOUT_MS;
    async function acceptOne(r, j) {
      const result = await call(server, "POST", "/v1/messages", {
        key,
        json: { to: recipient(r), body: `drain ${j + 1} of ${settings.drainPerRecipient}` },
        timeoutMs: 30_000,
      });
      if (result.status === 202) {
        byRecipient[r].push(result.body.id);
        acceptedInOrder.push(result.body.id);
      } else {
        const label = result.status === 0 ? `no answer (${result.error})` : result.status;
        rejected.set(label, (rejected.get(label) ?? 0) + 1);
      }
    }
    if (order === "interleaved") {
      for (let j = 0; j < settings.drainPerRecipient; j++) {
        await pool(settings.drainRecipients, settings.drainConcurrency, (r) => acceptOne(r, j), {
          until,
        });
      }
    } else {
      await pool(
        settings.drainRecipients,
        settings.drainConcurrency,
        async (r) => {
          for (let j = 0; j < settings.drainPerRecipient; j++) {
            await acceptOne(r, j);
          }
        },
        { until },
      );
    }
    const acceptSeconds = (Date.now() - acceptStarted) / 1000;
    const ids = byRecipient.flat();
    console.log(`drain (${order}): ${ids.length} accepted in ${format(acceptSeconds)} s`);
    if (ids.length !== total) {
      failures.push(
        `drain (${order}): ${ids.length} of ${total} accepted (${[...rejected].map(([s, n]) => `${s}×${n}`).join(", ")})`,
      );
    }

    // While paused: the last ones answer `queued`, everything reaches the send log, nothing goes.
    const lastOnes = acceptedInOrder.slice(-20);
    const lastStatuses = new Set();
    for (const id of lastOnes) {
      lastStatuses.add((await must(server, "GET", `/v1/messages/${id}`, { key })).status);
    }
    let logged = 0;
    const logDeadline = Date.now() + LOG_TIMEOUT_MS;
    while (Date.now() < logDeadline) {
      logged = await countWithStatus(server, key, "queued");
      if (logged >= ids.length) {
        break;
      }
      await sleep(1000);
    }
    const leakedWhilePaused = [];
    for (const status of ["sending", "sent", "delivered", "failed", "expired"]) {
      if (await anyWithStatus(server, key, status)) {
        leakedWhilePaused.push(status);
      }
    }
    console.log(
      `drain (${order}): ${logged} queued in the send log; releasing at ${settings.drainRate} msg/s`,
    );
    if (logged < ids.length) {
      failures.push(
        `drain (${order}): only ${logged} of ${ids.length} in the send log as queued while paused`,
      );
    }
    if (leakedWhilePaused.length > 0) {
      failures.push(
        `drain (${order}): messages left while paused (${leakedWhilePaused.join(", ")})`,
      );
    }

    // Release, and wait (bounded) until nothing is queued or sending.
    const expectedSeconds = ids.length / settings.drainRate;
    const drainTimeoutMs = Math.max(240, expectedSeconds * 4) * 1000;
    const resumedAt = Date.now();
    await setSendRate(server, adminKey, settings.drainRate);
    let drainedAt = null;
    while (Date.now() - resumedAt < drainTimeoutMs) {
      await sleep(1000);
      const busy =
        (await anyWithStatus(server, key, "queued")) ||
        (await anyWithStatus(server, key, "sending"));
      if (!busy) {
        drainedAt = Date.now();
        break;
      }
    }
    if (!drainedAt) {
      failures.push(
        `drain (${order}): still queued or sending ${format(drainTimeoutMs / 1000, 0)} s after the release`,
      );
    }
    const rows = await listAll(server, key, { maxPages: 5000 });
    const sentAt = new Map(
      rows.filter((row) => row.sent_at).map((row) => [row.id, Date.parse(row.sent_at)]),
    );
    const times = [...sentAt.values()].sort((a, b) => a - b);
    const unsent = ids.filter((id) => !sentAt.has(id)).length;
    if (unsent > 0) {
      failures.push(`drain (${order}): ${unsent} accepted messages have no sent_at`);
    }
    const rates = rateFigures(times, settings.drainRate);
    if (!rates.overallOk) {
      failures.push(
        `drain (${order}): overall rate ${format(rates.overall)} msg/s, not within 5% of ${settings.drainRate}`,
      );
    }
    if (!rates.middleOk) {
      failures.push(
        `drain (${order}): middle-90% rate ${format(rates.middle)} msg/s, not within 5% of ${settings.drainRate}`,
      );
    }

    // Order: each recipient's sent_at must not go down in acceptance order.
    let violations = 0;
    let ties = 0;
    let recipientsOutOfOrder = 0;
    const examples = [];
    const followGaps = [];
    for (const [r, list] of byRecipient.entries()) {
      let bad = false;
      for (let i = 1; i < list.length; i++) {
        const previous = sentAt.get(list[i - 1]);
        const current = sentAt.get(list[i]);
        if (previous === undefined || current === undefined) {
          continue;
        }
        followGaps.push(current - previous);
        if (current < previous) {
          violations += 1;
          bad = true;
          if (examples.length < 3) {
            examples.push(
              `${recipient(r)}: ${list[i]} sent ${previous - current} ms before ${list[i - 1]}`,
            );
          }
        } else if (current === previous) {
          ties += 1;
        }
      }
      if (bad) {
        recipientsOutOfOrder += 1;
      }
    }
    if (violations > 0) {
      failures.push(
        `drain (${order}): ${violations} out-of-order sends (${recipientsOutOfOrder} recipients)`,
      );
    }
    followGaps.sort((a, b) => a - b);
    // The tail: the last 5% of sends, how long they took and how many recipients they were for.
    const tailFrom = times[Math.ceil(0.95 * (times.length - 1))];
    const tailRows = rows.filter((row) => row.sent_at && Date.parse(row.sent_at) >= tailFrom);
    const tail = {
      messages: tailRows.length,
      recipients: new Set(tailRows.map((row) => row.to)).size,
      seconds: (times.at(-1) - tailFrom) / 1000,
    };
    const statusCounts = new Map();
    for (const row of rows) {
      statusCounts.set(row.status, (statusCounts.get(row.status) ?? 0) + 1);
    }

    const queue = queueBatches(server.logFile);
    const firstSentAfter = times.length > 0 ? (times[0] - resumedAt) / 1000 : Number.NaN;
    const target = settings.drainRate;
    const table = markdownTable(
      ["figure", "value"],
      [
        [
          "accepted while paused",
          `${ids.length} of ${total} in ${format(acceptSeconds)} s (${format(ids.length / acceptSeconds)} req/s)${rejected.size ? `; not accepted: ${[...rejected].map(([s, n]) => `${s}×${n}`).join(", ")}` : ""}`,
        ],
        [
          "while paused",
          `last ${lastOnes.length} answered ${[...lastStatuses].join(", ")}; ${logged} queued in the send log; released while paused: ${leakedWhilePaused.length ? leakedWhilePaused.join(", ") : "none"}`,
        ],
        ["sent (have `sent_at`)", `${times.length} of ${ids.length}`],
        ["first `sent_at` after the PATCH", `${format(firstSentAfter, 2)} s`],
        [
          "span first → last `sent_at`",
          `${format(times.length > 1 ? (times.at(-1) - times[0]) / 1000 : Number.NaN, 2)} s (ideal ${format((ids.length - 1) / target, 2)} s)`,
        ],
        [
          "rate overall, (N−1)/(last−first)",
          `${format(rates.overall)} msg/s ${passFail(rates.overallOk)}`,
        ],
        ["rate over the middle 90%", `${format(rates.middle)} msg/s ${passFail(rates.middleOk)}`],
        [
          "messages per whole second (middle 90%)",
          `min ${rates.perSecond.min}, median ${rates.perSecond.median}, max ${rates.perSecond.max} over ${rates.perSecond.seconds} s; ${rates.perSecond.idle} s with none`,
        ],
        [
          "longest pause between two sends",
          `${format(rates.longestGap / 1000, 2)} s, ${format(rates.longestGapAt / 1000, 1)} s after the first send`,
        ],
        [
          "recipients out of order",
          `${recipientsOutOfOrder} (${violations} later-accepted sent earlier) ${passFail(violations === 0)}`,
        ],
        ["same-millisecond neighbours (order not visible)", String(ties)],
        [
          "one recipient's next send after its previous one",
          `median ${format(percentile(followGaps, 50) / 1000, 2)} s, p90 ${format(percentile(followGaps, 90) / 1000, 2)} s`,
        ],
        [
          "the last 5% of sends",
          `${tail.messages} messages to ${tail.recipients} recipients over ${format(tail.seconds, 2)} s`,
        ],
        [
          "dispatch queue batches (from wrangler's log)",
          queue
            ? `${queue.count} batches, median ${queue.medianSize} messages in ${queue.medianMs} ms (p90 ${queue.p90Ms} ms): at one batch at a time, a ceiling of ${format(queue.ceiling)} msg/s`
            : "not in the log",
        ],
        ["statuses at the end", [...statusCounts].map(([s, n]) => `${s} ${n}`).join(", ")],
        [
          "drained (nothing queued or sending)",
          drainedAt
            ? `${format((drainedAt - resumedAt) / 1000)} s after the PATCH (polled every second)`
            : "no",
        ],
      ],
    );
    const markdown = `### Accepted ${order}: ${order === "interleaved" ? "every recipient's 1st message, then every recipient's 2nd, …" : "a client sends one recipient's messages, then takes the next recipient"}

- Run: ${startedIso}, ${loadLine(before)} before the run

${table}

${failures.length === 0 ? "Verdict: **PASS**." : `Verdict: **FAIL**: ${failures.join("; ")}.`}${examples.length ? `\n\nOut of order, e.g.: ${examples.join("; ")}.` : ""}`;
    return { markdown, failures };
  } finally {
    await server.stop();
  }
}
