/**
 * The audit log's chain rules, with no storage: what an entry's hash covers, how a diff is written,
 * and how a line of entries is checked. Each entry's hash is the SHA-256 of its canonical content,
 * which includes the hash of the entry before it, so editing, removing or reordering any entry
 * breaks the line from there on.
 */

/** The hash the first entry of a tenant's line points back to. */
export const GENESIS_HASH = "0".repeat(64);

/** What a secret's before and after are written as: that it changed, never what it is. */
export const CHANGED_SECRET = "(changed)";

export interface ChainedEntry {
  id: string;
  tenantId: string;
  seq: number;
  at: number;
  actorType: string;
  actorId: string;
  ip: string | null;
  requestId: string | null;
  action: string;
  target: string;
  /** Canonical JSON (`canonicalJson`). */
  diff: string;
  prevHash: string;
}

/** One field's change; `from` is absent for a creation, `to` for a removal. */
export interface FieldChange {
  from?: unknown;
  to?: unknown;
}
export type Diff = Record<string, FieldChange>;

/** JSON with object keys sorted at every depth, so the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/** The text an entry's hash is taken of: every field, in a fixed order. */
export function chainedContent(entry: ChainedEntry): string {
  return JSON.stringify([
    entry.id,
    entry.tenantId,
    entry.seq,
    entry.at,
    entry.actorType,
    entry.actorId,
    entry.ip,
    entry.requestId,
    entry.action,
    entry.target,
    entry.diff,
    entry.prevHash,
  ]);
}

/**
 * The fields that differ between `before` and `after` (for a creation pass `{}` as `before`, for
 * a removal `{}` as `after`); the fields named in `secrets` show only that they changed. Fields
 * are named as the API names them, in snake_case (`rateLimitBurst` is `rate_limit_burst`).
 */
export function diffOf(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  secrets: readonly string[] = [],
): Diff {
  const diff: Diff = {};
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const from = before[field];
    const to = after[field];
    if (canonicalJson(from) === canonicalJson(to)) {
      continue;
    }
    if (secrets.includes(field)) {
      diff[snakeCase(field)] = { to: CHANGED_SECRET };
      continue;
    }
    diff[snakeCase(field)] = { from, to };
  }
  return diff;
}

function snakeCase(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

export interface ChainCheck {
  valid: boolean;
  entries: number;
  /** The id of the first entry whose hash, link or number does not match. */
  firstBrokenAt?: string;
}

/** Walks a tenant's entries in `seq` order, one page after another, checking each link. */
export class ChainWalker {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private count = 0;
  private broken: string | undefined;

  constructor(private readonly hash: (text: string) => Promise<string>) {}

  /** Takes the next entries in order; after the first broken one it only counts them. */
  async take(entries: readonly (ChainedEntry & { hash: string })[]): Promise<void> {
    for (const entry of entries) {
      this.count++;
      if (this.broken) {
        continue;
      }
      const intact =
        entry.seq === this.expectedSeq &&
        entry.prevHash === this.prevHash &&
        (await this.hash(chainedContent(entry))) === entry.hash;
      if (!intact) {
        this.broken = entry.id;
        continue;
      }
      this.expectedSeq++;
      this.prevHash = entry.hash;
    }
  }

  result(): ChainCheck {
    return this.broken
      ? { valid: false, entries: this.count, firstBrokenAt: this.broken }
      : { valid: true, entries: this.count };
  }
}
