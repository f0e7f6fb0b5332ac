/**
 * The Relaybox API client: `import { Relaybox } from "relaybox/client"`. Typed from the API
 * document (./schema.ts, generated), on `openapi-fetch`; runs wherever `fetch` and WebCrypto do
 * (Node 20+, Workers, Deno, Bun, browsers). It is not part of the Worker's bundle.
 *
 * - `get`/`post`/`patch`/`put`/`delete` take a path of the document and its typed parameters and
 *   body, and resolve with the typed 2xx body, or throw a `RelayboxError` subclass (errors.ts).
 * - Every POST carries an `Idempotency-Key` (yours, or a fresh one), the same on each retry, so a
 *   retried create never creates twice.
 * - 429 and 503 are retried, waiting `Retry-After` (or a backoff) up to `maxRetries` times.
 * - `paginate` walks a list's `next_cursor` as an async iterator.
 */
import createClient, { type Client } from "openapi-fetch";
import { errorFor, retryAfterSeconds } from "./errors.ts";
import type { paths } from "./schema.ts";

export * from "./errors.ts";
export type { components, operations, paths, webhooks } from "./schema.ts";
export * from "./webhooks.ts";

export interface RelayboxOptions {
  /** `rbx_live_…`, `rbx_test_…` (or `rbx_platform_…` for `/v1/platform/*`). */
  apiKey: string;
  /** The deployment's origin; `http://127.0.0.1:8787` for `npm start`. */
  baseUrl: string;
  /** Retries of a 429 or 503 answer (default 3). */
  maxRetries?: number;
  /** The longest wait before a retry, whatever `Retry-After` says (default 30 s). */
  maxRetryDelayMs?: number;
  /** Your `fetch` (a test's, or a proxying one); the global one by default. */
  fetch?: typeof fetch;
  /** How a wait is done: for tests. */
  sleep?: (ms: number) => Promise<void>;
}

type HttpMethod = "get" | "put" | "post" | "delete" | "patch";
type PathsWith<M extends HttpMethod> = {
  [P in keyof paths]: paths[P][M] extends { responses: unknown } ? P : never;
}[keyof paths];
type Operation<P extends keyof paths, M extends HttpMethod> = paths[P][M];

type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : undefined;
type Success<O> = O extends { responses: infer R }
  ? {
      [S in keyof R]: S extends 200 | 201 | 202 | 204 ? JsonOf<R[S]> : never;
    }[keyof R]
  : never;

type Params<O> = O extends { parameters: infer P } ? P : never;
type Body<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? B | undefined
    : never;
type RequiredKeys<T> = {
  [K in keyof T]-?: undefined extends T[K]
    ? never
    : Record<never, never> extends Pick<T, K>
      ? never
      : K;
}[keyof T];

/** What a call takes: `params` ({path, query, header}) and `body`, each when the operation has one. */
export type RequestOptions<O> = {
  params?: Params<O>;
  body?: Body<O>;
  /** POST only: the key to use instead of a fresh one (to retry a create across restarts). */
  idempotencyKey?: string;
  signal?: AbortSignal;
} & (RequiredKeys<Params<O>> extends never ? unknown : { params: Params<O> }) &
  ([Body<O>] extends [never] ? unknown : undefined extends Body<O> ? unknown : { body: Body<O> });

type Args<O> =
  Record<never, never> extends RequestOptions<O>
    ? [options?: RequestOptions<O>]
    : [options: RequestOptions<O>];

/** A list operation: its 200 is `{data, next_cursor}` and it takes a `cursor`. */
type ListPaths = {
  [P in PathsWith<"get">]: Success<Operation<P, "get">> extends {
    data: unknown[];
    next_cursor: string | null;
  }
    ? P
    : never;
}[PathsWith<"get">];
type ItemOf<P extends ListPaths> =
  Success<Operation<P, "get">> extends { data: (infer T)[] } ? T : never;

const RETRIED = new Set([429, 503]);

interface CallOptions {
  params?: { query?: Record<string, unknown> } & Record<string, unknown>;
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export class Relaybox {
  /** The underlying openapi-fetch client (auth and retries included), for anything not covered. */
  readonly api: Client<paths>;
  private readonly options: Required<Omit<RelayboxOptions, "fetch">> & { fetch: typeof fetch };

  constructor(options: RelayboxOptions) {
    if (!options.apiKey) {
      throw new TypeError("Relaybox: apiKey is required");
    }
    this.options = {
      maxRetries: 3,
      maxRetryDelayMs: 30_000,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      ...options,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    };
    this.api = createClient<paths>({
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      headers: { authorization: `Bearer ${options.apiKey}` },
      fetch: (request: Request) => this.send(request),
    });
  }

  /** Sends with retries on 429/503; the same Idempotency-Key on every attempt of a POST. */
  private async send(request: Request): Promise<Response> {
    if (request.method === "POST" && !request.headers.has("idempotency-key")) {
      request.headers.set("idempotency-key", crypto.randomUUID());
    }
    for (let attempt = 0; ; attempt++) {
      const response = await this.options.fetch(request.clone());
      if (!RETRIED.has(response.status) || attempt >= this.options.maxRetries) {
        return response;
      }
      const after = retryAfterSeconds(response.headers.get("retry-after"));
      // Without Retry-After: 0.5 s, 1 s, 2 s…, with full jitter.
      const wait = after === undefined ? Math.random() * 500 * 2 ** attempt : after * 1000;
      await response.body?.cancel();
      await this.options.sleep(Math.min(wait, this.options.maxRetryDelayMs));
    }
  }

  private async call(method: HttpMethod, path: string, given?: object): Promise<unknown> {
    const options = (given ?? {}) as CallOptions;
    const headers: Record<string, string> = {};
    if (options.idempotencyKey) {
      headers["idempotency-key"] = options.idempotencyKey;
    }
    const init = {
      params: options.params,
      body: options.body,
      headers,
      signal: options.signal,
    };
    const upper = method.toUpperCase() as "GET" | "PUT" | "POST" | "DELETE" | "PATCH";
    // openapi-fetch's per-path overloads are checked by this class's own signatures.
    const result = await (
      this.api[upper] as (
        path: string,
        init: unknown,
      ) => Promise<{
        data?: unknown;
        error?: unknown;
        response: Response;
      }>
    )(path, init);
    if (!result.response.ok) {
      throw errorFor(result.response, result.error);
    }
    return result.data;
  }

  get<P extends PathsWith<"get">>(path: P, ...[options]: Args<Operation<P, "get">>) {
    return this.call("get", path, options) as Promise<Success<Operation<P, "get">>>;
  }

  post<P extends PathsWith<"post">>(path: P, ...[options]: Args<Operation<P, "post">>) {
    return this.call("post", path, options) as Promise<Success<Operation<P, "post">>>;
  }

  put<P extends PathsWith<"put">>(path: P, ...[options]: Args<Operation<P, "put">>) {
    return this.call("put", path, options) as Promise<Success<Operation<P, "put">>>;
  }

  patch<P extends PathsWith<"patch">>(path: P, ...[options]: Args<Operation<P, "patch">>) {
    return this.call("patch", path, options) as Promise<Success<Operation<P, "patch">>>;
  }

  delete<P extends PathsWith<"delete">>(path: P, ...[options]: Args<Operation<P, "delete">>) {
    return this.call("delete", path, options) as Promise<Success<Operation<P, "delete">>>;
  }

  /**
   * Every item of a list, page after page (`for await (const m of rb.paginate("/v1/messages"))`),
   * following `next_cursor` until it is null.
   */
  async *paginate<P extends ListPaths>(
    path: P,
    ...[options]: Args<Operation<P, "get">>
  ): AsyncGenerator<ItemOf<P>, void, undefined> {
    const base = (options ?? {}) as CallOptions;
    let cursor: string | null | undefined;
    do {
      const query = { ...(base.params?.query ?? {}), ...(cursor ? { cursor } : {}) };
      const page = (await this.call("get", path, {
        ...base,
        params: { ...base.params, query },
      })) as { data: ItemOf<P>[]; next_cursor: string | null };
      yield* page.data;
      cursor = page.next_cursor;
    } while (cursor);
  }
}
