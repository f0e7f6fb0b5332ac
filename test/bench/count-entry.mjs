/**
 * A counting entry for the Worker, used by count-ops.mjs only: it is copied into a source snapshot
 * (never into src/ of the repository) as `src/count-entry.mjs`, and that snapshot's wrangler.toml
 * points `main` at it. It wraps the real entry (`./index`) and its TenantDispatcher: every D1
 * statement (with the rows D1 says it read and wrote), every Durable Object RPC, every SQL
 * statement and storage call inside a dispatcher, every alarm run, queue send and queue batch is
 * counted in this isolate, and `GET /__counts` answers the totals (`POST /__counts/reset` zeroes
 * them). The Worker's own code is unchanged, so the same file counts any commit.
 */
import worker, { TenantDispatcher as CountedDispatcher } from "./index";

export {
  PlatformNumberLimiter,
  TenantDesk,
  VerificationLimiter,
  WebchatHub,
  WeChatAccount,
  WeChatSandbox,
} from "./index";

let counts = fresh();
let cursors = [];

function fresh() {
  return {
    requests: {},
    d1: { roundTrips: 0, batches: 0, statements: 0, rowsRead: 0, rowsWritten: 0, bySql: {} },
    rpc: {},
    doSql: { statements: 0, bySql: {} },
    storage: {},
    alarms: 0,
    queueSends: {},
    queueBatches: {},
    acks: 0,
    retries: 0,
  };
}

function bump(table, key, by = 1) {
  table[key] = (table[key] ?? 0) + by;
}

/** A statement's shape: whitespace collapsed, repeated placeholder groups folded, cut short. */
function shape(sql) {
  return String(sql)
    .replace(/\s+/g, " ")
    .replace(/\?\d*/g, "?")
    .replace(/\((\?, )*\?\)(, \((\?, )*\?\))+/g, "(?…)+")
    .replace(/(\?, )+\?/g, "?…")
    .trim()
    .slice(0, 140);
}

function d1Row(key) {
  counts.d1.bySql[key] ??= { statements: 0, rowsRead: 0, rowsWritten: 0 };
  return counts.d1.bySql[key];
}

function noteD1Result(key, result) {
  const meta = result?.meta;
  const row = d1Row(key);
  row.statements += 1;
  counts.d1.statements += 1;
  if (meta) {
    row.rowsRead += meta.rows_read ?? 0;
    row.rowsWritten += meta.rows_written ?? 0;
    counts.d1.rowsRead += meta.rows_read ?? 0;
    counts.d1.rowsWritten += meta.rows_written ?? 0;
  }
}

const STATEMENT = Symbol("statement");

function countedStatement(statement, key) {
  const wrapped = {
    [STATEMENT]: { statement, key },
    bind: (...args) => countedStatement(statement.bind(...args), key),
    async first(column) {
      counts.d1.roundTrips += 1;
      // `first` gives no meta; run `all` to see it and pick the first row as `first` would.
      const result = await statement.all();
      noteD1Result(key, result);
      const row = result.results[0] ?? null;
      return column === undefined || row === null ? row : row[column];
    },
    async all() {
      counts.d1.roundTrips += 1;
      const result = await statement.all();
      noteD1Result(key, result);
      return result;
    },
    async run() {
      counts.d1.roundTrips += 1;
      const result = await statement.run();
      noteD1Result(key, result);
      return result;
    },
    async raw(options) {
      counts.d1.roundTrips += 1;
      d1Row(key).statements += 1;
      counts.d1.statements += 1;
      return statement.raw(options);
    },
  };
  return wrapped;
}

function countedD1(db) {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql) => countedStatement(target.prepare(sql), shape(sql));
      }
      if (prop === "batch") {
        return async (statements) => {
          counts.d1.roundTrips += 1;
          counts.d1.batches += 1;
          const inner = statements.map((s) => s[STATEMENT]?.statement ?? s);
          const results = await target.batch(inner);
          results.forEach((result, i) => {
            noteD1Result(statements[i][STATEMENT]?.key ?? "(unknown)", result);
          });
          return results;
        };
      }
      const member = Reflect.get(target, prop, target);
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

function countedStub(stub) {
  return new Proxy(stub, {
    get(target, prop) {
      const member = Reflect.get(target, prop, target);
      if (typeof member !== "function" || typeof prop !== "string") {
        return member;
      }
      return (...args) => {
        bump(counts.rpc, prop);
        return Reflect.apply(member, target, args);
      };
    },
  });
}

function countedNamespace(namespace) {
  return new Proxy(namespace, {
    get(target, prop) {
      const member = Reflect.get(target, prop, target);
      if (prop === "get" || prop === "getByName") {
        return (...args) => countedStub(Reflect.apply(member, target, args));
      }
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

function countedQueue(queue, name) {
  return new Proxy(queue, {
    get(target, prop) {
      const member = Reflect.get(target, prop, target);
      if (prop === "send") {
        return (...args) => {
          bump(counts.queueSends, `${name}.send calls`);
          bump(counts.queueSends, `${name} messages`);
          return Reflect.apply(member, target, args);
        };
      }
      if (prop === "sendBatch") {
        return (messages, ...rest) => {
          bump(counts.queueSends, `${name}.sendBatch calls`);
          bump(counts.queueSends, `${name} messages`, [...messages].length);
          return Reflect.apply(member, target, [messages, ...rest]);
        };
      }
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

const wrappedEnvs = new WeakMap();

function countedEnv(env) {
  if (wrappedEnvs.has(env)) {
    return wrappedEnvs.get(env);
  }
  const wrapped = { ...env };
  for (const [name, value] of Object.entries(env)) {
    if (name === "DB") {
      wrapped.DB = countedD1(value);
    } else if (name === "DISPATCHER" || name === "WECHAT_ACCOUNT") {
      wrapped[name] = countedNamespace(value);
    } else if (name.endsWith("_QUEUE")) {
      wrapped[name] = countedQueue(value, name);
    }
  }
  wrappedEnvs.set(env, wrapped);
  return wrapped;
}

function countedSql(sql) {
  return new Proxy(sql, {
    get(target, prop) {
      if (prop === "exec") {
        return (query, ...args) => {
          const cursor = target.exec(query, ...args);
          counts.doSql.statements += 1;
          cursors.push([shape(query), cursor]);
          return cursor;
        };
      }
      const member = Reflect.get(target, prop, target);
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

function countedStorage(storage) {
  const sql = countedSql(storage.sql);
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === "sql") {
        return sql;
      }
      const member = Reflect.get(target, prop, target);
      if (typeof member !== "function") {
        return member;
      }
      return (...args) => {
        bump(counts.storage, String(prop));
        return Reflect.apply(member, target, args);
      };
    },
  });
}

function countedState(state) {
  const storage = countedStorage(state.storage);
  return new Proxy(state, {
    get(target, prop) {
      if (prop === "storage") {
        return storage;
      }
      const member = Reflect.get(target, prop, target);
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

export class TenantDispatcher extends CountedDispatcher {
  constructor(ctx, env) {
    // workerd checks that the state is its own, so the counting copies replace it afterwards (the
    // migrations the constructor runs are not counted).
    super(ctx, env);
    const state = countedState(ctx);
    Object.defineProperty(this, "ctx", { value: state });
    Object.defineProperty(this, "env", { value: countedEnv(env) });
    Object.defineProperty(this, "sql", { value: state.storage.sql, writable: true });
  }

  async alarm(...args) {
    counts.alarms += 1;
    return super.alarm(...args);
  }
}

/** The totals, with each dispatcher statement's rows read and written, from its cursor. */
function snapshot() {
  const doSql = { statements: counts.doSql.statements, rowsRead: 0, rowsWritten: 0, bySql: {} };
  for (const [key, cursor] of cursors) {
    doSql.bySql[key] ??= { statements: 0, rowsRead: 0, rowsWritten: 0 };
    const row = doSql.bySql[key];
    row.statements += 1;
    row.rowsRead += cursor.rowsRead;
    row.rowsWritten += cursor.rowsWritten;
    doSql.rowsRead += cursor.rowsRead;
    doSql.rowsWritten += cursor.rowsWritten;
  }
  return { ...counts, doSql };
}

function countedBatch(batch) {
  bump(counts.queueBatches, `${batch.queue} batches`);
  bump(counts.queueBatches, `${batch.queue} messages`, batch.messages.length);
  const messages = batch.messages.map(
    (message) =>
      new Proxy(message, {
        get(target, prop) {
          const member = Reflect.get(target, prop, target);
          if (prop === "ack" || prop === "retry") {
            return (...args) => {
              if (prop === "ack") {
                counts.acks += 1;
              } else {
                counts.retries += 1;
              }
              return Reflect.apply(member, target, args);
            };
          }
          return typeof member === "function" ? member.bind(target) : member;
        },
      }),
  );
  return new Proxy(batch, {
    get(target, prop) {
      if (prop === "messages") {
        return messages;
      }
      const member = Reflect.get(target, prop, target);
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__counts") {
      if (request.method === "POST") {
        counts = fresh();
        cursors = [];
        return new Response(null, { status: 204 });
      }
      return Response.json(snapshot());
    }
    bump(counts.requests, `${request.method} ${url.pathname.split("/").slice(0, 3).join("/")}`);
    return worker.fetch(request, countedEnv(env), ctx);
  },
  queue(batch, env, ctx) {
    return worker.queue(countedBatch(batch), countedEnv(env), ctx);
  },
  scheduled(controller, env, ctx) {
    return worker.scheduled(controller, countedEnv(env), ctx);
  },
};
