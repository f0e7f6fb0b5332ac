/**
 * Typed access, for end-to-end tests running in Node, to the harness in scripts/local-server.mjs
 * (shared with the benchmark). The project's type check has neither Node's types nor `allowJs`,
 * so the module is loaded through a computed specifier and described here instead.
 */

export interface LocalServerOptions {
  /** State directory (D1, Durable Objects); start again with the same one to restart. */
  persistTo: string;
  /** Extra `--var`s for `wrangler dev`. */
  vars?: Record<string, string | number>;
  /** Apply migrations and the demo seed first (default true). */
  prepare?: boolean;
  extraSql?: string;
  /** wrangler's `--log-level`. */
  logLevel?: string;
  readyTimeoutMs?: number;
  port?: number;
}

export interface LocalServer {
  url: string;
  port: number;
  persistTo: string;
  /** wrangler's and workerd's output. */
  logFile: string;
  /** The demo tenant's API key (test mode, every scope). */
  apiKey: string;
  /** SIGTERM to the server's process group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole process group: a crash. */
  kill(): Promise<void>;
}

interface Harness {
  startLocalServer(options: LocalServerOptions): Promise<LocalServer>;
  temporaryStateDir(): string;
  removeStateDir(dir: string): void;
}

const harnessUrl = new URL("../../scripts/local-server.mjs", import.meta.url).href;

function harness(): Promise<Harness> {
  return import(/* @vite-ignore */ harnessUrl);
}

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  return (await harness()).startLocalServer(options);
}

export async function temporaryStateDir(): Promise<string> {
  return (await harness()).temporaryStateDir();
}

export async function removeStateDir(dir: string): Promise<void> {
  (await harness()).removeStateDir(dir);
}
