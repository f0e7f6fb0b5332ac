/**
 * A CPU profile of the Worker in workerd, through `wrangler dev`'s inspector (Chrome DevTools
 * Protocol over a WebSocket): `profileWorker()` records while `load()` runs and returns the
 * functions with the most self time, mapped back to the TypeScript sources through the bundle's
 * source map. It never throws: when the inspector cannot be reached it says why instead.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, sleep } from "./lib.mjs";

/** V8's pseudo-function for time spent waiting; the others ((program), GC) are busy time. */
const IDLE = "(idle)";

export class Inspector {
  constructor(socket) {
    this.socket = socket;
    this.nextId = 0;
    this.pending = new Map();
    this.scripts = new Map();
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data));
      if (message.id !== undefined && this.pending.has(message.id)) {
        const { resolve: done, reject } = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) {
          reject(new Error(`${message.error.message} (${message.error.code})`));
        } else {
          done(message.result);
        }
      } else if (message.method === "Debugger.scriptParsed") {
        const { scriptId, url, sourceMapURL } = message.params;
        this.scripts.set(scriptId, { url, sourceMapURL });
      }
    });
  }

  static async connect(port, timeoutMs = 10_000) {
    const targets = await fetch(`http://127.0.0.1:${port}/json`, {
      signal: AbortSignal.timeout(timeoutMs),
    }).then((response) => response.json());
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) {
      throw new Error(`the inspector on port ${port} lists no target`);
    }
    // wrangler's inspector proxy wants an Origin it knows; Node's WebSocket sends none by default.
    const socket = new WebSocket(url, { headers: { origin: "http://localhost" } });
    await new Promise((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`no WebSocket to ${url} within 10 s`)), 10_000);
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        ready();
      });
      socket.addEventListener("error", (event) => {
        clearTimeout(timer);
        fail(new Error(`WebSocket to ${url} failed: ${event.message ?? "error"}`));
      });
    });
    return new Inspector(socket);
  }

  send(method, params = {}, timeoutMs = 60_000) {
    const id = ++this.nextId;
    return new Promise((done, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          done(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close() {
    try {
      this.socket.close();
    } catch {
      // Already closed.
    }
  }
}

/** esbuild starts each module of the bundle with a `// path` comment line. */
const MODULE_COMMENT = /^\/\/ ((?:node_modules|src|\.\.?)\/\S+)$/;

/**
 * Locates a profile frame: `{location, origin}`, where location is the source file and line
 * (through the bundle's source map) and origin is the package, or the file for our own code. A
 * dependency's own source map may name sources outside its package (drizzle's `src/…`), so the
 * package comes from the bundle's module comments instead.
 */
function locator(scripts, root) {
  const cache = new Map();
  // Paths relative to the tree the server ran from (a copy of the repository), else to the repository.
  const shown = (absolute) =>
    absolute.startsWith(`${root}/`) ? relative(root, absolute) : relative(ROOT, absolute);
  function infoFor(scriptId) {
    if (cache.has(scriptId)) {
      return cache.get(scriptId);
    }
    let info = null;
    const script = scripts.get(scriptId);
    if (script?.url?.startsWith("file://")) {
      const file = fileURLToPath(script.url);
      const modules = [];
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, index) => {
          const match = MODULE_COMMENT.exec(line);
          if (match) {
            modules.push({ line: index, path: match[1] });
          }
        });
      let map = null;
      let mapFile = null;
      if (script.sourceMapURL) {
        mapFile = resolve(dirname(file), script.sourceMapURL);
        if (existsSync(mapFile)) {
          map = new SourceMap(JSON.parse(readFileSync(mapFile, "utf8")));
        }
      }
      info = { modules, map, mapFile };
    }
    cache.set(scriptId, info);
    return info;
  }
  function moduleAt(modules, line) {
    let found = null;
    for (const entry of modules) {
      if (entry.line > line) {
        break;
      }
      found = entry.path;
    }
    return found;
  }
  return (callFrame) => {
    const script = scripts.get(callFrame.scriptId);
    const url = script?.url || callFrame.url;
    if (!url) {
      return { location: "(native)", origin: "(native)" };
    }
    const info = infoFor(callFrame.scriptId);
    if (!info) {
      return { location: `${url}:${callFrame.lineNumber + 1}`, origin: `runtime (${url})` };
    }
    const modulePath = moduleAt(info.modules, callFrame.lineNumber);
    const packageMatch = modulePath && /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(modulePath);
    const origin = packageMatch ? packageMatch[1] : (modulePath ?? "(bundle)");
    const found = info.map?.findEntry(callFrame.lineNumber, callFrame.columnNumber);
    if (!found?.originalSource) {
      const where = `${modulePath ?? "bundle"} (bundle line ${callFrame.lineNumber + 1})`;
      return { location: where, origin };
    }
    const absolute = resolve(dirname(info.mapFile), found.originalSource);
    const line = found.originalLine + 1;
    if (existsSync(absolute)) {
      return { location: `${shown(absolute)}:${line}`, origin };
    }
    const source = shown(absolute).replace(/^(\.\.\/|node_modules\/)+/, "");
    return { location: `${origin}: ${source}:${line}`, origin };
  };
}

function summarise(profile, scripts, top, root) {
  const locate = locator(scripts, root);
  const selfSamples = new Map();
  for (const id of profile.samples) {
    selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  }
  const byFunction = new Map();
  const byOrigin = new Map();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const samples = selfSamples.get(node.id) ?? 0;
    if (samples === 0) {
      continue;
    }
    const name = node.callFrame.functionName || "(anonymous)";
    total += samples;
    if (name === IDLE) {
      idle += samples;
      continue;
    }
    // (program), (garbage collector), (root): V8's own entries, with no script.
    const pseudo = node.callFrame.functionName.startsWith("(") && node.callFrame.url === "";
    const { location, origin } = pseudo ? { location: "", origin: name } : locate(node.callFrame);
    const key = `${name}\u0000${location}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + samples);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + samples);
  }
  const busy = total - idle;
  const rank = (map, limit) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key, samples]) => ({ key, samples, share: samples / busy }));
  return {
    totalSamples: total,
    idleSamples: idle,
    busySamples: busy,
    durationMs: (profile.endTime - profile.startTime) / 1000,
    functions: rank(byFunction, top).map(({ key, samples, share }) => {
      const [name, location] = key.split("\u0000");
      return { name, location, samples, share };
    }),
    origins: rank(byOrigin, top).map(({ key, samples, share }) => ({
      origin: key,
      samples,
      share,
    })),
  };
}

/**
 * Writes the whole profile to `file` for a closer look (call trees, time including callees): V8's
 * `.cpuprofile` format, which Chrome DevTools opens, each frame given its source `location` and
 * `origin` as in the summary.
 */
function saveProfile(profile, scripts, root, file) {
  const locate = locator(scripts, root);
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const pseudo = frame.functionName.startsWith("(") && frame.url === "";
    Object.assign(frame, pseudo ? { location: "", origin: frame.functionName } : locate(frame));
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(profile));
}

/**
 * Profiles the Worker while `load()` runs: starts sampling `startAfterMs` into the load, stops
 * after `seconds` (or, with `untilLoadEnds`, when the load ends if that is sooner), then waits for
 * the load to end. `root`: the tree the server runs from; `saveTo`:
 * a file for the whole profile (see saveProfile). Resolves `{ok: true, …summary}` or
 * `{ok: false, reason}`.
 */
export async function profileWorker({
  inspectorPort,
  load,
  seconds = 10,
  startAfterMs = 2000,
  samplingIntervalUs = 200,
  top = 15,
  root = ROOT,
  saveTo,
  untilLoadEnds = false,
}) {
  let started = () => {};
  const sampling = new Promise((resolve) => {
    started = resolve;
  });
  // With untilLoadEnds the load waits for the profiler, so that all of it is sampled.
  const loadDone = (untilLoadEnds ? sampling : Promise.resolve()).then(load);
  let inspector;
  try {
    if (!inspectorPort) {
      throw new Error("the server was started without an inspector port");
    }
    inspector = await Inspector.connect(inspectorPort);
    // Debugger.enable announces every loaded script (with its source map); then it goes off again
    // so it costs nothing while sampling.
    await inspector.send("Debugger.enable");
    await sleep(500);
    await inspector.send("Debugger.disable");
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
    await sleep(startAfterMs);
    await inspector.send("Profiler.start");
    started();
    await Promise.race([sleep(seconds * 1000), untilLoadEnds ? loadDone : new Promise(() => {})]);
    const { profile } = await inspector.send("Profiler.stop");
    await inspector.send("Profiler.disable");
    const summary = summarise(profile, inspector.scripts, top, root);
    if (saveTo) {
      saveProfile(profile, inspector.scripts, root, saveTo);
    }
    return { ok: true, samplingIntervalUs, ...summary };
  } catch (error) {
    started();
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    inspector?.close();
    await loadDone;
  }
}
