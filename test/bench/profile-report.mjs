/**
 * Reads a `.cpuprofile` that profile.mjs saved (each frame carries its source `location` and
 * `origin`) and prints where the busy time went: self time and total time (the function and what
 * it called) by function, and self time by source file or package. Shares are of busy samples
 * (all but `(idle)`); a recursive function's total counts each sample once.
 *
 *   node test/bench/profile-report.mjs [file] [--top N] [--match text] [--callers name] [--stages]
 *
 * file defaults to test/bench/tmp/profile-messages.cpuprofile; `--match` keeps only the rows whose
 * function or location contains the text (e.g. `src/` for our own code); `--callers` adds, for
 * the functions so named, their self samples by the nearest caller of ours (a `src/` frame);
 * `--stages` sums the send path's stages (STAGES: each the total time of the frames it names,
 * counted once per sample; an await ends a stack, so a stage holds its synchronous parts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DIR } from "./lib.mjs";

const IDLE = "(idle)";

/** The send path's stages and the frames (function name and location prefix) that make each. */
const STAGES = [
  ["auth (API key)", [["", "src/middleware/api-key.ts"]]],
  ["validation (zod)", [["", "@hono/zod-validator"]]],
  ["compose (number, text, cost)", [["composeMessage", "src/services/messaging/compose.ts"]]],
  ["dispatcher RPC, caller's side", [["handOver", "src/services/messaging/messages.ts"]]],
  ["dispatcher accept (DO)", [["accept", "src/durable-objects/dispatcher/tenant-dispatcher.ts"]]],
  ["outbox INSERT (DO SQL)", [["insertMessage", "src/durable-objects/dispatcher/outbox-queries"]]],
  ["202 response", [["#newResponse", "node_modules/hono/dist/context.js"]]],
  ["log lines (console)", [["write", "src/lib/log.ts"]]],
  [
    "dispatcher alarm (send log, release, results)",
    ["alarm-loop", "outbox-flush", "send-log", "releases", "send-results"].map((file) => [
      "",
      `src/durable-objects/dispatcher/${file}.ts`,
    ]),
  ],
  ["dispatch consumer (all of src/queues)", [["", "src/queues/"]]],
  ["receipts", [["", "src/services/carriers/receipts.ts"]]],
];

/** Samples whose stack holds a frame of each stage, as shares of `busy`. */
export function stageShares(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parentOf.set(child, node.id);
    }
  }
  const counts = new Map(STAGES.map(([name]) => [name, 0]));
  let busy = 0;
  for (const id of profile.samples) {
    if (byId.get(id).callFrame.functionName === IDLE) {
      continue;
    }
    busy++;
    const frames = [];
    for (let at = id; at !== undefined; at = parentOf.get(at)) {
      frames.push(byId.get(at).callFrame);
    }
    for (const [name, patterns] of STAGES) {
      const found = frames.some((frame) =>
        patterns.some(
          ([fn, where]) =>
            (fn === "" || frame.functionName === fn) && (frame.location ?? "").startsWith(where),
        ),
      );
      if (found) {
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    }
  }
  return { busy, stages: [...counts].map(([name, samples]) => ({ name, share: samples / busy })) };
}

/** Self and total samples by function, and self samples by origin, from a V8 CPU profile. */
export function aggregate(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parentOf.set(child, node.id);
    }
  }
  const selfSamples = new Map();
  for (const id of profile.samples) {
    selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  }
  const keyOf = (frame) => `${frame.functionName || "(anonymous)"}\u0000${frame.location ?? ""}`;
  const self = new Map();
  const callers = new Map();
  const total = new Map();
  const origins = new Map();
  let busy = 0;
  let idle = 0;
  for (const [id, samples] of selfSamples) {
    const node = byId.get(id);
    const frame = node.callFrame;
    if (frame.functionName === IDLE) {
      idle += samples;
      continue;
    }
    busy += samples;
    const key = keyOf(frame);
    self.set(key, (self.get(key) ?? 0) + samples);
    const origin = frame.origin ?? frame.functionName;
    origins.set(origin, (origins.get(origin) ?? 0) + samples);
    let caller = parentOf.get(id);
    while (caller !== undefined && !byId.get(caller).callFrame.location?.startsWith("src/")) {
      caller = parentOf.get(caller);
    }
    const callerKey = `${key}\u0000${caller === undefined ? "(none)" : keyOf(byId.get(caller).callFrame).replace("\u0000", " ")}`;
    callers.set(callerKey, (callers.get(callerKey) ?? 0) + samples);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parentOf.get(at)) {
      const stackKey = keyOf(byId.get(at).callFrame);
      if (!seen.has(stackKey)) {
        seen.add(stackKey);
        total.set(stackKey, (total.get(stackKey) ?? 0) + samples);
      }
    }
  }
  return { busy, idle, self, total, origins, callers };
}

function table(title, map, busy, top, match) {
  const rows = [...map]
    .filter(([key]) => !match || key.includes(match))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  console.log(`\n${title}`);
  for (const [key, samples] of rows) {
    const [name, location = ""] = key.split("\u0000");
    const share = ((samples / busy) * 100).toFixed(1).padStart(5);
    console.log(`${share}%  ${String(samples).padStart(6)}  ${name}  ${location}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: "string", default: "30" },
      match: { type: "string" },
      callers: { type: "string" },
      stages: { type: "boolean", default: false },
    },
  });
  const file = positionals[0] ?? join(BENCH_DIR, "tmp", "profile-messages.cpuprofile");
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const { busy, idle, self, total, origins, callers } = aggregate(profile);
  const top = Number(values.top);
  console.log(`${file}: ${busy} busy samples, ${idle} idle`);
  table("Self time by function", self, busy, top, values.match);
  table("Total time (with callees) by function", total, busy, top, values.match);
  table("Self time by source", origins, busy, top, values.match);
  if (values.stages) {
    console.log("\nSend path stages (share of busy samples, with callees)");
    for (const { name, share } of stageShares(profile).stages) {
      console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
    }
  }
  if (values.callers) {
    const named = new Map(
      [...callers]
        .filter(([key]) => key.split("\u0000")[0] === values.callers)
        .map(([key, samples]) => {
          const [, location, caller] = key.split("\u0000");
          return [`${location} ← ${caller}`, samples];
        }),
    );
    table(`Self time of ${values.callers} by nearest caller of ours`, named, busy, top);
  }
}
