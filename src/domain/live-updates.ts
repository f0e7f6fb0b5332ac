/**
 * Live updates of the message list and the overview, coalesced twice so that a tenant sending
 * thousands of messages a second neither floods its desk object nor its open pages:
 * - the sender side (the status writer, once per isolate) tells the desk at most once per
 *   `LIVE_WINDOW_MS` per tenant (`shouldNotify`), with the count of changes it held back;
 * - the desk object broadcasts one `messages.changed` per `LIVE_WINDOW_MS` at most
 *   (`noteChanges`, `flushChanges`), and never before the end of the window a note opened, so
 *   the changes a sender held back in that window are on the page that re-fetches after it.
 * Pure arithmetic over times: the object and the sender keep the state.
 */

/** At most one notification per tenant per isolate, and one broadcast per desk, per window. */
export const LIVE_WINDOW_MS = 1_000;

/** The sender side: whether this change is told now (else it waits for the next window). */
export function shouldNotify(lastNotifiedAt: number | undefined, now: number): boolean {
  return lastNotifiedAt === undefined || now - lastNotifiedAt >= LIVE_WINDOW_MS;
}

/** What the desk object keeps between notes and its alarm. */
export interface LiveChanges {
  /** Changes noted since the last broadcast. */
  count: number;
  /** When the next broadcast is due (null: nothing waiting). */
  flushAt: number | null;
  /** The latest end of a sender's window: a broadcast must come at or after it. */
  dirtyUntil: number;
  /** When the last broadcast went out (0: never). */
  lastBroadcastAt: number;
}

export const NO_CHANGES: LiveChanges = {
  count: 0,
  flushAt: null,
  dirtyUntil: 0,
  lastBroadcastAt: 0,
};

/** A sender's note of `count` changes at `now`: the broadcast waits for its window's end. */
export function noteChanges(state: LiveChanges, count: number, now: number): LiveChanges {
  const windowEnd = now + LIVE_WINDOW_MS;
  return {
    count: state.count + Math.max(1, count),
    dirtyUntil: Math.max(state.dirtyUntil, windowEnd),
    lastBroadcastAt: state.lastBroadcastAt,
    flushAt: state.flushAt ?? Math.max(windowEnd, state.lastBroadcastAt + LIVE_WINDOW_MS),
  };
}

/**
 * The alarm at `now`: `broadcast` is the count to announce (null: nothing due yet). When a
 * sender's window is still open after it, one more broadcast is due a window later at least.
 */
export function flushChanges(
  state: LiveChanges,
  now: number,
): { state: LiveChanges; broadcast: number | null } {
  if (state.flushAt === null || state.flushAt > now) {
    return { state, broadcast: null };
  }
  const open = state.dirtyUntil > now;
  return {
    broadcast: state.count,
    state: {
      count: 0,
      dirtyUntil: state.dirtyUntil,
      lastBroadcastAt: now,
      flushAt: open ? Math.max(state.dirtyUntil, now + LIVE_WINDOW_MS) : null,
    },
  };
}
