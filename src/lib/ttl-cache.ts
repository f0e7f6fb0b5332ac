/**
 * An isolate-local cache whose entries serve for a fixed time after they are set: what a change
 * made in another isolate waits at most to be seen. Bounded: adding past `maxEntries` empties it
 * first (cheaper than tracking use, and a full cache in one isolate is rare), so memory stays flat
 * however many keys pass through. An expired entry is not served, and is replaced when set again.
 */
export interface TtlCacheOptions {
  ttlMs: number;
  maxEntries?: number;
  /** "Now" in ms when a call gives none; tests inject theirs. */
  clock?: () => number;
}

export class TtlCache<K, V> {
  private readonly held = new Map<K, { value: V; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor({ ttlMs, maxEntries = Number.POSITIVE_INFINITY, clock = Date.now }: TtlCacheOptions) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
    this.clock = clock;
  }

  get size(): number {
    return this.held.size;
  }

  /** The value set less than the TTL before `now`, or undefined. */
  get(key: K, now: number = this.clock()): V | undefined {
    const entry = this.held.get(key);
    return entry && entry.expiresAt > now ? entry.value : undefined;
  }

  set(key: K, value: V, now: number = this.clock()): void {
    // As setAll with one entry, without building the list: callers set on every miss.
    if (this.held.size + 1 > this.maxEntries) {
      this.held.clear();
    }
    this.held.set(key, { value, expiresAt: now + this.ttlMs });
  }

  /** Sets several at once: when they would not all fit, the cache is emptied first. */
  setAll(entries: readonly (readonly [K, V])[], now: number = this.clock()): void {
    if (this.held.size + entries.length > this.maxEntries) {
      this.held.clear();
    }
    for (const [key, value] of entries) {
      this.held.set(key, { value, expiresAt: now + this.ttlMs });
    }
  }

  /** Drops the key; with `value`, only if that is still what the key holds (expired or not). */
  delete(key: K, value?: V): void {
    if (value === undefined || this.held.get(key)?.value === value) {
      this.held.delete(key);
    }
  }

  clear(): void {
    this.held.clear();
  }

  /** Every key and value held, expired ones included (to drop or update them in place). */
  *[Symbol.iterator](): IterableIterator<[K, V]> {
    for (const [key, entry] of this.held) {
      yield [key, entry.value];
    }
  }
}
