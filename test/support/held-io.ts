/**
 * Stand-ins for a Durable Object's I/O that force an interleaving: a call that waits, the first
 * time it is made, until the test lets it go (the object takes other calls meanwhile, as it does
 * while it awaits D1 or a queue), and a D1 that is down.
 */

/** Where a run stops the first time it gets there, until `release()`. */
export class Gate {
  /** Resolves once a run has got to the gate. */
  readonly reached: Promise<void>;
  private readonly opened: Promise<void>;
  private arrive: () => void = () => undefined;
  private open: () => void = () => undefined;
  private passed = false;

  constructor() {
    this.reached = new Promise((resolve) => {
      this.arrive = resolve;
    });
    this.opened = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  async pass(): Promise<void> {
    if (this.passed) {
      return;
    }
    this.passed = true;
    this.arrive();
    await this.opened;
  }

  release(): void {
    this.open();
  }
}

/** A D1Database whose first `batch()` (the send log's writes, the receipt sweep) waits at `gate`. */
export function heldD1(db: D1Database, gate: Gate): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          await gate.pass();
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A queue whose first `sendBatch()` waits at `gate`. */
export function heldQueue<T>(queue: Queue<T>, gate: Gate): Queue<T> {
  return new Proxy(queue, {
    get(target, prop) {
      if (prop === "sendBatch") {
        return async (jobs: Iterable<MessageSendRequest<T>>) => {
          await gate.pass();
          return target.sendBatch(jobs);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A D1Database that is down: every call fails, as D1 does in an outage. */
export function downD1(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      return typeof value === "function"
        ? () => {
            throw new Error("D1_ERROR: Network connection lost.");
          }
        : value;
    },
  });
}

/** Swaps some of a Durable Object instance's bindings; returns what puts them back. */
export function swapEnv(instance: object, patch: (env: Env) => Partial<Env>): () => void {
  const current = (instance as { env: Env }).env;
  Object.defineProperty(instance, "env", { value: { ...current, ...patch(current) } });
  return () => Object.defineProperty(instance, "env", { value: current });
}
