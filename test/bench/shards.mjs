/**
 * Sharded dispatch end to end (run by `npm run bench`, or alone with `npm run bench -- --only
 * shards`): one tenant with `dispatch_shards` = `shardsCount` (`PATCH /v1/platform/tenants/{id}`
 * with the platform key), both dispatch queues, `shardsMessages` messages to `shardsRecipients`
 * recipients, each body carrying its recipient's number and a per-recipient sequence number.
 * `shardsSingleShare` of the recipients get theirs as single sends (`POST /v1/messages`, the
 * transactional lane: each recipient's next only after the previous one's 202), the rest as batches
 * (`POST /v1/batches`, the bulk lane: batch k holds every such recipient's k-th message, each
 * batch posted after the previous one's 202). A recipient's messages all go in one lane, since
 * the transactional lane is meant to overtake the bulk one: order is promised within a lane.
 * Accepted while the tenant is paused (send rate 0), then released at `shardsRate` msg/s.
 *
 * Counted at a fake Twilio on loopback, outside the Worker (it answers every send at once, answers
 * the consumer's lookups before a resend from what it accepted, and posts no receipts: the
 * messages end `expired`, which the counts do not look at): every message
 * must arrive (0 lost), once (0 duplicates), and each recipient's in sequence order (0 out of
 * order); the rate at the carrier over the steady part (the 10th to the 90th percentile of
 * arrivals, while every shard still has work) must be within 2% of the tenant's rate.
 * Then the same again on fresh state, with SIGKILL to wrangler and workerd once
 * `shardsKillAt` of the messages reached the carrier, and a new `wrangler dev` on the same state
 * and port at once: still 0 lost, 0 duplicates, 0 out of order (the rate is not judged: the
 * restart's gap is in it).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import {
  freePort,
  newMasterKey,
  newPlatformKey,
  queryLocalD1,
  startLocalServer,
} from "../../scripts/local-server.mjs";
import { newApiKey, tenantSql } from "../../scripts/seed.mjs";
import {
  BENCH_DIR,
  BENCH_KEY_LIMIT,
  call,
  format,
  hasKeyRateLimitColumns,
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

const RATE_TOLERANCE = 0.02;
const SINGLE_CLIENTS = 40;
/** Short deadlines so a lost release is released again soon after the restart. */
const SHARDS_VARS = {
  RELEASE_TIMEOUT_SECONDS: 5,
  RECEIPT_DEADLINE_SECONDS: 10,
  RETRY_BASE_SECONDS: 1,
  RETRY_MAX_SECONDS: 2,
  // The fake carrier listens on http://127.0.0.1 (provider base URLs are https otherwise).
  WEBHOOK_ALLOW_LOCAL_HTTP: "true",
};
const TWILIO_TOKEN = "shards-twilio-auth-token-0123456789";
/** The mark in each body: recipient index and sequence number (`Q00042S07`). */
const MARK = /Q(\d+)S(\d+)/;
const markOf = (r, k) => `Q${String(r).padStart(5, "0")}S${String(k).padStart(2, "0")}`;

/**
 * A fake Twilio that records each send it accepts (the mark in its body, and when), and answers
 * the consumer's lookups before a resend (queues/reconcile.ts) from them: its Messages list by
 * `To`, newest first.
 */
async function startFakeTwilio() {
  const arrivals = [];
  let unreadable = 0;
  let sequence = 0;
  let lookups = 0;
  const listed = new Map(); // To → Message resources, oldest first
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const url = new URL(request.url, "http://127.0.0.1");
      if (request.method === "GET" && url.pathname.endsWith("/Messages.json")) {
        lookups += 1;
        const messages = [...(listed.get(url.searchParams.get("To")) ?? [])].reverse();
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ messages, page_size: messages.length }));
        return;
      }
      if (!url.pathname.endsWith("/Messages.json")) {
        response.writeHead(404);
        response.end();
        return;
      }
      const form = new URLSearchParams(body);
      const text = form.get("Body") ?? "";
      const mark = MARK.exec(text);
      if (mark) {
        arrivals.push({ r: Number(mark[1]), k: Number(mark[2]), at: Date.now() });
      } else {
        unreadable += 1;
      }
      const sid = `SM${String(++sequence).padStart(32, "0")}`;
      const to = form.get("To");
      listed.set(to, [
        ...(listed.get(to) ?? []),
        {
          sid,
          to,
          body: text,
          direction: "outbound-api",
          status: "queued",
          date_created: new Date().toUTCString().replace("GMT", "+0000"),
        },
      ]);
      response.writeHead(201, { "content-type": "application/json" });
      response.end(JSON.stringify({ sid, status: "queued" }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    arrivals,
    unreadable: () => unreadable,
    lookups: () => lookups,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

async function setUpTenant(server, { key, tenantId, platformKey, fake, shards }) {
  await must(server, "PUT", "/v1/providers/twilio", {
    key,
    json: {
      config: {
        account_sid: `AC${"5d".repeat(16)}`,
        from: "+14155550100",
        base_url: fake.url,
        timeout_ms: 5000,
      },
      credentials: { auth_token: TWILIO_TOKEN },
    },
  });
  await must(server, "POST", "/v1/routes", {
    key,
    json: { destination: "CN", providers: [{ provider: "twilio", priority: 1, weight: 1 }] },
  });
  const patched = await must(server, "PATCH", `/v1/platform/tenants/${tenantId}`, {
    key: platformKey,
    json: { dispatch_shards: shards },
  });
  if (patched.dispatch_shards !== shards) {
    throw new Error(`dispatch_shards ${shards} asked, the tenant has ${patched.dispatch_shards}`);
  }
  const created = await must(server, "POST", "/v1/templates", {
    key,
    json: {
      name: "Shards check",
      kind: "notification",
      body: "Shards check {{mark}}",
      variables: [{ name: "mark", type: "code", max_length: 12 }],
    },
  });
  await must(server, "POST", `/v1/templates/${created.id}/submit`, { key, json: {} });
  await must(server, "POST", `/v1/templates/${created.id}/approve`, { key, json: {} });
  return created.id;
}

/** Every message accepted, paused: singles for the first half of the recipients, batches for the rest. */
async function acceptAll(server, key, templateId, settings) {
  const recipients = settings.shardsRecipients;
  const perRecipient = Math.round(settings.shardsMessages / recipients);
  const singles = Math.round(recipients * settings.shardsSingleShare);
  const refused = [];
  let accepted = 0;
  const started = Date.now();
  const sendSingles = pool(singles, SINGLE_CLIENTS, async (r) => {
    for (let k = 1; k <= perRecipient; k++) {
      const result = await call(server, "POST", "/v1/messages", {
        key,
        json: { to: recipient(r), body: `Shards check ${markOf(r, k)}` },
        timeoutMs: 60_000,
      });
      if (result.status === 202) {
        accepted += 1;
      } else {
        refused.push(`single ${markOf(r, k)}: ${result.status} ${result.error ?? ""}`);
        return; // the recipient's later ones would be out of order with a gap: stop here
      }
    }
  });
  const sendBatches = (async () => {
    for (let k = 1; k <= perRecipient; k++) {
      const rows = [];
      for (let r = singles; r < recipients; r++) {
        rows.push({ to: recipient(r), variables: { mark: markOf(r, k) } });
      }
      const result = await call(server, "POST", "/v1/batches", {
        key,
        json: { template_id: templateId, recipients: rows },
        timeoutMs: 120_000,
      });
      if (result.status === 202 && result.body.accepted === rows.length) {
        accepted += rows.length;
      } else {
        refused.push(
          `batch ${k}: ${result.status} ${JSON.stringify(result.body ?? result.error).slice(0, 200)}`,
        );
        return;
      }
    }
  })();
  await Promise.all([sendSingles, sendBatches]);
  return {
    accepted,
    refused,
    perRecipient,
    singles,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Waits until the carrier saw every mark (then `graceMs` more, for late duplicates), or the deadline. */
async function waitForCarrier(fake, expected, deadline, graceMs) {
  const distinct = () => new Set(fake.arrivals.map((a) => a.r * 100 + a.k)).size;
  while (Date.now() < deadline && distinct() < expected) {
    await sleep(1000);
  }
  const complete = distinct() >= expected;
  await sleep(graceMs);
  return complete;
}

/** Lost, duplicated and out-of-order counts from the carrier's arrivals. */
function judgeArrivals(arrivals, { recipients, perRecipient }) {
  const seen = new Map();
  let duplicates = 0;
  const duplicated = [];
  for (const a of arrivals) {
    const key = a.r * 100 + a.k;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (seen.get(key) === 2) {
      duplicated.push(markOf(a.r, a.k));
    }
    if (seen.get(key) > 1) {
      duplicates += 1;
    }
  }
  let lost = 0;
  const lostExamples = [];
  for (let r = 0; r < recipients; r++) {
    for (let k = 1; k <= perRecipient; k++) {
      if (!seen.has(r * 100 + k)) {
        lost += 1;
        if (lostExamples.length < 3) {
          lostExamples.push(markOf(r, k));
        }
      }
    }
  }
  // Per recipient, the first arrival of each sequence number must come in sequence order.
  const last = new Map();
  const firstSeen = new Set();
  let outOfOrder = 0;
  const disorderExamples = [];
  for (const a of arrivals) {
    const key = a.r * 100 + a.k;
    if (firstSeen.has(key)) {
      continue;
    }
    firstSeen.add(key);
    const previous = last.get(a.r) ?? 0;
    if (a.k !== previous + 1) {
      outOfOrder += 1;
      if (disorderExamples.length < 3) {
        disorderExamples.push(`${markOf(a.r, a.k)} after S${String(previous).padStart(2, "0")}`);
      }
    }
    last.set(a.r, Math.max(previous, a.k));
  }
  return { lost, lostExamples, duplicates, duplicated, outOfOrder, disorderExamples };
}

/** The rate at the carrier over the steady part: first arrivals, 10th to 90th percentile. */
function steadyRate(arrivals) {
  const times = arrivals.map((a) => a.at).sort((x, y) => x - y);
  const n = times.length;
  if (n < 10) {
    return { rate: Number.NaN, seconds: 0, count: 0 };
  }
  const low = Math.floor(0.1 * (n - 1));
  const high = Math.ceil(0.9 * (n - 1));
  const seconds = (times[high] - times[low]) / 1000;
  const perSecond = new Map();
  for (let i = low; i <= high; i++) {
    const second = Math.floor((times[i] - times[low]) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  const whole = Math.floor(seconds);
  const counts = Array.from({ length: whole }, (_, s) => perSecond.get(s) ?? 0).sort(
    (a, b) => a - b,
  );
  return {
    rate: (high - low) / seconds,
    seconds,
    count: high - low,
    overall: (n - 1) / ((times[n - 1] - times[0]) / 1000),
    perSecond: { min: counts[0], median: percentile(counts, 50), max: counts.at(-1) },
  };
}

async function runOnce(settings, { kill }) {
  const name = kill ? "kill" : "clean";
  const persistTo = join(BENCH_DIR, "tmp", `shards-${name}`);
  rmSync(persistTo, { recursive: true, force: true });
  const before = machine().load;
  const startedIso = new Date().toISOString();
  // Not benchTenants(): the platform API takes only `tnt_` and letters or digits as an id.
  const tenantId = `tnt_benchshards${kill ? "k" : "c"}01`;
  const key = newApiKey("live"); // test keys reach only the sandbox, inside the Worker
  const sql = tenantSql({
    tenantId,
    apiKey: key,
    adminKey: newApiKey("live"),
    sendRate: settings.shardsRate,
    keyRateLimit: hasKeyRateLimitColumns(settings.source.dir) ? BENCH_KEY_LIMIT : undefined,
  });
  // The platform key, known here before the server starts (startLocalServer keeps a secrets file
  // it finds in the state directory).
  const platformKey = newPlatformKey();
  mkdirSync(persistTo, { recursive: true });
  const fake = await startFakeTwilio();
  const serverOptions = {
    persistTo,
    vars: { ...settings.vars, ...SHARDS_VARS },
    port: await freePort(),
    cwd: settings.source.dir,
    logLevel: settings.wranglerLogLevel,
  };
  const holder = { server: null };
  const run = { name, startedIso, before, kill };
  try {
    writeFileSync(
      join(persistTo, "secrets.env"),
      `MASTER_KEY=${newMasterKey()}\nPLATFORM_KEY=${platformKey}\n`,
      { mode: 0o600 },
    );
    console.log(`shards (${name}): fake Twilio at ${fake.url}; starting a local server…`);
    holder.server = await startLocalServer({ ...serverOptions, extraSql: sql });
    const templateId = await setUpTenant(holder.server, {
      key,
      tenantId,
      platformKey,
      fake,
      shards: settings.shardsCount,
    });
    await setSendRate(holder.server, key, 0);
    console.log(
      `shards (${name}): ${settings.shardsCount} shards, paused; accepting ${settings.shardsMessages} messages`,
    );
    run.accept = await acceptAll(holder.server, key, templateId, settings);
    console.log(
      `shards (${name}): ${run.accept.accepted} accepted in ${format(run.accept.seconds)} s; ${run.accept.refused.length} refused`,
    );
    run.leakedWhilePaused = fake.arrivals.length;
    const expected = settings.shardsRecipients * run.accept.perRecipient;
    run.releasedAt = Date.now();
    await setSendRate(holder.server, key, settings.shardsRate);
    console.log(`shards (${name}): released at ${settings.shardsRate} msg/s`);
    if (kill) {
      const killAfter = Math.floor(expected * settings.shardsKillAt);
      while (fake.arrivals.length < killAfter && Date.now() - run.releasedAt < 600_000) {
        await sleep(50);
      }
      run.killedAtArrivals = fake.arrivals.length;
      run.killedAt = Date.now();
      await holder.server.kill();
      console.log(
        `shards (${name}): SIGKILL after ${run.killedAtArrivals} arrivals; restarting on the same state`,
      );
      holder.server = await startLocalServer({ ...serverOptions, prepare: false });
      run.restartedAt = Date.now();
      run.arrivalsDuringRestart = fake.arrivals.filter(
        (a) => a.at > run.killedAt && a.at <= run.restartedAt,
      ).length;
    }
    const deadline = Date.now() + settings.shardsSettleTimeout * 1000;
    // Past the release time-out, so a release lost with the queue would have gone again.
    const graceMs = (SHARDS_VARS.RELEASE_TIMEOUT_SECONDS + 3) * 1000;
    run.complete = await waitForCarrier(fake, expected, deadline, graceMs);
    run.drainSeconds = (Date.now() - graceMs - run.releasedAt) / 1000;
    run.arrivals = [...fake.arrivals];
    run.unreadable = fake.unreadable();
    run.lookups = fake.lookups();
    run.verdict = judgeArrivals(run.arrivals, {
      recipients: settings.shardsRecipients,
      perRecipient: run.accept.perRecipient,
    });
    run.expected = expected;
    run.rate = steadyRate(run.arrivals);
    await must(holder.server, "GET", "/healthz");
  } finally {
    await holder.server?.stop();
    await fake.stop();
  }
  if (run.verdict?.duplicates > 0) {
    run.unknownMarks = await marksWithUnknownOutcome(persistTo, settings.source.dir, tenantId);
  }
  return run;
}

/**
 * The marks of the messages with an attempt whose outcome is unknown (the carrier's answer was
 * not recorded before the crash: sent again to the same carrier, by design), read from the
 * stopped server's D1.
 */
async function marksWithUnknownOutcome(persistTo, cwd, tenantId) {
  const rows = await queryLocalD1(
    `SELECT DISTINCT m.body FROM message_attempts a JOIN messages m ON m.id = a.message_id
     WHERE a.tenant_id = '${tenantId}' AND a.outcome = 'unknown'`,
    { persistTo, cwd },
  );
  return new Set(rows.map((row) => MARK.exec(row.body)?.[0]).filter(Boolean));
}

function failuresOf(settings, run) {
  const failures = [];
  const tag = `shards (${run.name})`;
  const v = run.verdict;
  if (run.accept.accepted !== run.expected || run.accept.refused.length > 0) {
    failures.push(
      `${tag}: ${run.accept.accepted} of ${run.expected} accepted (${run.accept.refused.slice(0, 2).join("; ")})`,
    );
  }
  if (run.leakedWhilePaused > 0) {
    failures.push(`${tag}: ${run.leakedWhilePaused} sends while paused`);
  }
  if (v.lost > 0) {
    failures.push(`${tag}: ${v.lost} lost, e.g. ${v.lostExamples.join(", ")}`);
  }
  if (v.duplicates > 0) {
    failures.push(
      `${tag}: ${v.duplicates} duplicate sends at the carrier, e.g. ${v.duplicated.slice(0, 3).join(", ")}`,
    );
  }
  if (v.outOfOrder > 0) {
    failures.push(`${tag}: ${v.outOfOrder} out of order, e.g. ${v.disorderExamples.join(", ")}`);
  }
  if (run.unreadable > 0) {
    failures.push(`${tag}: ${run.unreadable} sends without a mark`);
  }
  if (!run.kill) {
    const off = Math.abs(run.rate.rate - settings.shardsRate) / settings.shardsRate;
    if (!(off <= RATE_TOLERANCE)) {
      failures.push(
        `${tag}: steady rate ${format(run.rate.rate)} msg/s, ${format(off * 100)}% off ${settings.shardsRate} (≤ ${RATE_TOLERANCE * 100}%)`,
      );
    }
  }
  return failures;
}

function explainedCount(run) {
  return run.verdict.duplicated.filter((mark) => run.unknownMarks?.has(mark)).length;
}

function runRows(settings, run) {
  const v = run.verdict;
  const rows = [
    ["run", `${run.startedIso}, ${loadLine(run.before)} before it`],
    [
      "accepted (paused)",
      `${run.accept.accepted} of ${run.expected} in ${format(run.accept.seconds)} s (${run.accept.singles} recipients × ${run.accept.perRecipient} singles, ${settings.shardsRecipients - run.accept.singles} recipients in ${run.accept.perRecipient} batches)`,
    ],
    ["sent while paused", String(run.leakedWhilePaused)],
  ];
  if (run.kill) {
    rows.push([
      "SIGKILL",
      `after ${run.killedAtArrivals} arrivals at the carrier (${format((run.killedAt - run.releasedAt) / 1000)} s after the release); up again ${format((run.restartedAt - run.killedAt) / 1000)} s later, on the same state and port`,
    ]);
  }
  rows.push(
    [
      "arrivals at the carrier",
      `${run.arrivals.length} (${run.complete ? "every message seen" : `not all within ${settings.shardsSettleTimeout} s`}; drain ${format(run.drainSeconds)} s from the release)`,
    ],
    [
      "lost",
      `${v.lost}${v.lost ? ` (e.g. ${v.lostExamples.join(", ")})` : ""} ${passFail(v.lost === 0)}`,
    ],
    [
      "duplicates (a second send of one message)",
      `${v.duplicates}${v.duplicates ? ` (e.g. ${v.duplicated.slice(0, 3).join(", ")}; ${explainedCount(run)} of the ${v.duplicated.length} messages sent twice had an attempt whose outcome is unknown in D1)` : ""} ${passFail(v.duplicates === 0)}`,
    ],
    [
      "lookups the fake Twilio answered (the consumer asks before a resend after no answer)",
      String(run.lookups ?? 0),
    ],
    [
      "out of order per recipient",
      `${v.outOfOrder}${v.outOfOrder ? ` (e.g. ${v.disorderExamples.join(", ")})` : ""} ${passFail(v.outOfOrder === 0)}`,
    ],
  );
  if (!run.kill) {
    const off = (run.rate.rate - settings.shardsRate) / settings.shardsRate;
    rows.push([
      "rate at the carrier, steady part (10th–90th percentile of arrivals)",
      `${format(run.rate.rate)} msg/s over ${format(run.rate.seconds)} s (${off >= 0 ? "+" : ""}${format(off * 100, 2)}% of ${settings.shardsRate}) ${passFail(Math.abs(off) <= RATE_TOLERANCE)}; per whole second min ${run.rate.perSecond.min}, median ${run.rate.perSecond.median}, max ${run.rate.perSecond.max}; whole drain ${format(run.rate.overall)} msg/s`,
    ]);
  }
  return rows;
}

export async function runShards(settings) {
  const clean = await runOnce(settings, { kill: false });
  const killed = await runOnce(settings, { kill: true });
  const failures = [...failuresOf(settings, clean), ...failuresOf(settings, killed)];
  const markdown = `## Sharded dispatch: ${settings.shardsMessages} messages over ${settings.shardsCount} shards, counted at the carrier (lost, duplicated, reordered, rate)

- One tenant, \`dispatch_shards\` ${settings.shardsCount} (\`PATCH /v1/platform/tenants/{id}\`, platform key), both dispatch queues (\`relaybox-dispatch\` for the single sends, \`relaybox-dispatch-bulk\` for the batches); ${settings.shardsMessages} messages to ${settings.shardsRecipients} recipients, each body marked with its recipient and a per-recipient sequence number. ${format(settings.shardsSingleShare * 100, 0)}% of the recipients get theirs as single sends (transactional lane; each recipient's next after the previous 202, ${SINGLE_CLIENTS} recipients at a time), the rest as batches (bulk lane; batch k holds every such recipient's k-th message, each batch after the previous 202). A recipient's messages stay in one lane: the transactional lane overtakes the bulk one by design, so order is promised within a lane
- Accepted while paused (\`send_rate\` 0), then \`PATCH /v1/tenant {"send_rate": ${settings.shardsRate}}\` (${format(settings.shardsRate / settings.shardsCount)} msg/s a shard)
- Counted at a fake Twilio on loopback, outside the Worker: every send it accepts, by the mark in its body, with its arrival time; it answers at once, answers the consumer's lookups before a resend (its Messages list by \`To\`) from what it accepted, and posts no receipts (the messages end \`expired\`, which nothing here counts). Lost: a mark never seen; duplicate: a mark seen twice; out of order: a recipient's first sight of sequence k+1 not right after k. Rate: arrivals between the 10th and the 90th percentile, over that time (every shard still has work then), within ${RATE_TOLERANCE * 100}% of the tenant's rate
- Second run: fresh state; SIGKILL to wrangler and workerd once ${format(settings.shardsKillAt * 100, 0)}% of the messages reached the carrier, a new \`wrangler dev\` on the same state and port at once; then the same counts (the rate is not judged there: the restart's gap is in it)
- Settings: ${Object.entries(SHARDS_VARS)
    .map(([k, v]) => `\`${k}\` ${v}`)
    .join(", ")}; settle bound ${settings.shardsSettleTimeout} s after the release

### Without a crash

${markdownTable(["figure", "value"], runRows(settings, clean))}

### SIGKILL mid-run, restarted on the same state

${markdownTable(["figure", "value"], runRows(settings, killed))}

${failures.length === 0 ? "Verdict: **PASS**: every message reached the carrier once, in order per recipient, at the tenant's rate, and the same after a SIGKILL." : `Verdict: **FAIL**: ${failures.join("; ")}.`}`;
  return { markdown, failures };
}
