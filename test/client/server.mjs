/**
 * One `wrangler dev` for a client test file, seeded like `npm start` (the demo tenant and its test
 * key; scripts/local-server.mjs, as the browser tests' harness), with local http webhook endpoints
 * allowed so a test can receive and verify real signed events.
 */
import { createServer } from "node:http";
import {
  removeStateDir,
  startLocalServer,
  temporaryStateDir,
} from "../../scripts/local-server.mjs";

export async function startApi() {
  const persistTo = temporaryStateDir();
  const server = await startLocalServer({
    persistTo,
    vars: { WEBHOOK_ALLOW_LOCAL_HTTP: "true", RECEIPT_DEADLINE_SECONDS: 10 },
  });
  return {
    url: server.url,
    apiKey: server.apiKey,
    /** The demo's live key: test keys cannot change configuration (webhook endpoints). */
    liveApiKey: server.credentials.liveApiKey,
    async stop() {
      await server.stop();
      removeStateDir(persistTo);
    },
  };
}

/** An http server on 127.0.0.1 that records each request's headers and raw body. */
export async function startReceiver() {
  const received = [];
  const waiters = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end("ok");
      for (const waiter of waiters.splice(0)) {
        waiter();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    /** Resolves with the first request that `match`es, waiting for it up to `timeoutMs`. */
    async next(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find(match);
        if (found) {
          return found;
        }
        if (Date.now() > deadline) {
          throw new Error(`no matching request in ${timeoutMs} ms (${received.length} received)`);
        }
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 250);
        });
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
