/** Bindings that fail on purpose, and a way to call the Worker with them. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";

/**
 * A D1Database whose statements matching `fails` throw instead of running, the first `times`
 * times they run; `failures` counts how often that happened.
 */
export function flakyD1(
  db: D1Database,
  fails: (query: string) => boolean,
  times = 1,
): { db: D1Database; failures: () => number } {
  let failures = 0;
  const failing = (statement: D1PreparedStatement, query: string): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") {
          return value;
        }
        if (prop === "bind") {
          return (...args: unknown[]) => failing(value.apply(target, args), query);
        }
        if (["all", "run", "first", "raw"].includes(String(prop)) && failures < times) {
          return () => {
            failures++;
            return Promise.reject(new Error(`D1_ERROR: injected failure of ${query}`));
          };
        }
        return value.bind(target);
      },
    });
  const wrapped = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "prepare") {
        return (query: string) => {
          const statement = target.prepare(query);
          return fails(query) ? failing(statement, query) : statement;
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: wrapped, failures: () => failures };
}

/** The statement that stores a creating POST's answer for its Idempotency-Key. */
export const storesIdempotentAnswer = (query: string) =>
  /^update "idempotency_records" set "response_status"/i.test(query);

/** A request to the Worker with `testEnv` in place of its bindings, with a bearer key and JSON. */
export async function callWithEnv(
  testEnv: Env,
  path: string,
  key: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${key}`);
  if (typeof init.body === "string" && !headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  const ctx = createExecutionContext();
  const request = new Request<unknown, IncomingRequestCfProperties>(
    `http://127.0.0.1:8787${path}`,
    { method: init.method, body: init.body, headers },
  );
  const res = await worker.fetch(request, testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
