/** Wrappers that count I/O: D1 round trips, Durable Object RPCs, SQL statements. */

const TARGET = Symbol("target");
type Wrapped<T> = T & { [TARGET]?: T };

export interface D1Count {
  roundTrips: number;
  statements: string[];
}

/** A D1Database that counts round trips (each query, each batch) and the statements run. */
export function countingD1(db: D1Database): { db: D1Database; count: D1Count } {
  const count: D1Count = { roundTrips: 0, statements: [] };
  const wrapStatement = (statement: D1PreparedStatement, query: string): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === TARGET) {
          return target;
        }
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") {
          return value;
        }
        if (prop === "bind") {
          return (...args: unknown[]) => wrapStatement(value.apply(target, args), query);
        }
        if (prop === "all" || prop === "run" || prop === "first" || prop === "raw") {
          return (...args: unknown[]) => {
            count.roundTrips++;
            count.statements.push(query);
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
  const wrapped = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "prepare") {
        return (query: string) => wrapStatement(target.prepare(query), query);
      }
      if (prop === "batch") {
        return (statements: Wrapped<D1PreparedStatement>[]) => {
          count.roundTrips++;
          return target.batch(statements.map((s) => s[TARGET] ?? s));
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: wrapped, count };
}

/** A Durable Object namespace whose stubs count the RPC calls made through them. */
export function countingNamespace<T extends Rpc.DurableObjectBranded>(
  namespace: DurableObjectNamespace<T>,
): { namespace: DurableObjectNamespace<T>; calls: string[] } {
  const calls: string[] = [];
  const wrapped = new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "get") {
        return (id: DurableObjectId) =>
          new Proxy(target.get(id), {
            get(stub, method) {
              const member = Reflect.get(stub, method, stub);
              if (typeof member !== "function") {
                return member;
              }
              // RPC stubs answer any property, even `apply`: call through Reflect instead.
              return (...args: unknown[]) => {
                calls.push(String(method));
                return Reflect.apply(member, stub, args);
              };
            },
          });
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { namespace: wrapped, calls };
}
