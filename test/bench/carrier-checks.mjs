/**
 * What a carrier outside the Worker saw, held against what we recorded: the crash and chaos runs'
 * verdict on "never lost, never sent twice" must not rest on our own attempts table alone, since
 * the defects it is meant to catch are exactly an attempt, or a whole message, that we failed to
 * record. The send log is read from a stopped server's D1 (a running one may hold writes in memory).
 */
import { queryLocalD1 } from "../../scripts/local-server.mjs";

function quote(value) {
  return `'${String(value).replaceAll("'", "''")}'`;
}

/**
 * One tenant's messages (id, status, attempt_count, body) and attempts (message id, attempt,
 * provider, outcome) from the local D1 of a stopped server.
 */
export async function readSendLog({ persistTo, cwd, tenantId }) {
  const tenant = quote(tenantId);
  const messages = await queryLocalD1(
    `SELECT id, status, attempt_count, body FROM messages WHERE tenant_id = ${tenant}`,
    { persistTo, cwd },
  );
  const attempts = await queryLocalD1(
    `SELECT message_id, attempt, provider, outcome FROM message_attempts WHERE tenant_id = ${tenant}`,
    { persistTo, cwd },
  );
  const attemptsOf = new Map();
  for (const a of attempts) {
    attemptsOf.set(a.message_id, [...(attemptsOf.get(a.message_id) ?? []), a]);
  }
  return { messages, attemptsOf };
}

const count = (list, test) => list.filter(test).length;

/**
 * Compares the carriers' acceptances (`accepted`: mark → the carrier of each acceptance, from
 * fake-carriers.mjs) with the send log (`readSendLog`), messages matched by the mark `markOf`
 * finds in their body. Every list holds `{ mark, id, … }` entries that break a rule:
 * - `unrecorded`: a carrier accepted a message more often than we recorded an attempt with it
 *   that may have reached it (outcome `sent` or `unknown`), or accepted one not in our send log
 * - `phantom`: we recorded more `sent` attempts with a carrier than it accepted (the mark
 *   matching is broken, or we invented a send)
 * - `twice`: accepted more than once, by one carrier, with no attempt of ours whose outcome was
 *   unknown; `explained` counts those that had one, with a carrier that cannot be asked before a
 *   resend (the one case where a second send is allowed)
 * - `twiceDespiteLookup`: accepted more than once by a carrier in `lookUp`, which the consumer asks
 *   before sending again after an unknown outcome (queues/reconcile.ts): never allowed
 * - `acrossCarriers`: accepted by two carriers, never allowed
 * - `unrecordedClaims`: claimed more often than attempts were recorded (`attempt_count` above the
 *   attempts' count), i.e. a provider call may have happened that nobody wrote down
 */
export function compareWithCarriers({ accepted, log, markOf, lookUp = new Set() }) {
  const byMark = new Map();
  for (const message of log.messages) {
    const mark = markOf(message.body);
    if (mark !== null) {
      byMark.set(mark, message);
    }
  }
  const unrecorded = [];
  const phantom = [];
  const twice = [];
  const twiceDespiteLookup = [];
  const acrossCarriers = [];
  let explained = 0;
  const marks = new Set([...accepted.keys(), ...byMark.keys()]);
  for (const mark of marks) {
    const carriers = accepted.get(mark) ?? [];
    const message = byMark.get(mark);
    const attempts = message ? (log.attemptsOf.get(message.id) ?? []) : [];
    const id = message?.id ?? null;
    for (const carrier of new Set([...carriers, ...attempts.map((a) => a.provider)])) {
      const acceptances = count(carriers, (c) => c === carrier);
      const mine = attempts.filter((a) => a.provider === carrier);
      const reachable = count(mine, (a) => a.outcome === "sent" || a.outcome === "unknown");
      const sent = count(mine, (a) => a.outcome === "sent");
      if (acceptances > reachable) {
        unrecorded.push({ mark, id, carrier, acceptances, recorded: reachable });
      }
      if (sent > acceptances) {
        phantom.push({ mark, id, carrier, acceptances, sent });
      }
    }
    if (carriers.length > 1) {
      if (new Set(carriers).size > 1) {
        acrossCarriers.push({ mark, id, carriers });
      } else if (lookUp.has(carriers[0])) {
        twiceDespiteLookup.push({ mark, id, carrier: carriers[0], acceptances: carriers.length });
      } else if (attempts.some((a) => a.provider === carriers[0] && a.outcome === "unknown")) {
        explained += 1;
      } else {
        twice.push({ mark, id, acceptances: carriers.length });
      }
    }
  }
  const unrecordedClaims = log.messages
    .filter((m) => m.attempt_count > (log.attemptsOf.get(m.id)?.length ?? 0))
    .map((m) => ({
      mark: markOf(m.body),
      id: m.id,
      status: m.status,
      attemptCount: m.attempt_count,
      recorded: log.attemptsOf.get(m.id)?.length ?? 0,
    }));
  const acceptedMessages = count([...accepted.values()], (carriers) => carriers.length > 0);
  return {
    acceptedMessages,
    acceptances: [...accepted.values()].reduce((sum, carriers) => sum + carriers.length, 0),
    unrecorded,
    phantom,
    twice,
    twiceDespiteLookup,
    explained,
    acrossCarriers,
    unrecordedClaims,
  };
}

/** A few examples of a rule's breaches, for a failure line or the results file. */
export function examples(list, n = 3) {
  return list
    .slice(0, n)
    .map(({ mark, id, ...rest }) => {
      const detail = Object.entries(rest)
        .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join("+") : v}`)
        .join(", ");
      return `${mark ?? "?"}=${id ?? "not in the send log"} (${detail})`;
    })
    .join("; ");
}

/** The run's failures from `compareWithCarriers`, each prefixed with the section's name. */
export function carrierFailures(section, found) {
  const failures = [];
  const rule = (list, text) => {
    if (list.length > 0) {
      failures.push(`${section}: ${list.length} ${text}, e.g. ${examples(list)}`);
    }
  };
  rule(found.unrecorded, "messages a carrier accepted with no recorded attempt");
  rule(found.phantom, "messages with a recorded send the carrier never accepted");
  rule(found.twice, "messages accepted twice without an attempt of unknown outcome");
  rule(found.twiceDespiteLookup, "messages accepted twice by a carrier the consumer asks first");
  rule(found.acrossCarriers, "messages accepted by two carriers");
  rule(found.unrecordedClaims, "claims with no recorded attempt");
  return failures;
}

/** Table rows for the results file. */
export function carrierRows(found, passFail) {
  const cell = (list) =>
    `${list.length} ${passFail(list.length === 0)}${list.length > 0 ? ` (e.g. ${examples(list, 2)})` : ""}`;
  return [
    [
      "carrier acceptances (counted at the fake carrier)",
      `${found.acceptances} for ${found.acceptedMessages} messages`,
    ],
    ["messages a carrier accepted with no recorded attempt", cell(found.unrecorded)],
    ["recorded sends the carrier never accepted", cell(found.phantom)],
    [
      "accepted more than once",
      `${found.explained + found.twice.length + found.twiceDespiteLookup.length + found.acrossCarriers.length}: by a carrier that answers lookups (asked before any resend) ${cell(found.twiceDespiteLookup)}; by one that does not, after an attempt with no answer, ${found.explained}; otherwise ${cell(found.twice)}; by two carriers ${cell(found.acrossCarriers)}`,
    ],
    [
      "claims with no recorded attempt (attempt_count above the attempts)",
      cell(found.unrecordedClaims),
    ],
  ];
}
