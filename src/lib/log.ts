/**
 * The one logger: JSON lines (Workers Logs indexes their fields) with `request_id`, `tenant_id` and
 * `message_id` when known, so one request or one message can be followed across the Worker, its
 * queues and its Durable Objects. Never a secret: fields named like one are always replaced by
 * "[redacted]", and hook tokens are cut out of any string. Never a body at info: fields named like
 * message content are kept only at debug.
 */
import { redactHookTokens } from "./redact";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET =
  /secret|password|passwd|token|authorization|api_?key|master|credential|cookie|signature/i;
const CONTENT = /^(body|text|content|variables|raw|payload|reply|csv)$/i;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields` (a tenant, a message). */
  with(fields: LogFields): Logger;
}

function clean(value: unknown, level: LogLevel, depth: number): unknown {
  if (typeof value === "string") {
    return redactHookTokens(value);
  }
  if (value instanceof Error) {
    return { name: value.name, message: redactHookTokens(value.message) };
  }
  if (value === null || typeof value !== "object" || depth > 3) {
    return value;
  }
  if (Array.isArray(value)) {
    return value.slice(0, 50).map((item) => clean(item, level, depth + 1));
  }
  const out: LogFields = {};
  for (const [key, field] of Object.entries(value)) {
    if (SECRET.test(key)) {
      out[key] = "[redacted]";
    } else if (CONTENT.test(key) && level !== "debug") {
      out[key] = "[omitted]";
    } else {
      out[key] = clean(field, level, depth + 1);
    }
  }
  return out;
}

/** The JSON line for one event: what `createLogger` writes, exposed for tests. */
export function logLine(level: LogLevel, event: string, context: LogFields, fields: LogFields) {
  return JSON.stringify({
    level,
    event,
    time: new Date().toISOString(),
    ...(clean({ ...context, ...fields }, level, 0) as LogFields),
  });
}

/**
 * A logger at `minLevel` (LOG_LEVEL) whose lines carry `context`; `write` is console's by default
 * (errors and warnings to console.error, so they show as errors in Workers Logs).
 */
export function createLogger(
  minLevel: string | undefined,
  context: LogFields = {},
  write: (level: LogLevel, line: string) => void = (level, line) =>
    level === "error" || level === "warn" ? console.error(line) : console.log(line),
): Logger {
  const threshold = RANK[(minLevel as LogLevel) ?? "info"] ?? RANK.info;
  const emit =
    (level: LogLevel) =>
    (event: string, fields: LogFields = {}) => {
      if (RANK[level] >= threshold) {
        write(level, logLine(level, event, context, fields));
      }
    };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    with: (fields) => createLogger(minLevel, { ...context, ...fields }, write),
  };
}
