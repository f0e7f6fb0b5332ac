/** A D1 database whose writes in batches (`batch()`) fail while it is "down", for outage tests. */

const TARGET = Symbol("target");
type Wrapped<T> = T & { [TARGET]?: T };

export interface D1Outage {
  db: D1Database;
  begin(): void;
  end(): void;
  /** How many batches were refused while down. */
  readonly refused: number;
}

/**
 * Single reads and writes go through; every `batch()` (how the consumer records its attempts, and
 * how the dispatcher writes what it keeps) fails until `end()`.
 */
export function d1Outage(db: D1Database): D1Outage {
  let down = false;
  let refused = 0;
  const wrapStatement = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === TARGET) {
          return target;
        }
        const value = Reflect.get(target, prop, target);
        if (prop === "bind" && typeof value === "function") {
          return (...args: unknown[]) => wrapStatement(value.apply(target, args));
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const wrapped = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "prepare") {
        return (query: string) => wrapStatement(target.prepare(query));
      }
      if (prop === "batch") {
        return async (statements: Wrapped<D1PreparedStatement>[]) => {
          if (down) {
            refused++;
            throw new Error("D1_ERROR: Network connection lost (test outage)");
          }
          return target.batch(statements.map((s) => s[TARGET] ?? s));
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    db: wrapped,
    begin: () => {
      down = true;
    },
    end: () => {
      down = false;
    },
    get refused() {
      return refused;
    },
  };
}
